"""
Who is behind: the sync state of each device on the config list (with a
filter and counts per state) and the "last seen" time devices' requests
record, at most once per NETJSONCONFIG_LAST_SEEN_INTERVAL.
"""

import re
from unittest import mock

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import TestCase, TransactionTestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_netjsonconfig import fleet
from django_netjsonconfig.tests.test_controller import ControllerTestMixin
from django_netjsonconfig.tests.test_memory import MemoryTestMixin


def _state_cells(html):
    """``{config name: text of its sync state cell}`` of a config changelist page."""
    rows = re.findall(r"<tr>.*?</tr>", html, re.S)
    states = {}
    for row in rows:
        name = re.search(r'<th class="field-name">(?:<a [^>]*>)?([^<]+)', row)
        state = re.search(r'<td class="field-sync_state">(.*?)</td>', row, re.S)
        if name and state:
            states[name.group(1)] = re.sub(r"<[^>]+>", "", state.group(1)).strip()
    return states


class FleetAdminMixin(ControllerTestMixin):
    """Device requests (``ControllerTestMixin``) and the config list of a logged-in superuser."""

    def setUp(self):
        super().setUp()
        fleet.forget_seen()
        admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "pass")
        self.client.force_login(admin)

    def _admin_url(self, model, view, *args):
        opts = model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)

    def _list(self, **params):
        response = self.client.get(self._admin_url(self.config_model, "changelist"), params)
        self.assertEqual(response.status_code, 200)
        return response.content.decode()


class TestSyncStates(FleetAdminMixin, TestCase):
    def _state(self, config):
        return _state_cells(self._list())[config.name]

    def test_a_device_goes_through_the_states(self):
        config = self._create_config(name="ap-states")
        self.assertEqual(self._state(config), "never contacted")
        self._get("download_config", config, key=config.key)
        self.assertEqual(self._state(config), "downloaded, not applied")
        self._report(config, status="applied")
        self.assertEqual(self._state(config), "in sync")
        config.config = {"general": {}, "interfaces": [{"name": "eth0", "type": "ethernet"}]}
        config.full_clean()
        config.save()
        self.assertRegex(self._state(config), r"^behind since ")
        self._get("download_config", config, key=config.key)
        self.assertEqual(self._state(config), "downloaded, not applied")
        self._report(config, status="running")
        self.assertEqual(self._state(config), "in sync")

    def test_a_device_that_polls_without_downloading_is_behind(self):
        config = self._create_config(name="ap-polls")
        self._checksum(config)
        self.assertEqual(self._state(config), "behind: polls but never downloaded")
        self.assertIn("behind (1)", self._list())
        self.assertEqual(set(_state_cells(self._list(sync_state="behind"))), {config.name})
        self.assertEqual(_state_cells(self._list(sync_state="never")), {})

    def test_behind_since_keeps_the_first_change_the_device_missed(self):
        config = self._create_config(name="ap-behind")
        self._get("download_config", config, key=config.key)
        self._report(config, status="applied")
        for mtu in (1400, 1300):
            config.config = {"general": {}, "interfaces": [{"name": "eth0", "type": "ethernet", "mtu": mtu}]}
            config.save()
            config.refresh_from_db()
            if mtu == 1400:
                first = config.behind_since
        self.assertIsNotNone(first)
        self.assertEqual(config.behind_since, first)

    def test_a_change_not_rendered_yet_counts_as_behind(self):
        config = self._create_config(name="ap-pending")
        self._get("download_config", config, key=config.key)
        self._report(config, status="applied")
        self.config_model.invalidate_checksums(self.config_model.objects.filter(pk=config.pk))
        self.assertEqual(self._state(config), "behind (changed, not rendered yet)")
        self._checksum(config)  # renders again: the output did not change
        self.assertEqual(self._state(config), "in sync")

    def test_filter_lists_one_state_and_counts_each(self):
        never = self._create_config(name="ap-never", mac_address="00:11:22:33:44:01", key="1" * 32)
        synced = self._create_config(name="ap-synced", mac_address="00:11:22:33:44:02", key="2" * 32)
        pending = self._create_config(name="ap-pending", mac_address="00:11:22:33:44:03", key="3" * 32)
        self._get("download_config", synced, key=synced.key)
        self._report(synced, status="applied")
        self._get("download_config", pending, key=pending.key)
        html = self._list()
        for label in ("in sync (1)", "downloaded, not applied (1)", "behind (0)", "never contacted (1)"):
            self.assertIn(label, html)
        self.assertEqual(set(_state_cells(self._list(sync_state="in_sync"))), {synced.name})
        self.assertEqual(set(_state_cells(self._list(sync_state="downloaded"))), {pending.name})
        self.assertEqual(set(_state_cells(self._list(sync_state="never"))), {never.name})
        self.assertEqual(_state_cells(self._list(sync_state="behind")), {})

    def test_list_queries_do_not_depend_on_the_number_of_configs(self):
        template = self._create_template()
        vpn_template = self._create_vpn_template()

        def create(count, start):
            for number in range(start, start + count):
                config = self._create_config(
                    name=f"ap{number}", mac_address=f"00:11:22:33:55:{number:02X}", key=f"{number:032d}"
                )
                config.templates.add(template, vpn_template)
                self._get("download_config", config, key=config.key)

        def queries():
            with CaptureQueriesContext(connection) as captured:
                self._list()
            return len(captured)

        create(2, 0)
        few = queries()
        create(20, 10)
        self.assertEqual(queries(), few)

    def test_last_seen_column(self):
        config = self._create_config(name="ap-seen")
        self.assertIn('<td class="field-last_seen">-</td>', self._list())
        self._checksum(config)
        self.assertNotIn('<td class="field-last_seen">-</td>', self._list())


