"""``manage.py netjsonconfig_render``: stores the renderings that are missing (after an upgrade, an import)."""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Renders and stores the configuration of every device configuration and VPN server that has "
        "no stored rendering (rows imported or upgraded from django-netjsonconfig 0.5.x, or never "
        "polled), keeping their status, so that their first change sets 'modified' only if the output "
        "changed. With --all, also renders those whose stored rendering is outdated (as a device poll "
        "would). Idempotent: run it after upgrading (never inside migrate) or from cron."
    )
    #: label of the app whose Config and Vpn models are rendered
    app_label = "django_netjsonconfig"

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            action="store_true",
            help="also re-render configurations and VPN servers whose stored rendering is outdated",
        )

    def handle(self, *args, **options):
        app_config = apps.get_app_config(self.app_label)
        config_model = app_config.config_model
        vpn_model = app_config.vpnclient_model._meta.get_field("vpn").related_model
        failed = []
        configs = vpns = 0
        manager = config_model._default_manager
        for config in manager.filter(rendered_checksum="").order_by("name").iterator(chunk_size=200):
            config.store_first_rendering()
            if config.rendered_checksum:
                configs += 1
            else:
                failed.append(f'configuration "{config.name}": {config.render_error}')
        if options["all"]:
            for config in manager.exclude(rendered_checksum="").order_by("name").iterator(chunk_size=200):
                if config.stored_checksum is not None:
                    continue
                try:
                    config.get_cached_checksum()  # what a poll does: status follows the output
                    configs += 1
                except Exception as error:  # noqa: BLE001 (reported; the others are still rendered)
                    failed.append(f'configuration "{config.name}": {config.render_error or error}')
        queryset = vpn_model._default_manager.order_by("name")
        if not options["all"]:
            queryset = queryset.filter(checksum_db="")
        for vpn in queryset.iterator(chunk_size=50):
            if vpn.stored_checksum is not None:
                continue
            try:
                vpn.store_rendering()
                vpns += 1
            except Exception as error:  # noqa: BLE001
                failed.append(f'VPN server "{vpn.name}": {type(error).__name__}: {error}')
        self.stdout.write(f"Rendered {configs} configuration(s) and {vpns} VPN server(s).")
        if failed:
            for line in failed:
                self.stderr.write(f"Cannot render {line}")
            raise CommandError(f"{len(failed)} object(s) cannot be rendered (listed above).")
