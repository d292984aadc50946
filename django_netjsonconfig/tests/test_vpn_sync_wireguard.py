"""
The sync script on a WireGuard server, run for real against a live
controller, with stub ``wg``, ``wg-quick`` and ``systemctl`` binaries on
``PATH`` that record what the script asks of them (and keep a pretend
interface state), so that these tests need neither root nor WireGuard.
The real tunnel is in ``test_wireguard_integration.py``.
"""

import base64
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.test import LiveServerTestCase

from django_netjsonconfig.tests.test_vpn_sync import VpnSyncMixin, run_sync_script

WIREGUARD_BACKEND = "django_netjsonconfig.vpn_backends.Wireguard"

# wg: "show NAME" succeeds while the pretend interface NAME is up; "syncconf NAME FILE"
# keeps a copy of FILE; every other call than "show" is recorded
STUB_WG = """#!/bin/sh
[ "$1" = show ] || echo "wg $*" >> "$STUB_CALLS"
case " $STUB_FAIL " in *" wg-$1 "*) exit 1 ;; esac
case $1 in
    show) [ -e "$STUB_STATE/$2" ] ;;
    syncconf) cp "$3" "$STUB_STATE/$2.synced" ;;
    *) exit 1 ;;
esac
"""
# wg-quick: "up FILE"/"down FILE" start/stop the pretend interface named after FILE (and,
# as the kernel does, deleting it deletes the VXLAN interfaces over it);
# "strip FILE" drops the settings wg-quick applies itself; up and down are recorded
STUB_WG_QUICK = """#!/bin/sh
[ "$1" = strip ] || echo "wg-quick $*" >> "$STUB_CALLS"
case " $STUB_FAIL " in *" wg-quick-$1 "*) exit 1 ;; esac
name=$(basename "$2" .conf)
case $1 in
    up) [ ! -e "$STUB_STATE/$name" ] && cp "$2" "$STUB_STATE/$name" ;;
    down) [ -e "$STUB_STATE/$name" ] && rm -f "$STUB_STATE/$name" "$STUB_STATE"/link-* ;;
    strip) grep -v -i -E '^[[:space:]]*(address|dns|mtu|table|preup|postup|predown|postdown|saveconfig)[[:space:]]*=' "$2" ;;
    *) exit 1 ;;
esac
"""
STUB_SYSTEMCTL = '#!/bin/sh\necho "systemctl $*" >> "$STUB_CALLS"\n'
# ip: pretend links for "link show dev NAME", "link add NAME ...", "link delete NAME";
# every call but "show" is recorded
STUB_IP = """#!/bin/sh
[ "$2" = show ] || echo "ip $*" >> "$STUB_CALLS"
case "$1 $2" in
    "link show") [ -e "$STUB_STATE/link-$4" ] ;;
    "link add") [ ! -e "$STUB_STATE/link-$3" ] && touch "$STUB_STATE/link-$3" ;;
    "link delete") [ -e "$STUB_STATE/link-$3" ] && rm "$STUB_STATE/link-$3" ;;
    "link set") [ -e "$STUB_STATE/link-$3" ] ;;
    *) exit 1 ;;
esac
"""


def wireguard_keys():
    """A new ``(private key, public key)`` pair, base64 as WireGuard writes them."""
    key = X25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(private).decode(), base64.b64encode(public).decode()


class WireguardServerMixin(VpnSyncMixin):
    """A WireGuard VPN server whose NetJSON sets its key, address and peers by hand."""

    def _wireguard_config(self, name="wg0", address="10.8.0.1/24", port=51820, peers=(), files=()):
        return {
            "wireguard": [
                {
                    "name": name,
                    "port": port,
                    "private_key": self.server_private_key,
                    "address": address,
                    "peers": [{"public_key": key, "allowed_ips": ip} for key, ip in peers],
                }
            ],
            "files": list(files),
        }

    def _create_wireguard_vpn(self, **kwargs):
        self.server_private_key = wireguard_keys()[0]
        config = self._wireguard_config(**kwargs)
        return self._create_vpn(backend=WIREGUARD_BACKEND, ca=None, dh="", subnet="10.0.0.0/8", config=config)

    def _set_wireguard_config(self, vpn, **kwargs):
        """Saves a new NetJSON on the server (which invalidates its stored rendering)."""
        vpn = self._reload(vpn)
        vpn.config = self._wireguard_config(**kwargs)
        vpn.full_clean()
        vpn.save()
        return self._reload(vpn)


