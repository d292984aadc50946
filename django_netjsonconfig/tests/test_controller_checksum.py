"""The checksum endpoint (``GET /controller/checksum/<pk>/``): answers, cost of a poll, the lookup, invalidation."""

import hashlib
import uuid

from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_init
from django.http import Http404
from django.test import RequestFactory, TestCase

from django_netjsonconfig.controller.generics import (
    BaseChecksumView,
)
from django_netjsonconfig.tests.controller_testing import (
    HEADER,
    ChecksumInvalidationTests,
    Config,
    ControllerTestMixin,
    views,
)


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


class TestPollingCost(ControllerTestMixin, TestCase):
    def test_polling_an_unchanged_config_costs_one_query_and_no_write(self):
        """Guards an optimisation: the stored checksum and the compiled lookup (a failure means slower polls, not wrong answers)."""
        config = self._create_config()
        config.templates.add(self._create_template())
        first = self._checksum(config)
        with self.assertNumQueries(1):
            second = self._checksum(config)
        self.assertEqual(first, second)

    def test_downloading_an_unchanged_config_is_served_from_the_stored_archive(self):
        """Guards an optimisation: the archive stored with the checksum is served without rendering."""
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
        self.assertIn('interfaces: "not a list" is not of type array.', logs.output[0])
        self.assertEqual(len(logs.output[0].splitlines()), 1)  # one line, no traceback

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


class TestChecksumInvalidation(ChecksumInvalidationTests, TestCase):
    pass


class TestLookup(ControllerTestMixin, TestCase):
    def _checksum_with(self, view_class, config):
        request = RequestFactory().get("/", {"key": config.key}, REMOTE_ADDR="10.1.1.1")
        return view_class.as_view()(request, pk=config.pk.hex)

    def _narrowed_view(self, compiled_lookup=None):
        class NarrowedChecksumView(BaseChecksumView):
            model = Config

            def get_queryset(self):
                return super().get_queryset().exclude(name="hidden")

        if compiled_lookup is not None:
            NarrowedChecksumView.compiled_lookup = compiled_lookup
        return NarrowedChecksumView

    def assertNarrowed(self, view_class):
        hidden = self._create_config(name="hidden", mac_address="00:11:22:33:44:66", key="k" * 32)
        visible = self._create_config()
        self.assertEqual(self._checksum_with(view_class, visible).status_code, 200)
        with self.assertRaises(Http404):
            self._checksum_with(view_class, hidden)

    def test_overridden_queryset_narrows_what_devices_can_reach(self):
        view_class = self._narrowed_view()
        self.assertFalse(view_class.compiled_lookup)  # built for every request, as written
        self.assertNarrowed(view_class)

    def test_narrowed_queryset_declared_request_independent_is_compiled_and_still_narrows(self):
        self.assertNarrowed(self._narrowed_view(compiled_lookup=True))

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
        """Guards an optimisation: ``CompiledLookup`` builds instances without ``Model.from_db()``; they must be indistinguishable."""
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
