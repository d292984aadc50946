"""Settings: documented defaults, runtime overrides, startup check, system checks."""

from unittest import mock

from django.apps import apps
from django.conf import settings
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import SimpleTestCase, override_settings

from django_netjsonconfig import checks
from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.extending import installed_app

OPENWRT = "netjsonconfig.OpenWrt"
OPENVPN = "django_netjsonconfig.vpn_backends.OpenVpn"

DOCUMENTED_DEFAULTS = {
    "BACKENDS": ((OPENWRT, "OpenWRT/LEDE"), ("netjsonconfig.OpenWisp", "OpenWISP Firmware 1.x")),
    "VPN_BACKENDS": (
        (OPENVPN, "OpenVPN"),
        ("django_netjsonconfig.vpn_backends.Wireguard", "WireGuard"),
        ("django_netjsonconfig.vpn_backends.VxlanWireguard", "VXLAN over WireGuard"),
    ),
    "DEFAULT_BACKEND": OPENWRT,
    "DEFAULT_VPN_BACKEND": OPENVPN,
    "REGISTRATION_ENABLED": True,
    "CONSISTENT_REGISTRATION": True,
    "SHARED_SECRET": "",
    "CONTEXT": {},
    "DEFAULT_AUTO_CERT": True,
    "CERT_PATH": "/etc/x509",
    "COMMON_NAME_FORMAT": "{mac_address}-{name}",
}

EXTRA_DEFAULTS = {
    "DH_KEY_LENGTH": 2048,
    "TEMPLATE_VALIDATION_BUDGET": 100,
    "REGISTRATION_SELF_CREATION": True,
    "HARDWARE_ID_ENABLED": False,
    "HARDWARE_ID_AS_NAME": True,
    "HARDWARE_ID_OPTIONS": {},
}


def _default(name):
    """The value of ``name`` when the project does not set it."""
    with override_settings():
        if hasattr(settings, f"NETJSONCONFIG_{name}"):
            delattr(settings, f"NETJSONCONFIG_{name}")
        return getattr(app_settings, name)


class TestSettingsDefaults(SimpleTestCase):
    def test_documented_settings_have_documented_defaults(self):
        for name, value in DOCUMENTED_DEFAULTS.items():
            with self.subTest(setting=name):
                self.assertEqual(_default(name), value)

    def test_extra_settings_have_documented_defaults(self):
        for name, value in EXTRA_DEFAULTS.items():
            with self.subTest(setting=name):
                self.assertEqual(_default(name), value)

    def test_unknown_setting_is_an_attribute_error(self):
        with self.assertRaises(AttributeError):
            app_settings.NOT_A_SETTING  # noqa: B018


class TestSettingsOverrides(SimpleTestCase):
    OVERRIDES = {
        "BACKENDS": (("netjsonconfig.OpenWisp", "OpenWISP"),),
        "VPN_BACKENDS": (("netjsonconfig.OpenVpn", "Plain OpenVPN"),),
        "DEFAULT_BACKEND": "netjsonconfig.OpenWisp",
        "DEFAULT_VPN_BACKEND": "netjsonconfig.OpenVpn",
        "REGISTRATION_ENABLED": False,
        "CONSISTENT_REGISTRATION": False,
        "SHARED_SECRET": "s3cret",
        "CONTEXT": {"site": "lab"},
        "DEFAULT_AUTO_CERT": False,
        "CERT_PATH": "/etc/certs",
        "COMMON_NAME_FORMAT": "{name}",
        "DH_KEY_LENGTH": 1024,
    }

    def test_override_settings_is_seen_at_runtime(self):
        for name, value in self.OVERRIDES.items():
            with self.subTest(setting=name), override_settings(**{f"NETJSONCONFIG_{name}": value}):
                self.assertEqual(getattr(app_settings, name), value)

    def test_mock_patch_is_seen_and_restored(self):
        with mock.patch.object(app_settings, "SHARED_SECRET", "patched"):
            self.assertEqual(app_settings.SHARED_SECRET, "patched")
        self.assertEqual(app_settings.SHARED_SECRET, settings.NETJSONCONFIG_SHARED_SECRET)

    @override_settings(NETJSONCONFIG_BACKENDS=(("netjsonconfig.OpenWisp", "OpenWISP"), (OPENWRT, "OpenWrt")))
    def test_default_backend_follows_backends_setting(self):
        self.assertEqual(_default("DEFAULT_BACKEND"), "netjsonconfig.OpenWisp")

    def test_default_backend_follows_patched_backends(self):
        with mock.patch.object(app_settings, "BACKENDS", (("netjsonconfig.OpenWisp", "OpenWISP"),)):
            self.assertEqual(_default("DEFAULT_BACKEND"), "netjsonconfig.OpenWisp")

    @override_settings(NETJSONCONFIG_VPN_BACKENDS=(("netjsonconfig.OpenVpn", "Plain"),))
    def test_default_vpn_backend_follows_vpn_backends_setting(self):
        self.assertEqual(_default("DEFAULT_VPN_BACKEND"), "netjsonconfig.OpenVpn")

    @override_settings(NETJSONCONFIG_DEFAULT_BACKEND=None, NETJSONCONFIG_DEFAULT_VPN_BACKEND=None)
    def test_default_backends_can_be_disabled_with_none(self):
        self.assertIsNone(app_settings.DEFAULT_BACKEND)
        self.assertIsNone(app_settings.DEFAULT_VPN_BACKEND)

    @override_settings(NETJSONCONFIG_BACKENDS=())
    def test_default_backend_is_none_without_backends(self):
        self.assertIsNone(_default("DEFAULT_BACKEND"))


