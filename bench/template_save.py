#!/usr/bin/env python
"""
Times saving a Template whose NetJSON changed while N configs use it.

``template.save()`` flags every config using the template as ``modified`` in
one UPDATE, so its time and its number of SQL queries should barely move
with N. ``template.full_clean()`` validates the change against the configs
using the template, so it is expected to grow with N; it is timed
separately, with configs that each have their own NetJSON (a static
address: the worst case) or, with ``--own-config identical``, the same one.
Each database runs in its own process on a fresh database (a temporary
SQLite file, or the PostgreSQL database ``bench_template_save_<pid>``)::

    /tmp/venv/bin/python bench/template_save.py --db both --sizes 100,1000,10000
    /tmp/venv/bin/python bench/template_save.py --db both --own-config identical

See bench/README.rst for how to read the output.
"""

import argparse
import gc
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    RESULTS_DIR,
    bench_env,
    drop_pg_database,
    median,
    print_table,
    recreate_pg_database,
    setup_django,
)

PG_NAME = f"bench_template_save_{os.getpid()}"
BACKEND = "netjsonconfig.OpenWrt"
COMMON_TEMPLATE = {
    "interfaces": [
        {
            "name": "br-lan",
            "type": "bridge",
            "bridge_members": ["eth0"],
            "addresses": [{"proto": "static", "family": "ipv4", "address": "192.168.1.1", "mask": 24}],
        }
    ],
    "ntp": {"enabled": True, "enable_server": False, "server": ["0.pool.ntp.org", "1.pool.ntp.org"]},
}


def edited_config(run):
    """NetJSON of the shared template; every ``run`` gives a different one."""
    return {
        "general": {"timezone": "Europe/Rome"},
        "files": [
            {
                "path": "/etc/bench-template",
                "mode": "0644",
                "contents": f"revision={run}\nname={{{{ name }}}}\nmac={{{{ mac_address }}}}\n",
            }
        ],
    }


# --- child process: one database ---------------------------------------------------


def _models():
    from django_netjsonconfig.models import Config, Template

    return Config, Template


def _mac(index, number):
    return "02:%02X:00:%02X:%02X:%02X" % (index, number >> 16, (number >> 8) & 255, number & 255)


def own_config(number, distinct):
    """A config's own NetJSON: a static address of its own, or the same empty one for all."""
    if not distinct:
        return {"general": {}}
    address = f"10.{number >> 8 & 255}.{number & 255}.1"
    interface = {"name": "eth1", "type": "ethernet"}
    interface["addresses"] = [{"proto": "static", "family": "ipv4", "address": address, "mask": 24}]
    return {"general": {}, "interfaces": [interface]}


def create_fleet(size, index, common, distinct):
    """A template used by ``size`` configs (each also uses ``common``), created in bulk."""
    config_model, template_model = _models()
    template = template_model(name=f"bench-shared-{size}", backend=BACKEND, config=edited_config(-1))
    template.full_clean()
    template.save()
    configs = [
        config_model(
            name=f"bench-{index}-{number:05d}",
            mac_address=_mac(index, number),
            key=f"{index:02d}{number:030d}",
            backend=BACKEND,
            config=own_config(number, distinct),
            status="running",
            rendered_checksum="0" * 32,
            rendered_fingerprint="bench",
            rendered_version=0,
        )
        for number in range(size)
    ]
    config_model.objects.bulk_create(configs, batch_size=1000)
    through = config_model.templates.through
    rows = []
    for config in configs:
        rows.append(through(config_id=config.pk, template_id=common.pk, sort_value=0))
        rows.append(through(config_id=config.pk, template_id=template.pk, sort_value=1))
    through.objects.bulk_create(rows, batch_size=2000)
    store_archives(template)
    return template


