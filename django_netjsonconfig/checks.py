"""System checks of django-netjsonconfig (ids ``django_netjsonconfig.E00x``/``W00x``)."""

from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from django_netjsonconfig import get_config_model
from django_netjsonconfig import settings as app_settings

#: characters the 2017 agent sends unencoded in its registration request
UNSAFE_SECRET_CHARACTERS = "&+% #\n"


def _is_pair(item):
    return isinstance(item, (list, tuple)) and len(item) == 2


def _check_choices(name, error_id):
    value = getattr(app_settings, name)
    if not isinstance(value, (list, tuple)) or not value:
        return [Error(f"NETJSONCONFIG_{name} must be a non-empty sequence of (dotted path, label) pairs.", id=error_id)]
    errors = []
    for item in value:
        if not _is_pair(item):
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
    return errors


def _check_default(name, choices_name, error_id):
    value = getattr(app_settings, name)
    choices = getattr(app_settings, choices_name)
    paths = [item[0] for item in choices if _is_pair(item)] if isinstance(choices, (list, tuple)) else []
    if value and value not in paths:
        return [
            Error(
                f"NETJSONCONFIG_{name} is {value!r}, which is not in NETJSONCONFIG_{choices_name}.",
                hint="Use one of the configured paths, or None to force an explicit choice.",
                id=error_id,
            )
        ]
    return []


def _sample_config_values():
    """Field values of an unsaved config, as ``COMMON_NAME_FORMAT`` receives them."""
    config_model = _config_model()
    if config_model is None:
        return dict.fromkeys(["id", "name", "key", "mac_address", "backend", "status", "last_ip"], "x")
    config = config_model(name="name", mac_address="00:11:22:33:44:55")
    fields = config._meta.concrete_fields
    values = {field.attname: getattr(config, field.attname) for field in fields}
    values.update({field.name: getattr(config, field.attname) for field in fields})
    return values


def _check_common_name_format():
    try:
        app_settings.COMMON_NAME_FORMAT.format(**_sample_config_values())
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as error:
        return [
            Error(
                f"NETJSONCONFIG_COMMON_NAME_FORMAT is invalid: {error!r}.",
                hint="Use str.format placeholders naming Config fields, e.g. '{mac_address}-{name}'.",
                id="django_netjsonconfig.E006",
            )
        ]
    return []


def _check_cert_path():
    if str(app_settings.CERT_PATH).endswith("/"):
        return [
            Warning(
                "NETJSONCONFIG_CERT_PATH ends with a slash; certificate paths will contain '//'.",
                hint="Remove the trailing slash.",
                id="django_netjsonconfig.W001",
            )
        ]
    return []


def _check_shared_secret():
    secret = app_settings.SHARED_SECRET
    if isinstance(secret, str) and any(char in secret for char in UNSAFE_SECRET_CHARACTERS):
        return [
            Warning(
                "NETJSONCONFIG_SHARED_SECRET contains characters that the 2017 agent sends unencoded.",
                hint="Use letters, digits, '-' and '_' only so that every agent version can register.",
                id="django_netjsonconfig.W002",
            )
        ]
    return []


@register()
def check_settings(app_configs, **kwargs):
    """Validates the NETJSONCONFIG_* settings (the shared secret check at startup is separate)."""
    errors = _check_choices("BACKENDS", "django_netjsonconfig.E001")
    errors += _check_choices("VPN_BACKENDS", "django_netjsonconfig.E002")
    errors += _check_default("DEFAULT_BACKEND", "BACKENDS", "django_netjsonconfig.E003")
    errors += _check_default("DEFAULT_VPN_BACKEND", "VPN_BACKENDS", "django_netjsonconfig.E004")
    if not isinstance(app_settings.CONTEXT, dict):
        errors.append(Error("NETJSONCONFIG_CONTEXT must be a dict.", id="django_netjsonconfig.E005"))
    errors += _check_context_overrides()
    errors += _check_common_name_format()
    errors += _check_cert_path()
    errors += _check_shared_secret()
    errors += _check_controller_cache_size()
    errors += _check_crl_validity()
    errors += _check_fleet_settings()
    errors += _check_template_validation_budget()
    errors += _check_hardware_id_settings()
    return errors


def _check_hardware_id_settings():
    errors = []
    for name in ("REGISTRATION_SELF_CREATION", "HARDWARE_ID_ENABLED", "HARDWARE_ID_AS_NAME"):
        value = getattr(app_settings, name)
        if not isinstance(value, bool):
            errors.append(
                Error(f"NETJSONCONFIG_{name} must be True or False (got {value!r}).", id="django_netjsonconfig.E012")
            )
    options = app_settings.HARDWARE_ID_OPTIONS
    if not isinstance(options, dict):
        errors.append(Error("NETJSONCONFIG_HARDWARE_ID_OPTIONS must be a dict.", id="django_netjsonconfig.E013"))
    elif options:
        errors.append(
            Warning(
                "NETJSONCONFIG_HARDWARE_ID_OPTIONS is not applied.",
                hint="The hardware_id column is fixed (64 characters, optional, not unique); "
                "remove the setting or change the field in a model of your own.",
                id="django_netjsonconfig.W006",
            )
        )
    return errors


