#!/usr/bin/env python
"""
Runs the test suite with Django's test runner on the test project.

    python runtests.py                      # SQLite
    DATABASE_ENGINE=postgres python runtests.py
    python runtests.py --exclude-tag browser django_netjsonconfig.tests.test_config

Extra arguments are passed to ``manage.py test``.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:]
    # test labels are dotted module paths (or file paths); option values are not
    labels = [arg for arg in args if not arg.startswith("-") and ("." in arg or "/" in arg)]
    default_label = "tests.sample_app" if os.environ.get("SAMPLE_APP") else "django_netjsonconfig"
    # --noinput: a test database left by an interrupted run is replaced instead of prompting
    argv = ["manage.py", "test", "--noinput", "--shuffle", "--parallel", os.environ.get("TEST_PARALLEL", "1")]
    argv += args if labels else [*args, default_label]
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
