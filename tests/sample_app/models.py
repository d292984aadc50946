# yourapp/models.py
from django.db import models
from sortedm2m.fields import SortedManyToManyField

from django_netjsonconfig.base.config import AbstractConfig, AbstractDeviceState, TemplatesVpnMixin
from django_netjsonconfig.base.template import AbstractTemplate
from django_netjsonconfig.base.vpn import AbstractVpn, AbstractVpnClient


class Organization(models.Model):
    name = models.CharField(max_length=64, unique=True)

    def __str__(self):
        return self.name


class OrganizationMixin(models.Model):
    organization = models.ForeignKey("config.Organization", on_delete=models.CASCADE)

    class Meta:
        abstract = True


class Config(OrganizationMixin, TemplatesVpnMixin, AbstractConfig):
    templates = SortedManyToManyField(
        "config.Template",
        related_name="config_relations",
        blank=True,
        help_text="configuration templates, applied from first to last",
    )
    vpn = models.ManyToManyField("config.Vpn", through="config.VpnClient", related_name="vpn_relations", blank=True)

    class Meta(AbstractConfig.Meta):
        abstract = False

    def clean(self):
        # your own validation logic here...
        super().clean()


class Template(OrganizationMixin, AbstractTemplate):
    vpn = models.ForeignKey("config.Vpn", blank=True, null=True, on_delete=models.CASCADE)

    class Meta(AbstractTemplate.Meta):
        abstract = False

    def clean(self):
        # your own validation logic here...
        super().clean()


class Vpn(OrganizationMixin, AbstractVpn):
    class Meta(AbstractVpn.Meta):
        abstract = False


class VpnClient(AbstractVpnClient):
    config = models.ForeignKey("config.Config", on_delete=models.CASCADE)
    vpn = models.ForeignKey("config.Vpn", on_delete=models.CASCADE)
    cert = models.OneToOneField("django_x509.Cert", on_delete=models.CASCADE, blank=True, null=True)

    class Meta(AbstractVpnClient.Meta):
        abstract = False


# optional: records when each device was last seen (see "Fleet operations")
class DeviceState(AbstractDeviceState):
    config = models.OneToOneField(
        "config.Config", on_delete=models.CASCADE, primary_key=True, related_name="device_state", db_constraint=False
    )

    class Meta(AbstractDeviceState.Meta):
        abstract = False
