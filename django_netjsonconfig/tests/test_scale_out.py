"""
Several app servers sharing one PostgreSQL: two gunicorn instances (separate
processes, persistent connections, so each answers polls from its
connection memory) serve the same fleet, and both follow template changes
made elsewhere (PostgreSQL notifications).
"""

import hashlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from unittest import skipUnless

from django.db import connection
from django.test import TransactionTestCase

from django_netjsonconfig.tests import TestMixin

ROOT = Path(__file__).resolve().parent.parent.parent
HEADER = "X-Openwisp-Controller"
#: how long a server may take to start (not a timed assertion: a bound on waiting)
STARTUP_LIMIT = 60


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A gunicorn instance of the test project on the test database."""

    def __init__(self):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "POSTGRES_DB": connection.settings_dict["NAME"],
            "DJNJC_CONN_MAX_AGE": "none",
            "DJANGO_DEBUG": "0",
            "NETJSONCONFIG_SHARED_SECRET": "scale-out-secret",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "django.core.wsgi:get_wsgi_application()",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait(self):
        deadline = time.monotonic() + STARTUP_LIMIT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                self.get("/controller/checksum/0/")  # any HTTP answer: the worker is up
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not start")

    def get(self, path):
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stderr.close()


#: seconds a server may take to receive a change's notification (far more than it needs)
NOTIFY_LIMIT = 5


@skipUnless(connection.vendor == "postgresql", "several app servers share one PostgreSQL")
class TestSeveralAppServers(TestMixin, TransactionTestCase):
    def setUp(self):
        self.template = self._create_template(name="ntp", config={"ntp": {"enabled": True, "server": ["a.example"]}})
        self.configs = [
            self._create_config(
                name=f"ap-{index}",
                mac_address=f"00:11:22:33:44:{index:02X}",
                key=f"key{index:029d}",
                templates=[self.template],
            )
            for index in range(3)
        ]
        self.servers = [Server(), Server()]
        for server in self.servers:
            self.addCleanup(server.stop)
        for server in self.servers:
            server.wait()

    def _checksums(self, server):
        answers = []
        for config in self.configs:
            status, headers, body = server.get(f"/controller/checksum/{config.pk.hex}/?key={config.key}")
            self.assertEqual(status, 200, body[-2000:])
            self.assertEqual(headers[HEADER], "true")
            answers.append(body.decode())
        return answers

    def _checksums_after_the_notification(self, server, before):
        """
        The server's answers once it has had the change's notification:
        PostgreSQL delivers ``NOTIFY`` to the other connections asynchronously
        after the commit (well within a millisecond on an idle machine, longer
        on a loaded one), and a poll that arrives before it is answered as if
        it had come just before the change. Bounded: an answer still old after
        ``NOTIFY_LIMIT`` seconds is a missed change.
        """
        deadline = time.monotonic() + NOTIFY_LIMIT
        while True:
            answers = self._checksums(server)
            if all(new != old for new, old in zip(answers, before, strict=True)) or time.monotonic() > deadline:
                return answers
            time.sleep(0.05)

    def _download(self, server, config):
        status, headers, body = server.get(f"/controller/download-config/{config.pk.hex}/?key={config.key}")
        self.assertEqual(status, 200, body[-2000:])
        return hashlib.md5(body).hexdigest()

    def _stored(self):
        return [self.config_model.objects.get(pk=config.pk).get_cached_checksum() for config in self.configs]

    def test_both_servers_follow_a_template_change(self):
        before = self._stored()
        for server in self.servers:
            # twice: the second answer comes from the connection's memory
            self.assertEqual(self._checksums(server), before)
            self.assertEqual(self._checksums(server), before)

        self.template.config = {"ntp": {"enabled": True, "server": ["b.example"]}}
        self.template.full_clean()
        self.template.save()

        for server in self.servers:
            after = self._checksums_after_the_notification(server, before)
            self.assertTrue(all(new != old for new, old in zip(after, before, strict=True)))
            self.assertEqual(after, self._stored())
            for config, checksum in zip(self.configs, after, strict=True):
                self.assertEqual(self._download(server, config), checksum)

    def test_a_rendering_stored_by_one_server_is_served_by_the_other(self):
        first, second = self.servers
        before = self._checksums(first)
        self._checksums(second)
        self.template.config = {"ntp": {"enabled": True, "server": ["c.example"]}}
        self.template.save()
        # the first server renders and stores the new archives at its polls
        rendered = self._checksums_after_the_notification(first, before)
        stored = self.config_model.objects.filter(pk__in=[c.pk for c in self.configs]).order_by("name")
        self.assertEqual([config.rendered_checksum for config in stored], rendered)
        # the second one serves what the first stored
        self.assertEqual(self._checksums(second), rendered)
        self.assertEqual([self._download(second, config) for config in self.configs], rendered)
