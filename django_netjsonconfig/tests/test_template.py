"""The Template model: fields, validation, and how its changes reach configs."""

from django.core.exceptions import ValidationError
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext

from django_netjsonconfig.tests import TestMixin


def _interface(name, **options):
    return {"interfaces": [{"name": name, "type": "ethernet", **options}]}


class TestTemplateFields(TestMixin, TestCase):
    def test_str_shows_type_backend_and_name(self):
        self.assertEqual(str(self._create_template(name="test")), "[Generic-OpenWRT/LEDE] test")

    def test_str_of_vpn_template(self):
        template = self._create_vpn_template(name="tunnel")
        self.assertEqual(str(template), "[VPN-client-OpenWRT/LEDE] tunnel")

    def test_str_of_openwisp_template(self):
        template = self._create_template(name="test", backend="netjsonconfig.OpenWisp")
        self.assertEqual(str(template), "[Generic-OpenWISP Firmware 1.x] test")

    def test_defaults(self):
        template = self._create_template()
        self.assertEqual(template.type, "generic")
        self.assertFalse(template.default)
        self.assertIsNone(template.vpn)

    def test_default_field_is_labelled_enabled_by_default(self):
        self.assertEqual(self.template_model._meta.get_field("default").verbose_name, "enabled by default")

    def test_auto_cert_defaults_to_setting(self):
        self.assertTrue(self.template_model._meta.get_field("auto_cert").get_default())

    @override_settings(NETJSONCONFIG_DEFAULT_AUTO_CERT=False)
    def test_auto_cert_default_follows_setting_at_creation_time(self):
        self.assertFalse(self.template_model._meta.get_field("auto_cert").get_default())

    def test_empty_config_is_allowed(self):
        template = self._create_template(config={})
        self.assertEqual(template.config, {})

    def test_config_none_is_cleaned_to_empty_dict(self):
        template = self._create_template(config=None)
        self.assertEqual(template.config, {})

    def test_name_is_unique(self):
        self._create_template()
        with self.assertRaises(ValidationError) as context:
            self._create_template()
        self.assertIn("name", context.exception.message_dict)


class TestTemplateValidation(TestMixin, TestCase):
    def test_invalid_netjson_error_names_the_path(self):
        with self.assertRaises(ValidationError) as context:
            self._create_template(config={"interfaces": [{"name": "eth0", "type": "wrong"}]})
        self.assertEqual(
            context.exception.message_dict,
            {"config": ['interfaces[0].type: "wrong" is not one of the 12 allowed values.']},
        )

    @override_settings(NETJSONCONFIG_BACKENDS=(("wrong.Backend", "Wrong"),))
    def test_bad_backend_path_is_reported_on_backend(self):
        with self.assertRaises(ValidationError) as context:
            self._create_template(backend="wrong.Backend")
        self.assertIn('"wrong.Backend"', context.exception.message_dict["backend"][0])

    def test_template_gets_no_hostname(self):
        template = self._create_template(config={})
        self.assertNotIn("general", template.json(dict=True))

    def test_vpn_template_without_vpn_is_rejected_on_vpn(self):
        with self.assertRaises(ValidationError) as context:
            self._create_template(type="vpn", vpn=None)
        self.assertIn("vpn", context.exception.message_dict)

    def test_generic_template_drops_vpn_and_auto_cert(self):
        vpn = self._create_vpn()
        template = self._create_template(type="generic", vpn=vpn, auto_cert=True)
        template.refresh_from_db()
        self.assertIsNone(template.vpn)
        self.assertFalse(template.auto_cert)

    def test_empty_vpn_template_gets_client_configuration_of_its_vpn(self):
        vpn = self._create_vpn()
        template = self._create_vpn_template(vpn=vpn, auto_cert=False)
        self.assertEqual(template.config, vpn.auto_client(auto_cert=False))


