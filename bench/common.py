"""
Helpers shared by the benchmark scripts: a fresh database per run, Django set
up on ``bench.settings``, statistics and table printing.
"""

import math
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
PG_DSN = "host=127.0.0.1 port={port} user={user} dbname=postgres"


def bench_env(db, pg_name, sqlite_path=None, redis_url="redis://127.0.0.1:6379/5"):
    """Environment variables read by ``bench.settings`` for ``db`` (``sqlite`` or ``postgres``)."""
    env = {"DJANGO_SETTINGS_MODULE": "bench.settings", "BENCH_DB": db}
    if db == "postgres":
        env.update(BENCH_PG_DB=pg_name, BENCH_REDIS_URL=redis_url)
    else:
        env["BENCH_SQLITE_PATH"] = sqlite_path or tempfile.mkstemp(prefix="djnjc-bench-", suffix=".sqlite3")[1]
    return env


def _pg_admin():
    import psycopg

    dsn = PG_DSN.format(port=os.environ.get("POSTGRES_PORT", "5432"), user=os.environ.get("POSTGRES_USER", "postgres"))
    return psycopg.connect(dsn, autocommit=True)


def recreate_pg_database(name):
    """Drops and creates the PostgreSQL database ``name`` (which must start with ``bench_``)."""
    if not name.startswith("bench_") or not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing to touch database {name!r}: benchmark databases are named bench_*")
    with _pg_admin() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_pg_database(name):
    if not name.startswith("bench_"):
        return
    with _pg_admin() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def discard_database(db, pg_name, env):
    """Closes Django's connections and drops the benchmark's database (``db``: "sqlite" or "postgres")."""
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()
    if db == "postgres":
        drop_pg_database(pg_name)
    else:
        Path(env["BENCH_SQLITE_PATH"]).unlink(missing_ok=True)


def flush_redis_db(url):
    """Empties the Redis database of ``url`` (the benchmarks' own database number)."""
    import redis

    redis.Redis.from_url(url).flushdb()


def setup_django(env):
    """Applies ``env``, sets Django up on ``bench.settings`` and migrates the fresh database."""
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def median(values):
    return statistics.median(values) if values else float("nan")


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values), max(1, math.ceil(fraction * len(sorted_values)))) - 1
    return sorted_values[index]


def print_table(headers, rows):
    """Prints ``rows`` (lists of strings) under ``headers`` as an aligned text table."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    line = "  ".join(f"{{:>{width}}}" for width in widths)
    print(line.format(*headers))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line.format(*row))


def run_per_database(script, timeout=None):
    """
    ``--db both``: runs ``script`` again with its arguments in a process of its
    own for SQLite, then for PostgreSQL; returns the worst exit status.
    """
    import subprocess

    argv = [arg for arg in sys.argv[1:] if arg not in ("--db", "both", "--db=both")]
    codes = [
        subprocess.run([sys.executable, script, *argv, "--db", db], check=False, timeout=timeout).returncode
        for db in ("sqlite", "postgres")
    ]
    return max(codes)
