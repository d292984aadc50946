"""
A real WireGuard server kept in sync by the shipped script, and two clients
pinging it across the tunnel.

The server's interface lives in the host's network namespace, where the sync
script (run against the live test server, with its default reload: wg-quick
up, then wg syncconf) manages it; each client lives in a namespace of its
own, linked to the host by a veth pair, so that its pings have to cross the
tunnel. The kernel's WireGuard is used when the machine has it, else
``wg-quick`` falls back to the userspace ``wireguard-go``. Needs root,
``/dev/net/tun`` and the Debian packages ``wireguard-tools``, ``iproute2``,
``iputils-ping`` and (without the kernel module) ``wireguard-go``; skipped
with the reason otherwise. Every name (namespaces, interfaces, port,
subnets) is random, so parallel runs do not collide; everything started is
stopped in cleanups.
"""

import os
import random
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from django.test import LiveServerTestCase, tag

from django_netjsonconfig.tests.test_openvpn_integration import _free_udp_port, _run, unused_networks
from django_netjsonconfig.tests.test_vpn import VpnTestMixin
from django_netjsonconfig.tests.test_vpn_sync import run_sync_script

#: packets of the ping that runs while the server's peers change (0.2 s apart)
CONTINUOUS_PINGS = 50
PING_TIMEOUT = 60
USERSPACE_SOCKETS = Path("/var/run/wireguard")


def _kernel_wireguard():
    """Whether ``ip link add type wireguard`` works here (else the error)."""
    name = f"djk{secrets.token_hex(3)}"
    result = _run("ip", "link", "add", name, "type", "wireguard", check=False)
    if result.returncode == 0:
        _run("ip", "link", "delete", name, check=False)
        return True, ""
    return False, result.stderr.strip()


def missing_requirement():
    """Why the tunnel cannot be built here, or ``None``."""
    if os.name != "posix" or os.geteuid() != 0:
        return "WireGuard integration tests need root (network namespaces and interfaces)"
    for binary, package in (("ip", "iproute2"), ("wg", "wireguard-tools"), ("wg-quick", "wireguard-tools")):
        if not shutil.which(binary):
            return f"WireGuard integration tests need the {binary!r} binary (apt-get install {package})"
    kernel, error = _kernel_wireguard()
    if kernel:
        return None
    if not shutil.which("wireguard-go"):
        return f"no WireGuard here: `ip link add type wireguard` says {error!r} and wireguard-go is not installed"
    if not os.path.exists("/dev/net/tun"):
        return f"no WireGuard here: `ip link add type wireguard` says {error!r} and wireguard-go needs /dev/net/tun"
    return None


def _random_networks():
    """Two /30 links (clients a and b), a /24 for the tunnel and one for VXLAN, unused on this host."""
    links, tunnel, lan = unused_networks(29, 24, 24)
    return list(links.subnets(new_prefix=30)), tunnel, lan


