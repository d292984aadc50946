"""The Config model: fields, validation, rendering, context and templates."""

import hashlib
import json
import re
from unittest import mock

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.base.config import get_random_key, get_random_mac
from django_netjsonconfig.tests import TestMixin

OPENWISP = "netjsonconfig.OpenWisp"


def _interface(name="eth0", **options):
    return {"name": name, "type": "ethernet", **options}


def _info_file(contents):
    return {"files": [{"path": "/etc/info", "mode": "0644", "contents": contents}]}


class TestConfigFields(TestMixin, TestCase):
    def test_str_is_the_name(self):
        self.assertEqual(str(self._create_config(name="ap-1")), "ap-1")

    def test_key_rejects_dots_slashes_and_spaces(self):
        for key in ("key/key", "key.key", "key key"):
            with self.subTest(key=key), self.assertRaises(ValidationError) as context:
                self._create_config(key=key)
            self.assertIn("key", context.exception.message_dict)

    def test_key_rejects_characters_unsafe_in_query_strings(self):
        for key in ("key+key", "key&key", "key%key", "key#key"):
            with self.subTest(key=key), self.assertRaises(ValidationError) as context:
                self._create_config(key=key)
            self.assertIn("key", context.exception.message_dict)

    def test_key_accepts_letters_digits_hyphens_and_underscores(self):
        config = self._create_config(key="Abc-123_xyz")
        self.assertEqual(config.key, "Abc-123_xyz")

    def test_default_key_is_32_random_url_safe_characters(self):
        config = self._create_config(key=get_random_key())
        other = self._create_config(name="other", mac_address="00:11:22:33:44:66", key=get_random_key())
        self.assertRegex(config.key, r"^[A-Za-z0-9]{32}$")
        self.assertNotEqual(config.key, other.key)
        self.assertRegex(self.config_model._meta.get_field("key").get_default(), r"^[A-Za-z0-9]{32}$")

    def test_mac_address_validator_rejects_wrong(self):
        with self.assertRaises(ValidationError) as context:
            self._create_config(mac_address="WRONG")
        self.assertIn("mac_address", context.exception.message_dict)

    def test_mac_address_rejects_too_many_pairs(self):
        with self.assertRaises(ValidationError) as context:
            self._create_config(mac_address="00:11:22:33:44:55:66")
        self.assertIn("mac_address", context.exception.message_dict)

    def test_mac_address_normalised_by_full_clean(self):
        config = self._build_config(mac_address="00-11-22-aa-bb-cc")
        config.full_clean()
        self.assertEqual(config.mac_address, "00:11:22:AA:BB:CC")

    def test_mac_address_normalised_on_create(self):
        config = self._build_config(mac_address="00:11:22:aa:bb:cc")
        config.save()
        config.refresh_from_db()
        self.assertEqual(config.mac_address, "00:11:22:AA:BB:CC")

    def test_mac_address_normalised_on_save(self):
        config = self._create_config()
        config.mac_address = "aa-bb-cc-dd-ee-ff"
        config.save()
        config.refresh_from_db()
        self.assertEqual(config.mac_address, "AA:BB:CC:DD:EE:FF")

    def test_mac_address_without_separators_is_normalised(self):
        config = self._build_config(mac_address="0011223344aa")
        config.full_clean()
        self.assertEqual(config.mac_address, "00:11:22:33:44:AA")

    def test_mac_address_unique_regardless_of_case_in_validation(self):
        self._create_config(mac_address="00:11:22:33:44:AA")
        with self.assertRaises(ValidationError) as context:
            self._create_config(name="other", key=get_random_key(), mac_address="00:11:22:33:44:aa")
        messages = context.exception.message_dict["mac_address"]
        self.assertTrue(any("already exists" in message for message in messages), messages)

    def test_mac_address_unique_regardless_of_case_in_database(self):
        self._build_config(name="one", key="one", mac_address="00:11:22:33:44:aa").save()
        with self.assertRaises(IntegrityError), transaction.atomic():
            self._build_config(name="two", key="two", mac_address="00:11:22:33:44:AA").save()

    def test_random_mac_is_a_valid_locally_administered_address(self):
        mac = get_random_mac()
        self.assertRegex(mac, r"^52:54:00(:[0-9a-f]{2}){3}$")
        config = self._create_config(mac_address=mac)
        self.assertEqual(config.mac_address, mac.upper())

    def test_name_is_unique(self):
        self._create_config()
        with self.assertRaises(ValidationError) as context:
            self._create_config(mac_address="00:11:22:33:44:66", key=get_random_key())
        self.assertIn("name", context.exception.message_dict)

    def test_new_config_status_is_modified(self):
        self.assertEqual(self._create_config().status, "modified")
        self.assertEqual(self._build_config().status, "modified")

    def test_status_choices(self):
        choices = [value for value, _label in self.config_model._meta.get_field("status").choices]
        self.assertEqual(choices, ["modified", "running", "error"])


