from django.apps import AppConfig


class NetjsonconfigCommandsConfig(AppConfig):
    """No models: only the ``netjsonconfig_*`` commands (see the package docstring)."""

    name = "django_netjsonconfig.commands"
    label = "netjsonconfig_commands"
    verbose_name = "django-netjsonconfig commands"
