"""VPN servers, VPN-client templates, client certificates and the DH command."""

import io
import json
import tarfile
import warnings
from io import StringIO

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.test import TestCase, override_settings
from netjsonconfig import OpenVpn as LibraryOpenVpn

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.dh import RFC7919_GROUPS
from django_netjsonconfig.tests import TestMixin
from django_netjsonconfig.vpn_backends import OpenVpn as ServerOpenVpn

NS_CERT_TYPE = x509.ObjectIdentifier("2.16.840.1.113730.1.1")
OPENVPN_PATH = "django_netjsonconfig.vpn_backends.OpenVpn"
ROUTED_ONLY_PATH = "django_netjsonconfig.tests.test_vpn.OpenVpn"


class OpenVpn(ServerOpenVpn):
    """A custom VPN backend (its main property stays ``openvpn``): routed servers only."""

    schema = json.loads(json.dumps(ServerOpenVpn.schema))
    schema["properties"]["openvpn"]["items"]["oneOf"] = [{"$ref": "#/definitions/server_routed"}]


def _archive_members(generated):
    """``{path: (mode, text)}`` of the files of a tar.gz archive stream."""
    with tarfile.open(fileobj=io.BytesIO(generated.getvalue()), mode="r:gz") as archive:
        return {
            member.name: (member.mode, archive.extractfile(member).read().decode())
            for member in archive.getmembers()
            if member.isfile()
        }


def _ns_cert_type(cert):
    return cert.x509.extensions.get_extension_for_oid(NS_CERT_TYPE).value.value


