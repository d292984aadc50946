"""``manage.py netjsonconfig_validate``: validates every stored device configuration."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from django_netjsonconfig.base.config import describe_render_error, render_fingerprint
from django_netjsonconfig.extending import command_app


class Command(BaseCommand):
    help = (
        "Validates the configuration of every device (its NetJSON merged with its templates and "
        "variables) against the schema of its backend, as the deployment is now configured: run it "
        "after changing NETJSONCONFIG_CONTEXT or upgrading netjsonconfig or a backend. Broken "
        "configurations are listed, recorded as their rendering error (shown in the admin) and make "
        "the command exit non-zero; valid ones are recorded as validated, so devices polling them "
        "next are served without validating again."
    )
    #: label of the app whose Config model is validated (None: the installed app providing
    #: the configuration models, django_netjsonconfig or the app extending it)
    app_label = None

    def handle(self, *args, **options):
        config_model = command_app(self.app_label).config_model
        manager = config_model._default_manager
        fingerprint = render_fingerprint()
        checked, valid, broken = 0, {}, []
        for config in manager.order_by("name").iterator(chunk_size=200):
            checked += 1
            version = config.render_version
            try:
                config.validate_merged()
            except DatabaseError:
                raise
            except Exception as error:  # noqa: BLE001 (a ValidationError, or a backend failing otherwise)
                message = describe_render_error(error)
                manager.filter(pk=config.pk, render_version=version).update(render_error=message)
                broken.append(f'configuration "{config.name}": {message}')
                continue
            valid[config.pk] = version
            if config.render_error:
                # fixed (e.g. by a settings change): rendered now, which clears the error
                try:
                    config.refresh_checksum()
                except DatabaseError:
                    raise
                except Exception:  # noqa: BLE001 (recorded in render_error by refresh_checksum)
                    broken.append(f'configuration "{config.name}": {config.render_error}')
                    valid.pop(config.pk)
        config_model.record_validated(valid, fingerprint)
        self.stdout.write(f"Validated {checked} configuration(s): {checked - len(broken)} valid, {len(broken)} broken.")
        if broken:
            for line in broken:
                self.stderr.write(f"Invalid {line}")
            raise CommandError(f"{len(broken)} configuration(s) are invalid (listed above).")
