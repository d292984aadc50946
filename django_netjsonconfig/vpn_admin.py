"""
The VPN server admin by kind of server (OpenVPN, WireGuard, VXLAN over
WireGuard): each kind has fields of its own, a starting configuration, and,
for WireGuard, read-only facts of the saved server (its public key, how much
of its subnet is used, its clients).

``AbstractVpnAdmin`` and ``AbstractVpnForm`` (``base/admin.py``) mix these
in. The add page has every field, each kind's marked in its help text, and
``js/vpn_backend.js`` shows only the selected backend's; a saved server's
page has only its backend's fields, so that it reads right without
JavaScript too. The list of clients is capped (``vpn_clients_shown``) and
built from one query, whatever the number of clients.
"""

import ipaddress
from copy import deepcopy

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig import wireguard
from django_netjsonconfig.vpn_kinds import vpn_kind

#: the model fields only servers of a kind have
KIND_FIELDS = {
    "openvpn": ("ca", "cert", "include_crl", "dh"),
    "wireguard": ("subnet",),
    "vxlan_wireguard": ("subnet",),
}
#: read-only facts shown on the page of a saved WireGuard (or VXLAN) server
WIREGUARD_READONLY_FIELDS = ("public_key", "subnet_usage")
#: the read-only list of a saved WireGuard server's clients, in a fieldset of its own
CLIENTS_FIELD = "vpn_clients"
#: the help texts of the fields of one kind on the add page, which has them all
KIND_HELP_TEXTS = {
    "ca": _("OpenVPN only (required): the CA that signs the certificates of the server and its clients."),
    "cert": _("OpenVPN only: the server's certificate, signed by the CA; leave blank to create it automatically."),
    "include_crl": _(
        "OpenVPN only: write the CA's certificate revocation list (crl.pem) with the server's files and "
        "make OpenVPN refuse revoked client certificates (crl-verify)."
    ),
    "subnet": _(
        "WireGuard and VXLAN over WireGuard only (required): the IPv4 network of the tunnel, such as "
        "10.8.0.0/24; the server takes its first address, each client the lowest free one."
    ),
}

#: the configuration a new VPN server starts from in the admin (the files
#: holding the certificates are added when rendering, see ``get_config()``)
VPN_SERVER_DEFAULTS = {
    "openvpn": [
        {
            "name": "default",
            "mode": "server",
            "proto": "udp",
            "port": 1194,
            "dev": "tun0",
            "dev_type": "tun",
            "tls_server": True,
            "ca": "ca.pem",
            "cert": "cert.pem",
            "key": "key.pem",
            "dh": "dh.pem",
            "server": "10.8.0.0 255.255.255.0",
            "topology": "subnet",
            "keepalive": "10 120",
            "cipher": "AES-256-GCM",
            "auth": "SHA256",
            "persist_key": True,
            "persist_tun": True,
            "status": "/var/log/openvpn-status.log 10",
            "status_version": 1,
            "verb": 3,
        }
    ]
}
#: the same for WireGuard servers: the key pair and the address come from the server's columns
WIREGUARD_SERVER_DEFAULTS = {"wireguard": [{"name": "wg0", "port": 51820}]}
#: and for VXLAN over WireGuard servers: clients get the VNIs from 1
VXLAN_SERVER_DEFAULTS = {**WIREGUARD_SERVER_DEFAULTS, "vxlan": [{"name": "vxlan", "vni": 1}]}
SERVER_DEFAULTS = {
    "openvpn": VPN_SERVER_DEFAULTS,
    "wireguard": WIREGUARD_SERVER_DEFAULTS,
    "vxlan_wireguard": VXLAN_SERVER_DEFAULTS,
}


def default_server_config(path):
    """A copy of the configuration a new server of the backend ``path`` starts from (``{}`` if unknown)."""
    return deepcopy(SERVER_DEFAULTS.get(vpn_kind(path) if path else None, {}))


def backends_data():
    """``{backend path: {"kind": ..., "config": ...}}`` of ``NETJSONCONFIG_VPN_BACKENDS``, for the add page's script."""
    data = {}
    for path, _label in app_settings.VPN_BACKENDS:
        kind = vpn_kind(path)
        if kind is not None:
            data[path] = {"kind": kind, "fields": list(KIND_FIELDS[kind]), "config": default_server_config(path)}
    return data


