"""
Devices attached to one WireGuard server at the same time, on PostgreSQL with
real concurrent connections (one thread and one database connection per
device): each gets its own address and VNI, none gets an error; two admin
forms racing for a server's last address.
"""

import threading
import time
from unittest import skipUnless

from django.db import connection, connections, transaction
from django.db.models.signals import post_save
from django.test import Client, TransactionTestCase

from django_netjsonconfig.tests.test_admin import AdminTestMixin
from django_netjsonconfig.tests.test_wireguard import VXLAN, WireguardMixin
from django_netjsonconfig.tests.test_wireguard_admin import FULL

DEVICES = 6
#: seconds each attaching transaction stays open after its client is saved,
#: so that the transactions overlap (the allocation itself is quick)
HOLD = 0.2


@skipUnless(
    connection.vendor == "postgresql",
    "needs PostgreSQL: SQLite serialises writers and its test database cannot be shared by concurrent threads",
)
class TestConcurrentAllocation(WireguardMixin, TransactionTestCase):
    def _attach_concurrently(self, configs, template):
        """Each config gets ``template`` in its own thread and transaction, all starting together."""
        start = threading.Barrier(len(configs))
        errors = []

        def attach(config):
            try:
                start.wait(timeout=30)
                with transaction.atomic():
                    config.templates.add(template)
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_sleep(%s)", [HOLD])
            except Exception as error:  # reported by the assertions
                errors.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=attach, args=(config,)) for config in configs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        return errors

    def _configs(self, count):
        return [
            self._create_config(name=f"ap-{index}", mac_address=f"00:11:22:33:44:{index:02X}", key=f"{index:032d}")
            for index in range(count)
        ]

    def test_concurrent_devices_get_distinct_addresses_and_vnis(self):
        vpn, template = self._server(backend=VXLAN)
        errors = self._attach_concurrently(self._configs(DEVICES), template)
        self.assertEqual(errors, [])
        clients = list(self.vpnclient_model.objects.filter(vpn=vpn).values_list("ip", "vni"))
        self.assertEqual(sorted(ip for ip, _vni in clients), [f"10.8.0.{host}" for host in range(2, 2 + DEVICES)])
        self.assertEqual(sorted(vni for _ip, vni in clients), list(range(1, 1 + DEVICES)))

    def test_concurrent_devices_on_a_nearly_full_subnet_one_wins(self):
        vpn, template = self._server(subnet="10.8.0.0/30")
        errors = self._attach_concurrently(self._configs(3), template)
        self.assertEqual(self.vpnclient_model.objects.filter(vpn=vpn).count(), 1)
        self.assertEqual(len(errors), 2)
        for error in errors:
            self.assertIn("has no free address", str(error))


@skipUnless(connection.vendor == "postgresql", "needs PostgreSQL: concurrent connections to one test database")
class TestConcurrentAdminForms(WireguardMixin, AdminTestMixin, TransactionTestCase):
    """
    Two operators add a config with the template of a server that has one free
    address left, at the same moment: one is saved, the other gets the form
    back with the reason on the templates field (never a server error, even
    when both forms were checked before either was saved).
    """

    def _hold_after_the_config_is_saved(self, sender, instance, **kwargs):
        # between the form's check and the allocation (templates are set after the config is saved)
        time.sleep(HOLD)

    def test_the_last_address_goes_to_one_form_the_other_gets_the_reason(self):
        _vpn, template = self._server(subnet="10.8.0.0/30")
        post_save.connect(self._hold_after_the_config_is_saved, sender=self.config_model)
        self.addCleanup(post_save.disconnect, self._hold_after_the_config_is_saved, sender=self.config_model)
        forms = [
            self._config_data(
                name=f"ap-{index}",
                mac_address=f"00:11:22:33:44:0{index}",
                key=f"{index}" * 32,
                templates=str(template.pk),
            )
            for index in range(2)
        ]
        clients = []
        for _form in forms:
            client = Client(raise_request_exception=False)
            client.force_login(self.admin)
            clients.append(client)
        start = threading.Barrier(len(forms))
        responses = [None] * len(forms)

        def post(index):
            try:
                start.wait(timeout=30)
                responses[index] = clients[index].post(self._url(self.config_model, "add"), forms[index])
            finally:
                connections.close_all()

        threads = [threading.Thread(target=post, args=(index,)) for index in range(len(forms))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        self.assertEqual(sorted(response.status_code for response in responses), [200, 302])
        refused = next(response for response in responses if response.status_code == 200)
        self.assertEqual(refused.context["adminform"].form.errors["templates"], [FULL])
        self.assertEqual(self.vpnclient_model.objects.filter(vpn=template.vpn).count(), 1)
        self.assertEqual(self.config_model.objects.count(), 1)
