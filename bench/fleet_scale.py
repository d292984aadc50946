#!/usr/bin/env python
"""
Checksum polls of a big fleet, in random order, under gunicorn on PostgreSQL.

For each fleet size (``--fleets``, default 1,000 and 100,000) on a fresh
PostgreSQL database (Redis cache, as ``bench/load.py``):

1. bulk-inserts the configs (``bulk_create``, timed): each row carries a
   stored checksum valid for the deployment (``rendered_*`` columns) so that
   a poll answers from the row, as for a fleet whose configs are all rendered,
   the address polls come from and a "last seen" time of now, so that polls
   write nothing (as in a fleet
   polling every two minutes with the default ten-minute interval). Archives
   are not stored: only checksum polls are measured;
2. starts gunicorn (``--workers`` sync workers, ``bench.settings``) with
   ``NETJSONCONFIG_CONTROLLER_CACHE_SIZE`` = ``--cache-size`` (default: the
   setting's default);
3. optionally (``--warm-sweeps``) polls every device once per sweep, each
   sweep in a new random order, as the fleet does once per polling interval,
   until the workers' memories hold what a long-running server's would;
4. polls checksums of devices drawn at random (with replacement, a new draw
   each round) with ``--connections`` keep-alive connections, alternating
   measured rounds with the floor view; reports requests/s, its ratio to the
   floor, the share of polls answered from the connection memory (the
   workers' own counters, read through ``/bench/memory/``), the rows each
   worker holds and each worker's resident memory.

Example::

    .venv/bin/python bench/fleet_scale.py --fleets 1000,100000
"""

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    RESULTS_DIR,
    bench_env,
    drop_pg_database,
    flush_redis_db,
    median,
    print_table,
    recreate_pg_database,
    setup_django,
)
from bench.httpload import run_python  # noqa: E402
from bench.load import BACKEND, FLOOR, REDIS_URL, SECRET, Server, checksum_path, device_identity  # noqa: E402

PG_NAME = f"bench_fleet_scale_{os.getpid()}"


def bulk_insert(count):
    from django.utils import timezone

    from django_netjsonconfig.base.config import render_fingerprint
    from django_netjsonconfig.models import Config, DeviceState

    fingerprint, now = render_fingerprint(), timezone.now()
    started = time.perf_counter()
    devices, batch = [], []
    for number in range(count):
        device = device_identity(number)
        config = Config(
            name=device["name"],
            mac_address=device["mac"],
            key=device["key"],
            backend=BACKEND,
            config={"general": {}},
            status="running",
            last_ip="127.0.0.1",  # where the benchmark's polls come from: a poll writes nothing
            rendered_checksum=hashlib.md5(device["name"].encode()).hexdigest(),
            rendered_version=0,
            rendered_fingerprint=fingerprint,
        )
        batch.append(config)
        devices.append({**device, "uuid": config.pk.hex})
        if len(batch) == 5000 or number == count - 1:
            Config.objects.bulk_create(batch)
            DeviceState.objects.bulk_create([DeviceState(config_id=c.pk, last_seen=now) for c in batch])
            batch = []
    return devices, time.perf_counter() - started


def memory_counters(port, workers, attempts=500):
    """``{pid: {"hits", "misses", "rows"}}`` of every worker's connection memory (``/bench/memory/``)."""
    from bench.httpload import Connection

    seen = {}
    for _attempt in range(attempts):
        connection = Connection(port)  # a new connection each time: any worker may take it
        status, body, _response = connection.request("GET", "/bench/memory/")
        connection.close()
        if status != 200:
            raise SystemExit(f"/bench/memory/ answered {status}")
        counters = json.loads(body)
        seen[counters.pop("pid")] = counters
        if len(seen) == workers:
            return seen
    raise SystemExit(f"only {len(seen)} of {workers} workers answered /bench/memory/")


