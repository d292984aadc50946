"""
The poll path renders without validating again what was validated when it
was saved, and no stored configuration escapes
validation: every way of storing configuration either validates it and
records so at the row's ``render_version``, or leaves the row unmarked, in
which case the device's next poll validates before serving anything.
"""

import hashlib
import io
import json
import tarfile

from django.core import serializers
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase, override_settings

from django_netjsonconfig.base.config import render_fingerprint, validation_mark
from django_netjsonconfig.tests.test_controller import HEADER, SECRET, ControllerTestMixin

#: a typed field taking a variable: valid or not depending on its value
MTU_TEMPLATE = {"interfaces": [{"name": "eth0", "type": "ethernet", "mtu": "{{ mtu }}"}]}
INVALID = {"general": {}, "interfaces": [{"name": "eth0", "type": "ethernet", "mtu": "not a number"}]}
CANNOT_GENERATE = b"error: the configuration cannot be generated\n"


class RenderPathMixin(ControllerTestMixin):
    def _row(self, config):
        return self.config_model.objects.get(pk=config.pk)

    def _is_marked(self, config):
        """Whether the row says its current inputs are validated (its next rendering skips validation)."""
        row = self._row(config)
        return row.validated_render == validation_mark(row.render_version, render_fingerprint())

    def _network_file(self, config):
        archive = self._get("download_config", config, key=config.key).content
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            return tar.extractfile("etc/config/network").read().decode()

    def assertServedBroken(self, config):
        """Devices get 500 with the controller header (never a file), and the reason is recorded."""
        for name in ("checksum", "download_config"):
            response = self._get(name, config, key=config.key)
            self.assertControllerResponse(response, 500, CANNOT_GENERATE)
        self.assertIn("mtu", self._row(config).render_error)

    def assertServedValid(self, config):
        """The checksum a device gets is that of the fully validated rendering of the row as stored."""
        checksum = self._checksum(config)
        row = self._row(config)
        row.full_clean()
        self.assertEqual(checksum, hashlib.md5(row.generate().getvalue()).hexdigest())
        download = self._get("download_config", config, key=config.key)
        self.assertEqual(hashlib.md5(download.content).hexdigest(), checksum)
        self.assertEqual(row.render_error, "")


class TestSkippedValidation(RenderPathMixin, TestCase):
    def test_template_edit_validated_by_clean_marks_its_configs(self):
        template = self._create_template(config=MTU_TEMPLATE, default_values={"mtu": "1400"})
        configs = [
            self._create_config(name=f"ap{n}", mac_address=f"00:11:22:33:44:5{n}", key=f"k{n}" * 8) for n in (1, 2)
        ]
        for config in configs:
            config.templates.add(template)
            self._checksum(config)
        template.default_values = {"mtu": "1500"}
        template.full_clean()
        template.save()
        for config in configs:
            self.assertEqual(self._row(config).status, "modified")
            self.assertTrue(self._is_marked(config))
            self.assertServedValid(config)
            self.assertIn("option mtu '1500'", self._network_file(config))
            self.assertTrue(self._is_marked(config))

    def test_bulk_template_action_marks_what_it_validated(self):
        from django_netjsonconfig.bulk import TemplateChange

        template = self._create_template(config=MTU_TEMPLATE, default_values={"mtu": "1400"})
        config = self._create_config()
        self._checksum(config)
        TemplateChange(self.config_model, "add", template=template).apply(self.config_model.objects.all())
        self.assertEqual(self._row(config).status, "modified")
        self.assertTrue(self._is_marked(config))
        self.assertServedValid(config)
        self.assertIn("option mtu '1400'", self._network_file(config))

    def test_mark_is_honoured_only_at_its_version(self):
        config = self._create_config()
        self._checksum(config)
        self.assertTrue(self._is_marked(config))
        # a change that does not validate (here a plain UPDATE) bumps the version past the mark
        self.config_model.objects.filter(pk=config.pk).update(config=INVALID)
        self.config_model.invalidate_checksums(self.config_model.objects.filter(pk=config.pk))
        self.assertFalse(self._is_marked(config))
        self.assertServedBroken(config)

    def test_template_cleaned_then_edited_before_save_is_not_marked(self):
        template = self._create_template(config=MTU_TEMPLATE, default_values={"mtu": "1400"})
        config = self._create_config()
        config.templates.add(template)
        template.default_values = {"mtu": "1500"}
        template.full_clean()
        template.default_values = {"mtu": "not a number"}
        template.save()
        self.assertFalse(self._is_marked(config))
        self.assertServedBroken(config)

    def test_context_setting_change_is_validated_on_poll(self):
        template = self._create_template(
            config={"interfaces": [{"name": "eth0", "type": "ethernet", "mtu": "{{ mtu }}"}]}
        )
        with override_settings(NETJSONCONFIG_CONTEXT={"mtu": "1400"}):
            config = self._create_config()
            config.templates.add(template)
            self._checksum(config)
            self.assertTrue(self._is_marked(config))
        with override_settings(NETJSONCONFIG_CONTEXT={"mtu": "not a number"}):
            self.assertFalse(self._is_marked(config))
            self.assertServedBroken(config)


