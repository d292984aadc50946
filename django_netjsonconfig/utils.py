"""Helpers shared by models, admin and controller."""

from __future__ import annotations

import functools
import json
from collections import OrderedDict
from copy import deepcopy

from django.utils.module_loading import import_string


@functools.cache
def load_backend(path: str):
    """Imports a backend class from its dotted path (cached)."""
    return import_string(path)


def json_roundtrip(value):
    """Returns ``value`` as plain dicts and lists (ordered mappings flattened)."""
    return json.loads(json.dumps(value))


def ordered_copy(value):
    """Deep copy of a NetJSON value keeping key order."""
    if isinstance(value, str):
        return json.loads(value, object_pairs_hook=OrderedDict)
    return deepcopy(value)


def get_controller_urls(views_module):
    """
    URL patterns of the device controller bound to the ``checksum``,
    ``download_config``, ``report_status``, ``register`` (and, when present,
    ``update_info``) callables of ``views_module``.
    """
    from django.urls import path

    urls = [
        path("controller/checksum/<str:pk>/", views_module.checksum, name="checksum"),
        path("controller/download-config/<str:pk>/", views_module.download_config, name="download_config"),
        path("controller/report-status/<str:pk>/", views_module.report_status, name="report_status"),
        path("controller/register/", views_module.register, name="register"),
    ]
    if hasattr(views_module, "update_info"):
        urls.append(path("controller/update-info/<str:pk>/", views_module.update_info, name="update_info"))
    return urls