class TestConfigValidation(TestMixin, TestCase):
    def test_config_none_is_cleaned_to_empty_dict(self):
        config = self._build_config(config=None)
        config.full_clean()
        self.assertEqual(config.config, {})

    def test_invalid_netjson_error_names_the_path(self):
        with self.assertRaises(ValidationError) as context:
            self._create_config(config={"interfaces": {"wrong": True}})
        self.assertEqual(
            context.exception.message_dict, {"config": ['interfaces: {"wrong": true} is not of type array.']}
        )

    def test_config_that_is_not_an_object_is_rejected_on_config(self):
        with self.assertRaises(ValidationError) as context:
            self._create_config(config=["not", "an", "object"])
        self.assertIn("config", context.exception.message_dict)

    def test_backend_outside_choices_is_rejected_on_backend(self):
        with self.assertRaises(ValidationError) as context:
            self._create_config(backend="wrong.Backend")
        self.assertIn("backend", context.exception.message_dict)

    @override_settings(NETJSONCONFIG_BACKENDS=(("wrong.Backend", "Wrong"),))
    def test_backend_import_error_names_the_path_on_backend(self):
        with self.assertRaises(ValidationError) as context:
            self._create_config(backend="wrong.Backend")
        messages = context.exception.message_dict["backend"]
        self.assertEqual(len(messages), 1, messages)
        self.assertIn('"wrong.Backend"', messages[0])
        self.assertIn("No module named 'wrong'", messages[0])

    @override_settings(NETJSONCONFIG_BACKENDS=(("django.db.models.Model", "Not a backend"),))
    def test_class_that_is_not_a_backend_is_rejected_on_backend(self):
        with self.assertRaises(ValidationError) as context:
            self._create_config(backend="django.db.models.Model")
        self.assertIn("not a netjsonconfig backend", context.exception.message_dict["backend"][0])

    def test_missing_backend_is_required(self):
        with self.assertRaises(ValidationError) as context:
            self._create_config(backend="")
        self.assertIn("backend", context.exception.message_dict)

    def test_name_that_is_not_a_hostname_is_rejected_on_the_name(self):
        with self.assertRaises(ValidationError) as context:
            self._create_config(name="with space")
        self.assertEqual(list(context.exception.message_dict), ["name"])
        self.assertIn('"with space" is not a valid hostname.', context.exception.message_dict["name"][0])

    def test_name_that_is_not_a_hostname_is_accepted_when_config_sets_hostname(self):
        config = self._create_config(name="with space", config={"general": {"hostname": "ap-1"}})
        self.assertEqual(config.json(dict=True)["general"]["hostname"], "ap-1")

    def test_validating_unsaved_config_runs_only_unique_checks(self):
        """Guards an optimisation: validating a new config queries only for uniqueness."""
        config = self._build_config()
        with CaptureQueriesContext(connection) as queries:
            config.full_clean()
        tables = {table for query in queries for table in re.findall(r'FROM "(\w+)"', query["sql"])}
        related = {self.template_model._meta.db_table, self.config_model.templates.through._meta.db_table}
        related.add(self.vpnclient_model._meta.db_table)
        self.assertIn(self.config_model._meta.db_table, tables)  # unique checks
        self.assertFalse(tables & related)  # templates and VPN clients are not rendered