class TestNoStoredConfigurationEscapesValidation(RenderPathMixin, TestCase):
    """Each way configuration is stored, given an invalid configuration: devices never get a file."""

    def test_config_saved_without_full_clean(self):
        config = self._build_config(config=INVALID)
        config.save()
        self.assertFalse(self._is_marked(config))
        self.assertServedBroken(config)

    def test_config_updated_by_queryset_update(self):
        config = self._create_config()
        self._checksum(config)
        self.config_model.objects.filter(pk=config.pk).update(config=INVALID)
        self.config_model.mark_modified(self.config_model.objects.filter(pk=config.pk))
        self.assertServedBroken(config)

    def test_config_edited_with_save(self):
        config = self._create_config()
        self._checksum(config)
        config.config = INVALID
        config.save()
        self.assertServedBroken(config)

    def test_config_variables_edited_with_save(self):
        template = self._create_template(config=MTU_TEMPLATE, default_values={"mtu": "1400"})
        config = self._create_config()
        config.templates.add(template)
        self._checksum(config)
        config.context = {"mtu": "not a number"}
        config.save()
        self.assertServedBroken(config)

    def test_template_saved_without_full_clean(self):
        template = self._create_template(config=MTU_TEMPLATE, default_values={"mtu": "1400"})
        config = self._create_config()
        config.templates.add(template)
        self._checksum(config)
        template.config = {"interfaces": [{"name": "eth0", "type": "ethernet", "mtu": "not a number"}]}
        template.save()
        self.assertServedBroken(config)

    def test_template_default_values_saved_without_full_clean(self):
        template = self._create_template(config=MTU_TEMPLATE, default_values={"mtu": "1400"})
        config = self._create_config()
        config.templates.add(template)
        self._checksum(config)
        template.default_values = {"mtu": "not a number"}
        template.save()
        self.assertServedBroken(config)

    def test_config_written_raw_by_a_fixture(self):
        config = self._create_config()
        self._checksum(config)
        data = json.loads(serializers.serialize("json", [self._row(config)]))
        data[0]["fields"]["config"] = json.dumps(INVALID)
        for obj in serializers.deserialize("json", json.dumps(data)):
            obj.save()
        self.assertServedBroken(config)

    def test_template_attached_without_validation_by_the_unchecked_manager(self):
        template = self._create_template(config=MTU_TEMPLATE, default_values={"mtu": "1400"})
        self.template_model.objects.filter(pk=template.pk).update(default_values={"mtu": "not a number"})
        config = self._create_config()
        self._checksum(config)
        # the raw m2m table, as a SQL import would write it
        through = self.config_model._meta.get_field("templates").remote_field.through
        through.objects.create(config_id=config.pk, template_id=template.pk)
        self.config_model.invalidate_checksums(self.config_model.objects.filter(pk=config.pk))
        self.assertServedBroken(config)

    def test_vpn_server_edit_leaves_client_configs_to_validate(self):
        vpn = self._create_vpn()
        template = self._create_template(name="vpn-client", type="vpn", vpn=vpn, config={})
        config = self._create_config()
        config.templates.add(template)
        self._checksum(config)
        self.assertTrue(self._is_marked(config))
        vpn.invalidate_client_configs()  # what an edit of the server does to its clients' configs
        self.assertFalse(self._is_marked(config))
        self.assertServedValid(config)

    @override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
    def test_registration_validates_at_once(self):
        response = self._register()
        self.assertEqual(response.status_code, 201, response.content)
        config = self.config_model.objects.get()
        self.assertTrue(self._is_marked(config))
        self.assertServedValid(config)


class TestValidateCommand(RenderPathMixin, TestCase):
    def _call(self):
        out, err = io.StringIO(), io.StringIO()
        call_command("netjsonconfig_validate", stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    def test_fleet_broken_by_a_setting_is_listed_and_recorded(self):
        template = self._create_template(config=MTU_TEMPLATE)
        with override_settings(NETJSONCONFIG_CONTEXT={"mtu": "1400"}):
            good = self._create_config(name="good", config={"general": {}})
            broken = self._create_config(name="broken", mac_address="00:11:22:33:44:66", key="b" * 32)
            broken.templates.add(template)
            self.assertEqual(self._call()[0], "Validated 2 configuration(s): 2 valid, 0 broken.\n")
        with override_settings(NETJSONCONFIG_CONTEXT={"mtu": "not a number"}):
            with self.assertRaisesMessage(CommandError, "1 configuration(s) are invalid"):
                self._call()
            row = self._row(broken)
            self.assertIn("mtu", row.render_error)
            self.assertEqual(self._row(good).render_error, "")
            self.assertTrue(self._is_marked(good))
            self.assertServedBroken(broken)
        with override_settings(NETJSONCONFIG_CONTEXT={"mtu": "1500"}):
            out, err = self._call()
            self.assertEqual(err, "")
            self.assertEqual(self._row(broken).render_error, "")
            self.assertTrue(self._is_marked(broken))
            self.assertServedValid(broken)

    def test_error_names_the_configuration(self):
        config = self._build_config(name="lobby", config=INVALID)
        config.save()
        err = io.StringIO()
        with self.assertRaises(CommandError):
            call_command("netjsonconfig_validate", stdout=io.StringIO(), stderr=err)
        self.assertIn('Invalid configuration "lobby":', err.getvalue())
        self.assertEqual(self._get("checksum", config, key=config.key)[HEADER], "true")

    def test_poll_path_trusts_only_the_mark(self):
        # what makes the first poll after a validated change cheap: with the
        # mark at the current version nothing is validated again (here the
        # mark is forged onto an invalid row to show it; no code path does so)
        config = self._build_config(config=INVALID)
        config.save()
        row = self._row(config)
        self.config_model.objects.filter(pk=config.pk).update(
            validated_render=validation_mark(row.render_version, render_fingerprint())
        )
        self.assertEqual(self._get("checksum", config, key=config.key).status_code, 200)
