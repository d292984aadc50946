"""
Fleet-wide views of the configs: when each device was last seen, whether it
has the configuration currently served ("sync state") and which
certificates are about to expire.

Sync states, computed in SQL from the device-owned checksums
(``downloaded_checksum``, ``applied_checksum``) and the stored rendering:

``never``
    the device never made a request (no "last seen" time) and never
    downloaded a configuration through the controller;
``in_sync``
    it downloaded and reported running (applied) the archive currently
    served;
``downloaded``
    it downloaded the archive currently served but has not reported
    applying it;
``behind``
    the archive currently served is not the one it last downloaded; it is
    behind since ``behind_since`` (set when the served archive stopped being
    the downloaded one, in the same guarded UPDATE that stores a rendering).
    A config whose stored rendering was invalidated by a change and not
    rendered again yet counts as behind too (its status is ``modified``);
    if its output turns out unchanged, the next rendering puts it back.
"""

import datetime
import time
from collections import OrderedDict

from django.db import connections, router
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.base.config import AbstractDeviceState
from django_netjsonconfig.memory import write_elsewhere

SYNC_STATES = (
    ("in_sync", _("in sync")),
    ("downloaded", _("downloaded, not applied")),
    ("behind", _("behind")),
    ("never", _("never contacted")),
)
SYNC_STATE_LABELS = dict(SYNC_STATES)


def _seen_lookup(config_model):
    """The lookup of ``last_seen`` from ``config_model`` (``None`` without a device-state model)."""
    state_model = device_state_model(config_model) if config_model is not None else None
    if state_model is None:
        return None
    return f"{state_model._meta.get_field('config').related_query_name()}__last_seen"


def sync_state_q(state, config_model=None):
    """
    The ``Q`` selecting the configs in ``state`` (one of ``SYNC_STATES``).
    With ``config_model``, a device that made requests (it has a "last seen"
    time) but never downloaded counts as behind rather than never contacted.
    """
    never = Q(downloaded_checksum="")
    seen = _seen_lookup(config_model)
    if seen is not None:
        never &= Q(**{f"{seen}__isnull": True})
    pending = Q(rendered_version__isnull=True) | ~Q(rendered_version=F("render_version"))
    applied = Q(applied_checksum=F("rendered_checksum"))
    downloaded = ~Q(downloaded_checksum="") & Q(downloaded_checksum=F("rendered_checksum"))
    if state == "never":
        return never
    if state == "in_sync":
        return ~never & ~pending & applied & downloaded
    if state == "downloaded":
        return ~never & ~pending & ~applied & downloaded
    if state == "behind":
        return ~never & (pending | ~downloaded)
    raise ValueError(f"unknown sync state {state!r}")


def sync_state_of(config, last_seen=None):
    """The sync state of a loaded ``config`` (the Python twin of ``sync_state_q()``)."""
    if not config.downloaded_checksum:
        return "behind" if last_seen is not None else "never"
    if config.rendered_version is None or config.rendered_version != config.render_version:
        return "behind"
    if config.downloaded_checksum != config.rendered_checksum:
        return "behind"
    if config.applied_checksum == config.rendered_checksum:
        return "in_sync"
    return "downloaded"


def count_sync_states(queryset):
    """``{state: number of configs}`` for ``queryset``, in one query."""
    model = queryset.model
    counts = queryset.aggregate(
        **{state: Count("pk", filter=sync_state_q(state, model)) for state, _label in SYNC_STATES}
    )
    return {state: counts[state] or 0 for state, _label in SYNC_STATES}


# last seen -------------------------------------------------------------------

#: (database, state model) -> {config pk: time.monotonic() of this process's
#: last write (or check)}, least recently written first; each holds at most
#: ``seen_memo_limit()`` devices
_seen = {}
#: the fewest devices a process remembers writing "last seen" for (more when
#: ``NETJSONCONFIG_CONTROLLER_CACHE_SIZE`` is larger): beyond it, the device
#: written longest ago costs one more statement at its next request
SEEN_MEMO_LIMIT = 100_000
_state_models = {}


def device_state_model(config_model):
    """The model holding ``last_seen`` for ``config_model`` (``None`` when the app has none)."""
    try:
        return _state_models[config_model]
    except KeyError:
        pass
    found = None
    for relation in config_model._meta.related_objects:
        if relation.one_to_one and issubclass(relation.related_model, AbstractDeviceState):
            found = relation.related_model
            break
    _state_models[config_model] = found
    return found


def seen_memo_limit():
    """How many devices a process remembers per database: as many as a connection memory holds, at least."""
    return max(SEEN_MEMO_LIMIT, app_settings.CONTROLLER_CACHE_SIZE)


def forget_seen():
    """Forgets which devices this process recorded recently (the next request of each writes)."""
    _seen.clear()


