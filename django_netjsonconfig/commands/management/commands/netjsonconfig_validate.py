from django_netjsonconfig.management.commands.netjsonconfig_validate import Command

__all__ = ["Command"]
