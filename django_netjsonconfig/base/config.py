"""Abstract device configuration: ``AbstractConfig`` and ``TemplatesVpnMixin``."""

import hashlib
import json
import logging
import secrets
import string
import uuid
from collections import OrderedDict

import netjsonconfig
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, router, transaction
from django.db.models import Case, F, Max, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from jsonschema import Draft4Validator
from model_utils import Choices
from model_utils.fields import StatusField
from netjsonconfig.backends.base import backend as backend_module

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig import template_selection, wireguard
from django_netjsonconfig.netjson import ordered_copy
from django_netjsonconfig.render_errors import describe_render_error, log_render_error  # noqa: F401
from django_netjsonconfig.schema_errors import describe_rule
from django_netjsonconfig.template_selection import TemplatesField
from django_netjsonconfig.validators import key_validator, mac_address_validator, normalize_mac_address
from django_netjsonconfig.variables import BUILTIN_VARIABLES, undefined_message, used_variables

from .base import BaseConfig, variables_field

logger = logging.getLogger(__name__)

KEY_CHARS = string.ascii_letters + string.digits

#: fields whose value can change the rendered configuration
RENDER_FIELDS = frozenset({"name", "backend", "config", "key", "mac_address", "hardware_id", "id", "context"})


def get_random_key():
    """A random 32-character device key (letters and digits)."""
    return "".join(secrets.choice(KEY_CHARS) for _ in range(32))


def get_random_mac():
    """A random locally administered MAC address (``52:54:00:xx:xx:xx``)."""
    return "52:54:00:" + ":".join(f"{secrets.randbelow(256):02x}" for _ in range(3))


#: the last fingerprint computed, with the setting values it was computed from
_fingerprint_memo = (None, None, None)


def render_fingerprint():
    """
    Identifies what, besides the rows themselves, shapes the rendered output:
    the global context, the certificate path and the netjsonconfig version.
    Stored checksums carry it, so a deployment that changes any of these
    re-renders (and flags as modified) every config on its next poll.

    Every poll needs it: it is recomputed only when the settings objects
    change (``override_settings`` and ``mock.patch`` replace them).
    """
    global _fingerprint_memo
    context, cert_path = app_settings.CONTEXT, app_settings.CERT_PATH
    memo_context, memo_cert_path, fingerprint = _fingerprint_memo
    if context is memo_context and cert_path == memo_cert_path:
        return fingerprint
    source = json.dumps([context, cert_path, netjsonconfig.__version__], sort_keys=True, default=str)
    fingerprint = hashlib.md5(source.encode()).hexdigest()[:8]
    _fingerprint_memo = (context, cert_path, fingerprint)
    return fingerprint


#: columns only device requests write (operator saves leave them alone)
DEVICE_FIELDS = frozenset(
    {
        "status",
        "error_reason",
        "last_ip",
        "management_ip",
        "model",
        "os",
        "system",
        "downloaded_checksum",
        "applied_checksum",
        "applied_archive",
    }
)
#: columns only the server's rendering bookkeeping writes
RENDERING_STATE_FIELDS = frozenset(
    {
        "render_version",
        "rendered_version",
        "rendered_checksum",
        "rendered_fingerprint",
        "restore_status",
        "archive_db",
        "render_error",
        "behind_since",
        "validated_render",
    }
)


def validation_mark(version, fingerprint):
    """
    The value of ``validated_render`` saying that the inputs of rendering at
    ``render_version`` ``version`` passed the backend's schema validation in
    the deployment of ``render_fingerprint()`` ``fingerprint``.
    """
    return f"{version}:{fingerprint}"


def _skip_validation():
    """Stands for a backend instance's ``validate()`` once its input is known to be valid."""


def name_hostname_error(config):
    """
    Why ``config.name`` cannot be the hostname its configuration gets (see
    ``get_config()``), or ``None``: checked with the backend's own rule for
    ``general.hostname``.
    """
    own = config.config.get("general") if isinstance(config.config, dict) else None
    if isinstance(own, dict) and own.get("hostname"):
        return None
    try:
        schema = config.backend_class.schema
    except (ImportError, AttributeError):
        return None  # reported on ``backend`` by ``clean()``
    general = schema.get("properties", {}).get("general", {})
    rule = general.get("properties", {}).get("hostname") if isinstance(general, dict) else None
    if not isinstance(rule, dict):
        return None
    validator = Draft4Validator(rule, format_checker=backend_module.format_checker)
    error = next(iter(validator.iter_errors(config.name.replace(":", "-"))), None)
    if error is None:
        return None
    return _(
        "The name is the device's hostname: %(reason)s Use letters, digits and hyphens, at most 63 "
        "characters, or set general.hostname in the configuration."
    ) % {"reason": describe_rule(error)[1]}