def _userspace_pid(interface):
    """The id of the wireguard-go process serving ``interface``, or ``None``."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[:2] == [b"wireguard-go", interface.encode()]:
                return int(entry.name)
    return None


def _delete_wireguard(interface, namespace=None):
    """Deletes ``interface``; the wireguard-go serving it (if any) exits, or is stopped."""
    prefix = ("ip", "-n", namespace) if namespace else ("ip",)
    _run(*prefix, "link", "delete", interface, check=False)
    pid = _userspace_pid(interface)
    deadline = time.monotonic() + 5
    while pid is not None and _userspace_pid(interface) == pid and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid is not None and _userspace_pid(interface) == pid:
        os.kill(pid, signal.SIGTERM)
    (USERSPACE_SOCKETS / f"{interface}.sock").unlink(missing_ok=True)


class WireguardTunnelMixin(VpnTestMixin):
    """The host side of the server, two client namespaces (``a`` and ``b``) and their addresses."""

    @classmethod
    def setUpClass(cls):
        reason = missing_requirement()
        if reason:
            raise unittest.SkipTest(reason)
        super().setUpClass()

    def setUp(self):
        self.assertIsNotNone(shutil.which("ping"), "the 'ping' binary is needed (apt-get install iputils-ping)")
        self.suffix = suffix = secrets.token_hex(3)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"djnjc-wireguard-{suffix}-")).resolve()
        self.addCleanup(shutil.rmtree, self.workdir, ignore_errors=True)
        self.server_dir = self.workdir / "server"
        self.interface = f"djw{suffix}"
        links, self.tunnel_network, self.lan = _random_networks()
        hosts = list(self.tunnel_network.hosts())
        self.server_tunnel_ip = self.ping_target = str(hosts[0])
        self.sync_env = {}
        self.clients = {}
        for name, link, tunnel_ip in zip("ab", links, hosts[1:3], strict=True):
            host_ip, client_ip = (str(host) for host in link.hosts())
            self.clients[name] = {
                "namespace": f"djnjc-w{name}-{suffix}",
                "host_link": f"dw{name}h{suffix}",
                "client_link": f"dw{name}c{suffix}",
                "interface": f"dj{name}{suffix}",
                "host_ip": host_ip,
                "client_ip": client_ip,
                "tunnel_ip": str(tunnel_ip),
            }
        # the server answers on the first link's host address, reached by both clients
        self.server_ip = self.clients["a"]["host_ip"]
        self.port = _free_udp_port("0.0.0.0")
        for client in self.clients.values():
            self._create_namespace(client)
        self.addCleanup(_delete_wireguard, self.interface)

    def _create_namespace(self, client):
        namespace = client["namespace"]
        self.addCleanup(_run, "ip", "netns", "delete", namespace, check=False)
        self.addCleanup(_run, "ip", "link", "delete", client["host_link"], check=False)
        _run("ip", "netns", "add", namespace)
        _run("ip", "link", "add", client["host_link"], "type", "veth", "peer", "name", client["client_link"])
        _run("ip", "link", "set", client["client_link"], "netns", namespace)
        _run("ip", "addr", "add", f"{client['host_ip']}/30", "dev", client["host_link"])
        _run("ip", "link", "set", client["host_link"], "up")
        for command in (
            ("ip", "addr", "add", f"{client['client_ip']}/30", "dev", client["client_link"]),
            ("ip", "link", "set", client["client_link"], "up"),
            ("ip", "link", "set", "lo", "up"),
            ("ip", "route", "add", f"{self.server_ip}/32", "via", client["host_ip"]),
        ):
            _run("ip", "netns", "exec", namespace, *command)

    def _sync(self):
        """The shipped script with its default reload (wg-quick, wg syncconf) on the server's directory."""
        result = run_sync_script(self.live_server_url, self.vpn, self.server_dir, env=self.sync_env)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result

    def _start_client(self, name, conf_text):
        """Writes the client's ``<interface>.conf`` and brings it up with wg-quick in its namespace."""
        client = self.clients[name]
        conf = self.workdir / name / f"{client['interface']}.conf"
        conf.parent.mkdir(mode=0o700, exist_ok=True)
        _delete_wireguard(client["interface"], client["namespace"])  # a previous configuration
        conf.write_text(conf_text)
        conf.chmod(0o600)
        self.addCleanup(_delete_wireguard, client["interface"], client["namespace"])
        result = _run("ip", "netns", "exec", client["namespace"], "wg-quick", "up", str(conf), check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def _ping(self, name, count=3):
        command = ("ping", "-n", "-c", str(count), "-W", "2", "-w", "15", self.ping_target)
        return _run("ip", "netns", "exec", self.clients[name]["namespace"], *command, check=False)

    def assertReaches(self, name):
        result = self._ping(name)
        self.assertEqual(result.returncode, 0, f"client {name}: {result.stdout}{result.stderr}")
        self.assertIn(f"from {self.ping_target}", result.stdout)

    def _continuous_ping(self, name):
        """A ping every 0.2 s from client ``name``, running in the background; stops by itself."""
        command = ["ping", "-n", "-i", "0.2", "-c", str(CONTINUOUS_PINGS), "-W", "2", self.ping_target]
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.clients[name]["namespace"], *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.addCleanup(lambda: process.poll() is None and process.kill())
        return process

    def _latest_handshake(self, name):
        """When the server last completed a handshake with client ``name`` (seconds, 0: never)."""
        output = _run("wg", "show", self.interface, "latest-handshakes").stdout
        handshakes = dict(line.split("\t") for line in output.splitlines() if line)
        return int(handshakes.get(self._client_public_key(name), 0))

    def assertRemovalKeepsTheOtherSession(self, remove_a):
        """
        While client b pings the server every 0.2 s, ``remove_a()`` removes
        client a from the server and the sync applies it: a no longer
        reaches the server, b lost no packet and kept its session (no new
        handshake). Then a sync without change touches nothing.
        """
        handshake_b = self._latest_handshake("b")
        self.assertGreater(handshake_b, 0)
        ping_b = self._continuous_ping("b")
        time.sleep(1)  # a few of b's pings cross before the change
        self.vpn = remove_a() or self._reload(self.vpn)
        self.assertIn("installed", self._sync().stdout)
        self.assertIsNone(ping_b.poll(), "the sync took longer than the continuous ping: nothing proven")
        output = ping_b.communicate(timeout=PING_TIMEOUT)[0]
        self.assertIn(f"{CONTINUOUS_PINGS} packets transmitted, {CONTINUOUS_PINGS} received", output)
        self.assertEqual(self._latest_handshake("b"), handshake_b)
        self.assertEqual(self._latest_handshake("a"), 0)  # a is no longer a peer
        self.assertNotEqual(self._ping("a").returncode, 0, "the removed client still reaches the server")
        self.assertReaches("b")

        installed = self._installed()
        self.assertIn("up to date", self._sync().stdout)
        self.assertEqual(self._installed(), installed)
        self.assertEqual(self._latest_handshake("b"), handshake_b)

    def _installed(self):
        """Per installed file: inode (a rename gives a new one) and mtime."""
        return {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in self.server_dir.iterdir()}


def documented_bridge_command():
    """The ``-a`` command of docs/vpn-sync.rst that adds the VXLAN interfaces to the bridge ``br-vxlan``."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "vpn-sync.rst").read_text()
    (line,) = [line.strip() for line in text.splitlines() if line.strip().startswith("-a '")]
    return line[len("-a '") : -1]


def _device_conf(netjson):
    """
    What a device installs from its final NetJSON, in wg-quick's format: the
    ``wireguard`` interface (key, address, port, MTU) and its peer.
    """
    (interface,) = [item for item in netjson["interfaces"] if item.get("type") == "wireguard"]
    (peer,) = [item for item in netjson["wireguard_peers"] if item["interface"] == interface["name"]]
    address = interface["addresses"][0]
    return (
        f"[Interface]\nPrivateKey = {interface['private_key']}\n"
        f"Address = {address['address']}/{address['mask']}\nListenPort = {interface['port']}\n"
        f"MTU = {interface['mtu']}\n\n"
        f"[Peer]\nPublicKey = {peer['public_key']}\nEndpoint = {peer['endpoint_host']}:{peer['endpoint_port']}\n"
        f"AllowedIPs = {', '.join(peer['allowed_ips'])}\nPersistentKeepalive = {peer['persistent_keepalive']}\n"
    )


@tag("integration")
class TestSyncedWireguardServer(WireguardTunnelMixin, LiveServerTestCase):
    """
    A ``Vpn`` with the WireGuard backend, its VPN-client template and two
    devices using it: the server's files come from the controller through
    the sync script, each client's from its device's final NetJSON.
    """

    backend = "django_netjsonconfig.vpn_backends.Wireguard"

    def setUp(self):
        super().setUp()
        self.vpn = self._create_vpn(
            name="wireguard-integration",
            host=self.server_ip,
            backend=self.backend,
            ca=None,
            dh="",
            subnet=str(self.tunnel_network),
            config=self._server_config(),
        )
        self.template = self._create_vpn_template(vpn=self.vpn)
        self.configs = {name: self._create_vpn_config(self.template, number) for number, name in enumerate("ab", 1)}
        self.netjson = {name: self._reload(config).json(dict=True) for name, config in self.configs.items()}

    def _server_config(self):
        return {"wireguard": [{"name": self.interface, "port": self.port}]}

    def _client_public_key(self, name):
        (interface,) = [item for item in self.netjson[name]["interfaces"] if item.get("type") == "wireguard"]
        key = interface["private_key"]
        return subprocess.run(["wg", "pubkey"], input=key, capture_output=True, text=True, check=True).stdout.strip()

    def test_removed_device_loses_the_tunnel_the_other_keeps_its_session(self):
        self.assertIn("installed", self._sync().stdout)
        conf = self.server_dir / f"{self.interface}.conf"
        self.assertEqual(conf.stat().st_mode & 0o777, 0o600)
        self.assertEqual(conf.read_text().count("[Peer]"), 2)
        for name in self.clients:
            self.assertNotEqual(self._ping(name, count=1).returncode, 0, "tunnel address reachable without the VPN")
            self._start_client(name, _device_conf(self.netjson[name]))
            self.assertReaches(name)
        self.assertRemovalKeepsTheOtherSession(lambda: self.configs["a"].templates.remove(self.template))
        self.assertEqual(conf.read_text().count("[Peer]"), 1)

        handshake_b = self._latest_handshake("b")
        self.configs["a"].templates.add(self.template)  # back on the VPN, with a new key pair
        self.netjson["a"] = self._reload(self.configs["a"]).json(dict=True)
        self.assertIn("installed", self._sync().stdout)
        self._start_client("a", _device_conf(self.netjson["a"]))
        self.assertReaches("a")
        self.assertEqual(self._latest_handshake("b"), handshake_b)


@tag("integration")
class TestSyncedVxlanWireguardServer(TestSyncedWireguardServer):
    """
    VXLAN over WireGuard: the sync script gives the server one VXLAN
    interface per device, and its ``-a`` command (the operator's part) adds
    them to a bridge with an address; each device builds its VXLAN interface
    from its final NetJSON and pings that address across both tunnels.
    """

    backend = "django_netjsonconfig.vpn_backends.VxlanWireguard"

    def setUp(self):
        self.vni = random.randint(1000, 999999)
        super().setUp()
        self.bridge = f"djv{self.suffix}"
        self.addCleanup(_run, "ip", "link", "delete", self.bridge, check=False)
        self.ping_target = str(next(self.lan.hosts()))
        # a bridge without an address of its own takes the lowest of its ports', and a
        # device's ARP entry goes stale when that port leaves
        mac = "02:" + ":".join(f"{byte:02x}" for byte in secrets.token_bytes(5))
        _run("ip", "link", "add", self.bridge, "address", mac, "type", "bridge")
        _run("ip", "addr", "add", f"{self.ping_target}/{self.lan.prefixlen}", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        self.sync_env = {"NETJSONCONFIG_VPN_AFTER_RELOAD": documented_bridge_command().replace("br-vxlan", self.bridge)}

    def _server_config(self):
        return {
            "wireguard": [{"name": self.interface, "port": self.port}],
            "vxlan": [{"name": "vxlan", "vni": self.vni}],
        }

    def _start_client(self, name, conf_text):
        super()._start_client(name, conf_text)
        client = self.clients[name]
        (vxlan,) = [item for item in self.netjson[name]["interfaces"] if item.get("type") == "vxlan"]
        address = list(self.lan.hosts())[10 + "ab".index(name)]
        ip = ("ip", "-n", client["namespace"])  # the device's tunlink is its WireGuard interface
        _run(*ip, "link", "delete", vxlan["name"], check=False)  # a previous configuration
        tunnel = ("id", str(vxlan["vni"]), "remote", vxlan["vtep"], "dstport", str(vxlan["port"]))
        _run(*ip, "link", "add", vxlan["name"], "type", "vxlan", *tunnel, "dev", client["interface"])
        _run(*ip, "addr", "add", f"{address}/{self.lan.prefixlen}", "dev", vxlan["name"])
        _run(*ip, "link", "set", vxlan["name"], "mtu", str(vxlan["mtu"]), "up")
