"""
Generic views of the VPN server sync endpoints, polled by the sync script
(``manage.py netjsonconfig_vpn_sync_script``) on each VPN host::

    GET controller/vpn/checksum/<pk>/?key=<key>          MD5 of the server's archive
    GET controller/vpn/download-config/<pk>/?key=<key>   the archive (tar.gz)

They follow the conventions of the device endpoints: plain-text answers with
the ``X-Openwisp-Controller: true`` header, the key compared in constant
time, one-line reasons for 400 (missing key), 403 (wrong key), 404 (no such
server) and 405 (any method but GET and HEAD), and nothing written for a
rejected request. Each view needs a ``model`` attribute (a concrete subclass
of ``AbstractVpn``)::

    class VpnChecksumView(BaseVpnChecksumView):
        model = MyVpn

The stored archive is served while current; otherwise the server is
rendered and the result stored with a compare-and-set
(``AbstractVpn.store_rendering()``).
"""

import logging

from django.http import Http404
from django.views.generic import View

from django_netjsonconfig.controller.generics import CsrfExemptMixin, ModelRequiredMixin
from django_netjsonconfig.controller.params import forbid_unallowed
from django_netjsonconfig.controller.responses import ControllerResponse, describe_request, invalid_response, send_file
from django_netjsonconfig.render_errors import log_render_error
from django_netjsonconfig.shortcuts import get_object_or_404

logger = logging.getLogger(__name__)


class BaseVpnView(CsrfExemptMixin, ModelRequiredMixin, View):
    """
    Common steps of the two endpoints: method check (405), lookup (404), key
    check (400/403), then ``respond(vpn)``; a rendering failure answers 500.
    Exempt from CSRF only so that a wrong method gets its 405.
    """

    #: concrete Vpn model the view works on (required)
    model = None
    model_description = "a concrete VPN server model (a subclass of AbstractVpn)"
    http_method_names = ["get", "head"]

    def get_queryset(self):
        """The VPN servers that may sync; override to narrow it down."""
        return self.model._default_manager.all()

    def get_object(self, pk):
        """The server addressed by ``pk`` (dashed or 32 hex characters); ``Http404`` otherwise."""
        return get_object_or_404(self.get_queryset(), pk=pk)

    def http_method_not_allowed(self, request, *args, **kwargs):
        response = invalid_response(request, f"error: method {request.method} not allowed, use GET\n", 405)
        response["Allow"] = ", ".join(method.upper() for method in self._allowed_methods())
        return response

    def get(self, request, pk):
        try:
            vpn = self.get_object(pk)
        except Http404:
            return invalid_response(request, "error: no such VPN server\n", 404)
        bad_response = forbid_unallowed(request, "GET", "key", vpn.key)
        if bad_response:
            return bad_response
        try:
            return self.respond(vpn)
        except Exception as error:
            log_render_error(
                logger, "the VPN server %s cannot be rendered (%s)", vpn.pk, describe_request(request), error=error
            )
            return ControllerResponse(
                "error: the VPN server configuration cannot be generated\n", content_type="text/plain", status=500
            )

    def respond(self, vpn):
        """The answer for an authenticated request (subclasses)."""
        raise NotImplementedError


class BaseVpnChecksumView(BaseVpnView):
    """Answers the MD5 (32 hex characters, no newline) of the server's current archive."""

    def respond(self, vpn):
        checksum = vpn.stored_checksum
        if checksum is None:
            checksum = vpn.store_rendering()[0]
        return ControllerResponse(checksum, content_type="text/plain")


class BaseVpnDownloadConfigView(BaseVpnView):
    """Answers the server's current archive as ``<name>.tar.gz``; its MD5 is the checksum."""

    def respond(self, vpn):
        return send_file(vpn.name, vpn.get_cached_archive()[1])


def get_vpn_controller_urls(views_module):
    """
    URL patterns of the VPN sync endpoints bound to the ``vpn_checksum`` and
    ``vpn_download_config`` callables of ``views_module`` (names
    ``vpn_checksum`` and ``vpn_download_config``)::

        controller/vpn/checksum/<pk>/
        controller/vpn/download-config/<pk>/
    """
    from django.urls import path

    return [
        path("controller/vpn/checksum/<str:pk>/", views_module.vpn_checksum, name="vpn_checksum"),
        path(
            "controller/vpn/download-config/<str:pk>/",
            views_module.vpn_download_config,
            name="vpn_download_config",
        ),
    ]
