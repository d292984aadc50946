"""
The VPN server's admin page by kind of server (test client, no JavaScript):
the add page's fields and starting configuration, a saved server's fields,
a WireGuard server's public key, subnet usage and clients, and the list.
"""

import json
import re
from unittest import mock

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext

from django_netjsonconfig.tests.test_wireguard import VXLAN, WIREGUARD
from django_netjsonconfig.tests.test_wireguard_admin import WireguardAdminMixin

OPENVPN = "django_netjsonconfig.vpn_backends.OpenVpn"
OPENVPN_ROWS = ("field-ca", "field-cert", "field-include_crl", "field-dh")


def rows(response):
    """The ``field-<name>`` classes of the form rows of an admin page."""
    return set(re.findall(r'class="form-row[^"]*\b(field-[a-z_]+)', response.content.decode()))


def clients_table(response):
    """The rows of the clients table, as lists of cell texts."""
    html = response.content.decode()
    table = re.search(r'<table class="djnjc-vpn-clients">.*?</table>', html, re.S)
    if table is None:
        return []
    body = table.group(0).split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


class VpnPageMixin(WireguardAdminMixin):
    def _change_page(self, vpn):
        response = self.client.get(self._url(self.vpn_model, "change", vpn.pk))
        self.assertEqual(response.status_code, 200)
        return response


class TestAddPage(VpnPageMixin, TestCase):
    def test_add_page_has_every_field_each_saying_its_backend(self):
        response = self.client.get(self._url(self.vpn_model, "add"))
        self.assertTrue({*OPENVPN_ROWS, "field-subnet", "field-backend", "field-key"} <= rows(response))
        form = response.context["adminform"].form
        for name in ("ca", "cert", "include_crl"):
            self.assertTrue(str(form.fields[name].help_text).startswith("OpenVPN only"), name)
        self.assertTrue(str(form.fields["subnet"].help_text).startswith("WireGuard and VXLAN over WireGuard only"))
        self.assertNotContains(response, "field-public_key")
        self.assertNotContains(response, "field-subnet_usage")

    def test_openvpn_default_backend_starts_from_the_openvpn_server_configuration(self):
        response = self.client.get(self._url(self.vpn_model, "add"))
        config = response.context["adminform"].form.initial["config"]
        self.assertEqual(config["openvpn"][0]["mode"], "server")

    @override_settings(NETJSONCONFIG_DEFAULT_VPN_BACKEND=WIREGUARD)
    def test_wireguard_default_backend_starts_from_a_wireguard_server_configuration(self):
        response = self.client.get(self._url(self.vpn_model, "add"))
        form = response.context["adminform"].form
        self.assertEqual(form.initial["config"], {"wireguard": [{"name": "wg0", "port": 51820}]})
        self.assertContains(response, f'<option value="{WIREGUARD}" selected>')

    def test_page_gives_the_script_each_backend_kind_fields_and_configuration(self):
        response = self.client.get(self._url(self.vpn_model, "add"))
        data = json.loads(re.search(r'id="djnjc-vpn-backends"[^>]*>(.*?)</script>', response.content.decode()).group(1))
        self.assertEqual(data[WIREGUARD]["fields"], ["subnet"])
        self.assertEqual(data[OPENVPN]["fields"], ["ca", "cert", "include_crl", "dh"])
        self.assertEqual(data[VXLAN]["config"]["vxlan"], [{"name": "vxlan", "vni": 1}])

    def test_starting_configurations_are_accepted_as_they_are(self):
        # what the page offers saves without an edit (VXLAN: clients get VNIs from 1)
        add = self.client.get(self._url(self.vpn_model, "add"))
        data = json.loads(re.search(r'id="djnjc-vpn-backends"[^>]*>(.*?)</script>', add.content.decode()).group(1))
        for number, backend in enumerate((WIREGUARD, VXLAN)):
            form = self._vpn_form(name=f"new-{number}", backend=backend, config=json.dumps(data[backend]["config"]))
            response = self.client.post(self._url(self.vpn_model, "add"), form)
            self.assertEqual(response.status_code, 302, response.context and response.context["adminform"].form.errors)
        vpn, template = self.vpn_model.objects.get(name="new-1"), None
        template = self._create_vpn_template(vpn=vpn, name="vxlan-client")
        (config,) = self._devices(template, 1)
        self.assertEqual(self._vpnclient(config).vni, 1)


