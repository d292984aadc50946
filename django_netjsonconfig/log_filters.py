"""
Keeps device and VPN server keys out of access logs.

The device protocol sends the key in the query string (``?key=...``), so a
server's access log records it with every poll. ``RedactKeyFilter`` replaces
the value with ``[redacted]`` in a log record's message and arguments. The
app attaches it to the loggers of Django's development server
(``django.server``) and of gunicorn's access log (``gunicorn.access``) when
it starts; add it to any other logger that records URLs::

    LOGGING = {
        ...
        "filters": {"redact_keys": {"()": "django_netjsonconfig.log_filters.RedactKeyFilter"}},
        "handlers": {"console": {..., "filters": ["redact_keys"]}},
    }
"""

import logging
import re

#: ``key=<value>`` as a query parameter (after ``?`` or ``&``, or its URL-encoded forms)
KEY_PARAMETER = re.compile(r"((?:[?&;]|%3[fF]|%26)key=)[^&;\s\"']*")
REDACTED = r"\1[redacted]"
#: the loggers the app attaches the filter to when it starts
ACCESS_LOGGERS = ("django.server", "gunicorn.access")


def redact(value):
    """``value`` with every ``key=`` parameter's value replaced (non-strings are returned as they are)."""
    if isinstance(value, str) and "key=" in value:
        return KEY_PARAMETER.sub(REDACTED, value)
    return value


class RedactKeyFilter(logging.Filter):
    """Redacts ``key=`` query parameters in a record's message and arguments; never drops a record."""

    def filter(self, record):
        record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {name: redact(value) for name, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(redact(value) for value in record.args)
        return True


def attach_to_access_loggers():
    """Adds one ``RedactKeyFilter`` to each of ``ACCESS_LOGGERS`` (once, however often it is called)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactKeyFilter) for existing in logger.filters):
            logger.addFilter(RedactKeyFilter())
