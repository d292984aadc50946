"""Reading and checking the parameters devices send (keys and secrets in constant time)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

from django_netjsonconfig.controller.responses import invalid_response


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
