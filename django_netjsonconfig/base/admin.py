"""
Abstract admin classes and forms, reusable by third-party apps (see README,
"Extending the admin"): concrete admins only bind their forms to their models.
"""

import hashlib
import json
import logging
import uuid
from collections import OrderedDict
from copy import deepcopy

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import F
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from jsonfield.forms import JSONField
from netjsonconfig.exceptions import NetJsonConfigException

from django_netjsonconfig import fleet, tasks, vpn_kinds
from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.base.base import FORM_TEMPLATES
from django_netjsonconfig.base.config import get_random_mac
from django_netjsonconfig.bulk_admin import FleetActionsMixin
from django_netjsonconfig.controller.responses import send_file
from django_netjsonconfig.fleet_admin import CertificateExpiryFilter, FleetListMixin, expiry_annotation, expiry_html
from django_netjsonconfig.preview import (
    TEMPLATE_CONFIG_HELP,
    archive_files,
    diff_files,
    hostname_notes,
    pending_vpn_variables,
    saved_or_new,
    template_hostname,
    template_hostname_warning,
)
from django_netjsonconfig.variables import SECRET_VARIABLE, used_variables
from django_netjsonconfig.vpn_admin import (  # VPN_SERVER_DEFAULTS: importable from here as before it moved
    VPN_SERVER_DEFAULTS,  # noqa: F401
    VpnKindAdminMixin,
    VpnKindFormMixin,
    VpnServerListFilter,
)
from django_netjsonconfig.widgets import JsonSchemaWidget, VariablesWidget

logger = logging.getLogger(__name__)

if apps.is_installed("reversion"):
    from reversion.admin import VersionAdmin as ModelAdmin
else:  # pragma: no cover - exercised by projects without django-reversion
    ModelAdmin = admin.ModelAdmin


