"""
Writes of the columns devices own (``last_ip`` and the reported
information): one ``UPDATE`` of the changed columns, never ``save()``.
"""

from __future__ import annotations

from django.http import HttpRequest

from django_netjsonconfig.ip_addresses import get_client_ip


def update_device_fields(config, **fields) -> list[str]:
    """
    Writes the device-reported ``fields`` that differ from the values of
    ``config`` with one ``UPDATE`` of those columns only (no ``save()``: the
    operator's concurrent edits of other columns are never overwritten and
    ``modified`` does not change). ``None`` values are skipped. Returns the
    names of the columns written.
    """
    changes = {name: value for name, value in fields.items() if value is not None and getattr(config, name) != value}
    if changes:
        type(config)._default_manager.filter(pk=config.pk).update(**changes)
        for name, value in changes.items():
            setattr(config, name, value)
    return list(changes)


def update_last_ip(config, request: HttpRequest, **fields) -> list[str]:
    """
    Stores the client address as ``last_ip`` (and the other device-reported
    ``fields`` given) when it changed; see ``update_device_fields``.
    """
    remote_addr = request.META.get("REMOTE_ADDR")
    if remote_addr and remote_addr == config.last_ip:
        # the common case, an unchanged address, needs no parsing; nothing
        # else reported (a poll without management_ip) needs no comparison
        if all(value is None for value in fields.values()):
            return []
        last_ip = remote_addr
    else:
        last_ip = get_client_ip(request)
    return update_device_fields(config, last_ip=last_ip, **fields)
