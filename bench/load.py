#!/usr/bin/env python
"""
Load test of the device controller under gunicorn (DEBUG=False, 127.0.0.1).

1. Starts the demo project (``bench.settings``: production settings over plain
   HTTP, ``bench.urls``: the project's URLs plus a trivial "floor" view) on a
   fresh database: SQLite + LocMem cache, or PostgreSQL ``bench_load_<pid>`` + Redis
   cache (database 5).
2. Registers N simulated devices through ``POST /controller/register/`` (shared
   secret, consistent key = md5("<MAC>+<secret>")), each getting the two
   default templates, and checks md5(download) == checksum for every device.
3. Measures requests/s and p50/p99 latency of the floor view, checksum polls
   and downloads of unchanged configs, in alternating rounds; prints the
   median of the per-round ratios checksum/floor and download/floor.
4. Fan-out: edits the template all devices use (ORM, in this process), then
   has every device poll and download; reports how long until all N new
   archives were served, each verified against its new checksum.

Examples::

    /tmp/venv/bin/python bench/load.py --db sqlite
    /tmp/venv/bin/python bench/load.py --db postgres --workers 3 --worker-class sync
    /tmp/venv/bin/python bench/load.py --db both --client python

Every phase is bounded in count and time; ``--max-seconds`` stops the run.
"""

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    RESULTS_DIR,
    ROOT,
    bench_env,
    drop_pg_database,
    flush_redis_db,
    median,
    percentile,
    print_table,
    recreate_pg_database,
    run_per_database,
    setup_django,
)
from bench.httpload import Connection, run_python, run_wrk  # noqa: E402

PG_NAME = f"bench_load_{os.getpid()}"  # one database per run: runs can overlap
REDIS_URL = "redis://127.0.0.1:6379/5"
SECRET = "bench-shared-secret-5f0c2a"
BACKEND = "netjsonconfig.OpenWrt"
FLOOR = "/bench/floor/"
#: gunicorn of the virtualenv running this script (e.g. /tmp/venv/bin/gunicorn)
GUNICORN = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
TARGETS = {"checksum": 0.80, "download": 0.60}
HEX32 = re.compile(rb"[0-9a-f]{32}")

TEMPLATES = [
    {
        "name": "bench-base",
        "config": {
            "general": {"timezone": "Europe/Rome"},
            "ntp": {"enabled": True, "enable_server": False, "server": ["0.pool.ntp.org", "1.pool.ntp.org"]},
            "files": [
                {
                    "path": "/etc/bench-device",
                    "mode": "0644",
                    "contents": "revision=0\nname={{ name }}\nmac={{ mac_address }}\n",
                }
            ],
        },
    },
    {
        "name": "bench-lan",
        "config": {
            "interfaces": [
                {
                    "name": "br-lan",
                    "type": "bridge",
                    "bridge_members": ["eth0"],
                    "addresses": [{"proto": "static", "family": "ipv4", "address": "192.168.1.1", "mask": 24}],
                },
                {
                    "name": "wlan0",
                    "type": "wireless",
                    "wireless": {"radio": "radio0", "mode": "access_point", "ssid": "bench-{{ name }}"},
                },
            ],
            "radios": [{"name": "radio0", "protocol": "802.11n", "channel": 11, "channel_width": 20}],
        },
    },
]


class ControllerUnavailable(Exception):
    pass


