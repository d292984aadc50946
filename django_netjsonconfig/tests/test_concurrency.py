"""
Nothing is lost under concurrency: deterministic interleavings of a device
poll (or an admin save) with another change, on SQLite and PostgreSQL.

A request runs in its own thread (and database connection) and is held in
the middle (``pausing_backend``: after the rows were read, before anything
is stored) while the test commits a change from the main thread; then it
goes on. Each test asserts the final row and that the next poll answers the
MD5 of a fresh rendering.
"""

import hashlib
import json
import threading
from contextlib import contextmanager
from unittest import skipIf

from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test import Client, TransactionTestCase, override_settings
from django.urls import reverse

from django_netjsonconfig.tests import TestMixin
from django_netjsonconfig.tests.pausing_backend import PATH as PAUSING
from django_netjsonconfig.tests.pausing_backend import Pause, PausingOpenWrt

SQLITE_SERIALISES = (
    "SQLite serialises: the admin's transaction has read the row, so a device write waits for it to end "
    "(and comes after the save); the test database cannot even wait, it answers 'table is locked'"
)
BACKENDS = (("netjsonconfig.OpenWrt", "OpenWRT"), (PAUSING, "OpenWRT (pausing)"))


@override_settings(NETJSONCONFIG_BACKENDS=BACKENDS, NETJSONCONFIG_CONTROLLER_CACHE_SIZE=1000)
class TestNothingLost(TestMixin, TransactionTestCase):
    def tearDown(self):
        PausingOpenWrt.pause = None
        super().tearDown()

    # helpers ----------------------------------------------------------------

    def _config(self, **kwargs):
        return self._create_config(backend=PAUSING, **kwargs)

    def _template(self, **kwargs):
        return self._create_template(backend=PAUSING, **kwargs)

    def _url(self, name, config):
        return reverse(f"controller:{name}", args=[config.pk.hex])

    def _poll(self, config, client=None):
        response = (client or self.client).get(self._url("checksum", config), {"key": config.key})
        self.assertEqual(response.status_code, 200, response.content)
        return response.content.decode()

    def _fresh_checksum(self, config):
        """MD5 of a rendering made now from the stored rows (the test's own, nothing stored)."""
        fresh = self.config_model.objects.get(pk=config.pk)
        return hashlib.md5(fresh.generate().getvalue()).hexdigest()

    @contextmanager
    def _paused(self, request):
        """
        Runs ``request()`` in another thread, held at its first validation;
        the body of the ``with`` runs meanwhile, then the request goes on.
        Yields a dict that receives the request's ``result``.
        """
        outcome = {}
        name = f"paused-{id(outcome)}"
        pause = PausingOpenWrt.pause = Pause(name)

        def run():
            try:
                outcome["result"] = request()
            except Exception as error:  # re-raised below
                outcome["error"] = error
            finally:
                connections.close_all()

        thread = threading.Thread(target=run, name=name)
        thread.start()
        try:
            self.assertTrue(pause.reached.wait(timeout=30), outcome.get("error"))
            yield outcome
        finally:
            pause.resume.set()
            thread.join(timeout=60)
        self.assertFalse(thread.is_alive())
        if "error" in outcome:
            raise outcome["error"]

    def _paused_poll(self, config):
        return self._paused(lambda: self._poll(config, Client()))

    def assertServesFreshRendering(self, config):
        fresh = self._fresh_checksum(config)
        self.assertEqual(self._poll(config), fresh)
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual(stored.stored_checksum, fresh)
        download = self.client.get(self._url("download_config", config), {"key": config.key})
        self.assertEqual(hashlib.md5(download.content).hexdigest(), fresh)

    # a poll's rendering racing a change -------------------------------------

    def test_template_edit_during_a_polls_rendering(self):
        template = self._template(config={"general": {"timezone": "UTC"}})
        config = self._config(templates=[template])
        self._poll(config)
        template.config = {"general": {"timezone": "Europe/Rome"}}
        template.save()
        with self._paused_poll(config) as poll:
            rendering_in_progress = self._fresh_checksum(config)
            template.config = {"general": {"timezone": "Europe/Paris"}}
            template.save()
        # the poll answered what it rendered, but did not store it
        self.assertEqual(poll["result"], rendering_in_progress)
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertIsNone(stored.stored_checksum)
        self.assertEqual(stored.status, "modified")
        self.assertNotEqual(self._fresh_checksum(config), rendering_in_progress)
        self.assertServesFreshRendering(config)

    def test_config_edit_during_a_polls_rendering(self):
        config = self._config(config={"general": {"timezone": "UTC"}})
        self._poll(config)
        self.config_model.objects.filter(pk=config.pk).update(status="running")
        self.config_model.invalidate_checksums(self.config_model.objects.filter(pk=config.pk))
        with self._paused_poll(config) as poll:
            rendering_in_progress = self._fresh_checksum(config)
            edited = self.config_model.objects.get(pk=config.pk)
            edited.config = {"general": {"timezone": "Europe/Rome"}}
            edited.save()
        self.assertEqual(poll["result"], rendering_in_progress)
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual(stored.config, {"general": {"timezone": "Europe/Rome"}})
        self.assertEqual(stored.status, "modified")
        self.assertNotEqual(stored.stored_checksum, rendering_in_progress)
        self.assertServesFreshRendering(config)

    def test_vpn_change_during_a_polls_rendering(self):
        vpn = self._create_vpn()
        template = self._create_vpn_template(vpn=vpn, backend=PAUSING)
        config = self._config(templates=[template])
        self._poll(config)
        self.config_model.invalidate_checksums(self.config_model.objects.filter(pk=config.pk))
        old_cert = config.vpnclient_set.get().cert
        with self._paused_poll(config) as poll:
            rendering_in_progress = self._fresh_checksum(config)
            # a new CA re-issues the client certificate: the device's files change
            vpn.ca = self._create_ca(name="other-ca", common_name="other-ca")
            vpn.save()
        self.assertEqual(poll["result"], rendering_in_progress)
        self.assertNotEqual(config.vpnclient_set.get().cert_id, old_cert.pk)
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertIsNone(stored.stored_checksum)
        self.assertNotEqual(self._fresh_checksum(config), rendering_in_progress)
        self.assertServesFreshRendering(config)

    # an admin save racing a device report -----------------------------------

    def _admin_client(self):
        user_model = get_user_model()
        admin = user_model.objects.filter(username="admin").first() or user_model.objects.create_superuser(
            "admin", "admin@example.com", "pass"
        )
        client = Client()
        client.force_login(admin)
        return client

    def _change_url(self, config):
        opts = self.config_model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[config.pk])

    def _form_data(self, instance, **overrides):
        extra = {name: getattr(value, "pk", value) for name, value in self._extra_fields(self.config_model).items()}
        data = {
            **extra,
            "name": instance.name,
            "backend": instance.backend,
            "key": instance.key,
            "mac_address": instance.mac_address,
            "hardware_id": instance.hardware_id,
            "config": json.dumps(instance.config),
            "templates": ",".join(str(pk) for pk in instance.templates.values_list("pk", flat=True)),
        }
        data.update(overrides)
        return data

    def _report(self, config, status, **extra):
        response = self.client.post(
            reverse("controller:report_status", args=[config.pk.hex]), {"key": config.key, "status": status, **extra}
        )
        self.assertEqual(response.status_code, 200, response.content)

    def _update_info(self, config, **info):
        response = self.client.post(
            reverse("controller:update_info", args=[config.pk.hex]), {"key": config.key, **info}
        )
        self.assertEqual(response.status_code, 200, response.content)

    def test_admin_post_after_a_device_report_keeps_the_report(self):
        template = self._template(config={"general": {"timezone": "UTC"}})
        config = self._config(templates=[template])
        self._poll(config)
        admin = self._admin_client()
        # the operator opens the form while the device is "running"...
        self.assertEqual(admin.get(self._change_url(config)).status_code, 200)
        form_config = self.config_model.objects.get(pk=config.pk)
        # ...the device reports an error and its model...
        self._report(config, "error", error_reason="uci: commit failed")
        self._update_info(config, model="TP-Link WDR4300", os="OpenWrt 23.05")
        # ...then the operator saves the form, read before that
        data = self._form_data(form_config, name="renamed", config=json.dumps({"general": {"timezone": "UTC"}}))
        response = admin.post(self._change_url(config), data)
        self.assertEqual(response.status_code, 302, getattr(response, "context_data", None))
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual(stored.name, "renamed")
        self.assertEqual(
            (stored.error_reason, stored.model, stored.os), ("uci: commit failed", "TP-Link WDR4300", "OpenWrt 23.05")
        )
        # the name is in the rendering (hostname): the output changed
        self.assertEqual(stored.status, "modified")
        self.assertServesFreshRendering(config)

    @skipIf(connection.vendor == "sqlite", SQLITE_SERIALISES)
    def test_device_report_between_the_admins_read_and_save(self):
        config = self._config(config={"general": {"timezone": "UTC"}})
        self._poll(config)
        self._report(config, "running")
        admin = self._admin_client()
        data = self._form_data(config, hardware_id="SN-1")
        # the admin POST has read the row and is validating the form when
        # the device reports an error
        with self._paused(lambda: admin.post(self._change_url(config), data)) as post:
            self._report(config, "error", error_reason="uci: commit failed")
            self._update_info(config, model="TP-Link WDR4300")
        self.assertEqual(post["result"].status_code, 302)
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual(stored.hardware_id, "SN-1")
        # the output did not change: the device's report stands
        self.assertEqual(
            (stored.status, stored.error_reason, stored.model), ("error", "uci: commit failed", "TP-Link WDR4300")
        )
        self.assertServesFreshRendering(config)

    @skipIf(connection.vendor == "sqlite", SQLITE_SERIALISES)
    def test_device_report_during_an_admin_save_that_changes_the_output(self):
        config = self._config(config={"general": {"timezone": "UTC"}})
        self._poll(config)
        self._report(config, "running")
        admin = self._admin_client()
        data = self._form_data(config, config=json.dumps({"general": {"timezone": "Europe/Rome"}}))
        with self._paused(lambda: admin.post(self._change_url(config), data)) as post:
            self._update_info(config, model="TP-Link WDR4300", os="OpenWrt 23.05")
        self.assertEqual(post["result"].status_code, 302)
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual((stored.status, stored.model, stored.os), ("modified", "TP-Link WDR4300", "OpenWrt 23.05"))
        self.assertServesFreshRendering(config)
