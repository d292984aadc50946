"""
What an operator sees in the admin, in a real browser (Debian's headless
Chromium driven by Playwright against a live server): the preview of a saved
device with a VPN-client template is its download (no placeholder, no change,
the same checksum); the preview says which hostname a device gets when a
template sets another; a name that cannot be a hostname is reported on the
name field; the fleet list is in name order and finds a MAC typed with dashes;
a bulk template change is in each config's history. Any JavaScript error,
failed request or HTTP error fails the test.
"""

import hashlib

from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import expect

from django_netjsonconfig import fleet
from django_netjsonconfig.tests import TestMixin
from django_netjsonconfig.tests.test_browser import ChromiumLiveServerTestCase


class OperatorTestCase(TestMixin, ChromiumLiveServerTestCase):
    def setUp(self):
        fleet.forget_seen()
        user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pass")
        self.client.force_login(user)
        for model in (self.config_model, self.template_model, self.vpn_model):
            self._extra_fields(model)  # rows they need exist before the pages load
        self.open_page()

    def _admin_url(self, model, view, *args):
        opts = model._meta
        return self.live_server_url + reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)

    def _open_change(self, config):
        self.page.goto(self._admin_url(self.config_model, "change", config.pk))
        self.page.wait_for_selector("#id_config_jsoneditor[data-ready]")

    def _preview(self):
        self.page.click("input.previewlink >> nth=0")
        dialog = self.page.get_by_role("dialog", name="Preview")
        expect(dialog.locator(".djnjc-file").first).to_be_visible()
        return dialog

    def _device_get(self, view, config):
        url = self.live_server_url + reverse(f"controller:{view}", args=[config.pk.hex]) + f"?key={config.key}"
        response = self.page.request.get(url)
        self.assertEqual(response.status, 200)
        return response.body()


class TestPreviewIsTheDownload(OperatorTestCase):
    def test_a_saved_device_with_a_vpn_client_template(self):
        template = self._create_vpn_template(name="tunnel")
        config = self._create_config(name="ap-vpn", templates=[template])
        checksum = self._device_get("checksum", config).decode()
        archive = self._device_get("download_config", config)
        self.assertEqual(hashlib.md5(archive).hexdigest(), checksum)

        self._open_change(config)
        dialog = self._preview()
        text = dialog.inner_text()
        self.assertNotIn("{{", text)
        expect(dialog.locator(".djnjc-checksum")).to_have_text(checksum)
        expect(dialog.locator(".djnjc-diff-file")).to_have_count(0)
        paths = dialog.locator(".djnjc-file-path").all_inner_texts()
        self.assertIn(f"/etc/x509/client-{template.vpn.pk.hex}.pem", paths)
        self.assertFalse([path for path in paths if "{" in path], paths)


class TestHostnameRule(OperatorTestCase):
    def test_the_preview_says_the_device_name_wins_over_a_template_hostname(self):
        lab = self._create_template(name="lab", config={"general": {"hostname": "openwrt-lab"}})
        config = self._create_config(name="dev-ssid", templates=[lab])
        self._open_change(config)
        dialog = self._preview()
        expect(dialog.locator(".djnjc-preview-note")).to_contain_text('the device gets "dev-ssid"')
        system = dialog.locator(".djnjc-file").filter(has_text="/etc/config/system")
        expect(system).to_contain_text("option hostname 'dev-ssid'")
        expect(system).not_to_contain_text("openwrt-lab")


class TestErrorsOnTheRightField(OperatorTestCase):
    def test_a_name_that_cannot_be_a_hostname_is_an_error_on_the_name(self):
        page = self.page
        page.goto(self._admin_url(self.config_model, "add"))
        page.wait_for_selector("#id_config_jsoneditor[data-ready]")
        page.fill("#id_name", "lobby router 1")
        page.fill("#id_mac_address", "00:11:22:33:44:55")
        for name, value in self._extra_fields(self.config_model).items():
            page.select_option(f"#id_{name}", str(value.pk))
        with page.expect_navigation():
            page.click("input[name='_save']")
        name_errors = page.locator(".form-row.field-name .errorlist")
        expect(name_errors).to_be_visible()
        expect(name_errors).to_contain_text("hostname")
        expect(page.locator(".form-row.field-config .errorlist")).to_have_count(0)
        self.assertFalse(self.config_model.objects.filter(name="lobby router 1").exists())


class TestFleetList(OperatorTestCase):
    def _changelist(self, query=""):
        self.page.goto(self._admin_url(self.config_model, "changelist") + query)
        self.page.wait_for_selector("#result_list")

    def _names(self):
        return self.page.locator("#result_list tbody th.field-name a").all_inner_texts()

    def test_rows_are_in_name_order_and_a_dashed_mac_is_found(self):
        for index, name in enumerate(("delta", "alpha", "charlie", "bravo")):
            self._create_config(name=name, mac_address=f"AA:BB:CC:DD:EE:0{index}", key=f"{index}" * 32)
        self._changelist()
        self.assertEqual(self._names(), ["alpha", "bravo", "charlie", "delta"])
        self.page.fill("#searchbar", "aa-bb-cc-dd-ee-02")
        with self.page.expect_navigation():
            self.page.press("#searchbar", "Enter")
        self.assertEqual(self._names(), ["charlie"])

    def test_a_bulk_template_change_is_in_the_history_of_each_config(self):
        lan = self._create_template(name="lan-extra")
        first = self._create_config(name="ap-1", mac_address="00:11:22:33:44:01", key="1" * 32)
        self._create_config(name="ap-2", mac_address="00:11:22:33:44:02", key="2" * 32)
        page = self.page
        self._changelist()
        page.check("#action-toggle")
        page.locator("select[name='action']").first.select_option("add_template")
        page.locator("button[name='index']").first.click()
        page.select_option("#id_template", str(lan.pk))
        page.click("button[value='preview']")
        expect(page.locator("#djnjc-bulk-counts")).to_contain_text("2 configurations selected")
        page.click("#djnjc-bulk-apply")
        expect(page.locator("ul.messagelist")).to_contain_text("2 configurations changed")

        page.goto(self._admin_url(self.config_model, "history", first.pk))
        expect(page.locator("#change-history")).to_contain_text("lan-extra")
        page.goto(self.live_server_url + reverse("admin:index"))
        expect(page.locator("#recent-actions-module")).to_contain_text("ap-1")
