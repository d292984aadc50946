"""Settings of the test and demo project."""

import os
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-test-key-change-me-" + "x" * 32)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "*").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_netjsonconfig",
    "django_x509",
    "sortedm2m",
    "reversion",
    # django-tasks' database backend: the background worker of the tests
    # (test_template_background) and of bench/ (DJNJC_TASKS=database)
    "django_tasks_db",
    "django.contrib.admin",
]
if os.environ.get("DJNJC_TASKS") == "database":
    # template checks beyond the budget run in ``manage.py db_worker``
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
if os.environ.get("SAMPLE_APP"):
    INSTALLED_APPS.remove("django_netjsonconfig")
    INSTALLED_APPS.insert(INSTALLED_APPS.index("django_x509"), "tests.sample_app.apps.MyOwnConfig")
    INSTALLED_APPS.insert(INSTALLED_APPS.index("django_x509"), "django_netjsonconfig.commands")
    # README "Extending the admin": the admin templates of the package
    import django_netjsonconfig

    EXTENDING_TEMPLATE_DIRS = [django_netjsonconfig.TEMPLATES_DIR]
    STATICFILES_DIRS = [django_netjsonconfig.STATIC_DIR]
else:
    EXTENDING_TEMPLATE_DIRS = []

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": EXTENDING_TEMPLATE_DIRS,
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _database():
    """SQLite by default; PostgreSQL when DATABASE_ENGINE=postgres (or a DATABASE_URL is set)."""
    if os.environ.get("DATABASE_ENGINE") == "postgres" or os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("POSTGRES_DB", "django_netjsonconfig"),
            "USER": os.environ.get("POSTGRES_USER", "postgres"),
            "PASSWORD": os.environ.get("POSTGRES_PASSWORD", ""),
            "HOST": os.environ.get("POSTGRES_HOST", "127.0.0.1"),
            "PORT": os.environ.get("POSTGRES_PORT", "5432"),
            "TEST": {"NAME": os.environ.get("POSTGRES_TEST_DB", "test_django_netjsonconfig")},
        }
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "django_netjsonconfig.db")),
        "OPTIONS": {"timeout": 20},
    }


DATABASES = {"default": _database()}
if os.environ.get("DJNJC_CONN_MAX_AGE"):
    # persistent connections (and so the connection memory) in the server
    # processes of test_scale_out
    value = os.environ["DJNJC_CONN_MAX_AGE"]
    DATABASES["default"]["CONN_MAX_AGE"] = None if value == "none" else int(value)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT", str(BASE_DIR / "static"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

NETJSONCONFIG_SHARED_SECRET = os.environ.get("NETJSONCONFIG_SHARED_SECRET", "")
if os.environ.get("DJNJC_DEMO"):
    # system-wide variables used by the demo templates
    NETJSONCONFIG_CONTEXT = {"site": "demo-lab", "ssid_prefix": "demo"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}, "console": {"class": "logging.StreamHandler"}},
    "loggers": {
        # the test suite triggers warnings on purpose; keep its output readable
        "django_netjsonconfig": {
            "handlers": ["console" if os.environ.get("LOG_CONSOLE") else "null"],
            "level": "WARNING",
        },
        "django.request": {"handlers": ["null"], "propagate": False},
    },
}
TEST_RUNNER = "tests.runner.Runner"

# django-x509 1.4 builds validity_start from a naive datetime on purpose
# (see its default_validity_start); keep the test output readable
warnings.filterwarnings("ignore", message=r"DateTimeField .* received a naive datetime", category=RuntimeWarning)
