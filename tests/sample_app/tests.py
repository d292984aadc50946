"""
The django-netjsonconfig test suite rerun against the models of this
extending app (``SAMPLE_APP=1 ./runtests.py``): every test case of every
module of ``django_netjsonconfig.tests`` is rerun here, with a mixin that
supplies the organization these models need, except the modules listed in
``NOT_RERUN`` (with the reason). A test case added to the package is rerun
here without being listed.
"""

import importlib
import inspect
import pkgutil
import unittest

from django.test import SimpleTestCase

import django_netjsonconfig.tests

from .models import Organization

#: test modules of the package not rerun against this app, and why
NOT_RERUN = {
    "test_docs_examples": "runs the documentation's example, which imports django_netjsonconfig.models "
    "(a project installing the package)",
    "test_migrations": "migrates the package's own migrations (app label django_netjsonconfig); "
    "this app has migrations of its own",
    "test_readme_project": "builds a project of its own that installs django_netjsonconfig (README 'Setup'); "
    "the project built from the README's 'Extending' blocks is .ci/extending_check.py",
    "test_openvpn_integration": "creates network namespaces and OpenVPN tunnels, which CI runs alone, once; "
    "an extending app's VPN clients and sync endpoints are covered by test_vpn, test_vpn_sync and "
    ".ci/extending_check.py",
    "test_wireguard_integration": "creates network namespaces and WireGuard tunnels, which CI runs alone, once; "
    "the WireGuard sync script is covered by test_vpn_sync_wireguard",
}


class OrganizationMixin:
    def _extra_fields(self, model):
        fields = super()._extra_fields(model)
        if any(field.name == "organization" for field in model._meta.fields):
            fields["organization"] = Organization.objects.get_or_create(name="default")[0]
        return fields


def _test_cases(module):
    """The test cases ``module`` defines (not the ones it imports), in source order."""
    loader = unittest.TestLoader()
    cases = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, SimpleTestCase)
        and value.__module__ == module.__name__
        and loader.getTestCaseNames(value)
    ]
    return sorted(cases, key=lambda case: inspect.getsourcelines(case)[1])


def rerun_package_suite(namespace):
    """Adds to ``namespace`` a ``Sample<module><TestCase>`` subclass of every test case of the package."""
    names = []
    for info in pkgutil.iter_modules(django_netjsonconfig.tests.__path__):
        if not info.name.startswith("test_") or info.name in NOT_RERUN:
            continue
        module = importlib.import_module(f"{django_netjsonconfig.tests.__name__}.{info.name}")
        prefix = "".join(part.title() for part in info.name.split("_")[1:])
        for case in _test_cases(module):
            name = f"Sample{prefix}{case.__name__}"
            namespace[name] = type(name, (OrganizationMixin, case), {"__module__": __name__, "__qualname__": name})
            names.append(name)
    return names


RERUN = rerun_package_suite(globals())