class TestConfigRendering(TestMixin, TestCase):
    def test_hostname_is_injected_in_rendered_config_but_not_stored(self):
        config = self._create_config(name="ap-1", config={"general": {}})
        self.assertEqual(config.json(dict=True)["general"]["hostname"], "ap-1")
        config.refresh_from_db()
        self.assertEqual(config.config, {"general": {}})

    def test_config_without_general_section_gets_hostname(self):
        config = self._create_config(name="ap-1", config={})
        self.assertEqual(config.backend_instance.config["general"]["hostname"], "ap-1")
        self.assertEqual(config.config, {})

    def test_mac_address_name_becomes_dashed_hostname(self):
        config = self._create_config(name="00:11:22:33:44:55")
        self.assertEqual(config.json(dict=True)["general"]["hostname"], "00-11-22-33-44-55")
        self.assertIn("option hostname '00-11-22-33-44-55'", config.backend_instance.render())

    def test_hostname_of_template_is_overridden_by_name(self):
        template = self._create_template(config={"general": {"hostname": "from-template"}})
        config = self._create_config(name="ap-1", templates=[template])
        self.assertEqual(config.json(dict=True)["general"]["hostname"], "ap-1")

    def test_explicit_hostname_of_config_is_kept(self):
        config = self._create_config(name="ap-1", config={"general": {"hostname": "custom"}})
        self.assertEqual(config.json(dict=True)["general"]["hostname"], "custom")

    def test_checksum_is_md5_of_generated_archive(self):
        config = self._create_config()
        checksum = config.checksum
        self.assertRegex(checksum, r"^[0-9a-f]{32}$")
        self.assertEqual(checksum, hashlib.md5(config.generate().getvalue()).hexdigest())

    def test_cached_checksum_and_archive_match_generated_archive(self):
        config = self._create_config(templates=[self._create_template()])
        checksum, archive = config.get_cached_archive()
        self.assertEqual(config.get_cached_checksum(), checksum)
        self.assertEqual(hashlib.md5(archive).hexdigest(), checksum)
        self.assertEqual(archive, config.generate().getvalue())

    def test_json_returns_final_netjson_as_string(self):
        template = self._create_template()
        config = self._create_config(name="ap-1", templates=[template])
        data = json.loads(config.json())
        self.assertEqual(data["general"]["hostname"], "ap-1")
        self.assertEqual(data["interfaces"], [{"name": "eth0", "type": "ethernet"}])

    def test_json_passes_keyword_arguments_to_serializer(self):
        config = self._create_config()
        self.assertIn('\n    "general"', config.json(indent=4))

    def test_json_dict_is_plain_data(self):
        config = self._create_config()
        self.assertIs(type(config.json(dict=True)), dict)
        self.assertIs(type(config.json(dict=True)["general"]), dict)


class TestConfigContext(TestMixin, TestCase):
    def test_context_has_id_key_name_mac_address_and_hardware_id(self):
        config = self._create_config(hardware_id="SN-1")
        self.assertEqual(
            config.get_context(),
            {
                "id": str(config.id),
                "key": self.TEST_KEY,
                "name": "test",
                "mac_address": self.TEST_MAC_ADDRESS,
                "hardware_id": "SN-1",
            },
        )

    @override_settings(NETJSONCONFIG_CONTEXT={"site": "lab", "name": "global-name"})
    def test_context_setting_is_merged_and_overrides_builtin_variables(self):
        context = self._create_config().get_context()
        self.assertEqual(context["site"], "lab")
        self.assertEqual(context["name"], "global-name")

    def test_context_setting_read_at_call_time(self):
        config = self._create_config()
        with mock.patch.object(app_settings, "CONTEXT", {"site": "patched"}):
            self.assertEqual(config.get_context()["site"], "patched")
        self.assertNotIn("site", config.get_context())

    @override_settings(NETJSONCONFIG_CONTEXT={"site": "lab"})
    def test_variables_are_resolved_in_config(self):
        config = self._create_config(config=_info_file("{{ id }} {{key}} {{ name }} {{ mac_address }} {{ site }}"))
        contents = config.json(dict=True)["files"][0]["contents"]
        self.assertEqual(contents, f"{config.id} {self.TEST_KEY} test {self.TEST_MAC_ADDRESS} lab")

    @override_settings(NETJSONCONFIG_CONTEXT={"site": "lab"})
    def test_variables_are_resolved_inside_templates(self):
        template = self._create_template(config=_info_file("{{ name }} at {{ site }} ({{ mac_address }})"))
        config = self._create_config(templates=[template])
        contents = config.json(dict=True)["files"][0]["contents"]
        self.assertEqual(contents, f"test at lab ({self.TEST_MAC_ADDRESS})")

    def test_undefined_variables_are_refused(self):
        # never a literal {{ unknown }} on a device
        with self.assertRaises(ValidationError) as context:
            self._create_config(config=_info_file("{{ unknown }}"))
        self.assertEqual(context.exception.message_dict, {"config": ["variable `unknown` is not defined"]})

    def test_template_alone_has_no_context(self):
        template = self._create_template(config=_info_file("{{ name }}"))
        self.assertEqual(template.json(dict=True)["files"][0]["contents"], "{{ name }}")


