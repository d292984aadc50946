"""
The admin preview tells the truth: for a saved device it shows exactly the
files (and the checksum) of the archive the device downloads, whatever its
templates (generic, wireless, VPN client with or without a certificate,
variables), with no diff when nothing changed; an unsaved edit adding a VPN
template shows no raw ``{{ ... }}`` placeholders. Also: the rule that the
device name sets the hostname, shown in the preview and on the template form.
"""

import hashlib
import html
import json
import re

from django.test import TestCase
from django.urls import reverse

from django_netjsonconfig.preview import archive_files
from django_netjsonconfig.tests.test_admin import AdminTestMixin
from django_netjsonconfig.tests.test_template import _wifi


def preview_files(response):
    """``[(path, mode, contents)]`` of the files a preview page shows, in order."""
    pattern = (
        r'<div class="djnjc-file">\s*<h3><code class="djnjc-file-path">(.*?)</code>\s*'
        r'<span class="djnjc-file-mode">mode (\d+)</span></h3>\s*<pre class="djnjc-preformatted">(.*?)</pre>'
    )
    return [
        (html.unescape(path), mode, html.unescape(contents))
        for path, mode, contents in re.findall(pattern, response.content.decode(), re.S)
    ]


def preview_checksum(response):
    found = re.search(r'<code class="djnjc-checksum">([0-9a-f]{32})</code>', response.content.decode())
    return found and found.group(1)


def diff_paths(response):
    return re.findall(r'<code class="djnjc-diff-file">(.*?)</code>', response.content.decode())


def notes(response):
    return [
        html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
        for text in re.findall(r'<li class="djnjc-preview-note">(.*?)</li>', response.content.decode(), re.S)
    ]


class PreviewMixin(AdminTestMixin):
    def _preview(self, data):
        response = self.client.post(self._url(self.config_model, "preview"), data)
        self.assertEqual(response.status_code, 200, response.content[:500])
        return response

    def _saved_data(self, config, **overrides):
        """What the change page of ``config`` posts to the preview, unchanged."""
        data = self._config_data(config, **overrides)
        data["id"] = config.pk.hex
        return data

    def _admin_download(self, config):
        response = self.client.get(self._url(self.config_model, "download", config.pk))
        self.assertEqual(response.status_code, 200)
        return response.content

    def _controller_download(self, config):
        url = reverse("controller:download_config", args=[config.pk.hex])
        response = self.client.get(url, {"key": config.key})
        self.assertEqual(response.status_code, 200, response.content)
        return response.content

    def assertPreviewIsTheDownload(self, config):
        config = self.config_model.objects.get(pk=config.pk)
        response = self._preview(self._saved_data(config))
        shown = preview_files(response)
        self.assertTrue(shown)
        for archive in (self._admin_download(config), self._controller_download(config)):
            files = [(file.path, file.mode, file.contents) for file in archive_files(archive)]
            self.assertEqual(shown, files)
            self.assertEqual(preview_checksum(response), hashlib.md5(archive).hexdigest())
        self.assertNotIn("{{", response.content.decode())
        self.assertEqual(diff_paths(response), [])
        self.assertContains(response, "No change on the device")
        return response


class TestPreviewOfASavedDeviceIsItsDownload(PreviewMixin, TestCase):
    def test_without_templates(self):
        self.assertPreviewIsTheDownload(self._create_config(config={"general": {"timezone": "Europe/Rome"}}))

    def test_with_a_generic_template(self):
        template = self._create_template(name="lan")
        self.assertPreviewIsTheDownload(self._create_config(templates=[template]))

    def test_with_a_wireless_template(self):
        template = self._create_template(name="wifi", config=_wifi("office"))
        self.assertPreviewIsTheDownload(self._create_config(templates=[template]))

    def test_with_a_template_using_variables_and_files(self):
        files = [{"path": "/etc/site", "mode": "0600", "contents": "{{ site }} {{ name }} {{ mac_address }}"}]
        template = self._create_template(name="site", config={"files": files}, default_values={"site": "lab"})
        self.assertPreviewIsTheDownload(self._create_config(templates=[template], context={"site": "rome"}))

    def test_with_an_openvpn_client_template(self):
        template = self._create_vpn_template(name="tunnel")
        config = self._create_config(templates=[template])
        response = self.assertPreviewIsTheDownload(config)
        cert = config.vpnclient_set.get().cert
        self.assertIn(cert.certificate, [contents for _path, _mode, contents in preview_files(response)])

    def test_with_an_openvpn_client_template_without_certificate(self):
        template = self._create_vpn_template(name="tunnel", auto_cert=False)
        self.assertPreviewIsTheDownload(self._create_config(templates=[template]))

    def test_with_a_vpn_template_and_a_generic_one(self):
        vpn_template = self._create_vpn_template(name="tunnel")
        wifi = self._create_template(name="wifi", config=_wifi("office"))
        self.assertPreviewIsTheDownload(self._create_config(templates=[wifi, vpn_template]))

    def test_with_the_openwisp_backend_and_a_vpn_template(self):
        vpn = self._create_vpn()
        template = self._create_vpn_template(vpn=vpn, name="tunnel", backend="netjsonconfig.OpenWisp")
        config = self._create_config(backend="netjsonconfig.OpenWisp", templates=[template])
        self.assertPreviewIsTheDownload(config)


