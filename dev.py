#!/usr/bin/env python3
"""
Developer entry point; needs only Python >= 3.10 and git.

    python3 dev.py demo     # demo project on SQLite: migrate, sample data, runserver
    python3 dev.py test     # the test suite (SQLite; DATABASE_ENGINE=postgres for PostgreSQL)
    python3 dev.py docs     # the documentation site, built with warnings as errors, in docs/_build/html

Both create (once) a virtualenv in ``.venv`` with the package and its test
requirements installed in editable mode. Extra arguments are passed on:
``python3 dev.py test django_netjsonconfig.tests.test_controller_checksum``,
``python3 dev.py demo 0.0.0.0:8000``.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("DJNJC_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def _requirements_digest():
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "requirements.txt", "requirements-test.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def bootstrap():
    """Creates the virtualenv and (re)installs the project when its requirements changed."""
    if sys.version_info < (3, 10):  # noqa: UP036 (runs on the system Python)
        sys.exit("Python >= 3.10 is required")
    if not PYTHON.exists():
        print(f"Creating virtualenv in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / ".djnjc-installed"
    digest = _requirements_digest()
    if not stamp.exists() or stamp.read_text() != digest:
        print("Installing django-netjsonconfig and its test requirements ...", flush=True)
        pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
        stamp.write_text(digest)


def run(*args, **kwargs):
    return subprocess.run([str(PYTHON), *args], cwd=ROOT, **kwargs).returncode


def demo(args):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DJNJC_DEMO": "1"}
    env.setdefault("SQLITE_PATH", str(ROOT / "tests" / "demo.sqlite3"))
    env.setdefault("NETJSONCONFIG_SHARED_SECRET", "demo-shared-secret")
    manage = str(ROOT / "tests" / "manage.py")
    address = args[0] if args else "127.0.0.1:8000"
    env["DEMO_ADDRESS"] = address
    for step in (
        [manage, "migrate", "--noinput", "-v", "0"],
        [str(ROOT / "tests" / "demo_data.py")],
    ):
        if run(*step, env=env, check=False):
            return 1
    return run(manage, "runserver", address, env=env, check=False)


def test(args):
    return run(str(ROOT / "runtests.py"), *args, check=False)


def docs(args):
    return run("-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", *args, "docs", "docs/_build/html", check=False)


COMMANDS = {"demo": demo, "test": test, "docs": docs}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    bootstrap()
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))


if __name__ == "__main__":
    main()
