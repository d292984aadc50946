"""
The django-netjsonconfig test suite rerun against the models of this
extending app (``SAMPLE_APP=1 ./runtests.py``): each test case of the package
that exercises the models, admin or controller is subclassed explicitly here
with a mixin that supplies the organization these models need. A test case
added to the package is rerun here once it is listed below.
"""

from django_netjsonconfig.tests import (
    test_admin,
    test_admin_browser,
    test_admin_bulk_history,
    test_admin_fleet_list,
    test_admin_pages,
    test_admin_preview,
    test_browser,
    test_concurrency,
    test_config,
    test_controller,
    test_controller_checksum,
    test_controller_download,
    test_controller_fuzz,
    test_controller_register,
    test_controller_report_status,
    test_controller_update_info,
    test_device_state,
    test_first_rendering,
    test_fleet_browser,
    test_fleet_bulk,
    test_fleet_expiry,
    test_fleet_state,
    test_memory,
    test_registration_race,
    test_render_path,
    test_scale_out,
    test_schema_view,
    test_status,
    test_template,
    test_template_background,
    test_validation_messages,
    test_variables,
    test_vpn,
    test_vpn_sync,
)

from .models import Organization


class OrganizationMixin:
    def _extra_fields(self, model):
        fields = super()._extra_fields(model)
        if any(field.name == "organization" for field in model._meta.fields):
            fields["organization"] = Organization.objects.get_or_create(name="default")[0]
        return fields


# test_admin


class SampleTestConfigAdmin(OrganizationMixin, test_admin.TestConfigAdmin):
    pass


class SampleTestTemplateAdmin(OrganizationMixin, test_admin.TestTemplateAdmin):
    pass


class SampleTestVpnAdmin(OrganizationMixin, test_admin.TestVpnAdmin):
    pass


# test_admin_pages


class SampleTestPagesOfASuperuser(OrganizationMixin, test_admin_pages.TestPagesOfASuperuser):
    pass


class SampleTestPagesOfStaffWithoutPermission(OrganizationMixin, test_admin_pages.TestPagesOfStaffWithoutPermission):
    pass


class SampleTestPagesOfViewOnlyStaff(OrganizationMixin, test_admin_pages.TestPagesOfViewOnlyStaff):
    pass


class SampleTestPreviewFilesAndDiff(OrganizationMixin, test_admin_pages.TestPreviewFilesAndDiff):
    pass


# test_browser


class SampleTestEditorInBrowser(OrganizationMixin, test_browser.TestEditorInBrowser):
    pass


# test_concurrency


class SampleTestNothingLost(OrganizationMixin, test_concurrency.TestNothingLost):
    pass


# test_config


class SampleTestConfigFields(OrganizationMixin, test_config.TestConfigFields):
    pass


class SampleTestConfigValidation(OrganizationMixin, test_config.TestConfigValidation):
    pass


class SampleTestConfigRendering(OrganizationMixin, test_config.TestConfigRendering):
    pass


class SampleTestConfigContext(OrganizationMixin, test_config.TestConfigContext):
    pass


class SampleTestDefaultTemplates(OrganizationMixin, test_config.TestDefaultTemplates):
    pass


class SampleTestTemplateOrder(OrganizationMixin, test_config.TestTemplateOrder):
    pass


class SampleTestTemplateConflicts(OrganizationMixin, test_config.TestTemplateConflicts):
    pass


class SampleTestMessagesAreReadable(OrganizationMixin, test_config.TestMessagesAreReadable):
    pass


# test_controller


class SampleTestCsrf(OrganizationMixin, test_controller.TestCsrf):
    pass


class SampleTestSecrets(OrganizationMixin, test_controller.TestSecrets):
    pass


class SampleTestControllerUrls(OrganizationMixin, test_controller.TestControllerUrls):
    pass


class SampleTestExtendingControllerViews(OrganizationMixin, test_controller.TestExtendingControllerViews):
    pass


# test_controller_checksum


class SampleTestChecksum(OrganizationMixin, test_controller_checksum.TestChecksum):
    pass


