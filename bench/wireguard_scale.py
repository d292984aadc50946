#!/usr/bin/env python
"""
Times a WireGuard server with N clients, N = 100 (the baseline) and 2,000:

(a) adding one more client: the admin's change form of a config posted with
    the server's VPN-client template added (Django's test client, a
    superuser), which allocates the client's key pair and address;
(b) the server's next sync: its checksum and download-config endpoints
    through HTTP (Django's test client), which render the server again;
(c) rendering the server's configuration (``Vpn.generate()`` on a freshly
    loaded row: the peers query and netjsonconfig's rendering).

The clients of the N servers are created in bulk (keys, addresses, template
rows), as many as registrations would have left. The sizes are interleaved
within each round; the medians of ``--runs`` rounds are printed with the
ratio N=2000 / N=100 measured in the same run. Each database runs in its own
process on a fresh database (a temporary SQLite file, or the PostgreSQL
database ``bench_wireguard_scale_<pid>``)::

    .venv/bin/python bench/wireguard_scale.py --db both
    .venv/bin/python bench/wireguard_scale.py --db postgres --sizes 100,2000,5000 --runs 9

See bench/README.rst.
"""

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    RESULTS_DIR,
    bench_env,
    discard_database,
    median,
    print_table,
    recreate_pg_database,
    run_per_database,
    setup_django,
)

PG_NAME = f"bench_wireguard_scale_{os.getpid()}"
BACKEND = "netjsonconfig.OpenWrt"
WIREGUARD = "django_netjsonconfig.vpn_backends.Wireguard"
#: room for 5,000 clients and the ones the runs add
SUBNET = "10.0.0.0/18"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--sizes", default="100,2000", help="client counts, the first is the baseline")
    parser.add_argument("--runs", type=int, default=7, help="rounds (each adds one client per size)")
    return parser.parse_args()


def _mac(server, number):
    return "02:%02X:00:%02X:%02X:%02X" % (server, number >> 16, (number >> 8) & 255, number & 255)


def create_server(size, index):
    """A WireGuard server, its VPN-client template and ``size`` configs using it (in bulk), plus spare configs."""
    import ipaddress

    from django_netjsonconfig.models import Config, Template, Vpn, VpnClient
    from django_netjsonconfig.wireguard import generate_key_pair

    vpn = Vpn(
        name=f"wg-{size}",
        host=f"wg{index}.example.com",
        backend=WIREGUARD,
        subnet=SUBNET,
        config={"wireguard": [{"name": "wg0", "port": 51820 + index}]},
    )
    vpn.full_clean()
    vpn.save()
    template = Template(name=f"wg-{size}", backend=BACKEND, type="vpn", vpn=vpn, config={})
    template.full_clean()
    template.save()
    configs = [
        Config(
            name=f"wg{index}-{number:05d}",
            mac_address=_mac(index, number),
            key=f"{index:02d}{number:030d}",
            backend=BACKEND,
            config={"general": {}},
            status="running",
            rendered_checksum="0" * 32,
            rendered_fingerprint="bench",
        )
        for number in range(size)
    ]
    Config.objects.bulk_create(configs, batch_size=1000)
    through = Config.templates.through
    through.objects.bulk_create(
        (through(config_id=config.pk, template_id=template.pk, sort_value=0) for config in configs), batch_size=2000
    )
    hosts = ipaddress.ip_network(SUBNET).hosts()
    next(hosts)  # the server's
    clients = []
    for config in configs:
        private_key, public_key = generate_key_pair()
        clients.append(
            VpnClient(config=config, vpn=vpn, ip=str(next(hosts)), private_key=private_key, public_key=public_key)
        )
    VpnClient.objects.bulk_create(clients, batch_size=1000)
    return vpn, template


def spare_config(size, index, run):
    """A config without the template, rendered, to add to the server in round ``run``."""
    from django_netjsonconfig.models import Config

    config = Config(
        name=f"spare{index}-{run:03d}",
        mac_address=_mac(index + 100, run),
        key=f"s{index:02d}{run:029d}",
        backend=BACKEND,
        config={"general": {}},
    )
    config.full_clean()
    config.save()
    return config