# --- the server ---------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving ``bench.wsgi`` in its own session (stopped by its process group id)."""

    def __init__(self, args, env, log_path):
        self.args, self.env, self.log_path = args, env, log_path
        self.port = args.port or free_port()
        self.process = None

    def command(self):
        args = self.args
        command = [GUNICORN, "bench.wsgi:application", "--bind", f"127.0.0.1:{self.port}"]
        command += ["--workers", str(args.workers), "--worker-class", args.worker_class]
        if args.worker_class == "gthread":
            command += ["--threads", str(args.threads)]
        command += [
            "--keep-alive",
            str(args.keep_alive),
            "--timeout",
            "120",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ]
        return command + ["--chdir", str(ROOT), "--error-logfile", str(self.log_path)]

    def start(self):
        environment = {**os.environ, **self.env, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            self.command(), env=environment, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.process.returncode}); see {self.log_path}")
            try:
                if Connection(self.port, timeout=2).request("GET", FLOOR)[0] == 200 and self.worker_pids():
                    time.sleep(1)  # let every worker finish booting
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer within 60s; see {self.log_path}")

    def worker_pids(self):
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return pids

    def cpu_seconds(self):
        """User + system CPU time consumed so far by the master and its workers."""
        total = 0
        for pid in [self.process.pid, *self.worker_pids()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


# --- devices ------------------------------------------------------------------------


def parallel(port, function, items, concurrency, timeout):
    """``function(connection, item)`` over ``items`` with one keep-alive connection per thread."""
    local = threading.local()

    def call(item):
        if not hasattr(local, "connection"):
            local.connection = Connection(port)
        return function(local.connection, item)

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(call, items, timeout=timeout))


def device_identity(number):
    mac = "02:BE:00:%02X:%02X:%02X" % (number >> 16, (number >> 8) & 255, number & 255)
    return {"name": f"bench-ap-{number:05d}", "mac": mac, "key": hashlib.md5(f"{mac}+{SECRET}".encode()).hexdigest()}


