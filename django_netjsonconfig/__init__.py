"""Configuration manager for embedded devices, as a reusable Django app."""

from pathlib import Path

VERSION = (1, 0, 0, "alpha")
__version__ = "1.0.0a1"

#: admin templates and static files, for apps that extend django-netjsonconfig
#: without installing it (add them to TEMPLATES "DIRS" and STATICFILES_DIRS)
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
