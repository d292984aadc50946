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
