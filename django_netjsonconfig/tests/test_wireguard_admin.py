"""
WireGuard servers through the admin and the registration endpoint, and the
private keys kept out of lists, pages, ``repr`` and logs.
"""

import json
import logging

from django.test import TestCase, override_settings

from django_netjsonconfig.tests.controller_testing import SECRET, ControllerTestMixin
from django_netjsonconfig.tests.test_admin import AdminTestMixin
from django_netjsonconfig.tests.test_admin_preview import PreviewMixin, notes, preview_files
from django_netjsonconfig.tests.test_wireguard import VXLAN, WIREGUARD, WireguardMixin, wg_pubkey

FULL = "The subnet 10.8.0.0/30 of VPN server test-wireguard has no free address."


class RecordingHandler(logging.Handler):
    """Keeps every record, formatted with its arguments."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


class WireguardAdminMixin(WireguardMixin, AdminTestMixin):
    def _vpn_form(self, **overrides):
        data = {
            "name": "office-wg",
            "host": "wg.example.com",
            "ca": "",
            "cert": "",
            "key": "k" * 32,
            "include_crl": "on",
            "backend": WIREGUARD,
            "subnet": "10.8.0.0/24",
            "notes": "",
            "dh": "",
            "config": json.dumps({"wireguard": [{"name": "wg0", "port": 51820}]}),
            **overrides,
        }
        return self._form_data(self.vpn_model, data)


class TestWireguardServerAdmin(WireguardAdminMixin, TestCase):
    def test_server_is_added_through_the_add_form(self):
        response = self.client.post(self._url(self.vpn_model, "add"), self._vpn_form())
        self.assertEqual(response.status_code, 302, response.context and response.context["adminform"].form.errors)
        vpn = self.vpn_model.objects.get(name="office-wg")
        self.assertEqual((vpn.subnet, vpn.ca_id, vpn.cert_id, vpn.dh), ("10.8.0.0/24", None, None, ""))
        self.assertEqual(wg_pubkey(vpn.private_key), vpn.public_key)

    def test_vxlan_server_is_added_through_the_add_form(self):
        config = {"wireguard": [{"name": "wg0", "port": 51820}], "vxlan": [{"name": "vxlan", "vni": ""}]}
        response = self.client.post(
            self._url(self.vpn_model, "add"), self._vpn_form(backend=VXLAN, config=json.dumps(config))
        )
        self.assertEqual(response.status_code, 302)
        self.assertTrue(self.vpn_model.objects.filter(name="office-wg", backend=VXLAN).exists())

    def test_missing_subnet_is_an_error_on_the_field(self):
        response = self.client.post(self._url(self.vpn_model, "add"), self._vpn_form(subnet=""))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["adminform"].form.errors["subnet"], ["This field is required."])
        self.assertFalse(self.vpn_model.objects.exists())

    def test_openvpn_server_without_ca_is_an_error_on_the_field(self):
        data = self._vpn_form(backend="django_netjsonconfig.vpn_backends.OpenVpn", config=json.dumps(self._vpn_config))
        response = self.client.post(self._url(self.vpn_model, "add"), data)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["adminform"].form.errors["ca"], ["This field is required."])

    def test_edit_page_and_list_do_not_show_the_private_key(self):
        vpn, template = self._server()
        (config,) = self._devices(template, 1)
        client = self._vpnclient(config)
        pages = [
            self.client.get(self._url(self.vpn_model, "changelist")),
            self.client.get(self._url(self.vpn_model, "change", vpn.pk)),
            self.client.get(self._url(self.config_model, "changelist")),
            self.client.get(self._url(self.config_model, "change", config.pk)),
        ]
        for response in pages:
            self.assertEqual(response.status_code, 200)
            self.assertNotContains(response, vpn.private_key)
            self.assertNotContains(response, client.private_key)
        self.assertContains(pages[1], 'name="subnet"')

    def test_preview_of_the_server_lists_its_clients(self):
        vpn, template = self._server()
        (config,) = self._devices(template, 1)
        data = self._vpn_form(name=vpn.name, key=vpn.key, config=json.dumps(vpn.config))
        data["id"] = vpn.pk.hex
        response = self.client.post(self._url(self.vpn_model, "preview"), data)
        self.assertEqual(response.status_code, 200, response.content[:300])
        conf = {path: (mode, text) for path, mode, text in preview_files(response)}["/wg0.conf"]
        self.assertEqual(conf[0], "0600")
        self.assertIn(f"PublicKey = {self._vpnclient(config).public_key}", conf[1])

    def test_preview_of_a_new_server_answers(self):
        response = self.client.post(self._url(self.vpn_model, "preview"), self._vpn_form())
        self.assertEqual(response.status_code, 200, response.content[:300])
        self.assertIn(
            "Address = 10.8.0.1/24", {path: text for path, _mode, text in preview_files(response)}["/wg0.conf"]
        )

    def test_saving_the_server_through_the_change_form_keeps_its_keys(self):
        vpn = self._create_wireguard_server()
        data = self._vpn_form(name=vpn.name, key=vpn.key, config=json.dumps(vpn.config), subnet="10.8.0.0/16")
        response = self.client.post(self._url(self.vpn_model, "change", vpn.pk), data)
        self.assertEqual(response.status_code, 302)
        stored = self._reload(vpn)
        self.assertEqual((stored.subnet, stored.private_key), ("10.8.0.0/16", vpn.private_key))


class TestWireguardTemplatesInTheConfigForm(WireguardAdminMixin, PreviewMixin, TestCase):
    def test_template_of_a_full_server_is_an_error_on_the_templates_field(self):
        _vpn, template = self._server(subnet="10.8.0.0/30")
        self._devices(template, 1)
        response = self.client.post(self._url(self.config_model, "add"), self._config_data(templates=str(template.pk)))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["adminform"].form.errors["templates"], [FULL])
        self.assertFalse(self.config_model.objects.filter(name="ap-new").exists())

    def test_config_added_with_the_template_gets_a_client(self):
        vpn, template = self._server()
        response = self.client.post(self._url(self.config_model, "add"), self._config_data(templates=str(template.pk)))
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self._addresses(vpn), {"ap-new": "10.8.0.2"})

    def test_preview_of_an_edit_adding_the_template_shows_no_placeholder(self):
        vpn, template = self._server(backend=VXLAN)
        self._devices(template, 1)
        config = self._create_config()
        response = self._preview(self._saved_data(config, templates=str(template.pk)))
        network = {path: text for path, _mode, text in preview_files(response)}["/etc/config/network"]
        self.assertNotIn("{{", network)
        self.assertIn("10.8.0.3", network)  # the next free address
        self.assertIn(vpn.public_key, network)
        self.assertTrue(any("key pair when the configuration is saved" in note for note in notes(response)))
        self.assertFalse(self.vpnclient_model.objects.filter(config=config).exists())


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestWireguardRegistration(WireguardMixin, ControllerTestMixin, TestCase):
    def _default_template(self, **kwargs):
        vpn, template = self._server(**kwargs)
        template.default = True
        template.full_clean()
        template.save()
        return vpn, template

    def test_registered_device_gets_a_client_of_the_default_template(self):
        vpn, _template = self._default_template()
        response = self._register()
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(self._addresses(vpn), {"ap-lobby": "10.8.0.2"})

    def test_registration_on_a_full_subnet_answers_400_with_the_reason(self):
        _vpn, template = self._default_template(subnet="10.8.0.0/30")
        self._devices(template, 1)
        response = self._register()
        self.assertControllerResponse(response, 400, json.dumps({"templates": [FULL]}, indent=4))
        self.assertFalse(self.config_model.objects.filter(name="ap-lobby").exists())


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestPrivateKeysAreNotShown(WireguardMixin, ControllerTestMixin, TestCase):
    def test_repr_and_str_do_not_show_private_keys(self):
        vpn, template = self._server()
        (config,) = self._devices(template, 1)
        client = self._vpnclient(config)
        for text in (repr(vpn), str(vpn), repr(client), str(client)):
            self.assertNotIn(vpn.private_key, text)
            self.assertNotIn(client.private_key, text)

    def test_no_log_line_holds_a_private_key(self):
        handler = RecordingHandler()
        root = logging.getLogger()
        root.addHandler(handler)
        self.addCleanup(root.removeHandler, handler)
        previous = root.level
        root.setLevel(logging.DEBUG)
        self.addCleanup(root.setLevel, previous)
        vpn, template = self._server(subnet="10.8.0.0/30")
        template.default = True
        template.save()
        self.assertEqual(self._register().status_code, 201)
        config = self.config_model.objects.get(name="ap-lobby")
        self.assertEqual(self._register(name="ap-2", mac_address="00:11:22:33:44:66").status_code, 400)
        self._checksum(config)
        self.assertEqual(self._download(vpn).status_code, 200)
        self.assertEqual(self._download(vpn, key="wrong").status_code, 403)
        client = self._vpnclient(config)
        self.assertTrue(handler.lines)  # the refused requests were logged
        for line in handler.lines:
            self.assertNotIn(vpn.private_key, line)
            self.assertNotIn(client.private_key, line)
