"""The admin pages of configs, templates and VPN servers, through real admin URLs."""

import io
import json
import tarfile

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import TestCase
from django.urls import reverse

from django_netjsonconfig.tests import TestMixin


def _config_form_data(instance=None, **overrides):
    data = {
        "name": "ap-new",
        "backend": "netjsonconfig.OpenWrt",
        "key": "a" * 32,
        "mac_address": "00:11:22:33:44:66",
        "config": json.dumps({"general": {}}),
        "templates": "",
    }
    if instance is not None:
        data.update(
            name=instance.name,
            backend=instance.backend,
            key=instance.key,
            mac_address=instance.mac_address,
            config=json.dumps(instance.config),
            templates=",".join(str(pk) for pk in instance.templates.values_list("pk", flat=True)),
        )
    data.update(overrides)
    return data


class AdminTestMixin(TestMixin):
    def setUp(self):
        self.admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "pass")
        self.client.force_login(self.admin)

    def _form_data(self, model, data):
        """``data`` plus the fields an extending app adds (e.g. an organization)."""
        extra = {name: getattr(value, "pk", value) for name, value in self._extra_fields(model).items()}
        return {**extra, **data}

    def _config_data(self, instance=None, **overrides):
        return self._form_data(self.config_model, _config_form_data(instance, **overrides))

    def _url(self, model, view, *args):
        opts = model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


class TestConfigAdmin(AdminTestMixin, TestCase):
    def test_add_page_preselects_default_backend_and_hides_uuid(self):
        response = self.client.get(self._url(self.config_model, "add"))
        self.assertContains(response, '<option value="netjsonconfig.OpenWrt" selected>', html=False)
        self.assertNotContains(response, "field-id_hex")
        self.assertNotContains(response, "downloadlink")

    def test_add_page_lists_default_templates(self):
        template = self._create_template(default=True)
        response = self.client.get(self._url(self.config_model, "add"))
        self.assertContains(response, str(template.pk))
        self.assertContains(response, 'id="djnjc-default-templates"')

    def test_change_page_shows_uuid_and_download_link(self):
        config = self._create_config()
        response = self.client.get(self._url(self.config_model, "change", config.pk))
        self.assertContains(response, config.pk.hex)
        self.assertContains(response, self._url(self.config_model, "download", config.pk))

    def test_add_config_with_templates_in_order(self):
        first = self._create_template(name="first")
        second = self._create_template(name="second", config={"general": {"timezone": "UTC"}})
        data = self._config_data(templates=f"{second.pk},{first.pk}")
        response = self.client.post(self._url(self.config_model, "add"), data)
        self.assertEqual(response.status_code, 302, getattr(response, "context", None) and response.context["errors"])
        config = self.config_model.objects.get(name="ap-new")
        self.assertEqual(list(config.templates.all()), [second, first])

    def test_template_of_other_backend_is_a_form_error(self):
        template = self._create_template(backend="netjsonconfig.OpenWisp")
        data = self._config_data(templates=str(template.pk))
        response = self.client.post(self._url(self.config_model, "add"), data)
        self.assertEqual(response.status_code, 200)
        self.assertIn("does not match", str(response.context["adminform"].form.errors["templates"]))
        self.assertFalse(self.config_model.objects.filter(name="ap-new").exists())

    def test_submitted_config_is_validated_with_submitted_templates(self):
        template = self._create_template(config={"interfaces": [{"name": "eth0", "type": "ethernet"}]})
        # the submitted config turns the template's list into an object: conflict
        data = self._config_data(templates=str(template.pk), config=json.dumps({"interfaces": {"x": 1}}))
        response = self.client.post(self._url(self.config_model, "add"), data)
        self.assertEqual(response.status_code, 200)
        form = response.context["adminform"].form
        self.assertTrue(form.errors)
        self.assertFalse(self.config_model.objects.filter(name="ap-new").exists())

    def test_saving_unchanged_config_keeps_status_and_vpn_certificate(self):
        vpn_template = self._create_vpn_template()
        config = self._create_config(templates=[vpn_template])
        cert_pk = config.vpnclient_set.get().cert_id
        self.config_model.objects.filter(pk=config.pk).update(status="running")
        config.get_cached_checksum()
        response = self.client.post(self._url(self.config_model, "change", config.pk), self._config_data(config))
        self.assertEqual(response.status_code, 302)
        config.refresh_from_db()
        self.assertEqual(config.status, "running")
        self.assertEqual(config.vpnclient_set.get().cert_id, cert_pk)
        self.assertFalse(self.cert_model.objects.get(pk=cert_pk).revoked)

    def test_editing_config_in_admin_flags_it_modified(self):
        config = self._create_config()
        config.get_cached_checksum()
        self.config_model.objects.filter(pk=config.pk).update(status="running")
        data = self._config_data(config, config=json.dumps({"general": {"timezone": "Europe/Rome"}}))
        self.client.post(self._url(self.config_model, "change", config.pk), data)
        config.refresh_from_db()
        self.assertEqual(config.status, "modified")

    def test_download_serves_the_device_archive(self):
        config = self._create_config()
        response = self.client.get(self._url(self.config_model, "download", config.pk))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Disposition"], "attachment; filename=test.tar.gz")
        self.assertEqual(response.content, config.generate().getvalue())
        config.refresh_from_db()
        self.assertIsNone(config.last_ip)

    def test_download_needs_view_permission(self):
        config = self._create_config()
        staff = get_user_model().objects.create_user("staff", "staff@example.com", "pass", is_staff=True)
        self.client.force_login(staff)
        url = self._url(self.config_model, "download", config.pk)
        self.assertEqual(self.client.get(url).status_code, 403)
        opts = self.config_model._meta
        staff.user_permissions.add(Permission.objects.get(codename=f"view_{opts.model_name}"))
        self.assertEqual(self.client.get(url).status_code, 200)

    def test_preview_renders_templates_variables_and_hostname(self):
        template = self._create_template(
            config={"files": [{"path": "/etc/id", "mode": "0644", "contents": "{{ mac_address }}"}]}
        )
        data = self._config_data(templates=str(template.pk), name="lobby-ap")
        response = self.client.post(self._url(self.config_model, "preview"), data)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "option hostname &#x27;lobby-ap&#x27;")
        self.assertContains(response, "00:11:22:33:44:66")
        self.assertContains(response, 'class="djnjc-preformatted"')

    def test_preview_with_empty_template_list_uses_no_template(self):
        template = self._create_template(config={"general": {"timezone": "Europe/Rome"}})
        config = self._create_config(templates=[template])
        data = self._config_data(config, templates="")
        response = self.client.post(self._url(self.config_model, "preview"), data)
        self.assertNotContains(response, "Europe/Rome")

    def test_preview_answers_schema_errors_with_400_and_a_short_text(self):
        data = self._config_data(config=json.dumps({"interfaces": [{"name": "eth0", "type": "ethernet", "mtu": 9}]}))
        response = self.client.post(self._url(self.config_model, "preview"), data)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.content.decode(), "interfaces[0].mtu: 9 is less than the minimum of 68.")

    def test_preview_rejects_get_and_invalid_input(self):
        url = self._url(self.config_model, "preview")
        self.assertEqual(self.client.get(url).status_code, 405)
        self.assertEqual(self.client.post(url, self._config_data(config="{not json")).status_code, 400)
        self.assertEqual(self.client.post(url, self._config_data(templates="not-a-uuid")).status_code, 400)


