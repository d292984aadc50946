"""Helpers shared by models, admin and controller."""

from __future__ import annotations

import functools
import hmac
import ipaddress
import json
import logging
from collections import OrderedDict
from collections.abc import Iterable
from copy import deepcopy

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404 as django_get_object_or_404
from django.utils.ipv6 import clean_ipv6_address
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

#: header that tells the device agents they are talking to a controller
CONTROLLER_HEADER = "X-Openwisp-Controller"

#: longest textual IP address (IPv4-mapped IPv6); longer values are not parsed
_MAX_IP_LENGTH = 45


@functools.cache
def load_backend(path: str):
    """Imports a backend class from its dotted path (cached)."""
    return import_string(path)


def json_roundtrip(value):
    """Returns ``value`` as plain dicts and lists (ordered mappings flattened)."""
    return json.loads(json.dumps(value))


def ordered_copy(value):
    """Deep copy of a NetJSON value keeping key order."""
    if isinstance(value, str):
        return json.loads(value, object_pairs_hook=OrderedDict)
    return deepcopy(value)


def get_controller_urls(views_module):
    """
    URL patterns of the device controller bound to the ``checksum``,
    ``download_config``, ``report_status``, ``register`` (and, when present,
    ``update_info``) callables of ``views_module``. Paths and names are those
    the device agents and 0.5.6 use::

        controller/checksum/<pk>/          checksum
        controller/download-config/<pk>/   download_config
        controller/report-status/<pk>/     report_status
        controller/register/               register
        controller/update-info/<pk>/       update_info

    ``<pk>`` accepts anything without a slash: the views answer 404 to values
    that are not UUIDs (32 hex characters or the dashed form).
    """
    from django.urls import path

    urls = [
        path("controller/checksum/<str:pk>/", views_module.checksum, name="checksum"),
        path("controller/download-config/<str:pk>/", views_module.download_config, name="download_config"),
        path("controller/report-status/<str:pk>/", views_module.report_status, name="report_status"),
        path("controller/register/", views_module.register, name="register"),
    ]
    if hasattr(views_module, "update_info"):
        urls.append(path("controller/update-info/<str:pk>/", views_module.update_info, name="update_info"))
    return urls


# controller responses -------------------------------------------------------


