"""Abstract VPN server and VPN client: ``AbstractVpn`` and ``AbstractVpnClient``."""

import json
from copy import deepcopy

import swapper
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.dh import default_dh_parameters, generate_dh_parameters

from .base import BaseConfig, config_field, vpn_backend_choices

#: subject fields copied from the CA to the certificates created here
CERT_SUBJECT_FIELDS = ("key_length", "country_code", "state", "city", "organization_name", "email")
COMMON_NAME_MAX_LENGTH = 64


def _copy_subject(ca):
    values = {field: getattr(ca, field) for field in CERT_SUBJECT_FIELDS}
    values["digest"] = str(ca.digest)
    return values


class AbstractVpn(BaseConfig):
    """
    A VPN server: its NetJSON configuration, the CA that signs its clients'
    certificates, its own certificate and its Diffie-Hellman parameters.
    """

    host = models.CharField(
        _("host"),
        max_length=64,
        help_text=_("VPN server hostname or ip address"),
    )
    ca = models.ForeignKey(
        swapper.get_model_name("django_x509", "Ca"),
        verbose_name=_("CA"),
        on_delete=models.CASCADE,
    )
    cert = models.ForeignKey(
        swapper.get_model_name("django_x509", "Cert"),
        verbose_name=_("x509 Certificate"),
        help_text=_("leave blank to create automatically"),
        blank=True,
        null=True,
        on_delete=models.CASCADE,
    )
    backend = models.CharField(
        _("VPN backend"),
        max_length=128,
        choices=vpn_backend_choices,
        help_text=_("Select VPN configuration backend"),
    )
    notes = models.TextField(_("notes"), blank=True)
    dh = models.TextField(
        _("Diffie-Hellman parameters"),
        blank=True,
        help_text=_("DH parameters in PEM format; leave blank to use the default group"),
    )
    config = config_field(blank=False)

    __vpn__ = True

    class Meta:
        abstract = True
        verbose_name = _("VPN server")
        verbose_name_plural = _("VPN servers")

    def save(self, *args, **kwargs):
        """
        Creates the server certificate and the DH parameters when missing;
        when something that shapes its clients' files changed, the configs
        using this server are flagged ``modified`` (one UPDATE).
        """
        stored = None
        if not self._state.adding:
            stored = type(self)._default_manager.filter(pk=self.pk).values("ca_id", "host", "config").first()
        with transaction.atomic():
            if not self.cert_id:
                self.cert = self._auto_create_cert()
            if not self.dh:
                self.dh = default_dh_parameters()
            super().save(*args, **kwargs)
            if stored and stored["ca_id"] != self.ca_id:
                self.invalidate_client_configs()

    def invalidate_client_configs(self):
        """Flags every config that has a client of this VPN server as ``modified``."""
        config_model = self._meta.get_field("vpn_relations").related_model
        config_model.invalidate_checksums(config_model._default_manager.filter(vpnclient__vpn=self))

    def clean(self):
        """
        Requires a configuration with exactly one VPN instance (of the
        backend's main property) and a certificate issued by the selected CA.
        """
        if not self.config:
            raise ValidationError({"config": _("This field is required.")})
        super().clean()
        if not self.backend:
            return
        main_property = self.backend_class.__name__.lower()
        if len(self.config.get(main_property) or []) != 1:
            raise ValidationError(
                {
                    "config": _('The configuration must contain exactly one "%(name)s" VPN instance.')
                    % {"name": main_property}
                }
            )
        if self.cert_id and self.ca_id and self.cert.ca_id != self.ca_id:
            raise ValidationError({"cert": _("The certificate must be issued by the selected CA.")})

    def get_config(self):
        return deepcopy(self.config) if self.config is not None else {}

    def get_context(self):
        """Variables of the server's own files: ca, cert, key, dh (and crl)."""
        context = {}
        if self.ca_id:
            context["ca"] = self.ca.certificate
            context["crl"] = self.ca.crl.decode()
        if self.cert_id:
            context["cert"] = self.cert.certificate
            context["key"] = self.cert.private_key
        if self.dh:
            context["dh"] = self.dh
        return context

    def _get_auto_context_keys(self):
        """Names of the variables a config gets for each of its VPN clients."""
        suffix = self.pk.hex
        return {
            "ca_path": f"ca_path_{suffix}",
            "ca_contents": f"ca_contents_{suffix}",
            "cert_path": f"cert_path_{suffix}",
            "cert_contents": f"cert_contents_{suffix}",
            "key_path": f"key_path_{suffix}",
            "key_contents": f"key_contents_{suffix}",
        }

    def auto_client(self, auto_cert=True):
        """
        NetJSON of a client of this server, whose files point at the variables
        of ``_get_auto_context_keys()``; ``{}`` if the backend cannot do it.
        """
        backend = self.backend_class
        if not hasattr(backend, "auto_client"):
            return {}
        placeholders = {key: "{{%s}}" % name for key, name in self._get_auto_context_keys().items()}
        if not auto_cert:
            for key in ("cert_path", "cert_contents", "key_path", "key_contents"):
                del placeholders[key]
        server = json.loads(json.dumps(self.config[backend.__name__.lower()][0]))
        return backend.auto_client(host=self.host, server=server, **placeholders)

    @classmethod
    def dhparam(cls, length=None):
        """Generates new DH parameters (PEM); slow, never call it during a request."""
        return generate_dh_parameters(length or app_settings.DH_KEY_LENGTH)

    def _auto_create_cert(self):
        """Creates and returns the server certificate (``nsCertType=server``)."""
        cert_model = swapper.load_model("django_x509", "Cert")
        cert = cert_model(
            name=self.name,
            ca=self.ca,
            common_name=slugify(self.name)[:COMMON_NAME_MAX_LENGTH],
            extensions=[{"name": "nsCertType", "value": "server", "critical": False}],
            **_copy_subject(self.ca),
        )
        cert.full_clean()
        cert.save()
        return cert


