"""
Validation errors an operator can act on: short, naming the property in the
operator's own JSON, the value and the rule, on the field that causes them;
plus the 0.5.6 behaviours of forms and models kept (issue 11).
"""

import json

from django.core.exceptions import ValidationError
from django.test import TestCase, override_settings

from django_netjsonconfig.tests import TestMixin
from django_netjsonconfig.tests.test_admin import AdminTestMixin

OPENWISP = "netjsonconfig.OpenWisp"
ETHERNET = {"name": "eth0", "type": "ethernet"}


class TestModelMessages(TestMixin, TestCase):
    def _errors(self, **kwargs):
        with self.assertRaises(ValidationError) as context:
            self._create_config(**kwargs)
        return context.exception.message_dict

    def test_invalid_timezone_is_one_short_line_on_config(self):
        errors = self._errors(config={"general": {"timezone": "Mars/Olympus"}})
        self.assertEqual(errors, {"config": ['general.timezone: "Mars/Olympus" is not one of the 466 allowed values.']})

    def test_error_inside_an_interface_names_the_property_not_the_alternatives(self):
        errors = self._errors(config={"interfaces": [{**ETHERNET, "mtu": "big"}]})
        self.assertEqual(errors, {"config": ['interfaces[0].mtu: "big" is not of type integer.']})

    def test_wrong_type_of_interface_lists_the_allowed_types(self):
        errors = self._errors(config={"interfaces": [{"name": "eth0", "type": "token-ring"}]})
        self.assertEqual(errors, {"config": ['interfaces[0].type: "token-ring" is not one of the 12 allowed values.']})

    def test_long_values_and_pem_blocks_are_never_quoted_whole(self):
        pem = "-----BEGIN CERTIFICATE-----\n" + "A" * 2000 + "\n-----END CERTIFICATE-----"
        long_ssid = "s" * 500
        wireless = {"radio": "radio0", "mode": "access_point", "ssid": long_ssid}
        for config in (
            {"general": {"timezone": pem}},
            {"interfaces": [{"name": "wlan0", "type": "wireless", "wireless": wireless}]},
        ):
            with self.subTest(config=str(config)[:40]):
                (message,) = self._errors(config=config)["config"]
                self.assertLessEqual(len(message), 300, message)
                self.assertNotIn("AAAAAAAAAA", message)
                self.assertNotIn(long_ssid, message)

    def test_own_error_is_located_in_own_json_even_after_template_interfaces(self):
        template = self._create_template(config={"interfaces": [ETHERNET]})
        config = self._create_config()
        config.config = {"interfaces": [{"name": "eth1", "type": "ethernet", "mtu": 9}]}
        with self.assertRaises(ValidationError) as context:
            config.check_templates([template])
        self.assertEqual(
            context.exception.message_dict, {"config": ["interfaces[0].mtu: 9 is less than the minimum of 68."]}
        )

    @override_settings(NETJSONCONFIG_CONTEXT={"ssid": "a network name longer than thirty-two characters"})
    def test_error_caused_by_a_template_is_on_templates_and_names_it(self):
        wireless = {"radio": "radio0", "mode": "access_point", "ssid": "{{ ssid }}"}
        template = self._create_template(
            name="guest-wifi", config={"interfaces": [{"name": "wlan0", "type": "wireless", "wireless": wireless}]}
        )
        config = self._build_config(config={"interfaces": [{"name": "eth1", "type": "ethernet"}]})
        with self.assertRaises(ValidationError) as context:
            config.check_templates([template])
        self.assertEqual(
            context.exception.message_dict,
            {
                "templates": [
                    "There is a conflict with the specified templates: "
                    'template "guest-wifi", interfaces[0].wireless.ssid: "a network name longer than '
                    'thirty-two characters" is longer than 32 characters.'
                ]
            },
        )

    def test_full_clean_of_a_saved_config_attributes_errors_of_its_templates(self):
        template = self._create_template(name="wan", config={"interfaces": [ETHERNET]})
        config = self._create_config(templates=[template])
        config.config = {"interfaces": [{"name": "eth0", "mtu": 10}]}
        with self.assertRaises(ValidationError) as context:
            config.full_clean()
        # eth0 is merged with the template's: the MTU comes from the operator's JSON
        self.assertEqual(
            context.exception.message_dict, {"config": ["interfaces[0].mtu: 10 is less than the minimum of 68."]}
        )

    def test_own_fragment_completed_by_a_template_is_valid(self):
        template = self._create_template(config={"interfaces": [ETHERNET]})
        config = self._create_config(templates=[template])
        config.config = {"interfaces": [{"name": "eth0", "mtu": 1400}]}
        config.full_clean()
        config.save()
        self.assertIn("option mtu '1400'", config.backend_instance.render())


class TestTemplatesAreFragments(TestMixin, TestCase):
    def test_openwisp_template_without_hostname_is_accepted_and_used(self):
        template = self._create_template(backend=OPENWISP, config={"general": {"timezone": "Europe/Rome"}})
        config = self._create_config(backend=OPENWISP, name="site-ap", templates=[template])
        rendered = config.backend_instance.render()
        self.assertIn("option 'hostname' 'site-ap'", rendered)
        self.assertIn("Europe/Rome", rendered)

    def test_templates_still_need_what_every_fragment_needs(self):
        with self.assertRaises(ValidationError) as context:
            self._create_template(backend=OPENWISP, config={"interfaces": [{"type": "ethernet"}]})
        self.assertEqual(list(context.exception.message_dict), ["config"])
        self.assertIn("interfaces[0]", context.exception.message_dict["config"][0])

    def test_invalid_values_in_templates_are_still_refused(self):
        with self.assertRaises(ValidationError) as context:
            self._create_template(backend=OPENWISP, config={"general": {"timezone": "Mars/Olympus"}})
        self.assertIn("general.timezone", context.exception.message_dict["config"][0])


