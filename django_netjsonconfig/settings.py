"""
Settings of django-netjsonconfig.

Every ``NETJSONCONFIG_<NAME>`` Django setting is exposed here as ``<NAME>`` and
is read from ``django.conf.settings`` each time it is accessed, so that
``override_settings`` and ``mock.patch.object(app_settings, "NAME", ...)`` both
work in tests. Import the module, never the names::

    from django_netjsonconfig import settings as app_settings
    app_settings.SHARED_SECRET
"""

from django.conf import settings
from django.core.signals import setting_changed

PREFIX = "NETJSONCONFIG_"

DEFAULTS = {
    "BACKENDS": (
        ("netjsonconfig.OpenWrt", "OpenWRT/LEDE"),
        ("netjsonconfig.OpenWisp", "OpenWISP Firmware 1.x"),
    ),
    "VPN_BACKENDS": (("django_netjsonconfig.vpn_backends.OpenVpn", "OpenVPN"),),
    "REGISTRATION_ENABLED": True,
    "CONSISTENT_REGISTRATION": True,
    "SHARED_SECRET": "",
    "CONTEXT": {},
    "DEFAULT_AUTO_CERT": True,
    "CERT_PATH": "/etc/x509",
    "COMMON_NAME_FORMAT": "{mac_address}-{name}",
    # size in bits of the Diffie-Hellman parameters generated for VPN servers
    "DH_KEY_LENGTH": 2048,
    # configs whose rows each database connection keeps in memory to answer
    # device polls and downloads without a query (0 turns it off); see rowcache
    "CONTROLLER_CACHE_SIZE": 10000,
    # days a VPN server's CRL is valid; it is renewed once less than half remains
    "CRL_VALIDITY_DAYS": 7,
    # seconds between two writes of a device's "last seen" time
    "LAST_SEEN_INTERVAL": 600,
    # days before expiry a CA or certificate is flagged (admin lists, command)
    "EXPIRY_WARNING_DAYS": 30,
    # configs a template save checks within the request; beyond it (with a
    # task backend configured) the rest is checked in the background; None: no limit
    "TEMPLATE_VALIDATION_BUDGET": 100,
}


def _first_path(setting_name):
    # a value patched onto this module (mock.patch.object) takes precedence
    choices = globals()[setting_name] if setting_name in globals() else __getattr__(setting_name)
    try:
        return choices[0][0]
    except (IndexError, KeyError, TypeError):
        return None  # malformed: the system checks report it


#: resolved values; the device polling path reads settings on every request
_resolved = {}


def _read(name):
    if name == "DEFAULT_BACKEND":
        return getattr(settings, PREFIX + name, _first_path("BACKENDS"))
    if name == "DEFAULT_VPN_BACKEND":
        return getattr(settings, PREFIX + name, _first_path("VPN_BACKENDS"))
    if name in DEFAULTS:
        return getattr(settings, PREFIX + name, DEFAULTS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __getattr__(name):
    try:
        return _resolved[name]
    except KeyError:
        value = _read(name)
        # the defaults derived from other settings follow them (these may be
        # patched onto this module, which announces nothing)
        if name not in ("DEFAULT_BACKEND", "DEFAULT_VPN_BACKEND"):
            _resolved[name] = value
        return value


def _forget(setting, **kwargs):
    # override_settings (and any other runtime change) announces itself
    if setting.startswith(PREFIX):
        _resolved.clear()


setting_changed.connect(_forget, dispatch_uid="django_netjsonconfig_settings_changed")
