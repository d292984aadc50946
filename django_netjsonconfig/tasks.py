"""
Background work of template edits for big fleets (Django's Tasks API, the
``django-tasks`` package on Django 5.2).

A template saved while more configurations use it than
``NETJSONCONFIG_TEMPLATE_VALIDATION_BUDGET`` allows checking in the request
is accepted after the cheap checks (the template itself, the variables its
configurations need); ``check_template_configs`` then validates the rendered
output of each affected configuration and stores its new archive, so that
devices polling after the change are served a stored archive. A
configuration the change broke gets ``render_error`` (never ``status``).

With the default backend of django-tasks (``ImmediateBackend``, no ``TASKS``
setting) nothing is deferred: every check runs in the request, as before.
"""

import logging

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.db.models import F
from django_tasks import task
from django_tasks.backends.immediate import ImmediateBackend

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.render_errors import log_render_error

logger = logging.getLogger(__name__)

#: configurations loaded (grouped, validated, rendered) at a time by the task
CHUNK_SIZE = 500


def background_available():
    """Whether a task backend other than the embedded immediate one is configured."""
    return not isinstance(check_template_configs.get_backend(), ImmediateBackend)


def over_budget(template):
    """
    Whether checking the configurations of ``template`` exceeds the budget
    of the request and can be left to the background (one COUNT query).
    """
    budget = app_settings.TEMPLATE_VALIDATION_BUDGET
    if budget is None or not background_available():
        return False
    return template.config_relations.count() > budget


def pending_configs(template):
    """Configurations of ``template`` neither rendered since their last change nor known broken."""
    return template.config_relations.exclude(rendered_version=F("render_version")).filter(render_error="")


def check_progress(template):
    """``(checked, total, broken)`` of the configurations using ``template``, in one query."""
    from django.db.models import Count, Q

    return tuple(
        template.config_relations.aggregate(
            checked=Count("pk", filter=Q(rendered_version=F("render_version")) | ~Q(render_error="")),
            total=Count("pk"),
            broken=Count("pk", filter=~Q(render_error="")),
        ).values()
    )


def check_configs(template):
    """
    Validates and renders every pending configuration of ``template`` (as
    stored), ``CHUNK_SIZE`` at a time. Configurations merging to the same
    NetJSON are validated once; one that fails gets ``render_error`` (in
    one UPDATE per group, only if not changed meanwhile), the others get
    their archive stored. Returns ``(rendered, broken)`` counts.
    """
    rendered = broken = 0
    pks = list(pending_configs(template).values_list("pk", flat=True))
    for start in range(0, len(pks), CHUNK_SIZE):
        chunk = template.config_relations.filter(pk__in=pks[start : start + CHUNK_SIZE])
        for configs, templates in template._group_related_configs(chunk):
            try:
                configs[0].check_templates(templates)
            except ValidationError as error:
                message = " ".join(error.messages)
                broken += _record_error(configs, message)
                continue
            for config in configs:
                try:
                    config.get_cached_archive()
                    rendered += 1
                except DatabaseError:
                    raise
                except Exception as error:
                    # recorded in render_error by refresh_checksum()
                    log_render_error(
                        logger, "Configuration %s cannot be rendered", config.pk, error=error, level=logging.WARNING
                    )
                    broken += 1
    return rendered, broken


def _record_error(configs, message):
    model = type(configs[0])
    count = 0
    by_version = {}
    for config in configs:
        by_version.setdefault(config.render_version, []).append(config.pk)
    for version, pks in by_version.items():
        count += model._default_manager.filter(pk__in=pks, render_version=version).update(render_error=message)
    logger.warning("%d configuration(s) cannot be rendered after a template change: %s", count, message)
    return count


@task()
def check_template_configs(template_model, template_pk):
    """
    The task enqueued by a template save beyond the budget: ``template_model``
    is the template model's label (``app_label.ModelName``), so extending
    apps work too. A template deleted meanwhile is skipped; running it twice
    is harmless (only pending configurations are rendered).
    """
    model = apps.get_model(template_model)
    template = model._default_manager.filter(pk=template_pk).first()
    if template is None:
        return None
    rendered, broken = check_configs(template)
    return {"rendered": rendered, "broken": broken}


def enqueue_check(template):
    """
    Enqueues ``check_template_configs`` for ``template`` (called after the
    commit). A backend that cannot take it is logged, not raised: the save is
    committed, and each configuration is still rendered (and checked) at its
    device's next poll.
    """
    try:
        return check_template_configs.enqueue(template._meta.label, str(template.pk))
    except Exception:
        logger.exception("Could not enqueue the checks of template %s", template.pk)
        return None
