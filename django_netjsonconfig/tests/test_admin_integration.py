"""
Admin integration points that 0.12 users rely on, through real admin URLs:
``{{ hardware_id }}`` as a built-in variable of templates, configurations
and their downloads; a change URL with an unknown or malformed id answers
404 (Django's default is a redirect with a message); the "Clone selected
templates" action.
"""

import json
import re
import uuid

from django.contrib.admin import helpers
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import TestCase
from reversion.models import Version

from django_netjsonconfig.preview import archive_files
from django_netjsonconfig.tests.test_admin_pages import PagesMixin
from django_netjsonconfig.tests.test_admin_preview import PreviewMixin

HWID_FILE = [{"path": "/etc/hwid", "mode": "0644", "contents": "hw={{ hardware_id }}"}]


class TestHardwareIdVariable(PreviewMixin, TestCase):
    def _add_template(self, **overrides):
        data = {
            "name": "hwid",
            "type": "generic",
            "backend": "netjsonconfig.OpenWrt",
            "config": json.dumps({"files": HWID_FILE}),
            **overrides,
        }
        return self.client.post(self._url(self.template_model, "add"), self._form_data(self.template_model, data))

    def test_template_using_it_saves_in_the_admin_and_the_device_downloads_the_value(self):
        response = self._add_template()
        self.assertEqual(response.status_code, 302, getattr(response, "context", None) and response.context["errors"])
        template = self.template_model.objects.get(name="hwid")
        data = self._config_data(templates=str(template.pk), hardware_id="HW-0042")
        response = self.client.post(self._url(self.config_model, "add"), data)
        self.assertEqual(response.status_code, 302, getattr(response, "context", None) and response.context["errors"])
        config = self.config_model.objects.get(name="ap-new")
        self.assertEqual(config.hardware_id, "HW-0042")
        files = {file.path: file.contents for file in archive_files(self._controller_download(config))}
        self.assertEqual(files["/etc/hwid"], "hw=HW-0042")

    def test_configuration_using_it_saves_in_the_admin(self):
        data = self._config_data(config=json.dumps({"files": HWID_FILE}), hardware_id="HW-7")
        response = self.client.post(self._url(self.config_model, "add"), data)
        self.assertEqual(response.status_code, 302, getattr(response, "context", None) and response.context["errors"])
        config = self.config_model.objects.get(name="ap-new")
        files = {file.path: file.contents for file in archive_files(self._controller_download(config))}
        self.assertEqual(files["/etc/hwid"], "hw=HW-7")
        page = self.client.get(self._url(self.config_model, "change", config.pk)).content.decode()
        row = re.search(r"<tr><td><code>hardware_id</code></td><td><code>(.*?)</code></td><td>(.*?)</td></tr>", page)
        self.assertEqual(row.groups(), ("HW-7", "built-in"))

    def test_template_default_values_cannot_redefine_it(self):
        response = self._add_template(default_values=json.dumps({"hardware_id": "x"}))
        self.assertEqual(response.status_code, 200)
        self.assertIn(
            "variable `hardware_id` is built in and cannot be redefined.",
            str(response.context["adminform"].form.errors),
        )
        self.assertFalse(self.template_model.objects.filter(name="hwid").exists())


class TestMissingObjectIs404(PagesMixin, TestCase):
    BAD_IDS = [str(uuid.uuid4()), uuid.uuid4().hex, "not-a-uuid", "12345", "%20"]

    def _models(self):
        return [self.config_model, self.template_model, self.vpn_model]

    def test_change_page_of_unknown_or_malformed_id_is_404(self):
        for model in self._models():
            for bad in self.BAD_IDS:
                with self.subTest(model=model.__name__, id=bad):
                    response = self.client.get(self._url(model, "change", bad))
                    self.assertEqual(response.status_code, 404)

    def test_posting_to_unknown_or_malformed_id_is_404_and_creates_nothing(self):
        for obj, data in self._objects():
            model = type(obj)
            count = model.objects.count()
            for bad in self.BAD_IDS:
                with self.subTest(model=model.__name__, id=bad):
                    response = self.client.post(self._url(model, "change", bad), {**data, "name": "other"})
                    self.assertEqual(response.status_code, 404)
            self.assertEqual(model.objects.count(), count)
            self.assertFalse(model.objects.filter(name="other").exists())

    def test_delete_and_history_of_unknown_id_are_404(self):
        for model in self._models():
            for view in ("delete", "history"):
                for bad in (str(uuid.uuid4()), "not-a-uuid"):
                    with self.subTest(model=model.__name__, view=view, id=bad):
                        self.assertEqual(self.client.get(self._url(model, view, bad)).status_code, 404)

    def test_existing_objects_still_open(self):
        for obj, _data in self._objects():
            with self.subTest(model=type(obj).__name__):
                self.assertEqual(self.client.get(self._url(type(obj), "change", obj.pk)).status_code, 200)


