"""
Bulk template changes leave history: an admin log entry ("Recent actions",
the object's history page) for each config whose templates change, and with
django-reversion a revision holding the new state of those configs, which
reverts like any other.
"""

import reversion
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import TestCase
from reversion.models import Version

from django_netjsonconfig.tests.test_fleet_bulk import GENERIC, BulkTestMixin


class BulkHistoryMixin(BulkTestMixin):
    def setUp(self):
        super().setUp()
        self.admin = get_user_model().objects.get(username="admin")
        self.first = self._create_template(name="first", config={"interfaces": [{"name": "eth1", "type": "ethernet"}]})
        self.added = self._create_template(name="added", config=GENERIC)
        self.configs = self._configs(3)
        self.configs[2].templates.add(self.added)

    def _entries(self, config):
        content_type = ContentType.objects.get_for_model(self.config_model)
        return LogEntry.objects.filter(content_type=content_type, object_id=str(config.pk)).order_by("pk")

    def _add(self, configs):
        response = self._action("add_template", configs, step="confirm", template=self.added, position="")
        self.assertEqual(response.status_code, 302)


class TestBulkLogEntries(BulkHistoryMixin, TestCase):
    def test_each_changed_config_gets_a_log_entry(self):
        self._add(self.configs)
        for config in self.configs[:2]:
            entries = list(self._entries(config))
            self.assertEqual(len(entries), 1)
            entry = entries[0]
            self.assertEqual((entry.action_flag, entry.user, entry.object_repr), (CHANGE, self.admin, config.name))
            self.assertEqual(entry.get_change_message(), 'Added the template "added" (bulk action).')
        self.assertFalse(self._entries(self.configs[2]).exists())  # it had the template

    def test_the_history_page_and_recent_actions_show_it(self):
        self._add(self.configs[:1])
        history = self.client.get(self._admin_url(self.config_model, "history", self.configs[0].pk))
        self.assertContains(history, "Added the template &quot;added&quot; (bulk action).")
        index = self.client.get("/admin/")
        self.assertContains(index, self.configs[0].name)

    def test_remove_and_defaults_are_logged(self):
        self._action("remove_template", self.configs, step="confirm", template=self.added)
        self.assertEqual(
            [entry.get_change_message() for entry in self._entries(self.configs[2])],
            ['Removed the template "added" (bulk action).'],
        )
        self.first.default = True
        self.first.full_clean()
        self.first.save()
        self._action("apply_default_templates", self.configs[:1], step="confirm")
        self.assertEqual(
            [entry.get_change_message() for entry in self._entries(self.configs[0])],
            ['Applied the default templates: "first" (bulk action).'],
        )

    def test_a_refused_change_logs_nothing(self):
        other = self._create_template(name="other", backend="netjsonconfig.OpenWisp")
        self._action("add_template", self.configs, step="confirm", template=other, position="")
        self.assertFalse(LogEntry.objects.exists())


class TestBulkRevisions(BulkHistoryMixin, TestCase):
    def test_one_revision_with_the_new_templates_of_each_changed_config(self):
        self.assertTrue(reversion.is_registered(self.config_model))
        self._add(self.configs)
        versions = [Version.objects.get_for_object(config) for config in self.configs]
        self.assertEqual([len(found) for found in versions], [1, 1, 0])
        revision = versions[0][0].revision
        self.assertEqual(versions[1][0].revision, revision)
        self.assertEqual(revision.user, self.admin)
        self.assertEqual(revision.get_comment(), 'Added the template "added" (bulk action).')
        self.assertEqual(versions[0][0].field_dict["templates"], [self.added.pk])

    def test_reverting_to_before_the_change(self):
        config = self.configs[0]
        config.templates.add(self.first)
        with reversion.create_revision():
            config.save()
        before = Version.objects.get_for_object(config).get()
        self._add([config])
        self.assertEqual(self._templates(config), ["first", "added"])
        before.revert()
        self.assertEqual(self._templates(config), ["first"])
