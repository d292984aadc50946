"""
Settings of django-netjsonconfig.

Every ``NETJSONCONFIG_<NAME>`` Django setting is exposed here as ``<NAME>``,
read from ``django.conf.settings`` each time it is accessed (nothing is
cached), so ``override_settings`` is followed. Import the module, never the
names::

    from django_netjsonconfig import settings as app_settings
    app_settings.SHARED_SECRET

One mechanism does it: this module is an ``AppSettings`` object (its class is
set at the end of the file), whose attributes are ``Setting`` descriptors.
They are non-data descriptors, so a value set on the module wins until it is
deleted: ``mock.patch.object(app_settings, "NAME", value)`` works in tests,
and the defaults derived from other settings (``DEFAULT_BACKEND``,
``DEFAULT_VPN_BACKEND``) follow such a patch too.
"""

import sys
import types

from django.conf import settings
from django.utils.functional import empty

PREFIX = "NETJSONCONFIG_"
#: what ``Setting`` reads for a setting the project does not set
UNSET = object()


class Setting:
    """
    A ``NETJSONCONFIG_<name>`` setting: its project value, else ``default``
    (called with the settings object when it is callable: a derived default).
    """

    def __init__(self, default):
        self.default = default

    def __set_name__(self, owner, name):
        self.name = name
        self.setting_name = PREFIX + name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        # the settings object django.conf.settings forwards to (the one
        # override_settings swaps in), read directly: device polls read a few
        # settings each, and an unset one then costs no exception
        current = settings._wrapped
        if current is empty:
            value = getattr(settings, self.setting_name, UNSET)  # configures the settings
        else:
            value = getattr(current, self.setting_name, UNSET)
        if value is UNSET:
            return self.default(instance) if callable(self.default) else self.default
        return value


def _first_path(choices_name):
    """Derived default: the dotted path of the first of the ``choices_name`` pairs."""

    def default(app_settings):
        try:
            return getattr(app_settings, choices_name)[0][0]
        except (IndexError, KeyError, TypeError):
            return None  # malformed: the system checks report it

    return default


class AppSettings(types.ModuleType):
    """The settings of the app with their defaults (this module's class)."""

    BACKENDS = Setting(
        (
            ("netjsonconfig.OpenWrt", "OpenWRT/LEDE"),
            ("netjsonconfig.OpenWisp", "OpenWISP Firmware 1.x"),
        )
    )
    VPN_BACKENDS = Setting(
        (
            ("django_netjsonconfig.vpn_backends.OpenVpn", "OpenVPN"),
            ("django_netjsonconfig.vpn_backends.Wireguard", "WireGuard"),
            ("django_netjsonconfig.vpn_backends.VxlanWireguard", "VXLAN over WireGuard"),
        )
    )
    #: the first of ``BACKENDS`` unless set (``None`` forces an explicit choice)
    DEFAULT_BACKEND = Setting(_first_path("BACKENDS"))
    #: the first of ``VPN_BACKENDS`` unless set
    DEFAULT_VPN_BACKEND = Setting(_first_path("VPN_BACKENDS"))
    REGISTRATION_ENABLED = Setting(True)
    CONSISTENT_REGISTRATION = Setting(True)
    #: off: registration only adopts configs created beforehand (by MAC or hardware id)
    REGISTRATION_SELF_CREATION = Setting(True)
    #: on: registration requires ``hardware_id``
    HARDWARE_ID_ENABLED = Setting(False)
    #: with ``HARDWARE_ID_ENABLED``, a registered config is named by its hardware id
    HARDWARE_ID_AS_NAME = Setting(True)
    #: accepted for 0.12 projects and not applied: the ``hardware_id`` column is fixed (a warning says so)
    HARDWARE_ID_OPTIONS = Setting({})
    SHARED_SECRET = Setting("")
    CONTEXT = Setting({})
    DEFAULT_AUTO_CERT = Setting(True)
    CERT_PATH = Setting("/etc/x509")
    COMMON_NAME_FORMAT = Setting("{mac_address}-{name}")
    #: size in bits of the Diffie-Hellman parameters generated for VPN servers
    DH_KEY_LENGTH = Setting(2048)
    #: configs whose rows each database connection keeps in memory to answer
    #: device polls and downloads without a query (0 turns it off); see
    #: ``django_netjsonconfig.memory``
    CONTROLLER_CACHE_SIZE = Setting(10000)
    #: days a VPN server's CRL is valid; it is renewed once less than half remains
    CRL_VALIDITY_DAYS = Setting(7)
    #: seconds between two writes of a device's "last seen" time
    LAST_SEEN_INTERVAL = Setting(600)
    #: days before expiry a CA or certificate is flagged (admin lists, command)
    EXPIRY_WARNING_DAYS = Setting(30)
    #: configs a template save checks within the request; beyond it (with a
    #: task backend configured) the rest is checked in the background; None: no limit
    TEMPLATE_VALIDATION_BUDGET = Setting(100)


sys.modules[__name__].__class__ = AppSettings
