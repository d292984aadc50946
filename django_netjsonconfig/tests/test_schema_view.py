"""The JSON-Schema view used by the configuration editor (netjsonconfig:schema)."""

from django.contrib.auth import get_user_model
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils.http import http_date, parse_http_date
from netjsonconfig import OpenWrt

OPENWRT = "netjsonconfig.OpenWrt"
OPENVPN = "django_netjsonconfig.vpn_backends.OpenVpn"


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
        self.assertEqual(set(response.json()), {OPENWRT, "netjsonconfig.OpenWisp", OPENVPN})

    def test_no_general_schema_has_a_hostname(self):
        self._login()
        for path, schema in self.client.get(self.url).json().items():
            with self.subTest(backend=path):
                general = schema.get("properties", {}).get("general", {})
                self.assertNotIn("hostname", general.get("properties", {}))
                self.assertNotIn("hostname", general.get("required", []))

    def test_device_schemas_start_empty_and_vpn_schema_keeps_defaults(self):
        self._login()
        schemas = self.client.get(self.url).json()
        self.assertEqual(schemas[OPENWRT]["defaultProperties"], [])
        self.assertNotEqual(schemas[OPENVPN].get("defaultProperties"), [])
        tunnel = schemas[OPENVPN]["definitions"]["tunnel"]["properties"]
        self.assertEqual([tunnel[name]["default"] for name in ("ca", "cert", "key")], ["ca.pem", "cert.pem", "key.pem"])
        # the server's default files are added when rendering, the editor does not write them
        self.assertNotIn("default", schemas[OPENVPN]["properties"]["files"])

    def test_library_schema_is_not_modified(self):
        self._login()
        self.client.get(self.url)
        self.assertIn("hostname", OpenWrt.schema["properties"]["general"]["properties"])

    @override_settings(NETJSONCONFIG_BACKENDS=((OPENWRT, "OpenWrt"),))
    def test_only_configured_backends_are_served(self):
        self._login()
        self.assertEqual(set(self.client.get(self.url).json()), {OPENWRT, OPENVPN})

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
