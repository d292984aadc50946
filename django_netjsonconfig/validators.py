"""Validators for device keys and MAC addresses."""

import re

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

#: 0.5.6 pattern: no whitespace, slashes or dots. Keys are sent unencoded in
#: query strings by the agents, so manually entered keys are further limited to
#: URL-safe characters (letters, digits, "-" and "_").
key_validator = RegexValidator(
    re.compile(r"^[A-Za-z0-9_-]+\Z"),
    message=_("Key must not contain spaces, dots or slashes; use only letters, digits, hyphens and underscores."),
    code="invalid",
)

mac_address_validator = RegexValidator(
    re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})\Z"),
    message=_("Must be a valid MAC address."),
    code="invalid",
)

_MAC_SEPARATORS = re.compile(r"[-:.]")


def normalize_mac_address(value):
    """
    Returns ``value`` in upper-case colon form (``00:11:22:AA:BB:CC``), the
    format devices send; values that are not MAC addresses are returned as they
    are, so that the validator can report them.
    """
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    hex_digits = _MAC_SEPARATORS.sub("", stripped)
    if len(hex_digits) != 12 or not re.fullmatch(r"[0-9A-Fa-f]{12}", hex_digits):
        return stripped
    if not mac_address_validator.regex.match(stripped) and len(stripped) != 12:
        return stripped
    hex_digits = hex_digits.upper()
    return ":".join(hex_digits[i : i + 2] for i in range(0, 12, 2))
