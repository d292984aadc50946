"""
Admin integration points that 0.12 users rely on, through real admin URLs:
``{{ hardware_id }}`` as a built-in variable of templates, configurations
and their downloads.
"""

import json
import re

from django.test import TestCase

from django_netjsonconfig.preview import archive_files
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
