"""
The VPN server form in a real browser (Debian's headless Chromium driven by
Playwright against a live server): the selected backend's fields only, the
configuration of its kind, nothing the operator chose lost by switching.
Any JavaScript error, failed request or HTTP error fails the test.
"""

import json

from playwright.sync_api import expect

from django_netjsonconfig.tests import TestMixin, test_browser
from django_netjsonconfig.tests.test_browser import ChromiumLiveServerTestCase
from django_netjsonconfig.tests.test_wireguard import WIREGUARD

OPENVPN = "django_netjsonconfig.vpn_backends.OpenVpn"
OPENVPN_ROWS = (".form-row.field-ca", ".form-row.field-cert", ".form-row.field-include_crl")


class TestVpnServerFormInBrowser(TestMixin, ChromiumLiveServerTestCase):
    setUp = test_browser.TestEditorInBrowser.setUp
    _admin_url = test_browser.TestEditorInBrowser._admin_url
    _open = test_browser.TestEditorInBrowser._open
    _fill_extra_fields = test_browser.TestEditorInBrowser._fill_extra_fields
    _submit = test_browser.TestEditorInBrowser._submit

    def _config_value(self):
        return json.loads(self.page.input_value("#id_config"))

    def _expect_openvpn_fields(self, shown):
        for selector in OPENVPN_ROWS:
            row = expect(self.page.locator(selector))
            row.to_be_visible() if shown else row.to_be_hidden()
        subnet = expect(self.page.locator(".form-row.field-subnet"))
        subnet.to_be_hidden() if shown else subnet.to_be_visible()

    def test_backend_choice_shows_its_fields_and_configuration_and_switching_back_keeps_the_ca(self):
        page = self.page
        ca = self._create_ca(name="office-ca")
        self._open(self.vpn_model, "add")
        self._expect_openvpn_fields(True)
        page.select_option("#id_ca", str(ca.pk))
        server = page.locator("[name='root[openvpn][0][server]']")
        expect(server).to_have_value("10.8.0.0 255.255.255.0")
        page.fill("[name='root[openvpn][0][port]']", "1195")
        page.locator("[name='root[openvpn][0][port]']").blur()
        page.wait_for_function("() => document.querySelector('#id_config').value.includes('1195')")

        page.select_option("#id_backend", WIREGUARD)
        self._expect_openvpn_fields(False)
        expect(page.locator("[name='root[wireguard][0][name]']")).to_have_value("wg0")
        self.assertEqual(self._config_value(), {"wireguard": [{"name": "wg0", "port": 51820}]})

        page.select_option("#id_backend", OPENVPN)
        self._expect_openvpn_fields(True)
        expect(page.locator("#id_ca")).to_have_value(str(ca.pk))
        expect(page.locator("[name='root[openvpn][0][port]']")).to_have_value("1195")
        self.assertEqual(self._config_value()["openvpn"][0]["port"], 1195)

    def test_wireguard_server_saved_through_the_page_shows_its_public_key_and_usage(self):
        page = self.page
        ca = self._create_ca(name="office-ca")
        self._open(self.vpn_model, "add")
        page.fill("#id_name", "office-wg")
        page.fill("#id_host", "wg.example.com")
        page.select_option("#id_ca", str(ca.pk))  # chosen, then the backend changed: not sent
        page.select_option("#id_backend", WIREGUARD)
        page.fill("#id_subnet", "10.8.0.0/24")
        self._fill_extra_fields(self.vpn_model)
        self._submit()
        vpn = self.vpn_model.objects.get(name="office-wg")
        self.assertEqual((vpn.backend, vpn.ca_id, vpn.subnet), (WIREGUARD, None, "10.8.0.0/24"))
        self.assertEqual(vpn.config, {"wireguard": [{"name": "wg0", "port": 51820}]})

        self._open(self.vpn_model, "change", vpn.pk)
        expect(page.locator(".form-row.field-public_key")).to_contain_text(vpn.public_key)
        expect(page.locator(".form-row.field-subnet_usage")).to_contain_text("0 of 253 client addresses used")
        expect(page.locator(".form-row.field-ca")).to_have_count(0)
        self.assertNotIn(vpn.private_key, page.content())

    def test_a_saved_server_switched_to_another_kind_says_saving_brings_its_fields(self):
        page = self.page
        vpn = self._create_wireguard_server()
        self._open(self.vpn_model, "change", vpn.pk)
        note = page.locator(".djnjc-vpn-kind-note")
        expect(note).to_be_hidden()
        page.select_option("#id_backend", OPENVPN)
        expect(note).to_be_visible()
        expect(note).to_have_text("Save the form to see the fields of this backend.")
        expect(page.locator(".form-row.field-subnet")).to_be_hidden()
        expect(page.locator("[name='root[openvpn][0][server]']")).to_have_value("10.8.0.0 255.255.255.0")
        page.select_option("#id_backend", WIREGUARD)
        expect(note).to_be_hidden()
        expect(page.locator(".form-row.field-subnet")).to_be_visible()
        self.assertEqual(self._config_value(), vpn.config)
