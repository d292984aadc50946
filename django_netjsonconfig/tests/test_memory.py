"""
Device polls answered from the memory of the database connection
(``django_netjsonconfig.memory``), an optimisation these tests guard: an
unchanged config costs no query, and every change, made on this connection,
on another one or by another server, is seen by the next poll.

These are ``TransactionTestCase``\\ s: the memory is only used outside
transactions, and ``TestCase`` runs every test inside one.
"""

import hashlib
import json
import select
import time
import uuid
from unittest import mock, skipUnless

from django.db import connection, connections, transaction
from django.test import Client, TransactionTestCase, override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.extra.django import TransactionTestCase as HypothesisTransactionTestCase

from django_netjsonconfig import memory
from django_netjsonconfig.tests.controller_testing import ChecksumInvalidationTests, ControllerTestMixin

#: how long a test waits for PostgreSQL to deliver a notification
DELIVERY_TIMEOUT = 5


class MemoryTestMixin(ControllerTestMixin):
    def setUp(self):
        super().setUp()
        # the memory needs persistent connections; the test settings keep Django's default (0)
        patcher = mock.patch.dict(connection.settings_dict, {"CONN_MAX_AGE": 60})
        patcher.start()
        self.addCleanup(patcher.stop)

    def _queries(self, method, *args, **kwargs):
        """``(response, number of SQL queries)`` of a controller request."""
        with CaptureQueriesContext(connection) as queries:
            response = method(*args, **kwargs)
        return response, len(queries)

    def _checksum(self, config, key=None):
        """
        Polls until a poll is answered from memory (at most three polls; the
        first may render and store, which the memory learns as a change) and
        returns the checksum, the same every time.
        """
        answers = []
        for _attempt in range(3):
            response, queries = self._queries(self._get, "checksum", config, key=key or config.key)
            self.assertEqual(response.status_code, 200, response.content)
            answers.append(response.content.decode())
            if queries == 0:
                break
        else:
            self.fail(f"three polls of an unchanged config all queried the database: {answers}")
        self.assertEqual(len(set(answers)), 1, answers)
        return answers[0]

    def _other_connection(self):
        """A second connection to the test database, as another server would have."""
        other = connection.get_new_connection(connection.get_connection_params())
        self.addCleanup(other.close)
        return other

    def _write_elsewhere(self, sql, params):
        """Runs ``sql`` on another connection and commits it, as another server would."""
        other = self._other_connection()
        sql = sql.replace("{table}", connection.ops.quote_name(self.config_model._meta.db_table))
        if connection.vendor == "sqlite":
            sql = sql.replace("%s", "?")  # the DB-API placeholder of sqlite3
        try:
            cursor = other.cursor()
            cursor.execute(sql, params)
            other.commit()
        finally:
            # closed at once: a property test writes many times in one test
            # (the database's connection limit must not be reached)
            other.close()
        if connection.vendor == "postgresql":
            # wait until the notification has reached this connection's socket
            readable, _w, _x = select.select([connection.connection.fileno()], [], [], DELIVERY_TIMEOUT)
            self.assertTrue(readable, "no notification arrived")

    def _pk_param(self, config):
        return config.pk.hex if connection.vendor == "sqlite" else config.pk


