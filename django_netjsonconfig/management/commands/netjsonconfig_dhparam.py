"""``manage.py netjsonconfig_dhparam``: fresh Diffie-Hellman parameters for VPN servers."""

from django.core.management.base import BaseCommand, CommandError

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.dh import MIN_KEY_SIZE
from django_netjsonconfig.extending import command_app


class Command(BaseCommand):
    help = (
        "Generates new Diffie-Hellman parameters for the given VPN servers and stores them. "
        "Generation takes seconds to minutes per server (more for bigger sizes), which is why "
        "it runs here and never while an admin request waits; new servers start with the "
        "published RFC 7919 group instead."
    )
    #: label of the app whose Vpn model is updated (None: the installed app providing
    #: the configuration models, django_netjsonconfig or the app extending it)
    app_label = None

    def add_arguments(self, parser):
        parser.add_argument(
            "--vpn",
            action="append",
            default=[],
            dest="names",
            metavar="NAME",
            help="name of a VPN server (repeat the option for several servers)",
        )
        parser.add_argument("--all", action="store_true", help="every VPN server")
        parser.add_argument(
            "--bits",
            type=int,
            default=None,
            help="size of the parameters in bits (default: NETJSONCONFIG_DH_KEY_LENGTH)",
        )

    def handle(self, *args, **options):
        bits = options["bits"] or int(app_settings.DH_KEY_LENGTH)
        if bits < MIN_KEY_SIZE:
            raise CommandError(f"--bits must be at least {MIN_KEY_SIZE}.")
        vpns = self.get_vpns(options["names"], options["all"])
        for vpn in vpns:
            self.stdout.write(f'Generating {bits}-bit DH parameters for VPN server "{vpn.name}" ...')
            vpn.dh = vpn.dhparam(bits)
            # only this column: an admin may have edited the server meanwhile
            vpn.save(update_fields=["dh", "modified"])
        self.stdout.write(self.style.SUCCESS(f"DH parameters replaced on {len(vpns)} VPN server(s)."))

    def get_vpn_model(self):
        """The Vpn model of the app the command works on (``app_label``)."""
        vpnclient_model = command_app(self.app_label).vpnclient_model
        return vpnclient_model._meta.get_field("vpn").related_model

    def get_vpns(self, names, select_all):
        """The VPN servers chosen by the options; refuses unknown names before any work."""
        if not names and not select_all:
            raise CommandError("Name the VPN servers with --vpn NAME (repeatable), or pass --all.")
        queryset = self.get_vpn_model()._default_manager.order_by("name")
        if select_all:
            return list(queryset)
        vpns = list(queryset.filter(name__in=names))
        missing = sorted(set(names) - {vpn.name for vpn in vpns})
        if missing:
            raise CommandError(f"Unknown VPN server(s): {', '.join(missing)}.")
        return vpns
