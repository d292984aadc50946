"""VPN server backends: netjsonconfig backends restricted to server use."""

from copy import deepcopy

from netjsonconfig import OpenVpn as BaseOpenVpn

DEFAULT_FILES = [
    {"path": f"{name}.pem", "mode": "0644", "contents": "{{ %s }}" % name} for name in ("ca", "cert", "key", "dh")
]


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
    schema["properties"]["files"]["default"] = deepcopy(DEFAULT_FILES)
    required = schema.setdefault("required", [])
    if "openvpn" not in required:
        required.append("openvpn")
    return schema


class OpenVpn(BaseOpenVpn):
    """
    OpenVPN server backend: exactly one server instance (bridged, routed or
    manual), with defaults pointing at the files ``ca.pem``, ``cert.pem``,
    ``key.pem`` and ``dh.pem`` written from the server's variables.
    """

    schema = _server_schema(BaseOpenVpn.schema)
