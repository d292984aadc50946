from django_netjsonconfig.management.commands.netjsonconfig_vpn_sync_script import Command as BaseCommand


class Command(BaseCommand):
    app_label = "config"
