"""``manage.py netjsonconfig_vpn_sync_script``: the shell script that keeps a VPN host in sync."""

from importlib.resources import files

from django.core.management.base import BaseCommand, CommandError

from django_netjsonconfig.extending import command_app

#: the POSIX sh script shipped with the package
SCRIPT = files("django_netjsonconfig") / "vpn_sync" / "netjsonconfig-vpn-sync.sh"


def sync_script():
    """The text of the VPN sync script."""
    return SCRIPT.read_text(encoding="utf-8")


class Command(BaseCommand):
    help = (
        "Prints the POSIX shell script a VPN host runs from cron or a systemd timer to install its "
        "configuration, certificates and CRL from the controller. With --vpn and --url, prints "
        "instead the environment file (id and key of that server) the script reads."
    )
    #: label of the app whose Vpn model is looked up (None: the installed app providing
    #: the configuration models, django_netjsonconfig or the app extending it)
    app_label = None

    def add_arguments(self, parser):
        parser.add_argument("--vpn", metavar="NAME", help="name of a VPN server: print its environment file")
        parser.add_argument("--url", metavar="URL", help="base URL of the controller, as the VPN host reaches it")

    def handle(self, *args, vpn=None, url=None, **options):
        if vpn is None and url is None:
            self.stdout.write(sync_script(), ending="")
            return
        if not vpn or not url:
            raise CommandError("--vpn and --url go together.")
        vpn_model = command_app(self.app_label).vpnclient_model._meta.get_field("vpn").related_model
        server = vpn_model._default_manager.filter(name=vpn).first()
        if server is None:
            raise CommandError(f"No VPN server is named {vpn!r}.")
        self.stdout.write(
            f"NETJSONCONFIG_URL={url.rstrip('/')}\n"
            f"NETJSONCONFIG_VPN_UUID={server.pk.hex}\n"
            f"NETJSONCONFIG_VPN_KEY={server.key}\n"
        )
