"""The device-facing controller, exercised over HTTP the way the agents use it."""

import hashlib
import hmac
import io
import json
import tarfile
import types
import uuid
from unittest import mock
from urllib.parse import urlencode

from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_init
from django.http import Http404
from django.test import Client, RequestFactory, TestCase, override_settings
from django.urls import reverse

from django_netjsonconfig.controller.generics import (
    BaseChecksumView,
    BaseDownloadConfigView,
    BaseRegisterView,
    BaseReportStatusView,
)
from django_netjsonconfig.controller.responses import send_config
from django_netjsonconfig.tests import TestMixin, installed_config_model, installed_controller_views
from django_netjsonconfig.utils import get_controller_urls

Config = installed_config_model()
views = installed_controller_views()

SECRET = "s3cr3t-Shared"
HEADER = "X-Openwisp-Controller"
MAC = "00:11:22:33:44:55"
FORM = "application/x-www-form-urlencoded"


def consistent_key(base, secret=SECRET):
    """The key today's agent derives: md5("<MAC or hardware id>+<secret>")."""
    return hashlib.md5(f"{base}+{secret}".encode()).hexdigest()


class ControllerTestMixin(TestMixin):
    """Device-style requests and assertions on controller answers."""

    def setUp(self):
        super().setUp()

    def _url(self, name, config=None, pk=None):
        if name == "register":
            return reverse("controller:register")
        return reverse(f"controller:{name}", args=[pk if pk is not None else config.pk.hex])

    def _get(self, name, config, **params):
        return self.client.get(self._url(name, config), params)

    def _post(self, url, data, client=None):
        """POSTs ``data`` url-encoded as the agents do (a str or bytes body is sent raw)."""
        body = data if isinstance(data, (str, bytes)) else urlencode(data)
        return (client or self.client).post(url, body, content_type=FORM)

    def _report(self, config, **fields):
        return self._post(self._url("report_status", config), {"key": config.key, **fields})

    def _register(self, **fields):
        data = {"secret": SECRET, "name": "ap-lobby", "mac_address": MAC, "backend": "netjsonconfig.OpenWrt"}
        data.update(fields)
        return self._post(self._url("register"), {key: value for key, value in data.items() if value is not None})

    def _checksum(self, config):
        response = self._get("checksum", config, key=config.key)
        self.assertEqual(response.status_code, 200, response.content)
        return response.content.decode()

    def _snapshot(self):
        return list(self.config_model.objects.order_by("pk").values())

    def assertControllerResponse(self, response, status, body, content_type="text/plain"):
        self.assertEqual(response.status_code, status, response.content)
        self.assertEqual(response[HEADER], "true")
        self.assertEqual(response["Content-Type"], content_type)
        self.assertEqual(response.content, body.encode() if isinstance(body, str) else body)

    def assertDjango404(self, response):
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(HEADER, response)


