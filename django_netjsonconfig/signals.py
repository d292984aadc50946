"""
Signals for integrators (names and arguments as django-netjsonconfig 0.12
documented them). Each is sent once the transaction that caused it commits
(``transaction.on_commit``), never for a change that rolls back; ``sender``
is the concrete configuration model. See ``docs/signals.rst``.
"""

from django.db import transaction
from django.dispatch import Signal

#: a device asked for its checksum (every poll): ``instance``, ``request``
checksum_requested = Signal()
#: a device downloaded its configuration: ``instance``, ``request``
config_download_requested = Signal()
#: the ``status`` of a configuration changed: ``instance``
config_status_changed = Signal()
#: the rendered configuration changed: ``instance``, ``device``, ``config`` (both the instance)
config_modified = Signal()
#: a device registered: ``instance``, ``is_new``
device_registered = Signal()


def send_on_commit(signal, sender, using=None, **kwargs):
    """Sends ``signal`` when the current transaction commits (at once outside one), if it has receivers."""
    if not signal.has_listeners(sender):
        return
    transaction.on_commit(lambda: signal.send(sender=sender, **kwargs), using=using)
