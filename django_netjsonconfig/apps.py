"""App configuration: model binding, the start-up security check and signals."""

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save, pre_delete, pre_save
from django.utils.translation import gettext_lazy as _

from . import settings as app_settings

#: whether ``register_x509_app()`` had to register django_x509 (the system
#: check ``django_netjsonconfig.W004`` then asks to list it)
x509_registered_implicitly = False


def register_x509_app():
    """
    Registers ``django_x509`` when ``INSTALLED_APPS`` does not list it.

    The VPN models point at django-x509's CA and certificates, but the 0.5.6
    README lists only django_netjsonconfig, django.contrib.admin, sortedm2m
    and reversion in ``INSTALLED_APPS``; projects set up from it keep
    working: django_x509 is added to the app registry while it is being
    populated (before any model is imported), and the system check
    ``django_netjsonconfig.W004`` asks to list it explicitly.
    """
    global x509_registered_implicitly
    if apps.apps_ready or "django_x509" in apps.app_configs:
        return
    for entry in settings.INSTALLED_APPS:
        if entry == "django_x509" or str(entry).startswith("django_x509."):
            return
    app_config = AppConfig.create("django_x509")
    app_config.apps = apps
    apps.app_configs[app_config.label] = app_config
    x509_registered_implicitly = True


class DjangoNetjsonconfigApp(AppConfig):
    """
    Third-party apps subclass it, set their own ``name``/``label`` and
    override ``__setmodels__()`` to point at their models.
    """

    name = "django_netjsonconfig"
    label = "django_netjsonconfig"
    verbose_name = _("Configurations")
    default_auto_field = "django.db.models.AutoField"

    def __init__(self, app_name, app_module):
        super().__init__(app_name, app_module)
        register_x509_app()

    #: the concrete models of this app extending ``AbstractConfig`` and
    #: ``AbstractVpnClient``, set by ``__setmodels__()``
    config_model = None
    vpnclient_model = None

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .extending import model_errors
        from .log_filters import attach_to_access_loggers

        attach_to_access_loggers()

        self.__setmodels__()
        self.check_settings()
        if model_errors(self):
            # a model is missing or misdeclared: the system checks
            # django_netjsonconfig.E102/E103 say which (manage.py then refuses
            # to run migrate, runserver, ...)
            return
        self.connect_signals()

    def __setmodels__(self):
        """
        Sets ``config_model`` and ``vpnclient_model`` to the models of this app
        extending ``AbstractConfig`` and ``AbstractVpnClient`` (``None`` when
        there is none). An extending app overrides it only to bind other models.
        """
        from .base.config import AbstractConfig
        from .base.vpn import AbstractVpnClient
        from .extending import concrete_subclass

        self.config_model = concrete_subclass(self, AbstractConfig)
        self.vpnclient_model = concrete_subclass(self, AbstractVpnClient)

    def check_settings(self):
        """Refuses to start in production with registration open and no shared secret."""
        if not settings.DEBUG and app_settings.REGISTRATION_ENABLED and not app_settings.SHARED_SECRET:
            raise ImproperlyConfigured(
                "NETJSONCONFIG_SHARED_SECRET is not set: devices could not register safely. "
                "Set NETJSONCONFIG_SHARED_SECRET to a long random string, or disable "
                "automatic registration with NETJSONCONFIG_REGISTRATION_ENABLED = False."
            )

    def connect_signals(self):
        """
        Connects the receivers that keep the models of this app consistent
        (called by ``ready()``, after ``__setmodels__()``): the
        ``m2m_changed`` receivers of the templates relation and the rules of
        ``django_netjsonconfig.template_selection``; the receivers flagging
        configs when a template is deleted or a row is written raw; the
        deletion of VPN clients; the VPN receivers of
        ``django_netjsonconfig.vpn_receivers`` (configs follow their CA and
        certificates); the change triggers installed after ``migrate``.
        Every connection has a ``dispatch_uid`` naming this app's label, so
        an extending app may call it again or override it and call
        ``super()``.
        """
        from . import template_selection

        config_model = self.config_model
        template_model = config_model._meta.get_field("templates").related_model
        through = config_model.templates.through
        uid = f"{self.label}_{config_model._meta.model_name}"
        template_selection.connect(config_model)
        for receiver in (config_model.clean_templates, config_model.templates_changed, config_model.manage_vpn_clients):
            m2m_changed.connect(receiver, sender=through, dispatch_uid=f"{uid}_{receiver.__name__}")
        # deleting a template, or writing one raw (fixtures, reverts), flags
        # the configs that use it; a config written raw is flagged too
        for signal, receiver, sender in (
            (pre_delete, template_model.pre_delete, template_model),
            (post_save, template_model.raw_saved, template_model),
            (pre_save, config_model.prepare_raw_save, config_model),
        ):
            signal.connect(receiver, sender=sender, dispatch_uid=f"{sender._meta.label_lower}_{receiver.__name__}")
        post_delete.connect(
            self.vpnclient_model.post_delete,
            sender=self.vpnclient_model,
            dispatch_uid=f"{uid}_vpnclient_post_delete",
        )
        post_migrate.connect(self.install_change_triggers, sender=self, dispatch_uid=f"{uid}_change_triggers")
        # VPN files of devices follow their CA and client certificates
        import swapper

        from .vpn_receivers import VpnServerReceivers, X509ChangeReceivers

        x509 = X509ChangeReceivers(self.vpnclient_model)
        servers = VpnServerReceivers(self.vpnclient_model._meta.get_field("vpn").related_model)
        for model_name, remember, saved in (
            ("Ca", x509.remember_ca, x509.ca_saved),
            ("Cert", x509.remember_cert, x509.cert_saved),
            ("Ca", servers.remember_ca, servers.ca_saved),
            ("Cert", servers.remember_cert, servers.cert_saved),
        ):
            x509_model = swapper.load_model("django_x509", model_name)
            x509_uid = f"{uid}_{saved.__self__.__class__.__name__}_{model_name.lower()}"
            pre_save.connect(remember, sender=x509_model, weak=False, dispatch_uid=f"{x509_uid}_pre_save")
            post_save.connect(saved, sender=x509_model, weak=False, dispatch_uid=f"{x509_uid}_post_save")
        post_delete.connect(
            servers.cert_deleted,
            sender=swapper.load_model("django_x509", "Cert"),
            weak=False,
            dispatch_uid=f"{uid}_vpn_server_cert_post_delete",
        )

    def install_change_triggers(self, using, **kwargs):
        """
        Receiver of ``post_migrate``: on PostgreSQL, (re)installs the triggers
        that announce changes of the config table to the connections
        answering device polls from memory (``django_netjsonconfig.memory``).
        """
        from .memory import install_triggers

        install_triggers(self.config_model, using)
