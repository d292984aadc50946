"""
The admin's configuration editor in a real browser: Debian's headless Chromium
driven by Playwright against a live server. Any JavaScript error, failed request
or unexpected HTTP error on the page fails the test.

``DJNJC_SCREENSHOTS=1`` saves the README screenshots under ``docs/images/``.
"""

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from unittest import skipUnless

from django.contrib.auth import get_user_model
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.test import tag
from django.urls import reverse

from django_netjsonconfig.tests import TestMixin

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - playwright is in the test extras
    sync_playwright = None

CHROMIUM = "/usr/bin/chromium"
#: offline-friendly flags (TESTING-NOTES.md): no background connections on the closed network
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"


@tag("browser")
@skipUnless(sync_playwright and os.path.exists(CHROMIUM), f"needs Playwright and Debian's chromium at {CHROMIUM}")
class ChromiumLiveServerTestCase(StaticLiveServerTestCase):
    """A live server and one headless Debian Chromium (``self.browser``) per test class."""

    @classmethod
    def setUpClass(cls):
        # Playwright's sync API runs an event loop in this thread; the ORM calls of
        # the test itself are synchronous and safe
        cls._async_unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        super().setUpClass()
        cls.playwright = sync_playwright().start()
        cls.profile = tempfile.mkdtemp(prefix="djnjc-chromium-")
        cls.browser = cls.playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.playwright.stop()
        shutil.rmtree(cls.profile, ignore_errors=True)
        super().tearDownClass()
        if cls._async_unsafe is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    def open_page(self, **context_options):
        """
        ``self.page``, logged in with ``self.client``'s session. Any JavaScript
        error, failed request or HTTP error (outside ``self.expected_errors``)
        fails the test when it ends.
        """
        self.context = self.browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
        self.context.add_cookies(
            [{"name": "sessionid", "value": self.client.cookies["sessionid"].value, "url": self.live_server_url}]
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)
        self.problems = []
        #: URL fragments whose HTTP errors a test expects (e.g. a preview answering 400)
        self.expected_errors = []
        self.page.on("pageerror", lambda error: self.problems.append(f"JavaScript error: {error}"))
        self.page.on("console", self._on_console)
        self.page.on("requestfailed", self._on_request_failed)
        self.page.on("response", self._on_response)

    def tearDown(self):
        self.context.close()
        self.assertEqual(self.problems, [], "the browser reported errors")

    def _on_console(self, message):
        # HTTP errors are judged by _on_response, which knows the URL
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error: {message.text}")

    def _on_request_failed(self, request):
        if request.failure != "net::ERR_ABORTED" or request.resource_type != "document":
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _on_response(self, response):
        if response.status < 400 or response.url.endswith("/favicon.ico"):
            return
        if not any(fragment in response.url for fragment in self.expected_errors):
            self.problems.append(f"HTTP {response.status}: {response.url}")