class AbstractConfig(BaseConfig):
    """
    Configuration of one device: its NetJSON, the key it authenticates with,
    its MAC address, the status of the last update and the last IP it used.
    """

    STATUS = Choices(
        ("modified", _("modified")),
        ("running", _("applied (running)")),
        ("error", _("error")),
    )
    status = StatusField(
        _("status"),
        help_text=_(
            '"modified" means the configuration has not been applied yet; '
            '"running" (applied) means it has been applied successfully; '
            '"error" means the device could not apply it and rolled back'
        ),
    )
    key = models.CharField(
        _("key"),
        max_length=64,
        unique=True,
        db_index=True,
        default=get_random_key,
        validators=[key_validator],
        help_text=_("unique device key, used to download the configuration"),
    )
    mac_address = models.CharField(
        _("MAC address"),
        max_length=17,
        unique=True,
        validators=[mac_address_validator],
        help_text=_("primary MAC address, stored as AA:BB:CC:DD:EE:FF"),
    )
    last_ip = models.GenericIPAddressField(
        _("last IP address"),
        blank=True,
        null=True,
        help_text=_(
            "last IP address the device polled or downloaded from (downloads made through the admin do not count)"
        ),
    )
    #: bumped by every change that may change the rendered output (see ``invalidation()``)
    render_version = models.PositiveBigIntegerField(default=0, editable=False)
    #: ``render_version`` the stored rendering was made from (``None``: nothing stored)
    rendered_version = models.BigIntegerField(null=True, blank=True, editable=False)
    #: MD5 of the stored archive (the checksum devices compare)
    rendered_checksum = models.CharField(max_length=32, blank=True, default="", editable=False)
    #: ``render_fingerprint()`` of the deployment that made the stored rendering
    rendered_fingerprint = models.CharField(max_length=8, blank=True, default="", editable=False)
    #: status before the pending invalidation, restored if the output turns out unchanged
    restore_status = models.CharField(max_length=16, blank=True, default="", editable=False)
    #: the archive whose MD5 is ``rendered_checksum``, served to devices as is
    archive_db = models.BinaryField(blank=True, null=True, editable=False)
    #: when the served archive last stopped being the one the device had
    #: downloaded (kept while the device stays behind; see ``fleet``)
    behind_since = models.DateTimeField(_("behind since"), null=True, blank=True, editable=False)
    #: why the server could not render the current configuration (empty when it can)
    render_error = models.TextField(_("rendering error"), blank=True, default="", editable=False)
    #: ``validation_mark()`` of the inputs last known valid: the poll path
    #: renders without validating again only when it equals the current
    #: ``render_version`` and ``render_fingerprint()`` (see ``refresh_checksum()``)
    validated_render = models.CharField(max_length=32, blank=True, default="", editable=False)
    #: MD5 of the archive the device last downloaded through the controller
    downloaded_checksum = models.CharField(max_length=32, blank=True, default="", editable=False)
    #: MD5 of the archive the device last reported running (applied) with
    applied_checksum = models.CharField(max_length=32, blank=True, default="", editable=False)
    #: that archive, when known
    applied_archive = models.BinaryField(null=True, editable=False)
    error_reason = models.CharField(
        _("error reason"),
        max_length=1024,
        blank=True,
        help_text=_("last error reported by the device"),
    )
    context = variables_field(
        _("configuration variables"),
        _(
            "variables of this device, used as {{ name }} in its configuration and templates; "
            "they override the templates' default values and NETJSONCONFIG_CONTEXT"
        ),
    )
    variables_field_name = "context"
    hardware_id = models.CharField(_("hardware ID"), max_length=64, blank=True)
    model = models.CharField(_("hardware model"), max_length=64, blank=True)
    os = models.CharField(_("operating system"), max_length=128, blank=True)
    system = models.CharField(_("SoC / CPU"), max_length=128, blank=True)
    management_ip = models.GenericIPAddressField(
        _("management IP address"),
        blank=True,
        null=True,
        help_text=_("IP address of the management interface, as reported by the device"),
    )

    class Meta:
        abstract = True
        verbose_name = _("configuration")
        verbose_name_plural = _("configurations")

    def save(self, *args, **kwargs):
        """
        Saves the row. Saving an existing config without ``update_fields``
        writes only the operator's columns (never those devices report, see
        ``DEVICE_FIELDS``, nor the rendering bookkeeping): a device report
        committed meanwhile is kept. A save that may change the rendered
        output re-renders it (``rerender()``) in the same transaction.
        """
        self.mac_address = normalize_mac_address(self.mac_address)
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        if self._state.adding:
            with transaction.atomic(using=using):
                super().save(*args, **kwargs)
                if not getattr(self, template_selection.DEFER_FIRST_RENDERING, False):
                    self.store_first_rendering()
            return
        update_fields = kwargs.get("update_fields")
        if update_fields is None:
            kwargs["update_fields"] = update_fields = self.operator_field_names()
        if not RENDER_FIELDS & set(update_fields):
            return super().save(*args, **kwargs)
        with transaction.atomic(using=using):
            if not self.rendered_checksum:
                type(self).store_missing_renderings(type(self)._default_manager.using(using).filter(pk=self.pk))
            super().save(*args, **kwargs)
            self.rerender()

    def _send_change_signals(self, using, previous_checksum, previous_status):
        """``config_modified`` / ``config_status_changed`` after a save, sent when it commits."""
        from django_netjsonconfig import signals

        sender = type(self)
        if self.rendered_checksum and self.rendered_checksum != previous_checksum:
            signals.send_on_commit(
                signals.config_modified, sender, using=using, instance=self, device=self, config=self
            )
        if "status" in self.__dict__ and self.status != previous_status:
            signals.send_on_commit(signals.config_status_changed, sender, using=using, instance=self)

    def store_first_rendering(self):
        """
        Renders a config that has no stored rendering yet and stores it, so
        that its first change is compared with it (``status`` becomes
        ``modified`` only if the output changed). A config that cannot be
        rendered is logged and recorded in ``render_error``.
        """
        if self.rendered_checksum:
            return
        try:
            self.refresh_checksum()
        except DatabaseError:
            raise
        except Exception as error:
            log_render_error(logger, "Configuration %s cannot be rendered", self.pk, error=error, level=logging.WARNING)
        self._drop_backend_cache()

    @classmethod
    def store_missing_renderings(cls, queryset):
        """
        Stores the rendering of every config of ``queryset`` that has none
        (never rendered, or imported from a 0.5.6 database), as stored in the
        database, keeping their status. Returns how many were rendered.
        Called before a change of configs that may have none, and by
        ``manage.py netjsonconfig_render``.
        """
        count = 0
        for config in queryset.filter(rendered_checksum="").iterator(chunk_size=200):
            config.store_first_rendering()
            count += 1
        return count

    @classmethod
    def operator_field_names(cls):
        """Columns an operator's save writes: every concrete field but the primary key, device and server ones."""
        excluded = DEVICE_FIELDS | RENDERING_STATE_FIELDS
        return [
            field.name for field in cls._meta.concrete_fields if not field.primary_key and field.name not in excluded
        ]

    def clean_fields(self, exclude=None):
        self.mac_address = normalize_mac_address(self.mac_address)
        super().clean_fields(exclude)

    def clean(self):
        """
        The name becomes the hostname unless the configuration sets
        ``general.hostname``: a name the backend refuses as a hostname is an
        error on ``name`` (alone), and no name (already an error) is not
        reported again on ``config``.
        """
        if not self.name:
            return
        error = name_hostname_error(self)
        if error:
            raise ValidationError({"name": error})
        super().clean()

    def validate_merged(self, template_instances=None):
        """Checks that every variable used is defined, then validates the merged NetJSON."""
        templates = self._blamed_templates(template_instances)
        self.check_variables(templates)
        return super().validate_merged(templates)

    def check_variables(self, templates):
        """
        Refuses a configuration whose rendering would use an undefined
        variable (set arithmetic, no rendering): the error names the variable
        and the template using it, on ``templates``, or on ``config`` when the
        configuration's own NetJSON uses it.
        """
        errors = {}
        for name, template in self.undefined_variables(templates):
            if template is None:
                errors.setdefault("config", []).append(undefined_message(name))
            else:
                errors.setdefault("templates", []).append(undefined_message(name, template.name))
        if errors:
            raise ValidationError(errors)

    def undefined_variables(self, templates):
        """``[(name, template or None)]``: the variables used but not defined, with who uses them first."""
        defined = set(self.get_context(templates))
        for template in templates:
            if getattr(template, "type", None) == "vpn" and template.vpn_id:
                # the VPN client (and its variables) is created when the template is attached
                # (the names of every kind of server: knowing the kind would cost a query)
                suffix = uuid.UUID(str(template.vpn_id)).hex
                defined.update(
                    f"{kind}_{what}_{suffix}" for kind in ("ca", "cert", "key") for what in ("path", "contents")
                )
                defined.update(wireguard.variable_names(suffix))
        own = used_variables(self.get_config()) - defined
        found = [(name, None) for name in sorted(own)]
        seen = set(own)
        for template in templates:
            for name in sorted(used_variables(template.config) - defined - seen):
                found.append((name, template))
                seen.add(name)
        return found

    def get_config(self):
        """
        A copy of the NetJSON with ``general.hostname`` set from the name
        (``:`` replaced by ``-``) unless the config sets it explicitly.
        """
        config = ordered_copy(self.config or {})
        general = config.setdefault("general", OrderedDict())
        if isinstance(general, dict) and not general.get("hostname"):
            general["hostname"] = self.name.replace(":", "-")
        return config

    def get_context(self, template_instances=None):
        """
        Configuration variables, later sources winning: the default values of
        the templates (in order), ``NETJSONCONFIG_CONTEXT``, the device's own
        ``context``; then the built-ins ``id``, ``key``, ``name``,
        ``mac_address`` and ``hardware_id``, which only ``NETJSONCONFIG_CONTEXT`` may override
        (as in 0.5.6; a system check warns about it).
        """
        return {name: value for name, (value, _source) in self.get_context_sources(template_instances).items()}

    def get_context_sources(self, template_instances=None):
        """``{name: (value, source)}``: each variable with where its value comes from (see ``get_context()``)."""
        context = {}
        for template in self._context_templates(template_instances):
            for name, value in (getattr(template, "default_values", None) or {}).items():
                context[name] = (value, _('default of template "%(name)s"') % {"name": template.name})
        global_context = app_settings.CONTEXT
        for name, value in global_context.items():
            context[name] = (value, _("NETJSONCONFIG_CONTEXT"))
        own = self.context if isinstance(self.context, dict) else {}
        for name, value in own.items():
            context[name] = (value, _("device"))
        builtins = {
            "id": str(self.id),
            "key": self.key,
            "name": self.name,
            "mac_address": self.mac_address,
            "hardware_id": self.hardware_id,
        }
        for name in BUILTIN_VARIABLES:
            if name in global_context:
                context[name] = (global_context[name], _("NETJSONCONFIG_CONTEXT (overrides the built-in)"))
            else:
                context[name] = (builtins[name], _("built-in"))
        return context

    def _context_templates(self, template_instances=None):
        if template_instances is not None:
            return template_instances
        if self._state.adding or getattr(type(self), "templates", None) is None:
            return []
        return list(self.templates.all())

    def get_render_context(self, template_instances=None):
        return self.get_context(self._context_templates(template_instances))

    # checksum bookkeeping ---------------------------------------------------
    #
    # ``render_version`` is bumped by every invalidation; a rendering is
    # stored with ``WHERE render_version = <the version it was rendered
    # from>``, so a rendering made from data changed meanwhile is discarded.

    @property
    def stored_checksum(self):
        """The stored checksum if it is still valid for this row and deployment, else ``None``."""
        checksum = self.rendered_checksum
        if (
            checksum
            and self.rendered_version == self.render_version
            and self.rendered_fingerprint == render_fingerprint()
        ):
            return checksum
        return None

    def _render_archive(self, validate=True):
        """
        ``(archive, md5)``; the backend's schema validation runs once, and
        not at all when ``validate`` is false (the caller knows the inputs
        valid): netjsonconfig's rendering otherwise validates the same data
        twice (``render()`` and ``to_intermediate()``).
        """
        self._drop_backend_cache()
        backend = self.backend_instance
        if validate:
            backend.validate()
        backend.validate = _skip_validation  # this instance only; dropped with the cache
        archive = backend.generate().getvalue()
        self._drop_backend_cache()
        return archive, hashlib.md5(archive).hexdigest()

    @property
    def validated_inputs(self):
        """
        Whether the inputs of the current rendering are known valid: some
        path validated them at this ``render_version`` in this deployment
        (settings and netjsonconfig version: ``render_fingerprint()``).
        Every change bumps ``render_version``, so anything not validated
        since is validated when rendered.
        """
        if "validated_render" in self.get_deferred_fields():
            return False
        return bool(self.validated_render) and self.validated_render == validation_mark(
            self.render_version, render_fingerprint()
        )

    @classmethod
    def record_validated(cls, versions, fingerprint=None):
        """
        Records that the configs ``{pk: render_version}`` were validated at
        those versions (their merged NetJSON with templates and variables, as
        ``validate_merged()`` does): rows changed meanwhile (another
        ``render_version``) are left as they are, so their next rendering
        validates. One UPDATE per distinct version. Returns the rows marked.
        """
        fingerprint = fingerprint or render_fingerprint()
        by_version = {}
        for pk, version in versions.items():
            by_version.setdefault(version, []).append(pk)
        marked = 0
        manager = cls._default_manager
        for version, pks in by_version.items():
            for start in range(0, len(pks), 2000):
                marked += manager.filter(pk__in=pks[start : start + 2000], render_version=version).update(
                    validated_render=validation_mark(version, fingerprint)
                )
        return marked

    def refresh_checksum(self):
        """
        Renders the configuration (as loaded on this instance) and stores the
        result, provided the row's ``render_version`` is still the one loaded
        with it: a rendering that lost a race with a change is returned but
        never stored. ``status`` becomes ``modified`` when a previously stored
        checksum differs; a config flagged ``modified`` by an invalidation
        whose output turns out unchanged gets its former status back. A
        rendering failure is recorded in ``render_error`` (never in
        ``status``) and raised. Returns ``(checksum, archive bytes)``.
        """
        version = self.render_version
        fingerprint = render_fingerprint()
        manager = type(self)._default_manager
        try:
            archive, checksum = self._render_archive(validate=not self.validated_inputs)
        except DatabaseError:
            raise
        except Exception as error:
            message = describe_render_error(error)
            manager.filter(pk=self.pk, render_version=version).exclude(render_error=message).update(
                render_error=message
            )
            self.render_error = message
            raise
        updates = {
            # a new checksum makes a device that was in step behind from now;
            # one already behind stays behind since the earlier time
            "behind_since": Case(
                When(rendered_checksum=checksum, then=F("behind_since")),
                When(behind_since__isnull=True, then=Value(timezone.now())),
                When(rendered_checksum=F("downloaded_checksum"), then=Value(timezone.now())),
                default=F("behind_since"),
                output_field=models.DateTimeField(),
            ),
            "rendered_checksum": checksum,
            "rendered_fingerprint": fingerprint,
            "rendered_version": version,
            "validated_render": validation_mark(version, fingerprint),
            "archive_db": archive,
            "restore_status": "",
            "render_error": "",
        }
        previous, restore = self.rendered_checksum, self.restore_status
        new_status = self.status
        if previous and previous != checksum:
            updates["status"] = new_status = "modified"
        elif restore:
            # never overwrites a status the device reported after the invalidation
            updates["status"] = Case(
                When(status="modified", then=Value(restore)), default=F("status"), output_field=models.CharField()
            )
            new_status = restore if self.status == "modified" else self.status
        if manager.filter(pk=self.pk, render_version=version).update(**updates):
            updates["status"] = new_status
            del updates["behind_since"]  # an SQL expression: read again when needed
            self.__dict__.pop("behind_since", None)
            for field, value in updates.items():
                setattr(self, field, value)
        return checksum, archive

    def _stored_archive(self):
        if "archive_db" in self.get_deferred_fields():
            return None  # unknown: rendered again rather than read
        return bytes(self.archive_db) if self.archive_db is not None else None

    def get_cached_checksum(self):
        """
        The checksum devices compare: read from the row when valid, otherwise
        rendered (and stored, unless the row changed meanwhile) once.
        """
        checksum = self.stored_checksum
        if checksum is None:
            checksum = self.refresh_checksum()[0]
        return checksum

    def get_cached_archive(self):
        """
        ``(checksum, archive bytes)`` of the current configuration: read from
        the row when its checksum is valid, otherwise rendered (and stored).
        """
        checksum = self.stored_checksum
        if checksum is not None:
            archive = self._stored_archive()
            if archive is not None:
                return checksum, archive
        return self.refresh_checksum()

    def rerender(self):
        """
        Invalidates the stored rendering and renders the row as stored, in one
        transaction (the row stays locked meanwhile, so no concurrent change
        is lost); copies the new bookkeeping onto this instance. A config that
        cannot be rendered is logged and recorded in ``render_error``; returns
        ``(checksum, archive)`` or ``None`` in that case.
        """
        model = type(self)
        database = router.db_for_write(model, instance=self)
        with transaction.atomic(using=database):
            rows = model._default_manager.using(database).filter(pk=self.pk)
            before = rows.values_list("rendered_checksum", "status").first()
            model.invalidate_checksums(rows)
            fresh = model._default_manager.using(database).get(pk=self.pk)
            try:
                result = fresh.refresh_checksum()
            except DatabaseError:
                raise
            except Exception as error:
                log_render_error(logger, "Configuration %s cannot be rendered", self.pk, error=error)
                result = None
        for field in RENDERING_STATE_FIELDS | {"status"}:
            if field in fresh.__dict__:
                setattr(self, field, getattr(fresh, field))
            else:
                self.__dict__.pop(field, None)  # deferred: read again when needed
        self._drop_backend_cache()
        if before is not None:
            self._send_change_signals(database, *before)
        return result

    @classmethod
    def invalidation(cls):
        """
        The column updates of an invalidation (the one rule every path
        uses): ``render_version`` bumped, so renderings in progress are not
        stored; ``status`` set to ``modified``, remembering the status it had
        unless an invalidation is already pending.
        """
        return {
            "render_version": F("render_version") + 1,
            "status": Value("modified"),
            "restore_status": Case(
                When(restore_status="", then=F("status")),
                default=F("restore_status"),
                output_field=models.CharField(),
            ),
        }

    @classmethod
    def prepare_raw_save(cls, instance, raw=False, **kwargs):
        """
        Receiver of ``pre_save``: a row written raw (``loaddata``, a
        django-reversion revert) bypasses ``save()``. It keeps the columns the
        device and the server own as stored, and is written invalidated (the
        Python twin of ``invalidation()``).
        """
        if not raw:
            return
        owned = sorted(DEVICE_FIELDS | RENDERING_STATE_FIELDS)
        stored = cls._default_manager.filter(pk=instance.pk).values(*owned).first()
        if stored is not None:
            for field, value in stored.items():
                setattr(instance, field, value)
        else:
            instance.rendered_version = None
        instance.restore_status = instance.restore_status or instance.status
        instance.status = "modified"
        instance.render_version = (instance.render_version or 0) + 1

    @classmethod
    def invalidate_checksums(cls, queryset, **extra):
        """
        Invalidates the stored rendering of every config of ``queryset`` in
        one UPDATE (``invalidation()``), whatever the number of rows; the
        next poll renders again and restores the former status if the output
        did not change. ``extra`` column values are written in the same UPDATE.
        """
        return cls._default_manager.filter(pk__in=queryset.values("pk")).update(**{**cls.invalidation(), **extra})

    @classmethod
    def mark_modified(cls, queryset):
        """
        The operator's explicit status change: sets ``modified`` (and clears
        the device's ``error_reason``) through the invalidation, so that the
        status stays ``modified`` until the device reports again.
        """
        return cls.invalidate_checksums(queryset, restore_status=Value("modified"), error_reason="")


