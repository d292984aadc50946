"""
Every admin page and view of configs, templates and VPN servers through
Django's test client: who may open them, and what the preview shows (the
rendered files and the diff against what the device has).
"""

import html
import json
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import TestCase
from reversion.models import Version

from django_netjsonconfig.tests.test_admin import AdminTestMixin

OPENVPN = "django_netjsonconfig.vpn_backends.OpenVpn"


def _spans(response, kind):
    """Text of the preview's diff lines of one kind (``add``, ``del``...)."""
    pattern = rf'<span class="djnjc-diff-{kind}">(.*?)</span>'
    return [html.unescape(text) for text in re.findall(pattern, response.content.decode(), re.S)]


def _diff_files(response):
    pattern = r'<code class="djnjc-diff-file">(.*?)</code>'
    return re.findall(pattern, response.content.decode())


class PagesMixin(AdminTestMixin):
    """One config (with a template), one template and one VPN server, with form data for each."""

    def setUp(self):
        super().setUp()
        self.vpn = self._create_vpn()
        self.template = self._create_template(name="lan")
        self.config = self._create_config(templates=[self.template])

    def _objects(self):
        return [(self.config, self._config_data(self.config)), (self.template, self._template_data(self.template))] + [
            (self.vpn, self._vpn_data(self.vpn))
        ]

    def _template_data(self, template, **overrides):
        data = {
            "name": template.name,
            "type": template.type,
            "backend": template.backend,
            "config": json.dumps(template.config),
            **overrides,
        }
        return self._form_data(self.template_model, data)

    def _vpn_data(self, vpn, **overrides):
        data = {
            "name": vpn.name,
            "host": vpn.host,
            "key": vpn.key,
            "include_crl": "on" if vpn.include_crl else "",
            "ca": vpn.ca_id,
            "cert": vpn.cert_id,
            "backend": vpn.backend,
            "notes": "",
            "dh": vpn.dh,
            "config": json.dumps(vpn.config),
            **overrides,
        }
        return self._form_data(self.vpn_model, data)

    def _login_staff(self, *permissions):
        staff = get_user_model().objects.create_user("staff", "staff@example.com", "pass", is_staff=True)
        for model in (self.config_model, self.template_model, self.vpn_model):
            for action in permissions:
                codename = f"{action}_{model._meta.model_name}"
                staff.user_permissions.add(
                    Permission.objects.get(codename=codename, content_type__app_label=model._meta.app_label)
                )
        self.client.force_login(staff)
        return staff


