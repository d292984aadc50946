"""The report-status endpoint (``POST /controller/report-status/<pk>/``) and device writes."""

from django.test import RequestFactory, TestCase, override_settings

from django_netjsonconfig.controller.generics import (
    BaseChecksumView,
    BaseRegisterView,
    BaseReportStatusView,
)
from django_netjsonconfig.tests.controller_testing import (
    MAC,
    SECRET,
    Config,
    ControllerTestMixin,
    consistent_key,
)


class TestReportStatus(ControllerTestMixin, TestCase):
    def test_running_is_stored(self):
        config = self._create_config()
        response = self._report(config, status="running")
        self.assertControllerResponse(response, 200, "report-result: success\ncurrent-status: running\n")
        self.assertEqual(self.config_model.objects.get(pk=config.pk).status, "running")

    def test_applied_is_stored_and_echoed_as_running(self):
        config = self._create_config()
        response = self._post(self._url("report_status", config), f"key={config.key}&status=applied&")
        self.assertControllerResponse(response, 200, "report-result: success\ncurrent-status: running\n")
        self.assertEqual(self.config_model.objects.get(pk=config.pk).status, "running")

    def test_error_with_reason_stores_the_reason(self):
        config = self._create_config()
        response = self._report(config, status="error", error_reason="uci: rollback\nping failed")
        self.assertControllerResponse(response, 200, "report-result: success\ncurrent-status: error\n")
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual((stored.status, stored.error_reason), ("error", "uci: rollback\nping failed"))

    def test_long_error_reason_is_truncated_to_1024_characters(self):
        config = self._create_config()
        self._report(config, status="error", error_reason="é" * 10000)
        self.assertEqual(self.config_model.objects.get(pk=config.pk).error_reason, "é" * 1024)

    def test_error_reason_with_invalid_utf8_is_kept_with_replacement_characters(self):
        config = self._create_config()
        response = self._post(
            self._url("report_status", config), f"key={config.key}&status=error&error_reason=ab%FF%00"
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.config_model.objects.get(pk=config.pk).error_reason, "ab\ufffd")

    def test_successful_report_clears_the_previous_error_reason(self):
        config = self._create_config()
        self._report(config, status="error", error_reason="failed")
        self._report(config, status="running")
        self.assertEqual(self.config_model.objects.get(pk=config.pk).error_reason, "")

    def test_2017_agent_unencoded_body_is_accepted(self):
        config = self._create_config()
        response = self._post(self._url("report_status", config), f"key={config.key}&status=running")
        self.assertEqual(response.status_code, 200)

    def test_modified_is_accepted(self):
        config = self._create_config()
        self._report(config, status="running")
        self._report(config, status="modified")
        self.assertEqual(self.config_model.objects.get(pk=config.pk).status, "modified")

    def test_missing_key_is_400(self):
        config = self._create_config()
        response = self._post(self._url("report_status", config), {"status": "running"})
        self.assertControllerResponse(response, 400, 'error: missing required parameter "key"\n')

    def test_wrong_key_is_checked_before_status(self):
        config = self._create_config()
        response = self._post(self._url("report_status", config), {"key": "wrong"})
        self.assertControllerResponse(response, 403, "error: wrong key\n")

    def test_missing_status_is_400(self):
        config = self._create_config()
        response = self._report(config)
        self.assertControllerResponse(response, 400, 'error: missing required parameter "status"\n')

    def test_unknown_status_is_403_and_not_stored(self):
        config = self._create_config()
        before = self._snapshot()
        response = self._report(config, status="deactivated")
        self.assertControllerResponse(response, 403, "error: wrong status\n")
        self.assertEqual(self._snapshot(), before)

    def test_key_in_query_string_is_not_accepted(self):
        config = self._create_config()
        url = self._url("report_status", config) + f"?key={config.key}"
        response = self._post(url, {"status": "running"})
        self.assertEqual(response.status_code, 400)

    def test_get_is_405(self):
        config = self._create_config()
        response = self.client.get(self._url("report_status", config), {"key": config.key})
        self.assertEqual(response.status_code, 405)
        self.assertEqual(response["Allow"], "POST")

    def test_report_does_not_touch_last_ip_or_modified(self):
        config = self._create_config()
        self._report(config, status="running")
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertIsNone(stored.last_ip)
        self.assertEqual(stored.modified, config.modified)


class TestDeviceWritesKeepOperatorEdits(ControllerTestMixin, TestCase):
    """An operator's edit committed between the view's read and its write survives."""

    NEW_CONFIG = {"general": {}, "interfaces": [{"name": "eth1", "type": "ethernet"}]}

    def _operator_edit(self, pk):
        operator_copy = self.config_model.objects.get(pk=pk)
        operator_copy.config = self.NEW_CONFIG
        operator_copy.full_clean()
        operator_copy.save()

    def _call(self, view_class, method, url, data, pk=None):
        request = getattr(RequestFactory(), method)(url, data, REMOTE_ADDR="10.1.1.1")
        kwargs = {"pk": pk} if pk else {}
        return view_class.as_view()(request, **kwargs)

    def test_report_status_keeps_config_saved_meanwhile(self):
        config = self._create_config()
        test = self

        class EditingReportStatusView(BaseReportStatusView):
            model = Config

            def check_status(self, request):
                test._operator_edit(config.pk)
                return super().check_status(request)

        data = {"key": config.key, "status": "error", "error_reason": "boom"}
        response = self._call(EditingReportStatusView, "post", "/", data, config.pk.hex)
        self.assertEqual(response.status_code, 200)
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual(stored.config, self.NEW_CONFIG)
        self.assertEqual((stored.status, stored.error_reason), ("error", "boom"))

    def test_checksum_poll_keeps_config_saved_meanwhile(self):
        config = self._create_config()
        test = self

        class EditingChecksumView(BaseChecksumView):
            model = Config

            def check_key(self, request, config):
                test._operator_edit(config.pk)
                return super().check_key(request, config)

        response = self._call(EditingChecksumView, "get", "/", {"key": config.key}, config.pk.hex)
        self.assertEqual(response.status_code, 200)
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual((stored.config, stored.last_ip), (self.NEW_CONFIG, "10.1.1.1"))

    @override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
    def test_re_registration_keeps_config_saved_meanwhile(self):
        config = self._create_config(key=consistent_key(MAC))
        test = self

        class EditingRegisterView(BaseRegisterView):
            model = Config

            def registered(self, request, config, data):
                test._operator_edit(config.pk)
                return super().registered(request, config, data)

        data = {"secret": SECRET, "name": "x", "mac_address": MAC, "backend": "netjsonconfig.OpenWrt"}
        response = self._call(EditingRegisterView, "post", "/", {**data, "key": config.key, "os": "OpenWrt"})
        self.assertEqual(response.status_code, 201)
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual((stored.config, stored.os, stored.last_ip), (self.NEW_CONFIG, "OpenWrt", "10.1.1.1"))

    def test_report_status_after_operator_edit_of_a_stale_copy(self):
        config = self._create_config()
        self._operator_edit(config.pk)
        self._report(config, status="running")
        self.assertEqual(self.config_model.objects.get(pk=config.pk).config, self.NEW_CONFIG)
