#!/usr/bin/env python
"""
Fan-out after a template change: the time until every device of N (all using
one shared template) has been served its new archive.

On a fresh PostgreSQL database (``bench_fanout_<pid>``) one process plays the
app server (Django's WSGI handler through the test client, one worker) and
the devices: after the change each device polls its checksum once, in random
order, and downloads the archive when the checksum changed. Three ways are
timed in the same run, each after a new change of the template:

``no worker``
    the embedded immediate task backend: the template is checked in the
    request and each device's poll renders its config (0.5.6's way);
``worker + polls``
    django-tasks' database backend with one ``db_worker`` process started
    beforehand: the save is accepted at once, the worker validates and
    pre-renders while devices poll (a poll renders what the worker has not
    reached yet);
``worker first``
    the worker alone until it has finished, then the polls (all answered
    from stored archives).

It also reports renderings per second per worker, against netjsonconfig's
own ``generate()`` of the same inputs without validation (*bare*, the
"vs bare" column is bare's rate over the worker's: the cost of a rendering
through the app as a multiple of the library's) and with it::

    .venv/bin/python bench/fanout.py --sizes 1000
"""

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_DIR, ROOT, bench_env, drop_pg_database, print_table, recreate_pg_database  # noqa: E402

PG_NAME = f"bench_fanout_{os.getpid()}"
WORKER_START = 30  # seconds the worker may take to start (a bound on waiting)


def _setup(env):
    os.environ.update(env)
    os.environ["BENCH_TASKS"] = "database"
    from bench.common import setup_django

    setup_django(env)


def _fleet(size):
    from bench.template_save import COMMON_TEMPLATE, create_fleet
    from django_netjsonconfig.models import Template

    common = Template.objects.create(name="bench-common", backend="netjsonconfig.OpenWrt", config=COMMON_TEMPLATE)
    return create_fleet(size, 0, common, distinct=True)


def _change(template, revision):
    from bench.template_save import edited_config

    template.config = edited_config(revision)
    template.full_clean()
    template.save()


def _devices(template):
    devices = list(template.config_relations.values_list("pk", "key"))
    random.Random(len(devices)).shuffle(devices)
    return devices


def _poll_all(client, devices, known):
    """Each device polls once and downloads a changed archive; returns how many got a new one."""
    served = 0
    for pk, key in devices:
        checksum = client.get(f"/controller/checksum/{pk.hex}/", {"key": key}).content.decode()
        if checksum == known.get(pk):
            continue
        response = client.get(f"/controller/download-config/{pk.hex}/", {"key": key})
        if response.status_code != 200 or hashlib.md5(response.content).hexdigest() != checksum:
            raise SystemExit(f"device {pk} was not served its archive ({response.status_code})")
        known[pk] = checksum
        served += 1
    return served


def _worker(env):
    environment = {**os.environ, **env, "BENCH_TASKS": "database", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "django", "db_worker", "--interval", "0.1", "--no-startup-delay", "-v", "0"]
    return subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_tasks(started_after):
    from django_tasks_db.models import DBTaskResult

    while DBTaskResult.objects.filter(enqueued_at__gte=started_after).exclude(status="SUCCESSFUL").exists():
        if DBTaskResult.objects.filter(status="FAILED").exists():
            raise SystemExit("the background task failed")
        time.sleep(0.05)


def _bare_rates(template, sample=50):
    """
    netjsonconfig alone on the inputs of ``sample`` configs of the fleet (own
    NetJSON, templates, variables): ``generate()`` per second without
    validation (*bare*) and as the library ships it (validation included).
    """
    from bench.render_cost import bare_inputs, bare_render
    from django_netjsonconfig.models import Config

    pks = Config.objects.filter(templates=template).values_list("pk", flat=True)[:sample]
    inputs = bare_inputs([{"pk": pk} for pk in pks])
    rates = {}
    for name, validate in (("bare generate/s", False), ("generate/s", True)):
        started = time.perf_counter()
        for item in inputs:
            bare_render(item, validate=validate)
        rates[name] = len(inputs) / (time.perf_counter() - started)
    return rates


