"""
What an app extending django-netjsonconfig must provide, and the system
checks that say what is missing (ids ``django_netjsonconfig.E101`` to
``E103`` and ``W101``).

An extending app lists its own ``AppConfig`` (a subclass of
``django_netjsonconfig.apps.DjangoNetjsonconfigApp``) in ``INSTALLED_APPS``
and declares concrete models of the abstract ones. These checks are
registered as soon as the abstract models are imported (``base/__init__``),
so they run even when Django picked a plain ``AppConfig`` for the app and
none of this package's ``ready()`` code ever ran.
"""

from django.apps import apps
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

#: the sub-app that exposes the ``netjsonconfig_*`` management commands to
#: projects that do not install ``django_netjsonconfig`` itself
COMMANDS_APP = "django_netjsonconfig.commands"


def installed_app():
    """
    The app config that provides the configuration models: the installed
    ``django_netjsonconfig`` or the app extending it (the first app config
    with a ``config_model``). Raises ``ImproperlyConfigured`` when there is none.
    """
    for app_config in apps.get_app_configs():
        if getattr(app_config, "config_model", None) is not None:
            return app_config
    raise ImproperlyConfigured(
        "No configuration model: add django_netjsonconfig, or an app extending it, to INSTALLED_APPS "
        "(run ./manage.py check for details)."
    )


def concrete_subclass(app_config, abstract):
    """The one concrete model of ``app_config`` extending ``abstract`` (``None`` when there is none)."""
    for model in app_config.get_models():
        if issubclass(model, abstract):
            return model
    return None


def _abstract_models():
    from django_netjsonconfig.base.config import AbstractConfig, AbstractDeviceState
    from django_netjsonconfig.base.template import AbstractTemplate
    from django_netjsonconfig.base.vpn import AbstractVpn, AbstractVpnClient

    return {
        "Config": AbstractConfig,
        "Template": AbstractTemplate,
        "Vpn": AbstractVpn,
        "VpnClient": AbstractVpnClient,
        "DeviceState": AbstractDeviceState,
    }


def _apps_with_models():
    """``{app config: [concrete models extending an abstract model of this package]}``."""
    abstract = tuple(_abstract_models().values())
    found = {}
    for model in apps.get_models():
        if issubclass(model, abstract):
            found.setdefault(model._meta.app_config, []).append(model)
    return found


def _check_app_config_class(app_config, models):
    from django_netjsonconfig.apps import DjangoNetjsonconfigApp

    if isinstance(app_config, DjangoNetjsonconfigApp):
        return []
    names = ", ".join(sorted(model.__name__ for model in models))
    return [
        checks.Error(
            f"The app '{app_config.label}' declares {names} (models extending django-netjsonconfig), but "
            f"Django uses the plain AppConfig {type(app_config).__qualname__!r} for it, so none of "
            "django-netjsonconfig's signals, checks and model binding are set up.",
            hint=(
                f"List the dotted path of your DjangoNetjsonconfigApp subclass in INSTALLED_APPS, e.g. "
                f"'{app_config.name}.apps.MyOwnConfig', instead of '{app_config.name}' (with two AppConfig "
                "classes in apps.py, the imported DjangoNetjsonconfigApp and yours, Django picks neither "
                "unless yours sets default = True)."
            ),
            obj=app_config.label,
            id="django_netjsonconfig.E101",
        )
    ]


def _check_bound_models(app_config):
    """E102: ``__setmodels__()`` set ``config_model`` and ``vpnclient_model`` to concrete models of the app."""
    abstract = _abstract_models()
    errors = []
    for attribute, name in (("config_model", "Config"), ("vpnclient_model", "VpnClient")):
        model = getattr(app_config, attribute, None)
        if isinstance(model, type) and issubclass(model, abstract[name]) and not model._meta.abstract:
            continue
        errors.append(
            checks.Error(
                f"The app '{app_config.label}' has no {attribute}: it is {model!r}, expected a concrete model "
                f"extending {abstract[name].__module__}.Abstract{name}.",
                hint=(
                    f"Declare {name} in {app_config.name}.models; the AppConfig finds it, or sets it in "
                    f"__setmodels__() (self.{attribute} = {name})."
                ),
                obj=app_config.label,
                id="django_netjsonconfig.E102",
            )
        )
    return errors


