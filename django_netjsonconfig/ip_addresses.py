"""IP addresses reported by devices or seen on their requests, normalised as stored."""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.ipv6 import clean_ipv6_address

#: longest textual IP address (IPv4-mapped IPv6); longer values are not parsed
_MAX_IP_LENGTH = 45


def normalize_ip(value) -> str | None:
    """
    ``value`` as stored by a ``GenericIPAddressField`` (IPv6 compressed), or
    ``None`` when it is not a plain IPv4/IPv6 address (zone ids are refused).
    """
    if not isinstance(value, str) or not value or len(value) > _MAX_IP_LENGTH or "%" in value:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.version == 6:
        try:
            return clean_ipv6_address(value)
        except ValidationError:
            return None
    return str(address)


def get_client_ip(request: HttpRequest) -> str | None:
    """The client address (``REMOTE_ADDR`` as is, normalised), ``None`` if it is not an IP address."""
    return normalize_ip(request.META.get("REMOTE_ADDR"))
