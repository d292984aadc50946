#!/usr/bin/env python3
"""
Builds a new ``startproject`` project whose extending app is made only from
the code blocks of README.rst's "Extending django-netjsonconfig" section
(read by ``tests/readme_blocks.py``, never copied by hand), then, as an
integrator would: makes the app's migrations, migrates, passes ``check``,
registers a device over HTTP and downloads its configuration with the
certificate of a VPN-client template, serves a VPN server's sync endpoints,
shows the admin pages (the organization's included) and runs every
``netjsonconfig_*`` management command. Finally it checks that the usual
mistakes are reported by ``manage.py check`` with their id (the app listed
without its AppConfig, the commands app left out).

    .venv/bin/python .ci/extending_check.py     # about a minute
"""

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import readme_blocks  # noqa: E402

SECRET = "extending-check-secret"
SETTINGS = "# settings.py of your project"
URLS = "# urls.py of your project"


def run(*args, project, check=True, **kwargs):
    print("$", " ".join(str(arg) for arg in args), flush=True)
    return subprocess.run(
        [str(arg) for arg in args], cwd=project, env=environment(project), check=check, text=True, **kwargs
    )


def environment(project):
    env = {key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE", "SAMPLE_APP")}
    env["PYTHONPATH"] = os.pathsep.join([str(project), str(ROOT)])
    env["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
    return env


def build(project):
    """``startproject`` plus the README's files of ``yourapp``, settings and urls, word for word."""
    run(sys.executable, "-m", "django", "startproject", "mysite", project, project=project)
    files = readme_blocks.extending_files()
    for expected in ("models.py", "apps.py", "admin.py", "controller/views.py", "controller/urls.py"):
        if expected not in files:
            sys.exit(f"README.rst has no block for {readme_blocks.APP}/{expected}")
    app = project / readme_blocks.APP
    for relative, content in files.items():
        path = app / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        if path.suffix == ".py":
            # the packages the blocks imply (empty __init__.py, as startapp makes them)
            for package in path.relative_to(project).parents[:-1]:
                (project / package / "__init__.py").touch()
    settings = project / "mysite" / "settings.py"
    extra = readme_blocks.block(readme_blocks.EXTENDING, SETTINGS)
    # what the README's "Setup" asks besides (the shared secret), and what this check needs
    extra += f"\nNETJSONCONFIG_SHARED_SECRET = {SECRET!r}\nALLOWED_HOSTS = ['127.0.0.1', 'testserver']\n"
    settings.write_text(settings.read_text() + "\n" + extra)
    (project / "mysite" / "urls.py").write_text(readme_blocks.block(readme_blocks.EXTENDING, URLS))
    print(f"app built from {len(files)} README blocks: {', '.join(sorted(files))}")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(url, data=None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(url, body, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def expect(label, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + label, flush=True)
    if not condition:
        sys.exit(f"{label} failed {detail}")


def inside(project, step):
    """Runs ``step`` of ``in_project()`` in the project's environment; returns its JSON output."""
    result = run(sys.executable, __file__, "--in-project", step, project=project, capture_output=True)
    sys.stderr.write(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def in_project(step):
    """The steps that need the project's ORM or Django's test client (run in a child process)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_x509.models import Ca
    from yourapp.models import Config, Organization, Template, Vpn, VpnClient

    if step == "setup":
        organization = Organization.objects.create(name="default")
        ca = Ca.objects.create(name="readme-ca", common_name="readme-ca", key_length="2048", digest="sha256")
        vpn = Vpn(
            name="readme-vpn",
            host="vpn.example.com",
            backend="django_netjsonconfig.vpn_backends.OpenVpn",
            ca=ca,
            organization=organization,
            config={
                "openvpn": [
                    {
                        "name": "readme-vpn",
                        "mode": "server",
                        "proto": "udp",
                        "dev": "tun0",
                        "dev_type": "tun",
                        "ca": "ca.pem",
                        "cert": "cert.pem",
                        "key": "key.pem",
                        "dh": "dh.pem",
                        "tls_server": True,
                    }
                ]
            },
        )
        vpn.full_clean()
        vpn.save()
        # attached to every new OpenWrt configuration, so registering gets the certificate
        template = Template(
            name="readme-vpn-client",
            type="vpn",
            vpn=vpn,
            auto_cert=True,
            default=True,
            backend="netjsonconfig.OpenWrt",
            config={},
            organization=organization,
        )
        template.full_clean()
        template.save()
        print(json.dumps({"vpn": vpn.pk.hex, "vpn_key": vpn.key}))
    elif step == "admin":
        config = Config.objects.get()
        client = VpnClient.objects.get()
        admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "admin-pass")
        browser = Client()
        browser.force_login(admin)
        pages = {}
        for url in (
            "/admin/config/organization/add/",
            "/admin/config/config/",
            f"/admin/config/config/{config.pk}/change/",
            "/admin/config/template/add/",
            "/admin/config/vpn/add/",
        ):
            response = browser.get(url)
            pages[url] = response.status_code
        change = browser.get(f"/admin/config/config/{config.pk}/change/").content.decode()
        print(
            json.dumps(
                {
                    "pages": pages,
                    "preview_button": 'name="_preview"' in change or "Preview" in change,
                    "organization": config.organization.name,
                    "certificate": client.cert.common_name if client.cert else None,
                }
            )
        )


def exercise(base, vpn):
    mac = "00:11:22:33:44:66"
    key = hashlib.md5(f"{mac}+{SECRET}".encode()).hexdigest()
    status, body = http(
        f"{base}/controller/register/",
        {"secret": SECRET, "name": "readme-ap", "mac_address": mac, "backend": "netjsonconfig.OpenWrt", "key": key},
    )
    expect("a device registers over HTTP (201)", status == 201, body)
    uuid = dict(line.split(": ", 1) for line in body.decode().splitlines())["uuid"]
    status, checksum = http(f"{base}/controller/checksum/{uuid}/?key={key}")
    expect("its checksum answers 200", status == 200, checksum)
    status, archive = http(f"{base}/controller/download-config/{uuid}/?key={key}")
    expect("its download matches the checksum", status == 200 and hashlib.md5(archive).hexdigest() == checksum.decode())
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        pems = [member.name for member in tar.getmembers() if member.name.startswith("etc/x509/")]
        certificates = [name for name in pems if b"BEGIN CERTIFICATE" in tar.extractfile(name).read()]
    expect(f"the archive carries the VPN client certificate and CA ({', '.join(pems)})", len(certificates) >= 2)
    status, body = http(f"{base}/controller/report-status/{uuid}/", {"key": key, "status": "running"})
    expect("report-status answers 200", status == 200, body)
    status, vpn_checksum = http(f"{base}/controller/vpn/checksum/{vpn['vpn']}/?key={vpn['vpn_key']}")
    expect("the VPN server's checksum answers 200", status == 200, vpn_checksum)
    status, vpn_archive = http(f"{base}/controller/vpn/download-config/{vpn['vpn']}/?key={vpn['vpn_key']}")
    expect(
        "the VPN server's download matches",
        status == 200 and hashlib.md5(vpn_archive).hexdigest() == vpn_checksum.decode(),
    )


def serve(project, vpn):
    port = free_port()
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, cwd=project, env=environment(project))
    try:
        for _attempt in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        exercise(f"http://127.0.0.1:{port}", vpn)
    finally:
        server.terminate()
        server.wait(timeout=30)


def commands(project):
    manage = [sys.executable, "manage.py"]
    for args in (
        ["netjsonconfig_validate"],
        ["netjsonconfig_render"],
        ["netjsonconfig_expiry"],
        ["netjsonconfig_vpn_sync_script"],
        ["netjsonconfig_vpn_sync_script", "--vpn", "readme-vpn", "--url", "https://controller.example.com"],
        ["netjsonconfig_dhparam", "--vpn", "readme-vpn", "--bits", "512"],
    ):
        result = run(*manage, *args, project=project, check=False, capture_output=True)
        expect(f"manage.py {' '.join(args)} succeeds", result.returncode == 0, result.stdout + result.stderr)


def show(output):
    """Prints the messages of django-netjsonconfig's checks in ``output`` (what the extender reads)."""
    for line in output.splitlines():
        if "django_netjsonconfig." in line or line.strip().startswith("HINT:"):
            print("     " + line.strip())


def mistakes(project):
    """The misconfigurations an extender makes are reported by ``check``, with their id."""
    settings = project / "mysite" / "settings.py"
    apps_py = project / readme_blocks.APP / "apps.py"
    urls = project / "mysite" / "urls.py"
    good_settings, good_apps, good_urls = settings.read_text(), apps_py.read_text(), urls.read_text()
    good_models = (project / readme_blocks.APP / "models.py").read_text()
    entry = '"yourapp.apps.MyOwnConfig"'
    manage = [sys.executable, "manage.py", "check"]
    try:
        settings.write_text(good_settings.replace(entry, '"yourapp"'))
        result = run(*manage, project=project, check=False, capture_output=True)
        expect("'yourapp' in INSTALLED_APPS works too (default = True)", result.returncode == 0, result.stderr)
        # the 0.5.6 README's layout: the app is the package "config" of a project
        # package, listed by its module path, and its apps.py without default = True;
        # Django then uses a plain AppConfig labelled "config", the models load
        # and nothing of django-netjsonconfig is set up: check must say so
        package = project / "shop" / "config"
        shutil.copytree(project / readme_blocks.APP, package)
        (project / "shop" / "__init__.py").touch()
        (package / "apps.py").write_text(
            "\n".join(line for line in good_apps.splitlines() if "default = True" not in line).replace(
                '"yourapp"', '"shop.config"'
            )
        )
        settings.write_text(good_settings.replace(entry, '"shop.config"'))
        urls.write_text(good_urls.replace('"yourapp.controller.urls"', '"shop.config.controller.urls"'))
        result = run(*manage, project=project, check=False, capture_output=True)
        output = result.stdout + result.stderr
        show(output)
        expect(
            "an app listed without its AppConfig is refused by check (E101, with a hint)",
            result.returncode != 0
            and "django_netjsonconfig.E101" in output
            and "shop.config.apps.MyOwnConfig" in output,
            output,
        )
        shutil.rmtree(project / "shop")
        urls.write_text(good_urls)
        settings.write_text(good_settings)
        models_py = project / readme_blocks.APP / "models.py"

        # a model forgotten: VpnClient
        models_py.write_text(
            good_models[: good_models.index("class VpnClient(")]
            + good_models[good_models.index("# optional: records") :]
        )
        result = run(*manage, project=project, check=False, capture_output=True)
        output = result.stdout + result.stderr
        show(output)
        expect(
            "without VpnClient, check names the missing model (E102, with a hint)",
            result.returncode != 0 and "django_netjsonconfig.E102" in output and "vpnclient_model" in output,
            output,
        )
        # a relation misdeclared: vpn without its through model
        models_py.write_text(good_models.replace('through="config.VpnClient", ', ""))
        result = run(*manage, project=project, check=False, capture_output=True)
        output = result.stdout + result.stderr
        show(output)
        expect(
            "a vpn relation without through=VpnClient is refused by check (E103, with a hint)",
            result.returncode != 0 and "django_netjsonconfig.E103" in output and "config.Config.vpn" in output,
            output,
        )
        models_py.write_text(good_models)
        settings.write_text(good_settings.replace('"django_netjsonconfig.commands",', ""))
        result = run(*manage, "--fail-level", "WARNING", project=project, check=False, capture_output=True)
        output = result.stdout + result.stderr
        show(output)
        expect(
            "without the commands app, check warns (W101)",
            result.returncode != 0 and "django_netjsonconfig.W101" in output,
            output,
        )
    finally:
        settings.write_text(good_settings)
        apps_py.write_text(good_apps)
        urls.write_text(good_urls)
        (project / readme_blocks.APP / "models.py").write_text(good_models)
        shutil.rmtree(project / "shop", ignore_errors=True)


def main():
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as directory:
        project = Path(directory) / "project"
        project.mkdir()
        build(project)
        manage = [sys.executable, "manage.py"]
        run(*manage, "makemigrations", "config", "-v", "0", project=project)
        run(*manage, "migrate", "--noinput", "-v", "0", project=project)
        run(*manage, "check", "--fail-level", "WARNING", project=project)
        vpn = inside(project, "setup")
        serve(project, vpn)
        admin = inside(project, "admin")
        expect(f"admin pages answer 200 {admin['pages']}", set(admin["pages"].values()) == {200})
        expect("the config's change form has the Preview button", admin["preview_button"])
        expect("the registered config joined the default organization", admin["organization"] == "default")
        expect(f"its VPN client has a certificate ({admin['certificate']})", bool(admin["certificate"]))
        commands(project)
        mistakes(project)
    print(f"extending check passed in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--in-project"]:
        in_project(sys.argv[2])
    else:
        main()
