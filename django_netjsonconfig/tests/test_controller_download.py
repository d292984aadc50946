"""The download endpoint (``GET /controller/download-config/<pk>/``) and the archive response helpers."""

import hashlib
import io
import tarfile

from django.test import RequestFactory, TestCase

from django_netjsonconfig.controller.responses import send_config
from django_netjsonconfig.tests.controller_testing import (
    HEADER,
    ControllerTestMixin,
)


class TestDownloadConfig(ControllerTestMixin, TestCase):
    def test_download_is_a_tar_gz_attachment(self):
        config = self._create_config(name="ap-lobby")
        response = self._get("download_config", config, key=config.key)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response[HEADER], "true")
        self.assertEqual(response["Content-Type"], "application/octet-stream")
        self.assertEqual(response["Content-Disposition"], "attachment; filename=ap-lobby.tar.gz")
        with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as archive:
            system = archive.extractfile("etc/config/system").read().decode()
        self.assertIn("option hostname 'ap-lobby'", system)

    def test_missing_key_is_400(self):
        config = self._create_config()
        response = self.client.get(self._url("download_config", config))
        self.assertControllerResponse(response, 400, 'error: missing required parameter "key"\n')

    def test_wrong_key_is_403(self):
        config = self._create_config()
        response = self._get("download_config", config, key="x" * 10000)
        self.assertControllerResponse(response, 403, "error: wrong key\n")

    def test_download_stores_last_ip_and_management_ip(self):
        config = self._create_config()
        self.client.get(
            self._url("download_config", config), {"key": config.key, "management_ip": "10.8.0.3"}, REMOTE_ADDR="::1"
        )
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual((stored.last_ip, stored.management_ip), ("::1", "10.8.0.3"))

    def test_put_is_405(self):
        config = self._create_config()
        response = self.client.put(self._url("download_config", config))
        self.assertControllerResponse(response, 405, "error: method PUT not allowed\n")
        self.assertEqual(response["Allow"], "GET, HEAD")


class TestResponseHelpers(ControllerTestMixin, TestCase):
    def test_send_config_records_last_ip_and_sends_the_device_archive(self):
        config = self._create_config(name="ap-lobby")
        response = send_config(config, RequestFactory().get("/", REMOTE_ADDR="10.2.2.2"))
        self.assertEqual(response[HEADER], "true")
        self.assertEqual(response["Content-Disposition"], "attachment; filename=ap-lobby.tar.gz")
        self.assertEqual(hashlib.md5(response.content).hexdigest(), config.checksum)
        self.assertEqual(self.config_model.objects.get(pk=config.pk).last_ip, "10.2.2.2")
