"""
The whole django-netjsonconfig test suite, rerun against the models of this
extending app (``SAMPLE_APP=1 ./runtests.py``): each test case of the package
is subclassed with a mixin that supplies the organization these models need.
"""

import inspect
from importlib import import_module

from django.test import SimpleTestCase

from .models import Organization

#: modules whose test cases exercise the models, admin and controller
MODULES = [
    "test_admin",
    "test_admin_pages",
    "test_concurrency",
    "test_browser",
    "test_config",
    "test_controller",
    "test_controller_fuzz",
    "test_device_state",
    "test_first_rendering",
    "test_fleet_browser",
    "test_fleet_bulk",
    "test_fleet_expiry",
    "test_fleet_state",
    "test_registration_race",
    "test_render_path",
    "test_rowcache",
    "test_schema_view",
    "test_status",
    "test_template",
    "test_validation_messages",
    "test_variables",
    "test_vpn",
    "test_vpn_sync",
]


class OrganizationMixin:
    def _extra_fields(self, model):
        fields = super()._extra_fields(model)
        if any(field.name == "organization" for field in model._meta.fields):
            fields["organization"] = Organization.objects.get_or_create(name="default")[0]
        return fields


def _rerun(module_name):
    module = import_module(f"django_netjsonconfig.tests.{module_name}")
    for name, test_case in inspect.getmembers(module, inspect.isclass):
        if (
            issubclass(test_case, SimpleTestCase)
            and test_case.__module__ == module.__name__
            and name.startswith("Test")
        ):
            globals()[f"Sample{name}"] = type(f"Sample{name}", (OrganizationMixin, test_case), {"__module__": __name__})


for _module_name in MODULES:
    _rerun(_module_name)
