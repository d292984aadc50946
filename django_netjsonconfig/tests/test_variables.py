"""Configuration variables: per-device values, template defaults, precedence, errors and status."""

import json

from django.core.exceptions import ValidationError
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext

from django_netjsonconfig.checks import check_settings
from django_netjsonconfig.tests import TestMixin
from django_netjsonconfig.tests.test_admin import AdminTestMixin


def _info_file(contents):
    return {"files": [{"path": "/etc/info", "mode": "0644", "contents": contents}]}


def _interface(**options):
    return {"interfaces": [{"name": "eth1", "type": "ethernet", **options}]}


class TestPrecedence(TestMixin, TestCase):
    def _config_with(self, context=None, **kwargs):
        first = self._create_template(name="first", config=_info_file("{{ site }}"), default_values={"site": "first"})
        second = self._create_template(
            name="second", config={"general": {"description": "{{ site }}"}}, default_values={"site": "second"}
        )
        return self._create_config(templates=[first, second], context=context or {}, **kwargs)

    def test_later_template_default_wins_over_earlier(self):
        config = self._config_with()
        self.assertEqual(config.json(dict=True)["files"][0]["contents"], "second")

    @override_settings(NETJSONCONFIG_CONTEXT={"site": "fleet"})
    def test_global_setting_wins_over_template_defaults(self):
        config = self._config_with()
        self.assertEqual(config.json(dict=True)["files"][0]["contents"], "fleet")

    @override_settings(NETJSONCONFIG_CONTEXT={"site": "fleet"})
    def test_device_value_wins_over_everything(self):
        config = self._config_with(context={"site": "kitchen"})
        self.assertEqual(config.json(dict=True)["files"][0]["contents"], "kitchen")
        self.assertIn("option description 'kitchen'", config.backend_instance.render())

    def test_sources_are_reported(self):
        config = self._config_with(context={"room": "12"})
        sources = {name: str(source) for name, (_value, source) in config.get_context_sources().items()}
        self.assertEqual(sources["site"], 'default of template "second"')
        self.assertEqual(sources["room"], "device")
        self.assertEqual(sources["name"], "built-in")

    @override_settings(NETJSONCONFIG_CONTEXT={"name": "everyone"})
    def test_global_setting_may_override_a_builtin_and_a_check_warns(self):
        config = self._create_config(config=_info_file("{{ name }}"))
        self.assertEqual(config.json(dict=True)["files"][0]["contents"], "everyone")
        warnings = [message for message in check_settings(None) if message.id == "django_netjsonconfig.W005"]
        self.assertEqual(len(warnings), 1)
        self.assertIn("name", warnings[0].msg)

    def test_no_warning_without_override(self):
        self.assertFalse([message for message in check_settings(None) if message.id == "django_netjsonconfig.W005"])

    def test_one_template_serves_many_devices(self):
        template = self._create_template(
            config={"general": {"timezone": "{{ tz }}"}, **_interface(mtu="{{ mtu }}")},
            default_values={"tz": "Europe/Rome", "mtu": "1500"},
        )
        rome = self._create_config(name="rome", templates=[template], mac_address="00:11:22:33:44:01", key="a" * 32)
        paris = self._create_config(
            name="paris",
            templates=[template],
            mac_address="00:11:22:33:44:02",
            key="b" * 32,
            context={"tz": "Europe/Paris", "mtu": "1400"},
        )
        self.assertIn("Europe/Rome", rome.backend_instance.render())
        self.assertIn("option mtu '1500'", rome.backend_instance.render())
        self.assertIn("Europe/Paris", paris.backend_instance.render())
        self.assertIn("option mtu '1400'", paris.backend_instance.render())