class SampleTestPollingCost(OrganizationMixin, test_controller_checksum.TestPollingCost):
    pass


class SampleTestGenerationErrors(OrganizationMixin, test_controller_checksum.TestGenerationErrors):
    pass


class SampleTestMalformedUuids(OrganizationMixin, test_controller_checksum.TestMalformedUuids):
    pass


class SampleTestChecksumInvalidation(OrganizationMixin, test_controller_checksum.TestChecksumInvalidation):
    pass


class SampleTestLookup(OrganizationMixin, test_controller_checksum.TestLookup):
    pass


# test_controller_download


class SampleTestDownloadConfig(OrganizationMixin, test_controller_download.TestDownloadConfig):
    pass


class SampleTestResponseHelpers(OrganizationMixin, test_controller_download.TestResponseHelpers):
    pass


# test_controller_fuzz


class SampleTestControllerFuzz(OrganizationMixin, test_controller_fuzz.TestControllerFuzz):
    pass


class SampleTestControllerFuzzWithMemory(OrganizationMixin, test_controller_fuzz.TestControllerFuzzWithMemory):
    pass


class SampleTestQueryParameters(OrganizationMixin, test_controller_fuzz.TestQueryParameters):
    pass


# test_controller_register


class SampleTestRegisterNew(OrganizationMixin, test_controller_register.TestRegisterNew):
    pass


class SampleTestRegisterChecks(OrganizationMixin, test_controller_register.TestRegisterChecks):
    pass


class SampleTestRegisterKnownDevice(OrganizationMixin, test_controller_register.TestRegisterKnownDevice):
    pass


# test_controller_report_status


class SampleTestReportStatus(OrganizationMixin, test_controller_report_status.TestReportStatus):
    pass


class SampleTestDeviceWritesKeepOperatorEdits(
    OrganizationMixin, test_controller_report_status.TestDeviceWritesKeepOperatorEdits
):
    pass


# test_controller_update_info


class SampleTestUpdateInfo(OrganizationMixin, test_controller_update_info.TestUpdateInfo):
    pass


# test_device_state


class SampleTestArchiveHistory(OrganizationMixin, test_device_state.TestArchiveHistory):
    pass


class SampleTestRenderError(OrganizationMixin, test_device_state.TestRenderError):
    pass


class SampleTestOperatorSaves(OrganizationMixin, test_device_state.TestOperatorSaves):
    pass


class SampleTestDatabaseUnavailable(OrganizationMixin, test_device_state.TestDatabaseUnavailable):
    pass


# test_memory


class SampleTestPollsFromMemory(OrganizationMixin, test_memory.TestPollsFromMemory):
    pass


class SampleTestPostgresNotifications(OrganizationMixin, test_memory.TestPostgresNotifications):
    pass


class SampleTestChecksumInvalidationFromMemory(OrganizationMixin, test_memory.TestChecksumInvalidationFromMemory):
    pass


class SampleTestMemoryAgainstFreshReads(OrganizationMixin, test_memory.TestMemoryAgainstFreshReads):
    pass


# test_registration_race


class SampleTestRegistrationRace(OrganizationMixin, test_registration_race.TestRegistrationRace):
    pass


# test_schema_view


class SampleTestSchemaView(OrganizationMixin, test_schema_view.TestSchemaView):
    pass


# test_status


class SampleTestStatusOnConfigEdits(OrganizationMixin, test_status.TestStatusOnConfigEdits):
    pass


class SampleTestStatusOnTemplateSelection(OrganizationMixin, test_status.TestStatusOnTemplateSelection):
    pass


class SampleTestStatusOnTemplateEdits(OrganizationMixin, test_status.TestStatusOnTemplateEdits):
    pass


class SampleTestStatusOnContextChanges(OrganizationMixin, test_status.TestStatusOnContextChanges):
    pass


class SampleTestChecksumCache(OrganizationMixin, test_status.TestChecksumCache):
    pass


# test_template


class SampleTestTemplateFields(OrganizationMixin, test_template.TestTemplateFields):
    pass


