"""
Settings of the benchmarks: the demo's production settings served over plain
HTTP on 127.0.0.1, with the database and cache chosen by environment variables
that ``bench/common.py`` sets:

* ``BENCH_DB``: ``sqlite`` (file ``BENCH_SQLITE_PATH``, LocMem cache) or
  ``postgres`` (database ``BENCH_PG_DB``, Redis cache ``BENCH_REDIS_URL``);
* ``BENCH_CONN_MAX_AGE``: ``CONN_MAX_AGE`` of the database (seconds, or ``none``
  for connections kept open, the default, as in the demo's production settings);
* ``BENCH_CACHE_SIZE``: ``NETJSONCONFIG_CONTROLLER_CACHE_SIZE`` (unset: the default);
* ``BENCH_LAST_SEEN_INTERVAL``: ``NETJSONCONFIG_LAST_SEEN_INTERVAL`` (unset: the
  default, 600 seconds; ``0`` writes "last seen" on every request, the worst case).
"""

import os

from tests.production_settings import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "bench.urls"
NETJSONCONFIG_SHARED_SECRET = os.environ.get("BENCH_SHARED_SECRET", "bench-shared-secret")
if os.environ.get("BENCH_TASKS") == "database":
    # template checks beyond the budget are queued for django-tasks' database worker
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
if os.environ.get("BENCH_CACHE_SIZE"):
    NETJSONCONFIG_CONTROLLER_CACHE_SIZE = int(os.environ["BENCH_CACHE_SIZE"])
if os.environ.get("BENCH_LAST_SEEN_INTERVAL"):
    NETJSONCONFIG_LAST_SEEN_INTERVAL = int(os.environ["BENCH_LAST_SEEN_INTERVAL"])

# plain HTTP on the loopback: no TLS redirect, no HSTS, no secure-only cookies
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SECURE_HSTS_PRELOAD = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# persistent database connections (Django's default, 0, opens one per request)
_conn_max_age = os.environ.get("BENCH_CONN_MAX_AGE", "none")
CONN_MAX_AGE = None if _conn_max_age.lower() == "none" else int(_conn_max_age)

if os.environ.get("BENCH_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["BENCH_PG_DB"],
            "USER": os.environ.get("POSTGRES_USER", "postgres"),
            "PASSWORD": os.environ.get("POSTGRES_PASSWORD", ""),
            "HOST": "127.0.0.1",
            "PORT": os.environ.get("POSTGRES_PORT", "5432"),
            "CONN_MAX_AGE": CONN_MAX_AGE,
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("BENCH_SQLITE_PATH", "/tmp/django-netjsonconfig-bench.sqlite3"),
            "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
            "CONN_MAX_AGE": CONN_MAX_AGE,
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# quiet: no request or application logging on the hot path
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}, "console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_netjsonconfig": {"handlers": ["null"], "propagate": False},
        "django.request": {"handlers": ["null"], "propagate": False},
        "django.security": {"handlers": ["null"], "propagate": False},
        "django": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
