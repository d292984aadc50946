"""Migrations: the unpacking of ``checksum_db``, and the upgrade of a 0.5.6 database."""

import hashlib
from io import StringIO
from unittest import skipUnless

from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.test import TransactionTestCase
from django.urls import reverse

from django_netjsonconfig.tests import TestMixin, installed_config_model

APP = "django_netjsonconfig"
BEFORE = [(APP, "0003_stored_archive")]
AFTER = [(APP, "0004_render_version_and_device_state")]


@skipUnless(installed_config_model()._meta.app_label == APP, "the sample app's migration uses the same helper")
class TestUnpackChecksums(TransactionTestCase):
    def _migrate(self, targets):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    def tearDown(self):
        leaves = [node for node in MigrationExecutor(connection).loader.graph.leaf_nodes() if node[0] == APP]
        self._migrate(leaves)
        super().tearDown()

    def test_fresh_invalidated_and_missing_checksums(self):
        old_apps = self._migrate(BEFORE)
        OldConfig = old_apps.get_model(APP, "Config")
        rows = {
            "fresh": ("running", "ab12cd34:" + "1" * 32),
            "invalidated": ("modified", "error!" + "2" * 32),
            "never": ("modified", ""),
        }
        for number, (name, (status, packed)) in enumerate(rows.items()):
            OldConfig.objects.create(
                name=name,
                key=f"{number}" * 32,
                mac_address=f"00:11:22:33:44:0{number}",
                backend="netjsonconfig.OpenWrt",
                config={},
                status=status,
                checksum_db=packed,
            )
        new_apps = self._migrate(AFTER)
        Config = new_apps.get_model(APP, "Config")
        stored = {
            config.name: (
                config.status,
                config.rendered_fingerprint,
                config.rendered_checksum,
                config.rendered_version == config.render_version,
                config.restore_status,
            )
            for config in Config.objects.all()
        }
        self.assertEqual(stored["fresh"], ("running", "ab12cd34", "1" * 32, True, ""))
        self.assertEqual(stored["invalidated"], ("modified", "", "2" * 32, False, "error"))
        self.assertEqual(stored["never"], ("modified", "", "", False, ""))
        # and back: the packed values return
        old_apps = self._migrate(BEFORE)
        packed = dict(old_apps.get_model(APP, "Config").objects.values_list("name", "checksum_db"))
        self.assertEqual(packed, {name: value for name, (_status, value) in rows.items()})


#: the migrations a 0.5.6 database has recorded besides 0001_initial (unknown to this release)
MIGRATIONS_056 = [
    "0002_config_status",
    "0003_config_last_ip",
    "0004_config_allow_blank",
    "0005_template_default",
    "0006_utc_data_migration",
    "0007_file_data_migration",
    "0008_vpn_integration",
    "0009_openvpn_data_migration",
    "0010_basemodel_reorganization",
    "0011_template_config_blank",
    "0012_name_unique",
    "0013_config_mac_address",
    "0014_randomize_mac_address",
    "0015_config_mac_address_unique",
    "0016_vpn_dh",
    "0017_openvpn_data_migration",
    "0018_openvpn_disabled_attr",
    "0019_cleanup_model_options",
    "0020_openvpn_resolv_retry",
    "0021_netjsonconfig_label",
]


