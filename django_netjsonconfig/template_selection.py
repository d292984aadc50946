"""
How a config's ordered selection of templates changes.

``config.templates`` is a django-sortedm2m relation. Left alone, sortedm2m
implements ``set()`` as "clear, then add": every admin save would delete and
recreate the config's VPN clients (re-issuing their certificates). This
module gives the relation these rules instead:

* ``config.templates.set(objs)`` does nothing when the ordered selection is
  unchanged; otherwise it validates the new selection as a whole, applies it,
  then creates or deletes VPN clients and re-renders the config once;
* ``config.templates.add(...)`` and ``template.config_relations.add(...)``
  validate before Django opens its transaction, so that a refused selection
  leaves the caller's transaction usable;
* a config that has no stored rendering yet (imported, bulk-inserted) gets
  one, from its old selection, before the selection changes, so that its
  status follows the output from its first change on;
* ``remove()`` and ``clear()``, on either side, re-render the configs and
  keep their VPN clients in step (the ``m2m_changed`` receivers on the
  models: ``clean_templates``, ``templates_changed``, ``manage_vpn_clients``).

It is reached through documented hooks only: ``TemplatesField`` (the field
``TemplatesVpnMixin`` declares) installs the related-manager descriptors
below on the two models, as every many-to-many field installs its own, and
gives the through model its ``__str__`` with sortedm2m's ``base_class``
option. An extending app that redeclares ``templates`` as a plain
``SortedManyToManyField`` (the README's example) gets the same descriptors
from ``connect()``, called by ``DjangoNetjsonconfigApp.connect_signals()``.

States, kept on the instances for the duration of one call:

``CHECKED_FLAG`` (on a config or a template)
    the templates being added were already validated: the ``pre_add``
    receiver does not validate them again;
``BULK_SET_FLAG`` (on a config)
    ``set()`` is applying a new selection: the per-change receivers do
    nothing, ``set()`` syncs the VPN clients and re-renders once at the end;
``DEFER_FIRST_RENDERING`` (on a new config)
    its default templates are still being added: the first rendering is
    stored once they are, not before;
``CLEARED_CONFIGS`` (on a template)
    between ``pre_clear`` and ``post_clear`` of
    ``template.config_relations.clear()``: the configs that had the
    template, which the relation no longer tells after the clear.
"""

from contextlib import contextmanager

from django.db import models, transaction
from django.db.models.fields.related_descriptors import ManyToManyDescriptor
from django.utils.functional import cached_property
from django.utils.translation import gettext
from sortedm2m.fields import SortedManyToManyDescriptor, SortedManyToManyField

#: ``m2m_changed`` actions after which the configs concerned are re-rendered
POST_ACTIONS = ("post_add", "post_remove", "post_clear")
#: ``m2m_changed`` actions before which never-rendered configs get their rendering
PRE_ACTIONS = ("pre_add", "pre_remove", "pre_clear")
#: set on a config while ``templates.set()`` runs: receivers wait for the end
BULK_SET_FLAG = "_djnjc_setting_templates"
#: set on a config (or template) while templates already validated are being added
CHECKED_FLAG = "_djnjc_templates_checked"
#: set on a template by ``pre_clear`` of a reverse ``clear()``: the configs it had
CLEARED_CONFIGS = "_djnjc_cleared_configs"
#: set on a new config while its default templates are still to be added
DEFER_FIRST_RENDERING = "_djnjc_defer_first_rendering"


def is_checked(instance):
    """Whether the templates being added to ``instance`` were validated already."""
    return getattr(instance, CHECKED_FLAG, False)


def in_bulk_set(instance):
    """Whether ``instance.templates.set()`` is in progress."""
    return getattr(instance, BULK_SET_FLAG, False)


@contextmanager
def flagged(instance, name):
    """Sets the state ``name`` on ``instance`` for the duration of a ``with`` block."""
    previous = getattr(instance, name, False)
    setattr(instance, name, True)
    try:
        yield
    finally:
        setattr(instance, name, previous)


def remember_cleared_configs(config_model, action, instance, kwargs):
    """At ``pre_clear`` of ``template.config_relations.clear()``: notes the configs that have it."""
    if action == "pre_clear" and kwargs.get("reverse"):
        configs = config_model._default_manager.filter(templates=instance)
        setattr(instance, CLEARED_CONFIGS, list(configs.values_list("pk", flat=True)))


def configs_of_signal(config_model, instance, action, reverse, pk_set):
    """The configs an ``m2m_changed`` signal of the templates relation concerns."""
    if not reverse:
        return [instance]
    if action == "post_clear":
        pk_set = getattr(instance, CLEARED_CONFIGS, ())
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


