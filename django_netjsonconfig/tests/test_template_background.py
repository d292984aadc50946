"""
Template edits for big fleets: within NETJSONCONFIG_TEMPLATE_VALIDATION_BUDGET
the configurations using a template are checked in the request; beyond it
(with a task backend) the save is accepted and the rest runs in a worker.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import skipUnless

from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test import TestCase, TransactionTestCase, override_settings
from django_tasks_db.models import DBTaskResult

from django_netjsonconfig.tasks import check_template_configs
from django_netjsonconfig.tests.test_admin import AdminTestMixin
from django_netjsonconfig.tests.test_template import _wifi

ROOT = Path(__file__).resolve().parent.parent.parent
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
HEADER = "X-Openwisp-Controller"
LONG_NAME = "ap-with-a-rather-long-name-0002"


class FleetMixin(AdminTestMixin):
    """Three configs using one template; an SSID made of the name is too long for one of them."""

    def _fleet(self):
        self.template = self._create_template(name="wifi", config=_wifi("guest"))
        self.configs = [
            self._create_config(
                name=name, mac_address=f"00:11:22:33:44:{index:02X}", key=f"key{index:029d}", templates=[self.template]
            )
            for index, name in enumerate(["ap-1", "ap-2", LONG_NAME])
        ]

    def _save_template(self, config):
        data = self._form_data(
            self.template_model,
            {
                "name": self.template.name,
                "type": self.template.type,
                "backend": self.template.backend,
                "config": json.dumps(config),
                "default_values": "{}",
            },
        )
        return self.client.post(self._url(self.template_model, "change", self.template.pk), data)

    def _change_page(self):
        response = self.client.get(self._url(self.template_model, "change", self.template.pk))
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def _checksum(self, config):
        return self.client.get(f"/controller/checksum/{config.pk.hex}/", {"key": config.key})


@override_settings(TASKS=DATABASE_TASKS, NETJSONCONFIG_TEMPLATE_VALIDATION_BUDGET=2)
class TestBeyondTheBudget(FleetMixin, TestCase):
    def setUp(self):
        super().setUp()
        self._fleet()

    def test_edit_is_accepted_and_its_checks_are_queued(self):
        with self.captureOnCommitCallbacks(execute=True):
            response = self._save_template(_wifi("{{ name }}-guest"))
        self.assertEqual(response.status_code, 302, response.content[-3000:])
        self.template.refresh_from_db()
        self.assertEqual(self.template.config, _wifi("{{ name }}-guest"))
        queued = DBTaskResult.objects.get()
        self.assertEqual(queued.task_path, "django_netjsonconfig.tasks.check_template_configs")
        self.assertEqual(queued.status, "READY")
        self.assertIn("0 of", self._change_page())
        self.assertIn("3 configurations</a> rendered since their last change", self._change_page())

    def test_the_task_reports_the_broken_config_on_the_change_page(self):
        with self.captureOnCommitCallbacks(execute=True):
            self._save_template(_wifi("{{ name }}-guest"))
        # the queued task, run here in the test's process (see TestBackgroundWorker for the worker)
        result = check_template_configs.call(*DBTaskResult.objects.get().args_kwargs["args"])
        self.assertEqual(result, {"rendered": 2, "broken": 1})
        page = self._change_page()
        self.assertIn("3 of", page)
        self.assertIn("1 cannot be rendered", page)
        broken = self.config_model.objects.get(name=LONG_NAME)
        self.assertIn("ssid", broken.render_error)
        response = self._checksum(broken)
        self.assertEqual(response.status_code, 500)
        self.assertEqual(response[HEADER], "true")

    def test_undefined_variables_are_still_refused_in_the_request(self):
        with self.captureOnCommitCallbacks(execute=True):
            response = self._save_template(_wifi("{{ site }}-guest"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "site")
        self.assertContains(response, "ap-1")
        self.assertFalse(DBTaskResult.objects.exists())
        self.template.refresh_from_db()
        self.assertEqual(self.template.config, _wifi("guest"))

    def test_an_edit_within_the_budget_is_checked_in_the_request(self):
        with (
            override_settings(NETJSONCONFIG_TEMPLATE_VALIDATION_BUDGET=3),
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self._save_template(_wifi("{{ name }}-guest"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, f"&quot;{LONG_NAME}&quot; would become invalid")
        self.assertFalse(DBTaskResult.objects.exists())

    def test_a_save_through_the_orm_is_queued_too(self):
        self.template.config = _wifi("orm-guest")
        with self.captureOnCommitCallbacks(execute=True):
            self.template.save()
        self.assertEqual(DBTaskResult.objects.filter(status="READY").count(), 1)
        # the configs are invalidated in the same save, their devices render on their next poll
        for config in self.configs:
            config.refresh_from_db()
            self.assertEqual(config.status, "modified")

    def test_a_save_that_changes_nothing_queues_nothing(self):
        with self.captureOnCommitCallbacks(execute=True):
            response = self._save_template(_wifi("guest"))
        self.assertEqual(response.status_code, 302)
        self.assertFalse(DBTaskResult.objects.exists())


@override_settings(NETJSONCONFIG_TEMPLATE_VALIDATION_BUDGET=0)
class TestWithoutTaskBackend(FleetMixin, TestCase):
    """The embedded immediate backend: every check runs in the request, as before."""

    def test_a_breaking_edit_is_refused_whatever_the_budget(self):
        self._fleet()
        response = self._save_template(_wifi("{{ name }}-guest"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, f"&quot;{LONG_NAME}&quot; would become invalid")

    def test_the_change_page_shows_the_configurations(self):
        self._fleet()
        page = self._change_page()
        self.assertIn("3 of", page)
        self.assertIn(f"?templates__id__exact={self.template.pk}", page)
        self.assertNotIn("cannot be rendered", page)


class TestBudgetSetting(TestCase):
    def test_bad_values_fail_the_system_check(self):
        for value in (-1, "100", 1.5, True):
            with self.subTest(value=value), override_settings(NETJSONCONFIG_TEMPLATE_VALIDATION_BUDGET=value):
                with self.assertRaises(SystemCheckError) as context:
                    call_command("check")
                self.assertIn("NETJSONCONFIG_TEMPLATE_VALIDATION_BUDGET", str(context.exception))

    def test_none_and_zero_are_valid(self):
        for value in (None, 0, 10000):
            with self.subTest(value=value), override_settings(NETJSONCONFIG_TEMPLATE_VALIDATION_BUDGET=value):
                call_command("check")


def run_worker():
    """``manage.py db_worker`` of django-tasks' database backend, until the queue is empty."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DJNJC_TASKS": "database",
        "POSTGRES_DB": connection.settings_dict["NAME"],
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "tests" / "manage.py"), "db_worker", "--batch", "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@skipUnless(connection.vendor == "postgresql", "the worker process needs a database shared across processes")
@override_settings(TASKS=DATABASE_TASKS, NETJSONCONFIG_TEMPLATE_VALIDATION_BUDGET=2)
class TestBackgroundWorker(FleetMixin, TransactionTestCase):
    def test_worker_checks_the_fleet_and_reports_the_broken_config(self):
        self._fleet()
        for config in self.configs:
            self.assertEqual(self._checksum(config).status_code, 200)
        broken = self.configs[2]
        self.config_model.objects.filter(pk=broken.pk).update(status="running", error_reason="")
        response = self._save_template(_wifi("{{ name }}-guest"))
        self.assertEqual(response.status_code, 302)
        self.assertIn("0 of", self._change_page())
        self.assertEqual(DBTaskResult.objects.filter(status="READY").count(), 1)

        result = run_worker()
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertEqual(DBTaskResult.objects.get().status, "SUCCESSFUL", result.stderr[-3000:])

        page = self._change_page()
        self.assertIn("3 of", page)
        self.assertIn("1 cannot be rendered", page)
        self.assertIn(f"?templates__id__exact={self.template.pk}&amp;render_error=yes", page)
        listing = self.client.get(
            self._url(self.config_model, "changelist"),
            {"templates__id__exact": self.template.pk, "render_error": "yes"},
        )
        self.assertContains(listing, LONG_NAME)
        self.assertNotContains(listing, ">ap-1<")
        broken.refresh_from_db()
        self.assertIn("ssid", broken.render_error)
        # decision 13: the device's own columns are left alone
        self.assertEqual(broken.error_reason, "")
        # the others were pre-rendered by the worker: their devices get the stored archive
        for config in self.configs[:2]:
            config.refresh_from_db()
            self.assertEqual(config.rendered_version, config.render_version)
            answer = self._checksum(config)
            self.assertEqual(answer.status_code, 200)
            self.assertEqual(answer.content.decode(), config.rendered_checksum)
        answer = self._checksum(broken)
        self.assertEqual(answer.status_code, 500)
        self.assertEqual(answer[HEADER], "true")