class TestPreviewOfAnEditAddingAVpnTemplate(PreviewMixin, TestCase):
    def _assert_no_placeholders(self, response):
        for path, _mode, contents in preview_files(response):
            self.assertNotIn("{{", path)
            self.assertNotIn("{{", contents, path)
        self.assertTrue(any("new client certificate" in note for note in notes(response)), notes(response))

    def test_saved_device_gets_the_vpn_files_it_will_get(self):
        vpn = self._create_vpn()
        template = self._create_vpn_template(vpn=vpn, name="tunnel")
        config = self._create_config()
        response = self._preview(self._saved_data(config, templates=str(template.pk)))
        self._assert_no_placeholders(response)
        paths = [path for path, _mode, _contents in preview_files(response)]
        ca_file = f"/etc/x509/ca-{vpn.ca.pk}-{vpn.ca.common_name}.pem".replace(" ", "_")
        self.assertIn(ca_file, paths)
        self.assertIn(f"/etc/x509/client-{vpn.pk.hex}.pem", paths)
        self.assertIn(vpn.ca.certificate, [contents for _path, _mode, contents in preview_files(response)])
        # nothing is created by a preview
        self.assertFalse(self.vpnclient_model.objects.filter(config=config).exists())

    def test_new_device_with_a_vpn_template(self):
        template = self._create_vpn_template(name="tunnel")
        response = self._preview(self._config_data(templates=str(template.pk)))
        self._assert_no_placeholders(response)
        self.assertEqual(self.cert_model.objects.exclude(pk=template.vpn.cert_id).count(), 0)

    def test_the_device_without_the_edit_shows_no_note(self):
        config = self._create_config(templates=[self._create_vpn_template(name="tunnel")])
        self.assertEqual(notes(self._preview(self._saved_data(config))), [])


class TestTemplateHostnameIsOverridden(PreviewMixin, TestCase):
    """A template's ``general.hostname`` never reaches a device: its own configuration, or else its name, wins."""

    def setUp(self):
        super().setUp()
        self.lab = self._create_template(name="lab", config={"general": {"hostname": "openwrt-lab"}})

    def test_the_device_name_is_the_hostname(self):
        config = self._create_config(name="dev-ssid", templates=[self.lab])
        system = {file.path: file.contents for file in archive_files(self._controller_download(config))}
        self.assertIn("option hostname 'dev-ssid'", system["/etc/config/system"])
        self.assertNotIn("openwrt-lab", system["/etc/config/system"])

    def test_the_preview_says_which_hostname_wins_and_why(self):
        response = self._preview(self._config_data(name="dev-ssid", templates=str(self.lab.pk)))
        self.assertEqual(
            notes(response),
            [
                'Template "lab" sets the hostname "openwrt-lab"; the device gets "dev-ssid": the device\'s name '
                "sets it unless the device's own configuration sets general.hostname."
            ],
        )

    def test_the_device_configuration_may_set_another_hostname(self):
        own = json.dumps({"general": {"hostname": "lobby"}})
        response = self._preview(self._config_data(name="dev-ssid", templates=str(self.lab.pk), config=own))
        self.assertIn("option hostname 'lobby'", "".join(contents for _p, _m, contents in preview_files(response)))
        self.assertIn("the device's own configuration sets it", notes(response)[0])

    def test_no_note_without_a_template_hostname(self):
        template = self._create_template(name="lan")
        self.assertEqual(notes(self._preview(self._config_data(templates=str(template.pk)))), [])

    def test_the_template_form_says_the_rule_and_warns_on_save(self):
        change = self._url(self.template_model, "change", self.lab.pk)
        self.assertContains(self.client.get(change), "each device gets the hostname of its own configuration")
        data = self._form_data(
            self.template_model,
            {"name": "lab", "type": "generic", "backend": self.lab.backend, "config": json.dumps(self.lab.config)},
        )
        response = self.client.post(change, data, follow=True)
        self.assertEqual(response.status_code, 200)
        warnings = [str(message) for message in response.context["messages"] if message.level_tag == "warning"]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn('sets general.hostname ("openwrt-lab")', warnings[0])

    def test_the_template_preview_notes_it(self):
        data = self._form_data(
            self.template_model,
            {"name": "lab", "type": "generic", "backend": self.lab.backend, "config": json.dumps(self.lab.config)},
        )
        response = self.client.post(self._url(self.template_model, "preview"), data)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(notes(response)), 1)
        self.assertIn("does not reach the devices", notes(response)[0])


