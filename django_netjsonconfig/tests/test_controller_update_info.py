"""The update-info endpoint (``POST /controller/update-info/<pk>/``)."""

from django.test import TestCase

from django_netjsonconfig.tests.controller_testing import (
    ControllerTestMixin,
)


class TestUpdateInfo(ControllerTestMixin, TestCase):
    def _update(self, config, **fields):
        return self._post(self._url("update_info", config), {"key": config.key, **fields})

    def test_update_info_stores_hardware_information(self):
        config = self._create_config()
        response = self._update(config, model="TP-Link", os="OpenWrt 23.05", system="MediaTek MT7621")
        self.assertControllerResponse(response, 200, "update-info: success")
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual((stored.model, stored.os, stored.system), ("TP-Link", "OpenWrt 23.05", "MediaTek MT7621"))

    def test_empty_values_are_ignored(self):
        config = self._create_config(model="kept", os="kept")
        self._update(config, model="", os="new")
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual((stored.model, stored.os), ("kept", "new"))

    def test_too_long_values_are_truncated(self):
        config = self._create_config()
        self._update(config, model="m" * 500, os="o" * 500, system="s" * 500)
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual((stored.model, stored.os, stored.system), ("m" * 64, "o" * 128, "s" * 128))

    def test_missing_key_is_400(self):
        config = self._create_config()
        response = self._post(self._url("update_info", config), {"os": "x"})
        self.assertControllerResponse(response, 400, 'error: missing required parameter "key"\n')

    def test_wrong_key_is_403_and_stores_nothing(self):
        config = self._create_config()
        before = self._snapshot()
        response = self._post(self._url("update_info", config), {"key": "wrong", "os": "x"})
        self.assertControllerResponse(response, 403, "error: wrong key\n")
        self.assertEqual(self._snapshot(), before)

    def test_value_that_is_not_utf8_is_400_and_stores_nothing(self):
        config = self._create_config()
        before = self._snapshot()
        response = self._post(self._url("update_info", config), f"key={config.key}&os=Open%C3Wrt&model=x")
        self.assertControllerResponse(response, 400, 'error: invalid characters in parameter "os"\n')
        self.assertEqual(self._snapshot(), before)

    def test_update_info_does_not_touch_config_status_or_modified(self):
        config = self._create_config()
        self._report(config, status="running")
        self._update(config, os="OpenWrt")
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual((stored.status, stored.modified, stored.last_ip), ("running", config.modified, None))
