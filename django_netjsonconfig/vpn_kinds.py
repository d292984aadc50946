"""
What differs between the kinds of VPN servers (OpenVPN, WireGuard, VXLAN
over WireGuard) where ``AbstractVpn`` validates and renders them: the
property holding the server instance and the fields each kind requires. The
kind is that of the backend class: netjsonconfig's ``Wireguard`` and its
subclasses are WireGuard, anything else is treated as OpenVPN.
"""

from django.utils.translation import gettext_lazy as _

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig import wireguard
from django_netjsonconfig.backends import load_backend


def main_property(backend):
    """The NetJSON property holding the server instance of a VPN backend class."""
    return getattr(backend, "vpn_property", None) or backend.__name__.lower()


def vpn_kind(path):
    """
    ``"openvpn"``, ``"wireguard"`` or ``"vxlan_wireguard"`` for a backend's
    dotted path (what its clients own: a certificate, a key pair and an
    address, and a VNI too); ``None`` when it cannot be imported.
    """
    try:
        backend = load_backend(path)
    except ImportError:
        return None
    if wireguard.is_vxlan(backend):
        return "vxlan_wireguard"
    return "wireguard" if wireguard.is_wireguard(backend) else "openvpn"


def clean_kind(vpn):
    """
    ``{field: [messages]}``: an OpenVPN server requires a CA, a WireGuard
    server the checks of ``wireguard.clean_server()``; the kind cannot
    change while the server has clients (what they own belongs to it).
    """
    kind = vpn_kind(vpn.backend) if vpn.backend else None
    if kind is None:
        return {}  # an import error is reported on "backend" by BaseConfig.clean()
    errors = wireguard.clean_server(vpn) if kind != "openvpn" else {}
    if kind == "openvpn" and not vpn.ca_id:
        errors["ca"] = [_("This field is required.")]
    stored = None
    if not vpn._state.adding:
        stored = type(vpn)._default_manager.filter(pk=vpn.pk).values_list("backend", flat=True).first()
    if stored and stored != vpn.backend and vpn_kind(stored) != kind and _has_clients(vpn):
        names = dict(app_settings.VPN_BACKENDS)
        errors["backend"] = [
            _(
                "The backend cannot change from %(old)s to %(new)s while configurations use this "
                "server: remove its VPN-client templates first."
            )
            % {"old": names.get(stored, stored), "new": names.get(vpn.backend, vpn.backend)}
        ]
    return errors


def _has_clients(vpn):
    return vpn._vpnclient_model()._default_manager.filter(vpn_id=vpn.pk).exists()