class VpnServerListFilter(admin.RelatedFieldListFilter):
    """The configuration list's filter by VPN server (``("vpn", VpnServerListFilter)``): the clients of one server."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = _("VPN server")


class VpnKindFormMixin:
    """
    Starts a new server from the configuration of the default backend's kind
    and says in the help texts which kind each field is for.
    """

    def __init__(self, *args, **kwargs):
        default = app_settings.DEFAULT_VPN_BACKEND
        if "initial" in kwargs and kwargs.get("instance") is None and default:
            kwargs["initial"].setdefault("backend", default)
            config = default_server_config(default)
            if config:
                kwargs["initial"].setdefault("config", config)
        super().__init__(*args, **kwargs)
        for name, text in KIND_HELP_TEXTS.items():
            if name in self.fields:
                self.fields[name].help_text = text


class VpnKindAdminMixin:
    """
    The fields of the server's kind; on a saved WireGuard server's page its
    public key, its subnet usage and its clients (the first
    ``vpn_clients_shown`` by address, linked to the configuration list
    filtered to the server for the others). The list has a column of the
    subnet usage (counted in the list's own query).
    """

    #: how many clients the page of a WireGuard server lists
    vpn_clients_shown = 100

    def _djnjc_kind(self, request, obj):
        """
        The kind the form is for: the posted backend's (a change of backend
        gets the fields of its kind, with their errors), else the saved
        server's; ``None`` on the add page, which has every field.
        """
        if obj is None:
            return None
        backend = request.POST.get("backend") if request.method == "POST" else None
        return vpn_kind(backend or obj.backend) or vpn_kind(obj.backend)

    def _djnjc_wireguard_page(self, request, obj):
        kind = self._djnjc_kind(request, obj)
        return kind in ("wireguard", "vxlan_wireguard") and vpn_kind(obj.backend) == kind

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        kind = self._djnjc_kind(request, obj)
        if kind is None:
            return fields
        other = {name for names in KIND_FIELDS.values() for name in names} - set(KIND_FIELDS[kind])
        fields = [name for name in fields if name not in other]
        if self._djnjc_wireguard_page(request, obj):
            position = fields.index("subnet") + 1 if "subnet" in fields else len(fields)
            fields[position:position] = [name for name in WIREGUARD_READONLY_FIELDS if name not in fields]
        return fields

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and self._djnjc_wireguard_page(request, obj):
            fields += [name for name in (*WIREGUARD_READONLY_FIELDS, CLIENTS_FIELD) if name not in fields]
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and self._djnjc_wireguard_page(request, obj):
            fieldsets = [*fieldsets, (_("Clients"), {"fields": [CLIENTS_FIELD], "classes": ["djnjc-vpn-clients"]})]
        return fieldsets

    def get_queryset(self, request):
        """On the list, with the number of clients holding an address (``djnjc_clients``)."""
        queryset = super().get_queryset(request)
        if getattr(request, "_djnjc_vpn_changelist", False):
            through = self.model._meta.get_field("vpn_relations").through
            name = through._meta.get_field("vpn").related_query_name()
            queryset = queryset.annotate(djnjc_clients=Count(name, filter=Q(**{f"{name}__ip__isnull": False})))
        return queryset

    def changelist_view(self, request, extra_context=None):
        request._djnjc_vpn_changelist = request.method == "GET"
        return super().changelist_view(request, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        context = {"vpn_backends": backends_data(), **(extra_context or {})}
        return super().add_view(request, form_url, context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = {"vpn_backends": backends_data(), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description=_("subnet usage"))
    def subnet_usage(self, obj):
        """How many of the subnet's client addresses are used (the server takes the first); "-" for OpenVPN."""
        if not obj.is_wireguard:
            return "-"
        try:
            subnet = wireguard.parse_subnet(obj.subnet)
        except ValidationError:  # a stored value the form would refuse: unknown
            return "-"
        used = getattr(obj, "djnjc_clients", None)
        if used is None:
            used = len(self._djnjc_client_rows(obj))
        capacity = wireguard.client_capacity(subnet)
        return ngettext(
            "%(used)s of %(capacity)s client address used",
            "%(used)s of %(capacity)s client addresses used",
            capacity,
        ) % {"used": number_format(used, force_grouping=True), "capacity": number_format(capacity, force_grouping=True)}

    def _djnjc_client_rows(self, obj):
        """
        ``[(ip, vni, public key, config id, config name)]`` of the server's
        clients with an address, by address: one query, kept on ``obj`` for
        the other fields of the page.
        """
        rows = getattr(obj, "_djnjc_client_rows", None)
        if rows is None:
            clients = obj._vpnclient_model()._default_manager.filter(vpn_id=obj.pk).exclude(ip=None)
            rows = clients.values_list("ip", "vni", "public_key", "config_id", "config__name")
            rows = sorted(rows, key=lambda row: int(ipaddress.IPv4Address(row[0])))
            obj._djnjc_client_rows = rows
        return rows

    @admin.display(description=_("clients"))
    def vpn_clients(self, obj):
        """
        The server's clients by address: configuration (linked), address,
        VNI (VXLAN) and public key; after ``vpn_clients_shown`` of them, how
        many more, linked to the configuration list filtered to the server.
        """
        rows = self._djnjc_client_rows(obj)
        config_opts = obj._config_model()._meta
        changelist = reverse(f"admin:{config_opts.app_label}_{config_opts.model_name}_changelist")
        if not rows:
            return _("No configuration uses this server yet: add its VPN-client template to a configuration.")
        vxlan = wireguard.is_vxlan(obj.backend_class)
        change = f"admin:{config_opts.app_label}_{config_opts.model_name}_change"
        cells = "<td>{}</td>" * (3 if vxlan else 2)
        body = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td>' + cells + "</tr>",
            (
                (
                    reverse(change, args=[config_id]),
                    name,
                    ip,
                    *((vni,) if vxlan else ()),
                    format_html("<code>{}</code>", key),
                )
                for ip, vni, key, config_id, name in rows[: self.vpn_clients_shown]
            ),
        )
        headers = [_("configuration"), _("address"), *([_("VNI")] if vxlan else []), _("public key")]
        table = format_html(
            '<table class="djnjc-vpn-clients"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
            format_html_join("", "<th>{}</th>", ((header,) for header in headers)),
            body,
        )
        more = len(rows) - self.vpn_clients_shown
        link = f"{changelist}?vpn__id__exact={obj.pk}"
        if more > 0:
            text = ngettext("and %(count)s more", "and %(count)s more", more) % {
                "count": number_format(more, force_grouping=True)
            }
            return format_html(
                '{}<p class="djnjc-more">{}: <a href="{}">{}</a></p>',
                table,
                text,
                link,
                _("see every configuration of this server"),
            )
        return format_html('{}<p><a href="{}">{}</a></p>', table, link, _("see them in the configuration list"))
