"""
Devices registering at the same time, on PostgreSQL with real concurrent
connections (one thread and one database connection per device): one config
is created and every device gets a clean answer, never a 500.
"""

import hashlib
import re
import threading
from unittest import skipUnless
from urllib.parse import urlencode

from django.db import connection, connections
from django.test import Client, RequestFactory, TransactionTestCase, override_settings

from django_netjsonconfig.controller.generics import BaseRegisterView
from django_netjsonconfig.tests import TestMixin, installed_config_model, installed_controller_views

SECRET = "race-secret"
FORM = "application/x-www-form-urlencoded"

Config = installed_config_model()
# an extending app may need more on new configs (the sample app sets an
# organization): build on the installed app's registration view
RegisterViewBase = getattr(installed_controller_views(), "RegisterView", BaseRegisterView)


def _registration(mac, name="ap-race", with_key=True):
    data = {"secret": SECRET, "name": name, "mac_address": mac, "backend": "netjsonconfig.OpenWrt"}
    if with_key:
        data["key"] = hashlib.md5(f"{mac}+{SECRET}".encode()).hexdigest()
    return data


def _parse(response):
    return dict(re.findall(r"^([a-z-]+): (\S+)$", response.content.decode(), re.MULTILINE))


class CollidingRegisterView(RegisterViewBase):
    """
    Registration whose devices all wait, after validating their new config,
    until every one of them is about to save it: each request has found no
    existing config, so the inserts really collide in the database.
    """

    model = Config
    barrier = None

    def save_object(self, config):
        self.barrier.wait(timeout=30)
        super().save_object(config)


@skipUnless(
    connection.vendor == "postgresql",
    "needs PostgreSQL: SQLite serialises writers and its test database cannot be shared by concurrent threads",
)
@override_settings(NETJSONCONFIG_SHARED_SECRET=SECRET)
class TestRegistrationRace(TestMixin, TransactionTestCase):
    def _concurrently(self, requests):
        """Runs each callable of ``requests`` in its own thread (and connection), all starting together."""
        start = threading.Barrier(len(requests))
        results = [None] * len(requests)

        def run(index):
            try:
                start.wait(timeout=30)
                results[index] = requests[index]()
            except Exception as error:  # reported by the assertions below
                results[index] = error
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run, args=(index,)) for index in range(len(requests))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return results

    def _post_through_client(self, data):
        return lambda: Client().post("/controller/register/", urlencode(data), content_type=FORM)

    def _colliding_requests(self, *registrations):
        """One request per registration, all saving their new config at the same moment."""
        CollidingRegisterView.barrier = threading.Barrier(len(registrations))
        view = CollidingRegisterView.as_view()
        factory = RequestFactory()
        return [
            lambda data=data: view(factory.post("/controller/register/", urlencode(data), content_type=FORM))
            for data in registrations
        ]

    def assertOneConfigForAll(self, responses, data):
        self.assertEqual([response.status_code for response in responses], [201] * len(responses))
        answers = [_parse(response) for response in responses]
        config = self.config_model.objects.get()
        self.assertEqual({(answer["uuid"], answer["key"]) for answer in answers}, {(config.pk.hex, data["key"])})
        self.assertEqual(sorted(answer["is-new"] for answer in answers), ["0"] * (len(answers) - 1) + ["1"])

    def test_devices_with_same_mac_and_key_get_one_config(self):
        for round_number in range(3):
            with self.subTest(round=round_number):
                self.config_model.objects.all().delete()
                data = _registration(f"00:11:22:33:44:{round_number:02X}")
                responses = self._concurrently([self._post_through_client(data) for _ in range(4)])
                self.assertOneConfigForAll(responses, data)

    def test_colliding_inserts_answer_the_loser_with_the_winner_config(self):
        data = _registration("00:11:22:33:44:55")
        responses = self._concurrently(self._colliding_requests(data, data))
        self.assertOneConfigForAll(responses, data)

    def test_colliding_inserts_without_key_answer_201_and_400(self):
        data = _registration("00:11:22:33:44:55", with_key=False)
        responses = self._concurrently(self._colliding_requests(data, data))
        self.assertEqual(sorted(response.status_code for response in responses), [201, 400])
        self.assertEqual(self.config_model.objects.count(), 1)
        rejected = next(response for response in responses if response.status_code == 400)
        self.assertEqual(rejected["X-Openwisp-Controller"], "true")
        self.assertIn("mac_address", rejected.content.decode())

    def test_colliding_names_of_different_devices_answer_201_and_400(self):
        first = _registration("00:11:22:33:44:01", name="ap-same")
        second = _registration("00:11:22:33:44:02", name="ap-same")
        responses = self._concurrently(self._colliding_requests(first, second))
        self.assertEqual(sorted(response.status_code for response in responses), [201, 400])
        self.assertEqual(self.config_model.objects.count(), 1)
        rejected = next(response for response in responses if response.status_code == 400)
        self.assertIn('"name"', rejected.content.decode())

    def test_default_templates_are_attached_once(self):
        template = self._create_template(default=True)
        data = _registration("00:11:22:33:44:55")
        self._concurrently(self._colliding_requests(data, data))
        self.assertEqual(list(self.config_model.objects.get().templates.all()), [template])
