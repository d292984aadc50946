"""
WireGuard and VXLAN over WireGuard VPN servers: key pairs, the addresses
and VNIs of their clients, the peers of the server's rendering and the
variables of the clients' configurations.

``base/vpn.py`` calls these functions from small hooks, so the OpenVPN
flow there stays as it was. The rules they keep:

* a server has a key pair (created on its first save) and an IPv4
  ``subnet``; its own address is the first host of the subnet;
* each client (a ``VpnClient`` row) owns its key pair, its address (the
  lowest free host of the subnet after the server's) and, for VXLAN, its VNI
  (the lowest free one from the server's starting VNI); they are allocated
  while the server row is locked, and unique constraints on (server,
  address) and (server, VNI) back the lock up;
* the server's peers are its clients, read with one query when rendering;
  adding or removing a client invalidates the server's stored rendering.

Variable names end with the server's UUID (32 hex characters). They are at
most 8 characters before it, so that a placeholder such as
``{{pvt_key_<hex>}}`` fits the 44 characters netjsonconfig allows for a key:
a configuration then validates before its client exists (the client is
created when the template is attached).
"""

import base64
import ipaddress
import json
import socket

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from netjsonconfig import OpenWrt
from netjsonconfig import VxlanWireguard as BaseVxlanWireguard
from netjsonconfig import Wireguard as BaseWireguard

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.backends import load_backend

#: prefixes of the variables of a client (before the server's UUID in hex)
VARIABLE_PREFIXES = {
    "ip": "vpn_ip",
    "private_key": "pvt_key",
    "public_key": "pub_key",
    "server_public_key": "srv_key",
    "vni": "vni",
}
#: the file of a VXLAN over WireGuard server's archive listing its tunnels
VXLAN_FILE = "vxlan.json"
#: VXLAN network identifiers netjsonconfig accepts
VNI_MAX = 16777216
#: the smallest subnet: the server and one client
MAX_PREFIX_LENGTH = 30


def is_wireguard(backend_class):
    """Whether ``backend_class`` is a WireGuard backend (VXLAN over WireGuard included)."""
    return isinstance(backend_class, type) and issubclass(backend_class, BaseWireguard)


def is_vxlan(backend_class):
    """Whether ``backend_class`` is a VXLAN over WireGuard backend."""
    return isinstance(backend_class, type) and issubclass(backend_class, BaseVxlanWireguard)


def _raw_key(key):
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def generate_key_pair():
    """``(private key, public key)``: a new X25519 key pair, base64 as ``wg genkey``/``wg pubkey`` print them."""
    private = X25519PrivateKey.generate()
    private_raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(private_raw).decode(), _raw_key(private.public_key())


def parse_subnet(value):
    """
    The ``IPv4Network`` a server's ``subnet`` holds; raises ``ValidationError``
    with a short reason when it is not an IPv4 network (host bits unset) of
    at least two host addresses.
    """
    try:
        subnet = ipaddress.ip_network(str(value).strip(), strict=True)
    except ValueError as error:
        raise ValidationError(
            _("Enter an IPv4 network with its prefix length, such as 10.8.0.0/24 (%(error)s).") % {"error": error}
        ) from error
    if subnet.version != 4:
        raise ValidationError(_("Enter an IPv4 network: the addresses of WireGuard clients are IPv4."))
    if subnet.prefixlen > MAX_PREFIX_LENGTH:
        raise ValidationError(
            _("The subnet must hold the server and at least one client: use a prefix length of at most /30.")
        )
    return subnet


def _subnet_or_none(value):
    try:
        return parse_subnet(value)
    except ValidationError:
        return None


def server_address(subnet):
    """The server's own address: the first host of ``subnet``."""
    return subnet.network_address + 1


def client_capacity(subnet):
    """How many clients ``subnet`` holds (its hosts but the server)."""
    return subnet.num_addresses - 3


def _address_number(address):
    # inet_aton parses in C: a server with thousands of clients reads each address once per allocation
    return int.from_bytes(socket.inet_aton(str(address)), "big")


def lowest_free_address(subnet, used):
    """
    The lowest host of ``subnet`` after the server's address that is not in
    ``used`` (addresses as strings), as a string; ``None`` when there is
    none. At most ``len(used) + 1`` addresses are tried.
    """
    taken = {_address_number(address) for address in used if address}
    candidate = int(server_address(subnet)) + 1
    last = int(subnet.broadcast_address) - 1
    while candidate in taken:
        candidate += 1
    return str(ipaddress.IPv4Address(candidate)) if candidate <= last else None