class BaseConfigAdmin(ModelAdmin):
    """
    Shared by the Config, Template and Vpn admins: read-only timestamps,
    preview and download pages (which need the model's view permission).
    """

    #: falls back to the stock template in extending apps that did not add
    #: ``django_netjsonconfig.TEMPLATES_DIR`` to their template directories
    change_form_template = ["admin/django_netjsonconfig/change_form.html", "admin/change_form.html"]
    preview_template = None
    save_on_top = True
    actions_on_bottom = True
    readonly_fields = ["created", "modified"]

    class Media:
        css = {"all": ["django-netjsonconfig/css/admin.css"]}
        js = [
            "django-netjsonconfig/js/preview.js",
            "django-netjsonconfig/js/unsaved_changes.js",
            "django-netjsonconfig/js/switcher.js",
            "django-netjsonconfig/js/default_templates.js",
            "django-netjsonconfig/js/vpn_backend.js",
        ]

    def get_fields(self, request, obj=None):
        """
        The configured ``fields``, preceded by the editable fields an extending
        app added to the model (e.g. an organization), so that they can be set.
        """
        fields = list(super().get_fields(request, obj))
        if self.fields is None:
            return fields
        known = set(fields) | set(self.readonly_fields)
        added = [
            field.name
            for field in self.model._meta.get_fields()
            if field.concrete
            and field.editable
            and not field.auto_created
            and field.name not in known
            and not (field.many_to_many and not field.remote_field.through._meta.auto_created)
        ]
        return added + fields

    def _djnjc_url_name(self, suffix):
        opts = self.model._meta
        return f"{opts.app_label}_{opts.model_name}_{suffix}"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("download/<path:pk>/", wrap(self.download_view), name=self._djnjc_url_name("download")),
            path("preview/", wrap(self.preview_view), name=self._djnjc_url_name("preview")),
            *super().get_urls(),
        ]

    def _djnjc_extra_context(self, extra_context, object_id=None):
        context = {"preview_url": reverse(f"admin:{self._djnjc_url_name('preview')}")}
        if object_id:
            context["download_url"] = reverse(f"admin:{self._djnjc_url_name('download')}", args=[object_id])
        context.update(extra_context or {})
        return context

    def add_view(self, request, form_url="", extra_context=None):
        return super().add_view(request, form_url, self._djnjc_extra_context(extra_context))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = self._djnjc_extra_context(extra_context, object_id)
        return super().change_view(request, object_id, form_url, context)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        """
        A change, delete or history URL whose id is unknown or malformed
        answers 404 (as in 0.12), not Django's redirect with a message.
        """
        raise Http404(
            _("%(name)s with id %(key)s does not exist.") % {"name": opts.verbose_name, "key": unquote(object_id)}
        )

    def download_view(self, request, pk):
        """The configuration archive of an object (does not count as a device poll)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            uuid.UUID(str(pk))
        except ValueError:
            raise PermissionDenied from None
        obj = get_object_or_404(self.model, pk=pk)
        return send_file(obj.name, obj.generate())

    def preview_view(self, request):
        """
        Renders the posted (unsaved) object as the files the device would
        receive (path, mode, contents) and, for a saved object, a file-by-file
        diff against what it replaces. Invalid input answers 400 with short
        plain-text messages, one a line.
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        instance = None
        try:
            instance, templates = self._get_preview_instance(request.POST)
            pending, notes = {}, []
            if hasattr(instance, "sync_vpn_clients"):
                pending, notes = pending_vpn_variables(instance, templates)
                # an instance made for this preview: it gets the variables of
                # the VPN clients a save would create
                instance.context = {**(instance.context or {}), **pending}
            backend = instance.validate_merged(templates)
            if hasattr(instance, "sync_vpn_clients"):
                notes += hostname_notes(instance, templates, backend.config)
            elif instance.__template__ and template_hostname(instance.config):
                notes.append(template_hostname_warning(template_hostname(instance.config)))
            archive = backend.generate().getvalue()
        except (ValidationError, NetJsonConfigException) as error:
            messages = error.messages if isinstance(error, ValidationError) else [_preview_error(instance, error)]
            return HttpResponse("\n".join(messages), content_type="text/plain; charset=utf-8", status=400)
        files = archive_files(archive)
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "is_popup": True,
            "opts": opts,
            "change": False,
            "files": files,
            "notes": notes,
            # what the device compares; unknown while a certificate is still to be issued
            "checksum": None if pending else hashlib.md5(archive).hexdigest(),
            "diff": self._preview_diff(instance, files),
            "media": self.media,
        }
        return TemplateResponse(
            request,
            self.preview_template
            or [f"admin/{opts.app_label}/{opts.model_name}/preview.html", "admin/django_netjsonconfig/preview.html"],
            context,
        )

    def _preview_diff(self, instance, files):
        """
        The diff shown under the preview of a saved object: for a config,
        against the archive its device last applied (or, when it never
        reported one, against the archive currently served); for templates
        and VPN servers, against the saved version. ``None`` for new objects.
        """
        saved = self.model._default_manager.filter(pk=instance.pk).first()
        if saved is None:
            return None
        applied = getattr(saved, "applied_archive", None)
        if applied:
            baseline, label = applied, _("Compared with the configuration the device last applied.")
        else:
            if hasattr(saved, "applied_archive"):
                label = _(
                    "The device has not reported applying any configuration yet: "
                    "compared with the configuration currently served to it."
                )
            elif hasattr(saved, "archive_db"):
                label = _("Compared with the configuration currently served to the device.")
            else:
                label = _("Compared with the saved version.")
            try:
                baseline = saved.generate().getvalue()
            except (ValidationError, NetJsonConfigException):
                return {"label": _("The saved version cannot be rendered: no comparison."), "files": [], "none": ""}
        device = hasattr(saved, "archive_db")
        return {
            "label": label,
            "files": diff_files(archive_files(baseline), files),
            "none": _("No change on the device") if device else _("No change from the saved version"),
        }

    def _get_preview_instance(self, data):
        """An unsaved, cleaned instance built from ``data`` plus its templates (or None)."""
        kwargs, unique_values = self._split_preview_data(data)
        for name in ("config", *VARIABLES_FIELDS):
            if isinstance(kwargs.get(name), str):
                kwargs[name] = parse_json(kwargs[name], object_pairs_hook=OrderedDict) if kwargs[name].strip() else {}
        # a saved config is previewed with its VPN clients (and certificates),
        # a saved WireGuard server with its key pair and clients
        with_saved = hasattr(self.model, "sync_vpn_clients") or (
            getattr(self.model, "__vpn__", False)
            and vpn_kinds.vpn_kind(data.get("backend") or "") not in (None, "openvpn")
        )
        pk = unique_values.get(self.model._meta.pk.attname) if with_saved else None
        instance = saved_or_new(self.model, kwargs, pk)
        # the real values, so that variables ({{ name }}) validate as rendered;
        # uniqueness is not checked by a preview, and missing values get
        # placeholders so that an incomplete form still previews
        for attname, value in unique_values.items():
            setattr(instance, attname, self.model._meta.get_field(attname).to_python(value))
        if not instance.name:
            instance.name = uuid.uuid4().hex
        if "mac_address" in data and not instance.mac_address:
            instance.mac_address = get_random_mac()
        templates = None
        if hasattr(instance, "get_default_templates") and "templates" in data:
            templates = self._get_preview_templates(data.get("templates"))
            setattr(instance, FORM_TEMPLATES, templates)
        instance.clean_fields(exclude=["id", "key"])
        instance.clean()
        return instance, templates

    def _split_preview_data(self, data):
        """Posted model fields as constructor kwargs, and the unique ones set aside."""
        kwargs, unique_values = {}, {}
        for field in self.model._meta.concrete_fields:
            value = data.get(field.name)
            if value is None:
                continue
            if field.unique:
                if value:
                    unique_values[field.attname] = value
            elif field.is_relation:
                kwargs[field.attname] = value or None
            elif isinstance(field, models.BooleanField):
                # a checkbox as a form posts it ("on") or as the editor sends it
                kwargs[field.name] = forms.CheckboxInput().value_from_datadict({"v": value}, {}, "v")
            else:
                kwargs[field.name] = value
        return kwargs, unique_values

    def _get_preview_templates(self, value):
        template_model = self.model._meta.get_field("templates").related_model
        pks = [pk for pk in (value or "").split(",") if pk.strip()]
        try:
            by_pk = {str(template.pk): template for template in template_model.objects.filter(pk__in=pks)}
        except (ValueError, ValidationError) as error:
            raise ValidationError(_("Invalid template selection.")) from error
        return [by_pk[str(uuid.UUID(pk))] for pk in pks if str(uuid.UUID(pk)) in by_pk]


