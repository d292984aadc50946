"""Views shared by the admin and the JSON-Schema editor (not used by devices)."""

from copy import deepcopy

from django.http import JsonResponse
from django.utils import timezone
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.http import condition, require_safe

from . import settings as app_settings
from .utils import load_backend

_STARTED = timezone.now()


def _editor_schema(path, is_vpn):
    schema = deepcopy(load_backend(path).schema)
    general = schema.get("properties", {}).get("general")
    if isinstance(general, dict) and "hostname" in general.get("properties", {}):
        del general["properties"]["hostname"]
        if "hostname" in general.get("required", []):
            del general["required"]
    if not is_vpn:
        schema["defaultProperties"] = []
    return schema


def get_editor_schemas():
    """Schemas served to the configuration editor, by backend dotted path."""
    schemas = {path: _editor_schema(path, False) for path, _label in app_settings.BACKENDS}
    schemas.update({path: _editor_schema(path, True) for path, _label in app_settings.VPN_BACKENDS})
    return schemas


@require_safe
@condition(last_modified_func=lambda request: _STARTED)
def schema(request):
    """JSON-Schemas of every configured backend, for staff users."""
    if not (request.user.is_authenticated and request.user.is_staff):
        return JsonResponse({"error": _("login required")}, status=403)
    response = JsonResponse(get_editor_schemas())
    response["Last-Modified"] = http_date(_STARTED.timestamp())
    return response
