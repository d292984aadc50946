"""
Diffie-Hellman parameters for OpenVPN servers.

New VPN servers get the RFC 7919 finite-field group (``ffdhe2048``,
``ffdhe3072`` or ``ffdhe4096``, by ``NETJSONCONFIG_DH_KEY_LENGTH``): these
published safe-prime groups are what current TLS stacks negotiate, and using
one means no request ever waits for parameter generation. Operators who want
parameters of their own generate them outside the request cycle with
``manage.py netjsonconfig_dhparam`` (which uses ``generate_dh_parameters``).
"""

import base64
import binascii
import warnings

from django_netjsonconfig import settings as app_settings

PEM_HEADER = "-----BEGIN DH PARAMETERS-----"
PEM_FOOTER = "-----END DH PARAMETERS-----"
#: smallest size ``cryptography`` accepts (only sensible for tests)
MIN_KEY_SIZE = 512

RFC7919_GROUPS = {
    2048: """\
-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
""",
    3072: """\
-----BEGIN DH PARAMETERS-----
MIIBiAKCAYEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEfz9zeNVs7ZRkDW7w09N75nAI4YbRvydbmyQd62R0mkff3
7lmMsPrBhtkcrv4TCYUTknC0EwyTvEN5RPT9RFLi103TZPLiHnH1S/9croKrnJ32
nuhtK8UiNjoNq8Uhl5sN6todv5pC1cRITgq80Gv6U93vPBsg7j/VnXwl5B0rZsYu
N///////////AgEC
-----END DH PARAMETERS-----
""",
    4096: """\
-----BEGIN DH PARAMETERS-----
MIICCAKCAgEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEfz9zeNVs7ZRkDW7w09N75nAI4YbRvydbmyQd62R0mkff3
7lmMsPrBhtkcrv4TCYUTknC0EwyTvEN5RPT9RFLi103TZPLiHnH1S/9croKrnJ32
nuhtK8UiNjoNq8Uhl5sN6todv5pC1cRITgq80Gv6U93vPBsg7j/VnXwl5B0rZp4e
8W5vUsMWTfT7eTDp5OWIV7asfV9C1p9tGHdjzx1VA0AEh/VbpX4xzHpxNciG77Qx
iu1qHgEtnmgyqQdgCpGBMMRtx3j5ca0AOAkpmaMzy4t6Gh25PXFAADwqTs6p+Y0K
zAqCkc3OyX3Pjsm1Wn+IpGtNtahR9EGC4caKAH5eZV9q//////////8CAQI=
-----END DH PARAMETERS-----
""",
}


def default_dh_parameters():
    """The RFC 7919 group matching NETJSONCONFIG_DH_KEY_LENGTH (PEM text)."""
    length = int(app_settings.DH_KEY_LENGTH)
    for size in sorted(RFC7919_GROUPS):
        if length <= size:
            return RFC7919_GROUPS[size]
    return RFC7919_GROUPS[max(RFC7919_GROUPS)]


def generate_dh_parameters(length=2048):
    """
    Generates fresh DH parameters (PEM text) with ``cryptography``. Takes
    seconds (2048 bits) to many minutes (4096 bits): never call it while a
    request waits.
    """
    length = int(length)
    if length < MIN_KEY_SIZE:
        raise ValueError(f"DH parameters must be at least {MIN_KEY_SIZE} bits long")
    # recent cryptography releases flag finite-field DH as deprecated (the
    # import itself warns); OpenVPN servers still need these parameters
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Diffie-Hellman", category=UserWarning)
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import dh

        parameters = dh.generate_parameters(generator=2, key_size=length)
        pem = parameters.parameter_bytes(serialization.Encoding.PEM, serialization.ParameterFormat.PKCS3)
    return pem.decode()


def is_dh_pem(text):
    """
    Whether ``text`` looks like PEM-encoded DH parameters (markers around
    valid base64); a cheap check that catches pasting mistakes.
    """
    text = (text or "").strip()
    if not (text.startswith(PEM_HEADER) and text.endswith(PEM_FOOTER)):
        return False
    body = "".join(text[len(PEM_HEADER) : -len(PEM_FOOTER)].split())
    try:
        return bool(base64.b64decode(body, validate=True))
    except (binascii.Error, ValueError):
        return False
