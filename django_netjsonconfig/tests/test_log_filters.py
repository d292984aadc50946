"""Device keys stay out of access logs (Django's development server, gunicorn)."""

import io
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.test import SimpleTestCase

from django_netjsonconfig.log_filters import RedactKeyFilter, redact

ROOT = Path(__file__).resolve().parents[2]
KEY = "k3y-that-must-never-be-logged-00"
CREATE_DEVICE = f"""
from django_netjsonconfig.models import Config
config = Config.objects.create(
    name="logged-device", backend="netjsonconfig.OpenWrt", config={{"general": {{}}}},
    mac_address="00:11:22:33:44:55", key="{KEY}",
)
print(config.pk)
"""


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestRunserverLog(SimpleTestCase):
    """``manage.py runserver`` (a real one, in its own process) logs polls without the key."""

    def _manage(self, *args, env):
        return subprocess.run(
            [sys.executable, str(ROOT / "tests" / "manage.py"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def test_a_poll_leaves_no_key_in_the_log(self):
        directory = tempfile.mkdtemp(prefix="djnjc-log-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "SQLITE_PATH": f"{directory}/db.sqlite3"}
        for name in ("DATABASE_ENGINE", "SAMPLE_APP"):
            env.pop(name, None)
        migrate = self._manage("migrate", "--noinput", env=env)
        self.assertEqual(migrate.returncode, 0, migrate.stderr)
        created = self._manage("shell", "-c", CREATE_DEVICE, env=env)
        self.assertEqual(created.returncode, 0, created.stderr)
        pk = created.stdout.strip().splitlines()[-1]
        port = _free_port()
        log_path = Path(directory) / "runserver.log"
        with open(log_path, "wb") as log:
            server = subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "manage.py"), "runserver", "--noreload", f"127.0.0.1:{port}"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.addCleanup(server.wait, 10)
        self.addCleanup(server.terminate)
        statuses = []
        for path in (f"/controller/checksum/{pk}/?key={KEY}", f"/controller/checksum/{pk}/?format=x&key={KEY}"):
            statuses.append(self._get(f"http://127.0.0.1:{port}{path}"))
        self.assertEqual(statuses, [200, 200])
        self._wait_for(log_path, "format=x&key=[redacted]")
        text = log_path.read_text()
        self.assertNotIn(KEY, text)
        self.assertIn(f'"GET /controller/checksum/{pk}/?key=[redacted] HTTP/1.1" 200', text)

    def _get(self, url):
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _wait_for(self, path, text):
        deadline = time.monotonic() + 10
        while text not in path.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)


class TestAccessLoggers(SimpleTestCase):
    def _logged(self, logger_name, message, args):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        logger = logging.getLogger(logger_name)
        logger.addHandler(handler)
        level = logger.level
        logger.setLevel(logging.INFO)
        try:
            logger.info(message, args)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
        return stream.getvalue()

    def test_gunicorn_access_log_atoms_are_redacted(self):
        # gunicorn logs its access line with a dict of "atoms" as the record's arguments
        atoms = {"r": f"GET /controller/download-config/x/?key={KEY} HTTP/1.1", "q": f"key={KEY}", "s": "200"}
        line = self._logged("gunicorn.access", '"%(r)s" %(s)s', atoms)
        self.assertEqual(line, '"GET /controller/download-config/x/?key=[redacted] HTTP/1.1" 200\n')

    def test_other_parameters_and_paths_are_kept(self):
        self.assertEqual(
            redact("/controller/checksum/x/?monkey=1&key=abc&keys=2&key=def"),
            "/controller/checksum/x/?monkey=1&key=[redacted]&keys=2&key=[redacted]",
        )
        self.assertEqual(redact("/admin/?q=key"), "/admin/?q=key")

    def test_filter_for_any_logger_in_logging_settings(self):
        record = logging.LogRecord("any", logging.INFO, __file__, 1, "%s %s", (f"/x/?key={KEY}", 200), None)
        self.assertTrue(RedactKeyFilter().filter(record))
        self.assertEqual(record.getMessage(), "/x/?key=[redacted] 200")