class StubbedHostMixin(WireguardServerMixin):
    """A WireGuard server with one peer, and a VPN host whose wg, wg-quick, ip and systemctl are stubs."""

    def setUp(self):
        self.assertIsNotNone(shutil.which("curl"), "the sync script tests need curl")
        self.tmp = Path(tempfile.mkdtemp(prefix="djnjc-wg-sync-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.target, self.state, stubs = self.tmp / "wireguard", self.tmp / "state", self.tmp / "bin"
        self.state.mkdir()
        stubs.mkdir()
        stubs_text = {"wg": STUB_WG, "wg-quick": STUB_WG_QUICK, "systemctl": STUB_SYSTEMCTL, "ip": STUB_IP}
        for name, text in stubs_text.items():
            (stubs / name).write_text(text)
            (stubs / name).chmod(0o755)
        self.calls = self.tmp / "calls"
        self.env = {
            "PATH": f"{stubs}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "STUB_CALLS": str(self.calls),
            "STUB_STATE": str(self.state),
        }
        self.peer_a, self.peer_b = wireguard_keys()[1], wireguard_keys()[1]
        self.vpn = self._create_wireguard_vpn(peers=[(self.peer_a, "10.8.0.2/32")])

    def _sync(self, **env):
        result = run_sync_script(self.live_server_url, self.vpn, self.target, env={**self.env, **env})
        self.assertNotIn(self.server_private_key, result.stdout + result.stderr)
        return result

    def _synced(self):
        result = self._sync()
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result

    def _calls(self):
        calls = self.calls.read_text().splitlines() if self.calls.exists() else []
        self.calls.unlink(missing_ok=True)
        for call in calls:
            self.assertNotIn(self.server_private_key, call)
        return calls

    def _set(self, **kwargs):
        self.vpn = self._set_wireguard_config(self.vpn, **kwargs)


class TestWireguardSyncScript(StubbedHostMixin, LiveServerTestCase):
    def test_first_sync_brings_the_interface_up(self):
        self._synced()
        conf = self.target / "wg0.conf"
        self.assertEqual(self._calls(), [f"wg-quick up {conf}"])
        self.assertIn(f"PrivateKey = {self.server_private_key}", conf.read_text())
        self.assertIn(f"PublicKey = {self.peer_a}", conf.read_text())
        self.assertEqual((self.state / "wg0").read_text(), conf.read_text())

    def test_unchanged_server_installs_and_reloads_nothing(self):
        self._synced()
        self._calls()
        installed = {path.name: path.stat().st_ino for path in self.target.iterdir()}
        self.assertIn("up to date", self._synced().stdout)
        self.assertEqual(self._calls(), [])
        self.assertEqual({path.name: path.stat().st_ino for path in self.target.iterdir()}, installed)

    def test_new_peers_are_applied_with_syncconf_only(self):
        self._synced()
        self._calls()
        self._set(peers=[(self.peer_b, "10.8.0.3/32")])
        result = self._synced()
        self.assertIn("installed wg0.conf", result.stdout)
        calls = self._calls()
        self.assertEqual(len(calls), 1, calls)
        self.assertRegex(calls[0], rf"^wg syncconf wg0 {self.target}/\.sync\.[^/ ]+/wg0\.stripped$")
        synced = (self.state / "wg0.synced").read_text()  # what wg syncconf was given
        self.assertIn(f"PublicKey = {self.peer_b}", synced)
        self.assertNotIn(self.peer_a, synced)
        self.assertNotIn("Address", synced)  # wg syncconf refuses wg-quick's own settings
        self.assertIn(f"PrivateKey = {self.server_private_key}", synced)
        self.assertEqual(list(self.target.glob(".sync.*")), [])  # the stripped copy is gone

    def test_new_address_restarts_the_interface(self):
        self._synced()
        self._calls()
        self._set(address="10.9.0.1/24", peers=[(self.peer_a, "10.9.0.2/32")])
        self._synced()
        record = self.target / ".netjsonconfig-wireguard" / "wg0.conf"
        self.assertEqual(self._calls(), [f"wg-quick down {record}", f"wg-quick up {self.target}/wg0.conf"])
        self.assertIn("Address = 10.9.0.1/24", (self.state / "wg0").read_text())
        self.assertEqual(record.read_text(), (self.target / "wg0.conf").read_text())
        self.assertEqual(stat.S_IMODE(record.stat().st_mode), 0o600)

    def test_interface_found_down_is_brought_up_again(self):
        self._synced()
        self._calls()
        (self.state / "wg0").unlink()  # the operator ran wg-quick down, or the host rebooted
        self._set(peers=[(self.peer_b, "10.8.0.3/32")])
        self._synced()
        self.assertEqual(self._calls(), [f"wg-quick up {self.target}/wg0.conf"])

    def test_interface_brought_up_by_hand_is_restarted_once(self):
        (self.state / "wg0").write_text("")  # up before the first sync, from another file
        self._synced()
        conf = self.target / "wg0.conf"
        self.assertEqual(self._calls(), [f"wg-quick down {conf}", f"wg-quick up {conf}"])
        self._set(peers=[(self.peer_b, "10.8.0.3/32")])
        self._synced()
        self.assertEqual([call.split()[:3] for call in self._calls()], [["wg", "syncconf", "wg0"]])

    def test_renamed_interface_replaces_the_old_one(self):
        self._synced()
        self._calls()
        self._set(name="wg1")
        self._synced()
        record = self.target / ".netjsonconfig-wireguard" / "wg0.conf"
        self.assertEqual(self._calls(), [f"wg-quick down {record}", f"wg-quick up {self.target}/wg1.conf"])
        self.assertFalse((self.target / "wg0.conf").exists())
        self.assertFalse(record.exists())
        self.assertEqual(sorted(path.name for path in self.state.iterdir()), ["wg1"])

    def test_failed_syncconf_is_retried_by_the_next_run(self):
        self._synced()
        self._calls()
        self._set(peers=[(self.peer_b, "10.8.0.3/32")])
        result = self._sync(STUB_FAIL="wg-syncconf")
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot apply the peers of wg0 (wg syncconf)", result.stderr)
        self.assertEqual(len(self._calls()), 1)
        self._synced()
        self.assertEqual([call.split()[:3] for call in self._calls()], [["wg", "syncconf", "wg0"]])
        self.assertIn(self.peer_b, (self.state / "wg0.synced").read_text())
        self.assertIn("up to date", self._synced().stdout)

    def test_failed_up_is_retried_by_the_next_run(self):
        result = self._sync(STUB_FAIL="wg-quick-up")
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot bring wg0 up with wg-quick", result.stderr)
        self.assertTrue((self.target / "wg0.conf").exists())
        self._calls()
        self._synced()
        self.assertEqual(self._calls(), [f"wg-quick up {self.target}/wg0.conf"])

    def test_after_reload_command_runs_after_the_default_reload(self):
        notes = {"path": "bridge.txt", "mode": "0644", "contents": "br-vxlan"}
        self._set(peers=[(self.peer_a, "10.8.0.2/32")], files=[notes])
        after = 'echo "after $NETJSONCONFIG_VPN_DIR $(cat "$NETJSONCONFIG_VPN_DIR/bridge.txt")" >> "$STUB_CALLS"'
        result = self._sync(NETJSONCONFIG_VPN_AFTER_RELOAD=after)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self._calls(), [f"wg-quick up {self.target}/wg0.conf", f"after {self.target} br-vxlan"])

    def test_failed_after_reload_command_is_retried_by_the_next_run(self):
        result = self._sync(NETJSONCONFIG_VPN_AFTER_RELOAD='echo after >> "$STUB_CALLS"; exit 4')
        self.assertEqual(result.returncode, 1)
        self.assertIn("the after-reload command failed", result.stderr)
        self.assertEqual(self._calls(), [f"wg-quick up {self.target}/wg0.conf", "after"])
        result = self._sync(NETJSONCONFIG_VPN_AFTER_RELOAD='echo after >> "$STUB_CALLS"')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([call.split()[:3] for call in self._calls()], [["wg", "syncconf", "wg0"], ["after"]])

    def test_reload_command_replaces_the_default(self):
        result = self._sync(NETJSONCONFIG_VPN_RELOAD='echo reload >> "$STUB_CALLS"')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self._calls(), ["reload"])


