"""
What a database connection remembers of the config rows device polls read.

Every device asks for its checksum every two minutes and the answer almost
never changes: a query per poll mostly learns that nothing happened. So each
database connection of a server process keeps the rows the controller's
lookups read (``CompiledLookup``), and learns of every change to the table
without asking the database:

PostgreSQL
    Triggers on the config table (installed by ``migrate``, see
    ``install_triggers()``) send ``NOTIFY`` with the primary keys of the rows
    each ``UPDATE`` or ``DELETE`` statement touched (``*`` for more than
    ``MAX_NOTIFIED_ROWS`` rows or a ``TRUNCATE``). The connection ``LISTEN``\\ s
    and, before answering from memory, reads what has arrived on its socket:
    a non-blocking read, no round trip. A change committed on the same
    connection is known at once (PostgreSQL delivers a session's own
    notifications with its ``COMMIT``); one committed by another connection
    or server as soon as PostgreSQL delivers the notification, normally well
    within a millisecond.
SQLite
    ``PRAGMA data_version`` (it changes when another connection commits) and
    the connection's own change counter; any change forgets every row.

Callers go through one call, ``Memory.read(pk, key, fetch)``: the values
remembered for ``pk`` under ``key`` (one per compiled lookup), else what
``fetch()`` reads from the database, remembered when that is safe.

The rules that keep this exact:

* rows are remembered and used only while the connection is outside a
  transaction (a transaction's own uncommitted writes are not announced yet);
* a row read while a change was being announced is not remembered:
  ``read()`` notes ``Memory.generation`` before calling ``fetch()``, every
  announcement bumps it, and a row read under an older generation is
  returned but not kept;
* misses are never remembered: a primary key without a row reads the
  database every time, which is why inserts need no trigger (a new row
  cannot make a remembered answer wrong);
* the memory belongs to one connection session: a reconnection starts empty
  (announcements may have been missed in between), as does a connection
  whose socket fails;
* on PostgreSQL a connection that has not run a query for ``MAX_SILENCE``
  seconds reads the database again (a query proves the session alive and
  delivers every notification sent before it): a connection that died
  without a sign could miss changes for at most that long;
* on PostgreSQL the memory is used only when the triggers are in place
  (checked once per process and table; a warning asks to run ``migrate``),
  with persistent connections (``CONN_MAX_AGE`` other than 0) and psycopg 3.
  A transaction-mode pooler such as PgBouncer does not relay ``LISTEN``:
  behind one, set ``NETJSONCONFIG_CONTROLLER_CACHE_SIZE = 0``.

Each connection (one per thread) keeps at most
``NETJSONCONFIG_CONTROLLER_CACHE_SIZE`` configs, forgetting the oldest first;
a row larger than ``MAX_ROW_SIZE`` (a big archive) is never kept.
"""

import logging
import time
from collections import OrderedDict

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections, router, transaction
from django.db.backends.utils import truncate_name

from . import settings as app_settings

logger = logging.getLogger(__name__)

#: a statement changing more rows than this makes every connection forget everything
MAX_NOTIFIED_ROWS = 100
#: rows whose text and binary values add up to more bytes than this are not kept
MAX_ROW_SIZE = 64 * 1024
#: PostgreSQL: seconds the memory is trusted without a query on its
#: connection (a query proves the session alive and delivers every
#: notification sent before it); bounds what a silently dead connection
#: could miss
MAX_SILENCE = 1.0

#: (database name, table) -> whether the notification triggers are in place
_triggers_checked = {}


class Memory:
    """The rows of one table that one database connection remembers."""

    def __init__(self, model):
        self.pk_field = model._meta.pk
        #: primary key -> {key: column values}; insertion order is age
        self.rows = OrderedDict()
        #: bumped by every change announced; see ``read()``
        self.generation = 0
        self.size = 0
        #: reads answered from memory and from the database, since the memory started
        self.hits = self.misses = 0

    def read(self, pk, key, fetch):
        """
        The values remembered for ``pk`` under ``key``; otherwise the result
        of ``fetch()`` (a tuple of column values read from the database, or
        ``None`` when there is no such row), remembered unless a change was
        announced while it was read or the row is too large. ``None`` is
        returned as is and never remembered.
        """
        values = self._recall(pk, key)
        if values is not None:
            self.hits += 1
            return values
        self.misses += 1
        # taken before the read: a change announced during it must be seen
        generation, started = self.generation, time.monotonic()
        values = fetch()
        if values is not None:
            self._remember(pk, key, values, generation, started)
        return values

    def _recall(self, pk, key):
        entry = self.rows.get(pk)
        return None if entry is None else entry.get(key)

    def _remember(self, pk, key, values, generation, started):
        if generation != self.generation or _size_of(values) > MAX_ROW_SIZE:
            return
        entry = self.rows.get(pk)
        if entry is None:
            while self.rows and len(self.rows) >= self.size:
                self.rows.popitem(last=False)  # the oldest first (O(1), unlike a dict's)
            entry = self.rows[pk] = {}
        entry[key] = values

    def forget(self, pks=None):
        """Forgets the rows of ``pks`` (every row when ``None``)."""
        self.generation += 1
        if pks is None:
            self.rows.clear()
            return
        for pk in pks:
            self.rows.pop(pk, None)

    def sync(self, raw):
        """
        Takes in the changes announced since the last call; ``False`` when the
        memory cannot be used now (inside a transaction).
        """
        raise NotImplementedError