@override_settings(NETJSONCONFIG_LAST_SEEN_INTERVAL=600)
class TestLastSeenCost(MemoryTestMixin, TransactionTestCase):
    """
    Guards an optimisation: recording "last seen" must not cost unchanged
    polls a query (nor make the connection forget the polled row), except
    one write per device per interval.
    """

    def setUp(self):
        super().setUp()
        fleet.forget_seen()
        self.state_model = fleet.device_state_model(self.config_model)

    def _last_seen(self, config):
        return self.state_model.objects.filter(pk=config.pk).values_list("last_seen", flat=True).first()

    def _poll_queries(self, config):
        with CaptureQueriesContext(connection) as captured:
            response = self._get("checksum", config, key=config.key)
        self.assertEqual(response.status_code, 200)
        return [query["sql"] for query in captured]

    def test_within_the_interval_an_unchanged_poll_costs_no_query(self):
        config = self._create_config()
        self._checksum(config)  # first polls: reads, renders, records last seen
        seen = self._last_seen(config)
        self.assertIsNotNone(seen)
        for _poll in range(3):
            self.assertEqual(self._poll_queries(config), [])
        self.assertEqual(self._last_seen(config), seen)

    def test_beyond_the_interval_one_write_and_the_row_stays_remembered(self):
        config = self._create_config()
        self._checksum(config)
        seen = self._last_seen(config)
        with override_settings(NETJSONCONFIG_LAST_SEEN_INTERVAL=0):
            for _poll in range(2):
                queries = self._poll_queries(config)
                self.assertEqual(len(queries), 1, queries)
                self.assertIn(self.state_model._meta.db_table, queries[0])
                self.assertTrue(queries[0].upper().startswith("INSERT"))
        self.assertGreater(self._last_seen(config), seen)
        self.assertEqual(self._poll_queries(config), [])

    def test_another_process_writes_nothing_within_the_interval(self):
        config = self._create_config()
        self._checksum(config)
        seen = self._last_seen(config)
        fleet.forget_seen()  # as a server process that has not seen this device yet
        self.assertEqual(len(self._poll_queries(config)), 1)
        self.assertEqual(self._last_seen(config), seen)
        self.assertEqual(self._poll_queries(config), [])

    def test_a_fleet_bigger_than_the_memo_costs_one_statement_per_forgotten_device(self):
        first, second, third = (
            self._create_config(name=f"ap{number}", mac_address=f"00:11:22:33:44:0{number}", key=str(number) * 32)
            for number in range(1, 4)
        )
        for _pass in range(2):  # the second pass: every row rendered and remembered (SQLite forgets at each write)
            for config in (first, second, third):
                self._checksum(config)
        with mock.patch.object(fleet, "seen_memo_limit", return_value=2):
            fleet.forget_seen()
            self.assertEqual(len(self._poll_queries(first)), 1)
            self.assertEqual(len(self._poll_queries(second)), 1)
            self.assertEqual(self._poll_queries(first), [])
            # a third device makes room by forgetting the one written longest
            # ago (the first), not every device
            self.assertEqual(len(self._poll_queries(third)), 1)
            self.assertEqual(self._poll_queries(second), [])
            self.assertEqual(self._poll_queries(third), [])
            self.assertEqual(len(self._poll_queries(first)), 1)

    def test_the_memo_holds_at_least_as_many_devices_as_the_connection_memory(self):
        with override_settings(NETJSONCONFIG_CONTROLLER_CACHE_SIZE=0):
            self.assertEqual(fleet.seen_memo_limit(), fleet.SEEN_MEMO_LIMIT)
        with override_settings(NETJSONCONFIG_CONTROLLER_CACHE_SIZE=fleet.SEEN_MEMO_LIMIT * 3):
            self.assertEqual(fleet.seen_memo_limit(), fleet.SEEN_MEMO_LIMIT * 3)

    def test_reports_and_downloads_record_last_seen_too(self):
        config = self._create_config()
        self._report(config, status="running")
        self.assertIsNotNone(self._last_seen(config))
        other = self._create_config(name="ap-other", mac_address="00:11:22:33:44:99", key="9" * 32)
        self._get("download_config", other, key=other.key)
        self.assertIsNotNone(self._last_seen(other))
