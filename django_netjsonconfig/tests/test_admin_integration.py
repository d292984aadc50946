"""
Admin integration points that 0.12 users rely on, through real admin URLs:
``{{ hardware_id }}`` as a built-in variable of templates, configurations
and their downloads; a change URL with an unknown or malformed id answers
404 (Django's default is a redirect with a message).
"""

import json
import re
import uuid

from django.test import TestCase

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