class TestPagesOfASuperuser(PagesMixin, TestCase):
    def test_changelist_add_change_history_and_delete_pages(self):
        for obj, _data in self._objects():
            model = type(obj)
            with self.subTest(model=model._meta.model_name):
                self.assertContains(self.client.get(self._url(model, "changelist")), obj.name)
                self.assertContains(self.client.get(self._url(model, "add")), 'name="_save"')
                change = self.client.get(self._url(model, "change", obj.pk))
                self.assertContains(change, 'name="_save"')
                self.assertContains(change, self._url(model, "download", obj.pk))
                self.assertEqual(change.context["preview_url"], self._url(model, "preview"))
                self.assertEqual(self.client.get(self._url(model, "history", obj.pk)).status_code, 200)
                self.assertContains(
                    self.client.get(self._url(model, "delete", obj.pk)), "Are you sure you want to delete"
                )

    def test_deleting_a_template_lists_its_relationships_with_configs(self):
        response = self.client.get(self._url(self.template_model, "delete", self.template.pk))
        self.assertContains(response, f"Relationship with {self.template.name}")

    def test_change_saves_and_is_listed_in_history(self):
        for obj, data in self._objects():
            model = type(obj)
            with self.subTest(model=model._meta.model_name):
                response = self.client.post(self._url(model, "change", obj.pk), {**data, "name": f"{obj.name}-2"})
                self.assertEqual(response.status_code, 302, getattr(response, "context", None) and response.context)
                self.assertContains(self.client.get(self._url(model, "history", obj.pk)), "Changed")
                self.assertEqual(model.objects.get(pk=obj.pk).name, f"{obj.name}-2")

    def test_deleted_objects_are_recovered_from_their_last_version(self):
        for obj, data in self._objects()[1:]:
            model = type(obj)
            with self.subTest(model=model._meta.model_name):
                self.client.post(self._url(model, "change", obj.pk), data)
                response = self.client.post(self._url(model, "delete", obj.pk), {"post": "yes"})
                self.assertEqual(response.status_code, 302)
                self.assertFalse(model.objects.filter(pk=obj.pk).exists())
                self.assertContains(self.client.get(self._url(model, "recoverlist")), obj.name)
                version = Version.objects.get_deleted(model).get(object_id=str(obj.pk))
                url = self._url(model, "recover", version.pk)
                self.assertEqual(self.client.get(url).status_code, 200)
                self.assertEqual(self.client.post(url, data).status_code, 302)
                self.assertTrue(model.objects.filter(pk=obj.pk, name=obj.name).exists())

    def test_download_of_each_model_is_its_archive(self):
        for obj, _data in self._objects():
            model = type(obj)
            with self.subTest(model=model._meta.model_name):
                response = self.client.get(self._url(model, "download", obj.pk))
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response["Content-Disposition"], f"attachment; filename={obj.name}.tar.gz")
                self.assertEqual(response.content, obj.generate().getvalue())

    def test_download_of_a_missing_object_is_404(self):
        missing = "00000000-0000-0000-0000-000000000000"
        self.assertEqual(self.client.get(self._url(self.config_model, "download", missing)).status_code, 404)

    def test_preview_of_each_model_is_200_on_post_405_on_get_400_on_bad_json(self):
        for obj, data in self._objects():
            model = type(obj)
            url = self._url(model, "preview")
            with self.subTest(model=model._meta.model_name):
                self.assertContains(self.client.post(url, data), 'class="djnjc-file"')
                self.assertEqual(self.client.get(url).status_code, 405)
                response = self.client.post(url, {**data, "config": '{"a": }'})
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response["Content-Type"], "text/plain; charset=utf-8")
                self.assertIn("line 1, column 7", response.content.decode())


class TestPagesOfStaffWithoutPermission(PagesMixin, TestCase):
    def test_every_page_and_view_is_403(self):
        self._login_staff()
        for obj, data in self._objects():
            model = type(obj)
            with self.subTest(model=model._meta.model_name):
                for view, args in [
                    ("changelist", []),
                    ("add", []),
                    ("change", [obj.pk]),
                    ("history", [obj.pk]),
                    ("delete", [obj.pk]),
                    ("download", [obj.pk]),
                    ("recoverlist", []),
                ]:
                    self.assertEqual(self.client.get(self._url(model, view, *args)).status_code, 403, view)
                self.assertEqual(self.client.post(self._url(model, "preview"), data).status_code, 403)
                self.assertEqual(self.client.post(self._url(model, "change", obj.pk), data).status_code, 403)


class TestPagesOfViewOnlyStaff(PagesMixin, TestCase):
    def test_reads_but_cannot_write_or_preview(self):
        self._login_staff("view")
        for obj, data in self._objects():
            model = type(obj)
            with self.subTest(model=model._meta.model_name):
                self.assertContains(self.client.get(self._url(model, "changelist")), obj.name)
                change = self.client.get(self._url(model, "change", obj.pk))
                self.assertEqual(change.status_code, 200)
                self.assertNotContains(change, 'name="_save"')
                self.assertEqual(self.client.get(self._url(model, "history", obj.pk)).status_code, 200)
                self.assertEqual(self.client.get(self._url(model, "download", obj.pk)).status_code, 200)
                self.assertEqual(self.client.get(self._url(model, "add")).status_code, 403)
                self.assertEqual(self.client.get(self._url(model, "delete", obj.pk)).status_code, 403)
                self.assertEqual(self.client.post(self._url(model, "change", obj.pk), data).status_code, 403)
                self.assertEqual(self.client.post(self._url(model, "preview"), data).status_code, 403)
                self.assertTrue(model.objects.filter(pk=obj.pk, name=obj.name).exists())

    def test_change_permission_allows_the_preview(self):
        self._login_staff("view", "change")
        for obj, data in self._objects():
            with self.subTest(model=obj._meta.model_name):
                self.assertEqual(self.client.post(self._url(type(obj), "preview"), data).status_code, 200)


