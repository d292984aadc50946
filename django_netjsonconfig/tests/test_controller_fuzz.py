"""
Random requests thrown at every controller endpoint: the controller never
answers 5xx, a rejected request changes no row, and an accepted one changes
only the columns the device owns.
"""

import hashlib
import re
from unittest import mock
from urllib.parse import quote, urlencode

from django.core.exceptions import TooManyFieldsSent
from django.db import connection
from django.test import RequestFactory, SimpleTestCase, override_settings
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase, TransactionTestCase

from django_netjsonconfig.controller.params import request_param
from django_netjsonconfig.tests import TEST_KEY, TEST_MAC, TestMixin

SECRET = "fuzz-secret"
FORM = "application/x-www-form-urlencoded"
FUZZ_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    # the same tests run in two classes (with and without the connection
    # memory) on purpose; nothing is replayed from a database (database=None)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.differing_executors],
)

#: columns each endpoint may write on an existing config when it accepts a request
DEVICE_COLUMNS = {
    "checksum": {"last_ip", "management_ip"},
    "download_config": {"last_ip", "management_ip", "downloaded_checksum"},
    "report_status": {"status", "error_reason", "applied_checksum", "applied_archive"},
    "update_info": {"model", "os", "system"},
    "register": {"last_ip", "management_ip", "hardware_id", "model", "os", "system"},
}

_TEXT = st.characters(exclude_categories=("Cs",))
VALUES = st.one_of(
    st.text(_TEXT, max_size=40),
    st.binary(max_size=40).map(lambda data: data.decode("latin-1")),
    st.sampled_from(
        [
            "",
            "running",
            "applied",
            "error",
            "modified",
            "netjsonconfig.OpenWrt",
            TEST_MAC,
            "00:11:22:aa:bb:cc",
            "10.0.0.1",
            "fd00::1",
            "999.1.1.1",
            "uci: Entry not found",
            "\x00",
            "\ufffd",
        ]
    ),
    st.builds(lambda character, size: character * size, _TEXT, st.integers(1000, 50000)),
)
FIELD_NAMES = st.one_of(
    st.sampled_from(
        [
            "key",
            "status",
            "error_reason",
            "management_ip",
            "model",
            "os",
            "system",
            "id",
            "config",
            "templates",
            "vpn",
            "last_ip",
            "render_version",
            "rendered_checksum",
            "downloaded_checksum",
            "name",
            "created",
        ]
    ),
    st.text(_TEXT, min_size=1, max_size=20),
)
EXTRA_FIELDS = st.dictionaries(FIELD_NAMES, VALUES, max_size=6)
KEYS = st.one_of(st.just(TEST_KEY), VALUES)


def consistent_key(base):
    return hashlib.md5(f"{base}+{SECRET}".encode()).hexdigest()


def mostly(*valid):
    """Usually one of the ``valid`` values, sometimes anything."""
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), st.sampled_from(valid), VALUES)


_VALID_CORE = st.fixed_dictionaries(
    {
        "secret": st.just(SECRET),
        "name": st.sampled_from(["ap-new", "test", "ap.lan", TEST_MAC]),
        "mac_address": st.sampled_from([TEST_MAC, "00:11:22:33:44:66", "00-11-22-33-44-77", "00:11:22:aa:bb:cc"]),
        "backend": st.just("netjsonconfig.OpenWrt"),
    }
)
_RANDOM_CORE = st.fixed_dictionaries(
    {},
    optional={
        "secret": mostly(SECRET),
        "name": mostly("ap-new", "test"),
        "mac_address": mostly(TEST_MAC, "00:11:22:33:44:66"),
        "backend": mostly("netjsonconfig.OpenWrt"),
    },
)
_REGISTER_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "key": mostly(TEST_KEY, consistent_key(TEST_MAC), consistent_key("00:11:22:33:44:66"), consistent_key("SN1")),
        "hardware_id": mostly("", "SN1"),
        "model": VALUES,
        "os": VALUES,
        "system": VALUES,
        "management_ip": mostly("10.8.0.1", "fd00::2", ""),
        "tags": mostly("", "uci: Entry not found"),
    },
)
#: registration requests: half of them with valid required fields, then options and random fields
REGISTER_FIELDS = st.builds(
    lambda core, options, extra: {**extra, **options, **core},
    st.one_of(_VALID_CORE, _RANDOM_CORE),
    _REGISTER_OPTIONS,
    EXTRA_FIELDS,
)
DEVICE_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "status": mostly("running", "applied", "error", "modified"),
        "error_reason": VALUES,
        "model": VALUES,
        "os": VALUES,
        "system": VALUES,
        "management_ip": mostly("10.8.0.1", "fd00::2", ""),
    },
)
#: whether the device request carries the right key (usually)
WITH_KEY = st.sampled_from([True, True, True, False])
#: parameters of a device request: protocol fields over random ones
DEVICE_PARAMS = st.builds(lambda extra, fields: {**extra, **fields}, EXTRA_FIELDS, DEVICE_FIELDS)