class TestDefaultTemplates(TestMixin, TestCase):
    def test_default_templates_attached_only_for_matching_backend(self):
        openwrt = self._create_template(name="openwrt-default", default=True)
        self._create_template(name="openwisp-default", default=True, backend=OPENWISP)
        self._create_template(name="not-default")
        config = self._create_config()
        self.assertEqual(list(config.templates.all()), [openwrt])

    def test_default_templates_attached_ordered_by_name(self):
        second = self._create_template(name="b-default", default=True, config={"interfaces": [_interface("eth1")]})
        first = self._create_template(name="a-default", default=True)
        config = self._create_config()
        self.assertEqual(list(config.templates.all()), [first, second])

    def test_default_templates_are_attached_to_configs_created_without_full_clean(self):
        template = self._create_template(default=True)
        config = self._build_config()
        config.save()
        self.assertEqual(list(config.templates.all()), [template])

    def test_default_templates_are_not_attached_again_on_later_saves(self):
        config = self._create_config()
        self._create_template(default=True)
        config.save()
        self.assertEqual(config.templates.count(), 0)

    def test_conflicting_default_templates_leave_no_config_behind(self):
        self._create_template(name="a-default", default=True, config={"custom": {"a": 1}})
        config = self._build_config(config={"custom": [1]})
        with self.assertRaises(ValidationError):
            config.save()
        self.assertFalse(self.config_model.objects.exists())
        self.assertFalse(self.config_model.templates.through.objects.exists())

    def test_failed_creation_can_be_retried(self):
        template = self._create_template(name="a-default", default=True, config={"custom": {"a": 1}})
        config = self._build_config(config={"custom": [1]})
        with self.assertRaises(ValidationError):
            config.save()
        template.default = False
        template.save()
        config.save()
        self.assertTrue(self.config_model.objects.filter(pk=config.pk).exists())


class TestTemplateOrder(TestMixin, TestCase):
    def _templates(self):
        first = self._create_template(name="first", config={"interfaces": [_interface(mtu=1400)]})
        second = self._create_template(name="second", config={"interfaces": [_interface(mtu=1450)]})
        return first, second

    def _mtu(self, config):
        config = self.config_model.objects.get(pk=config.pk)
        return config.json(dict=True)["interfaces"][0]["mtu"]

    def test_templates_are_applied_first_to_last(self):
        first, second = self._templates()
        self.assertEqual(self._mtu(self._create_config(templates=[first, second])), 1450)

    def test_config_is_applied_after_templates(self):
        first, second = self._templates()
        config = self._create_config(config={"interfaces": [_interface(mtu=1500)]}, templates=[first, second])
        self.assertEqual(self._mtu(config), 1500)

    def test_set_reorders_templates(self):
        first, second = self._templates()
        config = self._create_config(templates=[first, second])
        config.templates.set([second, first])
        self.assertEqual(list(config.templates.all()), [second, first])
        self.assertEqual(self._mtu(config), 1400)

    def test_set_accepts_primary_keys_in_order(self):
        first, second = self._templates()
        config = self._create_config(templates=[first])
        config.templates.set([second.pk, str(first.pk)])
        self.assertEqual(list(config.templates.all()), [second, first])

    def test_add_appends_after_existing_templates(self):
        first, second = self._templates()
        config = self._create_config(templates=[second])
        config.templates.add(first)
        self.assertEqual(list(config.templates.all()), [second, first])
        self.assertEqual(self._mtu(config), 1400)

    def test_reverse_add_appends_template_last(self):
        first, second = self._templates()
        config = self._create_config(templates=[second])
        first.config_relations.add(config)
        self.assertEqual(list(config.templates.all()), [second, first])
        self.assertEqual(self._mtu(config), 1400)

    def test_remove_and_clear(self):
        first, second = self._templates()
        config = self._create_config(templates=[first, second])
        config.templates.remove(first)
        self.assertEqual(list(config.templates.all()), [second])
        config.templates.clear()
        self.assertEqual(list(config.templates.all()), [])

    def test_through_rows_read_as_a_relationship_with_the_template(self):
        first, _second = self._templates()
        config = self._create_config(templates=[first])
        self.assertEqual(str(config.templates.through.objects.get()), "Relationship with first")


