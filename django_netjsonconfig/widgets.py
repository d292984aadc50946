"""Admin widgets of django-netjsonconfig."""

from django import forms
from django.contrib.admin.widgets import AdminTextareaWidget
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

DOCS_URL = "https://netjsonconfig.openwisp.org/en/stable/general/basics.html"


class JsonSchemaWidget(AdminTextareaWidget):
    """
    Textarea holding the configuration as JSON, turned by the browser into a
    form editor generated from the selected backend's JSON-Schema (served by
    the ``netjsonconfig:schema`` view) and an advanced raw JSON editor.

    Without JavaScript it stays a plain textarea, so the form always works.
    Subclasses may change ``schema_url_name`` to serve other schemas.
    """

    schema_url_name = "netjsonconfig:schema"

    @property
    def media(self):
        # deferred: downloaded while the page is parsed, run in order before
        # DOMContentLoaded; the script starts fetching the schemas at once.
        # CodeMirror (advanced mode) is loaded only when that mode opens.
        widget_js = forms.Script(
            "django-netjsonconfig/js/widget.js",
            defer=True,
            **{
                "data-schema-url": self.schema_url(),
                "data-codemirror-url": static("django-netjsonconfig/vendor/codemirror.min.js"),
            },
        )
        return forms.Media(
            css={"all": ["django-netjsonconfig/css/editor.css"]},
            js=[
                forms.Script("django-netjsonconfig/vendor/editor-libs.min.js", defer=True),
                forms.Script("django-netjsonconfig/js/stored_choices.js", defer=True),
                widget_js,
            ],
        )

    def schema_url(self):
        """The schema view with the version of the schemas: the browser caches each version."""
        from django_netjsonconfig.views import schema_version

        return f"{reverse(self.schema_url_name)}?v={schema_version()}"

    def __init__(self, attrs=None):
        super().__init__(attrs={"class": "vLargeTextField jsoneditor-raw", **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["data-schema-url"] = self.schema_url()
        return context

    def render(self, name, value, attrs=None, renderer=None):
        """The textarea preceded by the (hidden until the script runs) mode buttons."""
        toolbar = format_html(
            '<div class="djnjc-editor-toolbar" hidden>'
            '<input type="button" class="button json-editor-btn-edit normal-mode" value="{}">'
            '<input type="button" class="button json-editor-btn-edit advanced-mode" value="{}">'
            '<input type="button" class="button json-editor-btn-edit fullscreen-mode" value="{}">'
            '<label id="netjsonconfig-hint">{} <a href="{}" target="_blank" rel="noopener">{}</a></label>'
            "</div>"
            '<p class="djnjc-editor-message" role="alert" hidden></p>',
            _("Form editor"),
            _("Advanced mode (raw JSON)"),
            _("Full screen"),
            _("Learn the raw JSON format:"),
            DOCS_URL,
            _("netjsonconfig basics"),
        )
        return toolbar + super().render(name, value, attrs, renderer)


class VariablesWidget(AdminTextareaWidget):
    """
    Textarea holding configuration variables as a JSON object, shown by the
    browser as a key/value table (json-editor, the library the configuration
    editor uses). Without JavaScript it stays a plain JSON textarea.
    """

    @property
    def media(self):
        return forms.Media(
            css={"all": ["django-netjsonconfig/css/editor.css"]},
            # deferred like the configuration editor's scripts, in this order
            js=[
                forms.Script("django-netjsonconfig/vendor/editor-libs.min.js", defer=True),
                forms.Script("django-netjsonconfig/js/variables.js", defer=True),
            ],
        )

    def __init__(self, attrs=None):
        super().__init__(attrs={"class": "vLargeTextField djnjc-variables", "rows": 4, **(attrs or {})})