def child(args):
    env = bench_env("postgres", PG_NAME)
    recreate_pg_database(PG_NAME)
    worker = None
    try:
        _setup(env)
        from django.db import connections
        from django.test import Client, override_settings

        size = args.size
        template = _fleet(size)
        devices = _devices(template)
        client = Client()
        known = {}
        _poll_all(client, devices, known)  # every device has its archive before the change
        results = {"size": size}

        with override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}):
            started = time.perf_counter()
            _change(template, 1)
            saved = time.perf_counter()
            served = _poll_all(client, devices, known)
            results["no worker"] = {"save": saved - started, "all served": time.perf_counter() - started}
        assert served == size, served

        connections.close_all()
        worker = _worker(env)
        time.sleep(min(WORKER_START, 5))  # the worker is up and idle (its start is not timed)
        from django.utils import timezone

        enqueued_after = timezone.now()
        started = time.perf_counter()
        _change(template, 2)
        saved = time.perf_counter()
        served = _poll_all(client, devices, known)
        all_served = time.perf_counter() - started
        _wait_for_tasks(enqueued_after)
        results["worker + polls"] = {
            "save": saved - started,
            "all served": all_served,
            "worker done": time.perf_counter() - started,
        }
        assert served == size, served

        enqueued_after = timezone.now()
        started = time.perf_counter()
        _change(template, 3)
        saved = time.perf_counter()
        _wait_for_tasks(enqueued_after)
        worker_done = time.perf_counter() - started
        served = _poll_all(client, devices, known)
        results["worker first"] = {
            "save": saved - started,
            "worker done": worker_done,
            "all served": time.perf_counter() - started,
        }
        assert served == size, served
        results.update(_bare_rates(template))
        print(json.dumps(results))
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            drop_pg_database(PG_NAME)


def report(outputs):
    headers = ["N", "way", "save s", "all served s", "worker done s", "renderings/s per worker", "vs bare"]
    rows = []
    for output in outputs:
        size = output["size"]
        for way in ("no worker", "worker + polls", "worker first"):
            entry = output[way]
            # renderings per worker: "no worker" has one (the app server), "worker first" one (the worker)
            rate = None
            if way == "no worker":
                rate = size / (entry["all served"] - entry["save"])
            elif way == "worker first":
                rate = size / (entry["worker done"] - entry["save"])
            rows.append(
                [
                    str(size),
                    way,
                    f"{entry['save']:.2f}",
                    f"{entry['all served']:.1f}",
                    f"{entry.get('worker done', 0):.1f}" if "worker done" in entry else "-",
                    "-" if rate is None else f"{rate:.1f}",
                    "-" if rate is None else f"{output['bare generate/s'] / rate:.2f} x",
                ]
            )
    print()
    print_table(headers, rows)
    print()
    for output in outputs:
        base = output["no worker"]["all served"]
        both = output["worker + polls"]["all served"]
        first = output["worker first"]["all served"]
        print(
            f"N={output['size']}: all served with a worker polling alongside = {both / base:.2f} x without; "
            f"worker first = {first / base:.2f} x; netjsonconfig alone: {output['bare generate/s']:.1f} generate()/s "
            f"without validation, {output['generate/s']:.1f} with"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000", help="comma-separated fleet sizes (default 1000)")
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    outputs = []
    for size in (int(part) for part in args.sizes.split(",")):
        print(f"[postgres] {size} devices ...", flush=True)
        command = [sys.executable, __file__, "--child", "--size", str(size)]
        completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        if completed.returncode:
            raise SystemExit(f"benchmark failed (exit {completed.returncode})")
        outputs.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    report(outputs)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"fanout-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(outputs, indent=2))
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    main()