class TestChecksum(ControllerTestMixin, TestCase):
    def test_checksum_is_32_hex_characters_without_newline(self):
        config = self._create_config()
        response = self._get("checksum", config, key=config.key)
        self.assertControllerResponse(response, 200, config.checksum)
        self.assertRegex(response.content.decode(), r"^[0-9a-f]{32}\Z")

    def test_checksum_is_md5_of_downloaded_archive(self):
        config = self._create_config()
        config.templates.add(self._create_template())
        checksum = self._checksum(config)
        download = self._get("download_config", config, key=config.key)
        self.assertEqual(hashlib.md5(download.content).hexdigest(), checksum)

    def test_dashed_uuid_addresses_the_config_too(self):
        config = self._create_config()
        response = self._get("checksum", config, key=config.key)
        dashed = self.client.get(self._url("checksum", pk=str(config.pk)), {"key": config.key})
        self.assertEqual((dashed.status_code, dashed.content), (200, response.content))

    def test_missing_key_is_400(self):
        config = self._create_config()
        response = self.client.get(self._url("checksum", config))
        self.assertControllerResponse(response, 400, 'error: missing required parameter "key"\n')

    def test_empty_key_is_400(self):
        config = self._create_config()
        response = self._get("checksum", config, key="")
        self.assertControllerResponse(response, 400, 'error: missing required parameter "key"\n')

    def test_wrong_key_is_403(self):
        config = self._create_config()
        response = self._get("checksum", config, key="wrong")
        self.assertControllerResponse(response, 403, "error: wrong key\n")

    def test_non_ascii_key_is_403(self):
        config = self._create_config()
        response = self._get("checksum", config, key="clé\x00€")
        self.assertControllerResponse(response, 403, "error: wrong key\n")

    def test_unknown_uuid_is_django_404_even_without_key(self):
        response = self.client.get(self._url("checksum", pk=uuid.uuid4().hex))
        self.assertDjango404(response)

    def test_post_is_405_with_allow_header(self):
        config = self._create_config()
        response = self.client.post(self._url("checksum", config), {"key": config.key})
        self.assertControllerResponse(response, 405, "error: method POST not allowed\n")
        self.assertEqual(response["Allow"], "GET, HEAD")

    def test_checksum_stores_last_ip_without_touching_modified(self):
        config = self._create_config()
        self.client.get(self._url("checksum", config), {"key": config.key}, REMOTE_ADDR="10.0.0.7")
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual(stored.last_ip, "10.0.0.7")
        self.assertEqual(stored.modified, config.modified)

    def test_rejected_request_does_not_store_last_ip(self):
        config = self._create_config()
        self.client.get(self._url("checksum", config), {"key": "wrong"}, REMOTE_ADDR="10.0.0.7")
        self.assertIsNone(self.config_model.objects.get(pk=config.pk).last_ip)

    def test_valid_management_ip_is_stored(self):
        config = self._create_config()
        self._get("checksum", config, key=config.key, management_ip="10.8.0.2")
        self.assertEqual(self.config_model.objects.get(pk=config.pk).management_ip, "10.8.0.2")

    def test_ipv6_management_ip_is_stored_compressed(self):
        config = self._create_config()
        self._get("checksum", config, key=config.key, management_ip="fd00:0000::0001")
        self.assertEqual(self.config_model.objects.get(pk=config.pk).management_ip, "fd00::1")

    def test_invalid_management_ip_is_ignored(self):
        config = self._create_config(management_ip="10.8.0.2")
        for value in ("999.1.1.1", "abc", "fe80::1%eth0", "1" * 300, "10.0.0.1\x00"):
            with self.subTest(value=value):
                response = self._get("checksum", config, key=config.key, management_ip=value)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(self.config_model.objects.get(pk=config.pk).management_ip, "10.8.0.2")

    def test_absent_management_ip_keeps_the_stored_one(self):
        config = self._create_config(management_ip="10.8.0.2")
        self._get("checksum", config, key=config.key)
        self._get("checksum", config, key=config.key, management_ip="")
        self.assertEqual(self.config_model.objects.get(pk=config.pk).management_ip, "10.8.0.2")

    def test_head_is_answered_like_get(self):
        config = self._create_config()
        response = self.client.head(self._url("checksum", config), {"key": config.key})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response[HEADER], "true")


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


class TestPollingCost(ControllerTestMixin, TestCase):
    def test_polling_an_unchanged_config_costs_one_query_and_no_write(self):
        config = self._create_config()
        config.templates.add(self._create_template())
        first = self._checksum(config)
        with self.assertNumQueries(1):
            second = self._checksum(config)
        self.assertEqual(first, second)

    def test_downloading_an_unchanged_config_is_served_from_the_stored_archive(self):
        config = self._create_config()
        config.templates.add(self._create_template())
        checksum = self._checksum(config)
        self._get("download_config", config, key=config.key)  # records downloaded_checksum
        with self.assertNumQueries(1):
            response = self._get("download_config", config, key=config.key)
        self.assertEqual(hashlib.md5(response.content).hexdigest(), checksum)
        self.assertEqual(response.content, self.config_model.objects.get(pk=config.pk).get_cached_archive()[1])

    def test_download_renders_when_no_archive_is_stored(self):
        config = self._create_config()
        checksum = self._checksum(config)
        self.config_model.objects.filter(pk=config.pk).update(archive_db=None)
        response = self._get("download_config", config, key=config.key)
        self.assertEqual(hashlib.md5(response.content).hexdigest(), checksum)