class SampleTestTemplateValidation(OrganizationMixin, test_template.TestTemplateValidation):
    pass


class SampleTestTemplateEditsAreValidatedAgainstConfigs(
    OrganizationMixin, test_template.TestTemplateEditsAreValidatedAgainstConfigs
):
    pass


class SampleTestTemplateChangesScale(OrganizationMixin, test_template.TestTemplateChangesScale):
    pass


class SampleTestTemplateDeletion(OrganizationMixin, test_template.TestTemplateDeletion):
    pass


# test_validation_messages


class SampleTestModelMessages(OrganizationMixin, test_validation_messages.TestModelMessages):
    pass


class SampleTestTemplatesAreFragments(OrganizationMixin, test_validation_messages.TestTemplatesAreFragments):
    pass


class SampleTestBackendInstanceCache(OrganizationMixin, test_validation_messages.TestBackendInstanceCache):
    pass


class SampleTestOldSchemaNames(OrganizationMixin, test_validation_messages.TestOldSchemaNames):
    pass


class SampleTestFormMessages(OrganizationMixin, test_validation_messages.TestFormMessages):
    pass


class SampleTestVpnServerDefaults(OrganizationMixin, test_validation_messages.TestVpnServerDefaults):
    pass


# test_vpn


class SampleTestVpnServer(OrganizationMixin, test_vpn.TestVpnServer):
    pass


class SampleTestOpenVpnServerBackend(OrganizationMixin, test_vpn.TestOpenVpnServerBackend):
    pass


class SampleTestVpnTemplate(OrganizationMixin, test_vpn.TestVpnTemplate):
    pass


class SampleTestVpnClient(OrganizationMixin, test_vpn.TestVpnClient):
    pass


class SampleTestVpnContext(OrganizationMixin, test_vpn.TestVpnContext):
    pass


class SampleTestVpnSettings(OrganizationMixin, test_vpn.TestVpnSettings):
    pass


class SampleTestVpnChangesReachDevices(OrganizationMixin, test_vpn.TestVpnChangesReachDevices):
    pass


class SampleTestDhparamCommand(OrganizationMixin, test_vpn.TestDhparamCommand):
    pass


# test_vpn_sync


class SampleTestServerRendering(OrganizationMixin, test_vpn_sync.TestServerRendering):
    pass


class SampleTestCrlFreshness(OrganizationMixin, test_vpn_sync.TestCrlFreshness):
    pass


class SampleTestCrlValiditySetting(OrganizationMixin, test_vpn_sync.TestCrlValiditySetting):
    pass


class SampleTestVpnClientTemplateSave(OrganizationMixin, test_vpn_sync.TestVpnClientTemplateSave):
    pass


class SampleTestSyncEndpoints(OrganizationMixin, test_vpn_sync.TestSyncEndpoints):
    pass


class SampleTestSyncScriptCommand(OrganizationMixin, test_vpn_sync.TestSyncScriptCommand):
    pass


class SampleTestSyncScript(OrganizationMixin, test_vpn_sync.TestSyncScript):
    pass


class SampleTestVpnSyncVpnAdmin(OrganizationMixin, test_vpn_sync.TestVpnAdmin):
    pass


# test_first_rendering


class SampleTestFirstChange(OrganizationMixin, test_first_rendering.TestFirstChange):
    pass


class SampleTestRenderCommand(OrganizationMixin, test_first_rendering.TestRenderCommand):
    pass


# test_fleet_browser


class SampleTestFleetInBrowser(OrganizationMixin, test_fleet_browser.TestFleetInBrowser):
    pass


# test_fleet_bulk


class SampleTestBulkActions(OrganizationMixin, test_fleet_bulk.TestBulkActions):
    pass


class SampleTestBulkQueryCounts(OrganizationMixin, test_fleet_bulk.TestBulkQueryCounts):
    pass


# test_fleet_expiry


class SampleTestExpiryFlags(OrganizationMixin, test_fleet_expiry.TestExpiryFlags):
    pass


