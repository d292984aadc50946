"""
A real OpenVPN tunnel between a VPN server rendered from a ``Vpn`` and a
device whose configuration uses the server's VPN-client template.

The server runs in the host's network namespace; the client runs in a
namespace of its own, linked to the host by a veth pair, so that a ping to
the server's tunnel address has to cross the tunnel (within one namespace
the kernel would answer it locally). Needs root, ``/dev/net/tun`` and the
Debian packages ``openvpn``, ``iproute2`` and ``iputils-ping``; the test is
skipped when one of the first three or the ``openvpn``/``ip`` binaries is
missing. Every name (namespace, interfaces, port, subnets) is random, so
parallel runs do not collide; everything started is stopped in cleanups.
"""

import hashlib
import ipaddress
import os
import random
import secrets
import shutil
import socket
import stat
import subprocess
import tarfile
import tempfile
import time
import unittest
from pathlib import Path

import netjsonconfig
from django.test import LiveServerTestCase, TestCase, override_settings, tag

from django_netjsonconfig.tests.test_vpn import VpnTestMixin
from django_netjsonconfig.tests.test_vpn_sync import run_sync_script

HANDSHAKE_DONE = "Initialization Sequence Completed"
START_TIMEOUT = 30
COMMAND_TIMEOUT = 20


def missing_requirement():
    """Why the tunnel cannot be built here, or ``None``."""
    if os.name != "posix" or os.geteuid() != 0:
        return "OpenVPN integration tests need root (network namespaces and tun devices)"
    if not os.path.exists("/dev/net/tun"):
        return "OpenVPN integration tests need /dev/net/tun"
    for binary, package in (("openvpn", "openvpn"), ("ip", "iproute2")):
        if not shutil.which(binary):
            return f"OpenVPN integration tests need the {binary!r} binary (apt-get install {package})"
    return None


def _run(*command, check=True):
    return subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=check)


def _used_networks():
    routes = _run("ip", "-4", "route", "show", "table", "all").stdout.split("\n")
    networks = []
    for route in routes:
        words = route.split()
        for word in words[:2]:
            try:
                networks.append(ipaddress.ip_network(word, strict=False))
            except ValueError:
                continue
    return networks


def unused_networks(*prefix_lengths):
    """
    One network per prefix length, in consecutive /24s of a random
    ``10.x.y.0`` (``10.x.y.0/<first>``, ``10.x.y+1.0/<second>``, ...), none
    overlapping a route of this host.
    """
    used = _used_networks()
    for _attempt in range(50):
        second, third = random.randint(64, 191), random.randint(0, 256 - len(prefix_lengths))
        networks = [
            ipaddress.ip_network(f"10.{second}.{third + index}.0/{length}")
            for index, length in enumerate(prefix_lengths)
        ]
        if not any(network.overlaps(net) for net in used for network in networks):
            return networks
    raise RuntimeError("no free private network found for the test")


def _random_networks():
    """A /30 for the veth link and a /24 for the tunnel, unused on this host."""
    return unused_networks(30, 24)


