"""Views shared by the admin and the JSON-Schema editor (not used by devices)."""

import functools
import hashlib
import json
from copy import deepcopy

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import condition, require_safe

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.backends import load_backend

#: the schemas only change with the code: browsers may cache them until a restart
_STARTED = timezone.now().replace(microsecond=0)


#: help of the hostname field in the editor: the configuration's name is the default
HOSTNAME_HELP = "Optional: without it the hostname is the configuration's name (a template's hostname is not used)."


def _single_not(node):
    """
    ``node`` with the ``not`` members of each ``allOf`` joined into one
    ``{"not": {"anyOf": [...]}}`` (the same constraint). json-editor merges
    the members of an ``allOf`` into one schema, and two of them would merge
    into a single ``not`` of both conditions: OpenVPN's "Server (manual)"
    (neither ``server`` nor ``server_bridge``) then matched a routed server
    too, and the form reported it as valid against 2 of the schemas.
    """
    if isinstance(node, list):
        return [_single_not(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _single_not(value) for key, value in node.items()}
    members = node.get("allOf")
    if isinstance(members, list):
        negated = [member["not"] for member in members if isinstance(member, dict) and "not" in member]
        if len(negated) > 1:
            kept = [
                {key: value for key, value in member.items() if key != "not"} if isinstance(member, dict) else member
                for member in members
            ]
            node["allOf"] = [member for member in kept if member != {}] + [{"not": {"anyOf": negated}}]
    return node


def _editor_schema(path, is_vpn):
    schema = _single_not(deepcopy(load_backend(path).schema))
    general = schema.get("properties", {}).get("general")
    if isinstance(general, dict) and "hostname" in general.get("properties", {}):
        # the hostname comes from the config's name unless the configuration sets one
        general["properties"]["hostname"]["description"] = HOSTNAME_HELP
        required = [name for name in general.get("required", []) if name != "hostname"]
        if required:
            general["required"] = required
        else:
            general.pop("required", None)
    if not is_vpn:
        # the editor of a device configuration opens on its General section (when the
        # backend has one) and writes no default value: only what the operator sets
        schema["defaultProperties"] = ["general"] if isinstance(general, dict) else []
        if isinstance(general, dict) and "hostname" in general.get("properties", {}):
            general["defaultProperties"] = ["hostname"]
        schema["options"] = {**schema.get("options", {}), "djnjc_write_defaults": False}
    return schema


def _configured_backends():
    backends = tuple((path, False) for path, _label in app_settings.BACKENDS)
    return backends + tuple((path, True) for path, _label in app_settings.VPN_BACKENDS)


def get_editor_schemas():
    """Schemas served to the configuration editor, by backend dotted path."""
    return {path: _editor_schema(path, is_vpn) for path, is_vpn in _configured_backends()}


@functools.cache
def _schemas_json(backends):
    return json.dumps({path: _editor_schema(path, is_vpn) for path, is_vpn in backends})


#: how long a browser keeps the schemas fetched with the current ``?v=`` (their URL changes with them)
SCHEMA_MAX_AGE = 365 * 24 * 3600


@functools.cache
def _schemas_version(backends):
    return hashlib.md5(_schemas_json(backends).encode()).hexdigest()[:12]


def schema_version():
    """Identifies the schemas served now: the editor requests ``?v=<version>``, cached by the browser."""
    return _schemas_version(_configured_backends())


@condition(etag_func=lambda request: schema_version(), last_modified_func=lambda request: _STARTED)
def _schema_response(request):
    response = HttpResponse(_schemas_json(_configured_backends()), content_type="application/json")
    if request.GET.get("v") == schema_version():
        response["Cache-Control"] = f"private, max-age={SCHEMA_MAX_AGE}, immutable"
    else:
        response["Cache-Control"] = "private, no-cache"
    return response


@require_safe
def schema(request):
    """
    JSON-Schemas of every configured backend, for staff users. Requested
    with the current ``?v=`` (``schema_version()``, as the editor does) the
    browser may keep them for a year, since a change of the schemas changes
    that URL; otherwise it revalidates (ETag, Last-Modified).
    """
    if not (request.user.is_authenticated and request.user.is_staff):
        return JsonResponse({"error": _("login required")}, status=403)
    return _schema_response(request)


def __getattr__(name):
    """
    0.5.6 names kept working: ``available_schemas`` (the editor schemas by
    backend path, a dict) and ``available_schemas_json`` (the same as JSON),
    computed when read, so they follow the settings.
    """
    if name == "available_schemas":
        return get_editor_schemas()
    if name == "available_schemas_json":
        return _schemas_json(_configured_backends())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
