"""
WireGuard and VXLAN over WireGuard VPN servers: key pairs, the addresses and
VNIs of their clients, the server's archive and when it changes, the
variables of the devices' configurations.
"""

import hashlib
import json
import shutil
import subprocess
import unittest

from django.core.exceptions import ValidationError
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from django_netjsonconfig.tests.test_vpn import VpnTestMixin
from django_netjsonconfig.tests.test_vpn_sync import VpnSyncMixin, _members

WIREGUARD = "django_netjsonconfig.vpn_backends.Wireguard"
VXLAN = "django_netjsonconfig.vpn_backends.VxlanWireguard"


def wg_pubkey(private_key):
    """The public key ``wg pubkey`` (wireguard-tools) derives from ``private_key``."""
    if not shutil.which("wg"):
        raise unittest.SkipTest("needs the wg binary (apt-get install wireguard-tools)")
    result = subprocess.run(["wg", "pubkey"], input=private_key, capture_output=True, text=True, check=True)
    return result.stdout.strip()


class WireguardMixin(VpnSyncMixin, VpnTestMixin):
    def _server(self, **kwargs):
        """A WireGuard server and its VPN-client template."""
        vpn = self._create_wireguard_server(**kwargs)
        template = self._create_vpn_template(vpn=vpn, name=f"template-{vpn.name}")
        return vpn, template

    def _devices(self, template, count, first=1):
        return [self._create_vpn_config(template, number) for number in range(first, first + count)]

    def _addresses(self, vpn):
        """``{config name: address}`` of the server's clients."""
        return dict(self.vpnclient_model.objects.filter(vpn=vpn).values_list("config__name", "ip"))

    def _vnis(self, vpn):
        return dict(self.vpnclient_model.objects.filter(vpn=vpn).values_list("config__name", "vni"))

    def _archive(self, vpn):
        """``{path: (mode, text)}`` of the archive the sync endpoint serves."""
        response = self._download(vpn)
        self.assertEqual(response.status_code, 200)
        return _members(response.content)


class TestKeyPairs(WireguardMixin, TestCase):
    def test_server_gets_a_key_pair_wg_agrees_with(self):
        vpn = self._create_wireguard_server()
        self.assertEqual(len(vpn.private_key), 44)
        self.assertEqual(wg_pubkey(vpn.private_key), vpn.public_key)
        self.assertEqual(self._reload(vpn).public_key, vpn.public_key)

    def test_each_client_gets_its_own_key_pair(self):
        _vpn, template = self._server()
        clients = [self._vpnclient(config) for config in self._devices(template, 2)]
        self.assertNotEqual(clients[0].private_key, clients[1].private_key)
        for client in clients:
            self.assertEqual(wg_pubkey(client.private_key), client.public_key)

    def test_server_keeps_its_key_pair_when_edited(self):
        vpn = self._create_wireguard_server()
        keys = (vpn.private_key, vpn.public_key)
        vpn = self._reload(vpn)
        vpn.host = "other.test.com"
        vpn.full_clean()
        vpn.save()
        self.assertEqual((self._reload(vpn).private_key, self._reload(vpn).public_key), keys)

    def test_no_certificate_ca_or_dh_is_made(self):
        vpn, template = self._server()
        self._devices(template, 2)
        vpn = self._reload(vpn)
        self.assertEqual((vpn.ca_id, vpn.cert_id, vpn.dh), (None, None, ""))
        self.assertFalse(self.cert_model.objects.exists())
        self.assertFalse(self.vpnclient_model.objects.exclude(cert=None).exists())
        self.assertFalse(self._reload(template).auto_cert)


