"""VPN server backends: netjsonconfig backends restricted to server use (OpenVPN, WireGuard, VXLAN over WireGuard)."""

import gzip
import io
import tarfile
from contextlib import contextmanager
from copy import deepcopy

from netjsonconfig import OpenVpn as BaseOpenVpn
from netjsonconfig import VxlanWireguard as BaseVxlanWireguard
from netjsonconfig import Wireguard as BaseWireguard
from netjsonconfig.schema import DEFAULT_FILE_MODE

#: files every OpenVPN server archive contains, filled from the server's
#: variables (private keys readable by their owner only)
DEFAULT_FILES = [
    {"path": "ca.pem", "mode": "0644", "contents": "{{ ca }}"},
    {"path": "cert.pem", "mode": "0644", "contents": "{{ cert }}"},
    {"path": "key.pem", "mode": "0600", "contents": "{{ key }}"},
    {"path": "dh.pem", "mode": "0644", "contents": "{{ dh }}"},
]
#: the certificate revocation list of the server's CA (see ``Vpn.include_crl``)
CRL_FILE = {"path": "crl.pem", "mode": "0644", "contents": "{{ crl }}"}


def _server_schema(schema: dict) -> dict:
    schema = deepcopy(schema)
    openvpn = schema["properties"]["openvpn"]
    openvpn.update({"additionalItems": False, "minItems": 1, "maxItems": 1})
    openvpn["items"]["oneOf"] = [
        {"$ref": "#/definitions/server_bridged"},
        {"$ref": "#/definitions/server_routed"},
        {"$ref": "#/definitions/server_manual"},
    ]
    tunnel = schema["definitions"]["tunnel"]["properties"]
    tunnel["ca"]["default"] = "ca.pem"
    tunnel["cert"]["default"] = "cert.pem"
    tunnel["key"]["default"] = "key.pem"
    schema["definitions"]["server"]["properties"]["dh"]["default"] = "dh.pem"
    required = schema.setdefault("required", [])
    if "openvpn" not in required:
        required.append("openvpn")
    return schema


class OpenVpn(BaseOpenVpn):
    """
    OpenVPN server backend: exactly one server instance (bridged, routed or
    manual), with defaults pointing at the files ``ca.pem``, ``cert.pem``,
    ``key.pem`` and ``dh.pem``.

    The files themselves are not part of the schema (the editor does not
    write them into the server's configuration): ``Vpn.get_config()`` adds
    ``default_files`` when rendering, and ``crl_file`` with the
    ``crl_property`` option when the server checks its CA's CRL. Custom
    backends may define the same three attributes.
    """

    schema = _server_schema(BaseOpenVpn.schema)
    #: files added to every rendering (an operator's file with the same path wins)
    default_files = DEFAULT_FILES
    #: the CRL file added when ``Vpn.include_crl`` is set
    crl_file = CRL_FILE
    #: option of the server instance that points at the CRL file
    crl_property = "crl_verify"
    #: property of the NetJSON holding the server instance
    vpn_property = "openvpn"


def _wireguard_server_schema(schema: dict) -> dict:
    # the private key and the address are filled from the server's own
    # columns when rendering (``Vpn.get_config()``): the operator may leave
    # them out; the peers come from the server's clients
    schema = deepcopy(schema)
    wireguard = schema["properties"]["wireguard"]
    wireguard.update({"additionalItems": False, "minItems": 1, "maxItems": 1})
    item = wireguard["items"]
    item["required"] = ["name", "port"]
    # jsonschema checks "uniqueItems" by comparing every pair: 2,000 peers
    # cost seconds; the clients' peers are unique by construction and the
    # operator's are checked by ``wireguard.clean_server()``
    item["properties"]["peers"].pop("uniqueItems", None)
    item["properties"]["address"] = {
        "title": "address",
        "description": "address of the server in the tunnel, with its prefix length; "
        "leave it out to use the first address of the server's subnet",
        "type": "string",
        "propertyOrder": 2.5,
    }
    return schema