def hit_rate(before, after):
    """Share of the polls between two ``memory_counters()`` answered from memory."""
    hits = sum(after[pid]["hits"] - before.get(pid, {}).get("hits", 0) for pid in after)
    misses = sum(after[pid]["misses"] - before.get(pid, {}).get("misses", 0) for pid in after)
    return hits / max(1, hits + misses)


def worker_rss(server):
    """Resident memory (MiB) of each gunicorn worker."""
    sizes = []
    for pid in server.worker_pids():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sorted(sizes)


def memory_per_row(args):
    """In this process (PostgreSQL): RSS growth while one connection's memory takes ``--fleet`` rows."""
    env = bench_env("postgres", PG_NAME, redis_url=REDIS_URL)
    env.update(BENCH_SHARED_SECRET=SECRET, BENCH_CONN_MAX_AGE="none", BENCH_CACHE_SIZE=str(args.fleet))
    recreate_pg_database(PG_NAME)
    try:
        setup_django(env)
        from bench.poll_cost import wsgi_caller

        devices, _seconds = bulk_insert(args.fleet)
        call = wsgi_caller()
        paths = [checksum_path(device) for device in devices]
        for path in paths[:100]:
            call(path)  # warm-up: the memory exists, its first rows are in
        rss = Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]
        before = int(rss)
        for path in paths:
            call(path)
        rss = Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]
        grown = (int(rss) - before) * 1024
        print(
            f"[{args.fleet}] memory of one connection: {grown / 1024 / 1024:.1f} MiB for {args.fleet - 100} rows, "
            f"{grown / (args.fleet - 100):.0f} bytes per row"
        )
    finally:
        from django.db import connections

        connections.close_all()
        drop_pg_database(PG_NAME)


