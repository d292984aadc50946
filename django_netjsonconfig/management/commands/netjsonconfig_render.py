"""``manage.py netjsonconfig_render``: stores the renderings that are missing (after an upgrade, an import)."""

from django.core.management.base import BaseCommand, CommandError

from django_netjsonconfig.extending import command_app


class Command(BaseCommand):
    help = (
        "Renders and stores the configuration of every device configuration and VPN server that has "
        "no stored rendering (rows imported or upgraded from django-netjsonconfig 0.5.x, or never "
        "polled), keeping their status, so that their first change sets 'modified' only if the output "
        "changed. With --all, also renders those whose stored rendering is outdated (as a device poll "
        "would). Idempotent: run it after upgrading (never inside migrate) or from cron."
    )
    #: label of the app whose Config and Vpn models are rendered (None: the installed app providing
    #: the configuration models, django_netjsonconfig or the app extending it)
    app_label = None

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            action="store_true",
            help="also re-render configurations and VPN servers whose stored rendering is outdated",
        )

    def handle(self, *args, **options):
        app_config = command_app(self.app_label)
        vpn_model = app_config.vpnclient_model._meta.get_field("vpn").related_model
        self.failed = []
        configs = self.render_configs(app_config.config_model._default_manager, options["all"])
        vpns = self.render_vpns(vpn_model._default_manager, options["all"])
        self.stdout.write(f"Rendered {configs} configuration(s) and {vpns} VPN server(s).")
        if self.failed:
            for line in self.failed:
                self.stderr.write(f"Cannot render {line}")
            raise CommandError(f"{len(self.failed)} object(s) cannot be rendered (listed above).")

    def render_configs(self, manager, outdated_too):
        """Stores the missing renderings (and with ``outdated_too`` the outdated ones); returns how many."""
        count = 0
        for config in manager.filter(rendered_checksum="").order_by("name").iterator(chunk_size=200):
            config.store_first_rendering()
            if config.rendered_checksum:
                count += 1
            else:
                self.failed.append(f'configuration "{config.name}": {config.render_error}')
        if not outdated_too:
            return count
        for config in manager.exclude(rendered_checksum="").order_by("name").iterator(chunk_size=200):
            if config.stored_checksum is not None:
                continue
            try:
                config.get_cached_checksum()  # what a poll does: the status follows the output
                count += 1
            except Exception as error:  # noqa: BLE001 (reported; the others are still rendered)
                self.failed.append(f'configuration "{config.name}": {config.render_error or error}')
        return count

    def render_vpns(self, manager, outdated_too):
        """Stores the renderings of VPN servers that have none (or an outdated one); returns how many."""
        queryset = manager.order_by("name")
        if not outdated_too:
            queryset = queryset.filter(checksum_db="")
        count = 0
        for vpn in queryset.iterator(chunk_size=50):
            if vpn.stored_checksum is not None:
                continue
            try:
                vpn.store_rendering()
                count += 1
            except Exception as error:  # noqa: BLE001
                self.failed.append(f'VPN server "{vpn.name}": {type(error).__name__}: {error}')
        return count
