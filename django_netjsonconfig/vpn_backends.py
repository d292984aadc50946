"""VPN server backends: netjsonconfig backends restricted to server use."""

from copy import deepcopy

from netjsonconfig import OpenVpn as BaseOpenVpn

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