class TestServerValidation(WireguardMixin, TestCase):
    def _errors(self, **kwargs):
        with self.assertRaises(ValidationError) as context:
            self._create_wireguard_server(**kwargs)
        return context.exception.message_dict

    def test_subnet_is_required(self):
        self.assertEqual(self._errors(subnet="")["subnet"], ["This field is required."])

    def test_subnet_must_be_an_ipv4_network_with_room_for_a_client(self):
        for subnet in ("10.8.0.1/24", "fd00::/64", "10.8.0.0/31", "vpn"):
            with self.subTest(subnet=subnet):
                self.assertEqual(list(self._errors(subnet=subnet)), ["subnet"])

    def test_server_needs_one_wireguard_instance(self):
        errors = self._errors(config={"wireguard": []})
        self.assertIn('exactly one "wireguard"', errors["config"][0])

    def test_server_files_cannot_use_the_openvpn_file_variables(self):
        config = {
            "wireguard": [{"name": "wg0", "port": 51820}],
            "files": [{"path": "ca.pem", "mode": "0644", "contents": "{{ ca }}"}],
        }
        self.assertEqual(self._errors(config=config)["config"], ["variable `ca` is not defined"])

    def test_wireguard_server_takes_no_ca(self):
        self.assertIn("uses no CA", self._errors(ca=self._create_ca())["ca"][0])

    def test_openvpn_server_still_requires_a_ca(self):
        with self.assertRaises(ValidationError) as context:
            self._create_vpn(ca=None)
        self.assertEqual(context.exception.message_dict["ca"], ["This field is required."])

    def test_backend_kind_cannot_change_while_clients_exist(self):
        vpn, template = self._server()
        self._devices(template, 1)
        vpn = self._reload(vpn)
        vpn.backend = VXLAN
        with self.assertRaises(ValidationError) as context:
            vpn.full_clean()
        self.assertIn("cannot change from WireGuard to VXLAN over WireGuard", context.exception.messages[0])

    def test_subnet_cannot_leave_out_a_client(self):
        vpn, template = self._server()
        self._devices(template, 2)
        vpn = self._reload(vpn)
        vpn.subnet = "10.9.0.0/24"
        with self.assertRaises(ValidationError) as context:
            vpn.full_clean()
        self.assertIn("10.8.0.2, 10.8.0.3", context.exception.message_dict["subnet"][0])

    def test_growing_the_subnet_keeps_the_addresses_and_updates_the_devices(self):
        vpn, template = self._server()
        (config,) = self._devices(template, 1)
        vpn = self._reload(vpn)
        vpn.subnet = "10.8.0.0/16"
        vpn.full_clean()
        vpn.save()
        self.assertEqual(self._addresses(vpn), {"device-1": "10.8.0.2"})
        (peer,) = self._reload(config).json(dict=True)["wireguard_peers"]
        self.assertEqual(peer["allowed_ips"], ["10.8.0.0/16"])
        self.assertIn("Address = 10.8.0.1/16", self._archive(vpn)["wg0.conf"][1])


class TestAddresses(WireguardMixin, TestCase):
    def test_server_takes_the_first_host_clients_the_next_ones(self):
        vpn, template = self._server()
        self._devices(template, 3)
        self.assertEqual(self._addresses(vpn), {"device-1": "10.8.0.2", "device-2": "10.8.0.3", "device-3": "10.8.0.4"})
        self.assertIn("Address = 10.8.0.1/24\n", self._archive(vpn)["wg0.conf"][1])

    def test_removing_the_template_releases_the_address(self):
        vpn, template = self._server()
        first, _second = self._devices(template, 2)
        first.templates.remove(template)
        self.assertEqual(self._addresses(vpn), {"device-2": "10.8.0.3"})
        self._devices(template, 1, first=3)
        self.assertEqual(self._addresses(vpn), {"device-2": "10.8.0.3", "device-3": "10.8.0.2"})

    def test_deleting_the_configuration_releases_the_address(self):
        vpn, template = self._server()
        first, _second = self._devices(template, 2)
        first.delete()
        self._devices(template, 1, first=3)
        self.assertEqual(self._addresses(vpn), {"device-2": "10.8.0.3", "device-3": "10.8.0.2"})

    def test_full_subnet_refuses_the_template_on_the_templates_field(self):
        vpn, template = self._server(subnet="10.8.0.0/30")
        self._devices(template, 1)
        config = self._create_config(name="device-2", mac_address="00:11:22:33:44:02", key="2" * 32)
        with self.assertRaises(ValidationError) as context:
            config.templates.add(template)
        self.assertEqual(
            context.exception.message_dict,
            {"templates": ["The subnet 10.8.0.0/30 of VPN server test-wireguard has no free address."]},
        )
        self.assertEqual(list(self._addresses(vpn)), ["device-1"])
        self.assertFalse(self._reload(config).templates.exists())

    def test_allocation_itself_refuses_a_full_subnet(self):
        # the check made when the template is attached can be overtaken by a concurrent attach
        vpn, template = self._server(subnet="10.8.0.0/30")
        self._devices(template, 1)
        config = self._create_config(name="device-2", mac_address="00:11:22:33:44:02", key="2" * 32)
        with self.assertRaises(ValidationError) as context:
            self.vpnclient_model(config=config, vpn=vpn).save()
        self.assertIn("has no free address", context.exception.messages[0])
        self.assertFalse(self.vpnclient_model.objects.filter(config=config).exists())