class ControllerFuzzMixin(TestMixin):
    #: polls of a new device before the fuzzed request (the first renders and stores)
    warm_polls = 1

    def _device(self):
        """A config (with a template) whose checksum is already known, and the rows before the request."""
        config = self._create_config(os="kept", model="kept")
        config.templates.add(self._create_template())
        for _poll in range(self.warm_polls):
            response = self.client.get(reverse("controller:checksum", args=[config.pk.hex]), {"key": config.key})
            self.assertEqual(response.status_code, 200)
        return config, self._rows()

    def _rows(self):
        return {row["id"]: row for row in self.config_model.objects.values()}

    def _post(self, url, data, multipart):
        if multipart:
            return self.client.post(url, data)
        return self.client.post(url, urlencode(data), content_type=FORM)

    def assertNoServerError(self, response):
        self.assertLess(response.status_code, 500, response.content[:300])

    def assertOnlyDeviceColumnsChanged(self, endpoint, before, response):
        after = self._rows()
        if response.status_code >= 300:
            self.assertEqual(after, before)
            return
        for pk, row in before.items():
            changed = {name for name, value in row.items() if after[pk][name] != value}
            self.assertLessEqual(changed, DEVICE_COLUMNS[endpoint])

    def _check_device_get(self, endpoint, params, with_key):
        config, before = self._device()
        if with_key:
            params = {**params, "key": config.key}
        response = self.client.get(reverse(f"controller:{endpoint}", args=[config.pk.hex]), params)
        self.assertNoServerError(response)
        self.assertOnlyDeviceColumnsChanged(endpoint, before, response)

    def _check_device_post(self, endpoint, params, with_key, multipart):
        config, before = self._device()
        if with_key:
            params = {**params, "key": config.key}
        response = self._post(reverse(f"controller:{endpoint}", args=[config.pk.hex]), params, multipart)
        self.assertNoServerError(response)
        self.assertOnlyDeviceColumnsChanged(endpoint, before, response)

    @FUZZ_SETTINGS
    @given(params=DEVICE_PARAMS, with_key=WITH_KEY)
    def test_random_checksum_requests(self, params, with_key):
        self._check_device_get("checksum", params, with_key)

    @FUZZ_SETTINGS
    @given(params=DEVICE_PARAMS, with_key=WITH_KEY)
    def test_random_download_requests(self, params, with_key):
        self._check_device_get("download_config", params, with_key)

    @FUZZ_SETTINGS
    @given(params=DEVICE_PARAMS, with_key=WITH_KEY, multipart=st.booleans())
    def test_random_report_status_requests(self, params, with_key, multipart):
        self._check_device_post("report_status", params, with_key, multipart)

    @FUZZ_SETTINGS
    @given(params=DEVICE_PARAMS, with_key=WITH_KEY, multipart=st.booleans())
    def test_random_update_info_requests(self, params, with_key, multipart):
        self._check_device_post("update_info", params, with_key, multipart)

    @FUZZ_SETTINGS
    @given(data=REGISTER_FIELDS, multipart=st.booleans())
    def test_random_register_requests(self, data, multipart):
        existing, before = self._device()
        response = self._post(reverse("controller:register"), data, multipart)
        self.assertNoServerError(response)
        self.assertOnlyDeviceColumnsChanged("register", before, response)
        if response.status_code == 201:
            self._check_registration(existing, data, response)

    def _check_registration(self, existing, data, response):
        answer = dict(re.findall(r"^([a-z-]+): (\S+)$", response.content.decode(), re.MULTILINE))
        if answer["is-new"] == "1":
            new = self.config_model.objects.get(pk=answer["uuid"])
            self.assertEqual((new.status, new.config, new.last_ip), ("modified", {}, "127.0.0.1"))
            return
        # a known config is handed out only to its own device (same MAC or a
        # key derived from the posted identity), never to another one
        self.assertEqual(answer["uuid"], existing.pk.hex)
        posted_bases = {data.get("mac_address"), data.get("hardware_id")} - {None, ""}
        same_mac = data.get("mac_address", "").upper().replace("-", ":") == existing.mac_address
        self.assertTrue(same_mac or data.get("key") in {consistent_key(base) for base in posted_bases})

    @FUZZ_SETTINGS
    @given(
        endpoint=st.sampled_from(["checksum", "download-config", "report-status", "update-info"]),
        pk=st.text(_TEXT, min_size=1, max_size=300),
        method=st.sampled_from(["get", "post", "put", "delete", "head", "options"]),
    )
    def test_random_uuids_and_methods(self, endpoint, pk, method):
        config, before = self._device()
        url = f"/controller/{endpoint}/{quote(pk, safe='')}/"
        response = getattr(self.client, method)(url, {"key": config.key})
        self.assertNoServerError(response)
        self.assertEqual(self._rows(), before)

    @FUZZ_SETTINGS
    @given(
        endpoint=st.sampled_from(["report_status", "update_info", "register"]),
        body=st.binary(max_size=2000),
        content_type=st.sampled_from(
            [FORM, "multipart/form-data; boundary=BoUnDaRy", "text/plain", "application/json"]
        ),
    )
    def test_random_raw_bodies(self, endpoint, body, content_type):
        config, before = self._device()
        args = [] if endpoint == "register" else [config.pk.hex]
        response = self.client.post(reverse(f"controller:{endpoint}", args=args), body, content_type=content_type)
        self.assertNoServerError(response)
        self.assertOnlyDeviceColumnsChanged(endpoint, before, response)


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestControllerFuzz(ControllerFuzzMixin, TestCase):
    """The fuzz inside ``TestCase`` transactions (the connection memory is off)."""


