"""Abstract device configuration: ``AbstractConfig`` and ``TemplatesVpnMixin``."""

import hashlib
import json
import logging
import secrets
import string
from collections import OrderedDict

import netjsonconfig
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Case, F, Max, Value, When
from django.db.models.functions import Concat, Right
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


def render_fingerprint():
    """
    Identifies what, besides the rows themselves, shapes the rendered output:
    the global context, the certificate path and the netjsonconfig version.
    Stored checksums carry it, so a deployment that changes any of these
    re-renders (and flags as modified) every config on its next poll.
    """
    source = json.dumps(
        [app_settings.CONTEXT, app_settings.CERT_PATH, netjsonconfig.__version__],
        sort_keys=True,
        default=str,
    )
    return hashlib.md5(source.encode()).hexdigest()[:8]


def _archive_cache_key(pk, checksum):
    return f"django_netjsonconfig:archive:{pk.hex}:{checksum}"


#: ``checksum_db`` of an invalidated config: "<status before>!<md5 before>"
INVALIDATED_MARK = "!"


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
                type(self)._default_manager.filter(pk=self.pk).update(status="modified", checksum_db="")
                self.status, self.checksum_db = "modified", ""

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
        Renders the configuration, stores its checksum and caches the archive.
        ``status`` becomes ``modified`` when a previously known checksum
        differs; a config flagged ``modified`` by ``invalidate_checksums``
        whose output turns out unchanged gets its former status back. Writes
        only ``checksum_db`` and ``status``. Returns ``(checksum, archive bytes)``.
        """
        _fingerprint, status_before, previous = parse_checksum_db(self.checksum_db)
        archive, checksum = self._render_archive()
        updates = {"checksum_db": f"{render_fingerprint()}:{checksum}"}
        if previous and previous != checksum:
            updates["status"] = "modified"
        elif status_before and previous == checksum and self.status == "modified":
            updates["status"] = status_before
        updates = {field: value for field, value in updates.items() if getattr(self, field) != value}
        if updates:
            type(self)._default_manager.filter(pk=self.pk).update(**updates)
            for field, value in updates.items():
                setattr(self, field, value)
        self.cache_archive(checksum, archive)
        return checksum, archive

    def cache_archive(self, checksum, archive):
        caches[app_settings.CACHE].set(
            _archive_cache_key(self.pk, checksum), archive, app_settings.ARCHIVE_CACHE_TIMEOUT
        )

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
        ``(checksum, archive bytes)`` of the current configuration: from the
        cache when the stored checksum is valid, otherwise rendered.
        """
        checksum = self.stored_checksum
        if checksum is not None:
            archive = caches[app_settings.CACHE].get(_archive_cache_key(self.pk, checksum))
            if archive is not None:
                return checksum, archive
        return self.refresh_checksum()

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
        """Attaches the default templates of the backend to new configs."""
        if not self._state.adding:
            return super().save(*args, **kwargs)
        with transaction.atomic():
            super().save(*args, **kwargs)
            default_templates = list(self.get_default_templates())
            if default_templates:
                self.templates.add(*default_templates)

    @classmethod
    def _template_model(cls):
        return cls._meta.get_field("templates").related_model

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
        for vpnclient in self.vpnclient_set.select_related("vpn", "vpn__ca", "cert"):
            context.update(vpnclient.get_context())
        return context

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
        Validates the templates about to be attached together with the config
        and the templates it already has; raises ``ValidationError``.
        """
        if action != "pre_add":
            return
        if kwargs.get("reverse"):
            for config in cls._default_manager.filter(pk__in=pk_set):
                config.check_templates([*config.templates.all(), instance])
            return
        added = list(cls.get_templates_from_pk_set(action, pk_set) or [])
        existing = list(instance.templates.all())
        instance.check_templates(existing + [template for template in added if template not in existing])

    def check_templates(self, templates):
        """
        Validates this config together with ``templates`` (in order): backends
        must match, at most one VPN-client template per VPN server, and the
        merged NetJSON must pass the schema.
        """
        templates = list(templates)
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
        if errors:
            raise ValidationError(errors)
        try:
            self.clean_netjsonconfig_backend(lambda: self.get_backend_instance(template_instances=templates))
        except ValidationError as error:
            message = _("There is a conflict with the specified templates. %(error)s") % {
                "error": " ".join(error.messages)
            }
            raise ValidationError(message) from error

    @classmethod
    def templates_changed(cls, action, instance, **kwargs):
        """After templates are added, removed or cleared: refresh checksum and status."""
        if action not in ("post_add", "post_remove", "post_clear") or _in_bulk_set(instance):
            return
        for config in _configs_of_signal(cls, instance, kwargs):
            config.refresh_checksum()

    @classmethod
    def manage_vpn_clients(cls, action, instance, pk_set=None, **kwargs):
        """After templates change: create or delete the VPN clients they require."""
        if action not in ("post_add", "post_remove", "post_clear") or _in_bulk_set(instance):
            return
        for config in _configs_of_signal(cls, instance, kwargs):
            config.sync_vpn_clients()

    def sync_vpn_clients(self):
        """
        Makes the VPN clients match the VPN-client templates attached: creates
        the missing ones and deletes those no longer needed (their automatic
        certificates are revoked); clients that stay are left untouched.
        """
        wanted = {}
        for template in self.templates.filter(type="vpn").exclude(vpn=None):
            wanted.setdefault(template.vpn_id, template)
        vpnclient_model = self._meta.get_field("vpn").remote_field.through
        with transaction.atomic():
            for client in vpnclient_model.objects.filter(config=self).exclude(vpn_id__in=wanted):
                client.delete()
            existing = set(vpnclient_model.objects.filter(config=self).values_list("vpn_id", flat=True))
            for vpn_id, template in wanted.items():
                if vpn_id in existing:
                    continue
                client = vpnclient_model(config=self, vpn=template.vpn, auto_cert=template.auto_cert)
                client.full_clean()
                client.save()
        self._drop_backend_cache()


def _in_bulk_set(instance):
    return getattr(instance, "_djnjc_setting_templates", False)


def _configs_of_signal(config_model, instance, kwargs):
    if kwargs.get("reverse"):
        pk_set = kwargs.get("pk_set")
        queryset = config_model._default_manager.all()
        if pk_set is not None:
            queryset = queryset.filter(pk__in=pk_set)
        else:
            return list(instance.config_relations.all())
        return list(queryset)
    return [instance]


def install_diff_based_set(config_model):
    """
    Makes ``config.templates.set(...)`` a no-op when the ordered selection is
    unchanged, and otherwise apply the change as one step: django-sortedm2m
    implements ``set()`` as "clear then add", which would delete and recreate
    VPN clients (and re-issue their certificates) on every admin save.
    """
    descriptor = config_model.templates
    base_manager = descriptor.related_manager_cls
    if getattr(base_manager, "_djnjc_diff_based", False):
        return

    class DiffBasedSortedManager(base_manager):
        _djnjc_diff_based = True

        def set(self, objs, **kwargs):
            new_pks = [getattr(obj, "pk", obj) for obj in objs]
            current_pks = list(self.values_list("pk", flat=True))
            if [str(pk) for pk in new_pks] == [str(pk) for pk in current_pks]:
                return
            config = self.instance
            with transaction.atomic():
                config._djnjc_setting_templates = True
                try:
                    super().set(objs, **kwargs)
                finally:
                    config._djnjc_setting_templates = False
                config.sync_vpn_clients()
                config.refresh_checksum()

        set.alters_data = True

    descriptor.related_manager_cls = DiffBasedSortedManager
