"""
The fleet list of the config admin (its changelist): rows in name order, a
status column that flags only failures (a device's error, a configuration
the server cannot render; a pending change is normal), the earliest VPN
certificate expiry as a sortable column with a filter, and a search that
finds MAC addresses however they are typed.
"""

import re

from django.contrib import admin
from django.db.models import F, Min, Q
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from django_netjsonconfig import fleet
from django_netjsonconfig import settings as app_settings

#: three to six octets of hexadecimal pairs, with or without ``:``, ``-`` or ``.`` separators
_MAC_FRAGMENT = re.compile(r"^[0-9A-Fa-f]{2}(?:[-:.]?[0-9A-Fa-f]{2}){2,5}$")


def mac_search_term(term):
    """
    The stored (upper-case colon) form of a searched MAC address or part of
    one (``aa-bb-cc``, ``aabb.ccdd.eeff``), or ``None`` when ``term`` is not one.
    """
    term = term.strip()
    if not _MAC_FRAGMENT.match(term):
        return None
    digits = re.sub(r"[^0-9A-Fa-f]", "", term).upper()
    return ":".join(digits[index : index + 2] for index in range(0, len(digits), 2))


def expiry_html(validity_end):
    """A certificate's expiry date: flagged as a failure once past, as a warning within the window."""
    if validity_end is None:
        return "-"
    text = date_format(timezone.localtime(validity_end), "DATE_FORMAT")
    if validity_end <= timezone.now():
        return format_html('<span class="djnjc-expiring djnjc-expired">{} ({})</span>', text, _("expired"))
    if fleet.expires_soon(validity_end):
        return format_html('<span class="djnjc-expiring">{} ({})</span>', text, _("expires soon"))
    return text


def expiry_annotation(config_model):
    """
    The earliest ``validity_end`` of the VPN client certificates of a config
    and of their CAs (``None`` without VPN clients), as an annotation.
    """
    vpn_field = config_model._meta.get_field("vpn")
    through = vpn_field.remote_field.through
    clients = through._meta.get_field(vpn_field.m2m_field_name()).related_query_name()
    cert, ca = Min(f"{clients}__cert__validity_end"), Min(f"{clients}__vpn__ca__validity_end")
    return Least(Coalesce(cert, ca), Coalesce(ca, cert))


def expiry_q(choice, config_model, now=None):
    """
    The ``Q`` of the configs whose earliest VPN certificate (client or CA)
    has ``expired``, expires ``soon`` (within NETJSONCONFIG_EXPIRY_WARNING_DAYS),
    expires ``later``, or that have ``none`` (no VPN client). Subqueries, so
    it also filters querysets without the list's annotations (actions).
    """
    vpn_field = config_model._meta.get_field("vpn")
    through = vpn_field.remote_field.through
    config_column = f"{vpn_field.m2m_field_name()}_id"
    clients = through._default_manager.all()
    now = now or timezone.now()

    def having(condition):
        return Q(pk__in=clients.filter(condition).values(config_column))

    def before(moment):
        return Q(cert__validity_end__lte=moment) | Q(vpn__ca__validity_end__lte=moment)

    if choice == "expired":
        return having(before(now))
    if choice == "soon":
        return having(before(fleet.expiry_limit(now))) & ~having(before(now))
    if choice == "later":
        return having(Q()) & ~having(before(fleet.expiry_limit(now)))
    if choice == "none":
        return ~having(Q())
    raise ValueError(f"unknown expiry choice {choice!r}")


class CertificateExpiryFilter(admin.SimpleListFilter):
    """Configs by the earliest expiry of their VPN certificates (see ``expiry_q()``)."""

    title = _("VPN certificate expiry")
    parameter_name = "certificate_expiry"

    def lookups(self, request, model_admin):
        return [
            ("expired", _("expired")),
            ("soon", _("within %(days)d days") % {"days": app_settings.EXPIRY_WARNING_DAYS}),
            ("later", _("later")),
            ("none", _("no VPN certificate")),
        ]

    def queryset(self, request, queryset):
        if self.value() in ("expired", "soon", "later", "none"):
            return queryset.filter(expiry_q(self.value(), queryset.model))
        return queryset


class FleetListMixin:
    """The list columns, default order and search of the config admin (see the module docstring)."""

    ordering = ["name"]

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj):
        """The device's status; a device error or a rendering error is flagged as a failure."""
        status = format_html(
            '<span class="djnjc-status{}"{}>{}</span>',
            " djnjc-failure" if obj.status == "error" else f" djnjc-status-{obj.status}",
            format_html(' title="{}"', obj.error_reason) if obj.status == "error" and obj.error_reason else "",
            obj.get_status_display(),
        )
        if not obj.render_error:
            return status
        return format_html(
            '{} <span class="djnjc-failure djnjc-render-error" title="{}">{}</span>',
            status,
            obj.render_error,
            _("cannot be rendered"),
        )

    @admin.display(description=_("VPN certificates expire"), ordering=F("djnjc_expiry").asc(nulls_last=True))
    def certificate_expiry(self, obj):
        return expiry_html(getattr(obj, "djnjc_expiry", None))

    def get_search_results(self, request, queryset, search_term):
        """Also finds a MAC address (or part of one) typed with dashes, dots, no separator or in lower case."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        mac = mac_search_term(search_term)
        if mac and "mac_address" in self.get_search_fields(request):
            found = found | queryset.filter(mac_address__contains=mac)
        return found, may_have_duplicates
