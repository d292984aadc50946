"""
VPN servers kept current without hand edits: the rendering (merged default
files, CRL, modes), the stored CRL and archive, the sync endpoints, the sync
script (run for real against a live server, with a stub ``systemctl``) and
the command that prints it.
"""

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import LiveServerTestCase, TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from django_netjsonconfig.base.vpn import build_crl
from django_netjsonconfig.checks import check_settings
from django_netjsonconfig.management.commands.netjsonconfig_vpn_sync_script import SCRIPT
from django_netjsonconfig.tests.test_admin import AdminTestMixin
from django_netjsonconfig.tests.test_vpn import VpnTestMixin
from django_netjsonconfig.vpn_backends import OpenVpn

CONTROLLER_HEADER = "X-Openwisp-Controller"
SCRIPT_TIMEOUT = 60


class NoClientOpenVpn:
    """A VPN backend that cannot generate client configurations."""

    schema = OpenVpn.schema

    def __init__(self, config=None, templates=None, context=None):
        self.config = config

    def validate(self):
        pass

    def generate(self):
        return io.BytesIO(b"")


def _members(archive):
    """``{path: (mode, text)}`` of the files of a tar.gz archive (bytes)."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {
            member.name: (member.mode, tar.extractfile(member).read().decode())
            for member in tar.getmembers()
            if member.isfile()
        }


def _crl(vpn):
    return x509.load_pem_x509_crl(_members(vpn.generate().getvalue())["crl.pem"][1].encode())


def _revoked(crl, cert):
    return crl.get_revoked_certificate_by_serial_number(int(cert.serial_number)) is not None


class VpnSyncMixin(VpnTestMixin):
    def _server_with_client(self):
        """A VPN server, its VPN-client template and a device using it (with its certificate)."""
        vpn = self._create_vpn()
        template = self._create_vpn_template(vpn=vpn)
        config = self._create_vpn_config(template)
        return vpn, template, config

    def _checksum(self, vpn, key=None):
        url = reverse("controller:vpn_checksum", args=[vpn.pk])
        return self.client.get(url, {"key": vpn.key if key is None else key})

    def _download(self, vpn, key=None):
        url = reverse("controller:vpn_download_config", args=[vpn.pk])
        return self.client.get(url, {"key": vpn.key if key is None else key})


class TestServerRendering(VpnSyncMixin, TestCase):
    def test_default_rendering_checks_the_crl(self):
        vpn = self._create_vpn()
        files = _members(vpn.generate().getvalue())
        self.assertIn("crl-verify crl.pem", files["example-vpn.conf"][1])
        crl = x509.load_pem_x509_crl(files["crl.pem"][1].encode())
        crl.is_signature_valid(vpn.ca.x509.public_key())
        self.assertEqual(crl.issuer, vpn.ca.x509.subject)

    def test_private_key_is_readable_by_its_owner_only(self):
        files = _members(self._create_vpn().generate().getvalue())
        self.assertEqual(files["key.pem"][0], 0o600)
        for name in ("ca.pem", "cert.pem", "dh.pem", "crl.pem"):
            self.assertEqual(files[name][0], 0o644, name)

    def test_device_private_key_is_readable_by_its_owner_only(self):
        vpn, _template, config = self._server_with_client()
        files = {item["path"]: item for item in config.json(dict=True)["files"]}
        self.assertEqual(files[f"/etc/x509/key-{vpn.pk.hex}.pem"]["mode"], "0600")

    def test_operator_file_with_a_default_path_replaces_the_default_one(self):
        own = [
            {"path": "dh.pem", "mode": "0600", "contents": "custom"},
            {"path": "ccd/device", "mode": "0644", "contents": "ifconfig-push 10.8.0.9 255.255.255.0"},
        ]
        vpn = self._create_vpn(config={**self._vpn_config, "files": own})
        files = _members(vpn.generate().getvalue())
        self.assertEqual(files["dh.pem"], (0o600, "custom"))
        self.assertEqual(files["ccd/device"][1], "ifconfig-push 10.8.0.9 255.255.255.0")
        self.assertEqual(files["key.pem"], (0o600, vpn.cert.private_key))
        self.assertIn("crl.pem", files)

    def test_crl_can_be_turned_off(self):
        vpn = self._create_vpn(include_crl=False)
        files = _members(vpn.generate().getvalue())
        self.assertNotIn("crl.pem", files)
        self.assertNotIn("crl-verify", files["example-vpn.conf"][1])

    def test_operator_crl_option_is_kept(self):
        server = {**self._vpn_config["openvpn"][0], "crl_verify": "/etc/openvpn/other-crl.pem"}
        vpn = self._create_vpn(config={"openvpn": [server]})
        self.assertIn("crl-verify /etc/openvpn/other-crl.pem", vpn.backend_instance.render())

    def test_stored_configuration_gets_no_files(self):
        vpn = self._create_vpn()
        vpn.generate()
        self.assertEqual(self._reload(vpn).config, self._vpn_config)


class TestCrlFreshness(VpnSyncMixin, TestCase):
    def test_crl_is_valid_for_the_configured_days(self):
        crl = _crl(self._reload(self._create_vpn()))
        self.assertEqual(crl.next_update_utc - crl.last_update_utc, timedelta(days=7))
        with override_settings(NETJSONCONFIG_CRL_VALIDITY_DAYS=3):
            crl = _crl(self._reload(self._create_vpn(name="short")))
        self.assertEqual(crl.next_update_utc - crl.last_update_utc, timedelta(days=3))

    def test_archive_is_identical_while_nothing_changes(self):
        vpn = self._create_vpn()
        first = self._reload(vpn).generate().getvalue()
        second = self._reload(vpn).generate().getvalue()
        self.assertEqual(first, second)

    def test_revocation_renews_the_crl(self):
        vpn, template, config = self._server_with_client()
        cert = self._vpnclient(config).cert
        before = self._reload(vpn).get_cached_archive()[0]
        self.assertFalse(_revoked(_crl(self._reload(vpn)), cert))
        config.templates.remove(template)
        vpn = self._reload(vpn)
        self.assertTrue(_revoked(_crl(vpn), cert))
        self.assertNotEqual(vpn.get_cached_archive()[0], before)

    def test_unrevocation_renews_the_crl(self):
        vpn, template, config = self._server_with_client()
        cert = self._vpnclient(config).cert
        cert.revoke()
        self.assertTrue(_revoked(_crl(self._reload(vpn)), cert))
        cert.revoked, cert.revoked_at = False, None
        cert.save()
        self.assertFalse(_revoked(_crl(self._reload(vpn)), cert))

    def test_deleting_a_revoked_certificate_renews_the_crl(self):
        vpn, template, config = self._server_with_client()
        config.templates.remove(template)
        cert = self.cert_model.objects.get(revoked=True)
        self.assertTrue(_revoked(_crl(self._reload(vpn)), cert))
        cert.delete()
        self.assertFalse(_revoked(_crl(self._reload(vpn)), cert))

    def test_crl_is_renewed_when_less_than_half_of_its_validity_remains(self):
        vpn = self._create_vpn()
        self._reload(vpn).get_cached_archive()
        # the stored CRL as it is three and a half days (and a minute) later
        now = timezone.now().replace(microsecond=0)
        aged = build_crl(vpn.ca, now - timedelta(days=3, hours=12, minutes=1), now + timedelta(days=3, hours=11))
        self.vpn_model.objects.filter(pk=vpn.pk).update(crl_db=aged, crl_next_update=now + timedelta(days=3, hours=11))
        checksum, archive = self._reload(vpn).get_cached_archive()
        served = _members(archive)["crl.pem"][1]
        self.assertNotEqual(served, aged)
        crl = x509.load_pem_x509_crl(served.encode())
        self.assertGreaterEqual(crl.next_update_utc, now + timedelta(days=7))
        self.assertEqual(self._reload(vpn).crl_db, served)
        self.assertEqual(self._reload(vpn).get_cached_archive(), (checksum, archive))

    def test_crl_is_kept_while_more_than_half_of_its_validity_remains(self):
        vpn = self._create_vpn()
        checksum = self._reload(vpn).get_cached_archive()[0]
        later = timezone.now() + timedelta(days=3, hours=12, minutes=5)
        self.vpn_model.objects.filter(pk=vpn.pk).update(crl_next_update=later)
        self.assertEqual(self._reload(vpn).get_cached_archive()[0], checksum)

    def test_unrelated_edit_keeps_the_checksum(self):
        vpn = self._create_vpn()
        checksum = self._reload(vpn).get_cached_archive()[0]
        vpn = self._reload(vpn)
        vpn.notes = "moved to the new rack"
        vpn.full_clean()
        vpn.save()
        self.assertEqual(self._reload(vpn).stored_checksum, None)  # invalidated
        self.assertEqual(self._reload(vpn).get_cached_archive()[0], checksum)  # same output

    def test_a_rendering_overtaken_by_a_revocation_is_not_stored(self):
        vpn, template, config = self._server_with_client()
        stale = self._reload(vpn)
        stale.get_crl()
        config.templates.remove(template)  # revokes: the stored CRL is dropped
        stale.store_rendering()
        row = self._reload(vpn)
        self.assertEqual(row.checksum_db, "")
        self.assertTrue(_revoked(_crl(row), self._vpnclient_cert(config)))

    def test_saving_a_stale_server_keeps_the_dropped_crl_dropped(self):
        vpn, template, config = self._server_with_client()
        stale = self._reload(vpn)
        self.assertTrue(stale.crl_db)
        config.templates.remove(template)
        stale.notes = "edited meanwhile"
        stale.full_clean()
        stale.save()
        self.assertTrue(_revoked(_crl(self._reload(vpn)), self._vpnclient_cert(config)))

    def test_new_ca_renews_the_crl(self):
        vpn = self._create_vpn()
        old_crl = self._reload(vpn).get_crl()
        vpn = self._reload(vpn)
        vpn.ca, vpn.cert = self._create_ca(name="new-ca", common_name="new-ca"), None
        vpn.full_clean()
        vpn.save()
        crl = x509.load_pem_x509_crl(self._reload(vpn).get_crl().encode())
        self.assertNotEqual(self._reload(vpn).crl_db, old_crl)
        self.assertEqual(crl.issuer, vpn.ca.x509.subject)

    def _vpnclient_cert(self, config):
        return self.cert_model.objects.get(revoked=True, name=config.name)


class TestCrlValiditySetting(TestCase):
    def _errors(self):
        return [error for error in check_settings(None) if error.id == "django_netjsonconfig.E008"]

    def test_default_is_accepted(self):
        self.assertEqual(self._errors(), [])

    def test_out_of_range_values_are_errors_naming_the_setting(self):
        for value in (0, -1, 366, "7", 2.5, True, None):
            with self.subTest(value=value), override_settings(NETJSONCONFIG_CRL_VALIDITY_DAYS=value):
                errors = self._errors()
                self.assertEqual(len(errors), 1)
                self.assertIn("NETJSONCONFIG_CRL_VALIDITY_DAYS", errors[0].msg)

    def test_bounds_are_accepted(self):
        for value in (1, 365):
            with self.subTest(value=value), override_settings(NETJSONCONFIG_CRL_VALIDITY_DAYS=value):
                self.assertEqual(self._errors(), [])


class TestVpnClientTemplateSave(VpnSyncMixin, TestCase):
    def test_save_fills_the_client_configuration(self):
        vpn = self._create_vpn()
        template = self._build(
            self.template_model, {}, {"name": "vpn", "backend": "netjsonconfig.OpenWrt", "type": "vpn", "vpn": vpn}
        )
        template.save()
        stored = self._reload(template).config
        self.assertEqual(stored, vpn.auto_client(auto_cert=True))
        self.assertEqual(stored["openvpn"][0]["remote"], [{"host": "vpn1.test.com", "port": 1195}])

    def test_save_without_a_client_configuration_is_refused(self):
        vpn = self._create_vpn()
        path = f"{__name__}.NoClientOpenVpn"
        self.vpn_model.objects.filter(pk=vpn.pk).update(backend=path)
        template = self._build(
            self.template_model,
            {},
            {"name": "vpn", "backend": "netjsonconfig.OpenWrt", "type": "vpn", "vpn": self._reload(vpn)},
        )
        with self.assertRaises(ValidationError) as context:
            template.save()
        self.assertIn("config", context.exception.message_dict)
        self.assertFalse(self.template_model.objects.filter(name="vpn").exists())


class TestSyncEndpoints(VpnSyncMixin, TestCase):
    def test_checksum_is_the_md5_of_the_download(self):
        vpn = self._create_vpn()
        checksum = self._checksum(vpn)
        download = self._download(vpn)
        self.assertEqual(checksum.status_code, 200)
        self.assertEqual(checksum["Content-Type"], "text/plain")
        self.assertEqual(checksum[CONTROLLER_HEADER], "true")
        self.assertEqual(download.status_code, 200)
        self.assertEqual(download[CONTROLLER_HEADER], "true")
        self.assertEqual(download["Content-Type"], "application/octet-stream")
        self.assertEqual(download["Content-Disposition"], "attachment; filename=test-vpn.tar.gz")
        self.assertEqual(checksum.content.decode(), hashlib.md5(download.content).hexdigest())
        self.assertIn("crl.pem", _members(download.content))

    def test_two_downloads_without_changes_are_identical(self):
        vpn = self._create_vpn()
        first, second = self._download(vpn).content, self._download(vpn).content
        self.assertEqual(first, second)
        self.assertEqual(self._checksum(vpn).content, self._checksum(vpn).content)

    def test_hex_id_is_accepted(self):
        vpn = self._create_vpn()
        url = reverse("controller:vpn_checksum", args=[vpn.pk.hex])
        self.assertEqual(self.client.get(url, {"key": vpn.key}).status_code, 200)

    def test_revocation_changes_the_checksum(self):
        vpn, template, config = self._server_with_client()
        before = self._checksum(vpn).content
        config.templates.remove(template)
        self.assertNotEqual(self._checksum(vpn).content, before)

    def test_wrong_key_is_forbidden_and_writes_nothing(self):
        vpn = self._create_vpn()
        row = self.vpn_model.objects.filter(pk=vpn.pk)
        before = row.values("checksum_db", "render_version", "crl_db").get()
        for response in (self._checksum(vpn, key="wrong"), self._download(vpn, key="wrong")):
            self.assertEqual(response.status_code, 403)
            self.assertEqual(response.content, b"error: wrong key\n")
            self.assertEqual(response[CONTROLLER_HEADER], "true")
        self.assertEqual(row.values("checksum_db", "render_version", "crl_db").get(), before)

    def test_device_key_does_not_open_the_server(self):
        vpn, _template, config = self._server_with_client()
        self.assertEqual(self._checksum(vpn, key=config.key).status_code, 403)

    def test_missing_key_is_a_bad_request(self):
        vpn = self._create_vpn()
        response = self.client.get(reverse("controller:vpn_checksum", args=[vpn.pk]))
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.content, b'error: missing required parameter "key"\n')

    def test_unknown_or_malformed_id_is_not_found(self):
        vpn = self._create_vpn()
        for pk in ("00000000000000000000000000000000", "not-a-uuid"):
            for name in ("controller:vpn_checksum", "controller:vpn_download_config"):
                response = self.client.get(reverse(name, args=[pk]), {"key": vpn.key})
                self.assertEqual(response.status_code, 404)
                self.assertEqual(response.content, b"error: no such VPN server\n")
                self.assertEqual(response[CONTROLLER_HEADER], "true")

    def test_only_get_is_allowed(self):
        vpn = self._create_vpn()
        for name in ("controller:vpn_checksum", "controller:vpn_download_config"):
            url = reverse(name, args=[vpn.pk])
            response = self.client.post(url, {"key": vpn.key})
            self.assertEqual(response.status_code, 405)
            self.assertEqual(response[CONTROLLER_HEADER], "true")
            self.assertEqual(response["Allow"], "GET, HEAD")
            self.assertEqual(response.content, b"error: method POST not allowed, use GET\n")
        self.assertEqual(self.vpn_model.objects.get(pk=vpn.pk).checksum_db, "")

    def test_rendering_is_stored_once_and_served_from_the_row(self):
        """Guards an optimisation: the VPN server rendering is stored and served from its row."""
        vpn = self._create_vpn()
        checksum = self._checksum(vpn).content.decode()
        row = self._reload(vpn)
        self.assertTrue(row.checksum_db.endswith(checksum))
        self.assertEqual(hashlib.md5(bytes(row.archive_db)).hexdigest(), checksum)
        with self.assertNumQueries(1):
            self.assertEqual(self._download(vpn).status_code, 200)


class TestSyncScriptCommand(VpnSyncMixin, TestCase):
    def test_prints_the_shipped_script(self):
        out = io.StringIO()
        call_command("netjsonconfig_vpn_sync_script", stdout=out)
        self.assertEqual(out.getvalue(), SCRIPT.read_text())
        self.assertTrue(out.getvalue().startswith("#!/bin/sh\n"))

    def test_prints_the_environment_of_a_server(self):
        vpn = self._create_vpn()
        out = io.StringIO()
        call_command("netjsonconfig_vpn_sync_script", vpn="test-vpn", url="https://ctl.example.com/", stdout=out)
        self.assertEqual(
            out.getvalue(),
            f"NETJSONCONFIG_URL=https://ctl.example.com\nNETJSONCONFIG_VPN_UUID={vpn.pk.hex}\n"
            f"NETJSONCONFIG_VPN_KEY={vpn.key}\n",
        )

    def test_unknown_server_is_an_error(self):
        with self.assertRaises(CommandError):
            call_command("netjsonconfig_vpn_sync_script", vpn="nope", url="https://ctl.example.com")


def run_sync_script(url, vpn, directory, env=None, client="curl", key=None):
    """Runs the shipped script (from the command's output) with ``sh``; returns the completed process."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "NETJSONCONFIG_URL": url,
        "NETJSONCONFIG_VPN_UUID": vpn.pk.hex,
        "NETJSONCONFIG_VPN_KEY": key or vpn.key,
        "NETJSONCONFIG_VPN_DIR": str(directory),
        "NETJSONCONFIG_HTTP_CLIENT": client,
        **(env or {}),
    }
    script = io.StringIO()
    call_command("netjsonconfig_vpn_sync_script", stdout=script)
    return subprocess.run(
        ["sh", "-s"],
        input=script.getvalue(),
        env=environment,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
    )