def admin_add_client(client, config, template):
    """Posts the config's change form with the template added; returns seconds."""
    from django.urls import reverse

    data = {
        "name": config.name,
        "backend": config.backend,
        "key": config.key,
        "mac_address": config.mac_address,
        "config": json.dumps(config.config),
        "context": "{}",
        "templates": str(template.pk),
    }
    url = reverse("admin:django_netjsonconfig_config_change", args=[config.pk])
    gc.collect()
    started = time.perf_counter()
    response = client.post(url, data)
    elapsed = time.perf_counter() - started
    if response.status_code != 302:
        raise SystemExit(f"admin post answered {response.status_code}: {response.content[:500]!r}")
    return elapsed


def server_sync(client, vpn):
    """The sync script's requests after a change: checksum, then download; returns seconds."""
    import hashlib

    from django.urls import reverse

    gc.collect()
    started = time.perf_counter()
    checksum = client.get(reverse("controller:vpn_checksum", args=[vpn.pk]), {"key": vpn.key})
    download = client.get(reverse("controller:vpn_download_config", args=[vpn.pk]), {"key": vpn.key})
    elapsed = time.perf_counter() - started
    if checksum.status_code != 200 or hashlib.md5(download.content).hexdigest() != checksum.content.decode():
        raise SystemExit(f"sync failed: {checksum.status_code} {checksum.content[:200]!r}")
    return elapsed, download.content


def render(vpn_pk):
    """``Vpn.generate()`` of a freshly loaded server; returns seconds and the number of queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from django_netjsonconfig.models import Vpn

    vpn = Vpn.objects.get(pk=vpn_pk)
    gc.collect()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        vpn.generate()
        elapsed = time.perf_counter() - started
    return elapsed, len(queries)


def peers_in(archive):
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return tar.extractfile("wg0.conf").read().decode().count("[Peer]")


def measure(db, args):
    if db == "postgres":
        recreate_pg_database(PG_NAME)
    env = bench_env(db, PG_NAME)
    try:
        setup_django(env)
        from django.contrib.auth import get_user_model
        from django.test import Client

        sizes = [int(size) for size in args.sizes.split(",")]
        servers = {size: create_server(size, index) for index, size in enumerate(sizes)}
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
        admin = Client()
        admin.force_login(user)
        device = Client()
        timings = {size: {"add": [], "sync": [], "render": []} for size in sizes}
        queries = {}
        for run in range(args.runs):
            for index, size in enumerate(sizes):
                vpn, template = servers[size]
                server_sync(device, vpn)  # stored rendering current before the change
                config = spare_config(size, index, run)
                timings[size]["add"].append(admin_add_client(admin, config, template))
                elapsed, archive = server_sync(device, vpn)
                timings[size]["sync"].append(elapsed)
                expected = size + run + 1
                if peers_in(archive) != expected:
                    raise SystemExit(f"server of {size} clients: {peers_in(archive)} peers, expected {expected}")
                elapsed, queries[size] = render(vpn.pk)
                timings[size]["render"].append(elapsed)
        return {
            "db": db,
            "sizes": sizes,
            "medians": {size: {key: median(values) for key, values in timings[size].items()} for size in sizes},
            "render_queries": queries,
            "raw": timings,
        }
    finally:
        discard_database(db, PG_NAME, env)


def report(result):
    sizes, medians = result["sizes"], result["medians"]
    base = sizes[0]
    print(f"\n{result['db']}: medians of the rounds (ms); ratio to N={base} in the same run")
    rows = []
    for size in sizes:
        row = [str(size)]
        for key in ("add", "sync", "render"):
            value = medians[size][key]
            row.append(f"{value * 1000:.1f} ({value / medians[base][key]:.2f}x)")
        row.append(str(result["render_queries"][size]))
        rows.append(row)
    print_table(["clients", "(a) admin add client", "(b) next sync", "(c) render", "render queries"], rows)


def main():
    args = parse_args()
    if args.db == "both":
        return run_per_database(__file__)
    result = measure(args.db, args)
    report(result)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"wireguard_scale-{args.db}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"args": vars(args), "result": result}, indent=2, default=str))
    print(f"raw results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