def _preview_error(instance, error):
    """A rendering error of the preview; a template lacking a variable's value says which."""
    if getattr(instance, "__template__", False):
        missing = sorted(used_variables(instance.get_config()) - set(instance.get_context()))
        if missing:
            return _(
                "The template cannot be rendered without a value for %(names)s: give it a default value to preview it."
            ) % {"names": ", ".join(f"`{name}`" for name in missing)}
    return str(error)[:300]


def parse_json(text, **load_kwargs):
    """Loads JSON text; malformed text is a ``ValidationError`` giving the line and column."""
    try:
        return json.loads(text, **load_kwargs)
    except json.JSONDecodeError as error:
        raise ValidationError(
            _("Invalid JSON: %(reason)s at line %(line)d, column %(column)d."),
            code="invalid",
            params={"reason": error.msg, "line": error.lineno, "column": error.colno},
        ) from None


class NetJsonFormField(JSONField):
    """
    The form field of ``config``: a missing value (a POST without the
    field) is an error on the field, malformed JSON is reported with its line
    and column.
    """

    def bound_data(self, data, initial):
        return initial if data is None else super().bound_data(data, initial)

    def clean(self, value):
        if value is None and not self.disabled:
            raise ValidationError(self.error_messages["required"], code="required")
        return super().clean(value)

    def to_python(self, value):
        if self.disabled or value in self.empty_values:
            return super().to_python(value)
        return parse_json(value, **self.load_kwargs)


class VariablesFormField(NetJsonFormField):
    """
    The form field of ``context`` and ``default_values``: optional (empty
    is ``{}``); a POST without the field keeps the stored variables (see
    ``BaseForm``).
    """

    def __init__(self, *args, **kwargs):
        kwargs["required"] = False
        super().__init__(*args, **kwargs)

    def clean(self, value):
        if value is None or (isinstance(value, str) and not value.strip()):
            return {}
        return super().clean(value)


