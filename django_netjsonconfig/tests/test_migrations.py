"""The data migration from the packed ``checksum_db`` to the plain rendering columns."""

from unittest import skipUnless

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TransactionTestCase

from django_netjsonconfig.tests import installed_config_model

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
