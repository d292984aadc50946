"""
The integrators' signals (``django_netjsonconfig.signals``): each sent once,
with its documented arguments, after the transaction commits; none for a
change that rolls back; an unchanged poll with a receiver connected still
costs no query.
"""

import json

from django.db import transaction
from django.test import TestCase, TransactionTestCase, override_settings

from django_netjsonconfig import signals
from django_netjsonconfig.tests.controller_testing import MAC, SECRET, ControllerTestMixin, consistent_key
from django_netjsonconfig.tests.test_admin import AdminTestMixin
from django_netjsonconfig.tests.test_memory import MemoryTestMixin


class Recorder:
    """Connects a receiver to ``signal`` for the test and keeps the calls (``(sender, kwargs)``)."""

    def __init__(self, test, signal):
        self.calls = []
        signal.connect(self.receive, dispatch_uid=f"recorder-{id(self)}")
        test.addCleanup(signal.disconnect, dispatch_uid=f"recorder-{id(self)}")

    def receive(self, sender, signal, **kwargs):
        self.calls.append((sender, kwargs))


class TestDeviceSignals(ControllerTestMixin, TestCase):
    def test_checksum_requested_per_poll_with_instance_and_request(self):
        config = self._create_config()
        recorder = Recorder(self, signals.checksum_requested)
        with self.captureOnCommitCallbacks(execute=True):
            self._checksum(config)
        with self.captureOnCommitCallbacks(execute=True):
            self._checksum(config)
        self.assertEqual(len(recorder.calls), 2)
        sender, kwargs = recorder.calls[0]
        self.assertIs(sender, self.config_model)
        self.assertEqual(set(kwargs), {"instance", "request"})
        self.assertEqual(kwargs["instance"].pk, config.pk)
        self.assertEqual(kwargs["request"].GET["key"], config.key)

    def test_checksum_requested_not_sent_for_a_wrong_key(self):
        config = self._create_config()
        recorder = Recorder(self, signals.checksum_requested)
        with self.captureOnCommitCallbacks(execute=True):
            response = self._get("checksum", config, key="0" * 31 + "1")
        self.assertEqual(response.status_code, 403)
        self.assertEqual(recorder.calls, [])

    def test_config_download_requested(self):
        config = self._create_config()
        recorder = Recorder(self, signals.config_download_requested)
        with self.captureOnCommitCallbacks(execute=True):
            response = self._get("download_config", config, key=config.key)
        self.assertEqual(response.status_code, 200)
        [(sender, kwargs)] = recorder.calls
        self.assertIs(sender, self.config_model)
        self.assertEqual(kwargs["instance"].pk, config.pk)
        self.assertEqual(kwargs["request"].path, self._url("download_config", config))

    def test_config_status_changed_on_a_report_that_changes_it(self):
        config = self._create_config()
        recorder = Recorder(self, signals.config_status_changed)
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(self._report(config, status="running").status_code, 200)
        [(sender, kwargs)] = recorder.calls
        self.assertIs(sender, self.config_model)
        self.assertEqual((kwargs["instance"].pk, kwargs["instance"].status), (config.pk, "running"))
        with self.captureOnCommitCallbacks(execute=True):
            self._report(config, status="running")  # unchanged: no signal
        self.assertEqual(len(recorder.calls), 1)

    @override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
    def test_device_registered_new_then_known(self):
        recorder = Recorder(self, signals.device_registered)
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(self._register().status_code, 201)
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(self._register(key=consistent_key(MAC)).status_code, 201)
        config = self.config_model.objects.get(mac_address=MAC)
        self.assertEqual(
            [(kwargs["instance"].pk, kwargs["is_new"]) for _sender, kwargs in recorder.calls],
            [(config.pk, True), (config.pk, False)],
        )

    @override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
    def test_device_registered_not_sent_for_a_refused_registration(self):
        recorder = Recorder(self, signals.device_registered)
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(self._register(secret="wrong").status_code, 403)
        self.assertEqual(recorder.calls, [])


class TestConfigModifiedFromTheAdmin(AdminTestMixin, TestCase):
    def test_sent_when_the_rendering_changes_not_for_an_unchanged_save(self):
        config = self._create_config()
        config.get_cached_checksum()
        self.config_model.objects.filter(pk=config.pk).update(status="running")
        modified = Recorder(self, signals.config_modified)
        status_changed = Recorder(self, signals.config_status_changed)
        url = self._url(self.config_model, "change", config.pk)
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(url, self._config_data(config))
        self.assertEqual((modified.calls, status_changed.calls), ([], []))
        data = self._config_data(config, config=json.dumps({"general": {"timezone": "Europe/Rome"}}))
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(self.client.post(url, data).status_code, 302)
        [(sender, kwargs)] = modified.calls
        self.assertIs(sender, self.config_model)
        self.assertEqual(set(kwargs), {"instance", "device", "config"})
        self.assertEqual(kwargs["instance"].pk, config.pk)
        self.assertIs(kwargs["device"], kwargs["instance"])
        self.assertIs(kwargs["config"], kwargs["instance"])
        [(_sender, kwargs)] = status_changed.calls
        self.assertEqual(kwargs["instance"].status, "modified")


class TestNotSentOnRollback(ControllerTestMixin, TransactionTestCase):
    def test_a_rolled_back_change_sends_nothing(self):
        config = self._create_config()
        config.get_cached_checksum()
        recorder = Recorder(self, signals.config_modified)
        with self.assertRaises(RuntimeError), transaction.atomic():
            config.config = {"general": {"timezone": "Europe/Rome"}}
            config.save()
            raise RuntimeError("rolled back")
        self.assertEqual(recorder.calls, [])
        config.refresh_from_db()
        config.config = {"general": {"timezone": "Europe/Rome"}}
        config.save()
        self.assertEqual(len(recorder.calls), 1)

    @override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
    def test_a_registration_rolled_back_sends_nothing(self):
        recorder = Recorder(self, signals.device_registered)
        with self.assertRaises(RuntimeError), transaction.atomic():
            self.assertEqual(self._register().status_code, 201)
            raise RuntimeError("rolled back")
        self.assertEqual(recorder.calls, [])
        self.assertFalse(self.config_model.objects.exists())


class TestUnchangedPollWithAReceiver(MemoryTestMixin, TransactionTestCase):
    def test_costs_no_query(self):
        calls = []

        def do_nothing(sender, **kwargs):
            calls.append(sender)

        signals.checksum_requested.connect(do_nothing)
        self.addCleanup(signals.checksum_requested.disconnect, do_nothing)
        config = self._create_config()
        checksum = self._checksum(config)  # until answered from memory
        response, queries = self._queries(self._get, "checksum", config, key=config.key)
        self.assertEqual((response.content.decode(), queries), (checksum, 0))
        self.assertGreaterEqual(len(calls), 2)


class TestConfigModifiedByTheTemplateSelection(AdminTestMixin, TestCase):
    def test_sent_when_the_admin_adds_a_template(self):
        config = self._create_config()
        config.get_cached_checksum()
        template = self._create_template(config={"general": {"timezone": "Europe/Rome"}})
        recorder = Recorder(self, signals.config_modified)
        data = self._config_data(config, templates=str(template.pk))
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(self._url(self.config_model, "change", config.pk), data)
        self.assertEqual(response.status_code, 302)
        self.assertEqual([kwargs["instance"].pk for _sender, kwargs in recorder.calls], [config.pk])