#: model fields holding configuration variables
VARIABLES_FIELDS = ("context", "default_values")


class UniqueErrorsMixin:
    """Form errors that the form and the model both found are shown once."""

    def _update_errors(self, errors):
        super()._update_errors(errors)
        for error_list in self._errors.values():
            seen, unique = set(), []
            for item in error_list.data:
                text = next(iter(item)) if isinstance(item, ValidationError) else str(item)
                if text not in seen:
                    seen.add(text)
                    unique.append(item)
            error_list.data[:] = unique


class BaseForm(UniqueErrorsMixin, forms.ModelForm):
    """Model form that preselects NETJSONCONFIG_DEFAULT_BACKEND when adding."""

    default_backend_setting = "DEFAULT_BACKEND"

    class Meta:
        exclude = []  # noqa: DJ006 (every field, like 0.5.6)
        field_classes = {
            "config": NetJsonFormField,
            "context": VariablesFormField,
            "default_values": VariablesFormField,
        }
        widgets = {"config": JsonSchemaWidget, "context": VariablesWidget, "default_values": VariablesWidget}

    def __init__(self, *args, **kwargs):
        default = getattr(app_settings, self.default_backend_setting)
        if default and "initial" in kwargs and kwargs.get("instance") is None:
            kwargs["initial"].setdefault("backend", default)
        super().__init__(*args, **kwargs)

    def _clean_fields(self):
        super()._clean_fields()
        for name in VARIABLES_FIELDS:
            # a form posted without the field (scripts, older pages) keeps the stored variables
            if name in self.fields and self.add_prefix(name) not in self.data and name in self.cleaned_data:
                self.cleaned_data[name] = getattr(self.instance, name, None) or {}


class AbstractConfigForm(BaseForm):
    """
    Validates the submitted configuration together with the submitted
    templates (in the model's ``clean()``): errors land on ``config`` or on
    ``templates``, whichever causes them.
    """

    def clean(self):
        cleaned_data = super().clean()
        templates = cleaned_data.get("templates")
        if templates is not None:
            setattr(self.instance, FORM_TEMPLATES, list(templates))
        return cleaned_data


