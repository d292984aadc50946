"""
Status and checksum: a config becomes ``modified`` exactly when its rendered
output changes, whatever caused the change (decision 5).
"""

import hashlib

from django.test import TestCase, override_settings

from django_netjsonconfig.tests import TestMixin


def _interface(name, **options):
    return {"interfaces": [{"name": name, "type": "ethernet", **options}]}


def _info_file(contents):
    return {"files": [{"path": "/etc/info", "mode": "0644", "contents": contents}]}


class StatusTestMixin(TestMixin):
    def _applied_config(self, **kwargs):
        return self._device_applied(self._create_config(**kwargs))

    def _poll(self, config):
        """What the checksum endpoint does: load the config, read its checksum."""
        return self.config_model.objects.get(pk=config.pk).get_cached_checksum()

    def _real_checksum(self, config):
        config = self.config_model.objects.get(pk=config.pk)
        return hashlib.md5(config.generate().getvalue()).hexdigest()

    def assertStoredChecksumIsReal(self, config):
        config = self.config_model.objects.get(pk=config.pk)
        self.assertEqual(config.get_cached_checksum(), self._real_checksum(config))


class TestStatusOnConfigEdits(StatusTestMixin, TestCase):
    def test_own_config_edit_flips_status_to_modified(self):
        config = self._applied_config()
        config.config = _interface("eth1")
        config.full_clean()
        config.save()
        self.assertStatus(config, "modified")

    def test_name_change_flips_status_to_modified(self):
        config = self._applied_config()
        config.name = "renamed"
        config.save()
        self.assertStatus(config, "modified")

    def test_backend_change_flips_status_to_modified(self):
        config = self._applied_config()
        config.backend = "netjsonconfig.OpenWisp"
        config.save()
        self.assertStatus(config, "modified")

    def test_save_without_changes_keeps_status(self):
        config = self._applied_config()
        config.save()
        self.assertStatus(config, "running")

    def test_full_clean_and_save_without_changes_keeps_error_status(self):
        config = self._device_applied(self._create_config(), status="error")
        config.full_clean()
        config.save()
        self.assertStatus(config, "error")

    def test_edit_that_does_not_change_output_keeps_status(self):
        config = self._applied_config(name="ap-1")
        config.config = {"general": {"hostname": "ap-1"}}
        config.save()
        self.assertStatus(config, "running")

    def test_key_change_keeps_status_when_key_is_not_in_output(self):
        config = self._applied_config()
        config.key = "another-key"
        config.save()
        self.assertStatus(config, "running")

    def test_key_change_flips_status_when_output_uses_key(self):
        config = self._applied_config(config=_info_file("{{ key }}"))
        config.key = "another-key"
        config.save()
        self.assertStatus(config, "modified")

    def test_mac_address_change_flips_status_when_output_uses_it(self):
        config = self._applied_config(config=_info_file("{{ mac_address }}"))
        config.mac_address = "00:11:22:33:44:66"
        config.save()
        self.assertStatus(config, "modified")

    def test_device_columns_saved_with_update_fields_do_not_render(self):
        """Guards an optimisation: saving device columns never renders."""
        config = self._applied_config()
        config.last_ip = "10.0.0.2"
        with self.assertNumQueries(1):
            config.save(update_fields=["last_ip"])
        self.assertStatus(config, "running")

    def test_edit_saved_after_stale_load_still_flips_status(self):
        config = self._applied_config()
        stale = self.config_model.objects.get(pk=config.pk)
        config.config = _interface("eth1")
        config.save()
        stale.name = "renamed"
        stale.save()
        self.assertStatus(config, "modified")
        self.assertStoredChecksumIsReal(config)

    def test_config_that_cannot_be_rendered_is_saved_as_modified(self):
        config = self._applied_config()
        config.config = {"interfaces": {"not": "a list"}}
        with self.assertLogs("django_netjsonconfig", "ERROR"):
            config.save()
        self.assertStatus(config, "modified")
        self.assertIsNone(config.stored_checksum)

    def test_config_fixed_back_to_what_the_device_runs_gets_its_status_back(self):
        config = self._applied_config()
        config.config = {"interfaces": {"not": "a list"}}
        with self.assertLogs("django_netjsonconfig", "ERROR"):
            config.save()
        config.config = {"general": {}}
        config.save()
        self.assertStatus(config, "running")


