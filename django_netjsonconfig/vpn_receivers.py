"""
Receivers that keep device configurations in step with the django-x509
certificates their VPN files contain.

A device's archive embeds, for each of its VPN clients, the CA certificate
(in a file named after the CA's common name) and, with ``auto_cert``, its
own certificate and private key. When one of these changes (a renewal, an
edit, a new CA), the configs embedding it are flagged ``modified`` with one
UPDATE, so devices download the new files on their next poll. Saves that
leave those values alone (a revocation, a rename) change nothing.
"""


class X509ChangeReceivers:
    """
    ``pre_save``/``post_save`` receivers for the ``Ca`` and ``Cert`` models of
    django-x509, bound to the VPN client model of one django-netjsonconfig
    app (``DjangoNetjsonconfigApp.connect_signals()`` connects them).
    """

    #: values of a CA that end up in devices' files (contents and file name)
    ca_output_fields = ("certificate", "common_name")
    #: values of a client certificate that end up in devices' files
    cert_output_fields = ("certificate", "private_key")

    def __init__(self, vpnclient_model):
        self.vpnclient_model = vpnclient_model
        # where pre_save leaves the stored values for post_save (one per app)
        self.stored_attribute = f"_djnjc_stored_output_{vpnclient_model._meta.label_lower.replace('.', '_')}"

    def remember_ca(self, sender, instance, raw=False, **kwargs):
        """``pre_save`` of Ca: remembers the stored values devices depend on."""
        _remember(sender, instance, self.ca_output_fields, raw, self.stored_attribute)

    def remember_cert(self, sender, instance, raw=False, **kwargs):
        """``pre_save`` of Cert: remembers the stored values devices depend on."""
        _remember(sender, instance, self.cert_output_fields, raw, self.stored_attribute)

    def ca_saved(self, sender, instance, created=False, raw=False, **kwargs):
        """``post_save`` of Ca: flags the configs of every VPN server using it."""
        if _changed(instance, self.ca_output_fields, created, raw, self.stored_attribute):
            self.invalidate(self.vpnclient_model._default_manager.filter(vpn__ca=instance))

    def cert_saved(self, sender, instance, created=False, raw=False, **kwargs):
        """``post_save`` of Cert: flags the config using it as VPN client certificate."""
        if _changed(instance, self.cert_output_fields, created, raw, self.stored_attribute):
            self.invalidate(self.vpnclient_model._default_manager.filter(cert=instance))

    def invalidate(self, vpnclients):
        """Flags the configs of ``vpnclients`` as ``modified`` in one UPDATE."""
        config_model = self.vpnclient_model._meta.get_field("config").related_model
        config_model.invalidate_checksums(config_model._default_manager.filter(pk__in=vpnclients.values("config_id")))


class VpnServerReceivers:
    """
    Receivers that keep the stored renderings of VPN servers (served to
    their sync script) in step with django-x509: a certificate of a
    server's CA revoked, un-revoked, or deleted while revoked drops the
    stored CRL, a change of the CA drops it too, and a change of the
    server's own certificate invalidates the rendering. Each is one UPDATE
    (``AbstractVpn.invalidate_renderings()``). Revocations written with
    ``QuerySet.update()`` send no signal: call ``invalidate_renderings()``.
    """

    #: values of a CA that end up in its servers' files (certificate, CRL signature)
    ca_fields = ("certificate", "private_key", "common_name")
    #: values of a certificate that change a server's files or its CA's CRL
    cert_fields = ("certificate", "private_key", "revoked", "revoked_at", "ca_id")

    def __init__(self, vpn_model):
        self.vpn_model = vpn_model
        self.stored_attribute = f"_djnjc_stored_vpn_{vpn_model._meta.label_lower.replace('.', '_')}"

    def remember_ca(self, sender, instance, raw=False, **kwargs):
        """``pre_save`` of Ca."""
        _remember(sender, instance, self.ca_fields, raw, self.stored_attribute)

    def remember_cert(self, sender, instance, raw=False, **kwargs):
        """``pre_save`` of Cert."""
        _remember(sender, instance, self.cert_fields, raw, self.stored_attribute)

    def ca_saved(self, sender, instance, created=False, raw=False, **kwargs):
        """``post_save`` of Ca: a changed CA gives its servers new files and a new CRL."""
        if raw or _changed(instance, self.ca_fields, created, raw, self.stored_attribute):
            self._invalidate(ca_id=instance.pk, drop_crl=True)

    def cert_saved(self, sender, instance, created=False, raw=False, **kwargs):
        """``post_save`` of Cert: revocations change the CA's CRL, renewals the server's files."""
        stored = instance.__dict__.pop(self.stored_attribute, None)
        if raw or (created and instance.revoked) or (stored and self._revocation_changed(stored, instance)):
            self._invalidate(ca_id=instance.ca_id, drop_crl=True)
            if stored and stored["ca_id"] != instance.ca_id:
                self._invalidate(ca_id=stored["ca_id"], drop_crl=True)
        if stored and any(stored[field] != getattr(instance, field) for field in ("certificate", "private_key")):
            self._invalidate(cert_id=instance.pk)

    def cert_deleted(self, sender, instance, **kwargs):
        """``post_delete`` of Cert: a revoked certificate leaves its CA's CRL."""
        if instance.revoked:
            self._invalidate(ca_id=instance.ca_id, drop_crl=True)

    @staticmethod
    def _revocation_changed(stored, instance):
        return any(stored[field] != getattr(instance, field) for field in ("revoked", "revoked_at", "ca_id"))

    def _invalidate(self, drop_crl=False, **lookup):
        self.vpn_model.invalidate_renderings(self.vpn_model._default_manager.filter(**lookup), drop_crl=drop_crl)


def _remember(model, instance, fields, raw, attribute):
    stored = None
    if not raw and not instance._state.adding and instance.pk is not None:
        stored = model._default_manager.filter(pk=instance.pk).values(*fields).first()
    setattr(instance, attribute, stored)


def _changed(instance, fields, created, raw, attribute):
    stored = instance.__dict__.pop(attribute, None)
    if created or raw or stored is None:
        return False
    return any(stored[field] != getattr(instance, field) for field in fields)