class AbstractVpnClient(models.Model):
    """
    The VPN servers a config is a client of (the "through" model of
    ``Config.vpn``), with the client certificate issued for it.
    """

    config = models.ForeignKey("django_netjsonconfig.Config", on_delete=models.CASCADE)
    vpn = models.ForeignKey("django_netjsonconfig.Vpn", on_delete=models.CASCADE)
    cert = models.OneToOneField(
        swapper.get_model_name("django_x509", "Cert"),
        on_delete=models.CASCADE,
        blank=True,
        null=True,
    )
    #: whether the certificate was created (and is removed) automatically
    auto_cert = models.BooleanField(default=False)

    class Meta:
        abstract = True
        unique_together = ("config", "vpn")
        verbose_name = _("VPN client")
        verbose_name_plural = _("VPN clients")

    def __str__(self):
        return f"{self.config} - {self.vpn}"

    def save(self, *args, **kwargs):
        """Issues the client certificate, only when ``auto_cert`` and none is attached."""
        if self.auto_cert and not self.cert_id:
            self.cert = self._auto_create_cert()
        super().save(*args, **kwargs)

    @classmethod
    def post_delete(cls, instance, **kwargs):
        """
        Revokes the automatic certificate of a removed client. The revoked
        certificate is kept, detached, so that the CA's CRL lists it.
        """
        if not instance.auto_cert or not instance.cert_id:
            return
        cert_model = swapper.load_model("django_x509", "Cert")
        cert = cert_model.objects.filter(pk=instance.cert_id).first()
        if cert is not None and not cert.revoked:
            cert.revoke()

    def get_common_name(self):
        """Common name from NETJSONCONFIG_COMMON_NAME_FORMAT, at most 64 characters."""
        config = self.config
        values = {field.attname: getattr(config, field.attname) for field in config._meta.concrete_fields}
        values.update({field.name: getattr(config, field.attname) for field in config._meta.concrete_fields})
        return app_settings.COMMON_NAME_FORMAT.format(**values)[:COMMON_NAME_MAX_LENGTH]

    def _auto_create_cert(self):
        """Creates and returns the client certificate (``nsCertType=client``)."""
        cert_model = swapper.load_model("django_x509", "Cert")
        ca = self.vpn.ca
        cert = cert_model(
            name=self.config.name,
            ca=ca,
            common_name=self.get_common_name(),
            extensions=[{"name": "nsCertType", "value": "client", "critical": False}],
            **_copy_subject(ca),
        )
        cert.full_clean()
        cert.save()
        return cert

    def get_context(self):
        """The configuration variables of this client (SPEC 5.4)."""
        vpn = self.vpn
        keys = vpn._get_auto_context_keys()
        cert_path = app_settings.CERT_PATH
        ca = vpn.ca
        ca_filename = f"ca-{ca.pk}-{ca.common_name}.pem".replace(" ", "_")
        context = {
            keys["ca_path"]: f"{cert_path}/{ca_filename}",
            keys["ca_contents"]: ca.certificate,
        }
        if self.cert_id:
            vpn_hex = vpn.pk.hex
            context.update(
                {
                    keys["cert_path"]: f"{cert_path}/client-{vpn_hex}.pem",
                    keys["cert_contents"]: self.cert.certificate,
                    keys["key_path"]: f"{cert_path}/key-{vpn_hex}.pem",
                    keys["key_contents"]: self.cert.private_key,
                }
            )
        return context
