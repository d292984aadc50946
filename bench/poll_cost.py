#!/usr/bin/env python
"""
CPU cost of one device request inside Django, without HTTP or a server.

Calls Django's WSGI handler directly (single thread, ``bench.settings``, a
fresh database) for the floor view, checksum polls and downloads of unchanged
configs, and times each with ``time.process_time()`` in interleaved rounds.
CPU time of this process is far less sensitive to a busy machine than
requests/s, so the ratios to the floor are steadier than those of
``bench/load.py`` (but they leave out the HTTP server and, on PostgreSQL, the
database server's own CPU). It also times the building blocks of a poll
(the row read through the ORM, the same row read with a plain cursor, a cache read)
to show where the time goes::

    /tmp/venv/bin/python bench/poll_cost.py --db both
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    RESULTS_DIR,
    bench_env,
    discard_database,
    flush_redis_db,
    median,
    print_table,
    recreate_pg_database,
    run_per_database,
    setup_django,
)
from bench.load import BACKEND, FLOOR, REDIS_URL, SECRET, TEMPLATES, checksum_path, device_identity, download_path  # noqa: E402

PG_NAME = f"bench_poll_cost_{os.getpid()}"


def create_devices(count):
    """Default templates plus ``count`` configs saved through the ORM (rendered once, archives cached)."""
    from django_netjsonconfig.models import Config, Template

    for spec in TEMPLATES:
        template = Template(backend=BACKEND, default=True, **spec)
        template.full_clean()
        template.save()
    devices = []
    for number in range(count):
        device = device_identity(number)
        config = Config(name=device["name"], mac_address=device["mac"], key=device["key"], backend=BACKEND)
        config.full_clean()
        config.save()
        devices.append({**device, "uuid": config.pk.hex})
    return devices


def wsgi_caller():
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()

    def start_response(status, headers):
        start_response.status = status

    def call(path):
        path_info, _sep, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path_info,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(),
            "wsgi.url_scheme": "http",
        }
        response = handler(environ, start_response)
        b"".join(response)
        response.close()
        if not start_response.status.startswith("200"):
            raise SystemExit(f"{path} answered {start_response.status}")

    return call


def cpu_per_call(function, items, count):
    """CPU microseconds per call of ``function``, over ``count`` calls cycling through ``items``."""
    started = time.process_time()
    for number in range(count):
        function(items[number % len(items)])
    return (time.process_time() - started) / count * 1e6


def building_blocks(devices):
    """Callables timing the parts of a poll (only the first is what the view does)."""
    from django.core.cache import caches
    from django.db import connection

    from django_netjsonconfig.controller.generics import BaseChecksumView
    from django_netjsonconfig.models import Config

    # the columns the checksum view loads: the same lookup, timed piece by piece
    lookup_fields = BaseChecksumView.only_fields
    table = Config._meta.db_table
    sql = f"SELECT {', '.join(lookup_fields[1:])} FROM {table} WHERE id = %s"
    cache = caches["default"]
    cache.set("bench:poll", ("k" * 32, "127.0.0.1", None, 1, 1, "x" * 32, "x" * 8))

    def raw(device):
        with connection.cursor() as cursor:
            cursor.execute(sql, [Config._meta.pk.get_db_prep_value(device["uuid"], connection)])
            cursor.fetchone()

    return {
        "ORM only().get() of the same row": lambda device: Config.objects.only(*lookup_fields).get(pk=device["uuid"]),
        "same row, plain cursor": raw,
        "cache.get() of a small tuple": lambda device: cache.get("bench:poll"),
    }


def measure(devices, args):
    from django.test import override_settings

    call = wsgi_caller()
    checksums = [checksum_path(device) for device in devices]
    downloads = [download_path(device) for device in devices]
    # (paths, whether the connection's memory answers): the second pair reads
    # the database every time, as before the memory existed
    endpoints = {
        "floor": ([FLOOR], True),
        "checksum": (checksums, True),
        "download": (downloads, True),
        "checksum, memory off": (checksums, False),
        "download, memory off": (downloads, False),
    }
    blocks = building_blocks(devices)

    def timed(name, count):
        paths, memory = endpoints[name]
        with override_settings(**({} if memory else {"NETJSONCONFIG_CONTROLLER_CACHE_SIZE": 0})):
            return cpu_per_call(call, paths, count)

    for name in endpoints:  # warm-up: connections, memory, URL resolver
        timed(name, 200)
    results = {name: [] for name in [*endpoints, *blocks]}
    for _round in range(args.rounds):
        for name in endpoints:
            results[name].append(timed(name, args.requests))
        for name, function in blocks.items():
            results[name].append(cpu_per_call(function, devices, args.requests))
    if args.profile:
        profile(call, checksums, args)
    return results


def profile(call, paths, args):
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    cpu_per_call(call, paths, args.requests)
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(60)
    target = RESULTS_DIR / f"profile-poll-{args.db}.txt"
    target.write_text(stream.getvalue())
    print(f"[{args.db}] cProfile of {args.requests} checksum polls: {target}")


def report(db, results):
    floor = median(results["floor"])
    rows = []
    for name, values in results.items():
        cost = median(values)
        ratio = f"{floor / cost:.2f}" if name.startswith(("checksum", "download")) else ""
        rows.append([name, f"{cost:.0f}", f"{min(values):.0f}-{max(values):.0f}", ratio])
    print(f"\n[{db}] CPU microseconds per call (median of {len(results['floor'])} rounds)")
    print_table(["what", "us/call", "min-max", "floor/this (rps ratio if CPU-bound)"], rows)


def single(args):
    env = bench_env(args.db, PG_NAME, redis_url=REDIS_URL)
    env.update(BENCH_SHARED_SECRET=SECRET, BENCH_CONN_MAX_AGE=str(args.conn_max_age))
    if args.db == "postgres":
        recreate_pg_database(PG_NAME)
        flush_redis_db(REDIS_URL)
    try:
        setup_django(env)
        RESULTS_DIR.mkdir(exist_ok=True)
        report(args.db, measure(create_devices(args.devices), args))
    finally:
        discard_database(args.db, PG_NAME, env)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000, help="calls per measurement (default 2000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--conn-max-age", default="none", help="CONN_MAX_AGE: seconds or 'none' (default)")
    parser.add_argument("--profile", action="store_true", help="also write a cProfile of the checksum polls")
    args = parser.parse_args()
    if args.db != "both":
        return single(args)
    raise SystemExit(run_per_database(__file__, timeout=1800))


if __name__ == "__main__":
    main()