class TestStatusOnTemplateSelection(StatusTestMixin, TestCase):
    def test_adding_template_flips_status_to_modified(self):
        config = self._applied_config()
        config.templates.add(self._create_template())
        self.assertStatus(config, "modified")
        self.assertStoredChecksumIsReal(config)

    def test_removing_template_flips_status_to_modified(self):
        template = self._create_template()
        config = self._applied_config(templates=[template])
        config.templates.remove(template)
        self.assertStatus(config, "modified")
        self.assertStoredChecksumIsReal(config)

    def test_clearing_templates_flips_status_to_modified(self):
        config = self._applied_config(templates=[self._create_template()])
        config.templates.clear()
        self.assertStatus(config, "modified")
        self.assertStoredChecksumIsReal(config)

    def test_set_with_new_selection_flips_status_to_modified(self):
        config = self._applied_config()
        config.templates.set([self._create_template()])
        self.assertStatus(config, "modified")
        self.assertStoredChecksumIsReal(config)

    def test_set_with_same_selection_keeps_status_and_writes_nothing(self):
        """Guards an optimisation: an unchanged ``templates.set()`` costs one read."""
        template = self._create_template()
        config = self._applied_config(templates=[template])
        with self.assertNumQueries(1):  # reading the current selection
            config.templates.set([template])
        self.assertStatus(config, "running")

    def test_reorder_that_changes_output_flips_status(self):
        first = self._create_template(name="first", config=_interface("eth0", mtu=1400))
        second = self._create_template(name="second", config=_interface("eth0", mtu=1500))
        config = self._applied_config(templates=[first, second])
        config.templates.set([second, first])
        self.assertStatus(config, "modified")
        self.assertStoredChecksumIsReal(config)

    def test_reorder_that_does_not_change_output_keeps_status(self):
        first = self._create_template(name="first", config={"general": {"timezone": "Europe/Rome"}})
        second = self._create_template(name="second", config=_interface("eth0"))
        config = self._applied_config(templates=[first, second])
        config.templates.set([second, first])
        self.assertEqual(list(config.templates.all()), [second, first])
        self.assertStatus(config, "running")

    def test_adding_template_that_does_not_change_output_keeps_status(self):
        config = self._applied_config(config=_interface("eth0"))
        config.templates.add(self._create_template(config=_interface("eth0")))
        self.assertStatus(config, "running")

    def test_reverse_add_flips_status_to_modified(self):
        config = self._applied_config()
        self._create_template().config_relations.add(config)
        self.assertStatus(config, "modified")
        self.assertStoredChecksumIsReal(config)

    def test_reverse_remove_flips_status_to_modified(self):
        template = self._create_template()
        config = self._applied_config(templates=[template])
        template.config_relations.remove(config)
        self.assertStatus(config, "modified")
        self.assertStoredChecksumIsReal(config)

    def test_reverse_clear_flips_status_of_every_config_that_had_the_template(self):
        template = self._create_template()
        first = self._applied_config(templates=[template])
        second = self._applied_config(name="second", mac_address="00:11:22:33:44:66", key="k2", templates=[template])
        template.config_relations.clear()
        self.assertStatus(first, "modified")
        self.assertStatus(second, "modified")
        self.assertStoredChecksumIsReal(second)

    def test_reverse_set_updates_status_of_added_and_removed_configs(self):
        template = self._create_template()
        kept = self._applied_config(templates=[template])
        dropped = self._applied_config(name="dropped", mac_address="00:11:22:33:44:66", key="k2", templates=[template])
        added = self._applied_config(name="added", mac_address="00:11:22:33:44:77", key="k3")
        template.config_relations.set([kept, added])
        self.assertStatus(kept, "running")
        self.assertStatus(dropped, "modified")
        self.assertStatus(added, "modified")


