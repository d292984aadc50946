"""
Abstract admin classes and forms, reusable by third-party apps (see README,
"Extending the admin"): concrete admins only bind their forms to their models.
"""

import logging
import uuid

from django import forms
from django.apps import apps
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.base.config import get_random_mac
from django_netjsonconfig.utils import send_file

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
        """Renders the native configuration of the posted (unsaved) object."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        try:
            instance, templates = self._get_preview_instance(request.POST)
        except ValidationError as error:
            return HttpResponse("\n".join(error.messages), content_type="text/plain", status=400)
        output = error = None
        try:
            backend = instance.clean_netjsonconfig_backend(
                lambda: instance.get_backend_instance(
                    **({"template_instances": templates} if templates is not None else {})
                )
            )
            output = backend.render()
        except ValidationError as validation_error:
            error = "\n".join(validation_error.messages)
        context = {
            **self.admin_site.each_context(request),
            "is_popup": True,
            "opts": self.model._meta,
            "change": False,
            "output": output,
            "error": error,
            "media": self.media,
        }
        opts = self.model._meta
        return TemplateResponse(
            request,
            self.preview_template
            or [f"admin/{opts.app_label}/{opts.model_name}/preview.html", "admin/django_netjsonconfig/preview.html"],
            context,
        )

    def _get_preview_instance(self, data):
        """An unsaved, cleaned instance built from ``data`` plus its templates (or None)."""
        kwargs, unique_values = self._split_preview_data(data)
        instance = self.model(**kwargs)
        # placeholders keep uniqueness checks quiet; the real values come back below
        instance.name = uuid.uuid4().hex
        if "mac_address" in data:
            instance.mac_address = get_random_mac()
        instance.clean_fields(exclude=["id", "key"])
        try:
            instance.clean()
        except ValidationError as error:
            # field errors (e.g. a VPN template without VPN) are bad input;
            # schema errors are what the preview is for: shown in the page
            if set(getattr(error, "error_dict", {"__all__": None})) != {"__all__"}:
                raise
        for attname, value in unique_values.items():
            setattr(instance, attname, self.model._meta.get_field(attname).to_python(value))
        templates = None
        if hasattr(instance, "get_default_templates") and "templates" in data:
            templates = self._get_preview_templates(data.get("templates"))
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


class BaseForm(forms.ModelForm):
    """Model form that preselects NETJSONCONFIG_DEFAULT_BACKEND when adding."""

    default_backend_setting = "DEFAULT_BACKEND"

    class Meta:
        exclude = []  # noqa: DJ006 (every field, like 0.5.6)

    def __init__(self, *args, **kwargs):
        default = getattr(app_settings, self.default_backend_setting)
        if default and "initial" in kwargs and kwargs.get("instance") is None:
            kwargs["initial"].setdefault("backend", default)
        super().__init__(*args, **kwargs)


class AbstractConfigForm(BaseForm):
    """Validates the submitted configuration together with the submitted templates."""

    def clean(self):
        cleaned_data = super().clean()
        templates = cleaned_data.get("templates")
        if templates is None or not cleaned_data.get("backend") or self._errors.get("config"):
            return cleaned_data
        instance = self.instance
        for field in ("name", "backend", "config", "key", "mac_address"):
            if field in cleaned_data:
                setattr(instance, field, cleaned_data[field])
        try:
            instance.check_templates(list(templates))
        except ValidationError as error:
            self.add_error("templates", error)
        return cleaned_data


class AbstractConfigAdmin(BaseConfigAdmin):
    list_display = ["name", "backend", "status", "last_ip", "created", "modified"]
    list_filter = ["backend", "status", "templates", "created"]
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
        "hardware_id",
        "model",
        "os",
        "system",
        "management_ip",
        "templates",
        "config",
        "created",
        "modified",
    ]
    readonly_fields = [
        "id_hex",
        "status",
        "last_ip",
        "error_reason",
        "model",
        "os",
        "system",
        "management_ip",
        "created",
        "modified",
    ]

    @admin.display(description=_("UUID"))
    def id_hex(self, obj):
        return obj.pk.hex

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if obj else [field for field in fields if field != "id_hex"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if obj else [field for field in fields if field != "id_hex"]

    def add_view(self, request, form_url="", extra_context=None):
        template_model = self.model._meta.get_field("templates").related_model
        default_templates = [str(pk) for pk in template_model.objects.filter(default=True).values_list("pk", flat=True)]
        return super().add_view(request, form_url, {"default_templates": default_templates, **(extra_context or {})})


class AbstractTemplateAdmin(BaseConfigAdmin):
    list_display = ["name", "type", "backend", "default", "created", "modified"]
    list_filter = ["backend", "type", "default", "created"]
    search_fields = ["name"]
    fields = ["name", "type", "backend", "vpn", "auto_cert", "default", "config", "created", "modified"]


class AbstractVpnForm(forms.ModelForm):
    """Model form of VPN servers; preselects NETJSONCONFIG_DEFAULT_VPN_BACKEND."""

    class Meta:
        exclude = []  # noqa: DJ006 (every field, like 0.5.6)
        widgets = {"dh": forms.HiddenInput}

    def __init__(self, *args, **kwargs):
        default = app_settings.DEFAULT_VPN_BACKEND
        if default and "initial" in kwargs and kwargs.get("instance") is None:
            kwargs["initial"].setdefault("backend", default)
        super().__init__(*args, **kwargs)


class AbstractVpnAdmin(BaseConfigAdmin):
    list_display = ["name", "backend", "created", "modified"]
    list_filter = ["backend", "ca", "created"]
    search_fields = ["id", "name", "host"]
    fields = [
        "name",
        "host",
        "ca",
        "cert",
        "key",
        "include_crl",
        "backend",
        "notes",
        "dh",
        "config",
        "created",
        "modified",
    ]