def vni_start(server_config):
    """The lowest VNI given to clients: the server's ``vxlan[0].vni`` when it is a number, else 1."""
    vxlan = server_config.get("vxlan") if isinstance(server_config, dict) else None
    first = vxlan[0] if isinstance(vxlan, list) and vxlan and isinstance(vxlan[0], dict) else {}
    vni = first.get("vni")
    if isinstance(vni, int) and not isinstance(vni, bool) and 1 <= vni <= VNI_MAX:
        return vni
    return 1


def lowest_free_vni(start, used):
    """The lowest VNI from ``start`` not in ``used``; ``None`` past ``VNI_MAX``."""
    used = set(used)
    vni = start
    while vni in used:
        vni += 1
    return vni if vni <= VNI_MAX else None


def no_free_address_message(vpn):
    return _("The subnet %(subnet)s of VPN server %(name)s has no free address.") % {
        "subnet": vpn.subnet,
        "name": vpn.name,
    }


# the server ---------------------------------------------------------------


def clean_server(vpn):
    """
    ``{field: [messages]}``: the checks of a WireGuard server besides its
    schema: a valid subnet (normalised) holding its current clients, no CA
    or certificate (WireGuard uses none), a public key of its own for each
    peer written in its NetJSON.
    """
    errors = {}
    if vpn.ca_id:
        errors["ca"] = [_("A WireGuard server uses no CA: leave this field empty.")]
    if vpn.cert_id:
        errors["cert"] = [_("A WireGuard server uses no certificate: leave this field empty.")]
    if not vpn.subnet:
        errors["subnet"] = [_("This field is required.")]
        return errors
    try:
        subnet = parse_subnet(vpn.subnet)
    except ValidationError as error:
        errors["subnet"] = error.messages
        return errors
    vpn.subnet = str(subnet)
    duplicates = _duplicate_peer_keys(vpn.config)
    if duplicates:
        errors["config"] = [
            _("Each peer needs a public key of its own: %(keys)s is used twice.") % {"keys": ", ".join(duplicates)}
        ]
    if not vpn._state.adding:
        outside = _clients_outside(vpn, subnet)
        if outside:
            errors["subnet"] = [
                _(
                    "The subnet must keep the addresses of the current clients (%(addresses)s are outside it "
                    "or take the server's address): remove their VPN-client templates first."
                )
                % {"addresses": ", ".join(outside[:3]) + (" ..." if len(outside) > 3 else "")}
            ]
    return errors


def _duplicate_peer_keys(config):
    server = _server_instance(config) or {}
    peers = server.get("peers") if isinstance(server.get("peers"), list) else []
    keys = [peer.get("public_key") for peer in peers if isinstance(peer, dict) and peer.get("public_key")]
    return sorted({key for key in keys if keys.count(key) > 1})


def _clients_outside(vpn, subnet):
    reserved = {subnet.network_address, server_address(subnet), subnet.broadcast_address}
    outside = []
    for ip in vpn._vpnclient_model()._default_manager.filter(vpn_id=vpn.pk).values_list("ip", flat=True):
        address = ipaddress.ip_address(ip) if ip else None
        if address is None or address not in subnet or address in reserved:
            outside.append(str(ip))
    return sorted(outside)


def ensure_server_keys(vpn):
    """Gives ``vpn`` a key pair when it has none; returns the names of the fields set."""
    if vpn.private_key:
        return []
    vpn.private_key, vpn.public_key = generate_key_pair()
    return ["private_key", "public_key"]


def _server_instance(config):
    instances = config.get("wireguard") if isinstance(config, dict) else None
    if isinstance(instances, list) and instances and isinstance(instances[0], dict):
        return instances[0]
    return None


def server_config(vpn, config):
    """
    Fills the server instance of ``config`` (a copy of the server's NetJSON)
    for rendering: ``private_key`` and ``address`` (first host of the subnet
    with its prefix length) when left out. The clients are added to the
    backend built from it (``add_clients()``).
    """
    server = _server_instance(config)
    if server is None:
        return config
    if not server.get("private_key"):
        server["private_key"] = vpn.private_key or ""
    subnet = _subnet_or_none(vpn.subnet)
    if not server.get("address"):
        server["address"] = f"{server_address(subnet)}/{subnet.prefixlen}" if subnet else ""
    return config