class TestPollsFromMemory(MemoryTestMixin, TransactionTestCase):
    def test_unchanged_config_is_polled_without_a_query(self):
        config = self._create_config()
        checksum = self._checksum(config)
        for _poll in range(3):
            response, queries = self._queries(self._get, "checksum", config, key=config.key)
            self.assertEqual((response.content.decode(), queries), (checksum, 0))

    def test_unchanged_config_is_downloaded_without_a_query(self):
        config = self._create_config(name="ap-memory")
        checksum = self._checksum(config)
        self._get("download_config", config, key=config.key)  # records downloaded_checksum
        self._get("download_config", config, key=config.key)  # reads the row after that write
        response, queries = self._queries(self._get, "download_config", config, key=config.key)
        self.assertEqual(queries, 0)
        self.assertEqual(hashlib.md5(response.content).hexdigest(), checksum)
        self.assertEqual(response["Content-Disposition"], "attachment; filename=ap-memory.tar.gz")

    def test_wrong_key_is_refused_from_memory(self):
        config = self._create_config()
        self._checksum(config)
        response, queries = self._queries(self._get, "checksum", config, key="0" * 31 + "1")
        self.assertEqual((response.status_code, queries), (403, 0))

    def test_new_client_address_is_recorded(self):
        config = self._create_config()
        self._checksum(config)
        response = self.client.get(self._url("checksum", config), {"key": config.key}, REMOTE_ADDR="10.7.7.7")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.config_model.objects.get(pk=config.pk).last_ip, "10.7.7.7")

    def test_key_changed_by_another_server_is_required_at_once(self):
        config = self._create_config()
        old_key = config.key
        self._checksum(config)
        self._write_elsewhere("UPDATE {table} SET key = %s WHERE id = %s", ["e" * 32, self._pk_param(config)])
        self.assertEqual(self._get("checksum", config, key=old_key).status_code, 403)
        self.assertEqual(self._get("checksum", config, key="e" * 32).status_code, 200)

    def test_config_edited_by_another_server_is_rendered_anew(self):
        config = self._create_config()
        before = self._checksum(config)
        self._write_elsewhere(
            "UPDATE {table} SET config = %s, render_version = render_version + 1 WHERE id = %s",
            ['{"general": {"timezone": "Europe/Rome"}}', self._pk_param(config)],
        )
        after = self._checksum(config)
        self.assertNotEqual(after, before)
        download = self._get("download_config", config, key=config.key)
        self.assertEqual(hashlib.md5(download.content).hexdigest(), after)

    def test_config_deleted_by_another_server_is_404(self):
        config = self._create_config()
        self._checksum(config)
        self._write_elsewhere("DELETE FROM {table} WHERE id = %s", [self._pk_param(config)])
        self.assertDjango404(self._get("checksum", config, key=config.key))

    def test_polls_inside_a_transaction_read_the_database(self):
        config = self._create_config()
        old_key, new_key = config.key, "d" * 32
        self._checksum(config)
        with transaction.atomic():
            self.config_model.objects.filter(pk=config.pk).update(key=new_key)
            response, queries = self._queries(self._get, "checksum", config, key=new_key)
            self.assertEqual((response.status_code, queries), (200, 1))
            self.assertEqual(self._get("checksum", config, key=old_key).status_code, 403)
            transaction.set_rollback(True)
        self.assertEqual(self._get("checksum", config, key=new_key).status_code, 403)
        self._checksum(config, key=old_key)

    def test_a_statement_changing_many_configs_is_seen(self):
        # more rows than one notification names: every connection forgets everything
        template = self._create_template(config={"interfaces": [{"name": "eth0", "type": "ethernet", "mtu": 1400}]})
        config = self._create_config()
        config.templates.add(template)
        crowd = [
            self._build_config(name=f"ap{number}", mac_address=f"00:11:22:33:{number // 256:02X}:{number % 256:02X}")
            for number in range(1, memory.MAX_NOTIFIED_ROWS + 2)
        ]
        for member in crowd:
            member.key = hashlib.md5(member.name.encode()).hexdigest()
        crowd = self.config_model.objects.bulk_create(crowd)
        through = self.config_model.templates.through
        through.objects.bulk_create([through(config_id=member.pk, template_id=template.pk) for member in crowd])
        before = self._checksum(config)
        template.config = {"interfaces": [{"name": "eth0", "type": "ethernet", "mtu": 1500}]}
        template.full_clean()
        template.save()
        self.assertNotEqual(self._checksum(config), before)

    @override_settings(NETJSONCONFIG_CONTROLLER_CACHE_SIZE=2)
    def test_each_connection_keeps_at_most_the_configured_number_of_configs(self):
        configs = [
            self._create_config(name=f"ap{number}", mac_address=f"00:11:22:33:44:0{number}", key=str(number) * 32)
            for number in range(1, 4)
        ]
        for config in configs:
            self._checksum(config)
        # the first one was forgotten to make room for the third
        first, queries = self._queries(self._get, "checksum", configs[0], key=configs[0].key)
        self.assertEqual((first.status_code, queries), (200, 1))
        third, queries = self._queries(self._get, "checksum", configs[2], key=configs[2].key)
        self.assertEqual((third.status_code, queries), (200, 0))

    def test_the_memory_counts_what_it_answered_and_what_it_read(self):
        config = self._create_config()
        self._checksum(config)
        counter = memory.session_memories(connections["default"])[self.config_model._meta.db_table]
        hits, misses = counter.hits, counter.misses
        self._get("checksum", config, key=config.key)
        self.assertEqual((counter.hits, counter.misses), (hits + 1, misses))
        other = self._create_config(name="ap2", mac_address="00:11:22:33:44:02", key="2" * 32)
        self._get("checksum", other, key=other.key)
        self.assertEqual(counter.misses, misses + 1)

    @override_settings(NETJSONCONFIG_CONTROLLER_CACHE_SIZE=0)
    def test_size_zero_turns_the_memory_off(self):
        config = self._create_config()
        self._get("checksum", config, key=config.key)
        for _poll in range(2):
            response, queries = self._queries(self._get, "checksum", config, key=config.key)
            self.assertEqual((response.status_code, queries), (200, 1))