class TestSyncScript(VpnSyncMixin, LiveServerTestCase):
    """The script against a live controller; a stub ``systemctl`` records the restarts."""

    def setUp(self):
        self.assertIsNotNone(shutil.which("curl"), "the sync script tests need curl")
        self.tmp = Path(tempfile.mkdtemp(prefix="djnjc-vpn-sync-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.target = self.tmp / "server"
        stubs = self.tmp / "bin"
        stubs.mkdir()
        self.calls = self.tmp / "calls"
        stub = stubs / "systemctl"
        stub.write_text('#!/bin/sh\necho "systemctl $*" >> "$STUB_CALLS"\n')
        stub.chmod(0o755)
        self.env = {"PATH": f"{stubs}:{os.environ.get('PATH', '/usr/bin:/bin')}", "STUB_CALLS": str(self.calls)}
        self.vpn, self.template, self.config = self._server_with_client()

    def _sync(self, **kwargs):
        return run_sync_script(self.live_server_url, self.vpn, self.target, env=self.env, **kwargs)

    def _calls(self):
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    def _installed(self):
        return {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in self.target.iterdir()}

    def _mode(self, name):
        return stat.S_IMODE((self.target / name).stat().st_mode)

    def test_installs_restarts_then_leaves_everything_alone(self):
        result = self._sync()
        self.assertEqual(result.returncode, 0, result.stderr)
        download = self.client.get(reverse("controller:vpn_download_config", args=[self.vpn.pk]), {"key": self.vpn.key})
        for name, (mode, contents) in _members(download.content).items():
            self.assertEqual((self.target / name).read_text(), contents, name)
            self.assertEqual(self._mode(name), mode, name)
        self.assertEqual(self._mode("key.pem"), 0o600)
        self.assertEqual(self._calls(), ["systemctl restart openvpn-server@example-vpn"])
        installed = self._installed()
        for name, (_inode, mtime) in installed.items():  # the install time, not the archive's 0
            self.assertGreater(mtime, (time.time() - 3600) * 1e9, name)

        again = self._sync()
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("up to date", again.stdout)
        self.assertEqual(self._calls(), ["systemctl restart openvpn-server@example-vpn"])
        self.assertEqual(self._installed(), installed)  # a rename would give a new inode
        self.assertEqual(list(self.target.glob(".sync.*")), [])

    def test_revocation_installs_the_new_crl_only(self):
        self.assertEqual(self._sync().returncode, 0)
        before = {name: (self.target / name).read_bytes() for name in ("ca.pem", "cert.pem", "key.pem", "crl.pem")}
        installed = self._installed()
        self.config.templates.remove(self.template)
        result = self._sync()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("installed crl.pem", result.stdout)
        reinstalled = self._installed()
        self.assertEqual(
            sorted(name for name in installed if installed[name] != reinstalled[name]),
            [".netjsonconfig-checksum", ".netjsonconfig-files", "crl.pem"],
        )
        crl = x509.load_pem_x509_crl((self.target / "crl.pem").read_bytes())
        cert = self.cert_model.objects.get(revoked=True)
        self.assertIsNotNone(crl.get_revoked_certificate_by_serial_number(int(cert.serial_number)))
        for name in ("ca.pem", "cert.pem", "key.pem"):
            self.assertEqual((self.target / name).read_bytes(), before[name], name)
        self.assertEqual(len(self._calls()), 2)

    def test_removed_files_are_deleted(self):
        vpn = self._reload(self.vpn)
        vpn.config = {**vpn.config, "files": [{"path": "ccd/old", "mode": "0644", "contents": "x"}]}
        vpn.full_clean()
        vpn.save()
        self.assertEqual(self._sync().returncode, 0)
        self.assertTrue((self.target / "ccd" / "old").exists())
        vpn = self._reload(vpn)
        vpn.config = {"openvpn": vpn.config["openvpn"]}
        vpn.full_clean()
        vpn.save()
        self.assertEqual(self._sync().returncode, 0)
        self.assertFalse((self.target / "ccd" / "old").exists())
        self.assertTrue((self.target / "key.pem").exists())

    def test_wget_works_too(self):
        if not shutil.which("wget"):
            self.skipTest("wget is not installed")
        result = self._sync(client="wget")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue((self.target / "crl.pem").exists())
        self.assertIn("up to date", self._sync(client="wget").stdout)

    def test_wrong_key_installs_nothing(self):
        for client in ("curl", "wget") if shutil.which("wget") else ("curl",):
            result = self._sync(key="wrong", client=client)
            self.assertEqual(result.returncode, 1)
            self.assertIn("HTTP 403: error: wrong key", result.stderr)
        self.assertEqual([path.name for path in self.target.iterdir()], [])
        self.assertEqual(self._calls(), [])

    def test_failed_restart_is_retried_by_the_next_run(self):
        failing = {**self.env, "NETJSONCONFIG_VPN_RELOAD": 'echo reload >> "$STUB_CALLS"; exit 3'}
        result = run_sync_script(self.live_server_url, self.vpn, self.target, env=failing)
        self.assertEqual(result.returncode, 1)
        self.assertIn("reload command failed", result.stderr)
        result = self._sync()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self._calls(), ["reload", "systemctl restart openvpn-server@example-vpn"])
        self.assertIn("up to date", self._sync().stdout)

    def test_reload_command_runs_in_the_target_directory_environment(self):
        env = {**self.env, "NETJSONCONFIG_VPN_RELOAD": 'echo "reload $NETJSONCONFIG_VPN_DIR" >> "$STUB_CALLS"'}
        result = run_sync_script(self.live_server_url, self.vpn, self.target, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self._calls(), [f"reload {self.target}"])


class TestVpnAdmin(AdminTestMixin, VpnSyncMixin, TestCase):
    def _change_data(self, vpn, **overrides):
        data = {
            "name": vpn.name,
            "host": vpn.host,
            "ca": vpn.ca_id,
            "cert": vpn.cert_id,
            "key": vpn.key,
            "include_crl": "on",
            "backend": vpn.backend,
            "notes": "",
            "dh": vpn.dh,
            "config": json.dumps(vpn.config),
            **overrides,
        }
        return self._form_data(self.vpn_model, {key: value for key, value in data.items() if value is not None})

    def _post(self, vpn, **overrides):
        return self.client.post(self._url(self.vpn_model, "change", vpn.pk), self._change_data(vpn, **overrides))

    def test_change_page_shows_the_key_and_the_crl_option(self):
        vpn = self._create_vpn()
        response = self.client.get(self._url(self.vpn_model, "change", vpn.pk))
        self.assertContains(response, f'value="{vpn.key}"')
        self.assertContains(response, 'name="include_crl"')

    def test_key_with_unsafe_characters_is_refused_on_key(self):
        vpn = self._create_vpn()
        response = self._post(vpn, key="not a/key")
        self.assertEqual(response.status_code, 200)
        self.assertIn("key", response.context["adminform"].form.errors)
        self.assertEqual(self._reload(vpn).key, vpn.key)

    def test_certificate_of_another_ca_is_refused_on_cert(self):
        vpn = self._create_vpn()
        other = self._create_vpn(name="other", ca=self._create_ca(name="other-ca", common_name="other-ca"))
        response = self._post(vpn, cert=other.cert_id)
        self.assertEqual(response.status_code, 200)
        self.assertIn("cert", response.context["adminform"].form.errors)

    def test_turning_the_crl_off_changes_the_served_archive(self):
        vpn = self._create_vpn()
        self.assertIn("crl.pem", _members(self._download(vpn).content))
        response = self._post(vpn, include_crl=None)
        self.assertEqual(response.status_code, 302)
        self.assertNotIn("crl.pem", _members(self._download(vpn).content))


class TestServerVariables(AdminTestMixin, VpnSyncMixin, TestCase):
    """A VPN server's configuration is checked for undefined variables like a device's."""

    _change_data, _post = TestVpnAdmin._change_data, TestVpnAdmin._post

    def _config_with(self, value):
        vpn = self._create_vpn()
        config = json.loads(json.dumps(vpn.config))
        config["openvpn"][0]["push"] = [value]
        return vpn, config

    def test_undefined_variable_is_refused_on_config_in_the_admin(self):
        vpn, config = self._config_with("dhcp-option DOMAIN {{ foo }}")
        before = self._download(vpn).content
        response = self._post(vpn, config=json.dumps(config))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["adminform"].form.errors["config"], ["variable `foo` is not defined"])
        self.assertEqual(self._download(vpn).content, before)

    def test_undefined_variable_is_refused_by_full_clean(self):
        vpn, config = self._config_with("dhcp-option DOMAIN {{ foo }}")
        vpn.config = config
        with self.assertRaises(ValidationError) as raised:
            vpn.full_clean()
        self.assertEqual(raised.exception.message_dict, {"config": ["variable `foo` is not defined"]})

    def test_netjsonconfig_context_defines_server_variables(self):
        with override_settings(NETJSONCONFIG_CONTEXT={"foo": "lab.example.com"}):
            vpn, config = self._config_with("dhcp-option DOMAIN {{ foo }}")
            response = self._post(vpn, config=json.dumps(config))
            self.assertEqual(response.status_code, 302)
            conf = _members(self._download(vpn).content)["example-vpn.conf"][1]
        self.assertIn("push dhcp-option DOMAIN lab.example.com", conf.replace('"', ""))

    def test_a_global_variable_never_replaces_the_servers_own_files(self):
        vpn = self._create_vpn()
        with override_settings(NETJSONCONFIG_CONTEXT={"key": "global-value", "ca": "global-value"}):
            files = _members(self._reload(vpn).generate().getvalue())
        self.assertEqual(files["key.pem"][1].strip(), vpn.cert.private_key.strip())
        self.assertEqual(files["ca.pem"][1].strip(), vpn.ca.certificate.strip())
