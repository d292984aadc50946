"""Abstract VPN server and VPN client: ``AbstractVpn`` and ``AbstractVpnClient``."""

import hashlib
import json
from copy import deepcopy
from datetime import timedelta

import netjsonconfig
import swapper
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from netjsonconfig import OpenVpn as BaseOpenVpn

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig import vpn_kinds, wireguard
from django_netjsonconfig.base.base import BaseConfig, config_field, vpn_backend_choices
from django_netjsonconfig.base.config import get_random_key
from django_netjsonconfig.dh import default_dh_parameters, generate_dh_parameters, is_dh_pem
from django_netjsonconfig.netjson import json_roundtrip
from django_netjsonconfig.validators import key_validator
from django_netjsonconfig.variables import undefined_message, used_variables

#: extensions of automatically created server certificates. 0.5.6 used
#: nsCertType=server, but django-x509 1.4 encodes that bit in the padding of
#: the BIT STRING (03 02 07 40), so OpenSSL reads no server bit and OpenVPN
#: clients refuse the server ("unsuitable certificate purpose"). The extended
#: key usage says the same thing, correctly, and is what
#: "remote-cert-tls server" checks.
SERVER_CERT_EXTENSIONS = [{"name": "extendedKeyUsage", "value": "serverAuth", "critical": False}]
#: extensions of automatically created client certificates: nsCertType=client
#: (encoded correctly) plus the extended key usage "remote-cert-tls client" checks
CLIENT_CERT_EXTENSIONS = [
    {"name": "nsCertType", "value": "client", "critical": False},
    {"name": "extendedKeyUsage", "value": "clientAuth", "critical": False},
]
#: subject fields copied from the CA to the certificates created here
CERT_SUBJECT_FIELDS = ("key_length", "country_code", "state", "city", "organization_name", "email")
COMMON_NAME_MAX_LENGTH = 64

#: the variables of a VPN server's own files, always defined
SERVER_VARIABLES = ("ca", "cert", "key", "dh", "crl")


def _copy_subject(ca):
    values = {field: getattr(ca, field) for field in CERT_SUBJECT_FIELDS}
    values["digest"] = str(ca.digest)
    return values


#: columns written by the VPN sync endpoints and the invalidations, never by ``Vpn.save()``
SYNC_FIELDS = frozenset({"checksum_db", "archive_db", "render_version", "crl_db", "crl_next_update"})


def _render_fingerprint():
    # a stored rendering is valid only for the netjsonconfig version that made it
    return hashlib.md5(str(netjsonconfig.__version__).encode()).hexdigest()[:8]


def build_crl(ca, last_update, next_update):
    """
    The PEM certificate revocation list of ``ca``, signed by its key, listing
    its revoked certificates that have not expired, valid from
    ``last_update`` to ``next_update``. The same arguments and the same
    revoked certificates give the same revocation entries, in serial order.
    """
    ca_cert = x509.load_pem_x509_certificate(ca.certificate.encode())
    password = ca.passphrase.encode() if getattr(ca, "passphrase", None) else None
    private_key = serialization.load_pem_private_key(ca.private_key.encode(), password=password)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(last_update)
        .next_update(next_update)
    )
    revoked = sorted(ca.get_revoked_certs(), key=lambda cert: int(cert.serial_number))
    for cert in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(cert.serial_number))
            .revocation_date(cert.revoked_at or cert.modified)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(private_key=private_key, algorithm=hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM).decode()


def default_vpn_key():
    """A random 32-character key for a new VPN server (default of ``key``)."""
    return get_random_key()


def crl_validity():
    """How long a new CRL is valid (``NETJSONCONFIG_CRL_VALIDITY_DAYS``)."""
    return timedelta(days=app_settings.CRL_VALIDITY_DAYS)


def _safe_auto_client(vpn, auto_cert):
    """``vpn.auto_client()`` as plain JSON, or ``None`` when it cannot be built."""
    try:
        return json_roundtrip(vpn.auto_client(auto_cert=auto_cert))
    except (ImportError, KeyError, IndexError, TypeError, AttributeError):
        return None


