from django_netjsonconfig.management.commands.netjsonconfig_vpn_sync_script import Command

__all__ = ["Command"]