class SQLiteMemory(Memory):
    def __init__(self, model, raw):
        super().__init__(model)
        self.version = None
        self.cursor = raw.cursor()

    def sync(self, raw):
        if raw.in_transaction:
            return False
        # data_version: commits by other connections; total_changes: our own writes
        self.cursor.execute("PRAGMA data_version")
        version = (self.cursor.fetchone()[0], raw.total_changes)
        if version != self.version:
            self.version = version
            self.forget()
        return True


class PostgresMemory(Memory):
    def __init__(self, model):
        super().__init__(model)
        self.channel = channel_name(model._meta.db_table)
        #: when the last lookup query on the connection started
        self.confirmed = float("-inf")

    def _recall(self, pk, key):
        if time.monotonic() - self.confirmed > MAX_SILENCE:
            return None  # time to hear from the database again
        return super()._recall(pk, key)

    def _remember(self, pk, key, values, generation, started):
        # the query that read the row proved the session alive and delivered
        # every notification sent before it started
        self.confirmed = max(self.confirmed, started)
        super()._remember(pk, key, values, generation, started)

    def listen(self, raw):
        from psycopg import sql

        raw.add_notify_handler(self.notified)
        raw.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))

    def notified(self, notify):
        # called by psycopg for every notification the connection receives,
        # while it runs any statement or in sync(): it must never raise, an
        # error there would break the connection
        if notify.channel != self.channel:
            return
        pks = None
        if notify.payload != "*":
            try:
                pks = [self.pk_field.to_python(value) for value in notify.payload.split(",")]
            except (ValidationError, ValueError, TypeError):
                pks = None  # not ours to understand: forget everything
        self.forget(pks)

    def sync(self, raw):
        from psycopg.pq import TransactionStatus

        pgconn = raw.pgconn
        if pgconn.transaction_status != TransactionStatus.IDLE:
            return False
        # what has arrived on the socket, without waiting; twice, because a
        # closed session's last message and its end arrive together and the
        # first call only reads the message
        pgconn.consume_input()
        pgconn.consume_input()
        notify = pgconn.notifies()
        while notify is not None:
            pgconn.notify_handler(notify)
            notify = pgconn.notifies()
        return True


def _size_of(values):
    return sum(len(value) for value in values if isinstance(value, str | bytes | memoryview))


def channel_name(table):
    """The ``NOTIFY`` channel announcing the changes of ``table``."""
    return truncate_name(f"djnjc_{table}", 63)


def open_memory(connection, model):
    """
    The memory of ``connection`` for the rows of ``model``, brought up to
    date, or ``None`` when it cannot be used for this lookup (turned off, a
    transaction in progress, a database or setup it cannot follow).
    """
    size = app_settings.CONTROLLER_CACHE_SIZE
    if not size or connection.in_atomic_block:
        return None
    raw = connection.connection
    if raw is None:
        connection.ensure_connection()
        raw = connection.connection
    holder = connection.__dict__.get("_djnjc_memories")
    if holder is None or holder[0] is not raw:
        # a new session: whatever was remembered may have been missed since
        holder = connection._djnjc_memories = (raw, {})
    memories = holder[1]
    table = model._meta.db_table
    try:
        memory = memories[table]
    except KeyError:
        memory = _bind(connection, raw, model)
        if memory is NOT_NOW:
            return None
        memories[table] = memory  # None: not for the life of this session
    if memory is None:
        return None
    try:
        if not memory.sync(raw):
            return None
    except Exception:
        # a broken connection: never trust this session's memory again
        logger.warning("device poll memory of %s disabled: its connection failed", table, exc_info=True)
        memories[table] = None
        return None
    memory.size = size
    return memory


#: ``_bind()``'s answer when a memory cannot start now (a transaction is open)
NOT_NOW = object()