class TemplatesVpnMixin(models.Model):
    """
    Ordered templates and VPN clients of a config. Combine it with
    ``AbstractConfig``; third-party apps redeclare ``templates`` and ``vpn`` to
    point at their own models. How the selection of templates changes
    (validation first, ``set()`` applied as one step) is described in
    ``django_netjsonconfig.template_selection``.
    """

    templates = TemplatesField(
        "django_netjsonconfig.Template",
        related_name="config_relations",
        verbose_name=_("templates"),
        blank=True,
        help_text=_("configuration templates, applied from first to last"),
    )
    vpn = models.ManyToManyField(
        "django_netjsonconfig.Vpn",
        through="django_netjsonconfig.VpnClient",
        related_name="vpn_relations",
        blank=True,
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        """
        Attaches the default templates of the backend to new configs. Creation
        is atomic: if the default templates conflict, nothing is saved.
        """
        if not self._state.adding:
            return super().save(*args, **kwargs)
        try:
            with transaction.atomic():
                with template_selection.flagged(self, template_selection.DEFER_FIRST_RENDERING):
                    super().save(*args, **kwargs)
                    default_templates = list(self.get_default_templates())
                    if default_templates:
                        self.templates.add(*default_templates)
                self.store_first_rendering()
        except Exception:
            self._state.adding = True
            raise

    @classmethod
    def _template_model(cls):
        return cls._meta.get_field("templates").related_model

    @classmethod
    def _vpnclient_model(cls):
        return cls._meta.get_field("vpn").remote_field.through

    @classmethod
    def _vpnclient_accessor(cls):
        field_name = cls._meta.get_field("vpn").m2m_field_name()
        return cls._vpnclient_model()._meta.get_field(field_name).remote_field.get_accessor_name()

    def get_default_templates(self):
        """Templates enabled by default for the backend of this config, by name."""
        return self._template_model().objects.filter(default=True, backend=self.backend).order_by("name")

    def get_template_configs(self, template_instances=None):
        if template_instances is None:
            if self._state.adding:
                return []
            template_instances = self.templates.all()
        return [template.config for template in template_instances]

    def get_context_sources(self, template_instances=None):
        context = super().get_context_sources(template_instances)
        for vpnclient in self._get_vpnclients():
            for name, value in vpnclient.get_context().items():
                context[name] = (value, _('VPN "%(name)s"') % {"name": vpnclient.vpn.name})
        return context

    def get_backend_instance(self, template_instances=None):
        # the templates are read once, for their NetJSON and their default values
        if template_instances is None:
            template_instances = [] if self._state.adding else list(self.templates.all())
        return super().get_backend_instance(list(template_instances))

    def _get_vpnclients(self):
        if self._state.adding:
            return []
        accessor = self._vpnclient_accessor()
        if accessor in getattr(self, "_prefetched_objects_cache", {}):
            return getattr(self, accessor).all()
        return getattr(self, accessor).select_related("vpn", "vpn__ca", "cert")

    # m2m signal receivers ---------------------------------------------------

    @classmethod
    def get_templates_from_pk_set(cls, action, pk_set):
        """Templates being added: a queryset in signal calls, the list itself from forms."""
        if action != "pre_add":
            return None
        if isinstance(pk_set, set):
            return cls._template_model().objects.filter(pk__in=pk_set)
        return pk_set

    @classmethod
    def clean_templates(cls, action, instance, pk_set, **kwargs):
        """
        Validates templates about to be attached; raises ``ValidationError``.
        As an m2m receiver (``pk_set`` is a set) the added templates are
        checked after those already attached; called by a form with a list of
        templates, that list is the whole selection, checked in its order.
        """
        if action != "pre_add" or template_selection.is_checked(instance):
            return
        if kwargs.get("reverse"):
            for config in cls._default_manager.filter(pk__in=pk_set).prefetch_related("templates"):
                config.check_templates([*config.templates.all(), instance])
            return
        added = list(cls.get_templates_from_pk_set(action, pk_set) or [])
        if not isinstance(pk_set, set):
            instance.check_templates(added)
            return
        existing = list(instance.templates.all())
        instance.check_templates(existing + [template for template in added if template not in existing])

    def check_templates(self, templates):
        """
        Validates this config together with ``templates`` (in order): backends
        must match, at most one VPN-client template per VPN server, and the
        merged NetJSON must pass the schema. Errors are keyed ``templates``
        or ``config`` (see ``validate_merged()``).
        """
        templates = list(templates)
        errors = self._template_selection_errors(templates)
        if errors:
            raise ValidationError({"templates": errors})
        self.validate_merged(templates)

    def _template_selection_errors(self, templates):
        errors = []
        seen_vpns = set()
        for template in templates:
            if template.backend != self.backend:
                errors.append(
                    _('Template "%(template)s" uses backend %(template_backend)s, which does not match %(backend)s.')
                    % {"template": template.name, "template_backend": template.backend, "backend": self.backend}
                )
            if template.type == "vpn" and template.vpn_id:
                if template.vpn_id in seen_vpns:
                    errors.append(
                        _('Template "%(template)s" uses a VPN server already used by another selected template.')
                        % {"template": template.name}
                    )
                seen_vpns.add(template.vpn_id)
        return errors + wireguard.full_server_errors(self, templates)

    @classmethod
    def templates_changed(cls, action, instance, **kwargs):
        """
        After templates are added, removed or cleared: re-renders the config,
        which flips its status to ``modified`` if its output changed. On the
        reverse side (``template.config_relations.add(config)``) the template
        is placed after the config's other templates.
        """
        template_selection.remember_cleared_configs(cls, action, instance, kwargs)
        if template_selection.in_bulk_set(instance):
            return
        if action in template_selection.PRE_ACTIONS:
            # a config never rendered gets its rendering before the change
            if kwargs.get("reverse"):
                if action == "pre_clear":
                    pks = getattr(instance, template_selection.CLEARED_CONFIGS, ())
                else:
                    pks = kwargs.get("pk_set") or ()
                cls.store_missing_renderings(cls._default_manager.filter(pk__in=pks))
            elif not instance.rendered_checksum and not getattr(
                instance, template_selection.DEFER_FIRST_RENDERING, False
            ):
                cls.store_missing_renderings(cls._default_manager.filter(pk=instance.pk))
            return
        if action not in template_selection.POST_ACTIONS:
            return
        reverse, pk_set = kwargs.get("reverse"), kwargs.get("pk_set")
        for config in template_selection.configs_of_signal(cls, instance, action, reverse, pk_set):
            if action == "post_add" and kwargs.get("reverse"):
                config._move_template_last(instance)
            config.rerender()

    @classmethod
    def manage_vpn_clients(cls, action, instance, pk_set=None, **kwargs):
        """
        After templates change: creates or deletes the VPN clients they
        require, and re-renders the config if any client changed (the client
        certificates are configuration variables).
        """
        template_selection.remember_cleared_configs(cls, action, instance, kwargs)
        if action not in template_selection.POST_ACTIONS or template_selection.in_bulk_set(instance):
            return
        for config in template_selection.configs_of_signal(cls, instance, action, kwargs.get("reverse"), pk_set):
            if config.sync_vpn_clients():
                config.rerender()

    def _move_template_last(self, template):
        field = self._meta.get_field("templates")
        through = field.remote_field.through
        sort_field = through._sort_field_name
        rows = through._default_manager.filter(**{field.m2m_field_name(): self})
        others = rows.exclude(**{field.m2m_reverse_field_name(): template})
        last = others.aggregate(last=Max(sort_field))["last"] or 0
        rows.filter(**{field.m2m_reverse_field_name(): template}).update(**{sort_field: last + 1})

    def sync_vpn_clients(self):
        """
        Makes the VPN clients match the VPN-client templates attached: creates
        the missing ones and deletes those no longer needed (their automatic
        certificates are revoked); clients that stay are left untouched.
        Returns whether any client was created or deleted.
        """
        wanted = {}
        for template in self.templates.filter(type="vpn").exclude(vpn=None).select_related("vpn"):
            wanted.setdefault(template.vpn_id, template)
        vpnclient_model = self._vpnclient_model()
        changed = False
        with transaction.atomic():
            for client in vpnclient_model.objects.filter(config=self).exclude(vpn_id__in=wanted):
                client.delete()
                changed = True
            existing = set(vpnclient_model.objects.filter(config=self).values_list("vpn_id", flat=True))
            for vpn_id, template in wanted.items():
                if vpn_id in existing:
                    continue
                client = vpnclient_model(config=self, vpn=template.vpn, auto_cert=template.auto_cert)
                client.full_clean()
                client.save()
                changed = True
        self._drop_backend_cache()
        return changed


class AbstractDeviceState(models.Model):
    """
    What the server knows of a device besides its config row: when it was
    last seen polling. Kept in a table of its own so that recording it
    (``django_netjsonconfig.fleet.record_seen()``) never touches the config
    rows the controller remembers between polls. Third-party apps declare
    ``config`` pointing at their own Config model.
    """

    config = models.OneToOneField(
        "django_netjsonconfig.Config",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="device_state",
        # written by polls outside the config's transaction: a config deleted
        # meanwhile (even by raw SQL) never makes a poll fail; the ORM still
        # deletes the state with its config
        db_constraint=False,
    )
    #: last device request (poll, download, report), recorded at most once
    #: per ``NETJSONCONFIG_LAST_SEEN_INTERVAL``
    last_seen = models.DateTimeField(_("last seen"), null=True, blank=True)

    class Meta:
        abstract = True
        verbose_name = _("device state")
        verbose_name_plural = _("device states")

    def __str__(self):
        return str(self.config_id)
