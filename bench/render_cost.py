#!/usr/bin/env python
"""
CPU cost of a device's first poll after a change, against netjsonconfig's
bare rendering of the same configuration, in one run.

Creates ``--devices`` configs (the two default templates of ``bench/load.py``
plus a larger one, about 7 KB of UCI per device), then, in interleaved
rounds:

* *first poll, validated change*: a shared template is edited the way the
  admin does (``full_clean()`` then ``save()``), which validates every
  config using it; then every device polls its checksum once (Django's WSGI
  handler called in process, ``bench.settings``), which renders and stores
  its new archive;
* *first poll, unvalidated change*: the same edit saved without
  ``full_clean()`` (as internal paths may), so the poll validates before
  rendering;
* *bare rendering*: ``netjsonconfig.OpenWrt(config, templates, context)``
  of each device's inputs with ``validate()`` turned off, then ``generate()``;
* *bare rendering + validation*: the same, with netjsonconfig's own
  validation (``generate()`` as the library ships it).

Times are CPU time of this process (``time.process_time()``) per device;
on PostgreSQL the database server's CPU is not included. The served
checksum is checked against the bare rendering's MD5. Works on the commit
before the change too (copy the file there), to compare before and after::

    .venv/bin/python bench/render_cost.py --db sqlite --devices 100 --rounds 5
"""

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    bench_env,
    discard_database,
    median,
    print_table,
    recreate_pg_database,
    run_per_database,
    setup_django,
)
from bench.load import BACKEND, REDIS_URL, SECRET, TEMPLATES, checksum_path, device_identity  # noqa: E402
from bench.poll_cost import wsgi_caller  # noqa: E402

PG_NAME = f"bench_render_cost_{os.getpid()}"

#: a bigger template: with the two of bench/load.py, about 7 KB of UCI per device
BIG_TEMPLATE = {
    "name": "bench-big",
    "config": {
        "interfaces": [
            {
                "name": f"eth0.{vlan}",
                "type": "ethernet",
                "mtu": 1500,
                "addresses": [
                    {"proto": "static", "family": "ipv4", "address": f"10.{vlan}.0.1", "mask": 24},
                    {"proto": "static", "family": "ipv6", "address": f"fd00:{vlan:x}::1", "mask": 64},
                ],
            }
            for vlan in range(10, 40)
        ],
        "dns_servers": ["10.10.0.1", "9.9.9.9"],
        "dns_search": ["bench.example"],
        "routes": [
            {"device": f"eth0.{vlan}", "destination": f"172.{vlan}.0.0/16", "next": f"10.{vlan}.0.254", "cost": 1}
            for vlan in range(10, 30)
        ],
    },
}


def create_devices(count):
    from django_netjsonconfig.models import Config, Template

    for spec in [*TEMPLATES, BIG_TEMPLATE]:
        template = Template(backend=BACKEND, default=True, **spec)
        template.full_clean()
        template.save()
    configs = []
    for number in range(count):
        device = device_identity(number)
        config = Config(name=device["name"], mac_address=device["mac"], key=device["key"], backend=BACKEND)
        config.full_clean()
        config.save()
        configs.append({**device, "uuid": config.pk.hex, "pk": config.pk})
    return configs


def edit_shared_template(revision, validated):
    """Edits the template every device uses: through ``full_clean()`` (the admin's way) or ``save()`` alone."""
    from django_netjsonconfig.models import Template

    template = Template.objects.get(name="bench-base")
    template.config["files"][0]["contents"] = f"revision={revision}\nname={{{{ name }}}}\nmac={{{{ mac_address }}}}\n"
    if validated:
        template.full_clean()
    template.save()


def bare_inputs(devices):
    """Each device's netjsonconfig inputs (own NetJSON, template NetJSON, variables) as plain data."""
    from django_netjsonconfig.models import Config

    inputs = []
    for config in Config.objects.filter(pk__in=[d["pk"] for d in devices]).prefetch_related("templates"):
        templates = list(config.templates.all())
        inputs.append(
            (config.get_config(), [template.config for template in templates], config.get_render_context(templates))
        )
    return inputs


def _no_validation():
    pass


def bare_render(inputs, validate):
    from netjsonconfig import OpenWrt

    own, templates, context = inputs
    backend = OpenWrt(config=own, templates=templates, context=context)
    if not validate:
        backend.validate = _no_validation
    return backend.generate().getvalue()


def per_device(function, items):
    """CPU milliseconds per item."""
    started = time.process_time()
    for item in items:
        function(item)
    return (time.process_time() - started) / len(items) * 1e3


def measure(devices, args):
    call = wsgi_caller()
    paths = [checksum_path(device) for device in devices]
    from django_netjsonconfig.models import Config

    # warm-up: a full cycle of each kind, untimed
    edit_shared_template(1000, validated=True)
    for path in paths:
        call(path)
    results = {
        name: []
        for name in ("first poll, validated change", "first poll, unvalidated change", "bare", "bare + validation")
    }
    revision = 1001
    size = None
    for _round in range(args.rounds):
        for validated, name in ((True, "first poll, validated change"), (False, "first poll, unvalidated change")):
            edit_shared_template(revision, validated)
            revision += 1
            results[name].append(per_device(call, paths))
        inputs = bare_inputs(devices)
        results["bare"].append(per_device(lambda item: bare_render(item, validate=False), inputs))
        results["bare + validation"].append(per_device(lambda item: bare_render(item, validate=True), inputs))
    # the device got what netjsonconfig renders
    served = dict(Config.objects.filter(pk__in=[d["pk"] for d in devices]).values_list("pk", "rendered_checksum"))
    archives = [bare_render(item, validate=False) for item in bare_inputs(devices)]
    size = len(archives[0])
    mismatches = sum(hashlib.md5(archive).hexdigest() not in served.values() for archive in archives)
    if mismatches:
        raise SystemExit(f"{mismatches} served checksums differ from netjsonconfig's rendering")
    return results, size


def report(db, results, size, devices):
    bare = median(results["bare"])
    rows = []
    for name, values in results.items():
        cost = median(values)
        rows.append(
            [name, f"{cost:.2f}", f"{min(values):.2f}-{max(values):.2f}", f"{cost / bare:.2f}", f"{1000 / cost:.0f}"]
        )
    print(
        f"\n[{db}] {devices} devices, archive {size} bytes gzipped; CPU ms per device (median of {len(results['bare'])} rounds)"
    )
    print_table(["what", "ms/device", "min-max", "ratio to bare", "renderings/s per worker"], rows)


def single(args):
    env = bench_env(args.db, PG_NAME, redis_url=REDIS_URL)
    env.update(BENCH_SHARED_SECRET=SECRET)
    if args.db == "postgres":
        recreate_pg_database(PG_NAME)
    try:
        setup_django(env)
        devices = create_devices(args.devices)
        results, size = measure(devices, args)
        report(args.db, results, size, args.devices)
    finally:
        discard_database(args.db, PG_NAME, env)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.db != "both":
        return single(args)
    raise SystemExit(run_per_database(__file__, timeout=1800))


if __name__ == "__main__":
    main()
