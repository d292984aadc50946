"""Concrete models of django-netjsonconfig."""

from .base.config import AbstractConfig, AbstractDeviceState, TemplatesVpnMixin
from .base.template import AbstractTemplate
from .base.vpn import AbstractVpn, AbstractVpnClient


class Config(TemplatesVpnMixin, AbstractConfig):
    class Meta(AbstractConfig.Meta):
        abstract = False


class Template(AbstractTemplate):
    class Meta(AbstractTemplate.Meta):
        abstract = False


class Vpn(AbstractVpn):
    class Meta(AbstractVpn.Meta):
        abstract = False


class VpnClient(AbstractVpnClient):
    class Meta(AbstractVpnClient.Meta):
        abstract = False


class DeviceState(AbstractDeviceState):
    class Meta(AbstractDeviceState.Meta):
        abstract = False
