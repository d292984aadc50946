from django_netjsonconfig.management.commands.netjsonconfig_expiry import Command

__all__ = ["Command"]