def store_archives(template):
    """
    Gives every config of ``template`` a stored archive (when the model keeps
    them on the row), as after the devices' first download: the UPDATE of a
    template save then rewrites rows of their real size.
    """
    config_model, _template_model = _models()
    if "archive_db" not in {field.name for field in config_model._meta.fields}:
        return
    sample = template.config_relations.order_by("name").first()
    template.config_relations.update(archive_db=sample.generate().getvalue())


def reset_fleet(template):
    """Puts the configs of ``template`` back to "running" with a known checksum (not timed)."""
    from django.db.models import F

    template.config_relations.update(
        status="running", restore_status="", rendered_version=F("render_version"), rendered_checksum="0" * 32
    )


def timed_save(template, revision):
    reset_fleet(template)
    template.config = edited_config(revision)
    gc.collect()  # start each run from the same heap: no collection left over from setup
    started = time.perf_counter()
    template.save()
    return time.perf_counter() - started


def timed_full_clean(template, revision):
    template.config = edited_config(revision)
    gc.collect()
    started = time.perf_counter()
    template.full_clean()
    return time.perf_counter() - started


def count_queries(function, *args):
    """The SQL statements ``function(*args)`` sends (uncapped, unlike CaptureQueriesContext)."""
    from django.db import connection

    statements = []

    def counter(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        function(*args)
    return statements


def check_invalidated(template, size):
    """The save really flagged every config using the template as "modified"."""
    flagged = template.config_relations.filter(status="modified").count()
    if flagged != size:
        raise SystemExit(f"template.save() flagged {flagged} configs out of {size}")


def measure_saves(fleets, runs):
    results = {size: {"save": []} for size in fleets}
    revision = 0
    for _run in range(runs):
        for size, template in fleets.items():
            revision += 1
            results[size]["save"].append(timed_save(template, revision))
    for size, template in fleets.items():
        revision += 1
        reset_fleet(template)
        template.config = edited_config(revision)
        statements = count_queries(template.save)
        results[size]["save_queries"] = len(statements)
        results[size]["save_sql"] = [statement[:160] for statement in statements]
        check_invalidated(template, size)
    return results


def measure_full_cleans(fleets, results, runs, budget):
    """Interleaved full_clean() runs; a size whose predicted time exceeds ``budget`` seconds is skipped."""
    revision = 10_000
    for run in range(runs):
        previous = None
        for size, template in fleets.items():
            entry = results[size].setdefault("full_clean", [])
            predicted = previous[1] * size / previous[0] if previous else 0
            if predicted > budget:
                results[size]["full_clean_skipped"] = f"predicted {predicted:.0f}s > budget {budget:.0f}s"
                continue
            revision += 1
            entry.append(timed_full_clean(template, revision))
            previous = (size, entry[-1])
            if run == 0:
                revision += 1
                template.config = edited_config(revision)
                results[size]["full_clean_queries"] = len(count_queries(template.full_clean))
    return results


def admin_post_data(template, revision):
    """The template change form as the admin page posts it, with a new NetJSON."""
    return {
        "name": template.name,
        "type": template.type,
        "backend": template.backend,
        "vpn": "",
        "default_values": "{}",
        "config": json.dumps(edited_config(revision)),
    }


def timed_bulk_update(template):
    """One bulk UPDATE of every config of ``template`` (the invalidation a save sends)."""
    config_model, _template_model = _models()
    reset_fleet(template)
    gc.collect()
    started = time.perf_counter()
    config_model.invalidate_checksums(template.config_relations.all())
    return time.perf_counter() - started


def measure_admin(fleets, runs):
    """
    The template change form posted through the admin (Django's test client,
    in process): its time and queries per fleet size, and the time of one
    bulk UPDATE of the same rows, interleaved in the same runs.
    """
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.force_login(user)
    results = {size: {"admin": [], "bulk_update": []} for size in fleets}
    revision = 20_000

    def post(template):
        url = reverse("admin:django_netjsonconfig_template_change", args=[template.pk])
        response = client.post(url, admin_post_data(template, revision))
        if response.status_code != 302:
            raise SystemExit(f"admin save refused ({response.status_code}): {response.content[-2000:]!r}")

    for _run in range(runs):
        for size, template in fleets.items():
            revision += 1
            reset_fleet(template)
            gc.collect()
            started = time.perf_counter()
            post(template)
            results[size]["admin"].append(time.perf_counter() - started)
            results[size]["bulk_update"].append(timed_bulk_update(template))
    for size, template in fleets.items():
        revision += 1
        reset_fleet(template)
        results[size]["admin_queries"] = len(count_queries(post, template))
    return results


def _close_connections():
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


def child(args):
    """Runs the whole benchmark on one database and prints its results as JSON (last line)."""
    signal.alarm(args.max_seconds)
    env = bench_env(args.db, PG_NAME)
    if args.db == "postgres":
        recreate_pg_database(PG_NAME)
    try:
        setup_django(env)
        from django.db import connection

        _config_model, template_model = _models()
        if args.without_triggers and connection.vendor == "postgresql":
            drop_change_triggers(connection, _config_model)
        common = template_model.objects.create(name="bench-common", backend=BACKEND, config=COMMON_TEMPLATE)
        started = time.perf_counter()
        distinct = args.own_config == "distinct"
        fleets = {size: create_fleet(size, index, common, distinct) for index, size in enumerate(args.sizes)}
        setup_seconds = time.perf_counter() - started
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        if args.admin:
            results = measure_admin(fleets, args.runs)
        else:
            results = measure_saves(fleets, args.runs)
            results = measure_full_cleans(fleets, results, args.clean_runs, args.clean_budget)
        import django_netjsonconfig

        output = {"code": str(Path(django_netjsonconfig.__file__).parent.parent)}
        output |= {"db": args.db, "vendor": connection.vendor, "setup_seconds": setup_seconds, "sizes": results}
        output["own_config"] = args.own_config
        output["change_triggers"] = connection.vendor == "postgresql" and not args.without_triggers
        print(json.dumps(output))
    finally:
        _close_connections()
        if args.db == "postgres" and not args.keep_db:
            drop_pg_database(PG_NAME)
        elif args.db == "sqlite" and not args.keep_db:
            os.unlink(env["BENCH_SQLITE_PATH"])


def drop_change_triggers(connection, config_model):
    """Drops the triggers announcing config changes (to measure what they cost a save)."""
    from django_netjsonconfig.memory import _trigger_names

    table = connection.ops.quote_name(config_model._meta.db_table)
    with connection.cursor() as cursor:
        for name in _trigger_names(connection, config_model._meta.db_table):
            cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)} ON {table}")