def _extended_key_usage(cert):
    return list(cert.x509.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def _dh_bits(pem):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Diffie-Hellman", category=UserWarning)
        from cryptography.hazmat.primitives.serialization import load_pem_parameters

        return load_pem_parameters(pem.encode()).parameter_numbers().p.bit_length()


class VpnTestMixin(TestMixin):
    """Helpers for configs using VPN-client templates."""

    def _create_vpn_config(self, template, number=1, **kwargs):
        options = {
            "name": f"device-{number}",
            "mac_address": f"00:11:22:33:44:{number:02X}",
            "key": f"device-key-{number:02d}".ljust(32, "0"),
            "templates": [template],
            **kwargs,
        }
        return self._create_config(**options)

    def _create_applied_config(self, template, number=1, **kwargs):
        """A config whose device has applied its current configuration."""
        config = self._create_vpn_config(template, number, **kwargs)
        config.get_cached_checksum()
        self.config_model.objects.filter(pk=config.pk).update(status="running")
        return self._reload(config)

    def _reload(self, instance):
        return type(instance).objects.get(pk=instance.pk)

    def _vpnclient(self, config):
        return self.vpnclient_model.objects.select_related("cert").get(config=config)

    def assertFlagged(self, config, previous_checksum):
        fresh = self._reload(config)
        self.assertEqual(fresh.status, "modified")
        self.assertNotEqual(fresh.checksum, previous_checksum)
        self.assertEqual(fresh.get_cached_checksum(), fresh.checksum)

    def assertUntouched(self, config):
        fresh = self._reload(config)
        self.assertEqual(fresh.status, "running")
        self.assertEqual(
            (fresh.render_version, fresh.rendered_checksum), (config.render_version, config.rendered_checksum)
        )
        self.assertEqual(fresh.checksum, config.checksum)


class TestVpnServer(VpnTestMixin, TestCase):
    def test_server_certificate_is_created_for_the_server(self):
        vpn = self._create_vpn(name="Main VPN server")
        cert = vpn.cert
        self.assertEqual(cert.ca, vpn.ca)
        self.assertEqual(cert.common_name, "main-vpn-server")
        self.assertEqual(cert.name, "Main VPN server")
        cert.x509.verify_directly_issued_by(vpn.ca.x509)

    def test_server_certificate_is_for_tls_servers(self):
        cert = self._create_vpn().cert
        self.assertEqual(_extended_key_usage(cert), [ExtendedKeyUsageOID.SERVER_AUTH])
        # django-x509 1.4 encodes nsCertType=server with the bit in the padding,
        # which OpenSSL-based clients reject: it must not be there
        with self.assertRaises(x509.ExtensionNotFound):
            _ns_cert_type(cert)

    def test_server_certificate_copies_the_subject_of_the_ca(self):
        cert = self._create_vpn().cert
        subject = cert.x509.subject
        for oid, value in (
            (NameOID.COUNTRY_NAME, "IT"),
            (NameOID.STATE_OR_PROVINCE_NAME, "RM"),
            (NameOID.LOCALITY_NAME, "Rome"),
            (NameOID.ORGANIZATION_NAME, "OpenWISP"),
            (NameOID.EMAIL_ADDRESS, "test@test.com"),
        ):
            self.assertEqual(subject.get_attributes_for_oid(oid)[0].value, value)
        self.assertEqual((cert.key_length, cert.digest), ("2048", "sha256"))

    def test_existing_certificate_of_the_ca_is_kept(self):
        ca = self._create_ca()
        cert = self._build(self.cert_model, {}, {"name": "server", "ca": ca, "common_name": "server"})
        cert.full_clean()
        cert.save()
        vpn = self._create_vpn(ca=ca, cert=cert)
        self.assertEqual(vpn.cert_id, cert.pk)
        self.assertEqual(self.cert_model.objects.count(), 1)

    def test_certificate_of_another_ca_is_rejected_on_cert(self):
        other_cert = self._create_vpn(name="other", ca=self._create_ca(name="other-ca")).cert
        with self.assertRaises(ValidationError) as context:
            self._create_vpn(cert=other_cert)
        self.assertIn("cert", context.exception.message_dict)

    def test_configuration_is_required(self):
        with self.assertRaises(ValidationError) as context:
            self._create_vpn(config={})
        self.assertIn("config", context.exception.message_dict)

    def test_configuration_none_counts_as_empty(self):
        vpn = self._build(self.vpn_model, {}, {"name": "v", "host": "h", "ca": self._create_ca(), "config": None})
        vpn.backend = "django_netjsonconfig.vpn_backends.OpenVpn"
        with self.assertRaises(ValidationError) as context:
            vpn.full_clean()
        self.assertEqual(vpn.config, {})
        self.assertIn("config", context.exception.message_dict)

    def test_every_error_of_one_clean_is_reported(self):
        other_cert = self._create_vpn(name="other", ca=self._create_ca(name="other-ca")).cert
        vpn = self._build(
            self.vpn_model,
            {},
            {
                "name": "v",
                "host": "h",
                "ca": self._create_ca(),
                "cert": other_cert,
                "backend": "django_netjsonconfig.vpn_backends.OpenVpn",
                "config": {"files": []},
                "dh": "not a PEM",
            },
        )
        with self.assertRaises(ValidationError) as context:
            vpn.clean()
        errors = context.exception.message_dict
        self.assertEqual(sorted(errors), ["cert", "config", "dh"])
        self.assertIn('exactly one "openvpn" VPN instance', errors["config"][0])
        self.assertIn("issued by the selected CA", errors["cert"][0])

    def test_missing_configuration_and_foreign_certificate_reported_together(self):
        other_cert = self._create_vpn(name="other", ca=self._create_ca(name="other-ca")).cert
        with self.assertRaises(ValidationError) as context:
            self._create_vpn(config=None, cert=other_cert)
        self.assertLessEqual({"cert", "config"}, set(context.exception.message_dict))

    def test_configuration_without_openvpn_section_is_rejected(self):
        with self.assertRaises(ValidationError) as context:
            self._create_vpn(config={"files": []})
        self.assertIn('exactly one "openvpn" VPN instance', str(context.exception.message_dict["config"]))

    def test_second_openvpn_instance_is_rejected(self):
        server = self._vpn_config["openvpn"][0]
        config = {"openvpn": [server, {**server, "name": "second", "dev": "tap1"}]}
        with self.assertRaises(ValidationError) as context:
            self._create_vpn(config=config)
        self.assertIn('exactly one "openvpn" VPN instance', str(context.exception.message_dict["config"]))

    def test_client_mode_instance_is_rejected(self):
        client = {
            "name": "client",
            "mode": "p2p",
            "proto": "udp",
            "dev": "tun0",
            "dev_type": "tun",
            "remote": [{"host": "vpn.example.com", "port": 1194}],
        }
        with self.assertRaises(ValidationError) as context:
            self._create_vpn(config={"openvpn": [client]})
        self.assertIn('mode "server", not "p2p"', str(context.exception.message_dict["config"]))

    def test_schema_errors_are_reported(self):
        server = {**self._vpn_config["openvpn"][0], "proto": "carrier-pigeon"}
        with self.assertRaises(ValidationError) as context:
            self._create_vpn(config={"openvpn": [server]})
        self.assertEqual(
            context.exception.message_dict,
            {"config": ['openvpn[0].proto: "carrier-pigeon" is not one of "udp", "tcp-server".']},
        )

    def test_rejected_server_leaves_no_certificate_behind(self):
        with self.assertRaises(ValidationError):
            self._create_vpn(config={"openvpn": []})
        self.assertEqual(self.cert_model.objects.count(), 0)
        self.assertEqual(self.vpn_model.objects.count(), 0)

    def test_failed_save_leaves_no_certificate_behind(self):
        vpn = self._create_vpn()
        options = {"name": vpn.name, "host": "vpn2.test.com", "backend": OPENVPN_PATH, "ca": vpn.ca}
        duplicate = self._build(self.vpn_model, {"config": self._vpn_config}, options)
        with self.assertRaises(IntegrityError):
            duplicate.save()
        self.assertIsNone(duplicate.cert_id)
        self.assertEqual(list(self.cert_model.objects.all()), [vpn.cert])

    def test_malformed_dh_parameters_are_rejected(self):
        with self.assertRaises(ValidationError) as context:
            self._create_vpn(dh="not a PEM")
        self.assertIn("dh", context.exception.message_dict)

    def test_empty_dh_gets_the_rfc7919_group(self):
        vpn = self._create_vpn(dh="")
        self.assertEqual(vpn.dh, RFC7919_GROUPS[2048])
        self.assertEqual(self._reload(vpn).dh, RFC7919_GROUPS[2048])

    @override_settings(NETJSONCONFIG_DH_KEY_LENGTH=4096)
    def test_dh_key_length_setting_chooses_the_group(self):
        vpn = self._create_vpn(dh="")
        self.assertEqual(_dh_bits(vpn.dh), 4096)

    def test_context_has_the_server_files(self):
        vpn = self._create_vpn()
        context = vpn.get_context()
        self.assertEqual(context["ca"], vpn.ca.certificate)
        self.assertEqual(context["cert"], vpn.cert.certificate)
        self.assertEqual(context["key"], vpn.cert.private_key)
        self.assertEqual(context["dh"], self.TEST_DH)
        self.assertEqual(set(context), {"ca", "cert", "key", "dh", "crl"})

    def test_context_crl_lists_revoked_certificates(self):
        vpn = self._create_vpn()
        config = self._create_vpn_config(self._create_vpn_template(vpn=vpn))
        cert = self._vpnclient(config).cert
        config.templates.clear()
        crl = x509.load_pem_x509_crl(self._reload(vpn).get_context()["crl"].encode())
        self.assertIsNotNone(crl.get_revoked_certificate_by_serial_number(int(cert.serial_number)))

    def test_server_configuration_renders(self):
        rendered = self._create_vpn().backend_instance.render()
        for line in ("ca ca.pem", "cert cert.pem", "key key.pem", "dh dh.pem", "mode server", "tls-server"):
            self.assertIn(line, rendered)

    def test_archive_contains_the_server_files(self):
        vpn = self._create_vpn()
        files = _archive_members(vpn.generate())
        self.assertEqual(files["ca.pem"][1], vpn.ca.certificate)
        self.assertEqual(files["cert.pem"][1], vpn.cert.certificate)
        self.assertEqual(files["key.pem"][1], vpn.cert.private_key)
        self.assertEqual(files["dh.pem"][1], self.TEST_DH)
        self.assertIn("example-vpn.conf", files)

    def test_explicit_files_are_added_to_the_default_files(self):
        config = {**self._vpn_config, "files": [{"path": "/etc/dh.pem", "mode": "0600", "contents": "{{ dh }}"}]}
        vpn = self._create_vpn(config=config)
        files = _archive_members(vpn.generate())
        self.assertEqual(
            set(files), {"example-vpn.conf", "ca.pem", "cert.pem", "key.pem", "dh.pem", "crl.pem", "etc/dh.pem"}
        )
        self.assertEqual(files["etc/dh.pem"], (0o600, self.TEST_DH))

    def test_stored_configuration_is_not_changed_by_rendering(self):
        vpn = self._create_vpn()
        vpn.generate()
        self.assertNotIn("files", self._reload(vpn).config)

    def test_str_is_the_name(self):
        self.assertEqual(str(self._create_vpn(name="office")), "office")


class TestOpenVpnServerBackend(TestCase):
    """The schema behind the VPN server editor."""

    schema = ServerOpenVpn.schema

    def test_exactly_one_instance(self):
        openvpn = self.schema["properties"]["openvpn"]
        self.assertEqual((openvpn["minItems"], openvpn["maxItems"], openvpn["additionalItems"]), (1, 1, False))

    def test_only_server_modes(self):
        refs = [item["$ref"] for item in self.schema["properties"]["openvpn"]["items"]["oneOf"]]
        self.assertEqual(
            refs, ["#/definitions/server_bridged", "#/definitions/server_routed", "#/definitions/server_manual"]
        )

    def test_openvpn_is_required(self):
        self.assertIn("openvpn", self.schema["required"])

    def test_file_name_defaults(self):
        tunnel = self.schema["definitions"]["tunnel"]["properties"]
        self.assertEqual([tunnel[name]["default"] for name in ("ca", "cert", "key")], ["ca.pem", "cert.pem", "key.pem"])
        self.assertEqual(self.schema["definitions"]["server"]["properties"]["dh"]["default"], "dh.pem")

    def test_the_editor_does_not_write_the_default_files(self):
        # they are merged when rendering
        self.assertNotIn("default", self.schema["properties"]["files"])
        self.assertEqual(
            ServerOpenVpn.default_files,
            [
                {"path": "ca.pem", "mode": "0644", "contents": "{{ ca }}"},
                {"path": "cert.pem", "mode": "0644", "contents": "{{ cert }}"},
                {"path": "key.pem", "mode": "0600", "contents": "{{ key }}"},
                {"path": "dh.pem", "mode": "0644", "contents": "{{ dh }}"},
            ],
        )

    def test_library_schema_is_left_alone(self):
        self.assertNotIn("maxItems", LibraryOpenVpn.schema["properties"]["openvpn"])
        self.assertEqual(len(LibraryOpenVpn.schema["properties"]["openvpn"]["items"]["oneOf"]), 4)

    def test_client_configurations_keep_working(self):
        client = ServerOpenVpn.auto_client(host="vpn.example.com", server=TestMixin._vpn_config["openvpn"][0])
        self.assertEqual(client["openvpn"][0]["remote"], [{"host": "vpn.example.com", "port": 1195}])


class TestVpnTemplate(VpnTestMixin, TestCase):
    def test_empty_vpn_template_gets_the_client_configuration(self):
        vpn = self._create_vpn()
        template = self._create_vpn_template(vpn=vpn)
        self.assertEqual(template.config, vpn.auto_client(auto_cert=True))
        hex_id = vpn.pk.hex
        client = template.config["openvpn"][0]
        self.assertEqual(client["remote"], [{"host": "vpn1.test.com", "port": 1195}])
        self.assertEqual(
            (client["ca"], client["cert"], client["key"]),
            (f"{{{{ca_path_{hex_id}}}}}", f"{{{{cert_path_{hex_id}}}}}", f"{{{{key_path_{hex_id}}}}}"),
        )

    def test_without_auto_cert_the_template_ships_only_the_ca(self):
        vpn = self._create_vpn()
        template = self._create_vpn_template(vpn=vpn, auto_cert=False)
        client = template.config["openvpn"][0]
        self.assertEqual((client["cert"], client["key"]), ("cert.pem", "key.pem"))
        self.assertEqual([item["path"] for item in template.config["files"]], [f"{{{{ca_path_{vpn.pk.hex}}}}}"])

    def test_vpn_template_without_vpn_is_rejected_on_vpn(self):
        with self.assertRaises(ValidationError) as context:
            self._create_template(type="vpn", config={})
        self.assertIn("vpn", context.exception.message_dict)

    def test_hand_written_template_configuration_is_kept(self):
        vpn = self._create_vpn()
        config = {"openvpn": [{**vpn.auto_client()["openvpn"][0], "verb": 5}]}
        template = self._create_vpn_template(vpn=vpn, config=config)
        self.assertEqual(template.config["openvpn"][0]["verb"], 5)


class TestVpnClient(VpnTestMixin, TestCase):
    def test_adding_the_template_creates_a_client_with_certificate(self):
        vpn = self._create_vpn()
        config = self._create_vpn_config(self._create_vpn_template(vpn=vpn))
        client = self._vpnclient(config)
        self.assertEqual((client.vpn, client.auto_cert), (vpn, True))
        self.assertEqual(client.cert.ca, vpn.ca)
        client.cert.x509.verify_directly_issued_by(vpn.ca.x509)
        self.assertEqual(client.cert.name, "device-1")

    def test_client_certificate_is_for_tls_clients(self):
        cert = self._vpnclient(self._create_vpn_config(self._create_vpn_template())).cert
        self.assertEqual(_ns_cert_type(cert), bytes([0x03, 0x02, 0x07, 0x80]))
        self.assertEqual(_extended_key_usage(cert), [ExtendedKeyUsageOID.CLIENT_AUTH])

    def test_common_name_is_mac_address_and_name(self):
        config = self._create_vpn_config(self._create_vpn_template())
        self.assertEqual(self._vpnclient(config).cert.common_name, "00:11:22:33:44:01-device-1")

    def test_long_common_name_is_cut_to_64_characters(self):
        name = "a-very-long-device-name-" + "x" * 39
        config = self._create_vpn_config(self._create_vpn_template(), name=name)
        common_name = self._vpnclient(config).cert.common_name
        self.assertEqual(common_name, f"00:11:22:33:44:01-{name}"[:64])
        self.assertEqual(len(common_name), 64)

    def test_template_without_auto_cert_creates_a_client_without_certificate(self):
        config = self._create_vpn_config(self._create_vpn_template(auto_cert=False))
        client = self._vpnclient(config)
        self.assertEqual((client.auto_cert, client.cert), (False, None))
        self.assertEqual(self.cert_model.objects.count(), 1)  # the server's

    def test_removing_the_template_revokes_the_certificate(self):
        template = self._create_vpn_template()
        config = self._create_vpn_config(template)
        cert = self._vpnclient(config).cert
        config.templates.remove(template)
        self.assertFalse(self.vpnclient_model.objects.filter(config=config).exists())
        cert.refresh_from_db()
        self.assertTrue(cert.revoked)
        crl = x509.load_pem_x509_crl(cert.ca.crl)
        self.assertIsNotNone(crl.get_revoked_certificate_by_serial_number(int(cert.serial_number)))

    def test_clearing_the_templates_revokes_the_certificate(self):
        config = self._create_vpn_config(self._create_vpn_template())
        cert = self._vpnclient(config).cert
        config.templates.clear()
        cert.refresh_from_db()
        self.assertTrue(cert.revoked)
        self.assertFalse(self.vpnclient_model.objects.exists())

    def test_setting_an_empty_template_list_revokes_the_certificate(self):
        config = self._create_vpn_config(self._create_vpn_template())
        cert = self._vpnclient(config).cert
        config.templates.set([])
        cert.refresh_from_db()
        self.assertTrue(cert.revoked)

    def test_deleting_the_config_revokes_the_certificate(self):
        config = self._create_vpn_config(self._create_vpn_template())
        cert = self._vpnclient(config).cert
        config.delete()
        cert.refresh_from_db()
        self.assertTrue(cert.revoked)
        crl = x509.load_pem_x509_crl(cert.ca.crl)
        self.assertIsNotNone(crl.get_revoked_certificate_by_serial_number(int(cert.serial_number)))

    def test_saving_the_config_again_keeps_its_certificate(self):
        config = self._create_applied_config(self._create_vpn_template())
        cert = self._vpnclient(config).cert
        config.full_clean()
        config.save()
        self.assertEqual(self._vpnclient(config).cert, cert)
        self.assertFalse(self._reload(cert).revoked)
        self.assertUntouched(config)

    def test_setting_the_same_templates_keeps_its_certificate(self):
        template = self._create_vpn_template()
        generic = self._create_template()
        config = self._create_applied_config(template, templates=[generic, template])
        client = self._vpnclient(config)
        config.templates.set([generic, template])
        self.assertEqual(self._vpnclient(config).pk, client.pk)
        self.assertEqual(self._vpnclient(config).cert, client.cert)
        self.assertFalse(self._reload(client.cert).revoked)
        self.assertUntouched(config)

    def test_adding_a_generic_template_keeps_the_certificate(self):
        template = self._create_vpn_template()
        config = self._create_vpn_config(template)
        cert = self._vpnclient(config).cert
        config.templates.add(self._create_template())
        self.assertEqual(self._vpnclient(config).cert, cert)
        self.assertEqual(self.cert_model.objects.filter(revoked=True).count(), 0)

    def test_client_certificate_is_issued_only_once(self):
        client = self._vpnclient(self._create_vpn_config(self._create_vpn_template()))
        cert = client.cert
        client.save()
        self.assertEqual(self._vpnclient(client.config).cert, cert)
        self.assertEqual(self.cert_model.objects.count(), 2)


class TestVpnContext(VpnTestMixin, TestCase):
    def test_variables_of_a_client_with_certificate(self):
        vpn = self._create_vpn()
        config = self._create_vpn_config(self._create_vpn_template(vpn=vpn))
        cert = self._vpnclient(config).cert
        hex_id = vpn.pk.hex
        context = config.get_context()
        expected = {
            f"ca_path_{hex_id}": f"/etc/x509/ca-{vpn.ca.pk}-test-ca.pem",
            f"ca_contents_{hex_id}": vpn.ca.certificate,
            f"cert_path_{hex_id}": f"/etc/x509/client-{hex_id}.pem",
            f"cert_contents_{hex_id}": cert.certificate,
            f"key_path_{hex_id}": f"/etc/x509/key-{hex_id}.pem",
            f"key_contents_{hex_id}": cert.private_key,
        }
        self.assertEqual({key: context[key] for key in expected}, expected)
        vpn_keys = {key for key in context if key.endswith(hex_id)}
        self.assertEqual(vpn_keys, set(expected))

    def test_without_certificate_only_the_ca_variables(self):
        vpn = self._create_vpn()
        config = self._create_vpn_config(self._create_vpn_template(vpn=vpn, auto_cert=False))
        hex_id = vpn.pk.hex
        self.assertEqual(
            {key for key in config.get_context() if key.endswith(hex_id)},
            {f"ca_path_{hex_id}", f"ca_contents_{hex_id}"},
        )

    def test_ca_file_name_has_no_spaces(self):
        vpn = self._create_vpn(ca=self._create_ca(common_name="Main Office CA"))
        config = self._create_vpn_config(self._create_vpn_template(vpn=vpn))
        path = config.get_context()[f"ca_path_{vpn.pk.hex}"]
        self.assertEqual(path, f"/etc/x509/ca-{vpn.ca.pk}-Main_Office_CA.pem")

    def test_archive_holds_the_certificate_files(self):
        vpn = self._create_vpn()
        config = self._create_vpn_config(self._create_vpn_template(vpn=vpn))
        cert = self._vpnclient(config).cert
        files = _archive_members(config.generate())
        hex_id = vpn.pk.hex
        self.assertEqual(files[f"etc/x509/ca-{vpn.ca.pk}-test-ca.pem"], (0o600, vpn.ca.certificate))
        self.assertEqual(files[f"etc/x509/client-{hex_id}.pem"], (0o600, cert.certificate))
        self.assertEqual(files[f"etc/x509/key-{hex_id}.pem"], (0o600, cert.private_key))

    def test_rendered_client_points_at_the_certificate_files(self):
        vpn = self._create_vpn()
        config = self._create_vpn_config(self._create_vpn_template(vpn=vpn))
        openvpn = _archive_members(config.generate())["etc/config/openvpn"][1]
        hex_id = vpn.pk.hex
        self.assertIn(f"option cert '/etc/x509/client-{hex_id}.pem'", openvpn)
        self.assertIn(f"option key '/etc/x509/key-{hex_id}.pem'", openvpn)
        self.assertIn("list remote 'vpn1.test.com 1195'", openvpn)


class TestVpnSettings(VpnTestMixin, TestCase):
    @override_settings(NETJSONCONFIG_CERT_PATH="/etc/openvpn/x509")
    def test_cert_path_setting(self):
        vpn = self._create_vpn()
        config = self._create_vpn_config(self._create_vpn_template(vpn=vpn))
        context = config.get_context()
        self.assertEqual(context[f"cert_path_{vpn.pk.hex}"], f"/etc/openvpn/x509/client-{vpn.pk.hex}.pem")
        self.assertIn(f"etc/openvpn/x509/key-{vpn.pk.hex}.pem", _archive_members(config.generate()))

    @override_settings(NETJSONCONFIG_COMMON_NAME_FORMAT="{name}.{backend}")
    def test_common_name_format_setting(self):
        config = self._create_vpn_config(self._create_vpn_template())
        self.assertEqual(self._vpnclient(config).cert.common_name, "device-1.netjsonconfig.OpenWrt")

    @override_settings(NETJSONCONFIG_COMMON_NAME_FORMAT="{id}")
    def test_common_name_format_with_the_id(self):
        config = self._create_vpn_config(self._create_vpn_template())
        self.assertEqual(self._vpnclient(config).cert.common_name, str(config.pk))

    @override_settings(NETJSONCONFIG_DEFAULT_AUTO_CERT=False)
    def test_default_auto_cert_setting(self):
        vpn = self._create_vpn()
        options = {"name": "vpn", "type": "vpn", "vpn": vpn, "backend": "netjsonconfig.OpenWrt"}
        template = self._build(self.template_model, {}, options)
        template.full_clean()
        template.save()
        self.assertFalse(template.auto_cert)
        config = self._create_vpn_config(template)
        self.assertIsNone(self._vpnclient(config).cert)

    def test_default_auto_cert_is_on(self):
        template = self._build(self.template_model, {}, {"name": "vpn", "type": "vpn"})
        self.assertTrue(template.auto_cert)

    @override_settings(NETJSONCONFIG_VPN_BACKENDS=((ROUTED_ONLY_PATH, "Routed OpenVPN"),))
    def test_vpn_backends_setting_offers_custom_backends(self):
        server = {
            **self._vpn_config["openvpn"][0],
            "dev": "tun0",
            "dev_type": "tun",
            "server": "10.8.0.0 255.255.255.0",
        }
        vpn = self._create_vpn(backend=ROUTED_ONLY_PATH, config={"openvpn": [server]})
        self.assertEqual(vpn.get_backend_display(), "Routed OpenVPN")
        self.assertEqual(vpn.auto_client()["openvpn"][0]["dev"], "tun0")

    @override_settings(NETJSONCONFIG_VPN_BACKENDS=((ROUTED_ONLY_PATH, "Routed OpenVPN"),))
    def test_vpn_backends_setting_rejects_unlisted_backends(self):
        with self.assertRaises(ValidationError) as context:
            self._create_vpn(backend=OPENVPN_PATH)
        self.assertIn("backend", context.exception.message_dict)

    @override_settings(NETJSONCONFIG_VPN_BACKENDS=((ROUTED_ONLY_PATH, "Routed OpenVPN"),))
    def test_custom_backend_schema_is_applied(self):
        with self.assertRaises(ValidationError):
            self._create_vpn(backend=ROUTED_ONLY_PATH)  # a bridged (tap) server

    def test_default_vpn_backend_is_the_first_vpn_backend(self):
        self.assertEqual(app_settings.DEFAULT_VPN_BACKEND, OPENVPN_PATH)
        with override_settings(NETJSONCONFIG_VPN_BACKENDS=((ROUTED_ONLY_PATH, "Routed"), (OPENVPN_PATH, "OpenVPN"))):
            self.assertEqual(app_settings.DEFAULT_VPN_BACKEND, ROUTED_ONLY_PATH)

    @override_settings(NETJSONCONFIG_DEFAULT_VPN_BACKEND=None)
    def test_default_vpn_backend_can_be_disabled(self):
        self.assertIsNone(app_settings.DEFAULT_VPN_BACKEND)


class TestVpnChangesReachDevices(VpnTestMixin, TestCase):
    """What changes a device's VPN files flags exactly the configs concerned (decision 5)."""

    def setUp(self):
        self.vpn = self._create_vpn()
        self.template = self._create_vpn_template(vpn=self.vpn)
        self.config = self._create_applied_config(self.template)
        other_vpn = self._create_vpn(name="other-vpn", ca=self._create_ca(name="other-ca"))
        other_template = self._create_vpn_template(name="other-template", vpn=other_vpn)
        self.other_config = self._create_applied_config(other_template, number=2)

    def test_renewed_client_certificate(self):
        checksum = self.config.checksum
        self._vpnclient(self.config).cert.renew()
        self.assertFlagged(self.config, checksum)
        self.assertUntouched(self.other_config)

    def test_edited_client_certificate(self):
        checksum = self.config.checksum
        other = self._create_vpn(name="donor").cert
        cert = self._vpnclient(self.config).cert
        cert.certificate, cert.private_key = other.certificate, other.private_key
        cert.save()
        self.assertFlagged(self.config, checksum)
        self.assertUntouched(self.other_config)

    def test_renewed_ca(self):
        checksum = self.config.checksum
        self.vpn.ca.renew()
        self.assertFlagged(self.config, checksum)
        self.assertUntouched(self.other_config)

    def test_renewed_ca_signs_the_client_certificate_again(self):
        ca = self.vpn.ca
        ca.renew()
        cert = self._vpnclient(self.config).cert
        renewed = self._reload(ca).x509
        self.assertEqual(cert.x509.issuer, renewed.subject)
        cert.x509.verify_directly_issued_by(renewed)  # raises unless signed by the renewed key

    def test_renamed_ca_common_name_moves_the_ca_file(self):
        checksum = self.config.checksum
        ca = self.vpn.ca
        ca.common_name = "renamed"
        ca.save()
        self.assertFlagged(self.config, checksum)
        self.assertIn(f"/etc/x509/ca-{ca.pk}-renamed.pem", self._reload(self.config).get_context().values())
        self.assertUntouched(self.other_config)

    def test_ca_switched_on_the_server(self):
        checksum = self.config.checksum
        new_ca = self._create_ca(name="new-ca", common_name="new-ca")
        self.vpn.ca, self.vpn.cert = new_ca, None
        self.vpn.full_clean()
        self.vpn.save()
        self.assertFlagged(self.config, checksum)
        self.assertEqual(self.vpn.cert.ca, new_ca)
        self.assertUntouched(self.other_config)

    def test_ca_switch_issues_new_client_certificates(self):
        old_cert = self._vpnclient(self.config).cert
        new_ca = self._create_ca(name="new-ca", common_name="new-ca")
        self.vpn.ca, self.vpn.cert = new_ca, None
        self.vpn.full_clean()
        self.vpn.save()
        new_cert = self._vpnclient(self.config).cert
        new_cert.x509.verify_directly_issued_by(new_ca.x509)
        self.assertTrue(self._reload(old_cert).revoked)
        crl = x509.load_pem_x509_crl(old_cert.ca.crl)
        self.assertIsNotNone(crl.get_revoked_certificate_by_serial_number(int(old_cert.serial_number)))

    def test_server_host_changed(self):
        checksum = self.config.checksum
        self.vpn.host = "vpn2.test.com"
        self.vpn.full_clean()
        self.vpn.save()
        self.assertEqual(self._reload(self.template).config, self.vpn.auto_client(auto_cert=True))
        self.assertFlagged(self.config, checksum)
        self.assertIn("list remote 'vpn2.test.com 1195'", self._reload(self.config).backend_instance.render())
        self.assertUntouched(self.other_config)

    def test_server_port_changed(self):
        checksum = self.config.checksum
        self.vpn.config = {"openvpn": [{**self._vpn_config["openvpn"][0], "port": 1300}]}
        self.vpn.full_clean()
        self.vpn.save()
        self.assertFlagged(self.config, checksum)
        self.assertIn("list remote 'vpn1.test.com 1300'", self._reload(self.config).backend_instance.render())

    def test_hand_edited_template_is_not_regenerated(self):
        custom = {"openvpn": [{**self.vpn.auto_client()["openvpn"][0], "verb": 5}]}
        self.template.config = custom
        self.template.full_clean()
        self.template.save()
        self.vpn.host = "vpn2.test.com"
        self.vpn.full_clean()
        self.vpn.save()
        self.assertEqual(self._reload(self.template).config, custom)

    def test_server_only_change_leaves_devices_alone(self):
        self.config = self._reload(self.config)
        self.vpn.config = {"openvpn": [{**self._vpn_config["openvpn"][0], "client_to_client": True}]}
        self.vpn.notes = "new notes"
        self.vpn.full_clean()
        self.vpn.save()
        self.assertUntouched(self.config)

    def test_new_server_certificate_leaves_devices_alone(self):
        self.vpn.cert = None
        self.vpn.save()
        self.assertUntouched(self.config)

    def test_revoking_an_attached_certificate_leaves_the_files_alone(self):
        # the device's files do not change; the server's CRL does
        self._vpnclient(self.config).cert.revoke()
        self.assertUntouched(self.config)

    def test_deleted_client_certificate(self):
        checksum = self.config.checksum
        self._vpnclient(self.config).cert.delete()
        self.assertFalse(self.vpnclient_model.objects.filter(config=self.config).exists())
        fresh = self._reload(self.config)
        self.assertEqual(fresh.status, "modified")
        self.assertNotEqual(fresh.stored_checksum, checksum)
        self.assertUntouched(self.other_config)

    def test_deleted_server(self):
        checksum = self.config.checksum
        cert = self._vpnclient(self.config).cert
        self.vpn.delete()
        self.assertFalse(self.template_model.objects.filter(pk=self.template.pk).exists())
        self.assertTrue(self._reload(cert).revoked)
        self.assertFlagged(self.config, checksum)
        self.assertUntouched(self.other_config)

    def test_removed_template_changes_the_files(self):
        checksum = self.config.checksum
        self.config.templates.remove(self.template)
        self.assertFlagged(self.config, checksum)
        self.assertUntouched(self.other_config)


class TestDhparamCommand(VpnTestMixin, TestCase):
    def _call(self, *args):
        out = StringIO()
        call_command("netjsonconfig_dhparam", *args, stdout=out)
        return out.getvalue()

    def test_named_server_gets_new_parameters(self):
        vpn = self._create_vpn()
        other = self._create_vpn(name="other-vpn")
        output = self._call("--vpn", vpn.name, "--bits", "512")
        self.assertEqual(_dh_bits(self._reload(vpn).dh), 512)
        self.assertEqual(self._reload(other).dh, self.TEST_DH)
        self.assertIn('"test-vpn"', output)

    def test_all_servers_get_new_parameters(self):
        vpns = [self._create_vpn(), self._create_vpn(name="other-vpn")]
        self._call("--all", "--bits", "512")
        fresh = [self._reload(vpn).dh for vpn in vpns]
        self.assertEqual([_dh_bits(dh) for dh in fresh], [512, 512])
        self.assertNotEqual(fresh[0], fresh[1])

    def test_new_parameters_reach_the_server_archive(self):
        vpn = self._create_vpn()
        self._call("--vpn", vpn.name, "--bits", "512")
        vpn = self._reload(vpn)
        self.assertEqual(_archive_members(vpn.generate())["dh.pem"][1], vpn.dh)

    @override_settings(NETJSONCONFIG_DH_KEY_LENGTH=512)
    def test_size_defaults_to_the_dh_key_length_setting(self):
        vpn = self._create_vpn()
        self._call("--vpn", vpn.name)
        self.assertEqual(_dh_bits(self._reload(vpn).dh), 512)

    def test_client_configs_are_untouched(self):
        vpn = self._create_vpn()
        config = self._create_applied_config(self._create_vpn_template(vpn=vpn))
        self._call("--vpn", vpn.name, "--bits", "512")
        self.assertUntouched(config)

    def test_servers_must_be_named(self):
        with self.assertRaisesMessage(CommandError, "--all"):
            self._call("--bits", "512")

    def test_unknown_server_changes_nothing(self):
        vpn = self._create_vpn()
        with self.assertRaisesMessage(CommandError, "missing-vpn"):
            self._call("--vpn", vpn.name, "--vpn", "missing-vpn", "--bits", "512")
        self.assertEqual(self._reload(vpn).dh, self.TEST_DH)

    def test_too_small_size_is_refused(self):
        vpn = self._create_vpn()
        with self.assertRaisesMessage(CommandError, "512"):
            self._call("--vpn", vpn.name, "--bits", "256")
        self.assertEqual(self._reload(vpn).dh, self.TEST_DH)