def _free_udp_port(address):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def _wait_for_text(path, text, timeout=START_TIMEOUT):
    """Whether ``text`` shows up in the file at ``path`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return True
        time.sleep(0.2)
    return False


def _stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _extract(archive, config_dir, files_root, allowed_root):
    """
    Writes the ``*.conf`` files of an OpenVPN archive to ``config_dir`` and
    every other file at its path below ``files_root`` (``/`` for absolute
    paths) with its mode; files must land inside ``allowed_root``. Returns
    the path of the configuration file.
    """
    config_path = None
    with tarfile.open(fileobj=archive, mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            contents = tar.extractfile(member).read()
            if "/" not in member.name and member.name.endswith(".conf"):
                target = config_path = config_dir / member.name
            else:
                target = (files_root / member.name).resolve()
                if not target.is_relative_to(allowed_root):
                    raise AssertionError(f"{member.name} is outside the test directory")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(contents)
            target.chmod(member.mode)
    return config_path


class TunnelMixin(VpnTestMixin):
    """A VPN server, its VPN-client template, a device using it and a network namespace for the device."""

    @classmethod
    def setUpClass(cls):
        reason = missing_requirement()
        if reason:
            raise unittest.SkipTest(reason)
        super().setUpClass()

    def setUp(self):
        self.assertIsNotNone(shutil.which("ping"), "the 'ping' binary is needed (apt-get install iputils-ping)")
        suffix = secrets.token_hex(3)
        self.namespace = f"djnjc-{suffix}"
        self.server_link, self.client_link, self.tun = f"djs{suffix}", f"djc{suffix}", f"djt{suffix}"
        self.workdir = Path(tempfile.mkdtemp(prefix=f"djnjc-openvpn-{suffix}-")).resolve()
        self.addCleanup(shutil.rmtree, self.workdir, ignore_errors=True)
        link, self.tunnel_network = _random_networks()
        self.server_ip, self.client_ip = (str(host) for host in link.hosts())
        self._create_network()
        self.vpn = self._create_routed_vpn()
        self.template = self._create_vpn_template(vpn=self.vpn)
        self.config = self._create_vpn_config(self.template)
        self.processes = {}

    def _create_network(self):
        self.addCleanup(_run, "ip", "netns", "delete", self.namespace, check=False)
        self.addCleanup(_run, "ip", "link", "delete", self.server_link, check=False)
        _run("ip", "netns", "add", self.namespace)
        _run("ip", "link", "add", self.server_link, "type", "veth", "peer", "name", self.client_link)
        _run("ip", "link", "set", self.client_link, "netns", self.namespace)
        _run("ip", "addr", "add", f"{self.server_ip}/30", "dev", self.server_link)
        _run("ip", "link", "set", self.server_link, "up")
        for command in (
            ("ip", "addr", "add", f"{self.client_ip}/30", "dev", self.client_link),
            ("ip", "link", "set", self.client_link, "up"),
            ("ip", "link", "set", "lo", "up"),
        ):
            _run("ip", "netns", "exec", self.namespace, *command)

    def _create_routed_vpn(self):
        """A routed (tun) server listening on the veth address (default files and CRL check)."""
        server = {
            "name": f"itest{self.tun[3:]}",
            "mode": "server",
            "proto": "udp",
            "local": self.server_ip,
            "port": _free_udp_port(self.server_ip),
            "dev": self.tun,
            "dev_type": "tun",
            "server": f"{self.tunnel_network.network_address} {self.tunnel_network.netmask}",
            "topology": "subnet",
            "tls_server": True,
            "remote_cert_tls": "client",
            "ca": "ca.pem",
            "cert": "cert.pem",
            "key": "key.pem",
            "dh": "dh.pem",
        }
        return self._create_vpn(name="integration", host=self.server_ip, config={"openvpn": [server]})

    def _start(self, name, config_path, namespace=None, extra=()):
        log_path = self.workdir / f"{name}.log"
        command = ["openvpn", "--cd", str(config_path.parent), "--config", config_path.name, "--verb", "3", *extra]
        if namespace:
            command = ["ip", "netns", "exec", namespace, *command]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.addCleanup(_stop, process)
        self.processes[name] = process
        return log_path

    def _start_server(self):
        self.addCleanup(_run, "ip", "link", "delete", self.tun, check=False)
        server_dir = self.workdir / "server"
        server_dir.mkdir(exist_ok=True)
        config_path = _extract(self._reload(self.vpn).generate(), server_dir, server_dir, self.workdir)
        log_path = self._start("server", config_path)
        self.assertTrue(_wait_for_text(log_path, HANDSHAKE_DONE), log_path.read_text(errors="replace"))
        return log_path

    def _render_device(self, config=None, name="client"):
        """
        What the device would install: the ``openvpn`` section of its final
        NetJSON as a native OpenVPN file, and the certificate files written
        where the configuration says (``NETJSONCONFIG_CERT_PATH``, one
        directory per device).
        """
        client_dir = self.workdir / name
        client_dir.mkdir(exist_ok=True)
        with override_settings(NETJSONCONFIG_CERT_PATH=str(self.workdir / f"x509-{name}")):
            netjson = self._reload(config or self.config).json(dict=True)
        backend = netjsonconfig.OpenVpn({"openvpn": netjson["openvpn"], "files": netjson["files"]})
        return _extract(backend.generate(), client_dir, Path("/"), self.workdir)

    def _ping_tunnel(self, count=3):
        server_tunnel_ip = str(next(self.tunnel_network.hosts()))
        command = ("ping", "-n", "-c", str(count), "-W", "2", "-w", "15", server_tunnel_ip)
        return _run("ip", "netns", "exec", self.namespace, *command, check=False)


@tag("integration")
class TestOpenVpnTunnel(TunnelMixin, TestCase):
    """A device using a VPN-client template reaches the VPN server for real."""

    def test_device_completes_the_handshake_and_pings_through_the_tunnel(self):
        client_config = self._render_device()
        self._start_server()
        self.assertNotEqual(self._ping_tunnel(count=1).returncode, 0, "tunnel address reachable without the VPN")
        client_log = self._start("client", client_config, namespace=self.namespace)
        self.assertTrue(_wait_for_text(client_log, HANDSHAKE_DONE), client_log.read_text(errors="replace"))
        result = self._ping_tunnel()
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(f"from {next(self.tunnel_network.hosts())}", result.stdout)

    def test_revoked_certificate_is_refused(self):
        client_config = self._render_device()  # the files the device still holds
        self.config.templates.remove(self.template)  # revokes its certificate
        server_log = self._start_server()  # with the CA's updated CRL
        client_log = self._start("client", client_config, namespace=self.namespace)
        self.assertTrue(
            _wait_for_text(server_log, "certificate revoked"),
            server_log.read_text(errors="replace"),
        )
        self.assertNotIn(HANDSHAKE_DONE, client_log.read_text(errors="replace"))
        self.assertNotEqual(self._ping_tunnel(count=1).returncode, 0)


@tag("integration")
class TestSyncedOpenVpnServer(TunnelMixin, LiveServerTestCase):
    """
    The server's files come from the controller through the shipped sync
    script (as a VPN host's cron job would run it), unmodified, with two of
    the documented reload modes: SIGHUP (OpenVPN re-reads every file) and
    none at all (OpenVPN left running re-reads ``crl.pem`` on its own when
    the file's size or mtime changes).
    """

    def setUp(self):
        super().setUp()
        self.server_dir, self.pid_file = self.workdir / "server", self.workdir / "server.pid"
        self.sighup = True

    def _sync(self):
        reload = f'echo reload >> "{self.workdir}/reloads"'
        if self.sighup:
            reload += f'; if [ -f "{self.pid_file}" ]; then kill -HUP "$(cat "{self.pid_file}")"; fi'
        result = run_sync_script(
            self.live_server_url, self.vpn, self.server_dir, env={"NETJSONCONFIG_VPN_RELOAD": reload}
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result

    def _reloads(self):
        reloads = self.workdir / "reloads"
        return len(reloads.read_text().splitlines()) if reloads.exists() else 0

    def _installed(self):
        """Per installed file: inode (a rename gives a new one), mtime and a digest of the contents."""
        installed = {}
        for path in self.server_dir.iterdir():
            if path.is_file():
                info = path.stat()
                installed[path.name] = (info.st_ino, info.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
        return installed

    def _start_synced_server(self):
        self.addCleanup(_run, "ip", "link", "delete", self.tun, check=False)
        server_log = self._start(
            "server", self.server_dir / f"itest{self.tun[3:]}.conf", extra=["--writepid", str(self.pid_file)]
        )
        self.assertTrue(_wait_for_text(server_log, HANDSHAKE_DONE), server_log.read_text(errors="replace"))
        return server_log

    def test_synced_server_refuses_a_revoked_device(self):
        client_config = self._render_device()
        started = time.time()
        self._sync()
        self.assertEqual(self._reloads(), 1)
        self.assertEqual(stat.S_IMODE((self.server_dir / "key.pem").stat().st_mode), 0o600)
        for name, (_inode, mtime, _digest) in self._installed().items():
            if not name.startswith("."):  # the files of the archive carry mtime 0; installed ones, their install time
                self.assertGreaterEqual(mtime / 1e9, started - 2, name)
        server_log = self._start_synced_server()
        client_log = self._start("client", client_config, namespace=self.namespace)
        self.assertTrue(_wait_for_text(client_log, HANDSHAKE_DONE), client_log.read_text(errors="replace"))
        self.assertEqual(self._ping_tunnel().returncode, 0)

        installed = self._installed()
        self.assertIn("up to date", self._sync().stdout)  # nothing changed: nothing downloaded or restarted
        self.assertEqual((self._reloads(), self._installed()), (1, installed))

        self.config.templates.remove(self.template)  # the operator removes the VPN: the certificate is revoked
        self.assertIn("installed crl.pem", self._sync().stdout)
        self.assertEqual(self._reloads(), 2)
        reinstalled = self._installed()
        self.assertEqual(
            sorted(name for name in installed if reinstalled[name][:2] != installed[name][:2]),
            [".netjsonconfig-checksum", ".netjsonconfig-files", "crl.pem"],
        )
        _stop(self.processes["client"])
        self.assertTrue(_wait_for_text(server_log, "process restarting"), server_log.read_text(errors="replace"))
        retry_log = self._start("client-retry", client_config, namespace=self.namespace)
        self.assertTrue(_wait_for_text(server_log, "certificate revoked"), server_log.read_text(errors="replace"))
        self.assertNotIn(HANDSHAKE_DONE, retry_log.read_text(errors="replace"))
        self.assertNotEqual(self._ping_tunnel(count=1).returncode, 0)

        installed = self._installed()
        self.assertIn("up to date", self._sync().stdout)
        self.assertEqual((self._reloads(), self._installed()), (2, installed))

    def _config_with_serial_length(self, length):
        """A new device on the VPN whose certificate serial has ``length`` bytes (same-size CRL entries)."""
        for number in range(2, 40):
            config = self._create_vpn_config(self.template, number=number)
            if _serial_length(self._vpnclient(config).cert) == length:
                return config
            config.delete()
        raise AssertionError("no certificate serial of the wanted length")

    def test_left_running_server_loads_a_same_size_crl(self):
        """
        The case that once let a revoked client in: the revoked certificate A
        is deleted and B is revoked, so the new CRL has the size of the old
        one; OpenVPN, never restarted, must still refuse B.
        """
        self.sighup = False
        device_a = self.config
        device_b = self._config_with_serial_length(_serial_length(self._vpnclient(device_a).cert))
        client_b = self._render_device(device_b, name="client-b")
        cert_a = self._vpnclient(device_a).cert
        device_a.templates.remove(self.template)  # A revoked
        self._sync()
        crl_with_a = (self.server_dir / "crl.pem").read_bytes()
        server_log = self._start_synced_server()
        log_b = self._start("client-b", client_b, namespace=self.namespace)
        self.assertTrue(_wait_for_text(log_b, HANDSHAKE_DONE), log_b.read_text(errors="replace"))
        self.assertEqual(self._ping_tunnel().returncode, 0)
        _stop(self.processes["client-b"])

        time.sleep(1.1)  # OpenVPN compares mtimes in whole seconds
        self.cert_model.objects.filter(pk=cert_a.pk).delete()
        device_b.templates.remove(self.template)  # B revoked: the CRL lists B instead of A
        self.assertIn("installed crl.pem", self._sync().stdout)
        crl_with_b = (self.server_dir / "crl.pem").read_bytes()
        self.assertNotEqual(crl_with_b, crl_with_a)
        self.assertEqual(len(crl_with_b), len(crl_with_a))
        self.assertEqual(self.processes["server"].poll(), None)

        retry_log = self._start("client-b-retry", client_b, namespace=self.namespace)
        self.assertTrue(_wait_for_text(server_log, "certificate revoked"), server_log.read_text(errors="replace"))
        self.assertNotIn(HANDSHAKE_DONE, retry_log.read_text(errors="replace"))
        self.assertNotEqual(self._ping_tunnel(count=1).returncode, 0)
        self.assertNotIn("process restarting", server_log.read_text(errors="replace"))


def _serial_length(cert):
    serial = int(cert.serial_number)
    return (serial.bit_length() + 8) // 8  # DER integer: a leading zero byte when the top bit is set