class TestGenerationErrors(ControllerTestMixin, TestCase):
    def _break_template(self, config):
        template = self._create_template()
        config.templates.add(template)
        self._checksum(config)
        # an edit that skips validation (e.g. from a shell) leaves it unrenderable
        template.config = {"interfaces": "not a list"}
        template.save()

    def test_checksum_answers_500_with_header_when_rendering_fails(self):
        config = self._create_config()
        self._break_template(config)
        with self.assertLogs("django_netjsonconfig", "ERROR") as logs:
            response = self._get("checksum", config, key=config.key)
        self.assertControllerResponse(response, 500, "error: the configuration cannot be generated\n")
        self.assertIn(str(config.pk), logs.output[0])
        self.assertIn("not of type 'array'", logs.output[0])

    def test_download_answers_500_with_header_when_rendering_fails(self):
        config = self._create_config()
        self._break_template(config)
        with self.assertLogs("django_netjsonconfig", "ERROR"):
            response = self._get("download_config", config, key=config.key)
        self.assertControllerResponse(response, 500, "error: the configuration cannot be generated\n")

    def test_checksum_recovers_once_the_template_is_fixed(self):
        config = self._create_config()
        self._break_template(config)
        template = config.templates.get()
        with self.assertLogs("django_netjsonconfig", "ERROR"):
            self._get("checksum", config, key=config.key)
        template.config = {"interfaces": [{"name": "eth1", "type": "ethernet"}]}
        template.full_clean()
        template.save()
        self.assertEqual(self._checksum(config), self.config_model.objects.get(pk=config.pk).checksum)