class TestVariableFields(TestMixin, TestCase):
    def test_builtins_cannot_be_shadowed_by_a_device(self):
        for name in ("id", "key", "name", "mac_address"):
            with self.subTest(name=name), self.assertRaises(ValidationError) as context:
                self._create_config(context={name: "x"})
            self.assertEqual(
                context.exception.message_dict["context"], [f"variable `{name}` is built in and cannot be redefined."]
            )

    def test_vpn_variables_cannot_be_shadowed_by_a_template(self):
        with self.assertRaises(ValidationError) as context:
            self._create_template(default_values={"cert_path_0123abcd": "/tmp/x"})
        self.assertIn("default_values", context.exception.message_dict)
        self.assertIn("cert_path_0123abcd", context.exception.message_dict["default_values"][0])

    def test_names_must_be_identifiers_and_values_text(self):
        with self.assertRaises(ValidationError) as context:
            self._create_config(context={"bad-name": "x", "list": [1]})
        self.assertEqual(
            context.exception.message_dict["context"],
            [
                '"bad-name" is not a valid variable name (letters, digits and underscores).',
                "variable `list`: the value must be a string or a number.",
            ],
        )

    def test_numbers_are_stored_as_strings(self):
        config = self._create_config(context={"vlan": 12})
        config.refresh_from_db()
        self.assertEqual(config.context, {"vlan": "12"})


class TestResolvedValidation(TestMixin, TestCase):
    def test_placeholder_in_a_numeric_field_is_valid_when_its_value_is(self):
        config = self._create_config(config=_interface(mtu="{{ mtu }}"), context={"mtu": "1400"})
        self.assertIn("option mtu '1400'", config.backend_instance.render())
        self.assertEqual(config.json(dict=True)["interfaces"][0]["mtu"], 1400)

    def test_placeholder_in_a_boolean_field(self):
        config = self._create_config(config=_interface(disabled="{{ off }}"), context={"off": "true"})
        self.assertIn("option enabled '0'", config.backend_instance.render())

    def test_invalid_resolved_value_is_refused_on_config(self):
        with self.assertRaises(ValidationError) as context:
            self._create_config(config=_interface(mtu="{{ mtu }}"), context={"mtu": "huge"})
        self.assertEqual(
            context.exception.message_dict, {"config": ['interfaces[0].mtu: "huge" is not of type integer.']}
        )

    def test_resolved_value_out_of_range_is_refused(self):
        with self.assertRaises(ValidationError) as context:
            self._create_config(config=_interface(mtu="{{ mtu }}"), context={"mtu": "9"})
        self.assertEqual(
            context.exception.message_dict, {"config": ["interfaces[0].mtu: 9 is less than the minimum of 68."]}
        )

    def test_string_field_keeps_a_numeric_looking_value_as_text(self):
        wireless = {"radio": "radio0", "mode": "access_point", "ssid": "{{ ssid }}"}
        config = self._create_config(
            config={"interfaces": [{"name": "wlan0", "type": "wireless", "wireless": wireless}]},
            context={"ssid": "1234"},
        )
        self.assertIn("option ssid '1234'", config.backend_instance.render())

    def test_template_placeholder_valid_with_its_valid_default(self):
        template = self._create_template(config=_interface(mtu="{{ mtu }}"), default_values={"mtu": "1500"})
        self.assertIn("option mtu '1500'", template.backend_instance.render())

    def test_template_placeholder_without_default_is_accepted(self):
        template = self._create_template(config=_interface(mtu="{{ mtu }}", mac="{{ mac }}"))
        self.assertEqual(template.config["interfaces"][0]["mtu"], "{{ mtu }}")

    def test_template_placeholder_with_an_invalid_default_is_refused(self):
        with self.assertRaises(ValidationError) as context:
            self._create_template(config=_interface(mtu="{{ mtu }}"), default_values={"mtu": "big"})
        self.assertEqual(
            context.exception.message_dict, {"config": ['interfaces[0].mtu: "big" is not of type integer.']}
        )