class TestVnis(WireguardMixin, TestCase):
    def test_clients_get_the_lowest_free_vni_from_1(self):
        vpn, template = self._server(backend=VXLAN)
        first, _second, _third = self._devices(template, 3)
        self.assertEqual(self._vnis(vpn), {"device-1": 1, "device-2": 2, "device-3": 3})
        first.templates.remove(template)
        self._devices(template, 1, first=4)
        self.assertEqual(self._vnis(vpn), {"device-2": 2, "device-3": 3, "device-4": 1})

    def test_server_configuration_sets_the_first_vni(self):
        config = {"wireguard": [{"name": "wg0", "port": 51820}], "vxlan": [{"name": "vx0", "vni": 100}]}
        vpn, template = self._server(backend=VXLAN, config=config)
        (device,) = self._devices(template, 1)
        self.assertEqual(self._vnis(vpn), {"device-1": 100})
        vxlan = [item for item in device.json(dict=True)["interfaces"] if item["type"] == "vxlan"]
        self.assertEqual([(item["name"], str(item["vni"])) for item in vxlan], [("vx0", "100")])


class TestServerArchive(WireguardMixin, TestCase):
    def test_peers_are_the_clients_by_address_in_a_private_file(self):
        vpn, template = self._server()
        first, second = self._devices(template, 2)
        first.templates.remove(template)
        self._devices(template, 1, first=3)  # takes 10.8.0.2 again
        clients = self.vpnclient_model.objects.filter(vpn=vpn).select_related("config")
        keys = {client.config.name: client.public_key for client in clients}
        mode, text = self._archive(vpn)["wg0.conf"]
        self.assertEqual(mode, 0o600)
        self.assertEqual(
            text,
            "[Interface]\n"
            "Address = 10.8.0.1/24\n"
            "ListenPort = 51820\n"
            f"PrivateKey = {vpn.private_key}\n\n"
            f"[Peer]\nAllowedIPs = 10.8.0.2/32\nPublicKey = {keys['device-3']}\n\n"
            f"[Peer]\nAllowedIPs = 10.8.0.3/32\nPublicKey = {keys[second.name]}\n",
        )

    def test_operator_key_address_and_peers_are_kept(self):
        own_peer = {"public_key": self._create_wireguard_server(name="other").public_key, "allowed_ips": "10.9.0.0/24"}
        server = {"name": "wg1", "port": 51821, "address": "10.8.0.254/24", "peers": [own_peer]}
        vpn, template = self._server(config={"wireguard": [server]})
        self._devices(template, 1)
        text = self._archive(vpn)["wg1.conf"][1]
        self.assertIn("Address = 10.8.0.254/24\n", text)
        self.assertIn(f"PublicKey = {own_peer['public_key']}", text.split("[Peer]")[1])
        self.assertIn("AllowedIPs = 10.8.0.2/32", text.split("[Peer]")[2])
        self.assertEqual(self._reload(vpn).config, {"wireguard": [server]})  # nothing written back

    def test_vxlan_server_lists_its_tunnels(self):
        vpn, template = self._server(backend=VXLAN)
        self._devices(template, 2)
        files = self._archive(vpn)
        self.assertEqual(files["wg0.conf"][0], 0o600)
        mode, text = files["vxlan.json"]
        self.assertEqual(mode, 0o644)
        self.assertEqual(
            json.loads(text),
            [
                {"name": "vxlan1", "vni": 1, "remote": "10.8.0.2"},
                {"name": "vxlan2", "vni": 2, "remote": "10.8.0.3"},
            ],
        )

    def test_server_private_key_is_only_in_its_configuration_file(self):
        vpn, template = self._server(backend=VXLAN)
        self._devices(template, 1)
        files = self._archive(vpn)
        self.assertEqual([path for path, (_mode, text) in files.items() if vpn.private_key in text], ["wg0.conf"])