def _related(model, field_name):
    try:
        return model._meta.get_field(field_name).related_model
    except Exception:  # noqa: BLE001 (FieldDoesNotExist, or a field without relation)
        return None


def _check_related_models(app_config):
    """E103: the relations between the models point at concrete models of the right kind."""
    abstract = _abstract_models()
    config_model, vpnclient_model = app_config.config_model, app_config.vpnclient_model
    expected = (
        (config_model, "templates", "Template", "SortedManyToManyField('<app label>.Template')"),
        (config_model, "vpn", "Vpn", "ManyToManyField('<app label>.Vpn', through='<app label>.VpnClient')"),
        (vpnclient_model, "config", "Config", "ForeignKey('<app label>.Config')"),
        (vpnclient_model, "vpn", "Vpn", "ForeignKey('<app label>.Vpn')"),
    )
    errors = []
    for model, field_name, name, declaration in expected:
        related = _related(model, field_name)
        if isinstance(related, type) and issubclass(related, abstract[name]) and not related._meta.abstract:
            continue
        errors.append(
            checks.Error(
                f"{model._meta.label}.{field_name} does not point at a model extending Abstract{name} "
                f"(it points at {related!r}).",
                hint=f"Declare {name} extending Abstract{name} and {field_name} = {declaration} on {model.__name__}.",
                obj=model,
                id="django_netjsonconfig.E103",
            )
        )
    through = getattr(_field(config_model, "vpn"), "remote_field", None)
    if not errors and getattr(through, "through", None) is not vpnclient_model:
        errors.append(
            checks.Error(
                f"{config_model._meta.label}.vpn does not go through {vpnclient_model._meta.label}.",
                hint=f"Declare vpn = ManyToManyField(..., through='{vpnclient_model._meta.label}').",
                obj=config_model,
                id="django_netjsonconfig.E103",
            )
        )
    return errors


def _field(model, name):
    try:
        return model._meta.get_field(name)
    except Exception:  # noqa: BLE001
        return None


def model_errors(app_config):
    """
    What is missing or wrong in the models of ``app_config`` (a
    ``DjangoNetjsonconfigApp``): the errors E102 and E103, an empty list when
    the app can be set up (its ``ready()`` connects nothing otherwise).
    """
    return _check_bound_models(app_config) or _check_related_models(app_config)


def _check_commands(app_config):
    """W101: an extending app without the commands sub-app has no ``netjsonconfig_*`` commands."""
    if app_config.label == "django_netjsonconfig" or apps.is_installed(COMMANDS_APP):
        return []
    return [
        checks.Warning(
            "The netjsonconfig_* management commands (netjsonconfig_validate, netjsonconfig_render, "
            "netjsonconfig_dhparam, netjsonconfig_expiry, netjsonconfig_vpn_sync_script) are not available.",
            hint=f"Add '{COMMANDS_APP}' to INSTALLED_APPS.",
            obj=app_config.label,
            id="django_netjsonconfig.W101",
        )
    ]


@checks.register()
def check_extending_apps(app_configs, **kwargs):
    """What an app providing the configuration models lacks (see the module docstring)."""
    from django_netjsonconfig.apps import DjangoNetjsonconfigApp

    errors = []
    with_models = _apps_with_models()
    for app_config, models in with_models.items():
        errors += _check_app_config_class(app_config, models)
    for app_config in apps.get_app_configs():
        if not isinstance(app_config, DjangoNetjsonconfigApp):
            continue
        errors += model_errors(app_config)
        errors += _check_commands(app_config)
    return errors


def command_app(app_label=None):
    """
    The app config a ``netjsonconfig_*`` command works on: the one labelled
    ``app_label`` (a subclass of the command that sets it), otherwise the
    installed app providing the configuration models.
    """
    return apps.get_app_config(app_label) if app_label else installed_app()