class TestStatusOnTemplateEdits(StatusTestMixin, TestCase):
    def test_template_edit_flips_every_related_config_to_modified(self):
        template = self._create_template()
        first = self._applied_config(templates=[template])
        second = self._applied_config(name="second", mac_address="00:11:22:33:44:66", key="k2", templates=[template])
        unrelated = self._applied_config(name="unrelated", mac_address="00:11:22:33:44:77", key="k3")
        template.config = _interface("eth1")
        template.full_clean()
        template.save()
        self.assertStatus(first, "modified")
        self.assertStatus(second, "modified")
        self.assertStatus(unrelated, "running")

    def test_template_edit_makes_devices_get_the_new_checksum(self):
        template = self._create_template()
        config = self._applied_config(templates=[template])
        template.config = _interface("eth1")
        template.save()
        self.assertStoredChecksumIsReal(config)

    def test_template_backend_change_flips_related_configs(self):
        template = self._create_template()
        config = self._applied_config(templates=[template])
        template.backend = "netjsonconfig.OpenWisp"
        template.save()
        self.assertStatus(config, "modified")

    def test_template_edit_does_not_touch_modified_timestamp_of_configs(self):
        template = self._create_template()
        config = self._applied_config(templates=[template])
        before = config.modified
        template.config = _interface("eth1")
        template.save()
        config.refresh_from_db()
        self.assertEqual(config.modified, before)

    def test_saving_template_without_changes_keeps_status(self):
        template = self._create_template()
        config = self._applied_config(templates=[template])
        template.full_clean()
        template.save()
        self.assertStatus(config, "running")

    def test_renaming_template_or_changing_default_keeps_status(self):
        template = self._create_template()
        config = self._applied_config(templates=[template])
        template.name = "renamed"
        template.default = True
        template.save()
        self.assertStatus(config, "running")

    def test_template_edit_without_effect_on_output_is_undone_at_next_poll(self):
        template = self._create_template(config=_interface("eth0", mtu=1400))
        config = self._applied_config(config=_interface("eth0", mtu=1500), templates=[template])
        template.config = _interface("eth0", mtu=1450)  # the config overrides the mtu
        template.save()
        self.assertStatus(config, "modified")
        self._poll(config)
        self.assertStatus(config, "running")

    def test_template_edit_reverted_before_next_poll_restores_error_status(self):
        template = self._create_template()
        config = self._device_applied(self._create_config(templates=[template]), status="error")
        template.config = _interface("eth1")
        template.save()
        template.config = _interface("eth0")
        template.save()
        self._poll(config)
        self.assertStatus(config, "error")

    def test_template_edit_with_effect_on_output_stays_modified_after_poll(self):
        template = self._create_template()
        config = self._applied_config(templates=[template])
        template.config = _interface("eth1")
        template.save()
        self._poll(config)
        self.assertStatus(config, "modified")

    def test_status_reported_after_template_edit_is_kept_at_next_poll(self):
        template = self._create_template()
        config = self._applied_config(templates=[template])
        template.config = _interface("eth1")
        template.save()
        self._poll(config)
        self._device_applied(config)
        self._poll(config)
        self.assertStatus(config, "running")


