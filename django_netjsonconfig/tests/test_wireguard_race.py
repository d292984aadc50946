"""
Devices attached to one WireGuard server at the same time, on PostgreSQL with
real concurrent connections (one thread and one database connection per
device): each gets its own address and VNI, none gets an error.
"""

import threading
from unittest import skipUnless

from django.db import connection, connections, transaction
from django.test import TransactionTestCase

from django_netjsonconfig.tests.test_wireguard import VXLAN, WireguardMixin

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
