"""Abstract configuration template: ``AbstractTemplate``."""

import json

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig import tasks
from django_netjsonconfig.variables import (
    BUILTIN_VARIABLES,
    VPN_VARIABLE,
    undefined_message,
    used_variables,
)

from .base import BaseConfig, variables_field
from .config import render_fingerprint

#: set by ``check_related_configs()``: the configs validated with the template as cleaned
VALIDATED_CONFIGS = "_djnjc_validated_configs"

TYPE_CHOICES = (("generic", _("Generic")), ("vpn", _("VPN-client")))


def default_auto_cert():
    """
    Default of ``auto_cert``: reads NETJSONCONFIG_DEFAULT_AUTO_CERT when a
    template is created, so the setting's value is not frozen in migrations.
    """
    return app_settings.DEFAULT_AUTO_CERT


def _same_json(first, second):
    return json.dumps(first) == json.dumps(second)


class AbstractTemplate(BaseConfig):
    """
    A reusable NetJSON fragment. Configs apply their templates in order, then
    their own NetJSON on top. VPN-client templates also give each config using
    them a VPN client (and, with ``auto_cert``, its own certificate).
    """

    vpn = models.ForeignKey(
        "django_netjsonconfig.Vpn",
        verbose_name=_("VPN"),
        blank=True,
        null=True,
        on_delete=models.CASCADE,
    )
    type = models.CharField(
        _("type"),
        max_length=16,
        choices=TYPE_CHOICES,
        default="generic",
        db_index=True,
        help_text=_("template type, determines which features are available"),
    )
    default = models.BooleanField(
        _("enabled by default"),
        default=False,
        db_index=True,
        help_text=_("whether new configurations will have this template enabled by default"),
    )
    auto_cert = models.BooleanField(
        _("auto certificate"),
        default=default_auto_cert,
        db_index=True,
        help_text=_(
            "whether x509 client certificates should be automatically managed "
            "behind the scenes for each configuration using this template; "
            "valid only for the VPN type"
        ),
    )

    default_values = variables_field(
        _("default values"),
        _(
            "values of the variables this template uses, for the configurations that do not "
            "define them (NETJSONCONFIG_CONTEXT and the device's own variables override them)"
        ),
    )
    variables_field_name = "default_values"

    __template__ = True

    class Meta:
        abstract = True
        verbose_name = _("template")
        verbose_name_plural = _("templates")

    def __str__(self):
        return f"[{self.get_type_display()}-{self.get_backend_display()}] {self.name}"

    def save(self, *args, **kwargs):
        """
        Saves the template; when its NetJSON, backend, type or VPN changed,
        every config using it is flagged ``modified`` with a single UPDATE
        (and, for a type or VPN change, gets its VPN clients updated).

        A VPN-client template saved without configuration gets its VPN
        server's client configuration (``Vpn.auto_client()``), as in the
        admin; if the server cannot provide one the save is refused.
        """
        self.fill_vpn_client_config()
        stored = None
        if not self._state.adding:
            stored = (
                type(self)
                ._default_manager.filter(pk=self.pk)
                .values("backend", "config", "type", "vpn_id", "default_values")
                .first()
            )
        with transaction.atomic():
            if stored is not None:
                # configs never rendered (imported) get their rendering before
                # the change, so the change is compared with it
                self._config_model().store_missing_renderings(self.config_relations.all())
            super().save(*args, **kwargs)
            if stored is None:
                return
            vpn_changed = (stored["type"], stored["vpn_id"]) != (self.type, self.vpn_id)
            if vpn_changed:
                for config in self.config_relations.all():
                    config.sync_vpn_clients()
            output_changed = self._differs_from(stored)
            validated = self._pop_validated_configs()
            if not (output_changed or vpn_changed):
                return
            self._invalidate_configs(validated if not vpn_changed else None)
        self._checks_deferred = None

    def _invalidate_configs(self, validated):
        """
        Flags the configs using this changed template (one UPDATE); marks
        those ``clean()`` validated with it (``validated``) as validated, or
        queues their checks when they were deferred to the background.
        """
        if getattr(self, "_checks_deferred", None) is None:
            # saved without full_clean(): the same choice as clean() makes
            self._checks_deferred = tasks.over_budget(self)
        extra = {}
        if self._checks_deferred:
            # rechecked in the background: a former error is no longer known to hold
            extra["render_error"] = ""
        config_model = self._config_model()
        config_model.invalidate_checksums(self.config_relations.all(), **extra)
        if validated is not None and not self._checks_deferred:
            # the configs clean() validated with this very template: their
            # next rendering (a device's poll) need not validate again; rows
            # changed meanwhile have another version
            versions, fingerprint = validated
            config_model.record_validated({pk: version + 1 for pk, version in versions.items()}, fingerprint)
        if self._checks_deferred:
            transaction.on_commit(lambda: tasks.enqueue_check(self))

    def _validated_state(self):
        """What ``check_related_configs()`` validated this template as (compared again at save time)."""
        return json.dumps([self.backend, self.config, self.default_values or {}], sort_keys=True, default=str)

    def _pop_validated_configs(self):
        """
        ``({config pk: render_version}, fingerprint)`` of the configs
        ``clean()`` validated with this template as it is now, else ``None``
        (not cleaned, or edited since).
        """
        found = self.__dict__.pop(VALIDATED_CONFIGS, None)
        if found is None:
            return None
        state, versions, fingerprint = found
        return (versions, fingerprint) if state == self._validated_state() else None

    def _differs_from(self, stored):
        """Whether the backend, NetJSON or default values differ from the ``stored`` column values."""
        to_python = self._meta.get_field("config").to_python
        return (
            stored["backend"] != self.backend
            or not _same_json(to_python(stored["config"]), self.config)
            or not _same_json(to_python(stored["default_values"]) or {}, self.default_values or {})
        )

    def get_context(self):
        """
        Variables of the template alone (its preview and validation): its
        default values. A variable without a value stays a placeholder,
        accepted whatever its field; each configuration
        using the template is validated with its own values.
        """
        return dict(self.default_values or {})

    def _config_model(self):
        return self._meta.get_field("config_relations").related_model

    @classmethod
    def raw_saved(cls, instance, raw=False, **kwargs):
        """
        Receiver of ``post_save``: a template written raw (``loaddata``, a
        django-reversion revert) bypasses ``save()``; its configs are flagged.
        """
        if raw:
            instance._config_model().invalidate_checksums(instance.config_relations.all())

    @classmethod
    def pre_delete(cls, instance, **kwargs):
        """
        Receiver of ``pre_delete``: the configs using a deleted template
        change output, so they are flagged ``modified`` (one UPDATE); those
        never rendered are rendered first, with the template.
        """
        config_model = instance._config_model()
        config_model.store_missing_renderings(instance.config_relations.all())
        config_model.invalidate_checksums(instance.config_relations.all())

    def clean(self):
        """
        Validates the template alone, then the VPN rules: VPN-client templates
        need a VPN server (and get its client configuration when empty); other
        types drop ``vpn`` and ``auto_cert``, and so do templates of WireGuard
        servers ``auto_cert`` (their clients have key pairs, no certificate).
        """
        super().clean()
        if self.type == "vpn" and not self.vpn_id:
            raise ValidationError({"vpn": _('A VPN server must be selected when the template type is "VPN-client".')})
        if self.type != "vpn":
            self.vpn = None
            self.auto_cert = False
        elif self.vpn.is_wireguard:
            self.auto_cert = False
        self.fill_vpn_client_config()
        self.check_default_variables()
        self.check_related_configs()

    def check_default_variables(self):
        """
        A template enabled by default is attached to every new configuration,
        including those of devices registering on their own, which have no
        variables yet: each variable it uses needs a value (its own default,
        another default template's, the setting or a built-in), otherwise
        every registration would be refused.
        """
        if not self.default or not self.backend:
            return
        defined = set(BUILTIN_VARIABLES) | set(app_settings.CONTEXT) | set(self.default_values or {})
        others = type(self)._default_manager.filter(default=True, backend=self.backend).exclude(pk=self.pk)
        for values in others.values_list("default_values", flat=True):
            defined |= set(self._meta.get_field("default_values").to_python(values) or {})
        missing = sorted(name for name in used_variables(self.config) - defined if not VPN_VARIABLE.match(name))
        if missing:
            raise ValidationError(
                {
                    "default_values": _(
                        "%(names)s: a template enabled by default needs a default value for each variable it "
                        "uses (new devices have no variables of their own)."
                    )
                    % {"names": ", ".join(f"variable `{name}`" for name in missing)}
                }
            )

    def fill_vpn_client_config(self):
        """
        Gives an empty VPN-client template the client configuration of its
        VPN server; raises ``ValidationError`` (on ``config``) when the
        server's backend generates none, so such a template is never stored
        empty.
        """
        if self.type != "vpn" or not self.vpn_id or self.config:
            return
        self.config = self.vpn.auto_client(auto_cert=self.auto_cert)
        if not self.config:
            raise ValidationError(
                {
                    "config": _(
                        "The VPN server's backend cannot generate a client configuration: "
                        "write the VPN-client configuration by hand."
                    )
                }
            )

    def check_related_configs(self):
        """
        Refuses a change of NetJSON or backend that would make a config using
        this template invalid, so that devices never poll a configuration that
        cannot be rendered. Configs that would merge to the same NetJSON (same
        backend, templates and own NetJSON, same values of the variables these
        use) are validated once, so a fleet of similar devices costs a handful
        of validations; the number of queries is constant.

        Beyond ``NETJSONCONFIG_TEMPLATE_VALIDATION_BUDGET`` configs (and with
        a task backend configured) only the variables are checked here; the
        rendered output is validated in the background after the save
        (``django_netjsonconfig.tasks``).
        """
        self._checks_deferred = None
        self.__dict__.pop(VALIDATED_CONFIGS, None)
        if self._state.adding or not self.backend or not self._output_changed():
            return
        self._checks_deferred = tasks.over_budget(self)
        if self._checks_deferred:
            if self._variables_at_risk():
                self._check_related_configs(validate=False)
            return
        self._check_related_configs()

    def _variables_at_risk(self):
        """
        Names a config using this template may lack after the edit: those the
        template uses or stopped defining, unless defined for every config
        anyway (a built-in, the setting, the template's own default value).
        """
        names = used_variables(self.config) | self._removed_default_names()
        defined = set(BUILTIN_VARIABLES) | set(app_settings.CONTEXT) | set(self.default_values or {})
        return {name for name in names - defined if not VPN_VARIABLE.match(name)}

    def _check_related_configs(self, validate=True):
        errors = {}
        own_variables = used_variables(self.config)
        removed_defaults = None
        groups = self._group_related_configs()
        for configs, templates in groups:
            names = ", ".join(f'"{other.name}"' for other in configs[:3])
            if len(configs) > 3:
                names += _(" and %(count)d more") % {"count": len(configs) - 3}
            undefined = configs[0].undefined_variables(templates)
            if undefined:
                # set arithmetic, no rendering
                if removed_defaults is None:
                    removed_defaults = self._removed_default_names()
                for name, template in undefined:
                    # on the field that stopped defining it, else on the one that started using it
                    field = "default_values" if name in removed_defaults or name not in own_variables else "config"
                    errors.setdefault(field, []).append(
                        _("%(error)s, needed by configuration %(names)s")
                        % {"error": undefined_message(name, template.name if template else None), "names": names}
                    )
                continue
            if not validate:
                continue
            try:
                configs[0].check_templates(templates)
            except ValidationError as error:
                errors.setdefault(NON_FIELD_ERRORS, []).append(
                    _("Configuration %(names)s would become invalid: %(error)s")
                    % {"names": names, "error": " ".join(error.messages)}
                )
        if errors:
            raise ValidationError(errors)
        if not validate:
            return  # the rendered output is validated later (tasks), nothing is known valid
        # every config using the template has just been validated with it
        versions = {config.pk: config.render_version for configs, _templates in groups for config in configs}
        setattr(self, VALIDATED_CONFIGS, (self._validated_state(), versions, render_fingerprint()))

    def _removed_default_names(self):
        stored = type(self)._default_manager.filter(pk=self.pk).values_list("default_values", flat=True).first()
        stored = self._meta.get_field("default_values").to_python(stored) or {}
        return set(stored) - set(self.default_values or {})

    def _output_changed(self):
        stored = type(self)._default_manager.filter(pk=self.pk).values("backend", "config", "default_values").first()
        if stored is None:
            return True
        return self._differs_from(stored)

    def _group_related_configs(self, queryset=None):
        """``[(configs, templates)]``: related configs (or those of ``queryset``) grouped by what they would merge to."""
        configs = list(self._related_configs_for_validation(queryset))
        templates_of = self._ordered_templates_of(configs)
        groups = {}
        sources_memo = {}
        for config in configs:
            templates = templates_of.get(config.pk, [])
            own = json.dumps(config.config, sort_keys=True)
            sources_key = (config.backend, tuple(str(template.pk) for template in templates), own)
            if sources_key not in sources_memo:
                used = used_variables([[template.config for template in templates], config.config])
                sources_memo[sources_key] = sorted(used)
            names = sources_memo[sources_key]
            context = config.get_context(templates) if names else {}
            key = (*sources_key, tuple(repr(context.get(name)) for name in names))
            groups.setdefault(key, ([], templates))[0].append(config)
        return list(groups.values())

    def _ordered_templates_of(self, configs):
        """Config pk to its templates in order (this template as edited), in two queries."""
        field = self._config_model()._meta.get_field("templates")
        through = field.remote_field.through
        config_column = through._meta.get_field(field.m2m_field_name()).attname
        template_column = through._meta.get_field(field.m2m_reverse_field_name()).attname
        rows = (
            through._default_manager.filter(**{f"{config_column}__in": [config.pk for config in configs]})
            .order_by(through._sort_field_name)
            .values_list(config_column, template_column)
        )
        rows = list(rows)
        template_pks = {template_pk for _config_pk, template_pk in rows} - {self.pk}
        templates = {template.pk: template for template in type(self)._default_manager.filter(pk__in=template_pks)}
        templates[self.pk] = self
        ordered = {}
        for config_pk, template_pk in rows:
            ordered.setdefault(config_pk, []).append(templates[template_pk])
        return ordered

    def _related_configs_for_validation(self, queryset=None):
        config_model = self._config_model()
        queryset = self.config_relations.all() if queryset is None else queryset
        prefetch = []
        accessor = getattr(config_model, "_vpnclient_accessor", None)
        if accessor is not None:
            prefetch += [f"{accessor()}__vpn__ca", f"{accessor()}__cert"]
        return queryset.prefetch_related(*prefetch).order_by("name")
