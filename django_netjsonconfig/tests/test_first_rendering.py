"""
Configs that have no stored rendering (created as ``running`` by a script,
imported from a 0.5.6 database): their first change sets ``modified``
exactly when the output changed, and ``manage.py netjsonconfig_render``
stores the missing renderings (decision 22).
"""

from io import StringIO

from django.core.management import CommandError, call_command
from django.test import TestCase

from django_netjsonconfig.tests import TestMixin

from .test_status import _info_file, _interface


class FirstRenderingMixin(TestMixin):
    def _render_command(self, *args):
        out, err = StringIO(), StringIO()
        call_command("netjsonconfig_render", *args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    def _imported_config(self, **kwargs):
        """A row as a 0.5.6 database gives it: status ``running``, no rendering stored."""
        config = self._create_config(**kwargs)
        self.config_model.objects.filter(pk=config.pk).update(
            status="running",
            rendered_checksum="",
            rendered_fingerprint="",
            rendered_version=None,
            archive_db=None,
            restore_status="",
        )
        return self.config_model.objects.get(pk=config.pk)

    def _poll(self, config):
        return self.config_model.objects.get(pk=config.pk).get_cached_checksum()


class TestFirstChange(FirstRenderingMixin, TestCase):
    def test_config_created_running_then_changed_becomes_modified(self):
        config = self._create_config(status="running")
        config.config = _interface("eth1")
        config.full_clean()
        config.save()
        self.assertStatus(config, "modified")

    def test_config_created_running_then_saved_unchanged_stays_running(self):
        config = self._create_config(status="running", config=_interface("eth0"))
        config.config = _interface("eth0")
        config.full_clean()
        config.save()
        self.assertStatus(config, "running")

    def test_new_config_has_its_rendering_stored(self):
        config = self._create_config()
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertEqual(stored.stored_checksum, stored.checksum)

    def test_imported_config_changed_becomes_modified(self):
        config = self._imported_config()
        config.config = _interface("eth1")
        config.full_clean()
        config.save()
        self.assertStatus(config, "modified")

    def test_imported_config_saved_with_same_output_stays_running(self):
        config = self._imported_config()
        config.name = config.name
        config.full_clean()
        config.save()
        self.assertStatus(config, "running")
        self._poll(config)
        self.assertStatus(config, "running")

    def test_imported_config_polled_then_changed_becomes_modified(self):
        config = self._imported_config()
        self._poll(config)
        self.assertStatus(config, "running")
        config.refresh_from_db()
        config.config = _interface("eth2")
        config.save()
        self.assertStatus(config, "modified")

    def test_template_edit_on_imported_config_sets_modified_after_poll(self):
        template = self._create_template(config=_info_file("one"))
        config = self._create_config(templates=[template])
        self.config_model.objects.filter(pk=config.pk).update(
            status="running", rendered_checksum="", rendered_version=None, archive_db=None, restore_status=""
        )
        template.config = _info_file("two")
        template.full_clean()
        template.save()
        self._poll(config)
        self.assertStatus(config, "modified")

    def test_template_edit_without_effect_on_imported_config_keeps_running(self):
        template = self._create_template(config=_info_file("one"))
        config = self._create_config(templates=[template])
        self.config_model.objects.filter(pk=config.pk).update(
            status="running", rendered_checksum="", rendered_version=None, archive_db=None, restore_status=""
        )
        template.name = "renamed"
        template.config = _info_file("one")
        template.full_clean()
        template.save()
        self._poll(config)
        self.assertStatus(config, "running")

    def test_template_deleted_from_imported_config_sets_modified_after_poll(self):
        template = self._create_template(config=_info_file("one"))
        config = self._create_config(templates=[template])
        self.config_model.objects.filter(pk=config.pk).update(
            status="running", rendered_checksum="", rendered_version=None, archive_db=None, restore_status=""
        )
        template.delete()
        self._poll(config)
        self.assertStatus(config, "modified")

    def test_vpn_server_ca_change_on_imported_client_config_sets_modified_after_poll(self):
        vpn = self._create_vpn()
        config = self._create_config(templates=[self._create_vpn_template(vpn=vpn)])
        self.config_model.objects.filter(pk=config.pk).update(
            status="running", rendered_checksum="", rendered_version=None, archive_db=None, restore_status=""
        )
        vpn.refresh_from_db()
        vpn.ca = self._create_ca(name="new-ca")
        vpn.cert = None
        vpn.full_clean()
        vpn.save()
        self._poll(config)
        self.assertStatus(config, "modified")

    def test_template_added_to_imported_config_sets_modified(self):
        template = self._create_template(config=_info_file("one"))
        config = self._imported_config()
        config.templates.add(template)
        self.assertStatus(config, "modified")

    def test_template_set_on_imported_config_sets_modified(self):
        template = self._create_template(config=_info_file("one"))
        config = self._imported_config()
        config.templates.set([template])
        self.assertStatus(config, "modified")


class TestRenderCommand(FirstRenderingMixin, TestCase):
    def test_stores_missing_renderings_and_keeps_status(self):
        first = self._imported_config()
        second = self._imported_config(name="second", mac_address="00:11:22:33:44:77", key="s" * 32)
        out, _err = self._render_command()
        self.assertIn("Rendered 2 configuration(s)", out)
        for config in (first, second):
            stored = self.config_model.objects.get(pk=config.pk)
            self.assertEqual(stored.status, "running")
            self.assertEqual(stored.stored_checksum, stored.checksum)
            self.assertEqual(bytes(stored.archive_db), stored.generate().getvalue())

    def test_is_idempotent(self):
        self._imported_config()
        self._render_command()
        out, _err = self._render_command()
        self.assertIn("Rendered 0 configuration(s) and 0 VPN server(s)", out)

    def test_first_change_after_command_sets_modified(self):
        config = self._imported_config()
        self._render_command()
        config.refresh_from_db()
        config.config = _interface("eth3")
        config.save()
        self.assertStatus(config, "modified")

    def test_vpn_server_without_rendering_gets_one(self):
        vpn = self._create_vpn()
        self.vpn_model.objects.filter(pk=vpn.pk).update(checksum_db="", archive_db=None)
        out, _err = self._render_command()
        self.assertIn("and 1 VPN server(s)", out)
        vpn.refresh_from_db()
        self.assertIsNotNone(vpn.stored_checksum)
        self.assertEqual(bytes(vpn.archive_db), vpn.generate().getvalue())

    def test_all_renders_outdated_renderings(self):
        config = self._create_config(config=_info_file("one"))
        self.config_model.invalidate_checksums(self.config_model.objects.filter(pk=config.pk))
        out, _err = self._render_command()
        self.assertIn("Rendered 0 configuration(s)", out)
        out, _err = self._render_command("--all")
        self.assertIn("Rendered 1 configuration(s)", out)
        stored = self.config_model.objects.get(pk=config.pk)
        self.assertIsNotNone(stored.stored_checksum)

    def test_config_that_cannot_be_rendered_is_reported_and_others_rendered(self):
        broken = self._imported_config()
        good = self._imported_config(name="good", mac_address="00:11:22:33:44:88", key="g" * 32)
        self.config_model.objects.filter(pk=broken.pk).update(
            config={"general": {}, "files": [{"path": "/x", "mode": "0644", "contents": 1}]}
        )
        with self.assertRaisesMessage(CommandError, "1 object(s) cannot be rendered"):
            self._render_command()
        self.assertIsNotNone(self.config_model.objects.get(pk=good.pk).stored_checksum)
        self.assertNotEqual(self.config_model.objects.get(pk=broken.pk).render_error, "")
