"""django-reversion: models are versioned when installed; the app works without it."""

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import reversion
from django.core import serializers
from django.test import SimpleTestCase, TestCase
from reversion.models import Version

from django_netjsonconfig.tests import TestMixin

ROOT = Path(__file__).resolve().parents[2]


def _interface(name):
    return {"interfaces": [{"name": name, "type": "ethernet"}]}


class ReversionMixin(TestMixin):
    def _save_revision(self, instance):
        with reversion.create_revision():
            instance.save()
        return Version.objects.get_for_object(instance).first()

    def _assert_stored_checksum_is_real(self, config):
        config = self.config_model.objects.get(pk=config.pk)
        self.assertEqual(config.get_cached_checksum(), hashlib.md5(config.generate().getvalue()).hexdigest())


class TestReversionRegistration(TestMixin, TestCase):
    def test_config_template_and_vpn_are_registered(self):
        for model in (self.config_model, self.template_model, self.vpn_model):
            with self.subTest(model=model.__name__):
                self.assertTrue(reversion.is_registered(model))


class TestRevertConfig(ReversionMixin, TestCase):
    def test_revert_restores_config_and_templates(self):
        template = self._create_template()
        config = self._create_config(templates=[template])
        version = self._save_revision(config)
        config.config = _interface("eth1")
        config.save()
        config.templates.clear()
        version.revision.revert()
        config.refresh_from_db()
        self.assertEqual(config.config, {"general": {}})
        self.assertEqual(list(config.templates.all()), [template])

    def test_revert_flags_config_modified_with_real_checksum(self):
        config = self._create_config()
        version = self._save_revision(config)
        config.config = _interface("eth1")
        config.save()
        self._device_applied(config)
        version.revert()
        self.assertStatus(config, "modified")
        self._assert_stored_checksum_is_real(config)

    def test_revert_to_what_the_device_runs_restores_status_at_next_poll(self):
        config = self._create_config()
        self._device_applied(config)
        version = self._save_revision(config)
        version.revert()
        self.assertStatus(config, "modified")
        self.config_model.objects.get(pk=config.pk).get_cached_checksum()
        self.assertStatus(config, "running")

    def test_revert_after_template_edit_serves_current_template(self):
        template = self._create_template()
        config = self._create_config(templates=[template])
        version = self._save_revision(config)
        template.config = _interface("eth2")
        template.save()
        version.revert()
        config = self.config_model.objects.get(pk=config.pk)
        self.assertIn("eth2", config.json())
        self._assert_stored_checksum_is_real(config)


class TestRevertTemplate(ReversionMixin, TestCase):
    def test_template_revert_flags_its_configs(self):
        template = self._create_template()
        config = self._create_config(templates=[template])
        version = self._save_revision(template)
        template.config = _interface("eth1")
        template.save()
        self._device_applied(config)
        version.revert()
        self.assertStatus(config, "modified")
        self._assert_stored_checksum_is_real(config)


class TestRawWrites(ReversionMixin, TestCase):
    def test_config_loaded_from_fixture_is_flagged_and_checksum_is_real(self):
        config = self._device_applied(self._create_config())
        data = serializers.serialize("json", [config])
        config.config = _interface("eth1")
        config.save()
        for obj in serializers.deserialize("json", data):
            obj.save()
        self.assertStatus(config, "modified")
        self._assert_stored_checksum_is_real(config)

    def test_config_loaded_after_template_edit_keeps_status_known_before_the_edit(self):
        template = self._create_template()
        config = self._device_applied(self._create_config(templates=[template]))
        data = serializers.serialize("json", [config])
        template.config = _interface("eth1")
        template.save()
        template.config = _interface("eth0")
        template.save()
        for obj in serializers.deserialize("json", data):
            obj.save()
        self.config_model.objects.get(pk=config.pk).get_cached_checksum()
        self.assertStatus(config, "running")


NO_REVERSION_SCRIPT = textwrap.dedent(
    """
    import sys
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=True,
        SECRET_KEY="x" * 50,
        ROOT_URLCONF="tests.urls",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
            "django.contrib.messages", "django.contrib.staticfiles", "django_netjsonconfig",
            "django_x509", "sortedm2m", "django.contrib.admin",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]},
        }],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        STATIC_URL="/static/",
        ALLOWED_HOSTS=["*"],
    )
    django.setup()
    from django.core.management import call_command
    call_command("check", fail_level="ERROR")
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_netjsonconfig.models import Config
    config = Config(name="ap-1", mac_address="00:11:22:33:44:55", backend="netjsonconfig.OpenWrt")
    config.full_clean()
    config.save()
    assert len(config.get_cached_checksum()) == 32
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com", "pass"))
    for url in ("/admin/django_netjsonconfig/config/", f"/admin/django_netjsonconfig/config/{config.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    assert "reversion" not in sys.modules, "reversion was imported"
    print("OK")
    """
)


class TestWithoutReversion(SimpleTestCase):
    def test_app_and_admin_work_without_reversion_installed(self):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.pop("SAMPLE_APP", None)  # the script's project installs django_netjsonconfig itself
        result = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", NO_REVERSION_SCRIPT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertEqual(result.stdout.strip().splitlines()[-1], "OK")
