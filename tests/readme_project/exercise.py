"""
Run in the README project after ``migrate``: a device registers, polls and
downloads; an operator uses the admin. Prints one line per step, exits 1 on
the first failure.
"""

import hashlib
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.readme_project.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402


def expect(label, condition):
    print(("ok   " if condition else "FAIL ") + label, flush=True)
    if not condition:
        sys.exit(1)


device = Client()
mac = "00:11:22:33:44:99"
key = hashlib.md5(f"{mac}+readme-secret".encode()).hexdigest()
response = device.post(
    "/controller/register/",
    {
        "secret": "readme-secret",
        "name": "readme-ap",
        "mac_address": mac,
        "backend": "netjsonconfig.OpenWrt",
        "key": key,
    },
)
expect("register answers 201", response.status_code == 201)
lines = dict(line.split(": ", 1) for line in response.content.decode().splitlines())
uuid = lines["uuid"]
checksum = device.get(f"/controller/checksum/{uuid}/", {"key": key})
expect("checksum answers 200", checksum.status_code == 200)
archive = device.get(f"/controller/download-config/{uuid}/", {"key": key})
expect("download matches checksum", hashlib.md5(archive.content).hexdigest() == checksum.content.decode())
report = device.post(f"/controller/report-status/{uuid}/", {"key": key, "status": "running"})
expect("report-status answers 200", report.status_code == 200)

operator = Client()
operator.force_login(get_user_model().objects.create_superuser("admin", "a@example.com", "pass"))
for url in (
    "/admin/django_netjsonconfig/config/",
    f"/admin/django_netjsonconfig/config/{uuid}/change/",
    "/admin/django_netjsonconfig/template/add/",
    "/admin/django_netjsonconfig/vpn/add/",
    "/admin/django_x509/ca/add/",
    "/netjsonconfig/schema.json",
):
    expect(f"admin GET {url}", operator.get(url).status_code == 200)