class TestMalformedUuids(ControllerTestMixin, TestCase):
    BAD_PKS = (
        "a" * 31,
        "a" * 33,
        "g" * 32,
        "%00",
        "\x00",
        "f" * 5000,
        "00000000-0000-0000-0000-00000000000z",
        "null",
    )

    def test_malformed_uuids_are_404_on_every_device_endpoint(self):
        for name in ("checksum", "download_config", "report_status", "update_info"):
            for pk in self.BAD_PKS:
                with self.subTest(endpoint=name, pk=pk[:40]):
                    url = f"/controller/{name.replace('_', '-')}/{pk}/"
                    method = self.client.get if name in ("checksum", "download_config") else self.client.post
                    self.assertDjango404(method(url, {"key": "k"}))


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


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestRegisterNew(ControllerTestMixin, TestCase):
    def test_new_device_gets_201_and_five_lines(self):
        key = consistent_key(MAC)
        response = self._register(key=key)
        config = self.config_model.objects.get()
        expected = f"registration-result: success\nuuid: {config.pk.hex}\nkey: {key}\nhostname: ap-lobby\nis-new: 1\n"
        self.assertControllerResponse(response, 201, expected)

    def test_new_config_stores_posted_fields_and_client_address(self):
        self._register(key=consistent_key(MAC))
        config = self.config_model.objects.get()
        self.assertEqual(
            (config.name, config.mac_address, config.backend, config.key, config.last_ip, config.status),
            ("ap-lobby", MAC, "netjsonconfig.OpenWrt", consistent_key(MAC), "127.0.0.1", "modified"),
        )

    def test_without_key_a_random_key_is_issued(self):
        response = self._register()
        config = self.config_model.objects.get()
        self.assertRegex(config.key, r"^[A-Za-z0-9]{32}$")
        self.assertIn(f"key: {config.key}\n", response.content.decode())

    def test_empty_key_counts_as_absent(self):
        response = self._register(key="")
        self.assertEqual(response.status_code, 201)
        self.assertEqual(len(self.config_model.objects.get().key), 32)

    def test_lowercase_mac_is_stored_upper_case(self):
        self._register(mac_address="00:11:22:aa:bb:cc")
        self.assertEqual(self.config_model.objects.get().mac_address, "00:11:22:AA:BB:CC")

    @override_settings(NETJSONCONFIG_CONSISTENT_REGISTRATION=False)
    def test_posted_key_is_ignored_without_consistent_registration(self):
        self._register(key=consistent_key(MAC))
        self.assertNotEqual(self.config_model.objects.get().key, consistent_key(MAC))

    def test_default_templates_of_the_backend_are_attached(self):
        default = self._create_template(name="default", default=True)
        self._create_template(name="other", default=True, backend="netjsonconfig.OpenWisp")
        self._register()
        self.assertEqual(list(self.config_model.objects.get().templates.all()), [default])

    def test_today_agent_registration_stores_hardware_information(self):
        body = (
            f"backend=netjsonconfig.OpenWrt&key={consistent_key(MAC)}&management_ip=10.8.0.9"
            f"&secret={SECRET}&name=ap-lobby&hardware_id=&mac_address={MAC}"
            "&tags=uci%3A%20Entry%20not%20found&model=TP-Link%20Archer%20C7%20v5"
            "&os=OpenWrt%2023.05.2%20r23630-842932a63d&system=Qualcomm%20Atheros%20QCA956X"
        )
        response = self._post(self._url("register"), body)
        self.assertEqual(response.status_code, 201)
        config = self.config_model.objects.get()
        self.assertEqual(
            (config.hardware_id, config.model, config.os, config.system, config.management_ip),
            ("", "TP-Link Archer C7 v5", "OpenWrt 23.05.2 r23630-842932a63d", "Qualcomm Atheros QCA956X", "10.8.0.9"),
        )
        self.assertEqual(config.templates.count(), 0)

    def test_2017_agent_unencoded_body_registers(self):
        body = (
            f"secret={SECRET}&name=ap-lobby&backend=netjsonconfig.OpenWrt&mac_address={MAC}&key={consistent_key(MAC)}"
        )
        self.assertEqual(self._post(self._url("register"), body).status_code, 201)

    def test_invalid_management_ip_is_ignored(self):
        response = self._register(management_ip="10.0.0.300")
        self.assertEqual(response.status_code, 201)
        self.assertIsNone(self.config_model.objects.get().management_ip)

    def test_long_hardware_fields_are_truncated(self):
        self._register(hardware_id="h" * 100, model="m" * 100, os="o" * 500, system="s" * 500)
        config = self.config_model.objects.get()
        self.assertEqual(
            (config.hardware_id, config.model, config.os, config.system),
            ("h" * 64, "m" * 64, "o" * 128, "s" * 128),
        )

    def test_fields_outside_the_protocol_are_never_copied(self):
        response = self._register(
            status="running",
            config='{"interfaces": []}',
            id=str(uuid.uuid4()),
            last_ip="10.9.9.9",
            templates=str(uuid.uuid4()),
            vpn=str(uuid.uuid4()),
            error_reason="x",
            rendered_checksum="x",
            applied_checksum="x",
            created="2000-01-01",
        )
        self.assertEqual(response.status_code, 201)
        config = self.config_model.objects.get()
        self.assertEqual(
            (config.status, config.config, config.last_ip, config.error_reason, config.created.year),
            ("modified", {}, "127.0.0.1", "", config.modified.year),
        )

    def test_invalid_fields_give_400_with_sorted_json_errors(self):
        response = self._register(mac_address="WRONG", key="bad/key")
        errors = json.loads(response.content)
        self.assertControllerResponse(response, 400, json.dumps(errors, sort_keys=True, indent=4))
        self.assertEqual(list(errors), ["key", "mac_address"])
        self.assertFalse(self.config_model.objects.exists())

    def test_name_that_is_not_a_hostname_is_400(self):
        response = self._register(name="not a hostname")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response[HEADER], "true")
        self.assertFalse(self.config_model.objects.exists())

    def test_too_long_name_is_400(self):
        response = self._register(name="a" * 65)
        self.assertEqual(response.status_code, 400)
        self.assertIn("name", json.loads(response.content))

    def test_get_is_405(self):
        response = self.client.get(self._url("register"))
        self.assertEqual(response.status_code, 405)
        self.assertEqual(response["Allow"], "POST")


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestRegisterChecks(ControllerTestMixin, TestCase):
    def test_missing_parameters_are_reported_in_protocol_order(self):
        data = {}
        for param, value in (
            ("secret", SECRET),
            ("name", "ap"),
            ("mac_address", MAC),
            ("backend", "netjsonconfig.OpenWrt"),
        ):
            with self.subTest(param=param):
                response = self._post(self._url("register"), data)
                self.assertControllerResponse(response, 400, f'error: missing required parameter "{param}"\n')
            data[param] = value
        self.assertEqual(self._post(self._url("register"), data).status_code, 201)

    def test_wrong_secret_is_403(self):
        response = self._register(secret="guess")
        self.assertControllerResponse(response, 403, "error: wrong secret\n")

    def test_secret_is_checked_before_backend(self):
        response = self._register(secret="guess", backend="netjsonconfig.Nope")
        self.assertControllerResponse(response, 403, "error: wrong secret\n")

    def test_unknown_backend_is_403(self):
        response = self._register(backend="netjsonconfig.OpenVpn")
        self.assertControllerResponse(response, 403, "error: wrong backend\n")

    @override_settings(NETJSONCONFIG_SHARED_SECRET="")
    def test_empty_shared_secret_refuses_every_secret(self):
        response = self._register(secret="anything")
        self.assertControllerResponse(response, 403, "error: wrong secret\n")

    @override_settings(NETJSONCONFIG_REGISTRATION_ENABLED=False)
    def test_disabled_registration_is_404_with_header_and_empty_body(self):
        response = self._register()
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response[HEADER], "true")
        self.assertEqual(response.content, b"")
        self.assertFalse(self.config_model.objects.exists())

    def test_name_with_bytes_that_are_not_utf8_is_400(self):
        body = f"secret={SECRET}&name=ap%FFlobby&mac_address={MAC}&backend=netjsonconfig.OpenWrt"
        response = self._post(self._url("register"), body)
        self.assertControllerResponse(response, 400, 'error: invalid characters in parameter "name"\n')
        self.assertFalse(self.config_model.objects.exists())

    def test_raw_body_that_is_not_utf8_is_400(self):
        body = f"secret={SECRET}&name=ap-lobby&mac_address={MAC}&backend=netjsonconfig.OpenWrt&os=caf".encode()
        response = self._post(self._url("register"), body + b"\xe9")
        self.assertControllerResponse(response, 400, "error: request body is not valid UTF-8\n")
        self.assertFalse(self.config_model.objects.exists())

    def test_nul_character_in_a_stored_field_is_400(self):
        response = self._register(os="Open\x00Wrt")
        self.assertControllerResponse(response, 400, 'error: invalid characters in parameter "os"\n')

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
    def test_oversized_body_is_400_with_header(self):
        response = self._register(os="o" * 5000)
        self.assertControllerResponse(response, 400, "error: request body too large\n")
        self.assertFalse(self.config_model.objects.exists())

    @override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=10)
    def test_too_many_fields_is_400_with_header(self):
        response = self._register(**{f"field{number}": "x" for number in range(20)})
        self.assertControllerResponse(response, 400, "error: too many parameters\n")


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestRegisterKnownDevice(ControllerTestMixin, TestCase):
    def test_known_key_answers_is_new_0_with_stored_values(self):
        config = self._create_config(name="stored-name", key=consistent_key(MAC))
        response = self._register(name="posted-name", key=config.key)
        expected = f"registration-result: success\nuuid: {config.pk.hex}\nkey: {config.key}\nhostname: stored-name\nis-new: 0\n"
        self.assertControllerResponse(response, 201, expected)
        self.assertEqual(self.config_model.objects.get().name, "stored-name")

    def test_known_device_gets_last_ip_and_hardware_info_updated_only(self):
        config = self._create_config(key=consistent_key(MAC), os="old", model="kept")
        self._register(key=config.key, os="OpenWrt 23.05", model="", backend="netjsonconfig.OpenWisp")
        stored = self.config_model.objects.get()
        self.assertEqual(
            (stored.last_ip, stored.os, stored.model, stored.backend, stored.modified),
            ("127.0.0.1", "OpenWrt 23.05", "kept", "netjsonconfig.OpenWrt", config.modified),
        )

    def test_key_of_another_device_with_different_mac_is_refused(self):
        victim = self._create_config(key=consistent_key(MAC))
        before = self._snapshot()
        response = self._register(key=victim.key, mac_address="00:11:22:33:44:99", name="intruder")
        self.assertControllerResponse(response, 403, "error: key belongs to another device\n")
        self.assertNotIn(victim.pk.hex, response.content.decode())
        self.assertEqual(self._snapshot(), before)

    def test_hardware_id_key_matches_device_whose_mac_changed(self):
        config = self._create_config(key=consistent_key("SN-0001"), hardware_id="SN-0001")
        response = self._register(key=config.key, hardware_id="SN-0001", mac_address="00:11:22:33:44:99")
        self.assertIn(f"uuid: {config.pk.hex}\n", response.content.decode())
        self.assertIn("is-new: 0\n", response.content.decode())

    def test_mac_of_existing_config_is_adopted_with_consistent_key(self):
        config = self._create_config(key="operator-made-key")
        response = self._register(key=consistent_key(MAC))
        expected = (
            f"registration-result: success\nuuid: {config.pk.hex}\nkey: operator-made-key\nhostname: test\nis-new: 0\n"
        )
        self.assertControllerResponse(response, 201, expected)
        self.assertEqual(self.config_model.objects.get().key, "operator-made-key")

    def test_config_created_with_lowercase_mac_is_adopted_by_agent_sending_uppercase(self):
        config = self._create_config(mac_address="00:11:22:aa:bb:cc")
        response = self._register(mac_address="00:11:22:AA:BB:CC", key=consistent_key("00:11:22:AA:BB:CC"))
        self.assertIn(f"uuid: {config.pk.hex}\nkey: {config.key}\n", response.content.decode())
        self.assertEqual(self.config_model.objects.count(), 1)

    def test_mac_of_existing_config_with_inconsistent_key_is_400_duplicate(self):
        self._create_config()
        before = self._snapshot()
        response = self._register(key=consistent_key(MAC, secret="old-secret"))
        expected = {"mac_address": ["Configuration with this MAC address already exists."]}
        self.assertControllerResponse(response, 400, json.dumps(expected, sort_keys=True, indent=4))
        self.assertEqual(self._snapshot(), before)

    def test_mac_of_existing_config_without_key_is_400_duplicate(self):
        self._create_config()
        response = self._register()
        self.assertEqual(list(json.loads(response.content)), ["mac_address"])

    def test_mac_adoption_is_refused_when_hardware_ids_differ(self):
        self._create_config(key="operator-made-key", hardware_id="SN-0001")
        response = self._register(key=consistent_key(MAC), hardware_id="SN-0002")
        self.assertEqual(response.status_code, 400)

    @override_settings(NETJSONCONFIG_CONSISTENT_REGISTRATION=False)
    def test_known_key_is_not_looked_up_without_consistent_registration(self):
        self._create_config(key=consistent_key(MAC))
        response = self._register(key=consistent_key(MAC), mac_address="00:11:22:33:44:99", name="other")
        self.assertIn("is-new: 1\n", response.content.decode())
        self.assertEqual(self.config_model.objects.count(), 2)


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