# --- parent process: runs one child per database, prints the table -----------------------


def run_child(db, args):
    command = [sys.executable, __file__, "--child", "--db", db, "--sizes", ",".join(map(str, args.sizes))]
    command += ["--runs", str(args.runs), "--clean-runs", str(args.clean_runs)]
    command += ["--clean-budget", str(args.clean_budget), "--max-seconds", str(args.max_seconds)]
    command += ["--own-config", args.own_config]
    if args.without_triggers:
        command.append("--without-triggers")
    if args.admin:
        command.append("--admin")
    if args.keep_db:
        command.append("--keep-db")
    print(f"[{db}] creating {sum(args.sizes)} configs ({args.own_config} own NetJSON) and timing ...", flush=True)
    completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=args.max_seconds + 60)
    if completed.returncode:
        raise SystemExit(f"[{db}] benchmark failed (exit {completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _ms(seconds):
    return f"{seconds * 1000:.1f}"


def report_admin(outputs, args):
    headers = ["db", "N", "admin ms (median)", "admin min-max", "admin queries", "bulk UPDATE ms (median)"]
    rows = []
    for output in outputs:
        for size in args.sizes:
            entry = output["sizes"][str(size)]
            rows.append(
                [
                    output["db"],
                    str(size),
                    _ms(median(entry["admin"])),
                    f"{_ms(min(entry['admin']))}-{_ms(max(entry['admin']))}",
                    str(entry["admin_queries"]),
                    _ms(median(entry["bulk_update"])),
                ]
            )
    print()
    print_table(headers, rows)
    smallest, largest = str(min(args.sizes)), str(max(args.sizes))
    print()
    for output in outputs:
        sizes = output["sizes"]
        admin_large, admin_small = median(sizes[largest]["admin"]), median(sizes[smallest]["admin"])
        update = median(sizes[largest]["bulk_update"])
        bound = admin_small + 2 * update
        print(
            f"{output['db']} ({output['code']}): admin(N={largest}) = {_ms(admin_large)} ms; "
            f"admin(N={smallest}) + 2 x UPDATE(N={largest}) = {_ms(bound)} ms; "
            f"ratio {admin_large / bound:.2f} (decision 19 holds when <= 1)"
        )


def report(outputs, args):
    if args.admin:
        return report_admin(outputs, args)
    headers = ["db", "N", "save ms (median)", "save min-max", "save queries", "full_clean s (median)", "clean queries"]
    rows = []
    for output in outputs:
        for size in args.sizes:
            entry = output["sizes"][str(size)]
            saves, cleans = entry["save"], entry.get("full_clean", [])
            clean = f"{median(cleans):.2f} (n={len(cleans)})" if cleans else entry.get("full_clean_skipped", "-")
            rows.append(
                [
                    output["db"]
                    + (
                        " (no triggers)"
                        if output["vendor"] == "postgresql" and not output.get("change_triggers")
                        else ""
                    ),
                    str(size),
                    _ms(median(saves)),
                    f"{_ms(min(saves))}-{_ms(max(saves))}",
                    str(entry["save_queries"]),
                    clean,
                    str(entry.get("full_clean_queries", "-")),
                ]
            )
    print()
    print_table(headers, rows)
    smallest, largest = str(min(args.sizes)), str(max(args.sizes))
    print()
    for output in outputs:
        sizes = output["sizes"]
        ratio = median(sizes[largest]["save"]) / median(sizes[smallest]["save"])
        line = f"{output['db']}: save() time(N={largest})/time(N={smallest}) = {ratio:.2f}"
        cleans = [sizes[key].get("full_clean") for key in (largest, smallest)]
        if all(cleans):
            line += f"; full_clean() time ratio = {median(cleans[0]) / median(cleans[1]):.1f}"
        print(line + f" (setup of {sum(args.sizes)} configs: {output['setup_seconds']:.1f}s)")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--sizes", type=lambda value: sorted(int(part) for part in value.split(",")))
    parser.add_argument("--runs", type=int, default=7, help="timed save() runs per size (default 7)")
    parser.add_argument("--clean-runs", type=int, default=3, help="timed full_clean() runs per size (default 3)")
    parser.add_argument(
        "--clean-budget", type=float, default=300, help="skip a full_clean() predicted to take longer (seconds)"
    )
    parser.add_argument("--max-seconds", type=int, default=3600, help="hard limit per database (default 3600)")
    parser.add_argument(
        "--own-config",
        choices=["distinct", "identical"],
        default="distinct",
        help="each config has its own static address (default) or all share the same own NetJSON",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument(
        "--without-triggers",
        action="store_true",
        help="PostgreSQL: drop the change notification triggers first (what they cost a save)",
    )
    parser.add_argument(
        "--admin",
        action="store_true",
        help="time the admin's template change form instead (a 10-config fleet is added as the baseline)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.sizes = args.sizes or [100, 1000, 10000]
    if args.admin and 10 not in args.sizes:
        args.sizes = [10, *args.sizes]
    return args


def main():
    args = parse_args()
    if args.child:
        return child(args)
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    outputs = [run_child(db, args) for db in databases]
    report(outputs, args)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"template_save-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"started": started, "args": vars(args), "results": outputs}, indent=2))
    print(f"\nraw results: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
