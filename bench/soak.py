#!/usr/bin/env python
"""
Soak test: devices polling while another process edits templates and configs.

1. Starts gunicorn (``--workers`` sync workers, ``bench.settings``: the demo's
   production settings, persistent connections, the connection memory on) on
   a fresh database (SQLite file in WAL mode, or PostgreSQL ``bench_soak_<pid>``),
   127.0.0.1 only, and registers ``--devices`` devices.
2. For ``--seconds``, ``--pollers`` threads poll every device's checksum (and
   download it when it changed) while this process, through the ORM, edits
   the template every device uses or one device's own configuration, one
   write every ``--write-interval`` seconds. After each write it renders the
   affected configs itself (nothing stored) to know which checksum each
   device must get from then on.
3. Three seconds after the last write, every device polls and downloads once
   more: the number of devices still served an outdated configuration must
   be 0 (exit status 1 otherwise).

Reported: writes, polls, 5xx answers, outdated answers (a poll that started
after a write committed but answered an older checksum) and the longest lag
of an answer behind a committed write, then the final count.

Examples::

    .venv/bin/python bench/soak.py --db both
    .venv/bin/python bench/soak.py --db postgres --seconds 120 --devices 50
"""

import argparse
import hashlib
import json
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load  # noqa: E402
from bench.common import RESULTS_DIR, print_table, run_per_database  # noqa: E402
from bench.httpload import Connection  # noqa: E402

load.PG_NAME = f"bench_soak_{os.getpid()}"
TIMEZONES = ["UTC", "Europe/Rome", "Europe/Paris", "Asia/Tokyo", "America/New_York", "Africa/Cairo"]


class History:
    """Per device: the checksums it must be served, each from the time its write committed."""

    def __init__(self):
        self.entries = {}
        self.lock = threading.Lock()

    def record(self, uuid, committed, checksum):
        with self.lock:
            self.entries.setdefault(uuid, []).append((committed, checksum))

    def current(self, uuid):
        return self.entries[uuid][-1][1]

    def lag(self, uuid, started, finished, answer):
        """
        ``None`` when ``answer`` was current when the poll started (or became
        current while it ran), else how long after the write that superseded
        it the answer arrived.
        """
        entries = self.entries[uuid]
        valid = [checksum for committed, checksum in entries if committed <= started]
        if answer == valid[-1] or answer in [checksum for committed, checksum in entries if committed > started]:
            return None
        for index in range(len(entries) - 1, -1, -1):
            if entries[index][1] == answer and entries[index][0] <= started:
                return finished - entries[index + 1][0]
        return finished - entries[len(valid) - 1][0]  # an answer that was never current


def fresh_checksums(pks):
    """MD5 of a rendering of each config as stored now (rendered here, nothing stored)."""
    from django_netjsonconfig.models import Config

    configs = Config.objects.filter(pk__in=pks).prefetch_related("templates")
    return {config.pk.hex: hashlib.md5(config.generate().getvalue()).hexdigest() for config in configs}


def write(revision, devices):
    """One write through the ORM, as the admin does; returns the primary keys of the configs it affects."""
    from django_netjsonconfig.models import Config, Template

    if revision % 2:
        template = Template.objects.get(name="bench-base")
        template.config["general"] = {"timezone": TIMEZONES[revision % len(TIMEZONES)]}
        template.full_clean()
        template.save()
        return [device["uuid"] for device in devices]
    device = random.choice(devices)
    config = Config.objects.get(pk=device["uuid"])
    config.config = {"general": {"description": f"revision {revision}"}}
    config.full_clean()
    config.save()
    return [device["uuid"]]


def poller(port, devices, history, stop, results):
    connection = Connection(port, timeout=30)
    known = {}
    while not stop.is_set():
        for device in devices:
            if stop.is_set():
                break
            started = time.monotonic()
            status, body, _response = connection.request("GET", load.checksum_path(device))
            finished = time.monotonic()
            results["polls"] += 1
            if status >= 500:
                results["5xx"] += 1
                continue
            answer = body.decode()
            # judged at the end: the writer records what is current after rendering it
            results["answers"].append((device["uuid"], started, finished, answer))
            if known.get(device["uuid"]) != answer:
                known[device["uuid"]] = answer
                status, _archive, _response = connection.request("GET", load.download_path(device))
                results["downloads"] += 1
                results["5xx"] += status >= 500


