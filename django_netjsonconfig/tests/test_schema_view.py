"""The JSON-Schema view used by the configuration editor (netjsonconfig:schema)."""

from django.contrib.auth import get_user_model
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils.http import http_date, parse_http_date
from jsonschema import Draft4Validator
from netjsonconfig import OpenWrt

from django_netjsonconfig.backends import load_backend
from django_netjsonconfig.tests import TestMixin

OPENWRT = "netjsonconfig.OpenWrt"
OPENVPN = "django_netjsonconfig.vpn_backends.OpenVpn"
WIREGUARD = ("django_netjsonconfig.vpn_backends.Wireguard", "django_netjsonconfig.vpn_backends.VxlanWireguard")


class TestSchemaView(TestCase):
    url = reverse("netjsonconfig:schema")

    def _login(self, is_staff=True):
        user = get_user_model().objects.create_user("user", "user@example.com", "pass", is_staff=is_staff)
        self.client.force_login(user)

    def test_url(self):
        self.assertEqual(self.url, "/netjsonconfig/schema.json")

    def test_anonymous_gets_403_json_error(self):
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertEqual(response.json(), {"error": "login required"})

    def test_non_staff_user_gets_403(self):
        self._login(is_staff=False)
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json(), {"error": "login required"})

    def test_anonymous_with_if_modified_since_still_gets_403(self):
        response = self.client.get(self.url, headers={"if-modified-since": http_date()})
        self.assertEqual(response.status_code, 403)

    def test_staff_gets_schemas_of_every_backend(self):
        self._login()
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertEqual(set(response.json()), {OPENWRT, "netjsonconfig.OpenWisp", OPENVPN, *WIREGUARD})

    def test_hostname_is_optional_and_says_where_it_comes_from(self):
        self._login()
        schemas = self.client.get(self.url).json()
        for path in (OPENWRT, "netjsonconfig.OpenWisp"):
            with self.subTest(backend=path):
                general = schemas[path]["properties"]["general"]
                self.assertIn("configuration's name", general["properties"]["hostname"]["description"])
                self.assertNotIn("hostname", general.get("required", []))

    def test_device_schemas_start_empty_and_vpn_schema_keeps_defaults(self):
        self._login()
        schemas = self.client.get(self.url).json()
        self.assertEqual(schemas[OPENWRT]["defaultProperties"], ["general"])
        self.assertIs(schemas[OPENWRT]["options"]["djnjc_write_defaults"], False)
        self.assertNotIn("djnjc_write_defaults", schemas[OPENVPN].get("options", {}))
        self.assertNotEqual(schemas[OPENVPN].get("defaultProperties"), [])
        tunnel = schemas[OPENVPN]["definitions"]["tunnel"]["properties"]
        self.assertEqual([tunnel[name]["default"] for name in ("ca", "cert", "key")], ["ca.pem", "cert.pem", "key.pem"])
        # the server's default files are added when rendering, the editor does not write them
        self.assertNotIn("default", schemas[OPENVPN]["properties"]["files"])

    def test_vpn_server_schema_accepts_and_refuses_what_the_backend_does(self):
        self._login()
        served = self.client.get(self.url).json()[OPENVPN]
        # json-editor merges an allOf into one schema: "Server (manual)" has a single "not"
        manual = served["definitions"]["server_manual"]["allOf"]
        self.assertEqual(len([member for member in manual if "not" in member]), 1)
        base = {
            "name": "default",
            "mode": "server",
            "proto": "udp",
            "dev": "tun0",
            "dev_type": "tun",
            "tls_server": True,
        }
        base.update(ca="ca.pem", cert="cert.pem", key="key.pem", dh="dh.pem")
        servers = {
            "routed": {**base, "server": "10.8.0.0 255.255.255.0"},
            "bridged": {**base, "dev": "tap0", "dev_type": "tap", "server_bridge": "10.8.0.4 255.255.255.0"},
            "manual": base,
            "routed and bridged": {**base, "server": "10.8.0.0 255.255.255.0", "server_bridge": ""},
        }
        backend = Draft4Validator(load_backend(OPENVPN).schema)
        editor = Draft4Validator(served)
        for name, server in servers.items():
            with self.subTest(server=name):
                config = {"openvpn": [server]}
                self.assertEqual(editor.is_valid(config), backend.is_valid(config))
                self.assertEqual(editor.is_valid(config), name != "routed and bridged")

    def test_library_schema_is_not_modified(self):
        self._login()
        self.client.get(self.url)
        self.assertIn("hostname", OpenWrt.schema["properties"]["general"]["properties"])

    @override_settings(NETJSONCONFIG_BACKENDS=((OPENWRT, "OpenWrt"),))
    def test_only_configured_backends_are_served(self):
        self._login()
        self.assertEqual(set(self.client.get(self.url).json()), {OPENWRT, OPENVPN, *WIREGUARD})

    def test_response_has_last_modified(self):
        self._login()
        response = self.client.get(self.url)
        self.assertLessEqual(parse_http_date(response["Last-Modified"]), parse_http_date(http_date()))

    def test_if_modified_since_last_modified_gets_304(self):
        self._login()
        last_modified = self.client.get(self.url)["Last-Modified"]
        response = self.client.get(self.url, headers={"if-modified-since": last_modified})
        self.assertEqual(response.status_code, 304)
        self.assertEqual(response.content, b"")

    def test_if_modified_since_older_date_gets_200(self):
        self._login()
        response = self.client.get(self.url, headers={"if-modified-since": http_date(0)})
        self.assertEqual(response.status_code, 200)

    def test_post_is_not_allowed(self):
        self._login()
        self.assertEqual(self.client.post(self.url).status_code, 405)

    def test_head_is_allowed(self):
        self._login()
        self.assertEqual(self.client.head(self.url).status_code, 200)