class TestTemplateAdmin(AdminTestMixin, TestCase):
    def test_add_template(self):
        data = {
            "name": "lan",
            "type": "generic",
            "backend": "netjsonconfig.OpenWrt",
            "config": json.dumps({"interfaces": [{"name": "eth0", "type": "ethernet"}]}),
        }
        response = self.client.post(self._url(self.template_model, "add"), self._form_data(self.template_model, data))
        self.assertEqual(response.status_code, 302)
        self.assertTrue(self.template_model.objects.filter(name="lan").exists())

    def test_vpn_template_without_vpn_is_a_form_error(self):
        data = {"name": "vpn", "type": "vpn", "backend": "netjsonconfig.OpenWrt", "config": "{}"}
        response = self.client.post(self._url(self.template_model, "add"), self._form_data(self.template_model, data))
        self.assertEqual(response.status_code, 200)
        self.assertIn("vpn", response.context["adminform"].form.errors)

    def test_template_download_contains_the_template_alone(self):
        template = self._create_template()
        response = self.client.get(self._url(self.template_model, "download", template.pk))
        with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as archive:
            network = archive.extractfile("etc/config/network").read().decode()
        self.assertIn("eth0", network)


class TestVpnAdmin(AdminTestMixin, TestCase):
    def test_add_page_preselects_default_vpn_backend(self):
        response = self.client.get(self._url(self.vpn_model, "add"))
        self.assertContains(response, '<option value="django_netjsonconfig.vpn_backends.OpenVpn" selected>')

    def test_vpn_preview_resolves_server_files(self):
        vpn = self._create_vpn()
        data = {
            "name": vpn.name,
            "host": vpn.host,
            "ca": vpn.ca_id,
            "cert": vpn.cert_id,
            "backend": vpn.backend,
            "dh": vpn.dh,
            "config": json.dumps({**vpn.config, "files": [{"path": "ca.pem", "mode": "0644", "contents": "{{ ca }}"}]}),
        }
        response = self.client.post(self._url(self.vpn_model, "preview"), self._form_data(self.vpn_model, data))
        self.assertContains(response, vpn.ca.certificate.splitlines()[1])
