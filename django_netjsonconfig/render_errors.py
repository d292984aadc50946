"""
Why a configuration cannot be rendered, as one short line: what
``render_error`` stores, what the admin shows, what the logs record and
what ``netjsonconfig_validate`` prints. A schema error of netjsonconfig
would otherwise be tens of kilobytes (its text carries the whole schema).
"""

import logging

from django.core.exceptions import ValidationError
from netjsonconfig.exceptions import NetJsonConfigException

from django_netjsonconfig.schema_errors import schema_error_message

#: the longest reason stored in ``render_error`` or logged
MAX_LENGTH = 300


def describe_render_error(error):
    """One line of at most ``MAX_LENGTH`` characters saying why a configuration cannot be rendered."""
    if isinstance(error, ValidationError):
        text = " ".join(str(message) for message in error.messages)
    elif isinstance(error, NetJsonConfigException):
        text = schema_error_message(error)
    else:
        text = f"{type(error).__name__}: {error}"
    text = " ".join(text.split())
    if len(text) > MAX_LENGTH:
        text = text[: MAX_LENGTH - 1] + "\u2026"
    return text


def is_invalid_input(error):
    """Whether ``error`` says the configuration is invalid (not a bug: no traceback is worth logging)."""
    return isinstance(error, (ValidationError, NetJsonConfigException))


def log_render_error(logger, text, *args, error, level=logging.ERROR):
    """
    Logs that a rendering failed, at ``level``: one line ending with the
    reason when the configuration is invalid; an unexpected exception (a
    bug, not a configuration to fix) with its traceback.
    """
    exc_info = None if is_invalid_input(error) else error
    logger.log(level, f"{text}: %s", *args, describe_render_error(error), exc_info=exc_info)
