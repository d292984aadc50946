"""
Changes to the template lists of many configs at once (the admin's bulk
actions): add a template (at the end or at a position), remove one, or
attach the default templates of each config's backend.

A change is first planned (``TemplateChange.plan()``): every selected config
is loaded with its templates and VPN clients in a fixed number of queries,
its new template list is validated (backend, one VPN-client template per VPN
server, the merged NetJSON) and rendered in memory to tell whether its
output changes. ``apply()`` plans again inside a transaction, with the
selected rows locked, and refuses the whole selection if any config is
refused; otherwise it writes the memberships with one statement per
template and flags (``invalidate_checksums()``) exactly the configs whose
output changes. Devices download the new configuration on their next poll.

Only configs whose VPN-client templates change get VPN clients created or
deleted (a certificate issued or revoked each): that part costs queries per
such config; everything else costs the same for 10 or 10,000 configs.
"""

import hashlib
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections, router, transaction
from django.db.models import F, prefetch_related_objects
from django.db.models.query import Prefetch
from django.utils.translation import gettext as _

OPERATIONS = ("add", "remove", "defaults")


class Refused(Exception):
    """The change is refused for the whole selection; ``errors`` is ``[(message, [config names])]``."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{message}: {', '.join(names)}" for message, names in errors))
        self.errors = errors


@dataclass
class PlannedConfig:
    config: object
    old: list
    new: list
    vpn_changed: bool = False
    output_changed: bool = False
    errors: list = field(default_factory=list)

    @property
    def changed(self):
        return [template.pk for template in self.old] != [template.pk for template in self.new]


@dataclass
class Plan:
    configs: list

    @property
    def changed(self):
        """Configs whose template list changes."""
        return [item for item in self.configs if item.changed]

    @property
    def output_changed(self):
        """Configs whose rendered output changes (they become ``modified``)."""
        return [item for item in self.configs if item.changed and item.output_changed]

    @property
    def errors(self):
        """``[(message, [config names])]``, grouped by message, in order of appearance."""
        grouped = {}
        for item in self.configs:
            for message in item.errors:
                grouped.setdefault(message, []).append(item.config.name)
        return list(grouped.items())


class TemplateChange:
    """
    One bulk change of ``config_model``'s template lists: ``operation`` is
    ``"add"`` (``template`` at 1-based ``position``, ``None`` for the end),
    ``"remove"`` (``template``) or ``"defaults"`` (the default templates of
    each config's backend not attached yet, appended in name order).
    """

    def __init__(self, config_model, operation, template=None, position=None):
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}")
        if operation != "defaults" and template is None:
            raise ValueError("a template is required")
        self.config_model = config_model
        self.operation = operation
        self.template = template
        self.position = position
        self.templates_field = config_model._meta.get_field("templates")
        self.template_model = self.templates_field.related_model
        self.through = self.templates_field.remote_field.through
        self._defaults = None

    # planning ----------------------------------------------------------------

    def default_templates(self):
        """Default templates by backend, in name order (one query, then remembered)."""
        if self._defaults is None:
            self._defaults = {}
            for template in self.template_model._default_manager.filter(default=True).order_by("name"):
                self._defaults.setdefault(template.backend, []).append(template)
        return self._defaults

    def load(self, queryset, lock=False):
        """The configs of ``queryset`` with templates (ordered) and VPN clients: three queries."""
        # the admin's queryset may be DISTINCT (filters across templates), which FOR UPDATE refuses
        queryset = self.config_model._default_manager.using(queryset.db).filter(pk__in=queryset.values("pk"))
        queryset = queryset.defer("archive_db", "applied_archive").order_by("name")
        if lock and self._locks_rows(queryset):
            queryset = queryset.select_for_update(of=("self",))
        configs = list(queryset)
        pks = [config.pk for config in configs]
        config_column = self.templates_field.m2m_field_name()
        template_column = self.templates_field.m2m_reverse_field_name()
        rows = (
            self.through._default_manager.filter(**{f"{config_column}__in": pks})
            .select_related(template_column)
            .order_by(config_column, self.through._sort_field_name, "pk")
        )
        templates = {}
        for row in rows:
            templates.setdefault(getattr(row, f"{config_column}_id"), []).append(getattr(row, template_column))
        if configs:
            vpnclient_model = self.config_model._vpnclient_model()
            prefetch_related_objects(
                configs,
                Prefetch(
                    self.config_model._vpnclient_accessor(),
                    queryset=vpnclient_model._default_manager.select_related("vpn", "vpn__ca", "cert"),
                ),
            )
        return [(config, templates.get(config.pk, [])) for config in configs]

    def _locks_rows(self, queryset):
        return connections[queryset.db].features.has_select_for_update_of

    def new_templates(self, config, old):
        """The template list ``config`` gets (``old`` when unchanged)."""
        if self.operation == "add":
            if self.template in old:
                return old
            new = list(old)
            index = len(new) if self.position is None else min(max(self.position, 1) - 1, len(new))
            new.insert(index, self.template)
            return new
        if self.operation == "remove":
            return [template for template in old if template != self.template]
        added = [template for template in self.default_templates().get(config.backend, []) if template not in old]
        return [*old, *added] if added else old

    def plan(self, queryset, lock=False):
        """What the change does to each config of ``queryset`` (see ``Plan``); writes nothing."""
        planned = []
        for config, old in self.load(queryset, lock=lock):
            item = PlannedConfig(config=config, old=old, new=self.new_templates(config, old))
            if item.changed:
                self._check(item)
            planned.append(item)
        return Plan(planned)

    def _check(self, item):
        config = item.config
        errors = config._template_selection_errors(item.new)
        if errors:
            item.errors = [str(error) for error in errors]
            return
        item.vpn_changed = _vpn_ids(item.old) != _vpn_ids(item.new)
        try:
            backend = config.validate_merged(item.new)
        except ValidationError as error:
            item.errors = [" ".join(error.messages)]
            return
        if item.vpn_changed:
            item.output_changed = True  # VPN clients (and their files) come or go
            return
        try:
            new_checksum = hashlib.md5(backend.generate().getvalue()).hexdigest()
            old_checksum = config.stored_checksum
            if old_checksum is None:
                old_backend = config.get_backend_instance(template_instances=item.old)
                old_checksum = hashlib.md5(old_backend.generate().getvalue()).hexdigest()
        except DatabaseError:
            raise
        except Exception as error:  # noqa: BLE001 (any rendering failure refuses the config)
            item.errors = [_("The configuration cannot be rendered: %(error)s") % {"error": error}]
            return
        item.output_changed = new_checksum != old_checksum

    # applying ----------------------------------------------------------------

    def apply(self, queryset):
        """
        Applies the change to the configs of ``queryset`` in one transaction
        and returns the ``Plan`` applied; raises ``Refused`` (nothing
        written) when any config refuses it.
        """
        database = router.db_for_write(self.config_model)
        with transaction.atomic(using=database):
            plan = self.plan(queryset, lock=True)
            errors = plan.errors
            if errors:
                raise Refused(errors)
            changed = plan.changed
            if not changed:
                return plan
            self._write_memberships(connections[database], changed)
            for item in changed:
                if item.vpn_changed:
                    item.config.sync_vpn_clients()
            flagged = [item.config.pk for item in plan.output_changed]
            if flagged:
                self.config_model.invalidate_checksums(self.config_model._default_manager.filter(pk__in=flagged))
                # validated above with their new templates (rows locked): the
                # devices' next rendering need not validate again
                self.config_model.record_validated(
                    {
                        item.config.pk: item.config.render_version + 1
                        for item in plan.output_changed
                        if not item.vpn_changed
                    }
                )
        return plan

    def _write_memberships(self, connection, changed):
        """The new template lists of the ``changed`` configs: one statement per template."""
        if self.operation == "remove":
            config_column = self.templates_field.m2m_field_name()
            self.through._default_manager.using(connection.alias).filter(
                **{f"{config_column}__in": [item.config.pk for item in changed]},
                **{self.templates_field.m2m_reverse_field_name(): self.template},
            ).delete()
        elif self.operation == "add":
            self._insert(connection, self.template, [item.config.pk for item in changed], self.position)
        else:
            for templates in self.default_templates().values():
                for template in templates:
                    pks = [item.config.pk for item in changed if template in item.new and template not in item.old]
                    if pks:
                        self._insert(connection, template, pks, None)

    def _insert(self, connection, template, config_pks, position):
        """
        Attaches ``template`` to the configs ``config_pks`` with one INSERT
        (after doubling the sort values when a position is given, so that a
        free value precedes each config's template at that position).
        """
        through = self.through
        opts = through._meta
        quote = connection.ops.quote_name
        config_field = opts.get_field(self.templates_field.m2m_field_name())
        template_field = opts.get_field(self.templates_field.m2m_reverse_field_name())
        sort_name = through._sort_field_name
        table = quote(opts.db_table)
        config_column, template_column = quote(config_field.column), quote(template_field.column)
        sort_column = quote(opts.get_field(sort_name).column)
        config_table = quote(self.config_model._meta.db_table)
        pk_column = quote(self.config_model._meta.pk.column)
        last = (
            f"(SELECT COALESCE(MAX(t3.{sort_column}), 0) + 1 FROM {table} t3 WHERE t3.{config_column} = c.{pk_column})"
        )
        params = [template_field.get_db_prep_value(template.pk, connection)]
        if position is None or position < 1:
            sort_value = last
        else:
            through._default_manager.using(connection.alias).filter(**{f"{config_field.name}__in": config_pks}).update(
                **{sort_name: F(sort_name) * 2}
            )
            sort_value = (
                f"COALESCE((SELECT t2.{sort_column} - 1 FROM {table} t2 WHERE t2.{config_column} = c.{pk_column} "
                f"ORDER BY t2.{sort_column} LIMIT 1 OFFSET %s), {last})"
            )
            params.append(position - 1)
        placeholders = ", ".join(["%s"] * len(config_pks))
        pk_field = self.config_model._meta.pk
        params += [pk_field.get_db_prep_value(pk, connection) for pk in config_pks]
        sql = (
            f"INSERT INTO {table} ({config_column}, {template_column}, {sort_column}) "
            f"SELECT c.{pk_column}, %s, {sort_value} FROM {config_table} c WHERE c.{pk_column} IN ({placeholders})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def _vpn_ids(templates):
    return {template.vpn_id for template in templates if template.type == "vpn" and template.vpn_id}
