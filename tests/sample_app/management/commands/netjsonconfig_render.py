from django_netjsonconfig.management.commands.netjsonconfig_render import Command as BaseCommand


class Command(BaseCommand):
    app_label = "config"
