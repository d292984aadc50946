"""
A configuration that cannot be rendered says why in one short line
everywhere: the stored ``render_error``, the log, the admin page and the
``netjsonconfig_validate`` output (netjsonconfig's own error text is kilobytes
long: it carries the schema). And what a ``QuerySet.update()`` of configs
does (nothing until the configs are invalidated).
"""

from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.urls import reverse

from django_netjsonconfig.tests.controller_testing import ControllerTestMixin

#: saved without full_clean(), as a shell or a script would
BROKEN = {
    "interfaces": [
        {"name": f"eth{number}", "type": "ethernet", "mtu": "abc", "addresses": [{"proto": "dhcp", "family": "ipv4"}]}
        for number in range(40)
    ]
}
REASON = 'interfaces[0].mtu: "abc" is not of type integer.'


class TestRenderErrorsAreOneShortLine(ControllerTestMixin, TestCase):
    def _broken_config(self):
        config = self._create_config()
        config.config = BROKEN
        with self.assertLogs("django_netjsonconfig", "ERROR") as logs:
            config.save()
        self.assertOneShortLine(logs)
        return config

    def assertOneShortLine(self, logs):
        for record in logs.records:
            self.assertIsNone(record.exc_info)
            message = record.getMessage()
            self.assertNotIn("\n", message)
            self.assertLess(len(message), 400, message)
            self.assertIn(REASON, message)

    def test_stored_render_error_is_the_reason_in_one_line(self):
        config = self._broken_config()
        self.assertEqual(self.config_model.objects.get(pk=config.pk).render_error, REASON)

    def test_each_poll_logs_one_short_line(self):
        config = self._broken_config()
        for name in ("checksum", "download_config"):
            with self.subTest(name), self.assertLogs("django_netjsonconfig", "ERROR") as logs:
                response = self._get(name, config, key=config.key)
            self.assertControllerResponse(response, 500, "error: the configuration cannot be generated\n")
            self.assertOneShortLine(logs)

    def test_admin_page_shows_the_reason(self):
        config = self._broken_config()
        admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "pass")
        self.client.force_login(admin)
        meta = self.config_model._meta
        response = self.client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[config.pk]))
        self.assertContains(response, "interfaces[0].mtu: &quot;abc&quot; is not of type integer.")
        self.assertNotContains(response, "Against schema")

    def test_validate_command_prints_one_line_per_broken_configuration(self):
        config = self._broken_config()
        stdout, stderr = StringIO(), StringIO()
        with self.assertRaises(CommandError) as context:
            call_command("netjsonconfig_validate", stdout=stdout, stderr=stderr)
        output = "\n".join([str(context.exception), stdout.getvalue(), stderr.getvalue()])
        self.assertIn(f'configuration "{config.name}": {REASON}', output)
        self.assertLess(len(output), 1000, output)


class TestQuerySetUpdates(ControllerTestMixin, TestCase):
    """README: a ``QuerySet.update()`` is served only once the configs are invalidated."""

    def test_update_is_served_after_invalidate_checksums(self):
        config = self._create_config()
        before = self._checksum(config)
        queryset = self.config_model.objects.filter(pk=config.pk)
        queryset.update(config={"general": {"hostname": "updated-in-bulk"}})
        # no signal, no new render_version: the stored rendering is still served
        self.assertEqual(self._checksum(config), before)
        self.config_model.invalidate_checksums(queryset)
        after = self._checksum(config)
        self.assertNotEqual(after, before)
        self.assertEqual(self.config_model.objects.get(pk=config.pk).status, "modified")

    def test_invalid_update_is_validated_by_the_next_rendering(self):
        config = self._create_config()
        self._checksum(config)
        queryset = self.config_model.objects.filter(pk=config.pk)
        queryset.update(config=BROKEN)
        self.config_model.invalidate_checksums(queryset)
        with self.assertLogs("django_netjsonconfig", "ERROR"):
            response = self._get("checksum", config, key=config.key)
        self.assertEqual(response.status_code, 500)
        self.assertEqual(self.config_model.objects.get(pk=config.pk).render_error, REASON)