class TestUndefinedVariables(TestMixin, TestCase):
    def test_template_using_an_undefined_variable_is_refused_on_templates(self):
        template = self._create_template(name="base", config={"general": {"timezone": "{{ tz }}"}})
        with self.assertRaises(ValidationError) as context:
            self._create_config(templates=[template])
        self.assertEqual(
            context.exception.message_dict, {"templates": ['variable `tz` is not defined (used by template "base")']}
        )

    def test_attaching_later_is_refused_too(self):
        template = self._create_template(name="base", config={"general": {"timezone": "{{ tz }}"}})
        config = self._create_config()
        with self.assertRaises(ValidationError) as context:
            config.templates.add(template)
        self.assertIn('variable `tz` is not defined (used by template "base")', context.exception.messages)
        self.assertEqual(list(config.templates.all()), [])

    def test_device_value_makes_it_valid(self):
        template = self._create_template(name="base", config={"general": {"timezone": "{{ tz }}"}})
        config = self._create_config(templates=[template], context={"tz": "Europe/Rome"})
        self.assertIn("Europe/Rome", config.backend_instance.render())

    def test_template_edit_using_a_new_variable_names_the_configs(self):
        template = self._create_template(name="base")
        self._create_config(name="ap-1", templates=[template])
        template.config = {"general": {"timezone": "{{ tz }}"}}
        with self.assertRaises(ValidationError) as context:
            template.full_clean()
        self.assertEqual(
            context.exception.message_dict,
            {"config": ['variable `tz` is not defined (used by template "base"), needed by configuration "ap-1"']},
        )

    def test_removing_a_default_still_used_is_refused_on_default_values(self):
        template = self._create_template(
            name="base", config={"general": {"timezone": "{{ tz }}"}}, default_values={"tz": "UTC"}
        )
        other = self._create_template(name="other", config=_info_file("{{ site }}"), default_values={"site": "x"})
        self._create_config(name="ap-1", templates=[template, other], context={"tz": "Europe/Rome"})
        other.default_values = {}
        with self.assertRaises(ValidationError) as context:
            other.full_clean()
        self.assertEqual(
            context.exception.message_dict,
            {
                "default_values": [
                    'variable `site` is not defined (used by template "other"), needed by configuration "ap-1"'
                ]
            },
        )


class TestDefaultTemplates(TestMixin, TestCase):
    def test_default_template_needs_values_for_its_variables(self):
        with self.assertRaises(ValidationError) as context:
            self._create_template(name="base", default=True, config={"general": {"timezone": "{{ tz }}"}})
        self.assertEqual(
            context.exception.message_dict,
            {
                "default_values": [
                    "variable `tz`: a template enabled by default needs a default value for each variable it "
                    "uses (new devices have no variables of their own)."
                ]
            },
        )

    def test_new_config_gets_the_default_values(self):
        self._create_template(
            name="base",
            default=True,
            config={"general": {"timezone": "{{ tz }}"}, **_interface(mtu="{{ mtu }}")},
            default_values={"tz": "Europe/Rome", "mtu": "1500"},
        )
        config = self._create_config()
        rendered = config.backend_instance.render()
        self.assertIn("Europe/Rome", rendered)
        self.assertIn("option mtu '1500'", rendered)


class TestStatusFlips(TestMixin, TestCase):
    def _applied(self, config):
        return self._device_applied(config)

    def test_device_variable_change_flips_status_only_when_used(self):
        config = self._applied(self._create_config(config=_info_file("{{ site }}"), context={"site": "a"}))
        config.context = {"site": "a", "unused": "x"}
        config.full_clean()
        config.save()
        self.assertStatus(config, "running")
        config.context = {"site": "b", "unused": "x"}
        config.full_clean()
        config.save()
        self.assertStatus(config, "modified")

    def _fleet(self, size, template):
        configs = []
        for index in range(size):
            context = {"site": "own"} if index % 2 else {}
            config = self.config_model(
                name=f"ap-{size}-{index}",
                backend="netjsonconfig.OpenWrt",
                mac_address=f"00:11:22:{size:02x}:{index // 256:02x}:{index % 256:02x}",
                key=f"{size:03d}{index:029d}",
                config={"general": {}},
                context=context,
                **self._extra_fields(self.config_model),
            )
            config.save()
            config.templates.add(template)
            configs.append(self._applied(config))
        return configs

    def _edit_defaults(self, size):
        template = self._create_template(
            name=f"site-{size}", config=_info_file("{{ site }}"), default_values={"site": "old"}
        )
        configs = self._fleet(size, template)
        template = self.template_model.objects.get(pk=template.pk)
        template.default_values = {"site": "new"}
        with CaptureQueriesContext(connection) as queries:
            template.full_clean()
            template.save()
        return configs, len(queries)

    def test_default_values_edit_flips_exactly_the_changed_configs_in_constant_queries(self):
        configs, small = self._edit_defaults(5)
        _configs, large = self._edit_defaults(50)
        self.assertEqual(small, large)
        for index, config in enumerate(configs):
            # the next poll renders again; unchanged output gets its status back
            polled = self.config_model.objects.get(pk=config.pk)
            polled.get_cached_checksum()
            self.assertStatus(polled, "running" if index % 2 else "modified")


