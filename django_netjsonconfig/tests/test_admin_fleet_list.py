"""
The fleet list (the config changelist) through Django's test client: rows in
name order, the status column (a pending change is not a failure), the
certificate expiry filter and sort, and searching a MAC address the way
operators type it.
"""

import datetime
import re
import uuid

from django.test import TestCase
from django.utils import timezone

from django_netjsonconfig.tests.test_fleet_state import FleetAdminMixin


def _names(html):
    """Names of the configs of a changelist page, in row order."""
    return re.findall(r'<th class="field-name"><a [^>]*>([^<]+)</a>', html)


def _cell(html, name, column):
    """The HTML of the ``column`` cell of the row of config ``name``."""
    row = next(row for row in re.findall(r"<tr>.*?</tr>", html, re.S) if f">{name}</a>" in row)
    return re.search(rf'<td class="field-{column}[^"]*">(.*?)</td>', row, re.S).group(1)


class TestFleetListOrder(FleetAdminMixin, TestCase):
    def test_rows_are_in_name_order(self):
        # ids ascending with the names: the admin's fallback order (-pk) would list them backwards
        names = [f"ap-{index:02d}" for index in range(8)]
        for index, name in enumerate(names):
            self._create_config(
                id=uuid.UUID(int=index + 1),
                name=name,
                mac_address=f"00:11:22:33:44:{index:02X}",
                key=f"{index:02d}" * 16,
            )
        self.assertEqual(_names(self._list()), names)
        self.assertEqual(_names(self._list(o="-1")), names[::-1])


class TestFleetListStatus(FleetAdminMixin, TestCase):
    def test_only_failures_are_flagged_as_failures(self):
        pending = self._create_config(name="ap-pending")
        self._get("download_config", pending, key=pending.key)
        self._report(pending, status="applied")
        pending.config = {"general": {"timezone": "Europe/Rome"}}
        pending.full_clean()
        pending.save()
        failed = self._create_config(name="ap-failed", mac_address="00:11:22:33:44:66", key="6" * 32)
        self._report(failed, status="error")
        html = self._list()
        self.assertIn("modified", _cell(html, "ap-pending", "status_display"))
        self.assertNotIn("djnjc-failure", _cell(html, "ap-pending", "status_display"))
        self.assertNotIn("djnjc-failure", _cell(html, "ap-pending", "sync_state"))
        self.assertIn('class="djnjc-status djnjc-failure"', _cell(html, "ap-failed", "status_display"))

    def test_a_rendering_error_is_flagged(self):
        broken = self._create_config(name="ap-broken")
        self.config_model.objects.filter(pk=broken.pk).update(render_error="variable `tz` is not defined")
        cell = _cell(self._list(), "ap-broken", "status_display")
        self.assertIn("djnjc-failure", cell)
        self.assertIn("cannot be rendered", cell)


class TestFleetListCertificateExpiry(FleetAdminMixin, TestCase):
    def setUp(self):
        super().setUp()
        self.vpn = self._create_vpn()
        template = self._create_vpn_template(vpn=self.vpn)
        self.configs = {}
        for index, (name, days) in enumerate([("ap-soon", 5), ("ap-expired", -1), ("ap-later", 300)]):
            config = self._create_config(name=name, mac_address=f"00:11:22:33:44:{index:02X}", key=f"{index}" * 32)
            config.templates.add(template)
            cert = self.vpnclient_model.objects.get(config=config).cert
            type(cert).objects.filter(pk=cert.pk).update(validity_end=timezone.now() + datetime.timedelta(days=days))
            self.configs[name] = config
        self._create_config(name="ap-none", mac_address="00:11:22:33:44:AA", key="a" * 32)

    def test_filter_by_expiry(self):
        self.assertEqual(_names(self._list(certificate_expiry="expired")), ["ap-expired"])
        self.assertEqual(_names(self._list(certificate_expiry="soon")), ["ap-soon"])
        self.assertEqual(_names(self._list(certificate_expiry="later")), ["ap-later"])
        self.assertEqual(_names(self._list(certificate_expiry="none")), ["ap-none"])
        self.assertIn("VPN certificate expiry", self._list())

    def test_sort_by_expiry(self):
        columns = re.findall(r'<th scope="col" class="([^"]*)"', self._list())
        index = next(i for i, classes in enumerate(columns) if "column-certificate_expiry" in classes)
        self.assertIn("sortable", columns[index])
        names = _names(self._list(o=str(index)))
        self.assertEqual([name for name in names if name != "ap-none"], ["ap-expired", "ap-soon", "ap-later"])
        names = _names(self._list(o=f"-{index}"))
        self.assertEqual([name for name in names if name != "ap-none"], ["ap-later", "ap-soon", "ap-expired"])


class TestFleetListMacSearch(FleetAdminMixin, TestCase):
    def setUp(self):
        super().setUp()
        self._create_config(name="ap-mac", mac_address="AA:BB:CC:DD:EE:FF")
        self._create_config(name="ap-other", mac_address="00:11:22:33:44:66", key="6" * 32)

    def test_mac_as_operators_type_it(self):
        for term in ("aa-bb-cc-dd-ee-ff", "AA-BB-CC-DD-EE-FF", "aa:bb:cc:dd:ee:ff", "aabbccddeeff", "aabb.ccdd.eeff"):
            with self.subTest(term=term):
                self.assertEqual(_names(self._list(q=term)), ["ap-mac"])

    def test_part_of_a_mac(self):
        self.assertEqual(_names(self._list(q="dd-ee-ff")), ["ap-mac"])

    def test_other_searches_still_work(self):
        self.assertEqual(_names(self._list(q="ap-oth")), ["ap-other"])
        self.assertEqual(_names(self._list(q="zzz")), [])