def record_seen(config):
    """
    Records that the device of ``config`` made a request now, at most once
    per ``NETJSONCONFIG_LAST_SEEN_INTERVAL`` seconds: within the interval
    this process does nothing (no query); beyond it, one statement that
    writes only if the stored time is older than the interval, so several
    server processes still write at most once per interval. The time lives
    in the device-state table: the config rows the controller remembers
    between polls are not touched. Returns whether a statement was sent.
    """
    config_model = type(config)
    state_model = device_state_model(config_model)
    if state_model is None:
        return False
    interval = app_settings.LAST_SEEN_INTERVAL
    # every poll asks: without database routers the answer is the config's database
    database = router.db_for_write(state_model, instance=config) if router.routers else config._state.db or "default"
    memo = _seen.get((database, state_model))
    if memo is None:
        memo = _seen.setdefault((database, state_model), OrderedDict())
    now = time.monotonic()
    last = memo.get(config.pk)
    if last is not None and now - last < interval:
        return False
    # shared by the threads of a process: each step is one atomic operation,
    # and none fails when another thread has just removed the same device
    memo.pop(config.pk, None)
    memo[config.pk] = now  # last: written most recently
    while len(memo) > seen_memo_limit():
        try:
            memo.popitem(last=False)  # written longest ago
        except KeyError:  # emptied by another thread meanwhile
            break
    connection = connections[database]
    seen_at = timezone.now()
    threshold = seen_at - datetime.timedelta(seconds=interval)
    write_elsewhere(
        connection, config_model, lambda: _store_seen(connection, state_model, config.pk, seen_at, threshold)
    )
    return True


def _store_seen(connection, state_model, pk, seen_at, threshold):
    opts = state_model._meta
    field = opts.get_field("last_seen")
    if connection.vendor not in ("postgresql", "sqlite"):
        manager = state_model._default_manager.using(connection.alias)
        stale = Q(last_seen__isnull=True) | Q(last_seen__lte=threshold)
        if not manager.filter(stale, pk=pk).update(last_seen=seen_at):
            manager.bulk_create([state_model(pk=pk, last_seen=seen_at)], ignore_conflicts=True)
        return
    quote = connection.ops.quote_name
    table, pk_column, column = quote(opts.db_table), quote(opts.pk.column), quote(field.column)
    sql = (
        f"INSERT INTO {table} ({pk_column}, {column}) VALUES (%s, %s) "
        f"ON CONFLICT ({pk_column}) DO UPDATE SET {column} = excluded.{column} "
        f"WHERE {table}.{column} IS NULL OR {table}.{column} <= %s"
    )
    params = [
        opts.pk.get_db_prep_value(pk, connection),
        field.get_db_prep_value(seen_at, connection),
        field.get_db_prep_value(threshold, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# certificate expiry ----------------------------------------------------------


def expiry_limit(now=None, days=None):
    """Certificates whose ``validity_end`` is before this expire soon (``days``: the window)."""
    now = now or timezone.now()
    days = app_settings.EXPIRY_WARNING_DAYS if days is None else days
    return now + datetime.timedelta(days=days)


def expires_soon(validity_end, now=None):
    """Whether ``validity_end`` (``None``: unknown) falls within the warning window (or is past)."""
    return validity_end is not None and validity_end <= expiry_limit(now)


def expiring_certificates(vpn_model, vpnclient_model, now=None, days=None):
    """
    What expires within the warning window (or has expired): the CAs and
    certificates of the VPN servers of ``vpn_model`` and the client
    certificates of ``vpnclient_model`` that are not revoked, as
    ``(kind, name, validity_end, used by)`` tuples sorted by date. A fixed
    number of queries.
    """
    limit = expiry_limit(now, days)
    found = []
    servers = vpn_model._default_manager.select_related("ca", "cert")
    for vpn in servers.filter(Q(ca__validity_end__lte=limit) | Q(cert__validity_end__lte=limit)):
        if vpn.ca.validity_end <= limit:
            found.append(("CA", vpn.ca.name, vpn.ca.validity_end, vpn.name))
        if vpn.cert.validity_end <= limit and not vpn.cert.revoked:
            found.append(("VPN server certificate", vpn.cert.name, vpn.cert.validity_end, vpn.name))
    clients = vpnclient_model._default_manager.filter(cert__validity_end__lte=limit, cert__revoked=False)
    for client in clients.select_related("cert", "config", "vpn"):
        found.append(("client certificate", client.cert.name, client.cert.validity_end, client.config.name))
    unique = {}
    for item in found:
        unique.setdefault((item[0], item[1], item[3]), item)
    return sorted(unique.values(), key=lambda item: (item[2], item[0], item[1], item[3]))
