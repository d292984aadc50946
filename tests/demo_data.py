#!/usr/bin/env python
"""
Loads sample data into the demo project (idempotent) and prints how to log in.

Run through ``python3 dev.py demo``; it can also be run on its own with the
project's virtualenv: ``.venv/bin/python tests/demo_data.py``.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import transaction  # noqa: E402

from django_netjsonconfig import settings as app_settings  # noqa: E402
from django_netjsonconfig.models import Config, Template  # noqa: E402

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = os.environ.get("DEMO_ADMIN_PASSWORD", "admin")

TEMPLATES = [
    {
        "name": "base-system",
        "default": True,
        "config": {
            "general": {"timezone": "Europe/Rome"},
            "ntp": {"enabled": True, "enable_server": False, "server": ["0.pool.ntp.org", "1.pool.ntp.org"]},
            "files": [
                {
                    "path": "/etc/device-info",
                    "mode": "0644",
                    "contents": "name={{ name }}\nmac={{ mac_address }}\nsite={{ site }}\n",
                }
            ],
        },
    },
    {
        "name": "lan",
        "default": True,
        "config": {
            "interfaces": [
                {
                    "name": "br-lan",
                    "type": "bridge",
                    "bridge_members": ["eth0"],
                    "addresses": [
                        {"proto": "static", "family": "ipv4", "address": "192.168.1.1", "mask": 24},
                    ],
                }
            ]
        },
    },
    {
        "name": "guest-wifi",
        "default": False,
        "config": {
            "interfaces": [
                {
                    "name": "wlan0",
                    "type": "wireless",
                    "wireless": {
                        "radio": "radio0",
                        "mode": "access_point",
                        "ssid": "{{ ssid_prefix }}-{{ name }}",
                        "network": ["lan"],
                    },
                }
            ],
            "radios": [{"name": "radio0", "protocol": "802.11n", "channel": 11, "channel_width": 20}],
        },
    },
]

#: name, MAC address, templates, the device's own variables
DEVICES = [
    ("ap-lobby", "00:11:22:33:44:01", ["base-system", "lan", "guest-wifi"], {"site": "lobby"}),
    ("ap-office", "00:11:22:33:44:02", ["base-system", "lan"], {}),
    ("00:11:22:33:44:03", "00:11:22:33:44:03", ["base-system"], {}),
]


@transaction.atomic
def load():
    templates = {}
    for spec in TEMPLATES:
        template = Template.objects.filter(name=spec["name"]).first()
        if template is None:
            template = Template(backend="netjsonconfig.OpenWrt", **spec)
            template.full_clean()
            template.save()
        templates[spec["name"]] = template
    for name, mac, template_names, context in DEVICES:
        if Config.objects.filter(name=name).exists():
            continue
        config = Config(
            name=name, mac_address=mac, backend="netjsonconfig.OpenWrt", config={"general": {}}, context=context
        )
        config.full_clean()
        config.save()
        config.templates.set([templates[template_name] for template_name in template_names])
    user_model = get_user_model()
    if not user_model.objects.filter(username=ADMIN_USERNAME).exists():
        user_model.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)


if __name__ == "__main__":
    load()
    print(
        "\nDemo data loaded: templates {templates}; configurations {configs}.\n"
        "Admin:    http://{address}/admin/   login: {user} / password: {password}\n"
        "Devices register with shared secret: {secret}\n".format(
            templates=", ".join(spec["name"] for spec in TEMPLATES),
            configs=", ".join(name for name, *_rest in DEVICES),
            address=os.environ.get("DEMO_ADDRESS", "127.0.0.1:8000"),
            user=ADMIN_USERNAME,
            password=ADMIN_PASSWORD,
            secret=app_settings.SHARED_SECRET or "(registration needs NETJSONCONFIG_SHARED_SECRET)",
        ),
        flush=True,
    )
