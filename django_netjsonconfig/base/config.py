"""Abstract device configuration: ``AbstractConfig`` and ``TemplatesVpnMixin``."""

import hashlib
import json
import logging
import secrets
import string
from collections import OrderedDict
from contextlib import contextmanager

import netjsonconfig
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Case, F, Max, Value, When
from django.db.models.functions import Concat, Right
from django.db.models.signals import post_save, pre_delete, pre_save
from django.utils.translation import gettext_lazy as _
from model_utils import Choices
from model_utils.fields import StatusField
from sortedm2m.fields import SortedManyToManyField

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.utils import ordered_copy
from django_netjsonconfig.validators import key_validator, mac_address_validator, normalize_mac_address

from .base import BaseConfig

logger = logging.getLogger(__name__)

KEY_CHARS = string.ascii_letters + string.digits

#: fields whose value can change the rendered configuration
RENDER_FIELDS = frozenset({"name", "backend", "config", "key", "mac_address", "id"})


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


#: ``checksum_db`` of an invalidated config: "<status before>!<md5 before>"
INVALIDATED_MARK = "!"


def _invalidated(status, checksum_db):
    """``checksum_db`` once invalidated (the Python twin of ``invalidate_checksums``)."""
    if INVALIDATED_MARK in checksum_db:
        return checksum_db
    checksum = parse_checksum_db(checksum_db)[2]
    return f"{status}{INVALIDATED_MARK}{checksum}" if checksum else ""


def parse_checksum_db(value):
    """
    Splits a stored ``checksum_db`` into ``(fingerprint, status to restore,
    md5)``. A fresh value is ``"<fingerprint>:<md5>"``; an invalidated one
    (see ``invalidate_checksums``) is ``"<status before>!<md5 before>"``;
    missing parts are empty strings.
    """
    if INVALIDATED_MARK in value:
        status, _sep, checksum = value.partition(INVALIDATED_MARK)
        return "", status, checksum
    fingerprint, _sep, checksum = value.partition(":")
    return fingerprint, "", checksum


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
    #: "<render fingerprint>:<md5>" of the last rendered archive; empty when unknown
    checksum_db = models.CharField(max_length=48, blank=True, default="", editable=False)
    #: the archive whose MD5 is in ``checksum_db``, served to devices as is
    archive_db = models.BinaryField(blank=True, null=True, editable=False)
    error_reason = models.CharField(
        _("error reason"),
        max_length=1024,
        blank=True,
        help_text=_("last error reported by the device"),
    )
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
        Saves the row; a save that may change the rendered output re-renders it
        and flips ``status`` to ``modified`` when the checksum changed.
        """
        self.mac_address = normalize_mac_address(self.mac_address)
        update_fields = kwargs.get("update_fields")
        affects_output = update_fields is None or bool(RENDER_FIELDS & set(update_fields))
        adding = self._state.adding
        super().save(*args, **kwargs)
        if affects_output and not adding:
            try:
                self.refresh_checksum()
            except Exception:
                # saved data that cannot be rendered: devices get a 500 with
                # the controller header until it is fixed (never a 404)
                logger.exception("Configuration %s cannot be rendered", self.pk)
                type(self).invalidate_checksums(type(self)._default_manager.filter(pk=self.pk))
                self.checksum_db = _invalidated(self.status, self.checksum_db)
                self.status = "modified"

    def clean_fields(self, exclude=None):
        self.mac_address = normalize_mac_address(self.mac_address)
        super().clean_fields(exclude)

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

    def get_context(self):
        """Configuration variables: id, key, name, mac_address, then NETJSONCONFIG_CONTEXT."""
        context = {
            "id": str(self.id),
            "key": self.key,
            "name": self.name,
            "mac_address": self.mac_address,
        }
        context.update(app_settings.CONTEXT)
        return context

    # checksum bookkeeping ---------------------------------------------------

    @property
    def stored_checksum(self):
        """The stored checksum if it is still valid for this deployment, else ``None``."""
        fingerprint, _status, checksum = parse_checksum_db(self.checksum_db)
        if checksum and fingerprint == render_fingerprint():
            return checksum
        return None

    def _render_archive(self):
        self._drop_backend_cache()
        archive = self.generate().getvalue()
        return archive, hashlib.md5(archive).hexdigest()

    def refresh_checksum(self):
        """
        Renders the configuration and stores its checksum and archive on the
        row. ``status`` becomes ``modified`` when a previously known checksum
        differs; a config flagged ``modified`` by ``invalidate_checksums``
        whose output turns out unchanged gets its former status back. Writes
        only ``checksum_db``, ``archive_db`` and ``status``. Returns
        ``(checksum, archive bytes)``.
        """
        _fingerprint, status_before, previous = parse_checksum_db(self.checksum_db)
        archive, checksum = self._render_archive()
        updates = {"checksum_db": f"{render_fingerprint()}:{checksum}"}
        if previous and previous != checksum:
            updates["status"] = "modified"
        elif status_before and previous == checksum and self.status == "modified":
            updates["status"] = status_before
        updates = {field: value for field, value in updates.items() if getattr(self, field) != value}
        if updates or self._stored_archive() != archive:
            updates["archive_db"] = archive
        if updates:
            type(self)._default_manager.filter(pk=self.pk).update(**updates)
            for field, value in updates.items():
                setattr(self, field, value)
        return checksum, archive

    def _stored_archive(self):
        if "archive_db" in self.get_deferred_fields():
            return None  # unknown: written again rather than read
        return bytes(self.archive_db) if self.archive_db is not None else None

    def get_cached_checksum(self):
        """
        The checksum devices compare: read from the row when valid, otherwise
        rendered (and stored) once.
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

    @classmethod
    def prepare_raw_save(cls, instance, raw=False, **kwargs):
        """
        Receiver of ``pre_save``: a row written raw (``loaddata``, a
        django-reversion revert) bypasses ``save()``, so it is written as
        invalidated: ``modified``, remembering the status and checksum stored
        before, which the next rendering restores if the output is unchanged.
        """
        if not raw:
            return
        stored = cls._default_manager.filter(pk=instance.pk).values("status", "checksum_db").first()
        stored = stored or {"status": instance.status, "checksum_db": instance.checksum_db}
        instance.checksum_db = _invalidated(stored["status"], stored["checksum_db"])
        instance.status = "modified"

    @classmethod
    def invalidate_checksums(cls, queryset):
        """
        Marks every config of ``queryset`` as ``modified`` in one UPDATE,
        whatever the number of rows. The stored checksum stops being valid but
        is remembered with the former status, so that the next rendering (a
        device poll) restores that status if the output did not change.
        """
        remember = Concat(F("status"), Value(INVALIDATED_MARK), Right("checksum_db", 32))
        return cls._default_manager.filter(pk__in=queryset.values("pk")).update(
            status="modified",
            checksum_db=Case(
                When(checksum_db__contains=":", then=remember),
                default=F("checksum_db"),
                output_field=models.CharField(),
            ),
        )


