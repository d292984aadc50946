from django_netjsonconfig.management.commands.netjsonconfig_validate import Command as BaseCommand


class Command(BaseCommand):
    app_label = "config"
