"""
The fast path of a WireGuard server's archive against the plain way: the
server backend writes its clients' ``[Peer]`` sections itself and skips
validating them (``vpn_backends.Wireguard.client_peers``); the archive must
hold exactly what netjsonconfig renders, and the NetJSON what it validates,
for any clients and any peers the operator wrote.
"""

import base64
import io
import ipaddress
import tarfile

from django.test import SimpleTestCase
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft4Validator
from netjsonconfig import Wireguard as LibraryWireguard

from django_netjsonconfig.vpn_backends import VxlanWireguard, Wireguard

KEYS = st.binary(min_size=32, max_size=32).map(lambda raw: base64.b64encode(raw).decode())
CLIENTS = st.lists(st.tuples(st.integers(2, 65000), KEYS), max_size=25, unique_by=lambda client: client[0])
OWN_PEERS = st.lists(
    st.fixed_dictionaries(
        {"public_key": KEYS, "allowed_ips": st.sampled_from(["10.9.0.0/24", "0.0.0.0/0", "192.168.5.1/32"])},
        optional={
            "endpoint_host": st.sampled_from(["peer.example.com", "192.0.2.7"]),
            "endpoint_port": st.integers(1, 65535),
            "preshared_key": KEYS,
        },
    ),
    max_size=3,
    unique_by=lambda peer: peer["public_key"],
)


def _texts(generated):
    with tarfile.open(fileobj=io.BytesIO(generated.getvalue()), mode="r:gz") as tar:
        return {member.name: tar.extractfile(member).read().decode() for member in tar.getmembers()}


def _netjson(own_peers, clients):
    client_peers = [
        {"public_key": key, "allowed_ips": f"{ipaddress.IPv4Address(0x0A000000 + number)}/32"}
        for number, key in clients
    ]
    server = {
        "name": "wg0",
        "port": 51820,
        "private_key": base64.b64encode(bytes(32)).decode(),
        "address": "10.0.0.1/16",
        "peers": [*own_peers, *client_peers],
    }
    return {"wireguard": [server]}


class TestClientPeersFastPath(SimpleTestCase):
    @given(own_peers=OWN_PEERS, clients=CLIENTS, vxlan=st.booleans())
    def test_archive_is_what_netjsonconfig_renders(self, own_peers, clients, vxlan):
        netjson = _netjson(own_peers, clients)
        backend = (VxlanWireguard if vxlan else Wireguard)(config=netjson)
        backend.client_peers = len(clients)
        self.assertEqual(_texts(backend.generate()), _texts(LibraryWireguard(config=netjson).generate()))

    @given(own_peers=OWN_PEERS, clients=CLIENTS)
    def test_skipped_peers_are_valid(self, own_peers, clients):
        netjson = _netjson(own_peers, clients)
        backend = Wireguard(config=netjson)
        backend.client_peers = len(clients)
        backend.validate()
        Draft4Validator(Wireguard.schema).validate(backend.config)  # every peer, the plain way

    def test_operator_peers_are_still_validated(self):
        netjson = _netjson([{"public_key": "not a key", "allowed_ips": "10.9.0.0/24"}], [(2, "A" * 43 + "=")])
        backend = Wireguard(config=netjson)
        backend.client_peers = 1
        with self.assertRaises(Exception) as context:
            backend.validate()
        self.assertIn("not a key", str(context.exception))