class TestStartupCheck(SimpleTestCase):
    def _check(self):
        # the installed app providing the models: django_netjsonconfig or the app extending it
        return installed_app().check_settings()

    @override_settings(DEBUG=False, NETJSONCONFIG_REGISTRATION_ENABLED=True, NETJSONCONFIG_SHARED_SECRET="")
    def test_missing_shared_secret_in_production_is_improperly_configured(self):
        with self.assertRaises(ImproperlyConfigured) as context:
            self._check()
        self.assertIn("NETJSONCONFIG_SHARED_SECRET", str(context.exception))
        self.assertIn("NETJSONCONFIG_REGISTRATION_ENABLED", str(context.exception))

    @override_settings(DEBUG=False, NETJSONCONFIG_SHARED_SECRET="")
    def test_registration_enabled_by_default_requires_secret(self):
        with override_settings():
            if hasattr(settings, "NETJSONCONFIG_REGISTRATION_ENABLED"):
                del settings.NETJSONCONFIG_REGISTRATION_ENABLED
            with self.assertRaises(ImproperlyConfigured):
                self._check()

    @override_settings(DEBUG=True, NETJSONCONFIG_REGISTRATION_ENABLED=True, NETJSONCONFIG_SHARED_SECRET="")
    def test_missing_shared_secret_is_tolerated_in_debug(self):
        self.assertIsNone(self._check())  # the app starts: no ImproperlyConfigured

    @override_settings(DEBUG=False, NETJSONCONFIG_REGISTRATION_ENABLED=True, NETJSONCONFIG_SHARED_SECRET="s3cret")
    def test_shared_secret_set_in_production_is_accepted(self):
        self.assertIsNone(self._check())  # the app starts: no ImproperlyConfigured

    @override_settings(DEBUG=False, NETJSONCONFIG_REGISTRATION_ENABLED=False, NETJSONCONFIG_SHARED_SECRET="")
    def test_registration_disabled_in_production_needs_no_secret(self):
        self.assertIsNone(self._check())  # the app starts: no ImproperlyConfigured