class TemplatesDescriptor(SortedManyToManyDescriptor):
    """``config.templates``: sortedm2m's manager with the ``add()`` and ``set()`` described above."""

    @cached_property
    def related_manager_cls(self):
        return _selection_manager(super().related_manager_cls)


def _selection_manager(base_manager):
    class TemplateSelectionManager(base_manager):
        def add(self, *objs, **kwargs):
            # validated here, before django opens its transaction: a conflict
            # then leaves the caller's transaction usable
            templates = _resolve_templates(self.model, objs)
            config = self.instance
            if not is_checked(config):
                existing = list(self.all())
                config.check_templates(existing + [template for template in templates if template not in existing])
            with flagged(config, CHECKED_FLAG):
                super().add(*templates, **kwargs)

        add.alters_data = True

        def set(self, objs, **kwargs):
            templates = _resolve_templates(self.model, list(objs))
            if [template.pk for template in templates] == list(self.values_list("pk", flat=True)):
                return
            config = self.instance
            config.check_templates(templates)
            with transaction.atomic():
                if not config.rendered_checksum:
                    type(config).store_missing_renderings(type(config)._default_manager.filter(pk=config.pk))
                with flagged(config, CHECKED_FLAG), flagged(config, BULK_SET_FLAG):
                    super().set(templates, **kwargs)
                config.sync_vpn_clients()
                config.rerender()

        set.alters_data = True

    return TemplateSelectionManager


class ConfigsOfTemplateDescriptor(ManyToManyDescriptor):
    """``template.config_relations``: Django's manager with the checked ``add()`` described above."""

    @cached_property
    def related_manager_cls(self):
        return _checked_reverse_manager(super().related_manager_cls)


def _checked_reverse_manager(base_manager):
    class CheckedReverseManager(base_manager):
        def add(self, *objs, **kwargs):
            # validated before django opens its transaction, like the forward add()
            template = self.instance
            if not is_checked(template):
                pks = [getattr(obj, "pk", obj) for obj in objs]
                configs = self.model._default_manager.filter(pk__in=pks).exclude(templates=template)
                for config in configs.prefetch_related("templates"):
                    config.check_templates([*config.templates.all(), template])
            with flagged(template, CHECKED_FLAG):
                super().add(*objs, **kwargs)

        add.alters_data = True

    return CheckedReverseManager


class TemplateRelation:
    """Base of the through model of ``TemplatesField``: a row reads "Relationship with <template>" (as in 0.12)."""

    def __str__(self):
        return gettext("Relationship with {0}").format(self.template.name)


class TemplatesField(SortedManyToManyField):
    """
    The ``templates`` relation of ``TemplatesVpnMixin``: a
    ``SortedManyToManyField`` whose managers follow the rules of this module.
    Migrations see a plain ``SortedManyToManyField``.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("base_class", TemplateRelation)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "sortedm2m.fields.SortedManyToManyField", args, kwargs

    def contribute_to_class(self, cls, name, **kwargs):
        super().contribute_to_class(cls, name, **kwargs)
        setattr(cls, self.name, TemplatesDescriptor(self))

    def contribute_to_related_class(self, cls, related):
        super().contribute_to_related_class(cls, related)
        if not self.remote_field.hidden and not related.related_model._meta.swapped:
            setattr(cls, related.get_accessor_name(), ConfigsOfTemplateDescriptor(self.remote_field, reverse=True))


def connect(config_model):
    """
    Gives the ``templates`` relation of ``config_model`` the rules of this
    module when it was declared as a plain ``SortedManyToManyField`` (the
    README's example of an extending app): sets the descriptors
    ``TemplatesField`` would have set on the two models and, when the through
    model has Django's default ``__str__``, the one of ``TemplateRelation``.
    Does nothing for a ``TemplatesField``; safe to call more than once.
    """
    field = config_model._meta.get_field("templates")
    if not isinstance(config_model.__dict__.get(field.name), TemplatesDescriptor):
        setattr(config_model, field.name, TemplatesDescriptor(field))
    template_model = field.related_model
    accessor = field.remote_field.get_accessor_name()
    if accessor and not isinstance(template_model.__dict__.get(accessor), ConfigsOfTemplateDescriptor):
        setattr(template_model, accessor, ConfigsOfTemplateDescriptor(field.remote_field, reverse=True))
    through = field.remote_field.through
    if through.__str__ is models.Model.__str__:
        through.__str__ = TemplateRelation.__str__
