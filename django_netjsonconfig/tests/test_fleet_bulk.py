"""
Bulk template actions of the config list: add (at the end or a position),
remove, apply the backend's default templates; each through a confirmation
page, refused as a whole on bad input, with queries independent of the
number of selected configs.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from django_netjsonconfig.tests.test_fleet_state import FleetAdminMixin

#: bulk inserts of the admin log entries and revisions of a bulk change
HISTORY_INSERTS = ('INSERT INTO "django_admin_log"', 'INSERT INTO "reversion_version"')
GENERIC = {"interfaces": [{"name": "eth0", "type": "ethernet", "mtu": 1400}]}


class BulkTestMixin(FleetAdminMixin):
    def _configs(self, count, **kwargs):
        return [
            self._create_config(
                name=f"ap{number:03d}", mac_address=f"00:11:22:33:66:{number:02X}", key=f"{number:032d}", **kwargs
            )
            for number in range(count)
        ]

    def _action(self, action, configs, step="preview", **fields):
        data = {"action": action, "_selected_action": [str(config.pk) for config in configs], **fields}
        if step:
            data["djnjc_step"] = step
        if hasattr(data.get("template"), "pk"):
            data["template"] = str(data["template"].pk)
        return self.client.post(self._admin_url(self.config_model, "changelist"), data)

    def _templates(self, config):
        return [template.name for template in self.config_model.objects.get(pk=config.pk).templates.all()]

    def _applied(self, config):
        """The device downloaded and applied its configuration (status running)."""
        self._get("download_config", config, key=config.key)
        self._report(config, status="applied")


class TestBulkActions(BulkTestMixin, TestCase):
    def test_add_template_confirmation_lists_changes_then_applies(self):
        first = self._create_template(name="first", config={"interfaces": [{"name": "eth1", "type": "ethernet"}]})
        added = self._create_template(name="added", config=GENERIC)
        configs = self._configs(3)
        configs[0].templates.add(first)
        configs[2].templates.add(added)
        for config in configs:
            self._applied(config)
        response = self._action("add_template", configs, step=None)
        self.assertContains(response, 'name="template"')
        self.assertNotContains(response, "djnjc-bulk-apply")
        response = self._action("add_template", configs, template=added, position="")
        self.assertContains(response, "3 configurations selected")
        self.assertContains(response, "2 change their templates")
        self.assertContains(response, "2 get a new configuration")
        self.assertContains(response, "<td>ap000</td>", html=True)
        self.assertNotContains(response, "<td>ap002</td>", html=True)
        self.assertEqual(self._templates(configs[0]), ["first"])  # nothing written yet
        response = self._action("add_template", configs, step="confirm", template=added, position="")
        self.assertRedirects(response, self._admin_url(self.config_model, "changelist"), fetch_redirect_response=False)
        self.assertEqual(self._templates(configs[0]), ["first", "added"])
        self.assertEqual(self._templates(configs[1]), ["added"])
        self.assertEqual(self._templates(configs[2]), ["added"])
        self.assertStatus(configs[0], "modified")
        self.assertStatus(configs[1], "modified")
        self.assertStatus(configs[2], "running")
        # the device downloads the new configuration, which contains the template
        self._get("download_config", configs[1], key=configs[1].key)
        config = self.config_model.objects.get(pk=configs[1].pk)
        self.assertEqual(config.downloaded_checksum, config.rendered_checksum)
        self.assertIn("1400", config.json())

    def test_selection_from_a_list_filtered_by_template(self):
        # a filter across templates makes the admin's queryset DISTINCT
        first = self._create_template(name="first", config={"interfaces": [{"name": "eth1", "type": "ethernet"}]})
        added = self._create_template(name="added", config=GENERIC)
        configs = self._configs(2)
        for config in configs:
            config.templates.add(first)
        url = self._admin_url(self.config_model, "changelist") + f"?templates__id__exact={first.pk}"
        data = {"action": "add_template", "_selected_action": [str(c.pk) for c in configs], "template": str(added.pk)}
        response = self.client.post(url, {**data, "djnjc_step": "confirm"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self._templates(configs[1]), ["first", "added"])

    def test_add_template_at_a_position(self):
        one = self._create_template(name="one", config={"interfaces": [{"name": "eth1", "type": "ethernet"}]})
        two = self._create_template(name="two", config={"interfaces": [{"name": "eth2", "type": "ethernet"}]})
        added = self._create_template(name="added", config=GENERIC)
        configs = self._configs(2)
        configs[0].templates.set([one, two])
        configs[1].templates.set([one])
        self._action("add_template", configs, step="confirm", template=added, position="2")
        self.assertEqual(self._templates(configs[0]), ["one", "added", "two"])
        self.assertEqual(self._templates(configs[1]), ["one", "added"])
        self._action("add_template", configs, step="confirm", template=self._create_template(name="top"), position="1")
        self.assertEqual(self._templates(configs[0]), ["top", "one", "added", "two"])

    def test_remove_template_flips_status_only_where_output_changes(self):
        # the same interface in the config itself: removing the template changes nothing there
        template = self._create_template(name="mtu", config=GENERIC)
        same = self._create_config(name="ap-same", config={"general": {}, **GENERIC})
        other = self._create_config(name="ap-other", mac_address="00:11:22:33:44:77", key="7" * 32)
        for config in (same, other):
            config.templates.add(template)
            self._applied(config)
        response = self._action("remove_template", [same, other], template=template)
        self.assertContains(response, "2 change their templates")
        self.assertContains(response, "1 gets a new configuration")
        self._action("remove_template", [same, other], step="confirm", template=template)
        self.assertEqual(self._templates(same), [])
        self.assertEqual(self._templates(other), [])
        self.assertStatus(same, "running")
        self.assertStatus(other, "modified")

    def test_apply_default_templates_to_existing_configs(self):
        configs = self._configs(2)
        openwisp = self._create_config(
            name="ap-openwisp", backend="netjsonconfig.OpenWisp", mac_address="00:11:22:33:44:88", key="8" * 32
        )
        b = self._create_template(name="b-default", default=True, config=GENERIC)
        a = self._create_template(
            name="a-default", default=True, config={"interfaces": [{"name": "eth1", "type": "ethernet"}]}
        )
        owned = self._create_template(name="openwisp-default", default=True, backend="netjsonconfig.OpenWisp")
        configs[1].templates.add(b)
        response = self._action("apply_default_templates", [*configs, openwisp], step="")
        self.assertContains(response, "3 change their templates")
        self._action("apply_default_templates", [*configs, openwisp], step="confirm")
        self.assertEqual(self._templates(configs[0]), ["a-default", "b-default"])
        self.assertEqual(self._templates(configs[1]), ["b-default", "a-default"])
        self.assertEqual(self._templates(openwisp), [owned.name])
        self.assertEqual(self.template_model.objects.get(pk=a.pk).config_relations.count(), 2)

    def test_template_of_another_backend_refuses_the_whole_selection(self):
        template = self._create_template(name="openwisp-only", backend="netjsonconfig.OpenWisp")
        openwrt = self._configs(2)
        fine = self._create_config(
            name="ap-openwisp", backend="netjsonconfig.OpenWisp", mac_address="00:11:22:33:44:88", key="8" * 32
        )
        for step in ("preview", "confirm"):
            response = self._action("add_template", [*openwrt, fine], step=step, template=template)
            self.assertContains(response, "Refused: nothing was changed")
            self.assertContains(response, "<strong>ap000, ap001</strong>", html=True)
            self.assertNotContains(response, "djnjc-bulk-apply")
        self.assertEqual(self._templates(fine), [])

    def test_second_vpn_template_of_a_server_is_refused(self):
        vpn = self._create_vpn()
        first = self._create_vpn_template(vpn=vpn, name="vpn-a")
        second = self._create_vpn_template(vpn=vpn, name="vpn-b")
        configs = self._configs(2)
        configs[0].templates.add(first)
        response = self._action("add_template", configs, step="confirm", template=second)
        self.assertContains(response, "uses a VPN server already used by another selected template")
        self.assertContains(response, "<strong>ap000</strong>", html=True)
        self.assertEqual(self._templates(configs[1]), [])
        self.assertEqual(self.vpnclient_model.objects.filter(config=configs[1]).count(), 0)

    def test_vpn_certificates_are_kept_unless_the_vpn_templates_change(self):
        vpn_template = self._create_vpn_template()
        generic = self._create_template(name="generic", config=GENERIC)
        configs = self._configs(2)
        configs[0].templates.add(vpn_template)
        cert_before = self.vpnclient_model.objects.get(config=configs[0]).cert_id
        self._action("add_template", configs, step="confirm", template=generic)
        self.assertEqual(self.vpnclient_model.objects.get(config=configs[0]).cert_id, cert_before)
        # adding the VPN template issues a certificate only where it is new
        response = self._action("add_template", configs, template=vpn_template)
        self.assertContains(response, "VPN client added or removed")
        self._action("add_template", configs, step="confirm", template=vpn_template)
        self.assertEqual(self.vpnclient_model.objects.get(config=configs[0]).cert_id, cert_before)
        self.assertIsNotNone(self.vpnclient_model.objects.get(config=configs[1]).cert_id)
        # removing it revokes that certificate, the others stay
        self._action("remove_template", [configs[1]], step="confirm", template=vpn_template)
        self.assertFalse(self.vpnclient_model.objects.filter(config=configs[1]).exists())
        self.assertEqual(self.vpnclient_model.objects.get(config=configs[0]).cert_id, cert_before)


class TestBulkQueryCounts(BulkTestMixin, TestCase):
    """The same number of queries for 10 and 500 selected configs (preview and apply)."""

    def _bulk_configs(self, count, start):
        configs = [
            self._build_config(
                name=f"bulk{number:04d}",
                mac_address=f"00:11:22:34:{number // 256:02X}:{number % 256:02X}",
                key=f"{number:032d}",
            )
            for number in range(start, start + count)
        ]
        return self.config_model.objects.bulk_create(configs)

    def _count(self, *args, **kwargs):
        # the history rows look content types up once per process: start each
        # count with a cold cache, whatever ran before (in this test or another)
        ContentType.objects.clear_cache()
        with CaptureQueriesContext(connection) as captured:
            response = self._action(*args, **kwargs)
        self.assertIn(response.status_code, (200, 302))
        # the history rows (one per changed config) are one bulk INSERT per
        # table, which SQLite splits into batches of 999 parameters
        return len([query for query in captured if not query["sql"].startswith(HISTORY_INSERTS)])

    def test_queries_do_not_depend_on_the_number_of_configs(self):
        template = self._create_template(name="added", config=GENERIC)
        first = self._create_template(name="first", config={"interfaces": [{"name": "eth1", "type": "ethernet"}]})
        self._create_template(
            name="a-default", default=True, config={"interfaces": [{"name": "eth2", "type": "ethernet"}]}
        )
        few, many = self._bulk_configs(10, 0), self._bulk_configs(500, 1000)
        for configs in (few, many):
            for config in configs[::3]:
                config.templates.add(first)
        counts = {}
        for name, configs in (("few", few), ("many", many)):
            counts[name] = [
                self._count("add_template", configs, template=template, position=""),
                self._count("add_template", configs, step="confirm", template=template, position="1"),
                self._count("remove_template", configs, template=first),
                self._count("remove_template", configs, step="confirm", template=first),
                self._count("apply_default_templates", configs, step="confirm"),
            ]
        self.assertEqual(counts["few"], counts["many"])
        for configs in (few, many):
            self.assertEqual(self._templates(configs[0]), ["added", "a-default"])
            self.assertEqual(self._templates(configs[1]), ["added", "a-default"])
            self.assertStatus(configs[-1], "modified")