class ControllerResponse(HttpResponse):
    """
    An ``HttpResponse`` carrying ``X-Openwisp-Controller: true``, the header
    device agents look for before trusting an answer.

    The controller logs its own rejections without the request object (whose
    text form contains the query string, i.e. the device key), so the response
    is flagged as logged: Django then does not log it again with the request
    attached.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self[CONTROLLER_HEADER] = "true"
        self._has_been_logged = True


def describe_request(request: HttpRequest) -> str:
    """``"<METHOD> <path> from <address>"``: what logs may say about a request (never its parameters)."""
    return f"{request.method} {request.path} from {request.META.get('REMOTE_ADDR', '?')}"


def invalid_response(
    request: HttpRequest, error: str, status: int, content_type: str = "text/plain"
) -> ControllerResponse:
    """
    Logs ``error`` at WARNING level (with method, path and client address, not
    the request parameters) and returns it as a controller response.
    """
    logger.warning("%s (%s): %s", error.strip(), status, describe_request(request))
    return ControllerResponse(error, content_type=content_type, status=status)


def constant_time_in(value: str, allowed_values) -> bool:
    """
    Whether ``value`` is ``allowed_values`` (one value) or one of them (a
    list), compared in constant time with every candidate.
    """
    if isinstance(allowed_values, str) or not isinstance(allowed_values, Iterable):
        allowed_values = [allowed_values]
    posted = value.encode("utf-8", "replace")
    matches = False
    for allowed in allowed_values:
        # constant time, and no early exit: every candidate is compared
        matches |= hmac.compare_digest(posted, str(allowed).encode("utf-8", "replace"))
    return matches


def request_param(request: HttpRequest, param_group: str, name: str) -> str:
    """
    The value of parameter ``name`` in ``request.GET`` or ``request.POST``
    (``param_group`` is ``"GET"`` or ``"POST"``), ``""`` when absent; the last
    one wins, as with ``QueryDict.get()``.

    Every device poll reads its key here: a plain query string (ASCII,
    nothing percent-encoded, no ``+``, within
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS``) is split without building
    ``request.GET``, which gives the same values. Anything else goes through
    ``request.GET``, with Django's decoding and limits.
    """
    if param_group == "GET" and "GET" not in request.__dict__:
        params = _plain_query(request)
        if params is not None:
            return params.get(name, "")
    return getattr(request, param_group).get(name, "")


def _plain_query(request):
    try:
        return request._djnjc_plain_query
    except AttributeError:
        pass
    query = request.META.get("QUERY_STRING", "")
    params = None
    if query.isascii() and "%" not in query and "+" not in query:
        items = query.split("&")
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        if limit is None or len(items) <= limit:
            params = {}
            for item in items:
                if item:
                    name, _sep, value = item.partition("=")
                    params[name] = value
    request._djnjc_plain_query = params
    return params


def forbid_unallowed(request: HttpRequest, param_group: str, param: str, allowed_values=None):
    """
    Checks parameter ``param`` of ``request.GET`` or ``request.POST``
    (``param_group`` is ``"GET"`` or ``"POST"``). Returns a 400 response when it
    is absent or empty, a 403 response when ``allowed_values`` (one value or a
    list) is given and does not contain it, ``None`` when it is acceptable.
    Values are compared in constant time, so it is fit for keys and secrets.
    """
    value = request_param(request, param_group, param)
    if not value:
        return invalid_response(request, f'error: missing required parameter "{param}"\n', 400)
    if allowed_values is not None and not constant_time_in(value, allowed_values):
        return invalid_response(request, f"error: wrong {param}\n", 403)
    return None


def send_file(filename: str, contents) -> ControllerResponse:
    """
    A configuration archive as an attachment named ``<filename>.tar.gz``
    (``filename`` is given without the extension). ``contents`` is ``bytes``
    or a binary stream such as the one returned by ``generate()``.
    """
    if hasattr(contents, "getvalue"):
        contents = contents.getvalue()
    response = ControllerResponse(contents, content_type="application/octet-stream")
    response["Content-Disposition"] = f"attachment; filename={filename}.tar.gz"
    return response


def send_config(config, request: HttpRequest) -> ControllerResponse:
    """
    Records the client address as ``last_ip`` and returns the configuration
    archive of ``config`` (from the archive cache when it is current).
    """
    update_last_ip(config, request)
    return send_file(config.name, config.get_cached_archive()[1])


def normalize_ip(value) -> str | None:
    """
    ``value`` as stored by a ``GenericIPAddressField`` (IPv6 compressed), or
    ``None`` when it is not a plain IPv4/IPv6 address (zone ids are refused).
    """
    if not isinstance(value, str) or not value or len(value) > _MAX_IP_LENGTH or "%" in value:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.version == 6:
        try:
            return clean_ipv6_address(value)
        except ValidationError:
            return None
    return str(address)


def get_client_ip(request: HttpRequest) -> str | None:
    """The client address (``REMOTE_ADDR`` as is, normalised), ``None`` if it is not an IP address."""
    return normalize_ip(request.META.get("REMOTE_ADDR"))


def update_device_fields(config, **fields) -> list[str]:
    """
    Writes the device-reported ``fields`` that differ from the values of
    ``config`` with one ``UPDATE`` of those columns only (no ``save()``: the
    operator's concurrent edits of other columns are never overwritten and
    ``modified`` does not change). ``None`` values are skipped. Returns the
    names of the columns written.
    """
    changes = {name: value for name, value in fields.items() if value is not None and getattr(config, name) != value}
    if changes:
        type(config)._default_manager.filter(pk=config.pk).update(**changes)
        for name, value in changes.items():
            setattr(config, name, value)
    return list(changes)


def update_last_ip(config, request: HttpRequest, **fields) -> list[str]:
    """
    Stores the client address as ``last_ip`` (and the other device-reported
    ``fields`` given) when it changed; see ``update_device_fields``.
    """
    remote_addr = request.META.get("REMOTE_ADDR")
    if remote_addr and remote_addr == config.last_ip:
        # the common case, an unchanged address, needs no parsing; nothing
        # else reported (a poll without management_ip) needs no comparison
        if all(value is None for value in fields.values()):
            return []
        last_ip = remote_addr
    else:
        last_ip = get_client_ip(request)
    return update_device_fields(config, last_ip=last_ip, **fields)


def get_object_or_404(model, **kwargs):
    """
    Like Django's, but malformed lookup values (e.g. a primary key that is not
    a UUID) raise ``Http404`` too instead of an error. ``model`` may also be a
    manager or a queryset.
    """
    try:
        return django_get_object_or_404(model, **kwargs)
    except (ValidationError, ValueError, TypeError, OverflowError) as error:
        raise Http404("No such object") from error