class TestSystemChecks(SimpleTestCase):
    def _ids(self):
        return [message.id for message in checks.check_settings(None)]

    def test_stock_configuration_passes(self):
        with override_settings(NETJSONCONFIG_SHARED_SECRET="s3cret"):
            self.assertEqual(self._ids(), [])

    def test_checks_are_registered_with_django(self):
        with override_settings(NETJSONCONFIG_CONTEXT=["not", "a", "dict"]):
            ids = [message.id for message in run_checks()]
        self.assertIn("django_netjsonconfig.E005", ids)

    def test_e012_hardware_id_and_self_creation_settings_must_be_booleans(self):
        for name in ("REGISTRATION_SELF_CREATION", "HARDWARE_ID_ENABLED", "HARDWARE_ID_AS_NAME"):
            with self.subTest(setting=name), override_settings(**{f"NETJSONCONFIG_{name}": "yes"}):
                self.assertEqual(self._ids(), ["django_netjsonconfig.E012"])

    def test_e013_and_w006_hardware_id_options(self):
        with override_settings(NETJSONCONFIG_HARDWARE_ID_OPTIONS=["unique"]):
            self.assertEqual(self._ids(), ["django_netjsonconfig.E013"])
        with override_settings(NETJSONCONFIG_HARDWARE_ID_OPTIONS={"unique": True}):
            self.assertEqual(self._ids(), ["django_netjsonconfig.W006"])

    def test_e001_empty_backends(self):
        with override_settings(NETJSONCONFIG_BACKENDS=(), NETJSONCONFIG_DEFAULT_BACKEND=None):
            self.assertEqual(self._ids(), ["django_netjsonconfig.E001"])

    def test_e001_backend_that_cannot_be_imported(self):
        with override_settings(NETJSONCONFIG_BACKENDS=((OPENWRT, "OpenWrt"), ("wrong.Backend", "Wrong"))):
            self.assertEqual(self._ids(), ["django_netjsonconfig.E001"])

    def test_e001_backend_that_is_not_a_pair(self):
        with override_settings(NETJSONCONFIG_BACKENDS=((OPENWRT, "OpenWrt"), OPENWRT)):
            self.assertEqual(self._ids(), ["django_netjsonconfig.E001"])

    def test_e001_backends_that_is_not_a_sequence(self):
        with override_settings(NETJSONCONFIG_BACKENDS=None, NETJSONCONFIG_DEFAULT_BACKEND=None):
            self.assertEqual(self._ids(), ["django_netjsonconfig.E001"])

    def test_e002_vpn_backend_that_cannot_be_imported(self):
        with override_settings(
            NETJSONCONFIG_VPN_BACKENDS=(("wrong.Vpn", "Wrong"),), NETJSONCONFIG_DEFAULT_VPN_BACKEND=None
        ):
            self.assertEqual(self._ids(), ["django_netjsonconfig.E002"])

    def test_e003_default_backend_not_in_backends(self):
        with override_settings(NETJSONCONFIG_DEFAULT_BACKEND="netjsonconfig.OpenVpn"):
            self.assertEqual(self._ids(), ["django_netjsonconfig.E003"])

    def test_e004_default_vpn_backend_not_in_vpn_backends(self):
        with override_settings(NETJSONCONFIG_DEFAULT_VPN_BACKEND=OPENWRT):
            self.assertEqual(self._ids(), ["django_netjsonconfig.E004"])

    def test_e005_context_not_a_dict(self):
        with override_settings(NETJSONCONFIG_CONTEXT=[("site", "lab")]):
            self.assertEqual(self._ids(), ["django_netjsonconfig.E005"])

    def test_e006_common_name_format_with_unknown_placeholder(self):
        with override_settings(NETJSONCONFIG_COMMON_NAME_FORMAT="{serial}-{name}"):
            self.assertEqual(self._ids(), ["django_netjsonconfig.E006"])

    def test_e006_common_name_format_that_is_not_a_string(self):
        with override_settings(NETJSONCONFIG_COMMON_NAME_FORMAT=None):
            self.assertEqual(self._ids(), ["django_netjsonconfig.E006"])

    def test_w003_deploy_check_wants_persistent_database_connections(self):
        with mock.patch.dict(connection.settings_dict, {"CONN_MAX_AGE": 0}):
            self.assertEqual(
                [message.id for message in checks.check_database_connections(None)], ["django_netjsonconfig.W003"]
            )
            self.assertNotIn("django_netjsonconfig.W003", [message.id for message in run_checks()])
            self.assertIn(
                "django_netjsonconfig.W003", [message.id for message in run_checks(include_deployment_checks=True)]
            )
        for value in (None, 60):
            with mock.patch.dict(connection.settings_dict, {"CONN_MAX_AGE": value}):
                self.assertEqual(checks.check_database_connections(None), [])

    def test_e007_controller_cache_size_that_is_not_a_count(self):
        for value in (-1, "1000", 2.5, None, True):
            with self.subTest(value=value), override_settings(NETJSONCONFIG_CONTROLLER_CACHE_SIZE=value):
                self.assertEqual(self._ids(), ["django_netjsonconfig.E007"])

    def test_controller_cache_size_zero_is_valid(self):
        with override_settings(NETJSONCONFIG_CONTROLLER_CACHE_SIZE=0):
            self.assertEqual(self._ids(), [])

    def test_common_name_format_may_use_any_config_field_and_format_spec(self):
        with override_settings(NETJSONCONFIG_COMMON_NAME_FORMAT="{name}-{id.hex}-{created:%Y}-{backend}"):
            self.assertEqual(self._ids(), [])

    def test_w001_cert_path_with_trailing_slash(self):
        with override_settings(NETJSONCONFIG_CERT_PATH="/etc/x509/"):
            self.assertEqual(self._ids(), ["django_netjsonconfig.W001"])

    def test_w002_shared_secret_with_characters_unsafe_in_urls(self):
        for secret in ("a&b", "a+b", "a%b", "a b", "a#b"):
            with self.subTest(secret=secret), override_settings(NETJSONCONFIG_SHARED_SECRET=secret):
                self.assertEqual(self._ids(), ["django_netjsonconfig.W002"])

    def test_errors_have_hints_or_clear_messages(self):
        with override_settings(NETJSONCONFIG_DEFAULT_BACKEND="netjsonconfig.OpenVpn"):
            (error,) = checks.check_settings(None)
        self.assertIn("NETJSONCONFIG_DEFAULT_BACKEND", error.msg)
        self.assertIn("None", error.hint)


class TestConfigModelAccessor(SimpleTestCase):
    def test_get_config_model_is_the_concrete_model_of_the_installed_app(self):
        from django_netjsonconfig import get_config_model
        from django_netjsonconfig.base.config import AbstractConfig

        config_model = get_config_model()
        self.assertTrue(issubclass(config_model, AbstractConfig))
        self.assertFalse(config_model._meta.abstract)
        self.assertIs(apps.get_model(config_model._meta.label), config_model)

    def test_x509_listed_in_installed_apps_raises_no_warning(self):
        self.assertNotIn("django_netjsonconfig.W004", [message.id for message in run_checks()])

    def test_x509_registered_implicitly_is_a_named_warning_with_a_hint(self):
        from django_netjsonconfig import apps as netjsonconfig_apps

        with mock.patch.object(netjsonconfig_apps, "x509_registered_implicitly", True):
            warnings = [message for message in run_checks() if message.id == "django_netjsonconfig.W004"]
        self.assertEqual(len(warnings), 1)
        self.assertEqual(warnings[0].hint, "Add 'django_x509' to INSTALLED_APPS.")