class Wireguard(BaseWireguard):
    """
    WireGuard server backend: exactly one ``wireguard`` instance. Its
    ``private_key`` and ``address`` may be left out and its ``peers`` are
    the server's clients: ``Vpn.get_config()`` fills them when rendering
    (see ``django_netjsonconfig.wireguard``). The ``<name>.conf`` of the
    archive holds the private key and has mode 0600.
    """

    schema = _wireguard_server_schema(BaseWireguard.schema)
    #: property of the NetJSON holding the server instance
    vpn_property = "wireguard"
    #: mode of the ``<name>.conf`` files of the archive
    config_file_mode = "0600"
    #: how many of the server's last peers are its clients (set by
    #: ``wireguard.add_clients()``): valid by construction, so ``validate()``
    #: skips them, and the archive writes their ``[Peer]`` sections itself
    #: (netjsonconfig's converter and template cost ~20 ms per 1,000 peers)
    client_peers = 0

    @contextmanager
    def _without_client_peers(self):
        """``self.config`` without the clients' peers within the block, which yields them."""
        instances = self.config.get("wireguard") if isinstance(self.config, dict) else None
        if not self.client_peers or not isinstance(instances, list) or not instances:
            yield []
            return
        config, server = self.config, instances[0]
        cut = len(server["peers"]) - self.client_peers
        self.config = {**config, "wireguard": [{**server, "peers": server["peers"][:cut]}, *instances[1:]]}
        self.intermediate_data = None
        try:
            yield server["peers"][cut:]
        finally:
            self.config = config
            self.intermediate_data = None

    #: gzip level of the archive: 6 makes a server's peers as small as 9 (the
    #: netjsonconfig default) in half the time
    compress_level = 6

    def generate(self):
        """The archive (``BytesIO``, tar.gz with fixed metadata) of the server's files, unvalidated."""
        tar_buffer = io.BytesIO()
        with tarfile.open(fileobj=tar_buffer, mode="w") as tar:
            self._generate_contents(tar)
            self._process_files(tar)
        archive = io.BytesIO()
        # mtime 0: the same files always give the same bytes (and checksum)
        with gzip.GzipFile(fileobj=archive, mode="wb", mtime=0, compresslevel=self.compress_level) as compressed:
            compressed.write(tar_buffer.getvalue())
        archive.seek(0)
        return archive

    def validate(self):
        """Validates the NetJSON but the clients' peers (see ``client_peers``)."""
        with self._without_client_peers():
            return super().validate()

    def _generate_contents(self, tar):
        with self._without_client_peers() as peers:
            # the sections netjsonconfig writes for such peers: keys sorted, no empty value
            self._client_sections = "\n".join(
                f"[Peer]\nAllowedIPs = {peer['allowed_ips']}\nPublicKey = {peer['public_key']}\n" for peer in peers
            )
            self._adding_config_files = True
            try:
                super()._generate_contents(tar)
            finally:
                self._adding_config_files, self._client_sections = False, ""

    def _add_file(self, tar, name, contents, mode=DEFAULT_FILE_MODE):
        if getattr(self, "_adding_config_files", False):
            mode = self.config_file_mode
            if self._client_sections:
                contents = contents.rstrip("\n") + "\n\n" + self._client_sections
        super()._add_file(tar, name, contents, mode)


class VxlanWireguard(Wireguard, BaseVxlanWireguard):
    """
    VXLAN over WireGuard server backend: the WireGuard server of ``Wireguard``
    plus an optional ``vxlan`` list, whose first item may set the lowest VNI
    given to clients (``vni``) and the name of the devices' VXLAN interface
    (``name``). The archive also holds ``vxlan.json``: one VXLAN tunnel per
    client (see ``django_netjsonconfig.wireguard``).
    """

    schema = deepcopy(Wireguard.schema)
    schema["properties"]["vxlan"] = deepcopy(BaseVxlanWireguard.schema["properties"]["vxlan"])
    schema["properties"]["vxlan"]["maxItems"] = 1