def final_check(port, devices, history):
    """Devices served (checksum or archive) something else than a rendering of their current row."""
    connection, outdated = Connection(port), 0
    for device in devices:
        expected = history.current(device["uuid"])
        _status, checksum, _response = connection.request("GET", load.checksum_path(device))
        _status, archive, _response = connection.request("GET", load.download_path(device))
        if checksum.decode() != expected or hashlib.md5(archive).hexdigest() != expected:
            outdated += 1
    return outdated


def merge(shares, history, results):
    """Adds up the pollers' counts and judges every answer against the history."""
    for share in shares:
        for name in ("polls", "downloads", "5xx"):
            results[name] += share[name]
        for uuid, started, finished, answer in share["answers"]:
            lag = history.lag(uuid, started, finished, answer)
            if lag is not None:
                results["outdated"] += 1
                results["max_lag"] = max(results["max_lag"], lag)


def soak(args, server):
    devices, _seconds = load.register_all(args, server.port)
    for device in devices:
        device["uuid"] = device["uuid"].replace("-", "")
    history = History()
    started = time.monotonic()
    for uuid, checksum in fresh_checksums([device["uuid"] for device in devices]).items():
        history.record(uuid, started, checksum)
    results = {"writes": 0, "polls": 0, "downloads": 0, "5xx": 0, "outdated": 0, "max_lag": 0.0}
    shares = [{**results, "answers": []} for _poller in range(args.pollers)]
    stop = threading.Event()
    threads = [
        threading.Thread(target=poller, args=(server.port, devices, history, stop, share), daemon=True)
        for share in shares
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + args.seconds
    revision = 0
    while time.monotonic() < deadline:
        revision += 1
        affected = write(revision, devices)
        committed = time.monotonic()
        for uuid, checksum in fresh_checksums(affected).items():
            history.record(uuid, committed, checksum)
        results["writes"] += 1
        time.sleep(args.write_interval)
    last_write = time.monotonic()
    time.sleep(max(0.0, last_write + 3 - time.monotonic()))
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    merge(shares, history, results)
    results["outdated_after_3s"] = final_check(server.port, devices, history)
    results["devices"] = len(devices)
    return results


def single(args):
    signal.signal(signal.SIGALRM, lambda *_: sys.exit(f"stopped after --max-seconds {args.max_seconds}"))
    signal.alarm(args.max_seconds)
    RESULTS_DIR.mkdir(exist_ok=True)
    env = load.prepare_database(args)
    server = load.Server(args, env, RESULTS_DIR / f"gunicorn-soak-{args.db}.log")
    try:
        server.start()
        results = soak(args, server)
    finally:
        server.stop()
        load.cleanup(args, env)
    results["db"] = args.db
    print_table(
        ["db", "devices", "writes", "polls", "downloads", "5xx", "outdated", "max lag s", "outdated 3s after"],
        [
            [
                args.db,
                results["devices"],
                results["writes"],
                results["polls"],
                results["downloads"],
                results["5xx"],
                results["outdated"],
                f"{results['max_lag']:.3f}",
                results["outdated_after_3s"],
            ]
        ],
    )
    path = RESULTS_DIR / f"soak-{args.db}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    return 1 if results["outdated_after_3s"] or results["5xx"] else 0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--pollers", type=int, default=8, help="polling threads (default 8)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--seconds", type=int, default=60, help="seconds of writes (default 60)")
    parser.add_argument("--write-interval", type=float, default=0.2, help="pause after each write (default 0.2)")
    parser.add_argument("--max-seconds", type=int, default=600, help="hard limit per database (default 600)")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    # what bench/load.py's server and database helpers read
    args.worker_class, args.threads, args.keep_alive, args.port = "sync", 1, 30, 0
    args.conn_max_age, args.connections = "none", 8
    return args


def main():
    args = parse_args()
    if args.db != "both":
        return single(args)
    return run_per_database(__file__)


if __name__ == "__main__":
    sys.exit(main())