class TestTemplateConflicts(TestMixin, TestCase):
    def _conflicting(self):
        template = self._create_template(name="dict-custom", config={"custom": {"a": 1}})
        config = self._create_config(config={"custom": [1]})
        return config, template

    def _through_rows(self):
        return self.config_model.templates.through.objects.count()

    def test_template_with_other_backend_is_rejected(self):
        template = self._create_template(name="openwisp", backend=OPENWISP)
        config = self._create_config()
        with self.assertRaises(ValidationError) as context:
            config.templates.add(template)
        message = " ".join(context.exception.messages)
        self.assertIn('"openwisp"', message)
        self.assertIn(OPENWISP, message)
        self.assertIn("does not match", message)
        self.assertEqual(self._through_rows(), 0)

    def test_set_with_template_of_other_backend_is_rejected_and_keeps_selection(self):
        kept = self._create_template()
        other = self._create_template(name="openwisp", backend=OPENWISP)
        config = self._create_config(templates=[kept])
        with self.assertRaises(ValidationError):
            config.templates.set([kept, other])
        self.assertEqual(list(config.templates.all()), [kept])

    def test_conflicting_template_is_rejected_with_conflict_message(self):
        config, template = self._conflicting()
        with self.assertRaises(ValidationError) as context:
            config.templates.add(template)
        message = " ".join(context.exception.messages)
        self.assertIn("conflict with the specified templates", message)
        self.assertIn("Incompatible type for 'custom'", message)
        self.assertEqual(self._through_rows(), 0)

    def test_conflicting_set_leaves_previous_templates(self):
        config, template = self._conflicting()
        kept = self._create_template()
        config.templates.set([kept])
        with self.assertRaises(ValidationError):
            config.templates.set([kept, template])
        self.assertEqual(list(config.templates.all()), [kept])

    def test_conflicting_reverse_add_is_rejected(self):
        config, template = self._conflicting()
        with self.assertRaises(ValidationError) as context:
            template.config_relations.add(config)
        self.assertIn("conflict with the specified templates", " ".join(context.exception.messages))
        self.assertEqual(self._through_rows(), 0)

    def test_templates_are_validated_with_the_templates_already_attached(self):
        custom_dict = self._create_template(name="dict-custom", config={"custom": {"a": 1}})
        custom_list = self._create_template(name="list-custom", config={"custom": [1]})
        config = self._create_config(templates=[custom_dict])
        with self.assertRaises(ValidationError):
            config.templates.add(custom_list)
        self.assertEqual(list(config.templates.all()), [custom_dict])

    def test_clean_templates_with_a_list_validates_exactly_that_selection(self):
        custom_dict = self._create_template(name="dict-custom", config={"custom": {"a": 1}})
        custom_list = self._create_template(name="list-custom", config={"custom": [1]})
        config = self._create_config(templates=[custom_dict])
        # a form submitting a new selection: the stored one does not count
        self.config_model.clean_templates(action="pre_add", instance=config, pk_set=[custom_list])
        with self.assertRaises(ValidationError):
            self.config_model.clean_templates(action="pre_add", instance=config, pk_set=[custom_dict, custom_list])

    def test_clean_templates_ignores_other_actions(self):
        config, template = self._conflicting()
        self.assertIsNone(self.config_model.clean_templates(action="post_add", instance=config, pk_set={template.pk}))

    def test_check_templates_validates_unsaved_config_with_submitted_templates(self):
        template = self._create_template(config={"custom": {"a": 1}})
        config = self._build_config(config={"custom": [1]})
        with self.assertRaises(ValidationError):
            config.check_templates([template])
        config.config = {"custom": {"b": 2}}
        config.check_templates([template])

    def test_two_templates_of_the_same_vpn_server_are_rejected(self):
        vpn = self._create_vpn()
        first = self._create_vpn_template(vpn=vpn, name="vpn-1")
        second = self._create_vpn_template(vpn=vpn, name="vpn-2")
        config = self._create_config()
        with self.assertRaises(ValidationError) as context:
            config.templates.set([first, second])
        self.assertIn("already used by another selected template", " ".join(context.exception.messages))
        self.assertFalse(self.vpnclient_model.objects.exists())


class TestMessagesAreReadable(TestMixin, TestCase):
    def test_schema_error_message_is_one_line_with_path_value_and_rule(self):
        with self.assertRaises(ValidationError) as context:
            self._create_config(config={"interfaces": {"wrong": True}})
        (message,) = context.exception.messages
        self.assertEqual(message, 'interfaces: {"wrong": true} is not of type array.')