class ChecksumInvalidationTests(ControllerTestMixin):
    """
    The checksum devices poll changes exactly when the rendered output changes
    (also run by ``test_memory`` with polls answered from memory).
    """

    def _template(self, name, mtu):
        return self._create_template(
            name=name, config={"interfaces": [{"name": "eth0", "type": "ethernet", "mtu": mtu}]}
        )

    def test_config_edit_changes_checksum_and_flags_modified(self):
        config = self._create_config()
        self._report(config, status="running")
        before = self._checksum(config)
        config.config = {"general": {}, "interfaces": [{"name": "eth1", "type": "ethernet"}]}
        config.full_clean()
        config.save()
        self.assertNotEqual(self._checksum(config), before)
        self.assertEqual(self.config_model.objects.get(pk=config.pk).status, "modified")

    def test_template_edit_changes_checksum(self):
        config = self._create_config()
        template = self._template("t1", 1400)
        config.templates.add(template)
        before = self._checksum(config)
        template.config = {"interfaces": [{"name": "eth0", "type": "ethernet", "mtu": 1500}]}
        template.full_clean()
        template.save()
        self.assertNotEqual(self._checksum(config), before)

    def test_adding_a_template_changes_checksum(self):
        config = self._create_config()
        before = self._checksum(config)
        config.templates.add(self._template("t1", 1400))
        self.assertNotEqual(self._checksum(config), before)

    def test_removing_a_template_changes_checksum(self):
        config = self._create_config()
        template = self._template("t1", 1400)
        config.templates.add(template)
        before = self._checksum(config)
        config.templates.remove(template)
        self.assertNotEqual(self._checksum(config), before)

    def test_reordering_templates_changes_checksum(self):
        config = self._create_config()
        first, second = self._template("t1", 1400), self._template("t2", 1500)
        config.templates.set([first, second])
        before = self._checksum(config)
        config.templates.set([second, first])
        self.assertNotEqual(self._checksum(config), before)

    def test_context_setting_change_changes_checksum(self):
        files = [{"path": "/etc/site", "mode": "0644", "contents": "{{ site }}"}]
        config = self._create_config(config={"general": {}, "files": files})
        with override_settings(NETJSONCONFIG_CONTEXT={"site": "rome"}):
            before = self._checksum(config)
        with override_settings(NETJSONCONFIG_CONTEXT={"site": "milan"}):
            self.assertNotEqual(self._checksum(config), before)

    def test_renewed_vpn_client_certificate_changes_checksum(self):
        config = self._create_config()
        config.templates.add(self._create_vpn_template())
        before = self._checksum(config)
        self.vpnclient_model.objects.get(config=config).cert.renew()
        self.assertNotEqual(self._checksum(config), before)

    def test_deleted_config_is_404(self):
        config = self._create_config()
        self._checksum(config)
        url, key = self._url("checksum", config), config.key
        config.delete()
        self.assertDjango404(self.client.get(url, {"key": key}))

    def test_changed_key_is_required_at_once(self):
        config = self._create_config()
        old_key = config.key
        self._checksum(config)
        config.key = "f" * 32
        config.full_clean()
        config.save()
        self.assertEqual(self._get("checksum", config, key=old_key).status_code, 403)
        self._checksum(config)

    def test_no_op_re_save_keeps_checksum_and_status(self):
        config = self._create_config()
        config.templates.add(self._template("t1", 1400))
        before = self._checksum(config)
        self._report(config, status="running")
        config = self.config_model.objects.get(pk=config.pk)
        config.full_clean()
        config.save()
        config.templates.set(list(config.templates.all()))
        self.assertEqual(self._checksum(config), before)
        self.assertEqual(self.config_model.objects.get(pk=config.pk).status, "running")


