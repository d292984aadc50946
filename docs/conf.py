"""Sphinx configuration of the django-netjsonconfig documentation (``python3 dev.py docs``)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from django_netjsonconfig import __version__  # noqa: E402

project = "django-netjsonconfig"
author = "django-netjsonconfig developers"
copyright = "2017-2026, django-netjsonconfig developers"  # noqa: A001 (Sphinx's name)
version = release = __version__
extensions = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []
# the README and bench/README.rst are written for GitHub too: keep their
# own section numbering and local tables of contents
html_show_sourcelink = False


def _readme_image_paths(app, relative_path, parent_docname, content):
    # the README names its images from the repository root (docs/images/...),
    # as GitHub shows it; included here, they are relative to docs/
    content[0] = content[0].replace(".. image:: docs/images/", ".. image:: images/")


def setup(app):
    app.connect("include-read", _readme_image_paths)
