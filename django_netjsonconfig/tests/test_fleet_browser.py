"""
Bulk template change in a real browser (Debian's headless Chromium driven by
Playwright against a live server): select configs on the list, add a
template through the confirmation page, then see the sync state column
change after the device downloads its configuration. Any JavaScript error,
failed request or HTTP error fails the test.
"""

from django.contrib.auth import get_user_model
from django.urls import reverse

from django_netjsonconfig import fleet
from django_netjsonconfig.tests import TestMixin
from django_netjsonconfig.tests.test_browser import ChromiumLiveServerTestCase

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - playwright is in the test extras
    sync_playwright = None


class TestFleetInBrowser(TestMixin, ChromiumLiveServerTestCase):
    def setUp(self):
        fleet.forget_seen()
        user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pass")
        self.client.force_login(user)
        for model in (self.config_model, self.template_model):
            self._extra_fields(model)  # rows they need exist before the pages load
        self.open_page()

    def _url(self, path):
        return self.live_server_url + path

    def _device_get(self, view, config):
        """A device request over HTTP to the live server."""
        url = self._url(reverse(f"controller:{view}", args=[config.pk.hex])) + f"?key={config.key}"
        response = self.page.request.get(url)
        self.assertEqual(response.status, 200)

    def _device_report(self, config, status):
        url = self._url(reverse("controller:report_status", args=[config.pk.hex]))
        response = self.page.request.post(url, form={"key": config.key, "status": status})
        self.assertEqual(response.status, 200)

    def _state_cell(self, config):
        row = self.page.locator("#result_list tbody tr").filter(has_text=config.name)
        return row.locator("td.field-sync_state")

    def test_add_a_template_to_selected_configs_and_watch_the_device_catch_up(self):
        template = self._create_template(
            name="mtu-1400", config={"interfaces": [{"name": "eth0", "type": "ethernet", "mtu": 1400}]}
        )
        chosen = self._create_config(name="ap-chosen")
        other = self._create_config(name="ap-other", mac_address="00:11:22:33:44:66", key="6" * 32)
        for config in (chosen, other):
            self._device_get("download_config", config)
            self._device_report(config, "applied")
        opts = self.config_model._meta
        changelist = self._url(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        page = self.page
        page.goto(changelist)
        expect(self._state_cell(chosen)).to_have_text("in sync")
        page.check(f"input.action-select[value='{chosen.pk}']")
        page.locator("select[name='action']").first.select_option("add_template")
        page.locator("button[name='index']").first.click()
        page.select_option("#id_template", str(template.pk))
        page.click("button[value='preview']")
        expect(page.locator("#djnjc-bulk-counts")).to_contain_text("1 configuration selected")
        expect(page.locator("#djnjc-bulk-changes tbody tr")).to_have_count(1)
        expect(page.locator("#djnjc-bulk-changes tbody")).to_contain_text("ap-chosen")
        page.click("#djnjc-bulk-apply")
        expect(page.locator("ul.messagelist")).to_contain_text("1 configuration changed")
        expect(self._state_cell(chosen)).to_have_text("behind (changed, not rendered yet)")
        expect(self._state_cell(other)).to_have_text("in sync")
        self._device_get("download_config", chosen)
        page.reload()
        expect(self._state_cell(chosen)).to_have_text("downloaded, not applied")
        self._device_report(chosen, "applied")
        page.reload()
        expect(self._state_cell(chosen)).to_have_text("in sync")
        self.assertEqual([t.name for t in self.config_model.objects.get(pk=chosen.pk).templates.all()], ["mtu-1400"])