@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET, NETJSONCONFIG_CONTROLLER_CACHE_SIZE=1000)
class TestControllerFuzzWithMemory(ControllerFuzzMixin, TransactionTestCase):
    """
    The same fuzz outside transactions, with persistent connections: polls
    are answered from the connection's memory when they can (a second poll
    makes the memory hold the row before the fuzzed request).
    """

    warm_polls = 2

    def setUp(self):
        super().setUp()
        patcher = mock.patch.dict(connection.settings_dict, {"CONN_MAX_AGE": 60})
        patcher.start()
        self.addCleanup(patcher.stop)


#: pieces of query strings: names and values in plain ASCII, percent-encoded, with '+', non-ASCII
_QUERY_TEXT = st.lists(st.sampled_from(["a", "b", "=", ";", "%41", "%zz", "+", "é", "\x00"]), max_size=4).map("".join)


class TestQueryParameters(SimpleTestCase):
    """Device parameters are read from the query string exactly as ``request.GET`` reads them."""

    @settings(max_examples=500, deadline=None, database=None)
    @given(
        items=st.lists(
            st.tuples(
                st.one_of(st.sampled_from(["key", "management_ip", "k%65y", "ke+y"]), _QUERY_TEXT),
                st.sampled_from(["=", "", "=="]),
                _QUERY_TEXT,
                st.sampled_from(["&", "&&", ";", ""]),
            ),
            max_size=6,
        ),
        name=st.sampled_from(["key", "management_ip", "k ey"]),
    )
    @example(items=[("key", "=", "a", "&"), ("key", "=", "b", "")], name="key")  # the last one wins
    @example(items=[("key", "", "", "&"), ("key", "=", "a", "&&")], name="key")
    @example(items=[("key", "=", "a+b", "")], name="key")
    @example(items=[("k%65y", "=", "%41", "")], name="key")
    @example(items=[("k+ey", "=", "a", "")], name="k ey")
    @example(items=[("key", "=", "é", ";")], name="key")
    def test_request_param_agrees_with_request_get(self, items, name):
        query = "".join("".join(item) for item in items)
        # WSGI servers pass the query string as latin-1 decoded bytes
        environ_query = query.encode("utf-8").decode("latin-1")
        fast = RequestFactory().get("/", QUERY_STRING=environ_query)
        django = RequestFactory().get("/", QUERY_STRING=environ_query)
        self.assertEqual(request_param(fast, "GET", name), django.GET.get(name, ""), query)

    @override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=3)
    def test_too_many_parameters_are_refused_as_before(self):
        request = RequestFactory().get("/", QUERY_STRING="a=1&b=2&c=3&key=4")
        with self.assertRaises(TooManyFieldsSent):
            request_param(request, "GET", "key")