def single(args):
    env = bench_env("postgres", PG_NAME, redis_url=REDIS_URL)
    env.update(BENCH_SHARED_SECRET=SECRET, BENCH_CONN_MAX_AGE="none")
    if args.cache_size is not None:
        env["BENCH_CACHE_SIZE"] = str(args.cache_size)
    recreate_pg_database(PG_NAME)
    flush_redis_db(REDIS_URL)
    server = None
    try:
        setup_django(env)
        from django_netjsonconfig import settings as app_settings

        devices, insert_seconds = bulk_insert(args.fleet)
        print(f"[{args.fleet}] bulk-inserted {args.fleet} configs in {insert_seconds:.1f}s", flush=True)
        rng = random.Random(args.fleet)

        def random_paths():
            # a new draw for every round: a round must not replay the warm-up's devices
            return [checksum_path(device) for device in rng.choices(devices, k=max(50_000, args.fleet))]

        server_args = Namespace(port=0, workers=args.workers, worker_class="sync", threads=1, keep_alive=30)
        server = Server(server_args, env, RESULTS_DIR / "gunicorn-fleet-scale.log")
        server.start()
        rss_idle = worker_rss(server)
        for _warm in range(2):
            run_python(server.port, [FLOOR], args.connections, args.duration)
            run_python(server.port, random_paths(), args.connections, args.duration)
        for sweep in range(args.warm_sweeps):
            # every device once, in a new random order, as a polling interval of the whole fleet does
            order = [checksum_path(device) for device in rng.sample(devices, len(devices))]
            before = memory_counters(server.port, args.workers)
            result = run_python(server.port, order, args.connections, 3600, max_requests=len(order))
            after = memory_counters(server.port, args.workers)
            print(
                f"[{args.fleet}] warm-up sweep {sweep + 1}: {result['rps']:.0f} polls/s, "
                f"{hit_rate(before, after):.1%} from memory, rows held {[c['rows'] for c in after.values()]}",
                flush=True,
            )
        counters_before = memory_counters(server.port, args.workers)
        floor, polls = [], []
        for _round in range(args.rounds):
            floor.append(run_python(server.port, [FLOOR], args.connections, args.duration))
            result = run_python(server.port, random_paths(), args.connections, args.duration)
            polls.append(result)
            if result["errors"]:
                raise SystemExit(f"{result['errors']} polls failed")
        rss = worker_rss(server)
        counters_after = memory_counters(server.port, args.workers)
        ratios = [poll["rps"] / base["rps"] for poll, base in zip(polls, floor, strict=True)]
        output = {
            "fleet": args.fleet,
            "cache_size": app_settings.CONTROLLER_CACHE_SIZE,
            "workers": args.workers,
            "insert_seconds": insert_seconds,
            "floor_rps": median([base["rps"] for base in floor]),
            "checksum_rps": median([poll["rps"] for poll in polls]),
            "ratio": median(ratios),
            "ratio_range": [min(ratios), max(ratios)],
            "hit_rate": hit_rate(counters_before, counters_after),
            "rows_held": sorted(counter["rows"] for counter in counters_after.values()),
            "polls": sum(poll["requests"] for poll in polls),
            "warm_sweeps": args.warm_sweeps,
            "rss_idle_mib": rss_idle,
            "rss_mib": rss,
        }
        print(json.dumps(output), flush=True)
        return output
    finally:
        if server is not None:
            server.stop()
        from django.db import connections

        connections.close_all()
        drop_pg_database(PG_NAME)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fleets", default="1000,100000", help="fleet sizes, comma-separated")
    parser.add_argument("--fleet", type=int, help=argparse.SUPPRESS)  # one run (a subprocess)
    parser.add_argument("--cache-size", type=int, default=None, help="NETJSONCONFIG_CONTROLLER_CACHE_SIZE")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=4, help="seconds per round and endpoint")
    parser.add_argument(
        "--warm-sweeps",
        type=int,
        default=0,
        help="before measuring, poll every device this many times (each time in a new random order)",
    )
    parser.add_argument(
        "--memory-per-row",
        action="store_true",
        help="with --fleet N: resident memory one connection's memory costs per row (in process)",
    )
    args = parser.parse_args()
    RESULTS_DIR.mkdir(exist_ok=True)
    if args.memory_per_row:
        return memory_per_row(args)
    if args.fleet:
        return single(args)
    outputs = []
    for fleet in [int(value) for value in args.fleets.split(",")]:
        argv = [
            f"--{name.replace('_', '-')}={value}" for name, value in vars(args).items() if value not in (None, False)
        ]
        argv = [arg for arg in argv if not arg.startswith(("--fleets=", "--fleet="))]
        completed = subprocess.run(
            [sys.executable, __file__, *argv, "--fleet", str(fleet)], capture_output=True, text=True, timeout=3600
        )
        sys.stderr.write(completed.stderr[-3000:])
        lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
        print("\n".join(line for line in completed.stdout.splitlines() if not line.startswith("{")))
        if completed.returncode or not lines:
            raise SystemExit(f"fleet {fleet}: run failed ({completed.returncode})")
        outputs.append(json.loads(lines[-1]))
    rows = [
        [
            f"{o['fleet']:,}",
            str(o["cache_size"]),
            f"{o['floor_rps']:.0f}",
            f"{o['checksum_rps']:.0f}",
            f"{o['ratio']:.2f} ({o['ratio_range'][0]:.2f}-{o['ratio_range'][1]:.2f})",
            f"{o['hit_rate']:.1%}",
            ", ".join(f"{rows:,}" for rows in o["rows_held"]),
            ", ".join(f"{size:.0f}" for size in o["rss_mib"]),
            f"{o['insert_seconds']:.0f}",
        ]
        for o in outputs
    ]
    print(f"\nchecksum polls in random order, {args.workers} sync workers, {args.connections} connections")
    print_table(
        [
            "fleet",
            "cache size",
            "floor req/s",
            "checksum req/s",
            "rps/floor",
            "from memory",
            "rows held",
            "worker RSS MiB",
            "insert s",
        ],
        rows,
    )
    path = RESULTS_DIR / f"fleet-scale-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(outputs, indent=2))
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
