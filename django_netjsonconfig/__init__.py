"""Configuration manager for embedded devices, as a reusable Django app."""

from pathlib import Path

VERSION = (1, 0, 0, "alpha")
__version__ = "1.0.0a1"

#: admin templates and static files, for apps that extend django-netjsonconfig
#: without installing it (add them to TEMPLATES "DIRS" and STATICFILES_DIRS)
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


def get_config_model():
    """
    The concrete configuration model of the project, like auth's
    ``get_user_model()``: the ``config_model`` of the installed
    django_netjsonconfig app, or of the app extending it (its
    ``AppConfig.__setmodels__()`` sets it). Raises ``ImproperlyConfigured``
    when no installed app provides one. Call it once the app registry is
    ready (e.g. not at module level in ``models.py``).
    """
    from django.apps import apps
    from django.core.exceptions import ImproperlyConfigured

    for app_config in apps.get_app_configs():
        config_model = getattr(app_config, "config_model", None)
        if config_model is not None:
            return config_model
    raise ImproperlyConfigured(
        "No configuration model: add django_netjsonconfig, or an app extending it, to INSTALLED_APPS."
    )