def _check_template_validation_budget():
    budget = app_settings.TEMPLATE_VALIDATION_BUDGET
    if budget is None or (isinstance(budget, int) and not isinstance(budget, bool) and budget >= 0):
        return []
    return [
        Error(
            f"NETJSONCONFIG_TEMPLATE_VALIDATION_BUDGET must be a whole number >= 0 or None (got {budget!r}).",
            hint=(
                "The number of configurations a template save checks within the request; beyond it the "
                "rest is checked in the background (with a task backend); None: no limit. The default is 100."
            ),
            id="django_netjsonconfig.E011",
        )
    ]


def _check_fleet_settings():
    errors = []
    for name, error_id, hint in (
        (
            "LAST_SEEN_INTERVAL",
            "django_netjsonconfig.E009",
            "Seconds between two writes of a device's last seen time (0: every request); the default is 600.",
        ),
        (
            "EXPIRY_WARNING_DAYS",
            "django_netjsonconfig.E010",
            "Days before expiry a certificate is flagged; the default is 30.",
        ),
    ):
        value = getattr(app_settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            errors.append(
                Error(f"NETJSONCONFIG_{name} must be a whole number >= 0 (got {value!r}).", hint=hint, id=error_id)
            )
    return errors


#: accepted values of NETJSONCONFIG_CRL_VALIDITY_DAYS
CRL_VALIDITY_RANGE = (1, 365)


def _check_crl_validity():
    days = app_settings.CRL_VALIDITY_DAYS
    low, high = CRL_VALIDITY_RANGE
    if isinstance(days, bool) or not isinstance(days, int) or not low <= days <= high:
        return [
            Error(
                f"NETJSONCONFIG_CRL_VALIDITY_DAYS must be a whole number of days from {low} to {high} (got {days!r}).",
                hint="VPN servers get a CRL valid this long, renewed when less than half remains; the default is 7.",
                id="django_netjsonconfig.E008",
            )
        ]
    return []


def _check_controller_cache_size():
    size = app_settings.CONTROLLER_CACHE_SIZE
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return [
            Error(
                "NETJSONCONFIG_CONTROLLER_CACHE_SIZE must be an integer >= 0.",
                hint="The number of configurations each database connection remembers; 0 turns the memory off.",
                id="django_netjsonconfig.E007",
            )
        ]
    return []


@register(deploy=True)
def check_database_connections(app_configs, databases=None, **kwargs):
    """
    Deployment check (``check --deploy``): device polls need database
    connections that stay open; with ``CONN_MAX_AGE = 0`` every poll opens one
    and the controller's memory of polled configs is off.
    """
    from django.db import connections, router

    config_model = _config_model()
    if config_model is None:
        return []
    alias = router.db_for_read(config_model)
    settings_dict = connections[alias].settings_dict
    pooled = bool(settings_dict.get("OPTIONS", {}).get("pool"))
    if settings_dict.get("CONN_MAX_AGE") == 0 and not pooled:
        return [
            Warning(
                f"DATABASES[{alias!r}]['CONN_MAX_AGE'] is 0: every device poll opens a database connection, "
                "and the controller cannot answer unchanged polls from memory.",
                hint="Set CONN_MAX_AGE = None and CONN_HEALTH_CHECKS = True for the database of the configurations.",
                id="django_netjsonconfig.W003",
            )
        ]
    return []


def _config_model():
    """The configuration model, ``None`` when no installed app provides one (checks must not raise)."""
    try:
        return get_config_model()
    except ImproperlyConfigured:
        return None


def _check_context_overrides():
    """NETJSONCONFIG_CONTEXT may override the built-in variables (as in 0.5.6): warn, it is rarely meant."""
    from django_netjsonconfig.variables import BUILTIN_VARIABLES

    context = app_settings.CONTEXT
    if not isinstance(context, dict):
        return []
    overridden = [name for name in BUILTIN_VARIABLES if name in context]
    if not overridden:
        return []
    return [
        Warning(
            "NETJSONCONFIG_CONTEXT overrides the built-in variable(s) %s of every configuration."
            % ", ".join(overridden),
            hint="Rename the variable(s) unless every device must get the same value.",
            id="django_netjsonconfig.W005",
        )
    ]


@register()
def check_x509_installed(app_configs, **kwargs):
    """``django_x509`` is needed by the VPN models: a project should list it in ``INSTALLED_APPS``."""
    from django_netjsonconfig import apps as netjsonconfig_apps

    if not netjsonconfig_apps.x509_registered_implicitly:
        return []
    return [
        Warning(
            "django_x509 is not in INSTALLED_APPS: django-netjsonconfig registered it implicitly.",
            hint="Add 'django_x509' to INSTALLED_APPS.",
            id="django_netjsonconfig.W004",
        )
    ]