def register(connection, number):
    """Registers one simulated device with the real protocol; returns its uuid, key and name."""
    device = device_identity(number)
    body = urllib.parse.urlencode(
        {
            "secret": SECRET,
            "name": device["name"],
            "mac_address": device["mac"],
            "backend": BACKEND,
            "key": device["key"],
        }
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, data, _response = connection.request("POST", "/controller/register/", body, headers)
    if status != 201:
        raise ControllerUnavailable(f"register answered {status}: {data[:200]!r}")
    fields = dict(line.split(": ", 1) for line in data.decode().splitlines() if ": " in line)
    if fields.get("key") != device["key"]:
        raise ControllerUnavailable(f"register returned key {fields.get('key')!r}, expected {device['key']!r}")
    return {**device, "uuid": fields["uuid"]}


def checksum_path(device):
    return f"/controller/checksum/{device['uuid']}/?key={device['key']}"


def download_path(device):
    return f"/controller/download-config/{device['uuid']}/?key={device['key']}"


def fetch_checksum(connection, device):
    status, body, _response = connection.request("GET", checksum_path(device))
    if status != 200 or not HEX32.fullmatch(body):
        raise ControllerUnavailable(f"checksum answered {status}: {body[:100]!r}")
    return body.decode()


def verify(connection, device):
    """Checksum, then download; the archive's md5 must equal the checksum. Returns the checksum."""
    checksum = fetch_checksum(connection, device)
    status, archive, _response = connection.request("GET", download_path(device))
    if status != 200 or hashlib.md5(archive).hexdigest() != checksum:
        raise ControllerUnavailable(f"download answered {status}; md5 {hashlib.md5(archive).hexdigest()} != {checksum}")
    return checksum


# --- steady-state rounds --------------------------------------------------------------


def run_load(args, server, paths, duration):
    cpu_before = server.cpu_seconds()
    if args.client == "wrk":
        summary = run_wrk(server.port, paths, args.connections, duration)
    else:
        summary = run_python(server.port, paths, args.connections, duration)
    summary["cpu_ms_per_request"] = (server.cpu_seconds() - cpu_before) * 1000 / max(1, summary["requests"])
    return summary


def warm_up(args, server, paths, limit=120):
    """
    Unmeasured load until the rate stops rising (at most ``limit`` seconds):
    per-process state (database connections, caches, lazily built objects) warms up.
    """
    deadline, previous = time.monotonic() + limit, 0
    while time.monotonic() < deadline:
        rate = run_load(args, server, paths, args.warmup)["rps"]
        if rate < previous * 1.1:
            return
        previous = rate


def measure_rounds(args, server, paths_by_endpoint):
    """Alternating rounds; the order of the endpoints rotates from round to round."""
    names = list(paths_by_endpoint)
    for name in names:
        warm_up(args, server, paths_by_endpoint[name])
    rounds = []
    for number in range(args.rounds):
        order = names[number % len(names) :] + names[: number % len(names)]
        rounds.append({name: run_load(args, server, paths_by_endpoint[name], args.duration) for name in order})
        print(f"  round {number + 1}/{args.rounds}: " + ", ".join(_round_line(rounds[-1], name) for name in names))
    return rounds


def _round_line(result, name):
    return f"{name} {result[name]['rps']:.0f} req/s"


def summarize_rounds(rounds):
    summary = {}
    for name in rounds[0]:
        entries = [result[name] for result in rounds]
        summary[name] = {
            key: median([entry[key] for entry in entries]) for key in ("rps", "p50", "p99", "cpu_ms_per_request")
        }
        summary[name]["errors"] = sum(entry["errors"] for entry in entries)
        summary[name]["requests"] = sum(entry["requests"] for entry in entries)
        if name != "floor":
            summary[name]["ratio"] = median([result[name]["rps"] / result["floor"]["rps"] for result in rounds])
            summary[name]["cpu_ratio"] = median(
                [result["floor"]["cpu_ms_per_request"] / result[name]["cpu_ms_per_request"] for result in rounds]
            )
    return summary


# --- queries and profiles (in this process, Django's test client, same database) -------


def audit(devices, label):
    """SQL queries of one checksum poll and one download, and a cProfile of each."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    from django_netjsonconfig.models import Config

    client, device = Client(), devices[0]

    def queries(path):
        with CaptureQueriesContext(connection) as context:
            response = client.get(path)
        return {"status": response.status_code, "sql": [query["sql"] for query in context.captured_queries]}

    # the first requests store what they render and learn of that write; then
    # this connection remembers the row
    for _warm_up in range(2):
        client.get(checksum_path(device))
        client.get(download_path(device))
    report = {"checksum": queries(checksum_path(device)), "download": queries(download_path(device))}
    with override_settings(NETJSONCONFIG_CONTROLLER_CACHE_SIZE=0):
        report["checksum_without_memory"] = queries(checksum_path(device))
        report["download_without_memory"] = queries(download_path(device))
    Config.invalidate_checksums(Config.objects.filter(pk=device["uuid"]))
    report["checksum_after_invalidation"] = queries(checksum_path(device))
    report["download_after_checksum"] = queries(download_path(device))
    for name, path_of in (("checksum", checksum_path), ("download", download_path)):
        report[f"profile_{name}"] = profile(client, [path_of(item) for item in devices[:300]], f"{label}-{name}")
    return report


def profile(client, paths, label):
    profiler = cProfile.Profile()
    profiler.enable()
    for path in paths:
        client.get(path)
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(30)
    target = RESULTS_DIR / f"profile-{label}.txt"
    target.write_text(stream.getvalue())
    return str(target)


# --- fan-out --------------------------------------------------------------------------


def edit_shared_template(revision):
    """Changes the NetJSON of the template every device uses, as the admin would (full_clean + save)."""
    from django_netjsonconfig.models import Template

    template = Template.objects.get(name="bench-base")
    template.config["files"][0]["contents"] = f"revision={revision}\nname={{{{ name }}}}\nmac={{{{ mac_address }}}}\n"
    started = time.perf_counter()
    template.full_clean()
    cleaned = time.perf_counter()
    template.save()
    return cleaned - started, time.perf_counter() - cleaned


def fanout(args, port, devices, checksums, revision):
    """Every device polls until its checksum changes, then downloads and checks the new archive."""
    clean_seconds, save_seconds = edit_shared_template(revision)
    started = time.perf_counter()

    def follow(connection, device):
        old = checksums[device["uuid"]]
        for _attempt in range(100):
            checksum = fetch_checksum(connection, device)
            if checksum != old:
                break
            time.sleep(0.05)
        else:
            return {"uuid": device["uuid"], "ok": False, "changed": False, "at": time.perf_counter() - started}
        status, archive, _response = connection.request("GET", download_path(device))
        ok = status == 200 and hashlib.md5(archive).hexdigest() == checksum
        return {
            "uuid": device["uuid"],
            "ok": ok,
            "changed": True,
            "checksum": checksum,
            "at": time.perf_counter() - started,
        }

    order = random.Random(revision).sample(devices, len(devices))
    results = parallel(port, follow, order, args.connections, timeout=args.max_seconds)
    completion = sorted(result["at"] for result in results)
    for result in results:
        if result["ok"]:
            checksums[result["uuid"]] = result["checksum"]
    return {
        "full_clean_seconds": clean_seconds,
        "save_seconds": save_seconds,
        "all_served_seconds": completion[-1],
        "archives_per_second": len(results) / completion[-1],
        "p50_done": percentile(completion, 0.5),
        "p99_done": percentile(completion, 0.99),
        "changed": sum(result["changed"] for result in results),
        "verified": sum(result["ok"] for result in results),
    }


# --- one database ---------------------------------------------------------------------


def prepare_database(args):
    env = bench_env(args.db, PG_NAME, redis_url=REDIS_URL)
    env.update(BENCH_SHARED_SECRET=SECRET, BENCH_CONN_MAX_AGE=str(args.conn_max_age))
    if args.db == "postgres":
        recreate_pg_database(PG_NAME)
        flush_redis_db(REDIS_URL)
    setup_django(env)
    from django_netjsonconfig.models import Template

    for spec in TEMPLATES:
        template = Template(backend=BACKEND, default=True, **spec)
        template.full_clean()
        template.save()
    return env


def register_all(args, port):
    started = time.perf_counter()
    devices = [register(Connection(port), 0)]  # fails fast while the controller is missing
    devices += parallel(port, register, range(1, args.devices), args.connections, timeout=args.max_seconds)
    elapsed = time.perf_counter() - started
    print(f"registered {len(devices)} devices in {elapsed:.1f}s ({len(devices) / elapsed:.0f}/s)", flush=True)
    return devices, elapsed


def run_benchmark(args, server):
    output = {"db": args.db, "client": args.client, "args": {k: v for k, v in vars(args).items() if k != "func"}}
    print(f"[{args.db}] gunicorn {args.workers} {args.worker_class} workers on port {server.port}", flush=True)
    try:
        if args.floor_only:
            raise ControllerUnavailable("--floor-only")
        devices, output["register_seconds"] = register_all(args, server.port)
    except ControllerUnavailable as error:
        print(f"controller not measured ({error}); measuring the floor view only", flush=True)
        output["controller"] = str(error)
        output["rounds"] = measure_rounds(args, server, {"floor": [FLOOR]})
        output["summary"] = summarize_rounds(output["rounds"])
        return output
    checksums = dict(
        zip((d["uuid"] for d in devices), parallel(server.port, verify, devices, args.connections, 600), strict=True)
    )
    print(f"verified md5(download) == checksum for {len(checksums)} devices", flush=True)
    output["audit"] = audit(devices, args.db)
    paths = {"floor": [FLOOR], "checksum": [checksum_path(d) for d in devices]}
    paths["download"] = [download_path(d) for d in devices]
    output["rounds"] = measure_rounds(args, server, paths)
    output["summary"] = summarize_rounds(output["rounds"])
    output["fanout"] = []
    for run in range(args.fanout_runs):
        output["fanout"].append(fanout(args, server.port, devices, checksums, revision=run + 1))
        print(f"  fan-out {run + 1}: all served in {output['fanout'][-1]['all_served_seconds']:.1f}s", flush=True)
    return output


def print_report(output):
    summary = output["summary"]
    rows = []
    for name, entry in summary.items():
        ratio = f"{entry['ratio']:.2f}" if "ratio" in entry else "1"
        cpu_ratio = f"{entry['cpu_ratio']:.2f}" if "cpu_ratio" in entry else "1"
        target = TARGETS.get(name)
        verdict = "" if target is None else ("met" if entry["ratio"] >= target else "NOT met") + f" (>= {target:.2f})"
        rows.append(
            [
                name,
                f"{entry['rps']:.0f}",
                f"{entry['p50'] * 1000:.1f}",
                f"{entry['p99'] * 1000:.1f}",
                f"{entry['cpu_ms_per_request']:.2f}",
                str(entry["errors"]),
                ratio,
                cpu_ratio,
                verdict,
            ]
        )
    print(f"\n[{output['db']}] steady state, client {output['client']}, median of {len(output['rounds'])} rounds")
    headers = ["endpoint", "req/s", "p50 ms", "p99 ms", "server cpu ms/req", "errors", "rps/floor", "floor cpu/cpu"]
    print_table([*headers, "target (rps/floor)"], rows)
    for entry in output.get("fanout", []):
        print(
            f"fan-out: full_clean {entry['full_clean_seconds']:.2f}s, save {entry['save_seconds'] * 1000:.0f}ms, "
            f"{entry['changed']} checksums changed, {entry['verified']} archives verified, all served in "
            f"{entry['all_served_seconds']:.1f}s ({entry['archives_per_second']:.0f}/s; half done at "
            f"{entry['p50_done']:.1f}s, 99% at {entry['p99_done']:.1f}s)"
        )
    for name in (
        "checksum",
        "download",
        "checksum_without_memory",
        "download_without_memory",
        "checksum_after_invalidation",
        "download_after_checksum",
    ):
        if name in output.get("audit", {}):
            print(f"queries per {name}: {len(output['audit'][name]['sql'])}")


def single(args):
    if not GUNICORN:
        raise SystemExit("gunicorn is not installed in this virtualenv (pip install gunicorn)")
    signal.signal(signal.SIGALRM, lambda *_: sys.exit(f"stopped after --max-seconds {args.max_seconds}"))
    signal.alarm(args.max_seconds)
    RESULTS_DIR.mkdir(exist_ok=True)
    env = prepare_database(args)
    server = Server(args, env, RESULTS_DIR / f"gunicorn-{args.db}.log")
    try:
        server.start()
        output = run_benchmark(args, server)
    finally:
        server.stop()
        cleanup(args, env)
    output["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    print_report(output)
    path = RESULTS_DIR / f"load-{args.db}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(output, indent=2))
    print(f"raw results: {path}")
    return 3 if "controller" in output and not args.floor_only else 0


def cleanup(args, env):
    from django.db import connections

    connections.close_all()
    if args.keep_db:
        return
    if args.db == "postgres":
        drop_pg_database(PG_NAME)
    else:
        Path(env["BENCH_SQLITE_PATH"]).unlink(missing_ok=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument(
        "--worker-class",
        choices=["sync", "gthread"],
        default="sync",
        help="sync (default): one request per connection, like devices behind a proxy; "
        "gthread: keep-alive, but the spread of connections over workers varies from round to round",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument(
        "--keep-alive", type=int, default=30, help="gunicorn keep-alive seconds; 0 closes after each response"
    )
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections (default 8)")
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--rounds", type=int, default=9, help="measured rounds of each endpoint (default 9)")
    parser.add_argument("--duration", type=int, default=3, help="seconds per endpoint per round (default 3)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load per endpoint first")
    parser.add_argument("--fanout-runs", type=int, default=3)
    parser.add_argument(
        "--conn-max-age",
        default="none",
        help="CONN_MAX_AGE of the database: seconds or 'none' (the default, kept open)",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--max-seconds", type=int, default=1800, help="hard limit per database (default 1800)")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--floor-only", action="store_true", help="only measure the floor view (tests the harness)")
    return parser.parse_args(argv)


def main():
    args = parse_args()
    if args.db != "both":
        return single(args)
    return run_per_database(__file__)


if __name__ == "__main__":
    sys.exit(main())
