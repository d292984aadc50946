"""
The configuration editor's rough edges, in a real browser (Debian's headless
Chromium driven by Playwright against a live server): menus not clipped by the
admin's layout, errors the operator can see. Any JavaScript error, failed
request or HTTP error fails the test.
"""

import re

from django.urls import reverse
from playwright.sync_api import expect

from django_netjsonconfig.preview import archive_files
from django_netjsonconfig.tests import TestMixin, test_browser
from django_netjsonconfig.tests.test_browser import ChromiumLiveServerTestCase

#: the rectangles of ``element`` and of each ancestor that clips its content (overflow other than visible)
CLIPPING = """element => {
    const box = element.getBoundingClientRect()
    const clipped = []
    for (let node = element.parentElement; node; node = node.parentElement) {
        const style = getComputedStyle(node)
        if (style.overflowX === 'visible' && style.overflowY === 'visible') continue
        const rect = node.getBoundingClientRect()
        if (node === document.documentElement || node === document.body) continue
        if (box.top < rect.top - 1 || box.bottom > rect.bottom + 1 || box.left < rect.left - 1 || box.right > rect.right + 1) {
            clipped.push(`${node.tagName}.${node.className}`)
        }
    }
    return clipped
}"""


class EditorTestCase(TestMixin, ChromiumLiveServerTestCase):
    """A logged-in superuser's page, with the helpers of the editor's scenarios."""

    setUp = test_browser.TestEditorInBrowser.setUp
    _admin_url = test_browser.TestEditorInBrowser._admin_url
    _open = test_browser.TestEditorInBrowser._open
    _fill_extra_fields = test_browser.TestEditorInBrowser._fill_extra_fields
    _config_value = test_browser.TestEditorInBrowser._config_value
    _submit = test_browser.TestEditorInBrowser._submit


class TestConfigurationMenu(EditorTestCase):
    def test_menu_of_an_empty_configuration_is_not_clipped(self):
        page = self.page
        self._open(self.config_model, "add")
        self.assertEqual(self._config_value(), {})
        page.get_by_role("button", name="Configuration Menu").click()
        menu = page.locator("#id_config_jsoneditor .je-modal:has(.property-selector)").first
        expect(menu).to_be_visible()
        # nothing of the menu is cut off by an ancestor (Django's .form-row{overflow:hidden})
        self.assertEqual(menu.evaluate(CLIPPING), [])
        name_box = menu.locator(".property-selector-input")
        expect(name_box).to_be_visible()
        self.assertEqual(name_box.evaluate(CLIPPING), [])
        # every section can be clicked where it is shown
        boxes = menu.locator(".property-selector input[type=checkbox]")
        self.assertGreater(boxes.count(), 10)
        for box in boxes.all():
            box.scroll_into_view_if_needed()
            self.assertEqual(box.evaluate(CLIPPING)[1:], [], box.get_attribute("id"))
        menu.get_by_label("NTP Settings").check()
        expect(page.locator("[data-schemapath='root.ntp']")).to_be_visible()