def _vxlan_file(*tunnels, indent=4):
    """The ``vxlan.json`` file of a VXLAN over WireGuard server's archive, ``tunnels`` being ``(vni, remote)``."""
    contents = [{"name": f"vxlan{vni}", "vni": vni, "remote": remote} for vni, remote in tunnels]
    return {"path": "vxlan.json", "mode": "0644", "contents": json.dumps(contents, indent=indent) + "\n"}


def _vxlan_calls(vni, remote):
    add = f"ip link add vxlan{vni} type vxlan id {vni} remote {remote} dstport 4789 dev wg0"
    return [add, f"ip link set vxlan{vni} up"]


class TestVxlanSyncScript(StubbedHostMixin, LiveServerTestCase):
    """VXLAN over WireGuard: one VXLAN interface over the WireGuard one per tunnel of ``vxlan.json``."""

    def setUp(self):
        super().setUp()
        self.peers = [(self.peer_a, "10.8.0.2/32"), (self.peer_b, "10.8.0.3/32")]
        self._set(peers=self.peers, files=[_vxlan_file((1, "10.8.0.2"), (2, "10.8.0.3"))])

    def test_each_tunnel_gets_an_interface(self):
        self._synced()
        calls = [f"wg-quick up {self.target}/wg0.conf", *_vxlan_calls(1, "10.8.0.2"), *_vxlan_calls(2, "10.8.0.3")]
        self.assertEqual(self._calls(), calls)
        self.assertIn("up to date", self._synced().stdout)
        self.assertEqual(self._calls(), [])

    def test_compact_json_is_read_too(self):
        self._set(peers=self.peers, files=[_vxlan_file((7, "10.8.0.2"), indent=None)])
        self._synced()
        self.assertEqual(self._calls()[1:], _vxlan_calls(7, "10.8.0.2"))

    def test_removed_tunnel_loses_its_interface_the_other_is_kept(self):
        self._synced()
        self._calls()
        self._set(peers=self.peers[1:], files=[_vxlan_file((2, "10.8.0.3"))])
        self._synced()
        calls = self._calls()
        self.assertEqual([call.split()[:3] for call in calls], [["wg", "syncconf", "wg0"], ["ip", "link", "delete"]])
        self.assertEqual(calls[1], "ip link delete vxlan1")
        self.assertEqual(sorted(path.name for path in self.state.glob("link-*")), ["link-vxlan2"])

    def test_changed_tunnel_is_recreated(self):
        self._synced()
        self._calls()
        self._set(peers=self.peers, files=[_vxlan_file((1, "10.8.0.2"), (2, "10.8.0.4"))])
        self._synced()
        self.assertEqual(self._calls()[1:], ["ip link delete vxlan2", *_vxlan_calls(2, "10.8.0.4")])

    def test_no_vxlan_file_removes_the_interfaces(self):
        self._synced()
        self._calls()
        self._set(peers=self.peers)
        self._synced()
        self.assertEqual(self._calls()[1:], ["ip link delete vxlan1", "ip link delete vxlan2"])
        self.assertEqual(list(self.state.glob("link-*")), [])

    def test_interfaces_gone_after_a_reboot_come_back_without_a_change(self):
        self._synced()
        self._calls()
        for path in self.state.iterdir():
            path.unlink()
        result = self._synced()
        self.assertIn("but wg0 vxlan1 vxlan2 no longer there", result.stdout)
        calls = [f"wg-quick up {self.target}/wg0.conf", *_vxlan_calls(1, "10.8.0.2"), *_vxlan_calls(2, "10.8.0.3")]
        self.assertEqual(self._calls(), calls)
        self.assertIn("up to date", self._synced().stdout)
        self.assertEqual(self._calls(), [])

    def test_restarted_wireguard_interface_gets_its_vxlan_interfaces_again(self):
        self._synced()
        self._calls()
        self._set(address="10.8.0.1/16", peers=self.peers, files=[_vxlan_file((1, "10.8.0.2"), (2, "10.8.0.3"))])
        self._synced()
        self.assertEqual(self._calls()[2:], [*_vxlan_calls(1, "10.8.0.2"), *_vxlan_calls(2, "10.8.0.3")])

    def test_unexpected_tunnel_is_refused(self):
        tunnel = {"name": "vxlan1; reboot", "vni": 1, "remote": "10.8.0.2"}
        bad = {"path": "vxlan.json", "mode": "0644", "contents": json.dumps([tunnel])}
        self._set(peers=self.peers, files=[bad])
        result = self._sync()
        self.assertEqual(result.returncode, 1)
        self.assertIn("unexpected tunnel in vxlan.json", result.stderr)
        self.assertEqual(self._calls(), [f"wg-quick up {self.target}/wg0.conf"])
