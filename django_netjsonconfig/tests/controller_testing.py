"""Helpers of the controller tests: device-style requests, the shared checksum invalidation cases."""

import hashlib
from urllib.parse import urlencode

from django.test import override_settings
from django.urls import reverse

from django_netjsonconfig.tests import TestMixin, installed_config_model, installed_controller_views

Config = installed_config_model()
views = installed_controller_views()

SECRET = "s3cr3t-Shared"
HEADER = "X-Openwisp-Controller"
MAC = "00:11:22:33:44:55"
FORM = "application/x-www-form-urlencoded"


def consistent_key(base, secret=SECRET):
    """The key today's agent derives: md5("<MAC or hardware id>+<secret>")."""
    return hashlib.md5(f"{base}+{secret}".encode()).hexdigest()


class ControllerTestMixin(TestMixin):
    """Device-style requests and assertions on controller answers."""

    def _url(self, name, config=None, pk=None):
        if name == "register":
            return reverse("controller:register")
        return reverse(f"controller:{name}", args=[pk if pk is not None else config.pk.hex])

    def _get(self, name, config, **params):
        return self.client.get(self._url(name, config), params)

    def _post(self, url, data, client=None):
        """POSTs ``data`` url-encoded as the agents do (a str or bytes body is sent raw)."""
        body = data if isinstance(data, (str, bytes)) else urlencode(data)
        return (client or self.client).post(url, body, content_type=FORM)

    def _report(self, config, **fields):
        return self._post(self._url("report_status", config), {"key": config.key, **fields})

    def _register(self, **fields):
        data = {"secret": SECRET, "name": "ap-lobby", "mac_address": MAC, "backend": "netjsonconfig.OpenWrt"}
        data.update(fields)
        return self._post(self._url("register"), {key: value for key, value in data.items() if value is not None})

    def _checksum(self, config):
        response = self._get("checksum", config, key=config.key)
        self.assertEqual(response.status_code, 200, response.content)
        return response.content.decode()

    def _snapshot(self):
        return list(self.config_model.objects.order_by("pk").values())

    def assertControllerResponse(self, response, status, body, content_type="text/plain"):
        self.assertEqual(response.status_code, status, response.content)
        self.assertEqual(response[HEADER], "true")
        self.assertEqual(response["Content-Type"], content_type)
        self.assertEqual(response.content, body.encode() if isinstance(body, str) else body)

    def assertDjango404(self, response):
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(HEADER, response)


class ChecksumInvalidationTests(ControllerTestMixin):
    """
    The checksum devices poll changes exactly when the rendered output changes
    (also run by ``test_memory`` with polls answered from memory).
    """

    def _template(self, name, mtu):
        return self._create_template(
            name=name, config={"interfaces": [{"name": "eth0", "type": "ethernet", "mtu": mtu}]}
        )

    def test_config_edit_changes_checksum_and_flags_modified(self):
        config = self._create_config()
        self._report(config, status="running")
        before = self._checksum(config)
        config.config = {"general": {}, "interfaces": [{"name": "eth1", "type": "ethernet"}]}
        config.full_clean()
        config.save()
        self.assertNotEqual(self._checksum(config), before)
        self.assertEqual(self.config_model.objects.get(pk=config.pk).status, "modified")

    def test_template_edit_changes_checksum(self):
        config = self._create_config()
        template = self._template("t1", 1400)
        config.templates.add(template)
        before = self._checksum(config)
        template.config = {"interfaces": [{"name": "eth0", "type": "ethernet", "mtu": 1500}]}
        template.full_clean()
        template.save()
        self.assertNotEqual(self._checksum(config), before)

    def test_adding_a_template_changes_checksum(self):
        config = self._create_config()
        before = self._checksum(config)
        config.templates.add(self._template("t1", 1400))
        self.assertNotEqual(self._checksum(config), before)

    def test_removing_a_template_changes_checksum(self):
        config = self._create_config()
        template = self._template("t1", 1400)
        config.templates.add(template)
        before = self._checksum(config)
        config.templates.remove(template)
        self.assertNotEqual(self._checksum(config), before)

    def test_reordering_templates_changes_checksum(self):
        config = self._create_config()
        first, second = self._template("t1", 1400), self._template("t2", 1500)
        config.templates.set([first, second])
        before = self._checksum(config)
        config.templates.set([second, first])
        self.assertNotEqual(self._checksum(config), before)

    def test_context_setting_change_changes_checksum(self):
        files = [{"path": "/etc/site", "mode": "0644", "contents": "{{ site }}"}]
        with override_settings(NETJSONCONFIG_CONTEXT={"site": "rome"}):
            # a configuration using an undefined variable is refused: define it first
            config = self._create_config(config={"general": {}, "files": files})
            before = self._checksum(config)
        with override_settings(NETJSONCONFIG_CONTEXT={"site": "milan"}):
            self.assertNotEqual(self._checksum(config), before)

    def test_renewed_vpn_client_certificate_changes_checksum(self):
        config = self._create_config()
        config.templates.add(self._create_vpn_template())
        before = self._checksum(config)
        self.vpnclient_model.objects.get(config=config).cert.renew()
        self.assertNotEqual(self._checksum(config), before)

    def test_deleted_config_is_404(self):
        config = self._create_config()
        self._checksum(config)
        url, key = self._url("checksum", config), config.key
        config.delete()
        self.assertDjango404(self.client.get(url, {"key": key}))

    def test_changed_key_is_required_at_once(self):
        config = self._create_config()
        old_key = config.key
        self._checksum(config)
        config.key = "f" * 32
        config.full_clean()
        config.save()
        self.assertEqual(self._get("checksum", config, key=old_key).status_code, 403)
        self._checksum(config)

    def test_no_op_re_save_keeps_checksum_and_status(self):
        config = self._create_config()
        config.templates.add(self._template("t1", 1400))
        before = self._checksum(config)
        self._report(config, status="running")
        config = self.config_model.objects.get(pk=config.pk)
        config.full_clean()
        config.save()
        config.templates.set(list(config.templates.all()))
        self.assertEqual(self._checksum(config), before)
        self.assertEqual(self.config_model.objects.get(pk=config.pk).status, "running")