class TestSchemaCaching(TestMixin, TestCase):
    """The editor requests the schemas with their version: the browser keeps them until they change."""

    def setUp(self):
        user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pass")
        self.client.force_login(user)

    def _template_add_url(self):
        opts = self.template_model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_add")

    def _editor_schema_url(self):
        page = self.client.get(self._template_add_url()).content.decode()
        marker = 'data-schema-url="'
        return page[page.index(marker) + len(marker) :].split('"')[0]

    def test_editor_requests_a_versioned_url_cached_for_a_year(self):
        url = self._editor_schema_url()
        self.assertRegex(url, r"^/netjsonconfig/schema\.json\?v=[0-9a-f]{12}$")
        response = self.client.get(url)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Cache-Control"], "private, max-age=31536000, immutable")

    def test_unversioned_or_outdated_url_is_revalidated(self):
        for url in (reverse("netjsonconfig:schema"), reverse("netjsonconfig:schema") + "?v=000000000000"):
            self.assertEqual(self.client.get(url)["Cache-Control"], "private, no-cache")

    def test_etag_revalidation_gets_304(self):
        url = reverse("netjsonconfig:schema")
        etag = self.client.get(url)["ETag"]
        response = self.client.get(url, headers={"if-none-match": etag})
        self.assertEqual(response.status_code, 304)

    def test_other_backends_change_the_version(self):
        url = self._editor_schema_url()
        with override_settings(NETJSONCONFIG_BACKENDS=(("netjsonconfig.OpenWrt", "OpenWrt"),)):
            self.assertNotEqual(self._editor_schema_url(), url)

    def test_editor_scripts_are_deferred_and_code_editor_is_not_loaded_with_the_page(self):
        page = self.client.get(self._template_add_url()).content.decode()
        self.assertRegex(page, r'<script src="[^"]*editor-libs\.min\.js" defer>')
        self.assertRegex(page, r'<script src="[^"]*widget\.js"[^>]* defer>')
        self.assertIn('data-codemirror-url="/static/django-netjsonconfig/vendor/codemirror.min.js"', page)
        self.assertNotIn('src="/static/django-netjsonconfig/vendor/codemirror.min.js"', page)
