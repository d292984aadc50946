"""
Who writes what: the device's archive history (decision 18), rendering
errors in their own column (decision 13), operator saves that leave the
device's columns alone, the admin's "Mark as modified" action, and the 503
answered when the database cannot be reached.
"""

import hashlib
import json

from django.db import connections
from django.test import TestCase, override_settings
from django.urls import reverse

from django_netjsonconfig.tests.controller_testing import HEADER, SECRET, ControllerTestMixin
from django_netjsonconfig.tests.test_admin import AdminTestMixin


class TestArchiveHistory(ControllerTestMixin, TestCase):
    def _download(self, config):
        response = self._get("download_config", config, key=config.key)
        self.assertEqual(response.status_code, 200)
        return response.content

    def _stored(self, config):
        return self.config_model.objects.get(pk=config.pk)

    def test_download_records_the_downloaded_checksum(self):
        config = self._create_config()
        archive = self._download(config)
        self.assertEqual(self._stored(config).downloaded_checksum, hashlib.md5(archive).hexdigest())
        self.assertEqual(self._stored(config).applied_checksum, "")

    def test_running_report_records_the_applied_archive(self):
        config = self._create_config()
        archive = self._download(config)
        self.assertEqual(self._report(config, status="applied").status_code, 200)
        stored = self._stored(config)
        self.assertEqual(stored.applied_checksum, hashlib.md5(archive).hexdigest())
        self.assertEqual(bytes(stored.applied_archive), archive)

    def test_error_report_keeps_the_last_applied_archive(self):
        config = self._create_config()
        first = self._download(config)
        self._report(config, status="running")
        self.config_model.objects.get(pk=config.pk).templates.add(self._create_template())
        second = self._download(config)
        self.assertNotEqual(first, second)
        self._report(config, status="error", error_reason="rollback")
        stored = self._stored(config)
        self.assertEqual(stored.downloaded_checksum, hashlib.md5(second).hexdigest())
        self.assertEqual(
            (stored.applied_checksum, bytes(stored.applied_archive)), (hashlib.md5(first).hexdigest(), first)
        )

    def test_applied_archive_is_unknown_when_the_rendering_moved_on(self):
        config = self._create_config()
        archive = self._download(config)
        # the configuration changed (and was rendered again) before the device reported
        self.config_model.objects.get(pk=config.pk).templates.add(self._create_template())
        self._report(config, status="running")
        stored = self._stored(config)
        self.assertEqual(stored.applied_checksum, hashlib.md5(archive).hexdigest())
        self.assertIsNone(stored.applied_archive)

    def test_repeated_reports_and_downloads_write_nothing_new(self):
        """Guards an optimisation: device requests write only the columns that changed."""
        config = self._create_config()
        self._download(config)
        self._report(config, status="running")
        with self.assertNumQueries(1):
            self._download(config)
        with self.assertNumQueries(1):
            self._report(config, status="running")


class TestRenderError(ControllerTestMixin, TestCase):
    def _break(self, config):
        template = self._create_template()
        config.templates.add(template)
        config.get_cached_checksum()
        self.config_model.objects.filter(pk=config.pk).update(status="error", error_reason="device said so")
        template.config = {"interfaces": "not a list"}
        template.save()  # skips validation, as a shell would

    def test_poll_records_render_error_without_touching_the_device_columns(self):
        config = self._create_config()
        self._break(config)
        with self.assertLogs("django_netjsonconfig", "ERROR"):
            response = self._get("checksum", config, key=config.key)
        self.assertEqual(response.status_code, 500)
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual(stored.render_error, 'interfaces: "not a list" is not of type array.')
        self.assertEqual((stored.status, stored.error_reason), ("modified", "device said so"))

    def test_config_save_records_render_error_and_a_fix_clears_it(self):
        config = self._create_config()
        self._break(config)
        config = self.config_model.objects.get(pk=config.pk)
        with self.assertLogs("django_netjsonconfig", "ERROR"):
            config.save()
        self.assertEqual(
            self.config_model.objects.get(pk=config.pk).render_error, 'interfaces: "not a list" is not of type array.'
        )
        template = config.templates.get()
        template.config = {"interfaces": []}
        template.save()
        self.assertEqual(len(self._checksum(config)), 32)
        self.assertEqual(self.config_model.objects.get(pk=config.pk).render_error, "")