def _wifi(ssid):
    return {
        "interfaces": [
            {
                "name": "wlan0",
                "type": "wireless",
                "wireless": {"radio": "radio0", "mode": "access_point", "ssid": ssid, "network": ["lan"]},
            }
        ],
        "radios": [{"name": "radio0", "protocol": "802.11n", "channel": 11, "channel_width": 20}],
    }


class TestTemplateEditsAreValidatedAgainstConfigs(TestMixin, TestCase):
    def _attached(self):
        template = self._create_template(config={"custom": {"a": 1}})
        config = self._create_config(name="ap-1", config={"custom": {"b": 2}}, templates=[template])
        return template, config

    def test_edit_that_breaks_an_attached_config_is_rejected(self):
        template, _config = self._attached()
        template.config = {"custom": [1]}
        with self.assertRaises(ValidationError) as context:
            template.full_clean()
        message = " ".join(context.exception.messages)
        self.assertIn('Configuration "ap-1" would become invalid', message)
        self.assertIn("Incompatible type for 'custom'", message)

    def test_identical_configs_are_reported_together(self):
        template = self._create_template(config={"custom": {"a": 1}})
        for index in range(5):
            self._create_config(
                name=f"ap-{index}",
                mac_address=f"00:11:22:33:44:{index:02X}",
                key=f"key{index}",
                config={"custom": {"b": 2}},
                templates=[template],
            )
        template.config = {"custom": [1]}
        with self.assertRaises(ValidationError) as context:
            template.full_clean()
        messages = context.exception.messages
        self.assertEqual(len(messages), 1)
        self.assertIn('"ap-0", "ap-1", "ap-2" and 2 more would become invalid', messages[0])

    def test_configs_are_validated_with_their_own_variables(self):
        template = self._create_template(config=_wifi("guest"))
        for index, name in enumerate(["ap-1", "ap-with-a-rather-long-name-0002"]):
            self._create_config(
                name=name, mac_address=f"00:11:22:33:44:{index:02X}", key=f"key{index}", templates=[template]
            )
        # an SSID has at most 32 characters: only the long name makes it too long
        template.config = _wifi("{{ name }}-guest")
        with self.assertRaises(ValidationError) as context:
            template.full_clean()
        messages = " ".join(context.exception.messages)
        self.assertIn('"ap-with-a-rather-long-name-0002" would become invalid', messages)
        self.assertNotIn('"ap-1"', messages)

    def test_configs_with_their_own_conflict_are_reported_apart(self):
        template, _config = self._attached()
        self._create_config(name="ap-2", mac_address="00:11:22:33:44:77", key="key2", templates=[template])
        template.config = {"custom": [1]}
        with self.assertRaises(ValidationError) as context:
            template.full_clean()
        messages = " ".join(context.exception.messages)
        self.assertIn('Configuration "ap-1" would become invalid', messages)
        self.assertNotIn("ap-2", messages)  # its own NetJSON has no "custom": merging a list is fine

    def test_renaming_a_template_does_not_validate_its_configs(self):
        """Guards an optimisation: a change that cannot affect the merged NetJSON validates no config."""
        template, _config = self._attached()
        template.name = "renamed"
        with CaptureQueriesContext(connection) as queries:
            template.full_clean()
        config_table = self.config_model._meta.db_table
        self.assertFalse([query for query in queries if f'"{config_table}"' in query["sql"]])

    def test_backend_change_of_an_attached_template_is_rejected(self):
        template, _config = self._attached()
        template.backend = "netjsonconfig.OpenWisp"
        with self.assertRaises(ValidationError) as context:
            template.full_clean()
        self.assertIn("does not match", " ".join(context.exception.messages))

    def test_edit_compatible_with_attached_configs_is_accepted(self):
        template, config = self._attached()
        template.config = {"custom": {"a": 2}}
        template.full_clean()
        template.save()
        self.assertEqual(self.config_model.objects.get(pk=config.pk).json(dict=True)["custom"], {"a": 2, "b": 2})

    def test_edit_is_validated_in_each_config_order(self):
        template, config = self._attached()
        other = self._create_template(name="other", config={"custom": {"c": 3}})
        config.templates.set([other, template])
        template.config = {"custom": {"a": 1}, "extra": {}}
        self.assertIsNone(template.full_clean())  # valid merged in each config's order

    def test_template_not_attached_is_validated_alone(self):
        template = self._create_template(config={"custom": {"a": 1}})
        template.config = {"custom": [1]}
        self.assertIsNone(template.full_clean())  # no config to merge it with: valid alone