class TestEditorInBrowser(TestMixin, ChromiumLiveServerTestCase):
    def setUp(self):
        user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pass")
        self.client.force_login(user)
        for model in (self.config_model, self.template_model, self.vpn_model):
            self._extra_fields(model)  # rows they need exist before the pages load
        self.open_page(accept_downloads=True)

    # helpers

    def _admin_url(self, model, view, *args):
        opts = model._meta
        return self.live_server_url + reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)

    def _open(self, model, view, *args):
        self.page.goto(self._admin_url(model, view, *args))
        self.page.wait_for_selector("#id_config_jsoneditor[data-ready]")

    def _fill_extra_fields(self, model):
        """Selects the values of the fields an extending app adds (e.g. an organization)."""
        for name, value in self._extra_fields(model).items():
            self.page.select_option(f"#id_{name}", str(value.pk))

    def _config_value(self):
        return json.loads(self.page.input_value("#id_config"))

    def _add_interface(self):
        """Turns on the editor's "interfaces" property and adds its first interface."""
        page = self.page
        page.click("text=Configuration Menu")
        page.check("#root-interfaces")
        page.click("text=Configuration Menu")
        page.click("text=Add Interface")

    def _add_wifi_interface(self, ssid):
        page = self.page
        self._add_interface()
        page.select_option("[id='root[interfaces][0]switcher']", "Wireless interface")
        page.fill("[name='root[interfaces][0][name]']", "wlan0")
        page.fill("[name='root[interfaces][0][wireless][radio]']", "radio0")
        page.fill("[name='root[interfaces][0][wireless][ssid]']", ssid)
        page.locator("[name='root[interfaces][0][wireless][ssid]']").blur()
        # the editor reports its changes on the next animation frame
        page.wait_for_function("ssid => document.querySelector('#id_config').value.includes(ssid)", arg=ssid)

    def _submit(self):
        with self.page.expect_navigation():
            self.page.click("input[name='_save']")
        errors = self.page.eval_on_selector_all(
            ".errorlist", "lists => lists.map(list => `${list.closest('.form-row')?.className}: ${list.innerText}`)"
        )
        self.assertEqual(errors, [], "the admin refused the form")
        expect(self.page.locator(".messagelist .success")).to_be_visible()

    def _preview(self):
        self.page.click("input.previewlink >> nth=0")
        overlay = self.page.locator(".djnjc-overlay")
        expect(overlay).to_be_visible()
        expect(overlay.locator(".djnjc-preformatted").first).to_be_visible()
        return overlay

    def _close_preview(self, overlay):
        overlay.locator("a.close").click()
        expect(overlay).to_be_hidden()

    def _screenshot(self, name):
        if os.environ.get("DJNJC_SCREENSHOTS"):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))

    def _wifi_template(self, **kwargs):
        config = {
            "interfaces": [
                {
                    "name": "wlan0",
                    "type": "wireless",
                    "wireless": {"mode": "access_point", "radio": "radio0", "ssid": "wifi-{{ name }}"},
                }
            ]
        }
        return self._create_template(**{"name": "wifi", "config": config, **kwargs})

    # scenarios

    def test_template_through_the_form_editor_and_advanced_mode(self):
        page = self.page
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        self._open(self.template_model, "add")
        # the code editor is loaded only when the advanced mode opens
        self.assertFalse([url for url in requested if "codemirror" in url])
        page.fill("#id_name", "wifi")
        self._fill_extra_fields(self.template_model)
        self._add_wifi_interface("wifi-{{ name }}")
        interface = self._config_value()["interfaces"][0]
        self.assertEqual(
            (interface["type"], interface["name"], interface["wireless"]["ssid"]),
            ("wireless", "wlan0", "wifi-{{ name }}"),
        )
        self._screenshot("form-editor")
        # advanced mode: the same object as raw JSON; edit it and come back
        page.click(".advanced-mode")
        code = page.locator(".djnjc-codeeditor .cm-content")
        expect(code).to_contain_text('"ssid": "wifi-{{ name }}"')
        self.assertEqual(len([url for url in requested if url.endswith("/codemirror.min.js")]), 1)
        self._screenshot("advanced-mode")
        page.click(".fullscreen-mode")
        expect(page.locator(".djnjc-editor.djnjc-fullscreen")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator(".djnjc-editor.djnjc-fullscreen")).to_have_count(0)
        edited = self._config_value()
        edited["interfaces"][0]["wireless"]["ssid"] = "office-{{ name }}"
        edited["general"] = {"timezone": "Europe/Rome"}
        text = json.dumps(edited, indent=4)
        code.click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(text)
        page.click(".normal-mode")
        expect(page.locator(".djnjc-codeeditor")).to_be_hidden()
        expect(page.locator("[name='root[interfaces][0][wireless][ssid]']")).to_have_value("office-{{ name }}")
        expect(page.locator("[name='root[general][timezone]']")).to_have_value("Europe/Rome")
        # nothing lost or reordered by the round trip
        self.assertEqual(page.input_value("#id_config"), text)
        self._submit()
        template = self.template_model.objects.get(name="wifi")
        self.assertEqual(template.config, edited)
        self.assertEqual(list(template.config), list(edited))

    def test_invalid_json_refuses_to_leave_advanced_mode(self):
        page = self.page
        self._open(self.template_model, "add")
        page.click(".advanced-mode")
        page.locator(".djnjc-codeeditor .cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text('{\n    "general": {\n        "timezone": "UTC",\n    }\n}')
        page.click(".normal-mode")
        message = page.locator(".djnjc-editor-message")
        expect(message).to_be_visible()
        expect(message).to_contain_text("line 4")
        expect(page.locator(".djnjc-codeeditor")).to_be_visible()
        # the syntax error is marked in the code editor too
        expect(page.locator(".djnjc-codeeditor :is(.cm-lintRange-error, .cm-lintPoint-error)").first).to_be_attached()

    def test_schema_errors_are_marked_in_advanced_mode(self):
        page = self.page
        self._open(self.template_model, "add")
        page.click(".advanced-mode")
        page.locator(".djnjc-codeeditor .cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(
            '{\n    "interfaces": [\n        {"name": "eth0", "type": "ethernet", "mtu": 12}\n    ]\n}'
        )
        mark = page.locator(".djnjc-codeeditor .cm-lintRange-error").first
        expect(mark).to_have_text("12")
        page.click(".normal-mode")
        expect(page.locator(".djnjc-editor-message")).to_contain_text("interfaces.0")
        expect(page.locator(".djnjc-codeeditor")).to_be_visible()

    def test_invalid_mtu_is_reported_on_its_field(self):
        page = self.page
        self._open(self.template_model, "add")
        page.fill("#id_name", "bad-mtu")
        self._fill_extra_fields(self.template_model)
        self._add_interface()
        page.fill("[name='root[interfaces][0][name]']", "eth0")
        mtu = page.locator("[name='root[interfaces][0][mtu]']")
        mtu.fill("12")
        mtu.blur()
        error = page.locator("[data-schemapath='root.interfaces.0.mtu'] .errmsg")
        expect(error).to_be_visible()
        self.assertLess(len(error.inner_text()), 300)
        # a variable is accepted in the typed field, with a note
        mtu.fill("{{ mtu }}")
        mtu.blur()
        expect(error).to_be_hidden()
        expect(page.locator("[data-schemapath='root.interfaces.0.mtu'] .djnjc-placeholder-note")).to_be_visible()
        page.wait_for_function("() => document.querySelector('#id_config').value.includes('{{ mtu }}')")
        self.assertEqual(self._config_value()["interfaces"][0]["mtu"], "{{ mtu }}")
        # the server refuses the invalid value too
        mtu.fill("12")
        mtu.blur()
        with page.expect_navigation():
            page.click("input[name='_save']")
        expect(page.locator("p.errornote")).to_be_visible()
        self.assertFalse(self.template_model.objects.filter(name="bad-mtu").exists())

    def test_config_with_default_templates_preview_save_and_download(self):
        page = self.page
        default = self._wifi_template(default=True)
        other = self._create_template(name="other-backend", backend="netjsonconfig.OpenWisp", default=True)
        self._open(self.config_model, "add")
        page.fill("#id_name", "ap-lobby")
        page.fill("#id_mac_address", "00:11:22:33:44:55")
        self._fill_extra_fields(self.config_model)
        checkbox = f".sortedm2m-items input[value='{default.pk}']"
        expect(page.locator(checkbox)).to_be_checked()
        expect(page.locator(f".sortedm2m-items input[value='{other.pk}']")).not_to_be_checked()
        # another backend ticks its own defaults instead
        page.select_option("#id_backend", "netjsonconfig.OpenWisp")
        expect(page.locator(checkbox)).not_to_be_checked()
        expect(page.locator(f".sortedm2m-items input[value='{other.pk}']")).to_be_checked()
        page.select_option("#id_backend", "netjsonconfig.OpenWrt")
        expect(page.locator(checkbox)).to_be_checked()
        # preview with ALT+P: the template rendered with the variable resolved
        page.keyboard.press("Alt+p")
        overlay = page.locator(".djnjc-overlay")
        expect(overlay.locator(".djnjc-files")).to_contain_text("option ssid 'wifi-ap-lobby'")
        self._screenshot("preview")
        page.keyboard.press("Escape")
        expect(overlay).to_be_hidden()
        self._submit()
        config = self.config_model.objects.get(name="ap-lobby")
        self.assertEqual(list(config.templates.all()), [default])
        # the change page downloads the archive the controller serves
        page.goto(self._admin_url(self.config_model, "change", config.pk))
        with page.expect_download() as download_info:
            page.click("a.downloadlink")
        archive = Path(download_info.value.path()).read_bytes()
        checksum = page.request.get(
            f"{self.live_server_url}{reverse('controller:checksum', args=[config.pk])}?key={config.key}"
        )
        self.assertEqual(checksum.status, 200)
        self.assertEqual(checksum.text().strip(), hashlib.md5(archive).hexdigest())  # noqa: S324 (protocol checksum)

    def test_touched_template_selection_is_kept_when_the_backend_changes(self):
        page = self.page
        default = self._wifi_template(default=True)
        self._open(self.config_model, "add")
        checkbox = page.locator(f".sortedm2m-items input[value='{default.pk}']")
        expect(checkbox).to_be_checked()
        checkbox.uncheck()
        page.select_option("#id_backend", "netjsonconfig.OpenWisp")
        page.select_option("#id_backend", "netjsonconfig.OpenWrt")
        expect(checkbox).not_to_be_checked()
        self.assertEqual(page.input_value("input[type=hidden][name=templates]"), "")

    def test_preview_of_invalid_input_shows_the_error_in_the_overlay(self):
        page = self.page
        self.expected_errors.append("/preview/")
        self._open(self.config_model, "add")
        page.fill("#id_name", "ap-bad")
        self._fill_extra_fields(self.config_model)
        page.select_option("#id_backend", "")
        page.click("input.previewlink >> nth=0")
        error = page.locator(".djnjc-overlay pre.djnjc-preformatted.error")
        expect(error).to_be_visible()
        self.assertIn("blank", error.inner_text())

    def test_preview_shows_the_diff_against_the_device_archive(self):
        page = self.page
        config = self._create_config(name="ap-diff", config={"general": {"timezone": "UTC"}})
        config.get_cached_checksum()
        self._open(self.config_model, "change", config.pk)
        overlay = self._preview()
        expect(overlay.locator(".djnjc-diff")).to_contain_text("No change on the device")
        self._close_preview(overlay)
        page.click(".advanced-mode")
        page.locator(".djnjc-codeeditor .cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text('{"general": {"timezone": "Europe/Rome"}}')
        page.click(".normal-mode")
        overlay = self._preview()
        diff = overlay.locator(".djnjc-diff")
        expect(diff.locator(".djnjc-diff-file").first).to_contain_text("etc/config/system")
        expect(diff.locator(".djnjc-diff-add").first).to_contain_text("CET-1CEST")
        expect(diff.locator(".djnjc-diff-del").first).to_contain_text("UTC")
        self._screenshot("preview-diff")

    def test_leaving_a_changed_form_asks_for_confirmation(self):
        page = self.page
        config = self._create_config(name="ap-unsaved")
        self._open(self.config_model, "change", config.pk)
        dialogs = []

        def answer(dialog):
            dialogs.append(dialog.type)
            dialog.dismiss()

        page.on("dialog", answer)
        # reformatting the JSON alone is no change
        page.click(".advanced-mode")
        page.locator(".djnjc-codeeditor .cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(json.dumps(config.config, indent=1))
        page.click(".normal-mode")
        page.goto(self.live_server_url + reverse("admin:index"))
        self.assertEqual(dialogs, [])
        self._open(self.config_model, "change", config.pk)
        page.fill("#id_name", "ap-renamed")
        with self.assertRaisesRegex(PlaywrightError, "ERR_ABORTED"):
            # the dismissed warning cancels the navigation
            page.goto(self.live_server_url + reverse("admin:index"))
        self.assertEqual(dialogs, ["beforeunload"])
        self.assertTrue(re.search(r"/change/$", page.url), page.url)

    def test_vpn_fields_only_for_vpn_templates(self):
        page = self.page
        self._open(self.template_model, "add")
        expect(page.locator(".form-row.field-vpn")).to_be_hidden()
        expect(page.locator(".form-row.field-auto_cert")).to_be_hidden()
        page.select_option("#id_type", "vpn")
        expect(page.locator(".form-row.field-vpn")).to_be_visible()
        expect(page.locator(".form-row.field-auto_cert")).to_be_visible()

    def test_vpn_server_from_defaults_and_vpn_client_template(self):
        page = self.page
        ca = self._create_ca()
        self._open(self.vpn_model, "add")
        page.fill("#id_name", "office-vpn")
        page.fill("#id_host", "vpn.example.com")
        page.select_option("#id_ca", str(ca.pk))
        self._fill_extra_fields(self.vpn_model)
        self._submit()
        vpn = self.vpn_model.objects.get(name="office-vpn")
        self.assertEqual(vpn.config["openvpn"][0]["mode"], "server")
        self.assertNotIn("files", vpn.config)
        self._open(self.template_model, "add")
        page.fill("#id_name", "office-vpn-client")
        page.select_option("#id_type", "vpn")
        page.select_option("#id_vpn", str(vpn.pk))
        self._fill_extra_fields(self.template_model)
        overlay = self._preview()
        expect(overlay.locator(".djnjc-files")).to_contain_text("vpn.example.com")
        self._close_preview(overlay)
        self._submit()
        template = self.template_model.objects.get(name="office-vpn-client")
        self.assertEqual(template.vpn, vpn)

    def test_device_variable_in_the_preview_and_saved(self):
        page = self.page
        template = self._create_template(
            name="site",
            config={
                "interfaces": [{"name": "eth0", "type": "ethernet", "mtu": "{{ mtu }}"}],
                "files": [{"path": "/etc/site", "mode": "0644", "contents": "site={{ site }}"}],
            },
            default_values={"mtu": "1500", "site": "unknown"},
        )
        self._open(self.config_model, "add")
        page.fill("#id_name", "ap-variables")
        page.fill("#id_mac_address", "00:11:22:33:44:77")
        self._fill_extra_fields(self.config_model)
        page.check(f".sortedm2m-items input[value='{template.pk}']")
        # the device's variables: a key/value table
        table = page.locator(".field-context .djnjc-variables-editor")
        expect(table).to_have_attribute("data-ready", "true")
        table.locator("button.json-editor-btn-add").first.click()
        page.fill("[name='djnjc_context[0][name]']", "site")
        page.fill("[name='djnjc_context[0][value]']", "lobby")
        page.locator("[name='djnjc_context[0][value]']").blur()
        page.wait_for_function("() => document.querySelector('#id_context').value.includes('lobby')")
        overlay = self._preview()
        files = overlay.locator(".djnjc-files")
        expect(files).to_contain_text("site=lobby")
        expect(files).to_contain_text("option mtu '1500'")
        self._close_preview(overlay)
        self._submit()
        config = self.config_model.objects.get(name="ap-variables")
        self.assertEqual(config.context, {"site": "lobby"})
        # the change page says where each value comes from
        page.goto(self._admin_url(self.config_model, "change", config.pk))
        provenance = page.locator(".djnjc-variables-in-use")
        expect(provenance).to_contain_text("device")
        expect(provenance).to_contain_text('default of template "site"')

    def test_placeholder_is_validated_with_the_default_value(self):
        page = self.page
        self._open(self.template_model, "add")
        page.fill("#id_name", "mtu-variable")
        self._fill_extra_fields(self.template_model)
        table = page.locator(".field-default_values .djnjc-variables-editor")
        expect(table).to_have_attribute("data-ready", "true")
        table.locator("button.json-editor-btn-add").first.click()
        page.fill("[name='djnjc_default_values[0][name]']", "mtu")
        page.fill("[name='djnjc_default_values[0][value]']", "12")
        page.locator("[name='djnjc_default_values[0][value]']").blur()
        self._add_interface()
        page.fill("[name='root[interfaces][0][name]']", "eth0")
        mtu = page.locator("[name='root[interfaces][0][mtu]']")
        mtu.fill("{{ mtu }}")
        mtu.blur()
        # the default value (12) is below the minimum: the same error as the server's
        field = page.locator("[data-schemapath='root.interfaces.0.mtu']")
        expect(field.locator(".errmsg")).to_be_visible()
        expect(field.locator(".djnjc-placeholder-note")).to_contain_text("12")
        page.fill("[name='djnjc_default_values[0][value]']", "1400")
        page.locator("[name='djnjc_default_values[0][value]']").blur()
        mtu.fill("{{mtu}}")
        mtu.blur()
        expect(field.locator(".errmsg")).to_be_hidden()
        self._submit()
        template = self.template_model.objects.get(name="mtu-variable")
        self.assertEqual(template.default_values, {"mtu": "1400"})
        self.assertIn("option mtu '1400'", template.backend_instance.render())
