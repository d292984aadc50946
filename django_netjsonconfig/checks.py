"""System checks of django-netjsonconfig (ids ``django_netjsonconfig.E00x``/``W00x``)."""

from django.conf import settings
from django.core.checks import Error, Info, Warning, register
from django.utils.module_loading import import_string

from . import settings as app_settings


def _check_choices(name, errors, error_id):
    value = getattr(app_settings, name)
    if not isinstance(value, (list, tuple)) or not value:
        errors.append(
            Error(
                f"NETJSONCONFIG_{name} must be a non-empty sequence of (dotted path, label) pairs.",
                id=error_id,
            )
        )
        return
    for item in value:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            errors.append(
                Error(f"NETJSONCONFIG_{name} contains {item!r}, expected a (dotted path, label) pair.", id=error_id)
            )
            continue
        try:
            import_string(item[0])
        except ImportError as error:
            errors.append(
                Error(
                    f"NETJSONCONFIG_{name}: cannot import {item[0]!r} ({error}).",
                    hint="Fix the dotted path or install the package providing the backend.",
                    id=error_id,
                )
            )


@register()
def check_settings(app_configs, **kwargs):
    errors = []
    _check_choices("BACKENDS", errors, "django_netjsonconfig.E001")
    _check_choices("VPN_BACKENDS", errors, "django_netjsonconfig.E002")
    for name, choices, error_id in (
        ("DEFAULT_BACKEND", "BACKENDS", "django_netjsonconfig.E003"),
        ("DEFAULT_VPN_BACKEND", "VPN_BACKENDS", "django_netjsonconfig.E004"),
    ):
        value = getattr(app_settings, name)
        paths = [item[0] for item in getattr(app_settings, choices) if isinstance(item, (list, tuple)) and item]
        if value and value not in paths:
            errors.append(
                Error(
                    f"NETJSONCONFIG_{name} is {value!r}, which is not in NETJSONCONFIG_{choices}.",
                    hint="Use one of the configured paths, or None to force an explicit choice.",
                    id=error_id,
                )
            )
    if not isinstance(app_settings.CONTEXT, dict):
        errors.append(Error("NETJSONCONFIG_CONTEXT must be a dict.", id="django_netjsonconfig.E005"))
    if str(app_settings.CERT_PATH).endswith("/"):
        errors.append(
            Warning(
                "NETJSONCONFIG_CERT_PATH ends with a slash; certificate paths will contain '//'.",
                hint="Remove the trailing slash.",
                id="django_netjsonconfig.W001",
            )
        )
    try:
        app_settings.COMMON_NAME_FORMAT.format(
            **dict.fromkeys(["id", "name", "key", "mac_address", "backend", "status", "last_ip"], "x")
        )
    except (KeyError, IndexError, ValueError, AttributeError) as error:
        errors.append(
            Error(
                f"NETJSONCONFIG_COMMON_NAME_FORMAT is invalid: {error!r}.",
                hint="Use str.format placeholders naming Config fields, e.g. '{mac_address}-{name}'.",
                id="django_netjsonconfig.E006",
            )
        )
    if not any(entry == "django_x509" or str(entry).startswith("django_x509.") for entry in settings.INSTALLED_APPS):
        errors.append(
            Info(
                "django_x509 is not in INSTALLED_APPS; django-netjsonconfig registered it automatically.",
                hint="Add 'django_x509' to INSTALLED_APPS before 'django.contrib.admin'.",
                id="django_netjsonconfig.I001",
            )
        )
    secret = app_settings.SHARED_SECRET
    if secret and any(char in secret for char in "&+% #\n"):
        errors.append(
            Warning(
                "NETJSONCONFIG_SHARED_SECRET contains characters that the 2017 agent sends unencoded.",
                hint="Use letters, digits, '-' and '_' only so that every agent version can register.",
                id="django_netjsonconfig.W002",
            )
        )
    return errors
