# yourapp/controller/views.py
from django_netjsonconfig.controller.generics import (
    BaseChecksumView,
    BaseDownloadConfigView,
    BaseRegisterView,
    BaseReportStatusView,
    BaseUpdateInfoView,
)
from django_netjsonconfig.controller.vpn import BaseVpnChecksumView, BaseVpnDownloadConfigView

from ..models import Config, Organization, Vpn  # these are your custom models


class ChecksumView(BaseChecksumView):
    model = Config


class DownloadConfigView(BaseDownloadConfigView):
    model = Config


class ReportStatusView(BaseReportStatusView):
    model = Config


class RegisterView(BaseRegisterView):
    model = Config

    def init_object(self, **kwargs):
        # your own logic here: new devices join the "default" organization
        kwargs["organization"] = Organization.objects.get_or_create(name="default")[0]
        return super().init_object(**kwargs)


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