def add_clients(vpn, backend):
    """
    Adds the server's clients to ``backend`` (built from ``server_config()``):
    a peer per client ordered by address, after the peers written in the
    NetJSON, and for VXLAN the file ``vxlan.json`` (``vxlan_tunnels()``).
    They are valid by construction (keys and addresses made here), so the
    backend's validation skips them (``client_peers``): validating 2,000
    peers costs more than rendering them.
    """
    server = _server_instance(backend.config)
    if server is None:
        return backend
    clients = client_rows(vpn)
    own_peers = server.get("peers") if isinstance(server.get("peers"), list) else []
    server["peers"] = own_peers + [{"public_key": key, "allowed_ips": f"{ip}/32"} for ip, key, _vni in clients]
    backend.client_peers = len(clients)
    if is_vxlan(type(backend)):
        files = backend.config.get("files") if isinstance(backend.config.get("files"), list) else []
        contents = json.dumps(vxlan_tunnels(clients), indent=4) + "\n"
        backend.config["files"] = [*files, {"path": VXLAN_FILE, "mode": "0644", "contents": contents}]
    return backend


def client_rows(vpn):
    """``[(ip, public key, vni)]`` of the server's clients with an address, ordered by address (one query)."""
    if vpn._state.adding or vpn.pk is None:
        return []
    rows = vpn._vpnclient_model()._default_manager.filter(vpn_id=vpn.pk).exclude(ip=None)
    return sorted(rows.values_list("ip", "public_key", "vni"), key=lambda row: _address_number(row[0]))


def vxlan_tunnels(clients):
    """
    The content of ``vxlan.json``: one object per client, ordered by address,
    ``{"name": "vxlan<vni>", "vni": <vni>, "remote": "<client address>"}``;
    the name is the interface the server creates for the tunnel.
    """
    return [{"name": f"vxlan{vni}", "vni": vni, "remote": ip} for ip, _key, vni in clients if vni is not None]


def auto_client(vpn, backend_class):
    """
    NetJSON of a device's WireGuard (and VXLAN) client of ``vpn``, from
    netjsonconfig's ``OpenWrt.wireguard_auto_client()`` (or
    ``vxlan_wireguard_auto_client()``): the endpoint (the server's host and
    port), its subnet as allowed IPs and the interface names are written in;
    the device's key, address and VNI and the server's public key are the
    variables of ``context_keys()``.
    """
    instance = json.loads(json.dumps(vpn.config[getattr(backend_class, "vpn_property", "wireguard")][0]))
    keys = context_keys(vpn)
    subnet = _subnet_or_none(vpn.subnet)
    options = {
        "host": vpn.host,
        "server": instance,
        "public_key": "{{%s}}" % keys["server_public_key"],
        "private_key": "{{%s}}" % keys["private_key"],
        "ip_address": "{{%s}}" % keys["ip"],
        "server_ip_network": str(subnet) if subnet else "",
    }
    if not is_vxlan(backend_class):
        return OpenWrt.wireguard_auto_client(**options)
    vxlan = vpn.config.get("vxlan") or [{}]
    options.update(
        vni="{{%s}}" % keys["vni"],
        server_ip_address=str(server_address(subnet)) if subnet else "",
        vxlan=vxlan[0] if isinstance(vxlan[0], dict) else {},
    )
    return OpenWrt.vxlan_wireguard_auto_client(**options)


# the clients --------------------------------------------------------------


def context_keys(vpn):
    """Names of the variables a config gets for its client of the WireGuard server ``vpn``."""
    suffix = vpn.pk.hex
    return {key: f"{prefix}_{suffix}" for key, prefix in VARIABLE_PREFIXES.items()}


def variable_names(suffix):
    """Every variable name a client of the server whose UUID in hex is ``suffix`` may get."""
    return {f"{prefix}_{suffix}" for prefix in VARIABLE_PREFIXES.values()}


def client_context(client):
    """
    The variables of a WireGuard client: its address, key pair and (VXLAN)
    VNI, and the server's public key. A client not saved yet has none of its
    own (they are allocated when it is saved).
    """
    vpn = client.vpn
    keys = context_keys(vpn)
    context = {keys["server_public_key"]: vpn.public_key}
    if client.ip:
        context[keys["ip"]] = str(client.ip)
    if client.private_key:
        context[keys["private_key"]] = client.private_key
        context[keys["public_key"]] = client.public_key
    if client.vni is not None:
        context[keys["vni"]] = str(client.vni)
    return context


#: what an admin preview shows in place of the key pair a new client gets when saved
PENDING_KEY = "(created-when-saved)"


