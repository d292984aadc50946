from django_netjsonconfig.management.commands.netjsonconfig_dhparam import Command

__all__ = ["Command"]