class TestChecksumInvalidation(ChecksumInvalidationTests, TestCase):
    pass


class TestLookup(ControllerTestMixin, TestCase):
    def _checksum_with(self, view_class, config):
        request = RequestFactory().get("/", {"key": config.key}, REMOTE_ADDR="10.1.1.1")
        return view_class.as_view()(request, pk=config.pk.hex)

    def test_overridden_queryset_narrows_what_devices_can_reach(self):
        hidden = self._create_config(name="hidden", mac_address="00:11:22:33:44:66", key="k" * 32)
        visible = self._create_config()

        class NarrowedChecksumView(BaseChecksumView):
            model = Config

            def get_queryset(self):
                return super().get_queryset().exclude(name="hidden")

        self.assertEqual(self._checksum_with(NarrowedChecksumView, visible).status_code, 200)
        with self.assertRaises(Http404):
            self._checksum_with(NarrowedChecksumView, hidden)

    def test_narrowed_queryset_declared_request_independent_is_compiled_and_still_narrows(self):
        hidden = self._create_config(name="hidden", mac_address="00:11:22:33:44:66", key="k" * 32)
        visible = self._create_config()

        class CompiledNarrowedChecksumView(BaseChecksumView):
            model = Config
            compiled_lookup = True

            def get_queryset(self):
                return super().get_queryset().exclude(name="hidden")

        self.assertEqual(self._checksum_with(CompiledNarrowedChecksumView, visible).status_code, 200)
        with self.assertRaises(Http404):
            self._checksum_with(CompiledNarrowedChecksumView, hidden)

    def test_view_without_model_fails_with_a_readable_message(self):
        class NoModelChecksumView(BaseChecksumView):
            pass

        config = self._create_config()
        with self.assertRaisesMessage(ImproperlyConfigured, "NoModelChecksumView has no model: set its 'model'"):
            self._checksum_with(NoModelChecksumView, config)

    def test_polled_config_has_the_stored_values(self):
        config = self._create_config()
        config.get_cached_checksum()
        self.config_model.objects.filter(pk=config.pk).update(last_ip="10.9.9.9", management_ip="fd00::1")
        view = views.ChecksumView()
        polled = view.get_object(config.pk.hex)
        self.assertEqual(
            (polled.pk, polled.key, polled.last_ip, polled.management_ip),
            (config.pk, config.key, "10.9.9.9", "fd00::1"),
        )
        self.assertEqual(polled.stored_checksum, config.get_cached_checksum())

    def test_polled_config_is_built_as_from_db_builds_it(self):
        config = self._create_config()
        config.get_cached_checksum()
        for view in (views.ChecksumView(), views.DownloadConfigView()):
            polled = view.get_object(config.pk.hex)
            expected = self.config_model._default_manager.only(*view.only_fields).get(pk=config.pk)
            self.assertEqual(type(polled), type(expected))
            self.assertEqual(
                {name: value for name, value in polled.__dict__.items() if name != "_state"},
                {name: value for name, value in expected.__dict__.items() if name != "_state"},
            )
            self.assertEqual(polled.get_deferred_fields(), expected.get_deferred_fields())
            self.assertEqual((polled._state.adding, polled._state.db), (False, "default"))

    def test_init_signal_receivers_see_polled_configs(self):
        config = self._create_config()
        config.get_cached_checksum()  # the poll only reads the row
        seen = []

        def receiver(sender, instance, **kwargs):
            seen.append(instance.pk)

        post_init.connect(receiver, sender=Config)
        self.addCleanup(post_init.disconnect, receiver, sender=Config)
        self._checksum(config)
        self.assertIn(config.pk, seen)


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


class TestResponseHelpers(ControllerTestMixin, TestCase):
    def test_send_config_records_last_ip_and_sends_the_device_archive(self):
        config = self._create_config(name="ap-lobby")
        response = send_config(config, RequestFactory().get("/", REMOTE_ADDR="10.2.2.2"))
        self.assertEqual(response[HEADER], "true")
        self.assertEqual(response["Content-Disposition"], "attachment; filename=ap-lobby.tar.gz")
        self.assertEqual(hashlib.md5(response.content).hexdigest(), config.checksum)
        self.assertEqual(self.config_model.objects.get(pk=config.pk).last_ip, "10.2.2.2")


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