@skipUnless(connection.vendor == "postgresql", "PostgreSQL notifications")
class TestPostgresNotifications(MemoryTestMixin, TransactionTestCase):
    def _reset_memory(self):
        memory._triggers_checked.clear()
        connection.close()

    def test_without_triggers_polls_read_the_database(self):
        table = self.config_model._meta.db_table
        self.addCleanup(self._reset_memory)
        self.addCleanup(memory.install_triggers, self.config_model, connection.alias)
        with connection.cursor() as cursor:
            for name in memory._trigger_names(connection, table):
                cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)} ON {connection.ops.quote_name(table)}")
        self._reset_memory()
        config = self._create_config()
        with self.assertLogs("django_netjsonconfig.memory", "WARNING") as logs:
            self._get("checksum", config, key=config.key)
        self.assertIn("run 'manage.py migrate'", logs.output[0])
        for _poll in range(2):
            response, queries = self._queries(self._get, "checksum", config, key=config.key)
            self.assertEqual((response.status_code, queries), (200, 1))

    def test_migrate_goes_on_when_the_triggers_cannot_be_installed(self):
        role = f"djnjc_limited_{uuid.uuid4().hex[:8]}"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE ROLE {role}")
            self.addCleanup(self._drop_role, role)
            cursor.execute(f"SET ROLE {role}")  # may neither create functions in public nor triggers on the table
        with self.assertLogs("django_netjsonconfig.memory", "WARNING") as logs:
            memory.install_triggers(self.config_model, connection.alias)
        self.assertIn("could not install the change notification triggers", logs.output[0])
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
            cursor.execute("SELECT 1")
            self.assertEqual(cursor.fetchone(), (1,))

    def _drop_role(self, role):
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
            cursor.execute(f"DROP ROLE {role}")

    def test_a_dead_connection_never_answers_from_memory(self):
        self.addCleanup(connection.close)
        config = self._create_config()
        self._checksum(config)
        other = self._other_connection()
        other.autocommit = True
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])
        # what another server changes while this connection is gone is never announced to it
        other.execute(
            f"UPDATE {connection.ops.quote_name(self.config_model._meta.db_table)} SET key = %s WHERE id = %s",
            ["c" * 32, config.pk],
        )
        select.select([connection.connection.fileno()], [], [], DELIVERY_TIMEOUT)
        time.sleep(0.1)  # the session's end follows its last message
        client = Client(raise_request_exception=False)
        with self.assertLogs("django_netjsonconfig", "WARNING") as logs:
            response = client.get(self._url("checksum", config), {"key": config.key})
        # the lost connection is answered like the protocol expects: 503, controller header
        self.assertEqual((response.status_code, response["X-Openwisp-Controller"]), (503, "true"))
        self.assertTrue(any("answered 503" in line for line in logs.output), logs.output)
        connection.close()  # what Django does at the end of a request that failed this way
        self.assertEqual(self._get("checksum", config, key=config.key).status_code, 403)
        self._checksum(config, key="c" * 32)


class TestChecksumInvalidationFromMemory(MemoryTestMixin, ChecksumInvalidationTests, TransactionTestCase):
    """The invalidation matrix of ``test_controller``, every "before" answered from memory."""


#: what another server does between two polls (its writes, as SQL on another connection)
OTHER_SERVER_WRITES = st.lists(
    st.one_of(
        st.tuples(st.just("config"), st.sampled_from(["UTC", "Europe/Rome", "Europe/Paris", "Asia/Tokyo"])),
        st.tuples(st.just("key"), st.sampled_from(["a" * 32, "b" * 32, "c" * 32])),
        st.tuples(st.just("name"), st.sampled_from(["ap-one", "ap-two", "ap-three"])),
        st.tuples(st.just("poll"), st.sampled_from(["checksum", "download_config"])),
    ),
    min_size=1,
    max_size=8,
)


class TestMemoryAgainstFreshReads(MemoryTestMixin, HypothesisTransactionTestCase):
    """
    Property: whatever another server writes between polls, every poll
    answers what a fresh read of the database gives (the key it accepts, the
    MD5 of a rendering of the stored row, that archive).
    """

    #: another server's write of each kind: SQL and what it bumps (an invalidation, like its save())
    WRITES = {
        "config": "UPDATE {table} SET config = %s, render_version = render_version + 1 WHERE id = %s",
        "key": "UPDATE {table} SET key = %s WHERE id = %s",
        "name": "UPDATE {table} SET name = %s, render_version = render_version + 1 WHERE id = %s",
    }

    def _value(self, kind, value):
        return json.dumps({"general": {"timezone": value}}) if kind == "config" else value

    def _assert_answer_is_fresh(self, config, endpoint):
        fresh = self.config_model.objects.get(pk=config.pk)
        response = self._get(endpoint, config, key=fresh.key)
        self.assertEqual(response.status_code, 200, response.content)
        expected = hashlib.md5(fresh.generate().getvalue()).hexdigest()
        if endpoint == "checksum":
            self.assertEqual(response.content.decode(), expected)
        else:
            self.assertEqual(hashlib.md5(response.content).hexdigest(), expected)
            self.assertEqual(response["Content-Disposition"], f"attachment; filename={fresh.name}.tar.gz")
        if fresh.key != config.key:
            self.assertEqual(self._get(endpoint, config, key=config.key).status_code, 403)

    @hypothesis_settings(max_examples=25, deadline=None, database=None)
    @given(steps=OTHER_SERVER_WRITES)
    def test_every_poll_matches_a_fresh_read(self, steps):
        config = self._create_config()
        self._checksum(config)  # remembered from here on
        for kind, value in steps:
            if kind == "poll":
                self._assert_answer_is_fresh(config, value)
            else:
                self._write_elsewhere(self.WRITES[kind], [self._value(kind, value), self._pk_param(config)])
                self._assert_answer_is_fresh(config, "checksum")
