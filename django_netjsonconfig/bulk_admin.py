"""
Admin actions changing the templates of the selected configs
(``django_netjsonconfig.bulk``), each through a confirmation page that lists
the configs affected and how many configs' output changes.
"""

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import router, transaction
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from django_netjsonconfig.bulk import Refused, TemplateChange

#: the admin action of each operation (the page posts back to it)
ACTION_NAMES = {"add": "add_template", "remove": "remove_template", "defaults": "apply_default_templates"}
#: how many affected configs the confirmation page names
LISTED_CONFIGS = 200


class TemplateChoiceForm(forms.Form):
    template = forms.ModelChoiceField(queryset=None, label=_("Template"))
    position = forms.IntegerField(
        label=_("Position"),
        required=False,
        min_value=1,
        help_text=_("1 puts it first; leave empty to add it after the other templates."),
    )

    def __init__(self, *args, template_model, with_position, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = template_model._default_manager.order_by("name")
        if not with_position:
            del self.fields["position"]


class FleetActionsMixin:
    """The bulk template actions of the config admin."""

    bulk_template = None

    @admin.action(description=_("Add a template to the selected configurations"), permissions=["change"])
    def add_template(self, request, queryset):
        return self._bulk_template_view(request, queryset, "add")

    @admin.action(description=_("Remove a template from the selected configurations"), permissions=["change"])
    def remove_template(self, request, queryset):
        return self._bulk_template_view(request, queryset, "remove")

    @admin.action(description=_("Apply the default templates to the selected configurations"), permissions=["change"])
    def apply_default_templates(self, request, queryset):
        return self._bulk_template_view(request, queryset, "defaults")

    def _bulk_template_view(self, request, queryset, operation):
        """
        First the choice of the template (add, remove) and the changes it
        makes; then, with ``confirm`` posted, the change itself (refused as a
        whole, on this page, when any config refuses it).
        """
        template_model = self.model._meta.get_field("templates").related_model
        form = None
        change = None
        if operation == "defaults":
            change = TemplateChange(self.model, operation)
        else:
            data = request.POST if "djnjc_step" in request.POST else None
            form = TemplateChoiceForm(data, template_model=template_model, with_position=operation == "add")
            if form.is_valid():
                change = TemplateChange(
                    self.model,
                    operation,
                    template=form.cleaned_data["template"],
                    position=form.cleaned_data.get("position"),
                )
        plan = errors = None
        if change is not None:
            if request.POST.get("djnjc_step") == "confirm":
                try:
                    with transaction.atomic(using=router.db_for_write(self.model)):
                        plan = change.apply(queryset)
                        self._bulk_history(request, change, plan)
                except Refused as refused:
                    errors = refused.errors
                else:
                    self._bulk_done(request, operation, plan)
                    return None
            else:
                plan = change.plan(queryset)
                errors = plan.errors
        return self._bulk_page(request, queryset, operation, form, plan, errors)

    def _bulk_history(self, request, change, plan):
        """
        What the history of each config whose templates changed shows: an
        admin log entry and, with django-reversion, one revision of them all
        (a fixed number of queries whatever their number).
        """
        changed = plan.changed
        if not changed:
            return
        message = _bulk_message(change, changed)
        configs = list(
            self.model._default_manager.filter(pk__in=[item.config.pk for item in changed])
            .prefetch_related("templates")
            .order_by("name")
        )
        LogEntry.objects.log_actions(request.user.pk, configs, CHANGE, message, single_object=False)
        if not apps.is_installed("reversion"):
            return
        import reversion  # optional dependency

        if not reversion.is_registered(self.model):
            return
        with reversion.create_revision(atomic=False):
            reversion.set_user(request.user)
            reversion.set_comment(message)
            for config in configs:
                reversion.add_to_revision(config)

    def _bulk_done(self, request, operation, plan):
        changed, output = len(plan.changed), len(plan.output_changed)
        message = ngettext(
            "%(changed)d configuration changed; %(output)d of them get a new configuration.",
            "%(changed)d configurations changed; %(output)d of them get a new configuration.",
            changed,
        ) % {"changed": changed, "output": output}
        self.message_user(request, message, messages.SUCCESS)

    def _bulk_page(self, request, queryset, operation, form, plan, errors):
        opts = self.model._meta
        titles = {
            "add": _("Add a template"),
            "remove": _("Remove a template"),
            "defaults": _("Apply the default templates"),
        }
        changed = plan.changed if plan else []
        context = {
            **self.admin_site.each_context(request),
            "title": titles[operation],
            "opts": opts,
            "app_label": opts.app_label,
            "operation": operation,
            "action": ACTION_NAMES[operation],
            "form": form,
            "plan": plan,
            "errors": errors,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_count": len(plan.configs) if plan else None,
            "changed": changed[:LISTED_CONFIGS],
            "changed_count": len(changed),
            "changed_more": max(len(changed) - LISTED_CONFIGS, 0),
            "output_count": len(plan.output_changed) if plan else 0,
            "unchanged_count": len(plan.configs) - len(changed) if plan else 0,
            "media": self.media,
        }
        return TemplateResponse(
            request,
            self.bulk_template
            or [
                f"admin/{opts.app_label}/{opts.model_name}/bulk_templates.html",
                "admin/django_netjsonconfig/bulk_templates.html",
            ],
            context,
        )


def _bulk_message(change, changed):
    """The history message of a bulk change (``changed``: the ``PlannedConfig`` that change)."""
    if change.operation == "add":
        return _('Added the template "%(name)s" (bulk action).') % {"name": change.template.name}
    if change.operation == "remove":
        return _('Removed the template "%(name)s" (bulk action).') % {"name": change.template.name}
    added = {}
    for item in changed:
        for template in item.new:
            if template not in item.old:
                added.setdefault(template.pk, template.name)
    names = ", ".join(f'"{name}"' for name in sorted(added.values()))
    return _("Applied the default templates: %(names)s (bulk action).") % {"names": names}
