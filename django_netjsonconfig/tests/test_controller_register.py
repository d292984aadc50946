"""The registration endpoint (``POST /controller/register/``)."""

import json
import uuid

from django.test import TestCase, override_settings

from django_netjsonconfig.tests.controller_testing import (
    HEADER,
    MAC,
    SECRET,
    ControllerTestMixin,
    consistent_key,
)


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestRegisterNew(ControllerTestMixin, TestCase):
    def test_new_device_gets_201_and_five_lines(self):
        key = consistent_key(MAC)
        response = self._register(key=key)
        config = self.config_model.objects.get()
        expected = f"registration-result: success\nuuid: {config.pk.hex}\nkey: {key}\nhostname: ap-lobby\nis-new: 1\n"
        self.assertControllerResponse(response, 201, expected)

    def test_new_config_stores_posted_fields_and_client_address(self):
        self._register(key=consistent_key(MAC))
        config = self.config_model.objects.get()
        self.assertEqual(
            (config.name, config.mac_address, config.backend, config.key, config.last_ip, config.status),
            ("ap-lobby", MAC, "netjsonconfig.OpenWrt", consistent_key(MAC), "127.0.0.1", "modified"),
        )

    def test_without_key_a_random_key_is_issued(self):
        response = self._register()
        config = self.config_model.objects.get()
        self.assertRegex(config.key, r"^[A-Za-z0-9]{32}$")
        self.assertIn(f"key: {config.key}\n", response.content.decode())

    def test_empty_key_counts_as_absent(self):
        response = self._register(key="")
        self.assertEqual(response.status_code, 201)
        self.assertEqual(len(self.config_model.objects.get().key), 32)

    def test_lowercase_mac_is_stored_upper_case(self):
        self._register(mac_address="00:11:22:aa:bb:cc")
        self.assertEqual(self.config_model.objects.get().mac_address, "00:11:22:AA:BB:CC")

    @override_settings(NETJSONCONFIG_CONSISTENT_REGISTRATION=False)
    def test_posted_key_is_ignored_without_consistent_registration(self):
        self._register(key=consistent_key(MAC))
        self.assertNotEqual(self.config_model.objects.get().key, consistent_key(MAC))

    def test_default_templates_of_the_backend_are_attached(self):
        default = self._create_template(name="default", default=True)
        self._create_template(name="other", default=True, backend="netjsonconfig.OpenWisp")
        self._register()
        self.assertEqual(list(self.config_model.objects.get().templates.all()), [default])

    def test_today_agent_registration_stores_hardware_information(self):
        body = (
            f"backend=netjsonconfig.OpenWrt&key={consistent_key(MAC)}&management_ip=10.8.0.9"
            f"&secret={SECRET}&name=ap-lobby&hardware_id=&mac_address={MAC}"
            "&tags=uci%3A%20Entry%20not%20found&model=TP-Link%20Archer%20C7%20v5"
            "&os=OpenWrt%2023.05.2%20r23630-842932a63d&system=Qualcomm%20Atheros%20QCA956X"
        )
        response = self._post(self._url("register"), body)
        self.assertEqual(response.status_code, 201)
        config = self.config_model.objects.get()
        self.assertEqual(
            (config.hardware_id, config.model, config.os, config.system, config.management_ip),
            ("", "TP-Link Archer C7 v5", "OpenWrt 23.05.2 r23630-842932a63d", "Qualcomm Atheros QCA956X", "10.8.0.9"),
        )
        self.assertEqual(config.templates.count(), 0)

    def test_2017_agent_unencoded_body_registers(self):
        body = (
            f"secret={SECRET}&name=ap-lobby&backend=netjsonconfig.OpenWrt&mac_address={MAC}&key={consistent_key(MAC)}"
        )
        self.assertEqual(self._post(self._url("register"), body).status_code, 201)

    def test_invalid_management_ip_is_ignored(self):
        response = self._register(management_ip="10.0.0.300")
        self.assertEqual(response.status_code, 201)
        self.assertIsNone(self.config_model.objects.get().management_ip)

    def test_long_hardware_fields_are_truncated(self):
        self._register(hardware_id="h" * 100, model="m" * 100, os="o" * 500, system="s" * 500)
        config = self.config_model.objects.get()
        self.assertEqual(
            (config.hardware_id, config.model, config.os, config.system),
            ("h" * 64, "m" * 64, "o" * 128, "s" * 128),
        )

    def test_fields_outside_the_protocol_are_never_copied(self):
        response = self._register(
            status="running",
            config='{"interfaces": []}',
            id=str(uuid.uuid4()),
            last_ip="10.9.9.9",
            templates=str(uuid.uuid4()),
            vpn=str(uuid.uuid4()),
            error_reason="x",
            rendered_checksum="x",
            applied_checksum="x",
            created="2000-01-01",
        )
        self.assertEqual(response.status_code, 201)
        config = self.config_model.objects.get()
        self.assertEqual(
            (config.status, config.config, config.last_ip, config.error_reason, config.created.year),
            ("modified", {}, "127.0.0.1", "", config.modified.year),
        )

    def test_invalid_fields_give_400_with_sorted_json_errors(self):
        response = self._register(mac_address="WRONG", key="bad/key")
        errors = json.loads(response.content)
        self.assertControllerResponse(response, 400, json.dumps(errors, sort_keys=True, indent=4))
        self.assertEqual(list(errors), ["key", "mac_address"])
        self.assertFalse(self.config_model.objects.exists())

    def test_name_that_is_not_a_hostname_is_400(self):
        response = self._register(name="not a hostname")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response[HEADER], "true")
        self.assertFalse(self.config_model.objects.exists())

    def test_too_long_name_is_400(self):
        response = self._register(name="a" * 65)
        self.assertEqual(response.status_code, 400)
        self.assertIn("name", json.loads(response.content))

    def test_get_is_405(self):
        response = self.client.get(self._url("register"))
        self.assertEqual(response.status_code, 405)
        self.assertEqual(response["Allow"], "POST")


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestRegisterChecks(ControllerTestMixin, TestCase):
    def test_missing_parameters_are_reported_in_protocol_order(self):
        data = {}
        for param, value in (
            ("secret", SECRET),
            ("name", "ap"),
            ("mac_address", MAC),
            ("backend", "netjsonconfig.OpenWrt"),
        ):
            with self.subTest(param=param):
                response = self._post(self._url("register"), data)
                self.assertControllerResponse(response, 400, f'error: missing required parameter "{param}"\n')
            data[param] = value
        self.assertEqual(self._post(self._url("register"), data).status_code, 201)

    def test_wrong_secret_is_403(self):
        response = self._register(secret="guess")
        self.assertControllerResponse(response, 403, "error: wrong secret\n")

    def test_secret_is_checked_before_backend(self):
        response = self._register(secret="guess", backend="netjsonconfig.Nope")
        self.assertControllerResponse(response, 403, "error: wrong secret\n")

    def test_unknown_backend_is_403(self):
        response = self._register(backend="netjsonconfig.OpenVpn")
        self.assertControllerResponse(response, 403, "error: wrong backend\n")

    @override_settings(NETJSONCONFIG_SHARED_SECRET="")
    def test_empty_shared_secret_refuses_every_secret(self):
        response = self._register(secret="anything")
        self.assertControllerResponse(response, 403, "error: wrong secret\n")

    @override_settings(NETJSONCONFIG_REGISTRATION_ENABLED=False)
    def test_disabled_registration_is_404_with_header_and_empty_body(self):
        response = self._register()
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response[HEADER], "true")
        self.assertEqual(response.content, b"")
        self.assertFalse(self.config_model.objects.exists())

    def test_name_with_bytes_that_are_not_utf8_is_400(self):
        body = f"secret={SECRET}&name=ap%FFlobby&mac_address={MAC}&backend=netjsonconfig.OpenWrt"
        response = self._post(self._url("register"), body)
        self.assertControllerResponse(response, 400, 'error: invalid characters in parameter "name"\n')
        self.assertFalse(self.config_model.objects.exists())

    def test_raw_body_that_is_not_utf8_is_400(self):
        body = f"secret={SECRET}&name=ap-lobby&mac_address={MAC}&backend=netjsonconfig.OpenWrt&os=caf".encode()
        response = self._post(self._url("register"), body + b"\xe9")
        self.assertControllerResponse(response, 400, "error: request body is not valid UTF-8\n")
        self.assertFalse(self.config_model.objects.exists())

    def test_nul_character_in_a_stored_field_is_400(self):
        response = self._register(os="Open\x00Wrt")
        self.assertControllerResponse(response, 400, 'error: invalid characters in parameter "os"\n')

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
    def test_oversized_body_is_400_with_header(self):
        response = self._register(os="o" * 5000)
        self.assertControllerResponse(response, 400, "error: request body too large\n")
        self.assertFalse(self.config_model.objects.exists())

    @override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=10)
    def test_too_many_fields_is_400_with_header(self):
        response = self._register(**{f"field{number}": "x" for number in range(20)})
        self.assertControllerResponse(response, 400, "error: too many parameters\n")


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestRegisterKnownDevice(ControllerTestMixin, TestCase):
    def test_known_key_answers_is_new_0_with_stored_values(self):
        config = self._create_config(name="stored-name", key=consistent_key(MAC))
        response = self._register(name="posted-name", key=config.key)
        expected = f"registration-result: success\nuuid: {config.pk.hex}\nkey: {config.key}\nhostname: stored-name\nis-new: 0\n"
        self.assertControllerResponse(response, 201, expected)
        self.assertEqual(self.config_model.objects.get().name, "stored-name")

    def test_known_device_gets_last_ip_and_hardware_info_updated_only(self):
        config = self._create_config(key=consistent_key(MAC), os="old", model="kept")
        self._register(key=config.key, os="OpenWrt 23.05", model="", backend="netjsonconfig.OpenWisp")
        stored = self.config_model.objects.get()
        self.assertEqual(
            (stored.last_ip, stored.os, stored.model, stored.backend, stored.modified),
            ("127.0.0.1", "OpenWrt 23.05", "kept", "netjsonconfig.OpenWrt", config.modified),
        )

    def test_key_of_another_device_with_different_mac_is_refused(self):
        victim = self._create_config(key=consistent_key(MAC))
        before = self._snapshot()
        response = self._register(key=victim.key, mac_address="00:11:22:33:44:99", name="intruder")
        self.assertControllerResponse(response, 403, "error: key belongs to another device\n")
        self.assertNotIn(victim.pk.hex, response.content.decode())
        self.assertEqual(self._snapshot(), before)

    def test_hardware_id_key_matches_device_whose_mac_changed(self):
        config = self._create_config(key=consistent_key("SN-0001"), hardware_id="SN-0001")
        response = self._register(key=config.key, hardware_id="SN-0001", mac_address="00:11:22:33:44:99")
        self.assertIn(f"uuid: {config.pk.hex}\n", response.content.decode())
        self.assertIn("is-new: 0\n", response.content.decode())

    def test_mac_of_existing_config_is_adopted_with_consistent_key(self):
        config = self._create_config(key="operator-made-key")
        response = self._register(key=consistent_key(MAC))
        expected = (
            f"registration-result: success\nuuid: {config.pk.hex}\nkey: operator-made-key\nhostname: test\nis-new: 0\n"
        )
        self.assertControllerResponse(response, 201, expected)
        self.assertEqual(self.config_model.objects.get().key, "operator-made-key")

    def test_config_created_with_lowercase_mac_is_adopted_by_agent_sending_uppercase(self):
        config = self._create_config(mac_address="00:11:22:aa:bb:cc")
        response = self._register(mac_address="00:11:22:AA:BB:CC", key=consistent_key("00:11:22:AA:BB:CC"))
        self.assertIn(f"uuid: {config.pk.hex}\nkey: {config.key}\n", response.content.decode())
        self.assertEqual(self.config_model.objects.count(), 1)

    def test_mac_of_existing_config_with_inconsistent_key_is_400_duplicate(self):
        self._create_config()
        before = self._snapshot()
        response = self._register(key=consistent_key(MAC, secret="old-secret"))
        expected = {"mac_address": ["Configuration with this MAC address already exists."]}
        self.assertControllerResponse(response, 400, json.dumps(expected, sort_keys=True, indent=4))
        self.assertEqual(self._snapshot(), before)

    def test_mac_of_existing_config_without_key_is_400_duplicate(self):
        self._create_config()
        response = self._register()
        self.assertEqual(list(json.loads(response.content)), ["mac_address"])

    def test_mac_adoption_is_refused_when_hardware_ids_differ(self):
        self._create_config(key="operator-made-key", hardware_id="SN-0001")
        response = self._register(key=consistent_key(MAC), hardware_id="SN-0002")
        self.assertEqual(response.status_code, 400)

    @override_settings(NETJSONCONFIG_CONSISTENT_REGISTRATION=False)
    def test_known_key_is_not_looked_up_without_consistent_registration(self):
        self._create_config(key=consistent_key(MAC))
        response = self._register(key=consistent_key(MAC), mac_address="00:11:22:33:44:99", name="other")
        self.assertIn("is-new: 1\n", response.content.decode())
        self.assertEqual(self.config_model.objects.count(), 2)


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET, NETJSONCONFIG_REGISTRATION_SELF_CREATION=False)
class TestRegisterWithoutSelfCreation(ControllerTestMixin, TestCase):
    def test_unknown_device_is_404_with_a_reason_and_nothing_created(self):
        response = self._register()
        self.assertControllerResponse(response, 404, "error: unknown device and self-creation is disabled\n")
        self.assertFalse(self.config_model.objects.exists())

    def test_pre_created_config_is_adopted_by_mac(self):
        config = self._create_config(name="pre-made", key="operator-made-key", mac_address=MAC)
        response = self._register(name="posted")
        self.assertEqual(response.status_code, 201)
        body = response.content.decode()
        self.assertIn(f"uuid: {config.pk.hex}\nkey: operator-made-key\nhostname: pre-made\nis-new: 0\n", body)
        self.assertEqual(self.config_model.objects.count(), 1)

    def test_pre_created_config_is_adopted_by_hardware_id(self):
        config = self._create_config(mac_address="00:11:22:33:44:99", hardware_id="SN-77")
        response = self._register(hardware_id="SN-77")
        self.assertIn(f"uuid: {config.pk.hex}\n", response.content.decode())
        self.assertIn("is-new: 0\n", response.content.decode())


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET, NETJSONCONFIG_HARDWARE_ID_ENABLED=True)
class TestRegisterWithHardwareId(ControllerTestMixin, TestCase):
    def test_new_config_is_named_by_the_hardware_id(self):
        response = self._register(name="posted", hardware_id="SN-0042")
        self.assertEqual(response.status_code, 201, response.content)
        self.assertIn("hostname: SN-0042\nis-new: 1\n", response.content.decode())
        self.assertEqual(self.config_model.objects.get().name, "SN-0042")

    @override_settings(NETJSONCONFIG_HARDWARE_ID_AS_NAME=False)
    def test_posted_name_kept_without_hardware_id_as_name(self):
        response = self._register(name="posted", hardware_id="SN-0042")
        self.assertIn("hostname: posted\n", response.content.decode())

    def test_hardware_id_is_required(self):
        response = self._register()
        self.assertEqual(response.status_code, 400)
        self.assertIn("hardware_id", response.content.decode())