class TestVariablesAdmin(AdminTestMixin, TestCase):
    def test_change_page_edits_variables_and_shows_their_sources(self):
        template = self._create_template(
            name="base", config=_info_file("{{ site }} {{ tz }} {{ name }}"), default_values={"tz": "UTC"}
        )
        config = self._create_config(templates=[template], context={"site": "kitchen"})
        response = self.client.get(self._url(self.config_model, "change", config.pk))
        self.assertContains(response, 'class="vLargeTextField djnjc-variables"')
        self.assertContains(response, 'id="djnjc-variables-data"')
        self.assertContains(
            response, "<tr><td><code>site</code></td><td><code>kitchen</code></td><td>device</td></tr>", html=True
        )
        self.assertContains(
            response,
            "<tr><td><code>tz</code></td><td><code>UTC</code></td><td>default of template &quot;base&quot;</td></tr>",
            html=True,
        )
        self.assertContains(
            response, "<tr><td><code>name</code></td><td><code>test</code></td><td>built-in</td></tr>", html=True
        )

    def test_saving_variables_from_the_form(self):
        config = self._create_config()
        data = self._config_data(config, context=json.dumps({"site": "lobby"}))
        response = self.client.post(self._url(self.config_model, "change", config.pk), data)
        self.assertEqual(response.status_code, 302)
        config.refresh_from_db()
        self.assertEqual(config.context, {"site": "lobby"})

    def test_form_without_the_field_keeps_the_variables(self):
        config = self._create_config(context={"site": "lobby"})
        response = self.client.post(self._url(self.config_model, "change", config.pk), self._config_data(config))
        self.assertEqual(response.status_code, 302)
        config.refresh_from_db()
        self.assertEqual(config.context, {"site": "lobby"})

    def test_shadowing_a_builtin_is_an_error_on_the_field(self):
        config = self._create_config()
        data = self._config_data(config, context=json.dumps({"name": "x"}))
        response = self.client.post(self._url(self.config_model, "change", config.pk), data)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.context["adminform"].form.errors["context"],
            ["variable `name` is built in and cannot be redefined."],
        )

    def test_undefined_variable_is_an_error_on_templates(self):
        template = self._create_template(name="base", config=_info_file("{{ tz }}"))
        data = self._config_data(templates=str(template.pk))
        response = self.client.post(self._url(self.config_model, "add"), data)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.context["adminform"].form.errors["templates"],
            ['variable `tz` is not defined (used by template "base")'],
        )

    def test_preview_uses_the_unsaved_variables(self):
        template = self._create_template(name="base", config=_info_file("site={{ site }}"))
        data = self._config_data(templates=str(template.pk), context=json.dumps({"site": "lobby"}))
        response = self.client.post(self._url(self.config_model, "preview"), data)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertContains(response, "site=lobby")

    def test_template_admin_saves_default_values(self):
        data = self._form_data(
            self.template_model,
            {
                "name": "wan",
                "type": "generic",
                "backend": "netjsonconfig.OpenWrt",
                "config": json.dumps(_interface(mtu="{{ mtu }}")),
                "default_values": json.dumps({"mtu": "1400"}),
            },
        )
        response = self.client.post(self._url(self.template_model, "add"), data)
        self.assertEqual(response.status_code, 302)
        template = self.template_model.objects.get(name="wan")
        self.assertEqual(template.default_values, {"mtu": "1400"})
        response = self.client.get(self._url(self.template_model, "change", template.pk))
        self.assertContains(response, 'class="vLargeTextField djnjc-variables"')

    def test_template_preview_without_a_value_names_the_variable(self):
        data = self._form_data(
            self.template_model,
            {
                "name": "wan",
                "type": "generic",
                "backend": "netjsonconfig.OpenWrt",
                "config": json.dumps(_interface(mtu="{{ mtu }}")),
                "default_values": "{}",
            },
        )
        response = self.client.post(self._url(self.template_model, "preview"), data)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            response.content.decode(),
            "The template cannot be rendered without a value for `mtu`: give it a default value to preview it.",
        )
        data["default_values"] = json.dumps({"mtu": "1400"})
        response = self.client.post(self._url(self.template_model, "preview"), data)
        self.assertContains(response, "option mtu &#x27;1400&#x27;")
