"""
What is about to expire: expiry dates (flagged within the warning window)
on the VPN and config lists, the ``netjsonconfig_expiry`` command for cron,
and renewals (django-x509's ``renew()``) marking exactly the configs and VPN
servers whose files change. Real certificates throughout.
"""

import datetime
import io

from django.core.management import call_command
from django.test import TestCase, override_settings
from django.utils import timezone

from django_netjsonconfig.tests.test_fleet_state import FleetAdminMixin

EXPIRY_COMMAND = "netjsonconfig_expiry"


class ExpiryMixin(FleetAdminMixin):
    def _setup_vpn(self):
        self.vpn = self._create_vpn()
        self.vpn_template = self._create_vpn_template(vpn=self.vpn)
        self.with_vpn = self._create_config(name="ap-vpn")
        self.with_vpn.templates.add(self.vpn_template)
        self.other_vpn = self._create_config(name="ap-vpn2", mac_address="00:11:22:33:44:56", key="2" * 32)
        self.other_vpn.templates.add(self.vpn_template)
        self.without_vpn = self._create_config(name="ap-plain", mac_address="00:11:22:33:44:57", key="3" * 32)

    def _client_cert(self, config):
        return self.vpnclient_model.objects.get(config=config).cert

    def _expire_in(self, obj, days):
        type(obj).objects.filter(pk=obj.pk).update(validity_end=timezone.now() + datetime.timedelta(days=days))

    def _run_command(self, *args):
        out = io.StringIO()
        try:
            call_command(EXPIRY_COMMAND, *args, stdout=out)
        except SystemExit as exit:
            return exit.code, out.getvalue()
        return 0, out.getvalue()


class TestExpiryFlags(ExpiryMixin, TestCase):
    def setUp(self):
        super().setUp()
        self._setup_vpn()

    def _vpn_list(self):
        response = self.client.get(self._admin_url(self.vpn_model, "changelist"))
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def test_nothing_flagged_for_fresh_certificates(self):
        self.assertNotIn("expires soon", self._vpn_list())
        self.assertNotIn("expires soon", self._list())
        self.assertIn('class="field-ca_expiry"', self._vpn_list())

    def test_ca_and_server_certificate_expiring_are_flagged_on_the_vpn_list(self):
        self._expire_in(self.vpn.ca, 10)
        html = self._vpn_list()
        self.assertEqual(html.count("expires soon"), 1)
        self._expire_in(self.vpn.cert, -1)
        html = self._vpn_list()
        self.assertIn("(expired)", html)

    def test_client_certificate_expiring_is_flagged_on_the_config_list(self):
        self._expire_in(self._client_cert(self.with_vpn), 29)
        html = self._list()
        self.assertEqual(html.count("expires soon"), 1)
        row = next(line for line in html.split("<tr") if ">ap-vpn<" in line)
        self.assertIn("expires soon", row)

    @override_settings(NETJSONCONFIG_EXPIRY_WARNING_DAYS=5)
    def test_the_window_is_a_setting(self):
        self._expire_in(self._client_cert(self.with_vpn), 10)
        self.assertNotIn("expires soon", self._list())
        self.assertEqual(self._run_command()[0], 0)


class TestExpiryCommand(ExpiryMixin, TestCase):
    def test_nothing_expiring_exits_0(self):
        self._setup_vpn()
        code, out = self._run_command()
        self.assertEqual(code, 0)
        self.assertIn("Nothing expires within 30 days", out)
        self.assertEqual(self._run_command("--quiet"), (0, ""))

    def test_expiring_certificates_exit_1_and_are_listed(self):
        self._setup_vpn()
        self._expire_in(self._client_cert(self.with_vpn), 3)
        self._expire_in(self.vpn.ca, -2)
        code, out = self._run_command()
        self.assertEqual(code, 1)
        self.assertIn("2 expire within 30 days or have expired", out)
        self.assertIn(f"CA '{self.vpn.ca.name}' (used by {self.vpn.name}): EXPIRED", out)
        self.assertIn("client certificate", out)
        self.assertIn("(used by ap-vpn)", out)
        self.assertEqual(self._run_command("--days", "1")[0], 1)  # the expired CA

    def test_revoked_client_certificates_are_not_reported(self):
        self._setup_vpn()
        cert = self._client_cert(self.with_vpn)
        self._expire_in(cert, 3)
        cert.refresh_from_db()
        cert.revoke()
        self.assertEqual(self._run_command()[0], 0)


class TestRenewal(ExpiryMixin, TestCase):
    """Renewing marks exactly the configs and VPN servers whose files change."""

    def setUp(self):
        super().setUp()
        self._setup_vpn()
        for config in (self.with_vpn, self.other_vpn, self.without_vpn):
            self._get("download_config", config, key=config.key)
            self._report(config, status="applied")
        self.vpn.get_cached_archive()  # the server's rendering is stored

    def _vpn_current(self):
        return self.vpn_model.objects.get(pk=self.vpn.pk).stored_checksum is not None

    def test_client_certificate_renewal_marks_its_config_only(self):
        cert = self._client_cert(self.with_vpn)
        old_end = cert.validity_end
        self._expire_in(cert, 3)
        cert.refresh_from_db()
        cert.renew()
        self.assertGreater(self._client_cert(self.with_vpn).validity_end, old_end - datetime.timedelta(days=1))
        self.assertStatus(self.with_vpn, "modified")
        self.assertStatus(self.other_vpn, "running")
        self.assertStatus(self.without_vpn, "running")
        self.assertTrue(self._vpn_current())
        # the device then downloads its new certificate
        response = self._get("download_config", self.with_vpn, key=self.with_vpn.key)
        self.assertEqual(response.status_code, 200)
        config = self.config_model.objects.get(pk=self.with_vpn.pk)
        self.assertIn(self._client_cert(self.with_vpn).certificate.strip().splitlines()[1], config.json())

    def test_server_certificate_renewal_marks_the_server_only(self):
        self.vpn.cert.renew()
        self.assertFalse(self._vpn_current())
        for config in (self.with_vpn, self.other_vpn, self.without_vpn):
            self.assertStatus(config, "running")

    def test_ca_renewal_marks_its_devices_and_server(self):
        self.vpn.ca.renew()
        self.assertFalse(self._vpn_current())
        self.assertStatus(self.with_vpn, "modified")
        self.assertStatus(self.other_vpn, "modified")
        self.assertStatus(self.without_vpn, "running")
        self.assertEqual(self._run_command()[0], 0)


class TestFleetSettingsChecks(TestCase):
    def _ids(self):
        from django_netjsonconfig.checks import check_settings

        return {error.id for error in check_settings(None)}

    def test_defaults_pass(self):
        self.assertFalse({"django_netjsonconfig.E009", "django_netjsonconfig.E010"} & self._ids())

    def test_invalid_values_are_errors_naming_the_setting(self):
        for value in (-1, "600", 1.5, True):
            with override_settings(NETJSONCONFIG_LAST_SEEN_INTERVAL=value, NETJSONCONFIG_EXPIRY_WARNING_DAYS=value):
                self.assertLessEqual({"django_netjsonconfig.E009", "django_netjsonconfig.E010"}, self._ids())
        with override_settings(NETJSONCONFIG_LAST_SEEN_INTERVAL=0, NETJSONCONFIG_EXPIRY_WARNING_DAYS=0):
            self.assertFalse({"django_netjsonconfig.E009", "django_netjsonconfig.E010"} & self._ids())
