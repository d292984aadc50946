"""
Reusable test helpers. Third-party apps that extend django-netjsonconfig can
mix these into their own test cases after setting the ``*_model`` attributes
to their models.
"""

import swapper
from django.apps import apps

from django_netjsonconfig import get_config_model

TEST_KEY = "00000000000000000000000000000000"
TEST_MAC = "00:11:22:33:44:55"

TEST_DH = """-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
"""


def _app_config():
    for app_config in apps.get_app_configs():
        if hasattr(app_config, "config_model"):
            return app_config
    raise LookupError("no django-netjsonconfig app is installed")


class ModelsMixin:
    """Resolves the models of the installed (or extending) app lazily."""

    @property
    def config_model(self):
        return get_config_model()

    @property
    def vpnclient_model(self):
        return _app_config().vpnclient_model

    @property
    def template_model(self):
        return self.config_model._meta.get_field("templates").related_model

    @property
    def vpn_model(self):
        return self.vpnclient_model._meta.get_field("vpn").related_model

    @property
    def ca_model(self):
        return swapper.load_model("django_x509", "Ca")

    @property
    def cert_model(self):
        return swapper.load_model("django_x509", "Cert")

    def _extra_fields(self, model):
        """
        Values for fields an extending app adds to ``model`` (for example an
        organization); every helper applies them. Override it in subclasses.
        """
        return {}

    def _build(self, model, defaults, kwargs):
        """An unsaved ``model`` instance with ``defaults`` updated by ``kwargs``."""
        return model(**{**self._extra_fields(model), **defaults, **kwargs})

    def _save(self, model, defaults, kwargs):
        kwargs = dict(kwargs)
        templates = kwargs.pop("templates", None)
        instance = self._build(model, defaults, kwargs)
        instance.full_clean()
        instance.save()
        if templates is not None:
            instance.templates.set(templates)
        return instance


class CreateConfigMixin(ModelsMixin):
    TEST_KEY = TEST_KEY
    TEST_MAC_ADDRESS = TEST_MAC

    config_defaults = {
        "name": "test",
        "mac_address": TEST_MAC,
        "backend": "netjsonconfig.OpenWrt",
        "config": {"general": {}},
        "key": TEST_KEY,
    }

    def _build_config(self, **kwargs):
        """An unsaved, unvalidated config with the test defaults."""
        return self._build(self.config_model, self.config_defaults, kwargs)

    def _create_config(self, **kwargs):
        return self._save(self.config_model, self.config_defaults, kwargs)


class CreateTemplateMixin(ModelsMixin):
    def _create_template(self, **kwargs):
        defaults = {
            "name": "test-template",
            "backend": "netjsonconfig.OpenWrt",
            "config": {"interfaces": [{"name": "eth0", "type": "ethernet"}]},
        }
        return self._save(self.template_model, defaults, kwargs)


class CreateVpnMixin(ModelsMixin):
    TEST_DH = TEST_DH
    _vpn_config = {
        "openvpn": [
            {
                "ca": "ca.pem",
                "cert": "cert.pem",
                "dev": "tap0",
                "dev_type": "tap",
                "dh": "dh.pem",
                "key": "key.pem",
                "mode": "server",
                "name": "example-vpn",
                "proto": "udp",
                "tls_server": True,
            }
        ]
    }

    def _create_ca(self, **kwargs):
        defaults = {
            "name": "test-ca",
            "common_name": "test-ca",
            "country_code": "IT",
            "state": "RM",
            "city": "Rome",
            "organization_name": "OpenWISP",
            "email": "test@test.com",
            "key_length": "2048",
            "digest": "sha256",
        }
        return self._save(self.ca_model, defaults, kwargs)

    def _create_vpn(self, **kwargs):
        defaults = {
            "name": "test-vpn",
            "host": "vpn1.test.com",
            "backend": "django_netjsonconfig.vpn_backends.OpenVpn",
            "config": self._vpn_config,
            "dh": TEST_DH,
        }
        if "ca" not in kwargs:
            kwargs["ca"] = self._create_ca()
        return self._save(self.vpn_model, defaults, kwargs)

    def _create_wireguard_server(self, **kwargs):
        """A WireGuard VPN server (``backend`` may name the VXLAN over WireGuard one) on 10.8.0.0/24."""
        defaults = {
            "name": "test-wireguard",
            "host": "wg1.test.com",
            "backend": "django_netjsonconfig.vpn_backends.Wireguard",
            "subnet": "10.8.0.0/24",
            "config": {"wireguard": [{"name": "wg0", "port": 51820}]},
            "ca": None,
        }
        return self._save(self.vpn_model, defaults, kwargs)

    def _create_vpn_template(self, vpn=None, **kwargs):
        options = {"name": "vpn-template", "type": "vpn", "auto_cert": True, "config": {}, **kwargs}
        options["vpn"] = vpn or self._create_vpn()
        return self._create_template(**options)


class DeviceStatusMixin(ModelsMixin):
    """Helpers that act like a device on a config, without the HTTP layer."""

    def _device_applied(self, config, status="running"):
        """
        The device polled the checksum (which stores it) and reported
        ``status``, writing only that column as the controller does.
        """
        config.get_cached_checksum()
        self.config_model._default_manager.filter(pk=config.pk).update(status=status)
        config.refresh_from_db()
        return config

    def assertStatus(self, config, status):
        """Asserts the stored status of ``config``."""
        config.refresh_from_db()
        self.assertEqual(config.status, status)


class TestMixin(CreateConfigMixin, CreateTemplateMixin, CreateVpnMixin, DeviceStatusMixin):
    """All creation helpers at once."""


def installed_config_model():
    """The concrete Config model of the installed (or extending) app."""
    return get_config_model()


def installed_controller_views():
    """The ``controller.views`` module of the installed (or extending) app."""
    from importlib import import_module

    return import_module(f"{_app_config().name}.controller.views")