class AbstractVpn(BaseConfig):
    """
    A VPN server: its NetJSON configuration and, for OpenVPN, the CA that
    signs its clients' certificates, its own certificate and its
    Diffie-Hellman parameters; for WireGuard, its key pair and the subnet
    its clients get their addresses from (``django_netjsonconfig.wireguard``).
    """

    host = models.CharField(
        _("host"),
        max_length=64,
        help_text=_("VPN server hostname or ip address"),
    )
    ca = models.ForeignKey(
        swapper.get_model_name("django_x509", "Ca"),
        verbose_name=_("CA"),
        help_text=_("required by OpenVPN servers; WireGuard servers use none"),
        blank=True,
        null=True,
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
    key = models.CharField(
        _("key"),
        max_length=64,
        default=default_vpn_key,
        validators=[key_validator],
        help_text=_("secret the VPN host's sync script sends to download this server's configuration"),
    )
    include_crl = models.BooleanField(
        _("check revoked certificates"),
        default=True,
        help_text=_(
            "write the CA's certificate revocation list (crl.pem) with the server's files and "
            "make OpenVPN refuse revoked client certificates (crl-verify)"
        ),
    )
    subnet = models.CharField(
        _("subnet"),
        max_length=18,
        blank=True,
        help_text=_(
            "WireGuard: the IPv4 network of the tunnel, such as 10.8.0.0/24; the server takes its first "
            "address, each client the lowest free one"
        ),
    )
    #: WireGuard: the server's key pair (base64), created on the first save
    private_key = models.CharField(max_length=44, blank=True, editable=False)
    public_key = models.CharField(_("public key"), max_length=44, blank=True, editable=False)
    #: "<fingerprint>:<md5>" of the stored archive; empty once invalidated
    checksum_db = models.CharField(max_length=48, blank=True, default="", editable=False)
    #: the archive the sync endpoints serve while ``checksum_db`` is valid
    archive_db = models.BinaryField(blank=True, null=True, editable=False)
    #: bumped by every invalidation; a rendering is stored only if unchanged
    render_version = models.PositiveBigIntegerField(default=0, editable=False)
    #: the CA's CRL (PEM) the archive contains, renewed near its expiry
    crl_db = models.TextField(blank=True, default="", editable=False)
    #: expiry (nextUpdate) of ``crl_db``
    crl_next_update = models.DateTimeField(blank=True, null=True, editable=False)

    #: x509 extensions of the server certificate created automatically
    server_cert_extensions = SERVER_CERT_EXTENSIONS

    __vpn__ = True

    class Meta:
        abstract = True
        verbose_name = _("VPN server")
        verbose_name_plural = _("VPN servers")

    def save(self, *args, **kwargs):
        """
        Creates the server certificate and the DH parameters (for WireGuard,
        the key pair) when missing, all in one transaction (a failed save
        leaves no certificate behind). On changes, the devices using this
        server are updated: see
        ``apply_server_changes()``; the stored rendering of the server is
        invalidated (``invalidate_renderings()``). An update never writes the
        columns of the sync endpoints (``SYNC_FIELDS``), so a concurrent
        rendering or CRL renewal is never overwritten with stale values.
        """
        stored = self._stored_server_state()
        requested = kwargs.get("update_fields")
        added = {}
        try:
            with transaction.atomic():
                if self.is_wireguard:
                    added.update(dict.fromkeys(wireguard.ensure_server_keys(self)))
                else:
                    if not self.cert_id:
                        added["cert"] = self.cert = self._auto_create_cert()
                    if not self.dh:
                        added["dh"] = self.dh = default_dh_parameters()
                if stored is not None:
                    kwargs["update_fields"] = self._operator_fields(requested, added)
                    self._render_never_rendered_clients()
                elif requested is not None:
                    kwargs["update_fields"] = {*requested, *added}
                super().save(*args, **kwargs)
                if stored is not None:
                    self.apply_server_changes(stored, None if requested is None else kwargs["update_fields"])
                    manager = type(self)._default_manager
                    self.invalidate_renderings(manager.filter(pk=self.pk), drop_crl=stored["ca_id"] != self.ca_id)
                    self.refresh_from_db(fields=sorted(SYNC_FIELDS))
        except BaseException:
            if "cert" in added:
                self.cert = None
            raise

    def _operator_fields(self, requested, added):
        """The fields an update of an existing server writes: all (or ``requested``) but ``SYNC_FIELDS``."""
        if requested is None:
            requested = [field.name for field in self._meta.concrete_fields if not field.primary_key]
        return {*(name for name in requested if name not in SYNC_FIELDS), *added}

    def _stored_server_state(self):
        if self._state.adding:
            return None
        stored = (
            type(self)
            ._default_manager.filter(pk=self.pk)
            .values("ca_id", "host", "backend", "config", "subnet")
            .first()
        )
        if stored is not None:
            stored["config"] = self._meta.get_field("config").to_python(stored["config"])
        return stored

    def apply_server_changes(self, stored, update_fields=None):
        """
        Called after saving an existing server with its previously stored
        ``ca_id``, ``host``, ``backend``, ``config`` and ``subnet`` (only the
        fields in ``update_fields`` count, when given). A new CA re-issues the
        automatic client certificates (the old ones are revoked) and flags
        every client config; a new host, backend, configuration or subnet
        regenerates the VPN-client templates that still hold the generated
        client configuration (hand-edited ones are left alone), which flags the
        configs using them.
        """

        def changed(field, attname=None):
            if update_fields is not None and not {field, attname or field} & set(update_fields):
                return False
            old, new = stored[attname or field], getattr(self, attname or field)
            return json_roundtrip(old) != json_roundtrip(new) if field == "config" else old != new

        if changed("ca", "ca_id"):
            self._reissue_client_certs()
            self.invalidate_client_configs()
        if changed("host") or changed("backend") or changed("config") or changed("subnet"):
            previous = type(self)(
                id=self.pk,
                host=stored["host"],
                backend=stored["backend"],
                config=stored["config"],
                subnet=stored["subnet"],
            )
            self._regenerate_client_templates(previous)

    def _vpnclient_model(self):
        return self._meta.get_field("vpn_relations").through

    def _config_model(self):
        return self._meta.get_field("vpn_relations").related_model

    def _render_never_rendered_clients(self):
        """Configs with a client of this server and no stored rendering get one, before the server changes."""
        config_model = self._config_model()
        clients = self._vpnclient_model()._default_manager.filter(vpn=self)
        config_model.store_missing_renderings(config_model._default_manager.filter(pk__in=clients.values("config_id")))

    def invalidate_client_configs(self):
        """Flags every config that has a client of this VPN server as ``modified`` (one UPDATE)."""
        config_model = self._config_model()
        clients = self._vpnclient_model()._default_manager.filter(vpn=self)
        config_model.invalidate_checksums(config_model._default_manager.filter(pk__in=clients.values("config_id")))

    def _reissue_client_certs(self):
        clients = self._vpnclient_model()._default_manager.filter(vpn=self, auto_cert=True).exclude(cert=None)
        for client in clients.select_related("cert"):
            if client.cert.ca_id == self.ca_id:
                continue
            old_cert, client.cert, client.vpn = client.cert, None, self
            client.save()
            old_cert.revoke()

    def _regenerate_client_templates(self, previous):
        template_model = self._config_model()._meta.get_field("templates").related_model
        generated = {}
        for template in template_model._default_manager.filter(vpn=self, type="vpn"):
            for auto_cert in (template.auto_cert, not template.auto_cert):
                if auto_cert not in generated:
                    generated[auto_cert] = _safe_auto_client(previous, auto_cert)
                if generated[auto_cert] and json_roundtrip(template.config) == generated[auto_cert]:
                    template.config = self.auto_client(auto_cert=auto_cert)
                    template.save()
                    break

    def clean(self):
        """
        Requires a configuration with exactly one VPN server instance (of the
        backend's main property); for OpenVPN a CA, well-formed DH parameters
        and a certificate issued by the selected CA; for WireGuard a subnet
        (``wireguard.clean_server()``). The backend's kind cannot change while
        the server has clients. ``config=None`` counts as ``{}``; every error
        found is reported at once, on its field.
        """
        if self.config is None:
            self.config = {}
        errors = {}
        if not self.config:
            errors["config"] = [_("This field is required.")]
        else:
            for check in (self._clean_instances, self._clean_variables, super().clean):
                try:
                    check()
                except ValidationError as error:
                    errors = error.update_error_dict(errors)
                    break
        for field, messages in vpn_kinds.clean_kind(self).items():
            errors.setdefault(field, []).extend(messages)
        if self.dh and not is_dh_pem(self.dh):
            errors.setdefault("dh", []).append(
                _("Enter Diffie-Hellman parameters in PEM format (BEGIN DH PARAMETERS).")
            )
        if self.cert_id and self.ca_id and self.cert.ca_id != self.ca_id:
            errors.setdefault("cert", []).append(
                _("The certificate must be issued by the selected CA; leave the field empty to have a new one created.")
            )
        if errors:
            raise ValidationError(errors)

    def _clean_instances(self):
        if not self.backend or not isinstance(self.config, dict):
            return
        try:
            backend = self.backend_class
        except ImportError:
            return  # reported on "backend" by BaseConfig.clean()
        main_property = vpn_kinds.main_property(backend)
        instances = self.config.get(main_property)
        if not isinstance(instances, list) or len(instances) != 1:
            raise ValidationError(
                {
                    "config": _('The configuration must contain exactly one "%(name)s" VPN instance.')
                    % {"name": main_property}
                }
            )
        mode = instances[0].get("mode") if isinstance(instances[0], dict) else None
        if issubclass(backend, BaseOpenVpn) and mode != "server":
            raise ValidationError(
                {
                    "config": _(
                        'The VPN instance must be a server (mode "server", not "%(mode)s"): '
                        "client configurations are generated by VPN-client templates."
                    )
                    % {"mode": mode}
                }
            )

    def _clean_variables(self):
        """Refuses variables that are defined nowhere, as for devices (they would be served literally)."""
        defined = set(app_settings.CONTEXT) | (set() if self.is_wireguard else set(SERVER_VARIABLES))
        undefined = sorted(used_variables(self.config) - defined)
        if undefined:
            raise ValidationError({"config": [undefined_message(name) for name in undefined]})

    def get_config(self):
        """
        A copy of the server's NetJSON with the backend's default files merged
        in (for OpenVPN ``ca.pem``, ``cert.pem``, ``key.pem`` and ``dh.pem``
        filled from the context, and with ``include_crl`` the CA's CRL in
        ``crl.pem``, checked through ``crl-verify``). A file of the server's
        own configuration with the same path as a default one replaces it;
        the other files are added after the defaults. A WireGuard server gets
        its key and address (``wireguard.server_config()``).
        """
        config = deepcopy(self.config) if self.config is not None else {}
        if not isinstance(config, dict) or not self.backend:
            return config
        try:
            backend = self.backend_class
        except ImportError:
            return config
        defaults = deepcopy(list(getattr(backend, "default_files", [])))
        crl_file, crl_property = getattr(backend, "crl_file", None), getattr(backend, "crl_property", None)
        if self.include_crl and crl_file and crl_property:
            defaults.append(deepcopy(crl_file))
            instances = config.get(vpn_kinds.main_property(backend))
            if isinstance(instances, list) and instances and isinstance(instances[0], dict):
                instances[0].setdefault(crl_property, crl_file["path"])
        own_files = config.get("files")
        own_files = own_files if isinstance(own_files, list) else []
        own_paths = {item.get("path") for item in own_files if isinstance(item, dict)}
        if defaults or own_files:
            config["files"] = [item for item in defaults if item["path"] not in own_paths] + own_files
        if wireguard.is_wireguard(backend):
            config = wireguard.server_config(self, config)
        return config

    def get_backend_instance(self, template_instances=None):
        """The netjsonconfig backend of ``get_config()``; a WireGuard server's gets its clients (``add_clients()``)."""
        backend = super().get_backend_instance(template_instances)
        if wireguard.is_wireguard(type(backend)):
            wireguard.add_clients(self, backend)
        return backend

    def get_context(self):
        """
        ``NETJSONCONFIG_CONTEXT``, then the variables of the server's own
        files (``ca``, ``cert``, ``key``, ``dh`` and ``crl``), which win: a
        global variable of the same name never replaces the server's key.
        """
        context = dict(app_settings.CONTEXT)
        if self.ca_id:
            context["ca"] = self.ca.certificate
            context["crl"] = self.get_crl()
        if self.cert_id:
            context["cert"] = self.cert.certificate
            context["key"] = self.cert.private_key
        if self.dh:
            context["dh"] = self.dh
        return context

    # CRL and stored rendering (VPN sync endpoints) ---------------------------

    def crl_is_current(self, now=None):
        """
        Whether the stored CRL can still be served: it exists and at least
        half of ``NETJSONCONFIG_CRL_VALIDITY_DAYS`` remains before its
        expiry (and no more than the whole validity, should it be shortened).
        """
        if not self.crl_db or self.crl_next_update is None:
            return False
        remaining = self.crl_next_update - (now or timezone.now())
        validity = crl_validity()
        return validity / 2 <= remaining <= validity

    def get_crl(self):
        """The CRL (PEM) of the server's CA: the stored one while current, else a renewed one."""
        if not self.crl_is_current():
            self.refresh_crl()
        return self.crl_db

    def refresh_crl(self):
        """
        Signs a new CRL of the CA, valid for ``NETJSONCONFIG_CRL_VALIDITY_DAYS``,
        and stores it with an invalidation of the rendering, in one UPDATE
        guarded by ``render_version`` and the CA: when the server changed
        meanwhile, nothing is stored (the next request renews it again).
        """
        now = timezone.now().replace(microsecond=0)
        next_update = now + crl_validity()
        pem = build_crl(self.ca, now, next_update)
        version = self.render_version
        stored = (
            type(self)
            ._default_manager.filter(pk=self.pk, ca_id=self.ca_id, render_version=version)
            .update(crl_db=pem, crl_next_update=next_update, checksum_db="", render_version=F("render_version") + 1)
        )
        self.crl_db, self.crl_next_update = pem, next_update
        if stored:
            self.checksum_db, self.render_version = "", version + 1
        return pem

    @classmethod
    def invalidate_renderings(cls, queryset, drop_crl=False):
        """
        Marks the stored renderings of the servers in ``queryset`` as outdated
        (and with ``drop_crl`` their stored CRL too) with one UPDATE that bumps
        ``render_version``, so a rendering made before it is never stored.
        """
        updates = {"checksum_db": "", "render_version": F("render_version") + 1}
        if drop_crl:
            updates.update(crl_db="", crl_next_update=None)
        return queryset.update(**updates)

    @property
    def stored_checksum(self):
        """The checksum of the stored archive while it is current, else ``None``."""
        fingerprint, _sep, checksum = self.checksum_db.partition(":")
        if checksum and fingerprint == _render_fingerprint() and (not self.ca_id or self.crl_is_current()):
            return checksum
        return None

    def get_cached_archive(self):
        """``(checksum, archive bytes)``: the stored archive while current, else ``store_rendering()``."""
        checksum = self.stored_checksum
        if checksum is not None and self.archive_db is not None:
            return checksum, bytes(self.archive_db)
        return self.store_rendering()

    def store_rendering(self):
        """
        Renders the server (renewing its CRL first when needed) and stores the
        archive and its checksum with a compare-and-set on ``render_version``:
        a rendering overtaken by an invalidation is served but not stored.
        Returns ``(checksum, archive bytes)``.
        """
        if self.ca_id:
            self.get_crl()
        version = self.render_version
        self._drop_backend_cache()
        archive = self.generate().getvalue()
        checksum = hashlib.md5(archive).hexdigest()
        checksum_db = f"{_render_fingerprint()}:{checksum}"
        manager = type(self)._default_manager
        if manager.filter(pk=self.pk, render_version=version).update(checksum_db=checksum_db, archive_db=archive):
            self.checksum_db, self.archive_db = checksum_db, archive
        return checksum, archive

    @property
    def is_wireguard(self):
        """Whether the backend is WireGuard (or VXLAN over WireGuard): no CA, certificates or DH."""
        try:
            return wireguard.is_wireguard(self.backend_class)
        except ImportError:
            return False

    def _get_auto_context_keys(self):
        """Names of the variables a config gets for each of its VPN clients."""
        if self.is_wireguard:
            return wireguard.context_keys(self)
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
        For WireGuard see ``wireguard.auto_client()`` (``auto_cert`` does not apply).
        """
        backend = self.backend_class
        if wireguard.is_wireguard(backend):
            return wireguard.auto_client(self, backend)
        if not hasattr(backend, "auto_client"):
            return {}
        placeholders = {key: "{{%s}}" % name for key, name in self._get_auto_context_keys().items()}
        if not auto_cert:
            for key in ("cert_path", "cert_contents", "key_path", "key_contents"):
                del placeholders[key]
        server = json.loads(json.dumps(self.config[vpn_kinds.main_property(backend)][0]))
        return backend.auto_client(host=self.host, server=server, **placeholders)

    @classmethod
    def dhparam(cls, length=None):
        """Generates new DH parameters (PEM); slow, never call it during a request."""
        return generate_dh_parameters(length or app_settings.DH_KEY_LENGTH)

    def _auto_create_cert(self):
        """Creates and returns the server certificate (see ``server_cert_extensions``)."""
        cert_model = swapper.load_model("django_x509", "Cert")
        cert = cert_model(
            name=self.name,
            ca=self.ca,
            common_name=slugify(self.name)[:COMMON_NAME_MAX_LENGTH],
            extensions=deepcopy(self.server_cert_extensions),
            **_copy_subject(self.ca),
        )
        cert.full_clean()
        cert.save()
        return cert


class AbstractVpnClient(models.Model):
    """
    The VPN servers a config is a client of (the "through" model of
    ``Config.vpn``), with the client certificate issued for it (OpenVPN) or
    its key pair, address and VNI (WireGuard, see
    ``django_netjsonconfig.wireguard``).
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
    #: WireGuard: the client's address in the server's subnet, allocated on creation
    ip = models.GenericIPAddressField(_("address"), protocol="IPv4", blank=True, null=True, editable=False)
    #: VXLAN over WireGuard: the tunnel's VXLAN network identifier, allocated on creation
    vni = models.PositiveIntegerField(_("VNI"), blank=True, null=True, editable=False)
    #: WireGuard: the client's key pair (base64), created with the client
    private_key = models.CharField(max_length=44, blank=True, editable=False)
    public_key = models.CharField(_("public key"), max_length=44, blank=True, editable=False)

    #: x509 extensions of the client certificates created automatically
    client_cert_extensions = CLIENT_CERT_EXTENSIONS

    class Meta:
        abstract = True
        unique_together = ("config", "vpn")
        constraints = [
            models.UniqueConstraint(fields=["vpn", "ip"], name="%(app_label)s_%(class)s_unique_vpn_ip"),
            models.UniqueConstraint(fields=["vpn", "vni"], name="%(app_label)s_%(class)s_unique_vpn_vni"),
        ]
        verbose_name = _("VPN client")
        verbose_name_plural = _("VPN clients")

    def __str__(self):
        return f"{self.config} - {self.vpn}"

    def save(self, *args, **kwargs):
        """
        Issues the client certificate when ``auto_cert`` is set and none is
        attached; the certificate and the row are saved together or not at all.
        A new client of a WireGuard server gets its key pair, address and VNI
        instead (``wireguard.allocate()``, which locks the server row until
        the row is saved and may raise ``ValidationError``).
        """
        created_cert = None
        allocated = self.vpn.is_wireguard and not self.ip
        try:
            with transaction.atomic():
                if allocated:
                    wireguard.allocate(self)
                elif self.auto_cert and not self.cert_id:
                    created_cert = self.cert = self._auto_create_cert()
                super().save(*args, **kwargs)
        except BaseException:
            if created_cert is not None:
                self.cert = None
            if allocated:
                self.ip = self.vni = None
                self.private_key = self.public_key = ""
            raise

    @classmethod
    def post_delete(cls, instance, **kwargs):
        """
        Receiver of ``post_delete``: revokes the automatic certificate of a
        removed client (the revoked certificate is kept, detached, so that the
        CA's CRL lists it) and flags the config, whose VPN files change. A
        WireGuard server loses a peer: its stored rendering is invalidated.
        """
        config_model = cls._meta.get_field("config").related_model
        config_model.invalidate_checksums(config_model._default_manager.filter(pk=instance.config_id))
        if instance.public_key:
            vpn_model = cls._meta.get_field("vpn").related_model
            vpn_model.invalidate_renderings(vpn_model._default_manager.filter(pk=instance.vpn_id))
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
        """Creates and returns the client certificate (see ``client_cert_extensions``)."""
        cert_model = swapper.load_model("django_x509", "Cert")
        ca = self.vpn.ca
        cert = cert_model(
            name=self.config.name,
            ca=ca,
            common_name=self.get_common_name(),
            extensions=deepcopy(self.client_cert_extensions),
            **_copy_subject(ca),
        )
        cert.full_clean()
        cert.save()
        return cert

    def get_context(self):
        """
        The configuration variables of this client: the path and contents of
        the CA certificate (file ``ca-<ca id>-<ca common name>.pem``, spaces
        as ``_``) and, with a client certificate, the paths and contents of
        that certificate and its key (``client-<vpn uuid hex>.pem``,
        ``key-<vpn uuid hex>.pem``), all under ``NETJSONCONFIG_CERT_PATH``;
        the variable names are those of ``Vpn._get_auto_context_keys()``.
        A WireGuard client has those of ``wireguard.client_context()``.
        """
        vpn = self.vpn
        if vpn.is_wireguard:
            return wireguard.client_context(self)
        keys = vpn._get_auto_context_keys()
        cert_path = app_settings.CERT_PATH
        ca = vpn.ca
        ca_filename = f"ca-{ca.pk}-{ca.common_name}.pem".replace(" ", "_")
        context = {
            keys["ca_path"]: f"{cert_path}/{ca_filename}",
            keys["ca_contents"]: ca.certificate,
        }
        if self.cert_id:
            context.update(self.certificate_context(self.cert.certificate, self.cert.private_key))
        return context

    def certificate_context(self, certificate, private_key):
        """The variables of a client certificate (part of ``get_context()``) with the given contents."""
        keys = self.vpn._get_auto_context_keys()
        cert_path, vpn_hex = app_settings.CERT_PATH, self.vpn.pk.hex
        return {
            keys["cert_path"]: f"{cert_path}/client-{vpn_hex}.pem",
            keys["cert_contents"]: certificate,
            keys["key_path"]: f"{cert_path}/key-{vpn_hex}.pem",
            keys["key_contents"]: private_key,
        }