class TestOperatorSaves(AdminTestMixin, TestCase):
    def test_save_from_code_leaves_the_device_columns_alone(self):
        config = self._create_config()
        stale = self.config_model.objects.get(pk=config.pk)
        self.config_model.objects.filter(pk=config.pk).update(
            status="error", error_reason="boom", model="WDR4300", last_ip="10.0.0.9"
        )
        stale.config = {"general": {"timezone": "Europe/Rome"}}
        stale.status = "running"  # ignored: the device owns it
        stale.save()
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual(stored.config, {"general": {"timezone": "Europe/Rome"}})
        self.assertEqual((stored.error_reason, stored.model, stored.last_ip), ("boom", "WDR4300", "10.0.0.9"))

    def test_change_page_shows_the_render_error_and_the_list_filters_it(self):
        broken = self._create_config(name="broken")
        self._create_config(name="fine", mac_address="00:11:22:33:44:99", key="b" * 32)
        self.config_model.objects.filter(pk=broken.pk).update(render_error="variable missing: ssid")
        page = self.client.get(self._url(self.config_model, "change", broken.pk))
        self.assertContains(page, "variable missing: ssid")
        changelist = self._url(self.config_model, "changelist")
        with_error = self.client.get(changelist, {"render_error": "yes"})
        self.assertContains(with_error, ">broken<")
        self.assertNotContains(with_error, ">fine<")
        without = self.client.get(changelist, {"render_error": "no"})
        self.assertContains(without, ">fine<")
        self.assertNotContains(without, ">broken<")

    def test_mark_modified_action_clears_the_devices_error(self):
        config = self._create_config()
        config.get_cached_checksum()
        self.config_model.objects.filter(pk=config.pk).update(status="error", error_reason="boom")
        response = self.client.post(
            self._url(self.config_model, "changelist"),
            {"action": "mark_modified", "_selected_action": [str(config.pk)]},
            follow=True,
        )
        self.assertContains(response, "1 configuration marked as modified.")
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual((stored.status, stored.error_reason), ("modified", ""))
        # rendering again (same output) does not bring the error back
        self.client.get(reverse("controller:checksum", args=[config.pk.hex]), {"key": config.key})
        self.assertEqual(self.config_model.objects.get(pk=config.pk).status, "modified")

    def test_admin_form_save_keeps_the_device_report(self):
        config = self._create_config()
        config.get_cached_checksum()
        self.config_model.objects.filter(pk=config.pk).update(status="error", error_reason="boom", os="OpenWrt")
        data = self._config_data(config, config=json.dumps(config.config))
        response = self.client.post(self._url(self.config_model, "change", config.pk), data)
        self.assertEqual(response.status_code, 302)
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual((stored.status, stored.error_reason, stored.os), ("error", "boom", "OpenWrt"))


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestDatabaseUnavailable(ControllerTestMixin, TestCase):
    def _with_unreachable_database(self, request):
        """Runs ``request()`` with the default connection replaced by one that cannot connect."""
        alias = "default"
        working = connections[alias]
        settings = {**working.settings_dict}
        if working.vendor == "sqlite":
            settings["NAME"] = "/nonexistent-directory/db.sqlite3"
        else:
            settings.update(HOST="127.0.0.1", PORT="1")
        broken = type(working)(settings, alias)
        connections[alias] = broken
        try:
            return request()
        finally:
            broken.close()
            connections[alias] = working

    def test_every_device_endpoint_answers_503_with_the_header(self):
        config = self._create_config()
        requests = {
            "checksum": lambda: self._get("checksum", config, key=config.key),
            "download_config": lambda: self._get("download_config", config, key=config.key),
            "report_status": lambda: self._report(config, status="running"),
            "update_info": lambda: self._post(self._url("update_info", config), {"key": config.key, "os": "x"}),
            "register": lambda: self._register(),
        }
        for name, request in requests.items():
            with self.subTest(name), self.assertLogs("django_netjsonconfig", "ERROR") as logs:
                response = self._with_unreachable_database(request)
            self.assertControllerResponse(response, 503, "error: the database is unavailable, try again later\n")
            self.assertEqual(response[HEADER], "true")
            self.assertIn("OperationalError", logs.output[0])
            self.assertNotIn(config.key, logs.output[0])