class TestNameErrorsAreOnTheNameField(PreviewMixin, TestCase):
    def _errors(self, response):
        form = response.context["adminform"].form
        return {field: list(errors) for field, errors in form.errors.items()}

    def _assert_name_error(self, name):
        response = self.client.post(self._url(self.config_model, "add"), self._config_data(name=name))
        self.assertEqual(response.status_code, 200)
        errors = self._errors(response)
        self.assertEqual(list(errors), ["name"], errors)
        self.assertFalse(errors["name"][0].startswith("general.hostname"), errors)
        content = response.content.decode()
        name_row = re.search(r'<div class="form-row[^"]*field-name.*?</div>\s*</div>', content, re.S).group(0)
        self.assertIn('class="errorlist', name_row)
        self.assertFalse(self.config_model.objects.filter(mac_address="00:11:22:33:44:66").exists())
        return errors["name"]

    def test_a_name_that_is_not_a_hostname(self):
        messages = self._assert_name_error("bad name")
        self.assertIn("hostname", messages[0])

    def test_an_empty_name(self):
        self.assertEqual(self._assert_name_error(""), ["This field is required."])

    def test_a_name_too_long_for_a_hostname(self):
        self._assert_name_error("a" * 64)

    def test_a_name_is_free_when_the_configuration_sets_the_hostname(self):
        data = self._config_data(name="bad name", config=json.dumps({"general": {"hostname": "lobby"}}))
        response = self.client.post(self._url(self.config_model, "add"), data)
        self.assertEqual(response.status_code, 302, response.context and self._errors(response))

    def test_the_preview_reports_it_on_the_name(self):
        response = self.client.post(self._url(self.config_model, "preview"), self._config_data(name="bad name"))
        self.assertEqual(response.status_code, 400)
        self.assertTrue(response.content.decode().startswith("The name is the device's hostname: "), response.content)


class TestHardwareIdIsABuiltIn(PreviewMixin, TestCase):
    def test_template_using_it_saves_and_previews_the_device_value(self):
        files = [{"path": "/etc/hwid", "mode": "0644", "contents": "{{ hardware_id }}"}]
        template = self._create_template(name="hwid", config={"files": files})
        config = self._create_config(templates=[template], hardware_id="HW-0042")
        response = self.assertPreviewIsTheDownload(config)
        self.assertIn(("/etc/hwid", "0644", "HW-0042"), preview_files(response))
        page = self.client.get(self._url(self.config_model, "change", config.pk)).content.decode()
        row = re.search(r"<tr><td><code>hardware_id</code></td><td><code>(.*?)</code></td><td>(.*?)</td></tr>", page)
        self.assertEqual(row.groups(), ("HW-0042", "built-in"))

    def test_device_cannot_redefine_it(self):
        response = self.client.post(
            self._url(self.config_model, "add"), self._config_data(context='{"hardware_id": "x"}')
        )
        self.assertContains(response, "variable `hardware_id` is built in and cannot be redefined.")