class RenderErrorFilter(admin.SimpleListFilter):
    """Configs the server cannot render (``render_error`` set) or can."""

    title = _("rendering error")
    parameter_name = "render_error"

    def lookups(self, request, model_admin):
        return [("yes", _("has an error")), ("no", _("none"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(render_error="")
        if self.value() == "no":
            return queryset.filter(render_error="")
        return queryset


class SyncStateFilter(admin.SimpleListFilter):
    """
    Configs by sync state (``fleet.SYNC_STATES``): whether each device has
    the configuration served now. Each choice shows how many configs are in
    that state (one query, whatever the number of configs).
    """

    title = _("device has the current configuration")
    parameter_name = "sync_state"

    def lookups(self, request, model_admin):
        counts = fleet.count_sync_states(model_admin.get_fleet_queryset(request))
        return [(state, f"{label} ({counts[state]})") for state, label in fleet.SYNC_STATES]

    def queryset(self, request, queryset):
        if self.value() in fleet.SYNC_STATE_LABELS:
            return queryset.filter(fleet.sync_state_q(self.value(), queryset.model))
        return queryset


class AbstractConfigAdmin(FleetListMixin, FleetActionsMixin, BaseConfigAdmin):
    """
    Admin of device configurations, to register with a concrete Config model
    (``admin.site.register(Config, ConfigAdmin)``) and a ``form`` subclassing
    ``AbstractConfigForm`` with that model in its ``Meta``. Adds the JSON
    editor, the variables table, the preview, the archive download, the
    fleet columns and filters (sync state, last seen, certificate expiry),
    the "Mark as modified" and bulk template actions and a filter on
    rendering errors; the device-reported fields are read-only.
    """

    list_display = [
        "name",
        "backend",
        "status_display",
        "sync_state",
        "last_seen",
        "certificate_expiry",
        "last_ip",
        "modified",
    ]
    list_filter = [
        "backend",
        "status",
        SyncStateFilter,
        RenderErrorFilter,
        CertificateExpiryFilter,
        "templates",
        ("vpn", VpnServerListFilter),
        "created",
    ]
    actions = ["mark_modified", "add_template", "remove_template", "apply_default_templates"]
    search_fields = ["id", "name", "key", "mac_address", "last_ip"]
    fields = [
        "name",
        "backend",
        "id_hex",
        "key",
        "mac_address",
        "status",
        "last_ip",
        "error_reason",
        "render_error",
        "hardware_id",
        "model",
        "os",
        "system",
        "management_ip",
        "templates",
        "context",
        "variables_in_use",
        "config",
        "created",
        "modified",
    ]
    readonly_fields = [
        "id_hex",
        "variables_in_use",
        "status",
        "last_ip",
        "error_reason",
        "render_error",
        "model",
        "os",
        "system",
        "management_ip",
        "created",
        "modified",
    ]

    @admin.action(description=_("Mark as modified (clear the device's error)"), permissions=["change"])
    def mark_modified(self, request, queryset):
        """
        The operator's way to change a device's status: ``modified``, with
        the device's error reason cleared, until the device reports again.
        Form saves never write the status (the device owns it).
        """
        count = self.model.mark_modified(queryset)
        message = ngettext(
            "%(count)d configuration marked as modified.", "%(count)d configurations marked as modified.", count
        )
        self.message_user(request, message % {"count": count})

    @admin.display(description=_("UUID"))
    def id_hex(self, obj):
        return obj.pk.hex

    @admin.display(description=_("variables in use"))
    def variables_in_use(self, obj):
        """
        Each variable the saved configuration and its templates use, with its
        value and where the value comes from (built-in, device, global
        setting, template default, VPN); undefined ones are said so.
        """
        templates = list(obj.templates.all()) if hasattr(obj, "templates") else []
        used = used_variables([obj.get_config(), [template.config for template in templates]])
        if not used:
            return _("The configuration and its templates use no variables.")
        sources = obj.get_context_sources(templates)
        rows = []
        for name in sorted(used):
            if name in sources:
                value, source = sources[name]
                value = str(value)
                if len(value) > 60 or "-----BEGIN" in value or SECRET_VARIABLE.match(name):
                    value = _("(%(count)d characters)") % {"count": len(value)}
            else:
                value, source = "", _("not defined")
            rows.append((name, value, source))
        body = format_html_join("", "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>", rows)
        return format_html(
            '<table class="djnjc-variables-in-use"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            _("variable"),
            _("value"),
            _("source"),
            body,
        )

    def get_queryset(self, request):
        """
        Without the stored archives (not shown, possibly large); on the list
        with the last seen time and the earliest expiry of the VPN
        certificates (client certificates and their CAs) of each config.
        """
        queryset = self.get_fleet_queryset(request)
        if getattr(request, "_djnjc_changelist", False):
            queryset = self._annotate_fleet(queryset)
        return queryset

    def get_fleet_queryset(self, request):
        """The configs this admin shows, without list annotations (counts, bulk actions)."""
        return super().get_queryset(request).defer("archive_db", "applied_archive")

    def _annotate_fleet(self, queryset):
        annotations = {}
        state_model = fleet.device_state_model(self.model)
        if state_model is not None:
            name = state_model._meta.get_field("config").related_query_name()
            annotations["djnjc_last_seen"] = F(f"{name}__last_seen")
        annotations["djnjc_expiry"] = expiry_annotation(self.model)
        return queryset.annotate(**annotations)

    def changelist_view(self, request, extra_context=None):
        # the list page itself; actions get the plain queryset
        request._djnjc_changelist = request.method == "GET"
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("device has the current configuration"))
    def sync_state(self, obj):
        state = fleet.sync_state_of(obj, getattr(obj, "djnjc_last_seen", None))
        label = fleet.SYNC_STATE_LABELS[state]
        if state == "behind" and not obj.downloaded_checksum:
            label = _("behind: polls but never downloaded")
        elif state == "behind" and obj.behind_since and obj.downloaded_checksum != obj.rendered_checksum:
            when = date_format(timezone.localtime(obj.behind_since), "DATETIME_FORMAT")
            label = _("behind since %(time)s") % {"time": when}
        elif state == "behind":
            label = _("behind (changed, not rendered yet)") if obj.rendered_version != obj.render_version else label
        return format_html('<span class="djnjc-sync djnjc-sync-{}">{}</span>', state, label)

    @admin.display(description=_("last seen"), ordering="djnjc_last_seen")
    def last_seen(self, obj):
        value = getattr(obj, "djnjc_last_seen", None)
        return date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else "-"

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if obj else [field for field in fields if field not in ("id_hex", "variables_in_use")]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if obj else [field for field in fields if field not in ("id_hex", "variables_in_use")]

    def _variables_data(self, obj=None):
        """What the editors need to resolve variables in the page (``djnjc-variables-data``)."""
        template_model = self.model._meta.get_field("templates").related_model
        defaults = {
            str(pk): values for pk, values in template_model.objects.values_list("pk", "default_values") if values
        }
        builtins = {}
        if obj is not None:
            builtins = {
                "id": str(obj.pk),
                "key": obj.key,
                "name": obj.name,
                "mac_address": obj.mac_address,
                "hardware_id": obj.hardware_id,
            }
        return {"builtins": builtins, "global": app_settings.CONTEXT, "templates": defaults}

    def add_view(self, request, form_url="", extra_context=None):
        """Passes the ids of the default templates by backend, ticked by the page's script."""
        template_model = self.model._meta.get_field("templates").related_model
        default_templates = {}
        for pk, backend in template_model.objects.filter(default=True).order_by("name").values_list("pk", "backend"):
            default_templates.setdefault(backend, []).append(str(pk))
        context = {"default_templates": default_templates, "variables_data": self._variables_data()}
        return super().add_view(request, form_url, {**context, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        context = {"variables_data": self._variables_data(obj)} if obj is not None else {}
        return super().change_view(request, object_id, form_url, {**context, **(extra_context or {})})


class AbstractTemplateAdmin(BaseConfigAdmin):
    """
    Admin of templates, to register with a concrete Template model; with the
    JSON editor, the preview and the archive download of ``BaseConfigAdmin``.
    """

    list_display = ["name", "type", "backend", "default", "created", "modified"]
    list_filter = ["backend", "type", "default", "created"]
    search_fields = ["name"]
    fields = [
        "name",
        "type",
        "backend",
        "vpn",
        "auto_cert",
        "default",
        "default_values",
        "config",
        "configurations",
        "created",
        "modified",
    ]
    readonly_fields = [*BaseConfigAdmin.readonly_fields, "configurations"]
    actions = ["clone_selected_templates"]
    #: fields a clone does not take from its original (``default`` is off, the name gets a suffix)
    clone_excluded_fields = frozenset({"id", "name", "default", "created", "modified"})

    @admin.action(description=_("Clone selected templates"), permissions=["add"])
    def clone_selected_templates(self, request, queryset):
        """
        Copies each selected template as "<name> (copy)" ("(copy 2)"... when
        taken): same backend, type, VPN, configuration and default values, not
        enabled by default, used by no configuration; logged as an addition.
        """
        with transaction.atomic(using=queryset.db):
            clones = [self._clone_template(request, template) for template in queryset.order_by("name")]
        message = ngettext(
            "%(count)d template cloned: %(names)s.", "%(count)d templates cloned: %(names)s.", len(clones)
        ) % {"count": len(clones), "names": ", ".join(clone.name for clone in clones)}
        self.message_user(request, message, messages.SUCCESS)

    def _clone_name(self, name):
        manager = self.model._default_manager
        number = 1
        while True:
            suffix = " (copy)" if number == 1 else f" (copy {number})"
            candidate = name[: self.model._meta.get_field("name").max_length - len(suffix)] + suffix
            if not manager.filter(name=candidate).exists():
                return candidate
            number += 1

    def _clone_template(self, request, template):
        values = {
            field.attname: deepcopy(getattr(template, field.attname))
            for field in self.model._meta.concrete_fields
            if field.name not in self.clone_excluded_fields and not field.primary_key
        }
        clone = self.model(**values, name=self._clone_name(template.name), default=False)
        clone.full_clean()
        clone.save()
        message = _("Cloned from %(name)s.") % {"name": template.name}
        self.log_addition(request, clone, message)
        self._clone_revision(request, clone, message)
        return clone

    def _clone_revision(self, request, clone, message):
        """With django-reversion, the clone's first version (so it can be recovered)."""
        if not apps.is_installed("reversion"):
            return
        import reversion  # optional dependency

        if not reversion.is_registered(self.model):
            return
        with reversion.create_revision(atomic=False):
            reversion.set_user(request.user)
            reversion.set_comment(message)
            reversion.add_to_revision(clone)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "config" and field is not None:
            field.help_text = TEMPLATE_CONFIG_HELP
        return field

    def save_model(self, request, obj, form, change):
        """Saves the template; warns when it sets a hostname, which devices never get."""
        super().save_model(request, obj, form, change)
        hostname = template_hostname(obj.config)
        if hostname:
            self.message_user(request, template_hostname_warning(hostname), messages.WARNING)

    @admin.display(description=_("configurations"))
    def configurations(self, obj):
        """
        How many configurations use the template, how many have the rendering
        of their current data (pre-rendered in the background after a big
        edit, or at their device's poll) and how many cannot be rendered,
        linked to the configuration list.
        """
        if obj is None or obj.pk is None or obj._state.adding:
            return "-"
        checked, total, broken = tasks.check_progress(obj)
        config_opts = obj._config_model()._meta
        changelist = reverse(f"admin:{config_opts.app_label}_{config_opts.model_name}_changelist")
        using = f"{changelist}?templates__id__exact={obj.pk}"
        text = format_html(
            '{} of <a href="{}">{}</a> rendered since their last change',
            checked,
            using,
            ngettext("%(count)d configuration", "%(count)d configurations", total) % {"count": total},
        )
        if broken:
            text = format_html(
                '{}, <a href="{}&amp;render_error=yes" class="djnjc-broken">{}</a>',
                text,
                using,
                ngettext("%(count)d cannot be rendered", "%(count)d cannot be rendered", broken) % {"count": broken},
            )
        return text


class AbstractVpnForm(VpnKindFormMixin, UniqueErrorsMixin, forms.ModelForm):
    """
    Model form of VPN servers; preselects NETJSONCONFIG_DEFAULT_VPN_BACKEND
    and starts from the configuration of its kind (``VPN_SERVER_DEFAULTS``
    for OpenVPN, see ``vpn_admin.SERVER_DEFAULTS``).
    """

    class Meta:
        exclude = []  # noqa: DJ006 (every field, like 0.5.6)
        widgets = {"dh": forms.HiddenInput, "config": JsonSchemaWidget}
        field_classes = {"config": NetJsonFormField}


class AbstractVpnAdmin(VpnKindAdminMixin, BaseConfigAdmin):
    """
    Admin of VPN servers, to register with a concrete Vpn model and a
    ``form`` subclassing ``AbstractVpnForm`` with that model in its ``Meta``;
    new servers start from the configuration of their kind. A server's page
    has the fields of its backend (``vpn_admin``), a WireGuard server's its
    public key, subnet usage and clients too. The list shows the backend,
    the subnet usage of WireGuard servers and when the CA and the server
    certificate expire.
    """

    list_display = ["name", "backend", "subnet_usage", "ca_expiry", "cert_expiry", "created", "modified"]
    list_select_related = ["ca", "cert"]

    @admin.display(description=_("CA expires"), ordering="ca__validity_end")
    def ca_expiry(self, obj):
        return expiry_html(obj.ca.validity_end if obj.ca_id else None)

    @admin.display(description=_("certificate expires"), ordering="cert__validity_end")
    def cert_expiry(self, obj):
        return expiry_html(obj.cert.validity_end if obj.cert_id else None)

    list_filter = ["backend", "ca", "created"]
    search_fields = ["id", "name", "host"]
    #: the fields of one kind of server only show for it (``vpn_admin.KIND_FIELDS``)
    fields = [
        "name",
        "host",
        "backend",
        "ca",
        "cert",
        "include_crl",
        "dh",
        "subnet",
        "key",
        "notes",
        "config",
        "created",
        "modified",
    ]
