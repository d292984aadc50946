"""
Admin pages in a real browser (Debian's headless Chromium driven by
Playwright against a live server), for what only a browser can tell: the
fleet list fits a 1366 pixels wide window and shows only failures in red;
the "Clone selected templates" action from the list.
Any JavaScript error, failed request or HTTP error fails the test.
"""

import json
import re

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from django_netjsonconfig import fleet
from django_netjsonconfig.tests import TestMixin
from django_netjsonconfig.tests.test_browser import ChromiumLiveServerTestCase
from django_netjsonconfig.tests.test_editor_browser import EditorTestCase

#: Django's error colour (``--error-fg`` of the light theme)
RED = "rgb(186, 33, 33)"


class TestFleetListInBrowser(TestMixin, ChromiumLiveServerTestCase):
    def setUp(self):
        fleet.forget_seen()
        user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pass")
        self.client.force_login(user)
        self._extra_fields(self.config_model)  # rows they need exist before the pages load
        self.open_page()
        self.page.set_viewport_size({"width": 1366, "height": 768})

    def _fleet(self, count):
        """``count`` configs with long names, addresses, templates and (for some) a VPN certificate."""
        wifi = self._create_template(name="office-wifi-and-guest-network")
        vpn_template = self._create_vpn_template(name="management-tunnel")
        configs = []
        for index in range(count):
            config = self._create_config(
                name=f"ap-building-{index:02d}-floor-{index % 4}-east-wing-meeting-room-{index:02d}",
                mac_address=f"00:11:22:33:44:{index:02X}",
                key=f"{index:02d}" * 16,
                templates=[wifi, vpn_template] if index % 5 == 0 else [wifi],
            )
            self.config_model.objects.filter(pk=config.pk).update(
                last_ip=f"2001:db8:1234:5678:90ab:cdef:1234:{index:04x}",
                downloaded_checksum="0" * 32,
                behind_since=timezone.now(),
            )
            configs.append(config)
        fleet.device_state_model(self.config_model).objects.bulk_create(
            [fleet.device_state_model(self.config_model)(config=config, last_seen=timezone.now()) for config in configs]
        )
        return configs

    def _changelist(self):
        opts = self.config_model._meta
        self.page.goto(self.live_server_url + reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        self.page.wait_for_selector("#result_list")

    def test_the_list_of_20_configs_fits_a_1366_pixels_window(self):
        self._fleet(20)
        self._changelist()
        self.assertEqual(self.page.locator("#result_list tbody tr").count(), 20)
        self.assertLessEqual(self.page.evaluate("document.documentElement.scrollWidth"), 1366)
        # nor a scroll bar of the table's own box
        results = self.page.evaluate(
            "[document.querySelector('#changelist .results').scrollWidth,"
            " document.querySelector('#changelist .results').clientWidth,"
            " document.querySelector('#result_list').getBoundingClientRect().right]"
        )
        self.assertLessEqual(results[0], results[1])
        self.assertLessEqual(results[2], 1366)

    def test_a_pending_change_is_not_red_a_failure_is(self):
        pending, failed, broken = self._fleet(3)
        self.config_model.objects.filter(pk=pending.pk).update(status="modified")
        self.config_model.objects.filter(pk=failed.pk).update(status="error", error_reason="uci commit failed")
        self.config_model.objects.filter(pk=broken.pk).update(status="running", render_error="`tz` undefined")
        self._changelist()

        def colors(config):
            row = self.page.locator("#result_list tbody tr").filter(has_text=config.name)
            spans = row.locator("td.field-status_display span, td.field-sync_state span")
            return [span.evaluate("element => getComputedStyle(element).color") for span in spans.all()]

        self.assertNotIn(RED, colors(pending))
        self.assertIn(RED, colors(failed))
        self.assertIn(RED, colors(broken))


class TestCloneTemplatesInBrowser(EditorTestCase):
    WIFI = {
        "interfaces": [
            {
                "name": "wlan0",
                "type": "wireless",
                "wireless": {"mode": "access_point", "radio": "radio0", "ssid": "lab"},
            }
        ],
        "general": {"timezone": "Europe/Rome"},
    }

    def test_the_clone_action_lists_the_copy_and_opens_the_same_configuration(self):
        page = self.page
        source = self._create_template(name="wifi", config=self.WIFI, default_values={"site": "lobby"})
        self._create_template(name="other")
        opts = self.template_model._meta
        page.goto(self.live_server_url + reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        page.locator(f"#result_list input.action-select[value='{source.pk}']").check()
        actions = page.locator("#changelist-form .actions").first
        actions.locator("select[name='action']").select_option(label="Clone selected templates")
        with page.expect_navigation():
            actions.get_by_role("button", name="Go").click()
        expect(page.locator(".messagelist .success")).to_contain_text("1 template cloned: wifi (copy).")
        names = page.locator("#result_list tbody th a")
        expect(names.filter(has_text="wifi (copy)")).to_have_count(1)
        self.assertEqual(sorted(names.all_inner_texts()), ["other", "wifi", "wifi (copy)"])
        # the copy opens with the same configuration in the editor
        with page.expect_navigation():
            names.filter(has_text="wifi (copy)").click()
        page.wait_for_selector("#id_config_jsoneditor[data-ready]")
        expect(page.locator("#id_name")).to_have_value("wifi (copy)")
        expect(page.get_by_role("textbox", name=re.compile(r"^ssid$", re.I))).to_have_value("lab")
        expect(page.locator("[name='root[interfaces][0][name]']")).to_have_value("wlan0")
        expect(page.locator("[name='root[general][timezone]']")).to_have_value("Europe/Rome")
        self.assertEqual(self._config_value(), self.WIFI)
        page.click(".advanced-mode")
        expect(page.locator(".djnjc-codeeditor .cm-content")).to_contain_text('"ssid": "lab"')
        self.assertEqual(json.loads(page.locator(".djnjc-codeeditor .cm-content").inner_text()), self.WIFI)
