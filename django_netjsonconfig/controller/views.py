"""
Controller views bound to the concrete models of django-netjsonconfig.

The module-level callables are what ``get_controller_urls()`` routes to;
third-party apps write the same few lines with their own model (README,
"Extending controller views").
"""

from django_netjsonconfig.controller.generics import (
    BaseChecksumView,
    BaseDownloadConfigView,
    BaseRegisterView,
    BaseReportStatusView,
    BaseUpdateInfoView,
)
from django_netjsonconfig.controller.vpn import BaseVpnChecksumView, BaseVpnDownloadConfigView
from django_netjsonconfig.models import Config, Vpn


class ChecksumView(BaseChecksumView):
    model = Config


class DownloadConfigView(BaseDownloadConfigView):
    model = Config


class ReportStatusView(BaseReportStatusView):
    model = Config


class RegisterView(BaseRegisterView):
    model = Config


class UpdateInfoView(BaseUpdateInfoView):
    model = Config


class VpnChecksumView(BaseVpnChecksumView):
    model = Vpn


class VpnDownloadConfigView(BaseVpnDownloadConfigView):
    model = Vpn


checksum = ChecksumView.as_view()
download_config = DownloadConfigView.as_view()
report_status = ReportStatusView.as_view()
register = RegisterView.as_view()
update_info = UpdateInfoView.as_view()
vpn_checksum = VpnChecksumView.as_view()
vpn_download_config = VpnDownloadConfigView.as_view()