def _bind(connection, raw, model):
    """
    A new memory listening on ``raw``; ``None`` when this database, driver or
    setup cannot use one (the session keeps that answer); ``NOT_NOW`` when it
    cannot start now (asked again on the next lookup).
    """
    if connection.vendor == "sqlite":
        return SQLiteMemory(model, raw)
    if connection.vendor != "postgresql":
        return None
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3 or connection.settings_dict.get("CONN_MAX_AGE") == 0:
        return None  # psycopg2, or a new connection per request: nothing to gain
    from psycopg.pq import TransactionStatus

    if not raw.autocommit or raw.pgconn.transaction_status != TransactionStatus.IDLE:
        return NOT_NOW
    if not _triggers_installed(connection, raw, model):
        return None
    memory = PostgresMemory(model)
    memory.listen(raw)
    return memory


def _trigger_names(connection, table):
    max_length = connection.ops.max_name_length()
    return [truncate_name(f"{table}_djnjc_{event}", max_length) for event in ("update", "delete", "truncate")]


def _triggers_installed(connection, raw, model):
    table = model._meta.db_table
    key = (connection.settings_dict["NAME"], table)
    if key not in _triggers_checked:
        names = _trigger_names(connection, table)
        cursor = raw.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND tgname = ANY(%s) AND tgenabled <> 'D'",
            [connection.ops.quote_name(table), names],
        )
        installed = _triggers_checked[key] = cursor.fetchone()[0] == len(names)
        if not installed:
            logger.warning(
                "device polls of %s read the database every time: its change notification triggers are "
                "missing; run 'manage.py migrate' (which installs them) and restart",
                table,
            )
    return _triggers_checked[key]


def install_triggers(model, using):
    """
    Installs (or replaces) the PostgreSQL triggers announcing the changes of
    ``model``'s table; does nothing on other databases or when the table does
    not exist (yet). Called after every ``migrate``.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or not router.allow_migrate_model(using, model):
        return
    table = model._meta.db_table
    if table not in connection.introspection.table_names():
        return
    quote = connection.ops.quote_name
    max_length = connection.ops.max_name_length()
    rows_function = quote(truncate_name(f"{table}_djnjc_rows", max_length))
    all_function = quote(truncate_name(f"{table}_djnjc_all", max_length))
    channel = channel_name(table).replace("'", "''")
    update, delete, truncate = (quote(name) for name in _trigger_names(connection, table))
    statements = [
        f"""
        CREATE OR REPLACE FUNCTION {rows_function}() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE changed text;
        BEGIN
            SELECT CASE WHEN count(*) > {MAX_NOTIFIED_ROWS} THEN '*'
                        ELSE string_agg({quote(model._meta.pk.column)}::text, ',') END
              INTO changed FROM old_rows;
            IF changed IS NOT NULL THEN
                PERFORM pg_notify('{channel}', changed);
            END IF;
            RETURN NULL;
        END $$
        """,
        f"""
        CREATE OR REPLACE FUNCTION {all_function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{channel}', '*');
            RETURN NULL;
        END $$
        """,
        f"CREATE OR REPLACE TRIGGER {update} AFTER UPDATE ON {quote(table)} "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {rows_function}()",
        f"CREATE OR REPLACE TRIGGER {delete} AFTER DELETE ON {quote(table)} "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {rows_function}()",
        f"CREATE OR REPLACE TRIGGER {truncate} AFTER TRUNCATE ON {quote(table)} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {all_function}()",
    ]
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    except DatabaseError as error:
        # e.g. a database role without the right to create triggers: polls
        # then read the database every time (and say so), migrate goes on
        logger.warning("could not install the change notification triggers of %s: %s", table, error)
    _triggers_checked.pop((connection.settings_dict["NAME"], table), None)


def session_memories(connection):
    """
    ``{table: memory}`` of ``connection``'s current session (empty when none
    started; a table whose memory cannot be used maps to ``None``).
    """
    holder = connection.__dict__.get("_djnjc_memories")
    if holder is None or connection.connection is None or holder[0] is not connection.connection:
        return {}
    return holder[1]


def write_elsewhere(connection, model, write):
    """
    Runs ``write()``, a statement on ``connection`` that changes no row of
    ``model``'s table (e.g. a device's "last seen" time in a table of its
    own), without making the connection forget the rows of ``model`` it
    remembers. PostgreSQL announces only changes to the table itself; on
    SQLite the connection's own change counter moves with any write, so the
    memory is told about this one. Returns what ``write()`` returns.
    """
    raw = connection.connection
    memory = None
    if not connection.in_atomic_block:
        memory = session_memories(connection).get(model._meta.db_table)
    if not isinstance(memory, SQLiteMemory) or memory.version is None:
        return write()
    before = raw.total_changes
    result = write()
    if memory.version[1] == before and not raw.in_transaction:
        # nothing else written by this connection since the memory's last
        # look: it is as up to date as before (a commit by another
        # connection still changes data_version and is noticed)
        memory.version = (memory.version[0], raw.total_changes)
    return result