class TestPreviewFilesAndDiff(AdminTestMixin, TestCase):
    def _preview(self, data, model=None):
        response = self.client.post(self._url(model or self.config_model, "preview"), data)
        self.assertEqual(response.status_code, 200, response.content[:300])
        return response

    def _saved_config_data(self, config, **own):
        data = self._config_data(config, config=json.dumps({**config.config, **own}))
        data["id"] = config.pk.hex  # what the change page posts (the UUID field)
        return data

    def test_new_config_shows_each_file_with_path_and_mode_and_no_diff(self):
        files = [{"path": "/etc/secret", "mode": "0600", "contents": "token {{ name }}"}]
        response = self._preview(self._config_data(name="gate", config=json.dumps({"files": files})))
        content = response.content.decode()
        self.assertIn('<code class="djnjc-file-path">/etc/config/system</code>', content)
        self.assertIn('<code class="djnjc-file-path">/etc/secret</code>', content)
        self.assertIn('<span class="djnjc-file-mode">mode 0600</span>', content)
        self.assertIn("token gate", content)
        self.assertNotIn("djnjc-diff", content)

    def test_unchanged_saved_config_says_no_change_on_the_device(self):
        config = self._create_config()
        response = self._preview(self._saved_config_data(config))
        self.assertContains(response, '<div class="djnjc-diff">')
        self.assertContains(response, "No change on the device")
        self.assertEqual(_diff_files(response), [])

    def test_changed_value_shows_the_changed_lines_of_the_changed_file(self):
        config = self._create_config(config={"general": {"timezone": "UTC"}})
        response = self._preview(self._saved_config_data(config, general={"timezone": "Europe/Rome"}))
        self.assertEqual(_diff_files(response), ["/etc/config/system"])
        self.assertIn("+\toption zonename 'Europe/Rome'", _spans(response, "add"))
        self.assertIn("-\toption zonename 'UTC'", _spans(response, "del"))
        self.assertNotContains(response, "No change on the device")

    def test_added_and_removed_files_are_listed(self):
        config = self._create_config(config={"files": [{"path": "/etc/old", "mode": "0644", "contents": "a"}]})
        new_files = [{"path": "/etc/new", "mode": "0600", "contents": "b"}]
        response = self._preview(self._saved_config_data(config, files=new_files))
        self.assertEqual(_diff_files(response), ["/etc/new", "/etc/old"])
        self.assertIn("+b", _spans(response, "add"))
        self.assertIn("-a", _spans(response, "del"))

    def test_a_config_the_device_never_applied_is_compared_with_what_is_served(self):
        config = self._create_config()
        response = self._preview(self._saved_config_data(config))
        self.assertContains(response, "The device has not reported applying any configuration yet")

    def test_diff_is_against_the_archive_the_device_applied(self):
        config = self._create_config(config={"general": {"timezone": "UTC"}})
        applied = config.generate().getvalue()
        self.config_model.objects.filter(pk=config.pk).update(applied_archive=applied)
        config.config = {"general": {"timezone": "Europe/Rome"}}
        config.full_clean()
        config.save()
        # the form equals what is served now, but not what the device applied
        response = self._preview(self._saved_config_data(config))
        self.assertContains(response, "Compared with the configuration the device last applied.")
        self.assertIn("+\toption zonename 'Europe/Rome'", _spans(response, "add"))

    def test_saved_template_is_compared_with_its_saved_version(self):
        template = self._create_template()
        data = self._form_data(
            self.template_model,
            {"id": template.pk.hex, "name": template.name, "type": "generic", "backend": template.backend},
        )
        response = self._preview({**data, "config": json.dumps(template.config)}, self.template_model)
        self.assertContains(response, "Compared with the saved version.")
        self.assertContains(response, "No change from the saved version")
        response = self._preview({**data, "config": json.dumps({})}, self.template_model)
        self.assertEqual(_diff_files(response), ["/etc/config/network"])