class SampleTestExpiryCommand(OrganizationMixin, test_fleet_expiry.TestExpiryCommand):
    pass


class SampleTestRenewal(OrganizationMixin, test_fleet_expiry.TestRenewal):
    pass


# test_fleet_state


class SampleTestSyncStates(OrganizationMixin, test_fleet_state.TestSyncStates):
    pass


class SampleTestLastSeenCost(OrganizationMixin, test_fleet_state.TestLastSeenCost):
    pass


# test_schema_view


class SampleTestSchemaCaching(OrganizationMixin, test_schema_view.TestSchemaCaching):
    pass


# test_variables


class SampleTestPrecedence(OrganizationMixin, test_variables.TestPrecedence):
    pass


class SampleTestVariableFields(OrganizationMixin, test_variables.TestVariableFields):
    pass


class SampleTestResolvedValidation(OrganizationMixin, test_variables.TestResolvedValidation):
    pass


class SampleTestUndefinedVariables(OrganizationMixin, test_variables.TestUndefinedVariables):
    pass


class SampleTestVariablesOfDefaultTemplates(OrganizationMixin, test_variables.TestDefaultTemplates):
    pass


class SampleTestStatusFlips(OrganizationMixin, test_variables.TestStatusFlips):
    pass


class SampleTestVariablesAdmin(OrganizationMixin, test_variables.TestVariablesAdmin):
    pass


# test_template_background


class SampleTestBeyondTheBudget(OrganizationMixin, test_template_background.TestBeyondTheBudget):
    pass


class SampleTestWithoutTaskBackend(OrganizationMixin, test_template_background.TestWithoutTaskBackend):
    pass


class SampleTestBackgroundWorker(OrganizationMixin, test_template_background.TestBackgroundWorker):
    pass


# test_scale_out


class SampleTestSeveralAppServers(OrganizationMixin, test_scale_out.TestSeveralAppServers):
    pass


# test_render_path


class SampleTestSkippedValidation(OrganizationMixin, test_render_path.TestSkippedValidation):
    pass


class SampleTestNoStoredConfigurationEscapesValidation(
    OrganizationMixin, test_render_path.TestNoStoredConfigurationEscapesValidation
):
    pass


class SampleTestValidateCommand(OrganizationMixin, test_render_path.TestValidateCommand):
    pass


# test_admin_preview


class SampleTestPreviewOfASavedDeviceIsItsDownload(
    OrganizationMixin, test_admin_preview.TestPreviewOfASavedDeviceIsItsDownload
):
    pass


class SampleTestPreviewOfAnEditAddingAVpnTemplate(
    OrganizationMixin, test_admin_preview.TestPreviewOfAnEditAddingAVpnTemplate
):
    pass


class SampleTestTemplateHostnameIsOverridden(OrganizationMixin, test_admin_preview.TestTemplateHostnameIsOverridden):
    pass


class SampleTestNameErrorsAreOnTheNameField(OrganizationMixin, test_admin_preview.TestNameErrorsAreOnTheNameField):
    pass


# test_admin_fleet_list


class SampleTestFleetListOrder(OrganizationMixin, test_admin_fleet_list.TestFleetListOrder):
    pass


class SampleTestFleetListStatus(OrganizationMixin, test_admin_fleet_list.TestFleetListStatus):
    pass


class SampleTestFleetListCertificateExpiry(OrganizationMixin, test_admin_fleet_list.TestFleetListCertificateExpiry):
    pass


class SampleTestFleetListMacSearch(OrganizationMixin, test_admin_fleet_list.TestFleetListMacSearch):
    pass


# test_admin_bulk_history


class SampleTestBulkLogEntries(OrganizationMixin, test_admin_bulk_history.TestBulkLogEntries):
    pass


class SampleTestBulkRevisions(OrganizationMixin, test_admin_bulk_history.TestBulkRevisions):
    pass


# test_admin_browser


class SampleTestFleetListInBrowser(OrganizationMixin, test_admin_browser.TestFleetListInBrowser):
    pass