def pending_context(client):
    """
    The variables of a client not saved yet, as an admin preview shows them:
    the address and VNI it would get now (the lowest free ones, not
    reserved) and ``PENDING_KEY`` for its key pair.
    """
    vpn = client.vpn
    keys = context_keys(vpn)
    rows = list(type(client)._default_manager.filter(vpn_id=vpn.pk).values_list("ip", "vni"))
    subnet = _subnet_or_none(vpn.subnet)
    address = lowest_free_address(subnet, (ip for ip, _vni in rows)) if subnet else None
    context = {
        **client_context(client),
        keys["ip"]: address or "",
        keys["private_key"]: PENDING_KEY,
        keys["public_key"]: PENDING_KEY,
    }
    if is_vxlan(vpn.backend_class):
        context[keys["vni"]] = str(
            lowest_free_vni(vni_start(vpn.config), (vni for _ip, vni in rows if vni is not None))
        )
    return context


def allocate(client):
    """
    Gives a new WireGuard client its key pair, address and (VXLAN) VNI, then
    invalidates the server's stored rendering (one UPDATE). Call it inside a
    transaction: the server row stays locked (``select_for_update``) until
    the client is saved, so concurrent clients of one server never get the
    same address. Raises ``ValidationError`` (on ``templates``) when the
    subnet has no free address.
    """
    vpn_model = type(client.vpn)
    manager = vpn_model._default_manager
    vpn = manager.select_for_update().only("pk", "name", "subnet", "backend", "config").get(pk=client.vpn_id)
    subnet = parse_subnet(vpn.subnet)
    rows = list(type(client)._default_manager.filter(vpn_id=vpn.pk).values_list("ip", "vni"))
    if not client.ip:
        client.ip = lowest_free_address(subnet, (ip for ip, _vni in rows))
        if client.ip is None:
            raise ValidationError({"templates": [no_free_address_message(vpn)]})
    if is_vxlan(vpn.backend_class) and client.vni is None:
        client.vni = lowest_free_vni(vni_start(vpn.config), (vni for _ip, vni in rows if vni is not None))
        if client.vni is None:
            raise ValidationError({"templates": [_("VPN server %(name)s has no free VNI.") % {"name": vpn.name}]})
    if not client.private_key:
        client.private_key, client.public_key = generate_key_pair()
    vpn_model.invalidate_renderings(manager.filter(pk=vpn.pk))


def full_server_errors(config, templates):
    """
    Messages for the VPN-client templates of WireGuard servers in
    ``templates`` that ``config`` has no client of yet, when the server's
    subnet has no free address left. No query when ``config`` has a
    client of every VPN-client template's server already (its clients
    prefetched); one when none of the others is a WireGuard server.
    """
    vpn_ids = {template.vpn_id for template in templates if template.type == "vpn" and template.vpn_id}
    if vpn_ids:
        # the clients the config has (prefetched when validating many configs)
        vpn_ids -= {client.vpn_id for client in config._get_vpnclients()}
    paths = wireguard_backend_paths()
    if not vpn_ids or not paths:
        return []
    vpn_model = config._meta.get_field("vpn").related_model
    servers = vpn_model._default_manager.filter(pk__in=vpn_ids, backend__in=paths).only("pk", "name", "subnet")
    database = router.db_for_write(vpn_model)
    if transaction.get_connection(database).in_atomic_block and connections[database].features.has_select_for_update:
        # checked inside the transaction that saves (an admin form, a registration): the servers stay
        # locked until it ends, so a concurrent save cannot take the last address between this check
        # and the allocation (which would fail after the form was accepted)
        servers = servers.select_for_update().order_by("pk")
    servers = list(servers)
    if not servers:
        return []
    clients = type(config)._vpnclient_model()._default_manager.filter(vpn__in=servers).exclude(ip=None)
    used = dict(clients.values("vpn_id").annotate(count=Count("pk")).values_list("vpn_id", "count"))
    errors = []
    for vpn in sorted(servers, key=lambda server: server.name):
        subnet = _subnet_or_none(vpn.subnet)
        if subnet is not None and used.get(vpn.pk, 0) >= client_capacity(subnet):
            errors.append(no_free_address_message(vpn))
    return errors


def wireguard_backend_paths():
    """The dotted paths of ``NETJSONCONFIG_VPN_BACKENDS`` that are WireGuard backends."""
    paths = []
    for path, _label in app_settings.VPN_BACKENDS:
        try:
            if is_wireguard(load_backend(path)):
                paths.append(path)
        except ImportError:
            continue  # reported by the system checks
    return paths