class TestCloneTemplates(PagesMixin, TestCase):
    def _clone(self, *templates):
        data = {
            "action": "clone_selected_templates",
            helpers.ACTION_CHECKBOX_NAME: [str(template.pk) for template in templates],
        }
        return self.client.post(self._url(self.template_model, "changelist"), data, follow=True)

    def test_clone_copies_everything_but_name_default_and_configurations(self):
        source = self._create_template(
            name="wifi",
            default=True,
            config={"files": [{"path": "/etc/x", "mode": "0644", "contents": "{{ ssid }}"}]},
            default_values={"ssid": "office"},
        )
        self._create_config(name="ap1", mac_address="00:11:22:33:44:01", key="b" * 32, templates=[source])
        response = self._clone(source)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "1 template cloned: wifi (copy).")
        clone = self.template_model.objects.get(name="wifi (copy)")
        self.assertNotEqual(clone.pk, source.pk)
        for field in ("backend", "type", "vpn_id", "config", "default_values", "auto_cert"):
            self.assertEqual(getattr(clone, field), getattr(source, field), field)
        self.assertFalse(clone.default)
        self.assertFalse(self.config_model.objects.filter(templates=clone).exists())
        self.assertEqual(
            list(self.config_model.objects.filter(templates=source).values_list("name", flat=True)), ["ap1"]
        )
        source.refresh_from_db()
        self.assertTrue(source.default)
        self.assertEqual(source.name, "wifi")
        entry = LogEntry.objects.get(
            content_type=ContentType.objects.get_for_model(self.template_model), object_id=str(clone.pk)
        )
        self.assertEqual(entry.action_flag, ADDITION)
        self.assertEqual(entry.user, self.admin)
        self.assertEqual(entry.get_change_message(), "Cloned from wifi.")
        versions = Version.objects.get_for_object(clone)
        self.assertEqual([version.revision.get_comment() for version in versions], ["Cloned from wifi."])

    def test_clash_gets_a_number_and_several_are_cloned_with_one_log_entry_each(self):
        lan = self.template
        other = self._create_template(name="wan", config={"interfaces": [{"name": "eth1", "type": "ethernet"}]})
        self._clone(lan)
        response = self._clone(lan, other)
        self.assertContains(response, "2 templates cloned: lan (copy 2), wan (copy).")
        self._clone(lan)
        names = set(self.template_model.objects.values_list("name", flat=True))
        self.assertEqual(names, {"lan", "wan", "lan (copy)", "lan (copy 2)", "lan (copy 3)", "wan (copy)"})
        added = LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(self.template_model), action_flag=ADDITION
        )
        self.assertEqual(
            sorted(added.values_list("object_repr", flat=True)),
            sorted(str(template) for template in self.template_model.objects.filter(name__contains="(copy")),
        )

    def test_vpn_template_clone_keeps_its_vpn(self):
        vpn_template = self._create_vpn_template(vpn=self.vpn)
        self._clone(vpn_template)
        clone = self.template_model.objects.get(name=f"{vpn_template.name} (copy)")
        self.assertEqual((clone.type, clone.vpn_id, clone.auto_cert), ("vpn", self.vpn.pk, vpn_template.auto_cert))
        self.assertFalse(self.config_model.objects.filter(templates=clone).exists())

    def test_long_names_are_cut_to_fit(self):
        source = self._create_template(name="x" * 64)
        self._clone(source)
        self._clone(source)
        self.assertTrue(self.template_model.objects.filter(name="x" * 57 + " (copy)").exists())
        self.assertTrue(self.template_model.objects.filter(name="x" * 55 + " (copy 2)").exists())

    def test_needs_the_add_permission(self):
        self._login_staff("view", "change")
        response = self._clone(self.template)
        self.assertEqual(self.template_model.objects.count(), 1)
        self.assertNotContains(response, "clone_selected_templates")
        self.client.logout()
        self.client.force_login(self.admin)
        self.assertContains(self.client.get(self._url(self.template_model, "changelist")), "clone_selected_templates")
