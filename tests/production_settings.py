"""
Production-style settings for the demo project (``check --deploy`` clean).

Secrets come from the environment; the defaults here only exist so that CI
can run ``check --deploy`` without a real deployment.
"""

import os

from .settings import *  # noqa: F403

DEBUG = False
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "ci-only-" + "k9Fz2Lq8Xr4Wt7Yp3Hn6Bv1Mc5Jd0Gs" * 2)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")
NETJSONCONFIG_SHARED_SECRET = os.environ.get("NETJSONCONFIG_SHARED_SECRET", "ci-only-shared-secret-change-me")

# devices poll every two minutes: keep database connections open (without it
# each poll pays a new PostgreSQL connection). None keeps them for the life of
# the worker, and with them what each connection remembers of the configs
# devices poll (a connection recycled every minute would forget it before the
# devices poll again); health checks replace a connection that broke.
DATABASES["default"]["CONN_MAX_AGE"] = None  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # readers and a writer at the same time, and cheaper change checks
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL;"  # noqa: F405

SECURE_SSL_REDIRECT = os.environ.get("DJANGO_SSL_REDIRECT", "1") == "1"
# devices poll over plain HTTP/1.1 behind the TLS-terminating proxy
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