class TestServerInvalidation(WireguardMixin, TestCase):
    def _vpn_updates(self, action):
        table = self.vpn_model._meta.db_table
        with CaptureQueriesContext(connection) as queries:
            action()
        return [query["sql"] for query in queries if query["sql"].startswith(f'UPDATE "{table}"')]

    def test_adding_a_client_changes_the_checksum_with_one_update(self):
        vpn, template = self._server()
        before = self._checksum(vpn).content
        config = self._create_config(name="device-9", mac_address="00:11:22:33:44:09", key="9" * 32)
        self.assertEqual(len(self._vpn_updates(lambda: config.templates.add(template))), 1)
        self.assertNotEqual(self._checksum(vpn).content, before)
        self.assertIn(self._vpnclient(config).public_key, self._archive(vpn)["wg0.conf"][1])

    def test_removing_a_client_changes_the_checksum_with_one_update(self):
        vpn, template = self._server()
        first, _second = self._devices(template, 2)
        key = self._vpnclient(first).public_key
        before = self._checksum(vpn).content
        self.assertEqual(len(self._vpn_updates(lambda: first.templates.remove(template))), 1)
        self.assertNotEqual(self._checksum(vpn).content, before)
        self.assertNotIn(key, self._archive(vpn)["wg0.conf"][1])

    def test_unchanged_server_keeps_its_checksum_and_archive(self):
        vpn, template = self._server(backend=VXLAN)
        self._devices(template, 2)
        first = self._checksum(vpn).content
        self.assertEqual(self._checksum(vpn).content, first)
        self.assertEqual(self._vpn_updates(lambda: self._checksum(vpn)), [])
        download = self._download(vpn).content
        self.assertEqual(hashlib.md5(download).hexdigest(), first.decode())
        self.vpn_model.invalidate_renderings(self.vpn_model.objects.filter(pk=vpn.pk))
        self.assertEqual(self._checksum(vpn).content, first)  # rendered again: the same bytes
        self.assertEqual(self._download(vpn).content, download)

    def test_openvpn_server_is_not_updated_by_a_new_client(self):
        template = self._create_vpn_template()
        config = self._create_config()
        self.assertEqual(self._vpn_updates(lambda: config.templates.add(template)), [])


class TestDeviceConfiguration(WireguardMixin, TestCase):
    def test_device_gets_its_key_address_and_the_server_as_peer(self):
        vpn, template = self._server()
        _first, config = self._devices(template, 2)
        client = self._vpnclient(config)
        netjson = self._reload(config).json(dict=True)
        (interface,) = [item for item in netjson["interfaces"] if item["type"] == "wireguard"]
        self.assertEqual(interface["name"], "wg0")
        self.assertEqual(interface["private_key"], client.private_key)
        self.assertEqual((interface["addresses"][0]["address"], interface["addresses"][0]["mask"]), ("10.8.0.3", 32))
        (peer,) = netjson["wireguard_peers"]
        self.assertEqual(
            {key: peer[key] for key in ("public_key", "endpoint_host", "endpoint_port", "allowed_ips")},
            {
                "public_key": vpn.public_key,
                "endpoint_host": "wg1.test.com",
                "endpoint_port": 51820,
                "allowed_ips": ["10.8.0.0/24"],
            },
        )
        self.assertEqual(peer["persistent_keepalive"], 60)

    def test_variables_of_the_client(self):
        vpn, template = self._server(backend=VXLAN)
        (config,) = self._devices(template, 1)
        client, suffix = self._vpnclient(config), vpn.pk.hex
        context = self._reload(config).get_context()
        self.assertEqual(
            {name: context[f"{name}_{suffix}"] for name in ("vpn_ip", "pvt_key", "pub_key", "srv_key", "vni")},
            {
                "vpn_ip": "10.8.0.2",
                "pvt_key": client.private_key,
                "pub_key": client.public_key,
                "srv_key": vpn.public_key,
                "vni": "1",
            },
        )

    def test_vxlan_device_gets_its_vni_over_the_tunnel(self):
        _vpn, template = self._server(backend=VXLAN)
        (config,) = self._devices(template, 1)
        (vxlan,) = [item for item in self._reload(config).json(dict=True)["interfaces"] if item["type"] == "vxlan"]
        self.assertEqual((vxlan["vtep"], str(vxlan["vni"]), vxlan["tunlink"]), ("10.8.0.1", "1", "wg0"))

    def test_devices_cannot_redefine_the_vpn_variables(self):
        vpn, _template = self._server()
        config = self._build_config(context={f"vpn_ip_{vpn.pk.hex}": "10.8.0.99"})
        with self.assertRaises(ValidationError) as context:
            config.full_clean()
        self.assertIn("built in", context.exception.message_dict["context"][0])

    def test_new_host_updates_the_device(self):
        vpn, template = self._server()
        (config,) = self._devices(template, 1)
        vpn = self._reload(vpn)
        vpn.host = "moved.test.com"
        vpn.full_clean()
        vpn.save()
        (peer,) = self._reload(config).json(dict=True)["wireguard_peers"]
        self.assertEqual(peer["endpoint_host"], "moved.test.com")