class TemplatesVpnMixin(models.Model):
    """
    Ordered templates and VPN clients of a config. Combine it with
    ``AbstractConfig``; third-party apps redeclare ``templates`` and ``vpn`` to
    point at their own models.
    """

    templates = SortedManyToManyField(
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
                super().save(*args, **kwargs)
                default_templates = list(self.get_default_templates())
                if default_templates:
                    self.templates.add(*default_templates)
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

    def get_context(self):
        context = super().get_context()
        for vpnclient in self._get_vpnclients():
            context.update(vpnclient.get_context())
        return context

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
        if action != "pre_add" or getattr(instance, CHECKED_FLAG, False):
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
        return errors

    @classmethod
    def templates_changed(cls, action, instance, **kwargs):
        """
        After templates are added, removed or cleared: re-renders the config,
        which flips its status to ``modified`` if its output changed. On the
        reverse side (``template.config_relations.add(config)``) the template
        is placed after the config's other templates.
        """
        _remember_cleared_configs(cls, action, instance, kwargs)
        if action not in POST_ACTIONS or _in_bulk_set(instance):
            return
        for config in _configs_of_signal(cls, instance, action, kwargs.get("reverse"), kwargs.get("pk_set")):
            if action == "post_add" and kwargs.get("reverse"):
                config._move_template_last(instance)
            config.refresh_checksum()

    @classmethod
    def manage_vpn_clients(cls, action, instance, pk_set=None, **kwargs):
        """
        After templates change: creates or deletes the VPN clients they
        require, and re-renders the config if any client changed (the client
        certificates are configuration variables).
        """
        _remember_cleared_configs(cls, action, instance, kwargs)
        if action not in POST_ACTIONS or _in_bulk_set(instance):
            return
        for config in _configs_of_signal(cls, instance, action, kwargs.get("reverse"), pk_set):
            if config.sync_vpn_clients():
                config.refresh_checksum()

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


POST_ACTIONS = ("post_add", "post_remove", "post_clear")


#: set on a config while ``templates.set()`` runs: receivers wait for the end
BULK_SET_FLAG = "_djnjc_setting_templates"
#: set on a config while templates already validated are being added
CHECKED_FLAG = "_djnjc_templates_checked"


def _in_bulk_set(instance):
    return getattr(instance, BULK_SET_FLAG, False)


@contextmanager
def _flag(instance, name):
    previous = getattr(instance, name, False)
    setattr(instance, name, True)
    try:
        yield
    finally:
        setattr(instance, name, previous)


def _remember_cleared_configs(config_model, action, instance, kwargs):
    # after a reverse clear (template.config_relations.clear()) the relation
    # is gone: note which configs had the template while it is still there
    if action == "pre_clear" and kwargs.get("reverse"):
        configs = config_model._default_manager.filter(templates=instance)
        instance._djnjc_cleared_configs = list(configs.values_list("pk", flat=True))


def _configs_of_signal(config_model, instance, action, reverse, pk_set):
    if not reverse:
        return [instance]
    if action == "post_clear":
        pk_set = getattr(instance, "_djnjc_cleared_configs", ())
    return list(config_model._default_manager.filter(pk__in=pk_set or ()))


def _resolve_templates(template_model, objs):
    """Template instances for ``objs`` (instances or primary keys), in order."""
    pks = [obj for obj in objs if not isinstance(obj, template_model)]
    found = {str(template.pk): template for template in template_model._default_manager.filter(pk__in=pks)}
    templates = []
    for obj in objs:
        if isinstance(obj, template_model):
            templates.append(obj)
        elif str(obj) in found:
            templates.append(found[str(obj)])
        else:
            raise template_model.DoesNotExist(f"{template_model._meta.object_name} {obj} does not exist.")
    return templates


def _through_str(through):
    return through.template.name


def install_diff_based_set(config_model):
    """
    Installs the template-selection behaviour of ``config_model`` (called by
    ``DjangoNetjsonconfigApp.connect_signals()``):

    * ``config.templates.set(...)`` is a no-op when the ordered selection is
      unchanged, and otherwise validates the new selection first and applies
      it as one step: django-sortedm2m implements ``set()`` as "clear then
      add", which would delete and recreate VPN clients (and re-issue their
      certificates) on every admin save;
    * ``add()`` on both sides validates before writing anything;
    * deleting a template, or writing one raw (fixtures, reverts), flags the
      configs that use it; a config written raw is flagged too.
    """
    descriptor = config_model.templates
    # the admin's delete confirmation lists the ordering rows: show template names
    descriptor.through.__str__ = _through_str
    base_manager = descriptor.related_manager_cls
    if getattr(base_manager, "_djnjc_diff_based", False):
        return  # already installed (ready() may run more than once)
    template_model = config_model._meta.get_field("templates").related_model
    for signal, receiver, sender in (
        (pre_delete, template_model.pre_delete, template_model),
        (post_save, template_model.raw_saved, template_model),
        (pre_save, config_model.prepare_raw_save, config_model),
    ):
        signal.connect(receiver, sender=sender, dispatch_uid=f"{sender._meta.label_lower}_{receiver.__name__}")

    class DiffBasedSortedManager(base_manager):
        _djnjc_diff_based = True

        def add(self, *objs, **kwargs):
            # validated here, before django opens its transaction: a conflict
            # then leaves the caller's transaction usable
            templates = _resolve_templates(self.model, objs)
            config = self.instance
            if not getattr(config, CHECKED_FLAG, False):
                existing = list(self.all())
                config.check_templates(existing + [template for template in templates if template not in existing])
            with _flag(config, CHECKED_FLAG):
                super().add(*templates, **kwargs)

        add.alters_data = True

        def set(self, objs, **kwargs):
            templates = _resolve_templates(self.model, list(objs))
            if [template.pk for template in templates] == list(self.values_list("pk", flat=True)):
                return
            config = self.instance
            config.check_templates(templates)
            with transaction.atomic():
                with _flag(config, CHECKED_FLAG), _flag(config, BULK_SET_FLAG):
                    super().set(templates, **kwargs)
                config.sync_vpn_clients()
                config.refresh_checksum()

        set.alters_data = True

    descriptor.related_manager_cls = DiffBasedSortedManager
    _install_checked_reverse_add(config_model)


def _install_checked_reverse_add(config_model):
    """
    Makes ``template.config_relations.add(config)`` validate the configs
    before django opens its transaction, like the forward ``add()``.
    """
    field = config_model._meta.get_field("templates")
    descriptor = getattr(field.related_model, field.remote_field.get_accessor_name())
    base_manager = descriptor.related_manager_cls

    class CheckedReverseManager(base_manager):
        def add(self, *objs, **kwargs):
            template = self.instance
            if not getattr(template, CHECKED_FLAG, False):
                pks = [getattr(obj, "pk", obj) for obj in objs]
                configs = config_model._default_manager.filter(pk__in=pks).exclude(templates=template)
                for config in configs.prefetch_related("templates"):
                    config.check_templates([*config.templates.all(), template])
            with _flag(template, CHECKED_FLAG):
                super().add(*objs, **kwargs)

        add.alters_data = True

    descriptor.related_manager_cls = CheckedReverseManager