class TemplateScaleMixin(TestMixin):
    def _template_used_by(self, count):
        template = self._create_template()
        configs = [
            self._build_config(
                name=f"ap-{index}",
                mac_address=f"00:11:22:33:{index // 256:02X}:{index % 256:02X}",
                key=f"key-{index}",
                # a rendering is stored, as for every config created through save() or polled
                # (configs without one are rendered once before their first change)
                rendered_checksum="0" * 32,
            )
            for index in range(count)
        ]
        self.config_model.objects.bulk_create(configs)
        through = self.config_model.templates.through
        through.objects.bulk_create(through(config=config, template=template, sort_value=1) for config in configs)
        return self.template_model.objects.get(pk=template.pk)

    def _queries(self, action):
        with CaptureQueriesContext(connection) as queries:
            action()
        return len(queries)

    def _edit(self, template):
        template.config = _interface("eth1")
        return template


class TestTemplateChangesScale(TemplateScaleMixin, TestCase):
    """
    The query-count tests here guard an optimisation: saving or validating a
    template costs a number of queries that does not grow with its configs.
    """

    def test_saving_template_costs_the_same_queries_for_5_and_50_configs(self):
        few = self._queries(self._edit(self._template_used_by(5)).save)
        self.template_model.objects.all().delete()
        self.config_model.objects.all().delete()
        many = self._queries(self._edit(self._template_used_by(50)).save)
        self.assertEqual(few, many)

    def test_saving_template_flags_all_its_configs(self):
        template = self._edit(self._template_used_by(50))
        template.save()
        self.assertEqual(self.config_model.objects.filter(status="modified").count(), 50)

    def test_validating_template_costs_the_same_queries_for_5_and_50_configs(self):
        few = self._queries(self._edit(self._template_used_by(5)).full_clean)
        self.template_model.objects.all().delete()
        self.config_model.objects.all().delete()
        many = self._queries(self._edit(self._template_used_by(50)).full_clean)
        self.assertEqual(few, many)

    def test_validating_template_with_vpn_clients_costs_the_same_queries(self):
        vpn_template = self._create_vpn_template()
        template = self._create_template(name="generic")
        for index in range(2):
            self._create_config(
                name=f"ap-{index}", mac_address=f"00:11:22:33:44:{index:02X}", key=f"k{index}", templates=[vpn_template]
            )
        template.config_relations.set(self.config_model.objects.all())
        few = self._queries(self._edit(self.template_model.objects.get(pk=template.pk)).full_clean)
        for index in range(2, 6):
            self._create_config(
                name=f"ap-{index}", mac_address=f"00:11:22:33:44:{index:02X}", key=f"k{index}", templates=[vpn_template]
            )
        template.config_relations.set(self.config_model.objects.all())
        many = self._queries(self._edit(self.template_model.objects.get(pk=template.pk)).full_clean)
        self.assertEqual(few, many)


class TestTemplateDeletion(TestMixin, TestCase):
    def test_deleting_template_flags_configs_that_used_it(self):
        template = self._create_template()
        config = self._device_applied(self._create_config(templates=[template]))
        template.delete()
        self.assertStatus(config, "modified")
        self.assertEqual(config.get_cached_checksum(), config.checksum)

    def test_bulk_deletion_of_templates_flags_configs(self):
        template = self._create_template()
        config = self._device_applied(self._create_config(templates=[template]))
        self.template_model.objects.filter(pk=template.pk).delete()
        self.assertStatus(config, "modified")

    def test_deleting_unused_template_keeps_status_of_configs(self):
        template = self._create_template()
        config = self._device_applied(self._create_config())
        template.delete()
        self.assertStatus(config, "running")
