from django_netjsonconfig.management.commands.netjsonconfig_render import Command

__all__ = ["Command"]