class TestMalformedJsonAndTopSave(EditorTestCase):
    def test_the_reason_is_shown_where_the_operator_is(self):
        page = self.page
        self._open(self.template_model, "add")
        page.fill("#id_name", "broken")
        self._fill_extra_fields(self.template_model)
        page.click(".advanced-mode")
        page.locator(".djnjc-codeeditor .cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text('{"general": {"timezone": "UTC",}}')
        # a short window: the JSON field is well below the top submit row
        page.set_viewport_size({"width": 1366, "height": 400})
        page.evaluate("window.scrollTo(0, 0)")
        url = page.url
        top_save = page.locator("input[name='_save']").first
        expect(top_save).to_be_in_viewport()
        expect(page.locator(".djnjc-codeeditor")).not_to_be_in_viewport()
        top_save.click()
        message = page.locator(".djnjc-editor-message")
        expect(message).to_be_visible()
        # next to the JSON field: in the configuration field's own row
        self.assertTrue(
            message.evaluate("m => m.closest('.form-row').contains(document.querySelector('.djnjc-codeeditor'))")
        )
        expect(message).to_contain_text("not valid")
        expect(message).to_be_in_viewport()
        expect(message).to_be_focused()
        self.assertEqual(page.url, url)
        self.assertFalse(self.template_model.objects.filter(name="broken").exists())


#: Django's error colour (``--error-fg`` of the light theme)
RED = "rgb(186, 33, 33)"


#: the visible texts of the form editor shown in red (json-editor's field errors and its
#: "must validate against exactly one of the provided schemas" above a section)
RED_TEXTS = """holder => [...holder.querySelectorAll('*')]
    .filter(element => element.checkVisibility({ visibilityProperty: true, opacityProperty: true }) && [...element.childNodes].some(node => node.nodeType === 3 && node.textContent.trim()))
    .filter(element => {
        const [r, g, b] = getComputedStyle(element).color.match(/\\d+/g).map(Number)
        return r > 150 && g < 110 && b < 110
    })
    .map(element => element.textContent.trim())"""


class TestNoFalseErrors(EditorTestCase):
    def _errors(self):
        texts = self.page.locator(".djnjc-jsoneditor").evaluate(RED_TEXTS)
        self.assertEqual(self.page.get_by_text("of the schemas").filter(visible=True).count(), 0, texts)
        return [text for text in texts if text]

    def test_a_new_interface_or_radio_shows_no_error_until_edited(self):
        page = self.page
        self._open(self.config_model, "add")
        page.get_by_role("button", name="Configuration Menu").click()
        page.check("#root-interfaces")
        page.check("#root-radios")
        page.get_by_role("button", name="Configuration Menu").click()
        page.click("text=Add Interface")
        page.click("text=Add Radio")
        expect(page.locator("[data-schemapath='root.radios.0']").first).to_be_visible()
        page.wait_for_function("() => document.querySelector('#id_config').value.includes('radios')")
        self.assertEqual(self._errors(), [])
        # an edited field still says what is wrong with it
        mtu = page.locator("[name='root[interfaces][0][mtu]']")
        mtu.fill("12")
        mtu.blur()
        expect(page.locator("[data-schemapath='root.interfaces.0.mtu'] .errmsg")).to_be_visible()
        self.assertNotIn("schemas", " ".join(self._errors()))

    def test_an_untouched_vpn_server_shows_no_error(self):
        self._open(self.vpn_model, "add")
        self.assertEqual(self._errors(), [])
        vpn = self._create_vpn()
        self._open(self.vpn_model, "change", vpn.pk)
        self.assertEqual(self._errors(), [])

    def test_a_vpn_server_added_through_the_admin_shows_no_error(self):
        page = self.page
        ca = self._create_ca()
        self._open(self.vpn_model, "add")
        # the form opens on the default routed server
        expect(page.locator("[name='root[openvpn][0][server]']")).to_have_value("10.8.0.0 255.255.255.0")
        self.assertEqual(self._errors(), [])
        page.fill("#id_name", "office-vpn")
        page.fill("#id_host", "vpn.example.com")
        page.select_option("#id_ca", str(ca.pk))
        self._fill_extra_fields(self.vpn_model)
        with page.expect_navigation():
            page.click("input[name='_continue']")
        page.wait_for_selector("#id_config_jsoneditor[data-ready]")
        vpn = self.vpn_model.objects.get(name="office-vpn")
        self.assertEqual(vpn.config["openvpn"][0]["server"], "10.8.0.0 255.255.255.0")
        expect(page.locator(".messagelist .success")).to_be_visible()
        self.assertEqual(self._errors(), [])
        # the change page of the saved server, opened afresh
        self._open(self.vpn_model, "change", vpn.pk)
        expect(page.locator("[name='root[openvpn][0][server]']")).to_have_value("10.8.0.0 255.255.255.0")
        self.assertEqual(self._errors(), [])

    def test_an_empty_variable_row_is_no_error_and_a_bad_name_no_regex(self):
        page = self.page
        self._open(self.config_model, "add")
        table = page.locator(".field-context .djnjc-variables-editor")
        expect(table).to_have_attribute("data-ready", "true")
        table.locator("button.json-editor-btn-add").first.click()
        name = page.locator("[name='djnjc_context[0][name]']")
        name.fill("")
        name.blur()
        self.assertEqual([t for t in table.locator(".errmsg:visible").all_inner_texts() if t], [])
        name.fill("1st")
        name.blur()
        error = table.locator(".errmsg:visible").first
        expect(error).to_contain_text("letters, digits and underscores")
        self.assertNotIn("^", error.inner_text())

    def test_a_server_error_does_not_turn_every_input_red(self):
        page = self.page
        self._open(self.config_model, "add")
        page.fill("#id_name", "ap-undefined")
        self._fill_extra_fields(self.config_model)
        page.click(".advanced-mode")
        page.locator(".djnjc-codeeditor .cm-content").click()
        page.keyboard.press("Control+a")
        # valid for the form, refused by the server (a variable without a value)
        page.keyboard.insert_text('{"general": {"description": "{{ nowhere }}", "maintainer": "ops"}}')
        page.click(".normal-mode")
        expect(page.locator(".djnjc-codeeditor")).to_be_hidden()
        with page.expect_navigation():
            page.locator("input[name='_save']").last.click()
        expect(page.locator(".form-row.field-config.errors")).to_be_visible()
        maintainer = page.locator("[name='root[general][maintainer]']")
        expect(maintainer).to_be_visible()
        self.assertNotEqual(maintainer.evaluate("e => getComputedStyle(e).borderTopColor"), RED)


class TestServerRejection(EditorTestCase):
    def test_a_refused_form_comes_back_in_advanced_mode(self):
        page = self.page
        self._open(self.template_model, "add")
        page.fill("#id_name", "bad-timezone")
        self._fill_extra_fields(self.template_model)
        page.click(".advanced-mode")
        page.locator(".djnjc-codeeditor .cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text('{"general": {"timezone": "Mars/Olympus"}}')
        with page.expect_navigation():
            page.locator("input[name='_save']").last.click()
        expect(page.locator("p.errornote")).to_be_visible()
        page.wait_for_selector("#id_config_jsoneditor[data-ready]", state="attached")
        code = page.locator(".djnjc-codeeditor .cm-content")
        expect(code).to_be_visible()
        expect(code).to_contain_text("Mars/Olympus")
        expect(page.locator("[name='root[general][timezone]']")).to_be_hidden()
        self.assertEqual(self._config_value(), {"general": {"timezone": "Mars/Olympus"}})
        # a form page opened afterwards starts in form mode again
        self._open(self.template_model, "add")
        expect(page.locator(".djnjc-codeeditor")).to_be_hidden()


class TestPreviewDialog(EditorTestCase):
    def test_the_preview_is_a_modal_dialog(self):
        page = self.page
        self._open(self.config_model, "add")
        page.fill("#id_name", "ap-dialog")
        self._fill_extra_fields(self.config_model)
        opener = page.locator("input.previewlink").first
        opener.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Preview")
        expect(dialog).to_be_visible()
        expect(dialog.locator(".djnjc-files")).to_be_visible()
        self.assertEqual(dialog.evaluate("e => e.matches(':modal')"), True)
        expect(dialog.locator("a.close")).to_be_focused()
        # the focus stays in the dialog
        for _ in range(6):
            page.keyboard.press("Tab")
            self.assertTrue(
                page.evaluate("() => document.querySelector('.djnjc-overlay').contains(document.activeElement)")
            )
        page.keyboard.press("Shift+Tab")
        self.assertTrue(
            page.evaluate("() => document.querySelector('.djnjc-overlay').contains(document.activeElement)")
        )
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(opener).to_be_focused()
        # the close link returns the focus too
        opener.click()
        expect(dialog).to_be_visible()
        dialog.locator("a.close").click()
        expect(dialog).to_be_hidden()
        expect(opener).to_be_focused()


#: the fields of the form editor without an accessible name (label, aria-label, title)
UNNAMED = """holder => [...holder.querySelectorAll('input, select, textarea')]
    .filter(control => control.type !== 'hidden')
    .filter(control => !(control.getAttribute('aria-label') || control.getAttribute('aria-labelledby') || control.title
        || control.closest('label')
        || (control.id && document.getElementById(control.id) === control
            && document.querySelector(`label[for="${CSS.escape(control.id)}"]`))))
    .map(control => control.name || control.id || control.outerHTML.slice(0, 80))"""


class TestAccessibleNames(EditorTestCase):
    def test_every_field_of_a_wireless_template_has_a_name(self):
        template = self._create_template(
            name="wifi",
            config={
                "interfaces": [
                    {
                        "name": "wlan0",
                        "type": "wireless",
                        "wireless": {"mode": "access_point", "radio": "radio0", "ssid": "lab"},
                    }
                ]
            },
        )
        self._open(self.template_model, "change", template.pk)
        holder = self.page.locator("#id_config_jsoneditor")
        self.assertEqual(holder.evaluate(UNNAMED), [])
        duplicates = self.page.evaluate(
            "() => { const seen = {}; document.querySelectorAll('#id_config_jsoneditor [id]')"
            ".forEach(e => { seen[e.id] = (seen[e.id] || 0) + 1 }); return Object.keys(seen).filter(id => seen[id] > 1) }"
        )
        self.assertEqual(duplicates, [])
        expect(self.page.get_by_role("textbox", name=re.compile(r"^ssid$", re.I))).to_have_value("lab")


class TestNoDefaultsWritten(EditorTestCase):
    def test_opening_general_writes_no_timezone(self):
        page = self.page
        template = self._create_template(name="rome", config={"general": {"timezone": "Europe/Rome"}})
        self._open(self.config_model, "add")
        page.fill("#id_name", "ap-rome")
        self._fill_extra_fields(self.config_model)
        page.check(f".sortedm2m-items input[value='{template.pk}']")
        page.get_by_role("button", name="Configuration Menu").click()
        page.check("#root-general")
        page.check("#root-interfaces")
        page.get_by_role("button", name="Configuration Menu").click()
        page.click("text=Add Interface")
        # General opens with its hostname only: show its timezone and description too
        general = page.locator("[data-schemapath='root.general']")
        general_menu = general.get_by_role("button", name=re.compile("Properties")).first
        general_menu.click()
        page.check("[id='root.general-timezone']")
        page.check("[id='root.general-description']")
        general_menu.click()
        expect(page.locator("[name='root[general][timezone]']")).to_be_visible()
        description = page.locator("[name='root[general][description]']")
        description.fill("lobby")
        description.blur()
        page.wait_for_function("() => document.querySelector('#id_config').value.includes('lobby')")
        value = self._config_value()
        self.assertEqual(value["general"], {"description": "lobby"})
        self.assertEqual(value["interfaces"], [{"type": "ethernet", "name": ""}])

    def test_saving_after_opening_general_keeps_the_template_timezone(self):
        page = self.page
        template = self._create_template(name="rome", config={"general": {"timezone": "Europe/Rome"}})
        config = self._create_config(name="ap-rome", config={"interfaces": []}, templates=[template])
        self._open(self.config_model, "change", config.pk)
        page.get_by_role("button", name="Configuration Menu").click()
        page.check("#root-general")
        page.get_by_role("button", name="Configuration Menu").click()
        expect(page.locator("[data-schemapath='root.general']")).to_be_visible()
        page.locator("[data-schemapath='root.general'] input, [data-schemapath='root.general'] select").first.focus()
        self.assertNotIn("timezone", self._config_value().get("general", {}))
        self._submit()
        config.refresh_from_db()
        self.assertNotIn("timezone", config.config.get("general", {}))
        response = page.request.get(
            f"{self.live_server_url}{reverse('controller:download_config', args=[config.pk.hex])}?key={config.key}"
        )
        self.assertEqual(response.status, 200)
        system = {file.path: file.contents for file in archive_files(response.body())}["/etc/config/system"]
        self.assertIn("option zonename 'Europe/Rome'", system)
        self.assertNotIn("'UTC'", system)

    def test_a_value_the_form_cannot_show_is_kept(self):
        page = self.page
        config = self._create_config(name="ap-mars", config={"general": {"description": "a"}})
        self.config_model.objects.filter(pk=config.pk).update(
            config={"general": {"description": "a", "timezone": "Mars/Olympus"}}
        )
        self._open(self.config_model, "change", config.pk)
        description = page.locator("[name='root[general][description]']")
        description.fill("b")
        description.blur()
        page.wait_for_function("() => document.querySelector('#id_config').value.includes('\"b\"')")
        self.assertEqual(self._config_value(), {"general": {"description": "b", "timezone": "Mars/Olympus"}})


class TestStoredValueOutsideTheChoices(EditorTestCase):
    """A stored timezone the form's list does not hold (saved before, or through advanced mode)."""

    def test_the_form_shows_the_stored_timezone_with_an_error_not_utc(self):
        page = self.page
        config = self._create_config(name="ap-mars", config={"general": {"description": "a"}})
        stored = {"general": {"description": "a", "timezone": "Mars/Olympus"}}
        self.config_model.objects.filter(pk=config.pk).update(config=stored)
        self._open(self.config_model, "change", config.pk)
        timezone = page.locator("[name='root[general][timezone]']")
        expect(timezone).to_be_visible()
        shown = timezone.evaluate("select => select.selectedOptions[0] && select.selectedOptions[0].textContent")
        self.assertIn("Mars/Olympus", shown)
        self.assertNotIn("UTC", shown)
        # the field says what is wrong, before any edit
        error = page.locator("[data-schemapath='root.general.timezone'] .errmsg")
        expect(error).to_be_visible()
        expect(error).to_contain_text("Mars/Olympus")
        self.assertEqual(self._config_value(), stored)
        # choosing a timezone of the list writes it and clears the error
        timezone.select_option("Europe/Rome")
        page.wait_for_function("() => document.querySelector('#id_config').value.includes('Europe/Rome')")
        expect(error).to_be_hidden()
        self.assertEqual(self._config_value(), {"general": {"description": "a", "timezone": "Europe/Rome"}})
        self._submit()
        config.refresh_from_db()
        self.assertEqual(config.config["general"]["timezone"], "Europe/Rome")


class TestFirstView(EditorTestCase):
    """A new operator adding a configuration finds the form where 0.5.6 had it."""

    def test_add_page_opens_on_general_with_the_hostname_field(self):
        page = self.page
        self._open(self.config_model, "add")
        page.select_option("#id_backend", "netjsonconfig.OpenWrt")
        page.wait_for_selector("#id_config_jsoneditor[data-ready]")
        general = page.locator("[data-schemapath='root.general']")
        expect(general).to_be_visible()
        expect(general.get_by_text("General", exact=True).first).to_be_visible()
        expect(page.get_by_role("button", name="Configuration Menu")).to_be_visible()
        # what a screen reader finds: the field, not the (hidden) menu's checkbox nor a type switcher
        hostname = page.get_by_label("hostname").filter(visible=True)
        expect(hostname).to_be_visible()
        self.assertEqual(hostname.evaluate("e => [e.tagName, e.type]"), ["INPUT", "text"])
        self.assertEqual(self._config_value(), {})  # opening General wrote nothing
        page.get_by_role("button", name="Configuration Menu").click()
        for section in ("Interfaces", "Radios"):
            expect(page.locator(".property-selector").get_by_label(section, exact=True)).to_be_visible()
        page.get_by_role("button", name="Configuration Menu").click()
        page.fill("#id_name", "edge-1")
        page.fill("#id_mac_address", "00:11:22:33:44:66")
        self._fill_extra_fields(self.config_model)
        hostname.fill("edge-router")
        hostname.blur()
        page.wait_for_function("() => document.querySelector('#id_config').value.includes('edge-router')")
        self._submit()
        config = self.config_model.objects.get(name="edge-1")
        self.assertEqual(config.config, {"general": {"hostname": "edge-router"}})
