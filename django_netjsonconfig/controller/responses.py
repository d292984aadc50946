"""Answers of the device controller: the controller header, logged rejections, archives."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse

from django_netjsonconfig.device_writes import update_last_ip

logger = logging.getLogger(__name__)

#: header that tells the device agents they are talking to a controller
CONTROLLER_HEADER = "X-Openwisp-Controller"


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