class TestSavedServerFields(VpnPageMixin, TestCase):
    def test_wireguard_server_page_has_no_openvpn_field(self):
        response = self._change_page(self._create_wireguard_server())
        shown = rows(response)
        self.assertFalse(set(OPENVPN_ROWS) & shown, shown)
        self.assertTrue({"field-subnet", "field-public_key", "field-subnet_usage", "field-key"} <= shown, shown)

    def test_openvpn_server_page_has_no_wireguard_field(self):
        response = self._change_page(self._create_vpn())
        shown = rows(response)
        self.assertTrue({"field-ca", "field-cert", "field-include_crl"} <= shown, shown)
        for name in ("field-subnet", "field-public_key", "field-subnet_usage", "field-vpn_clients"):
            self.assertNotIn(name, shown)

    def test_wireguard_server_shows_its_public_key_read_only_never_its_private_key(self):
        vpn, template = self._server()
        (config,) = self._devices(template, 1)
        response = self._change_page(vpn)
        self.assertContains(response, vpn.public_key)
        self.assertNotContains(response, 'name="public_key"')
        self.assertNotContains(response, vpn.private_key)
        self.assertNotContains(response, self._vpnclient(config).private_key)

    def test_saving_the_wireguard_page_keeps_the_server(self):
        vpn = self._create_wireguard_server()
        data = self._vpn_form(name=vpn.name, key=vpn.key, config=json.dumps(vpn.config), notes="edited")
        for name in ("ca", "cert", "include_crl", "dh"):
            del data[name]  # not in the page
        response = self.client.post(self._url(self.vpn_model, "change", vpn.pk), data)
        self.assertEqual(response.status_code, 302)
        stored = self._reload(vpn)
        self.assertEqual((stored.notes, stored.public_key, stored.subnet), ("edited", vpn.public_key, "10.8.0.0/24"))

    def test_changing_to_openvpn_brings_the_openvpn_fields_with_their_errors(self):
        vpn = self._create_wireguard_server()
        data = self._vpn_form(name=vpn.name, key=vpn.key, backend=OPENVPN, config=json.dumps(self._vpn_config))
        response = self.client.post(self._url(self.vpn_model, "change", vpn.pk), data={**data, "ca": ""})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["adminform"].form.errors["ca"], ["This field is required."])
        shown = rows(response)
        self.assertIn("field-ca", shown)
        self.assertNotIn("field-subnet", shown)
        self.assertEqual(self._reload(vpn).backend, WIREGUARD)


