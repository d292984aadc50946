"""The device-facing controller as a whole: CSRF, secrets in logs, URLs, extending views."""

import hmac
import types
import uuid
from unittest import mock

from django.test import Client, TestCase, override_settings
from django.urls import reverse

from django_netjsonconfig.controller.generics import (
    BaseChecksumView,
    BaseDownloadConfigView,
    BaseRegisterView,
    BaseReportStatusView,
)
from django_netjsonconfig.tests.controller_testing import (  # noqa: F401  (also imported from here by other test modules)
    FORM,
    HEADER,
    MAC,
    SECRET,
    ChecksumInvalidationTests,
    Config,
    ControllerTestMixin,
    consistent_key,
    views,
)
from django_netjsonconfig.utils import get_controller_urls


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestCsrf(ControllerTestMixin, TestCase):
    def setUp(self):
        super().setUp()
        self.csrf_client = Client(enforce_csrf_checks=True)

    def test_device_posts_need_no_csrf_token(self):
        config = self._create_config()
        report = self._post(
            self._url("report_status", config), {"key": config.key, "status": "running"}, self.csrf_client
        )
        info = self._post(self._url("update_info", config), {"key": config.key, "os": "x"}, self.csrf_client)
        data = {
            "secret": SECRET,
            "name": "ap-2",
            "mac_address": "00:11:22:33:44:66",
            "backend": "netjsonconfig.OpenWrt",
        }
        register = self._post(self._url("register"), data, self.csrf_client)
        self.assertEqual((report.status_code, info.status_code, register.status_code), (200, 200, 201))

    def test_wrong_method_on_get_endpoints_is_405_not_a_csrf_403(self):
        config = self._create_config()
        for name in ("checksum", "download_config"):
            response = self.csrf_client.post(self._url(name, config), {"key": config.key})
            self.assertControllerResponse(response, 405, "error: method POST not allowed\n")
            self.assertEqual(response["Allow"], "GET, HEAD")

    def test_admin_login_still_requires_csrf_token(self):
        response = self.csrf_client.post(reverse("admin:login"), {"username": "a", "password": "b"})
        self.assertEqual(response.status_code, 403)


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestSecrets(ControllerTestMixin, TestCase):
    def assertNotLogged(self, logs, *values):
        for record in logs.records:
            text = repr(vars(record)) + record.getMessage()
            for value in values:
                self.assertNotIn(value, text)

    def test_wrong_key_is_logged_without_key_values(self):
        config = self._create_config()
        posted_key = "Wr0ngKeyValue1234567890"
        with self.assertLogs("django_netjsonconfig", "WARNING") as logs, self.assertNoLogs("django.request"):
            response = self._get("checksum", config, key=posted_key)
        self.assertEqual(response.status_code, 403)
        self.assertIn("wrong key", logs.output[0])
        self.assertNotLogged(logs, posted_key, config.key)

    def test_wrong_secret_is_logged_without_secret_values(self):
        posted_secret = "Gu3ssedSecretValue"
        with self.assertLogs("django_netjsonconfig", "WARNING") as logs:
            self._register(secret=posted_secret, key=consistent_key(MAC))
        self.assertIn("wrong secret", logs.output[0])
        self.assertNotLogged(logs, posted_secret, SECRET, consistent_key(MAC))

    def test_secret_and_key_are_compared_in_constant_time(self):
        config = self._create_config()
        with mock.patch.object(hmac, "compare_digest", wraps=hmac.compare_digest) as compare_digest:
            self._register(secret="guess")
            self._get("checksum", config, key="guess")
        compared = [call.args for call in compare_digest.call_args_list]
        self.assertIn((b"guess", SECRET.encode()), compared)
        self.assertIn((b"guess", config.key.encode()), compared)

    def test_refused_foreign_key_registration_is_logged_without_the_key(self):
        victim = self._create_config(key=consistent_key(MAC))
        with self.assertLogs("django_netjsonconfig", "WARNING") as logs:
            self._register(key=victim.key, mac_address="00:11:22:33:44:99")
        self.assertNotLogged(logs, victim.key, SECRET)


class TestControllerUrls(ControllerTestMixin, TestCase):
    def test_controller_paths_and_names_are_those_of_0_5_6(self):
        pk = uuid.uuid4().hex
        self.assertEqual(reverse("controller:checksum", args=[pk]), f"/controller/checksum/{pk}/")
        self.assertEqual(reverse("controller:download_config", args=[pk]), f"/controller/download-config/{pk}/")
        self.assertEqual(reverse("controller:report_status", args=[pk]), f"/controller/report-status/{pk}/")
        self.assertEqual(reverse("controller:register"), "/controller/register/")
        self.assertEqual(reverse("controller:update_info", args=[pk]), f"/controller/update-info/{pk}/")

    def test_get_controller_urls_names_the_callables_of_the_module(self):
        names = {pattern.name: pattern.callback for pattern in get_controller_urls(views)}
        self.assertEqual(
            names,
            {
                "checksum": views.checksum,
                "download_config": views.download_config,
                "report_status": views.report_status,
                "register": views.register,
                "update_info": views.update_info,
            },
        )


def _extending_urlconf():
    """The README "Extending controller views" pattern, as a third-party app writes it."""

    class ChecksumView(BaseChecksumView):
        model = Config

    class DownloadConfigView(BaseDownloadConfigView):
        model = Config

    class ReportStatusView(BaseReportStatusView):
        model = Config

    # an extending app may need more on new configs (the sample app sets an
    # organization): reuse the installed app's registration hook
    class RegisterView(getattr(views, "RegisterView", BaseRegisterView)):
        model = Config

    extending_views = types.ModuleType("extending_views")
    extending_views.checksum = ChecksumView.as_view()
    extending_views.download_config = DownloadConfigView.as_view()
    extending_views.report_status = ReportStatusView.as_view()
    extending_views.register = RegisterView.as_view()
    urlconf = types.ModuleType("extending_urls")
    urlconf.urlpatterns = get_controller_urls(extending_views)
    return urlconf


EXTENDING_URLCONF = _extending_urlconf()


@override_settings(ROOT_URLCONF=EXTENDING_URLCONF, NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestExtendingControllerViews(ControllerTestMixin, TestCase):
    def test_extending_module_gets_the_four_named_patterns(self):
        names = [pattern.name for pattern in EXTENDING_URLCONF.urlpatterns]
        self.assertEqual(names, ["checksum", "download_config", "report_status", "register"])

    def test_extending_views_serve_devices(self):
        config = self._create_config()
        checksum = self.client.get(reverse("checksum", args=[config.pk.hex]), {"key": config.key})
        report = self._post(reverse("report_status", args=[config.pk.hex]), {"key": config.key, "status": "running"})
        self.assertControllerResponse(checksum, 200, config.checksum)
        self.assertEqual(report.status_code, 200)

    def test_extending_register_view_is_csrf_exempt(self):
        data = {"secret": SECRET, "name": "ap-lobby", "mac_address": MAC, "backend": "netjsonconfig.OpenWrt"}
        response = self._post(reverse("register"), data, Client(enforce_csrf_checks=True))
        self.assertEqual(response.status_code, 201)
