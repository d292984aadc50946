"""``manage.py netjsonconfig_expiry``: what expires soon, for cron (exit status 1 when anything does)."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.extending import command_app
from django_netjsonconfig.fleet import expiring_certificates


class Command(BaseCommand):
    help = (
        "Lists the CAs and certificates of VPN servers and the VPN client certificates of devices that "
        "expire within NETJSONCONFIG_EXPIRY_WARNING_DAYS (or --days), or have expired. Exits with status 1 "
        "when there is any (so that cron mails the output), 0 otherwise. Renew them in the admin or with "
        "django-x509's renew(); see the documentation, 'Renewing certificates'."
    )
    #: label of the app whose models are checked (None: the installed app providing
    #: the configuration models, django_netjsonconfig or the app extending it)
    app_label = None

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=None, help="warning window in days (default: NETJSONCONFIG_EXPIRY_WARNING_DAYS)"
        )
        parser.add_argument("--quiet", action="store_true", help="print nothing when nothing expires soon")

    def handle(self, *args, **options):
        days = options["days"]
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more.")
        vpnclient_model = command_app(self.app_label).vpnclient_model
        vpn_model = vpnclient_model._meta.get_field("vpn").related_model
        if days is None:
            days = app_settings.EXPIRY_WARNING_DAYS
        found = expiring_certificates(vpn_model, vpnclient_model, days=days)
        now = timezone.now()
        if not found:
            if not options["quiet"]:
                self.stdout.write(f"Nothing expires within {days} days.")
            return
        self.stdout.write(f"{len(found)} expire within {days} days or have expired:")
        for kind, name, validity_end, used_by in found:
            when = "EXPIRED" if validity_end <= now else f"expires {validity_end.isoformat(timespec='minutes')}"
            self.stdout.write(f"  {kind} {name!r} (used by {used_by}): {when}")
        sys.exit(1)