class TestWireguardClients(VpnPageMixin, TestCase):
    def test_subnet_usage_counts_the_clients_the_server_taking_the_first_address(self):
        vpn, template = self._server()
        self.assertContains(self._change_page(vpn), "0 of 253 client addresses used")
        self._devices(template, 3)
        self.assertContains(self._change_page(vpn), "3 of 253 client addresses used")

    def test_clients_are_listed_by_address_with_their_configuration_and_public_key(self):
        vpn, template = self._server()
        configs = self._devices(template, 11)  # 10.8.0.10 sorts before 10.8.0.2 as text
        response = self._change_page(vpn)
        clients = {client.config_id: client for client in self.vpnclient_model.objects.filter(vpn=vpn)}
        expected = [[config.name, clients[config.pk].ip, clients[config.pk].public_key] for config in configs]
        self.assertEqual(clients_table(response), expected)
        self.assertEqual([row[1] for row in expected][:2], ["10.8.0.2", "10.8.0.3"])
        self.assertContains(response, f'href="{self._url(self.config_model, "change", configs[0].pk)}"')
        self.assertContains(response, "<th>public key</th>", html=True)

    def test_vxlan_clients_show_their_vni(self):
        vpn, template = self._server(backend=VXLAN, config={"wireguard": [{"name": "wg0", "port": 51820}]})
        configs = self._devices(template, 2)
        table = clients_table(self._change_page(vpn))
        self.assertEqual(
            [(row[0], row[1], row[2]) for row in table],
            [(configs[0].name, "10.8.0.2", "1"), (configs[1].name, "10.8.0.3", "2")],
        )

    def test_server_without_clients_says_how_to_get_some(self):
        response = self._change_page(self._create_wireguard_server())
        self.assertContains(response, "No configuration uses this server yet")

    def test_long_list_stops_with_how_many_more_and_a_link_to_them(self):
        vpn, template = self._server()
        configs = self._devices(template, 4)
        other_vpn, other_template = self._server(name="other-wg", subnet="10.9.0.0/24")
        self._create_vpn_config(other_template, 9)
        vpn_admin = type(admin.site._registry[self.vpn_model])
        with mock.patch.object(vpn_admin, "vpn_clients_shown", 3):
            response = self._change_page(vpn)
        self.assertEqual([row[0] for row in clients_table(response)], [config.name for config in configs[:3]])
        self.assertContains(response, "and 1 more")
        link = f"{self._url(self.config_model, 'changelist')}?vpn__id__exact={vpn.pk}"
        self.assertContains(response, f'href="{link}"')
        listed = self.client.get(link)
        self.assertEqual(listed.status_code, 200)
        self.assertContains(listed, "By VPN server")
        self.assertEqual(
            sorted(config.name for config in listed.context["cl"].result_list), [config.name for config in configs]
        )

    def _queries_of_the_page(self, vpn):
        # each count starts with a cold content-type cache (another test may have filled it)
        ContentType.objects.clear_cache()
        with CaptureQueriesContext(connection) as queries:
            self._change_page(vpn)
        return len(queries)

    def test_page_queries_do_not_grow_with_the_clients(self):
        vpn, template = self._server()
        self._devices(template, 2)
        few = self._queries_of_the_page(vpn)
        self._devices(template, 18, first=3)
        ContentType.objects.clear_cache()
        with self.assertNumQueries(few):
            response = self._change_page(vpn)
        self.assertContains(response, "20 of 253 client addresses used")
        self.assertEqual(len(clients_table(response)), 20)


class TestServerList(VpnPageMixin, TestCase):
    def test_list_shows_the_backend_and_the_subnet_usage_of_wireguard_servers(self):
        vpn, template = self._server()
        self._devices(template, 2)
        self._create_vpn(name="office-ovpn")
        response = self.client.get(self._url(self.vpn_model, "changelist"))
        html = response.content.decode()
        wireguard_row = re.search(r"<tr>.*?test-wireguard.*?</tr>", html, re.S).group(0)
        openvpn_row = re.search(r"<tr>.*?office-ovpn.*?</tr>", html, re.S).group(0)
        self.assertIn("2 of 253 client addresses used", wireguard_row)
        self.assertIn('<td class="field-backend">WireGuard</td>', wireguard_row)
        self.assertIn('<td class="field-subnet_usage">-</td>', openvpn_row)
        self.assertIn('<td class="field-backend">OpenVPN</td>', openvpn_row)

    def test_list_queries_do_not_grow_with_the_servers(self):
        self._server()
        with CaptureQueriesContext(connection) as queries:
            self.client.get(self._url(self.vpn_model, "changelist"))
        for number in range(3):
            self._server(name=f"wg-{number}", subnet=f"10.{20 + number}.0.0/24")
        with self.assertNumQueries(len(queries)):
            self.client.get(self._url(self.vpn_model, "changelist"))

    def test_list_filters_by_backend(self):
        self._create_wireguard_server()
        self._create_vpn(name="office-ovpn")
        response = self.client.get(self._url(self.vpn_model, "changelist"), {"backend": WIREGUARD})
        self.assertEqual([vpn.name for vpn in response.context["cl"].result_list], ["test-wireguard"])