@skipUnless(installed_config_model()._meta.app_label == APP, "the sample app has its own migrations")
class TestUpgradeFrom056(TestMixin, TransactionTestCase):
    """
    docs/upgrading.rst, step by step: a database with 0.5.6's schema (our
    0001_initial) and 0.5.6's migration history, rows in it, ``migrate``,
    then ``manage.py netjsonconfig_render``.
    """

    def _migrate(self, targets):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    def _leaves(self):
        return [node for node in MigrationExecutor(connection).loader.graph.leaf_nodes() if node[0] == APP]

    def tearDown(self):
        recorder = MigrationRecorder(connection)
        for name in MIGRATIONS_056:
            recorder.record_unapplied(APP, name)
        self._migrate(self._leaves())
        super().tearDown()

    def _database_056(self):
        """Rows as 0.5.6 stored them: two devices sharing a default template, a VPN server."""
        old_apps = self._migrate([(APP, "0001_initial")])
        recorder = MigrationRecorder(connection)
        for name in MIGRATIONS_056:
            recorder.record_applied(APP, name)
        Template = old_apps.get_model(APP, "Template")
        Config = old_apps.get_model(APP, "Config")
        Vpn = old_apps.get_model(APP, "Vpn")
        template = Template.objects.create(
            name="base",
            backend="netjsonconfig.OpenWrt",
            default=True,
            config={"interfaces": [{"name": "eth0", "type": "ethernet", "mtu": 1400}]},
        )
        rows = {}
        for number, status in enumerate(("running", "error")):
            config = Config.objects.create(
                name=f"router-{number}",
                backend="netjsonconfig.OpenWrt",
                key=f"{number}" * 32,
                mac_address=f"00:11:22:33:44:0{number}",
                config={"general": {"timezone": "Europe/Rome"}},
                status=status,
                last_ip="10.0.0.1",
            )
            Config.templates.through.objects.create(config_id=config.pk, template_id=template.pk, sort_value=1)
            rows[config.name] = config.pk
        ca = self._create_ca()
        cert = self._build(self.cert_model, {}, {"name": "vpn-server", "ca": ca, "common_name": "vpn-server"})
        cert.full_clean()
        cert.save()
        vpn = Vpn.objects.create(
            name="vpn",
            host="vpn.example.com",
            backend="django_netjsonconfig.vpn_backends.OpenVpn",
            ca_id=ca.pk,
            cert_id=cert.pk,
            dh=self.TEST_DH,
            config=self._vpn_config,
        )
        return rows, vpn.pk

    def test_data_survives_and_renderings_are_filled(self):
        rows, vpn_pk = self._database_056()
        self._migrate(self._leaves())
        Config = self.config_model
        configs = {config.name: config for config in Config.objects.all()}
        self.assertEqual(set(configs), set(rows))
        running = configs["router-0"]
        self.assertEqual(
            (str(running.pk), running.key, running.mac_address, running.status, running.last_ip),
            (str(rows["router-0"]), "0" * 32, "00:11:22:33:44:00", "running", "10.0.0.1"),
        )
        self.assertEqual(configs["router-1"].status, "error")
        self.assertEqual([template.name for template in running.templates.all()], ["base"])
        self.assertEqual(running.rendered_checksum, "")  # nothing rendered inside migrate
        # the 0.5.6 history stays recorded and is ignored
        self.assertIn((APP, "0016_vpn_dh"), MigrationRecorder(connection).applied_migrations())

        out = StringIO()
        call_command("netjsonconfig_render", stdout=out)
        self.assertIn("Rendered 2 configuration(s) and 1 VPN server(s).", out.getvalue())
        for config in Config.objects.all():
            self.assertEqual(bytes(config.archive_db), config.generate().getvalue())
            self.assertIn("option mtu '1400'", config.backend_instance.render())
        self.assertEqual(
            dict(Config.objects.values_list("name", "status")), {"router-0": "running", "router-1": "error"}
        )
        vpn = self.vpn_model.objects.get(pk=vpn_pk)
        self.assertIsNotNone(vpn.stored_checksum)

        # devices keep their UUID and key; the checksum is the md5 of the download
        checksum = self.client.get(reverse("controller:checksum", args=[running.pk]), {"key": running.key})
        download = self.client.get(reverse("controller:download_config", args=[running.pk]), {"key": running.key})
        self.assertEqual(download.status_code, 200)
        self.assertEqual(checksum.content.decode().strip(), hashlib.md5(download.content).hexdigest())

        # the first change flips the status, since the rendering is stored
        running.refresh_from_db()
        running.config = {"general": {"timezone": "Europe/Berlin"}}
        running.full_clean()
        running.save()
        self.assertStatus(running, "modified")