class TestStatusOnContextChanges(StatusTestMixin, TestCase):
    @override_settings(NETJSONCONFIG_CONTEXT={"site": "rome"})
    def test_context_setting_change_flips_status_of_configs_using_it(self):
        config = self._applied_config(config=_info_file("{{ site }}"))
        old_checksum = config.get_cached_checksum()
        with override_settings(NETJSONCONFIG_CONTEXT={"site": "milan"}):
            config = self.config_model.objects.get(pk=config.pk)
            self.assertNotEqual(config.get_cached_checksum(), old_checksum)
            self.assertStatus(config, "modified")
            self.assertStoredChecksumIsReal(config)

    @override_settings(NETJSONCONFIG_CONTEXT={"site": "rome"})
    def test_context_setting_change_keeps_status_of_configs_not_using_it(self):
        config = self._applied_config()
        old_checksum = config.get_cached_checksum()
        with override_settings(NETJSONCONFIG_CONTEXT={"site": "milan"}):
            config = self.config_model.objects.get(pk=config.pk)
            self.assertEqual(config.get_cached_checksum(), old_checksum)
            self.assertStatus(config, "running")

    def test_context_used_by_template_flips_status_when_it_changes(self):
        template = self._create_template(config=_info_file("{{ site }}"), default_values={"site": "rome"})
        config = self._applied_config(templates=[template])
        with override_settings(NETJSONCONFIG_CONTEXT={"site": "milan"}):
            config = self.config_model.objects.get(pk=config.pk)
            config.get_cached_checksum()
            self.assertStatus(config, "modified")


class TestChecksumCache(StatusTestMixin, TestCase):
    def test_stored_checksum_is_read_without_rendering(self):
        """Guards an optimisation: a valid stored checksum is read, not rendered again."""
        config = self._applied_config(templates=[self._create_template()])
        config = self.config_model.objects.get(pk=config.pk)
        with self.assertNumQueries(0):
            checksum = config.get_cached_checksum()
        self.assertEqual(checksum, self._real_checksum(config))

    def test_cached_archive_is_served_without_rendering(self):
        config = self._applied_config(templates=[self._create_template()])
        config = self.config_model.objects.get(pk=config.pk)
        with self.assertNumQueries(0):
            checksum, archive = config.get_cached_archive()
        self.assertEqual(archive, config.generate().getvalue())
        self.assertEqual(hashlib.md5(archive).hexdigest(), checksum)

    def test_archive_missing_from_cache_is_rendered_again(self):
        config = self._applied_config()
        checksum, archive = config.get_cached_archive()
        self.assertEqual(hashlib.md5(archive).hexdigest(), checksum)
        self.assertStatus(config, "running")

    def test_checksum_stays_valid_after_adding_vpn_template(self):
        config = self._applied_config()
        config.templates.add(self._create_vpn_template())
        config = self.config_model.objects.get(pk=config.pk)
        files = [item["contents"] for item in config.json(dict=True)["files"]]
        self.assertIn(self.vpnclient_model.objects.get(config=config).cert.certificate, files)
        self.assertStoredChecksumIsReal(config)

    def test_checksum_stays_valid_after_removing_vpn_template(self):
        template = self._create_vpn_template()
        config = self._applied_config(templates=[template])
        config.templates.remove(template)
        self.assertStoredChecksumIsReal(config)

    def test_new_config_with_default_vpn_template_has_client_and_real_checksum(self):
        template = self._create_vpn_template(default=True)
        config = self._create_config()
        self.assertEqual(list(config.templates.all()), [template])
        self.assertTrue(self.vpnclient_model.objects.get(config=config).cert_id)
        self.assertStoredChecksumIsReal(config)

    def test_set_with_same_vpn_template_keeps_client_and_certificate(self):
        template = self._create_vpn_template()
        config = self._applied_config(templates=[template])
        client = self.vpnclient_model.objects.get(config=config)
        config.templates.set([template])
        self.assertEqual(self.vpnclient_model.objects.get(config=config), client)
        self.assertEqual(self.vpnclient_model.objects.get(config=config).cert_id, client.cert_id)
        self.assertStatus(config, "running")

    def test_reverse_add_of_vpn_template_creates_vpn_client(self):
        template = self._create_vpn_template()
        config = self._applied_config()
        template.config_relations.add(config)
        self.assertTrue(self.vpnclient_model.objects.filter(config=config, vpn=template.vpn).exists())
        self.assertStoredChecksumIsReal(config)

    def test_reverse_clear_of_vpn_template_deletes_vpn_clients(self):
        template = self._create_vpn_template()
        config = self._applied_config(templates=[template])
        template.config_relations.clear()
        self.assertFalse(self.vpnclient_model.objects.filter(config=config).exists())
        self.assertStoredChecksumIsReal(config)
