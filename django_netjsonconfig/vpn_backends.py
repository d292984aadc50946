"""VPN server backends: netjsonconfig backends restricted to server use (OpenVPN, WireGuard, VXLAN over WireGuard)."""

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

    def _generate_contents(self, tar):
        self._adding_config_files = True
        try:
            super()._generate_contents(tar)
        finally:
            self._adding_config_files = False

    def _add_file(self, tar, name, contents, mode=DEFAULT_FILE_MODE):
        if getattr(self, "_adding_config_files", False):
            mode = self.config_file_mode
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
