#!/usr/bin/env python3
"""
Builds the sdist and the wheel, checks what the sdist carries, then installs
the wheel into a fresh virtualenv the way the README prints it and sets up a
new ``startproject`` exactly as the README's "Setup" section says (the
INSTALLED_APPS and urlpatterns blocks are read from README.rst). The project
migrates, serves the admin, and a device registers, polls and downloads its
configuration over real HTTP.

    python3 .ci/wheel_check.py      # needs network access to the package index
"""

import hashlib
import os
import re
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECRET = "wheel-check-secret"
#: files someone unpacking the sdist needs to run the tests and read the docs
SDIST_MEMBERS = (
    "CHANGES.rst",
    "README.rst",
    "LICENSE",
    "runtests.py",
    "requirements.txt",
    "requirements-test.txt",
    "docs/index.rst",
    "tests/settings.py",
    "tests/manage.py",
    "django_netjsonconfig/tests/test_config.py",
)


def run(*args, **kwargs):
    print("$", " ".join(str(arg) for arg in args), flush=True)
    return subprocess.run([str(arg) for arg in args], check=True, **kwargs)


def readme_block(section, starts_with):
    """The first code block of README ``section`` whose text starts with ``starts_with``."""
    text = (ROOT / "README.rst").read_text()
    body = text.split(f"\n{section}\n", 1)[1]
    for match in re.finditer(r"\.\. code-block:: \w+\n\n((?:    .*\n|\n)+)", body):
        block = "\n".join(line[4:] for line in match.group(1).splitlines()).strip()
        if block.startswith(starts_with):
            return block
    sys.exit(f"README section {section!r} has no code block starting with {starts_with!r}")


def build(dist):
    run(sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", dist, ROOT)
    sdist = next(dist.glob("*.tar.gz"))
    wheel = next(dist.glob("*.whl"))
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    missing = [member for member in SDIST_MEMBERS if member not in names]
    if missing:
        sys.exit(f"the sdist lacks {', '.join(missing)}")
    junk = sorted(name for name in names if "node_modules" in name or name.endswith((".sqlite3", ".pyc")))
    if junk:
        sys.exit(f"the sdist carries generated files: {', '.join(junk[:5])}")
    print(f"sdist ok ({len(names)} entries), wheel {wheel.name}")
    return wheel


def install(wheel, venv):
    run(sys.executable, "-m", "venv", venv)
    pip_line = readme_block("Install", "pip install")
    # the README's line names the wheel by pattern; install the one just built
    extras = re.search(r"\[([\w,]+)\]", pip_line)
    target = f"{wheel}[{extras.group(1)}]" if extras else str(wheel)
    run(venv / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", target)


def configure(project):
    settings_path = project / "mysite" / "settings.py"
    settings = settings_path.read_text()
    # the README's block is the whole list of a startproject project: it must
    # name every app startproject lists, each once
    defaults = re.findall(r"'([\w.]+)'", re.search(r"INSTALLED_APPS = \[(.*?)\]", settings, re.S).group(1))
    apps_block = readme_block("Setup (integrate in an existing django project)", "INSTALLED_APPS")
    namespace = {}
    exec(apps_block, {}, namespace)  # noqa: S102
    listed = namespace["INSTALLED_APPS"]
    if sorted(set(listed)) != sorted(listed) or not set(defaults) <= set(listed):
        sys.exit(f"the README's INSTALLED_APPS {listed} does not list startproject's {defaults} each once")
    settings = re.sub(
        r"INSTALLED_APPS = \[.*?\]", f"INSTALLED_APPS = {namespace['INSTALLED_APPS']!r}", settings, flags=re.S
    )
    settings += f"\nNETJSONCONFIG_SHARED_SECRET = {SECRET!r}\nALLOWED_HOSTS = ['127.0.0.1']\n"
    settings_path.write_text(settings)
    urls_path = project / "mysite" / "urls.py"
    urls_block = readme_block("Setup (integrate in an existing django project)", "from django.urls import")
    patterns = re.search(r"urlpatterns = \[(.*)\]", urls_block, re.S).group(1)
    urls = urls_path.read_text()
    urls = urls.replace("from django.urls import path", urls_block.splitlines()[0])
    urls = urls.replace("urlpatterns = [", "urlpatterns = [" + patterns, 1)
    urls_path.write_text(urls)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(url, data=None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(url, body, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def exercise(base):
    mac = "00:11:22:33:44:55"
    key = hashlib.md5(f"{mac}+{SECRET}".encode()).hexdigest()
    status, headers, body = http(
        f"{base}/controller/register/",
        {"secret": SECRET, "name": "wheel-ap", "mac_address": mac, "backend": "netjsonconfig.OpenWrt", "key": key},
    )
    assert status == 201 and headers["X-Openwisp-Controller"] == "true", (status, body)
    uuid = dict(line.split(": ", 1) for line in body.decode().splitlines())["uuid"]
    status, _headers, checksum = http(f"{base}/controller/checksum/{uuid}/?key={key}")
    assert status == 200, (status, checksum)
    status, _headers, archive = http(f"{base}/controller/download-config/{uuid}/?key={key}")
    assert status == 200 and hashlib.md5(archive).hexdigest() == checksum.decode(), status
    status, _headers, _body = http(f"{base}/admin/login/")
    assert status == 200, status
    print("device registered, polled and downloaded; admin answers")


def main():
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        wheel = build(directory / "dist")
        venv = directory / "venv"
        install(wheel, venv)
        project = directory / "project"
        project.mkdir()
        run(venv / "bin" / "django-admin", "startproject", "mysite", project)
        configure(project)
        manage = [venv / "bin" / "python", project / "manage.py"]
        run(*manage, "migrate", "--noinput", "-v", "0")
        run(*manage, "check", "--fail-level", "WARNING")
        port = free_port()
        server = subprocess.Popen([*map(str, manage), "runserver", "--noreload", f"127.0.0.1:{port}"])
        try:
            for _attempt in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            exercise(f"http://127.0.0.1:{port}")
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("wheel check passed")


if __name__ == "__main__":
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    main()