class TestBackendInstanceCache(TestMixin, TestCase):
    def test_del_works_whether_or_not_cached(self):
        config = self._create_config()
        del config.backend_instance  # dropped by save(): not cached
        config.full_clean()
        del config.backend_instance
        first = config.backend_instance
        self.assertIs(config.backend_instance, first)
        del config.backend_instance
        config.config = {"general": {"timezone": "Europe/Rome"}}
        self.assertIsNot(config.backend_instance, first)
        self.assertIn("Europe/Rome", config.backend_instance.render())


class TestOldSchemaNames(TestCase):
    def test_available_schemas_keeps_its_0_5_6_name(self):
        from django_netjsonconfig.views import available_schemas, available_schemas_json

        self.assertIn("interfaces", available_schemas["netjsonconfig.OpenWrt"]["properties"])
        self.assertIn("django_netjsonconfig.vpn_backends.OpenVpn", available_schemas)
        self.assertEqual(json.loads(available_schemas_json), available_schemas)
        # the hostname comes from the config's name unless set: offered, never required
        general = available_schemas[OPENWISP]["properties"]["general"]
        self.assertIn("hostname", general["properties"])
        self.assertNotIn("hostname", general.get("required", []))


class TestFormMessages(AdminTestMixin, TestCase):
    def _post_config(self, **overrides):
        response = self.client.post(self._url(self.config_model, "add"), self._config_data(**overrides))
        self.assertEqual(response.status_code, 200)
        return response.context["adminform"].form.errors

    def test_own_error_is_on_config_only(self):
        template = self._create_template(config={"interfaces": [ETHERNET]})
        config = json.dumps({"interfaces": [{"name": "eth1", "type": "ethernet", "mtu": "big"}]})
        errors = self._post_config(templates=str(template.pk), config=config)
        self.assertEqual(dict(errors), {"config": ['interfaces[0].mtu: "big" is not of type integer.']})

    def test_error_caused_by_a_template_is_on_templates_only(self):
        template = self._create_template(name="list", config={"custom": {"a": 1}})
        errors = self._post_config(templates=str(template.pk), config=json.dumps({"custom": [1]}))
        self.assertEqual(list(errors), ["templates"])
        self.assertIn("conflict with the specified templates", errors["templates"][0])

    def test_malformed_json_reports_line_and_column(self):
        errors = self._post_config(config='{\n  "general": {\n    "timezone": UTC\n  }\n}')
        self.assertEqual(dict(errors), {"config": ["Invalid JSON: Expecting value at line 3, column 17."]})

    def test_post_without_config_is_a_form_error_not_a_crash(self):
        cases = [
            (self.config_model, "add", None, self._config_data()),
            (self.template_model, "add", None, {"name": "t", "type": "generic", "backend": "netjsonconfig.OpenWrt"}),
            (self.vpn_model, "add", None, {"name": "v", "host": "vpn.example.com", "backend": self._vpn_backend()}),
        ]
        config = self._create_config()
        cases.append((self.config_model, "change", config.pk, self._config_data(config)))
        for model, view, pk, data in cases:
            data = {key: value for key, value in self._form_data(model, data).items() if key != "config"}
            with self.subTest(model=model._meta.model_name, view=view):
                url = self._url(model, view, *([pk] if pk else []))
                response = self.client.post(url, data)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response.context["adminform"].form.errors["config"], ["This field is required."])
        config.refresh_from_db()
        self.assertEqual(config.config, {"general": {}})

    def _vpn_backend(self):
        return "django_netjsonconfig.vpn_backends.OpenVpn"


class TestVpnServerDefaults(AdminTestMixin, TestCase):
    def test_add_form_starts_from_an_openvpn_server_without_files(self):
        response = self.client.get(self._url(self.vpn_model, "add"))
        initial = json.loads(response.context["adminform"].form["config"].value())
        self.assertNotIn("files", initial)
        (server,) = initial["openvpn"]
        expected = {
            "mode": "server",
            "port": 1194,
            "dev_type": "tun",
            "tls_server": True,
            "ca": "ca.pem",
            "dh": "dh.pem",
        }
        self.assertEqual({key: server[key] for key in expected}, expected)

    def test_server_saved_from_the_defaults_gives_working_clients(self):
        response = self.client.get(self._url(self.vpn_model, "add"))
        form = response.context["adminform"].form
        config = form["config"].value()
        ca = self._create_ca()
        data = {
            "key": form["key"].value(),
            "name": "office",
            "host": "vpn.example.com",
            "ca": ca.pk,
            "backend": "django_netjsonconfig.vpn_backends.OpenVpn",
            "dh": self.TEST_DH,
            "config": config,
        }
        response = self.client.post(self._url(self.vpn_model, "add"), self._form_data(self.vpn_model, data))
        self.assertEqual(response.status_code, 302, response.context and response.context["adminform"].form.errors)
        vpn = self.vpn_model.objects.get(name="office")
        server_conf = vpn.backend_instance.render()
        self.assertIn("port 1194", server_conf)
        self.assertIn("tls-server", server_conf)
        template = self._create_vpn_template(vpn=vpn)
        (client,) = template.config["openvpn"]
        self.assertEqual(client["remote"], [{"host": "vpn.example.com", "port": 1194}])
        self.assertTrue(client["tls_client"])
