"""
Where the helpers shared by models, admin and controller used to live; they
now live in modules named for what they hold, and stay importable from here:

* ``django_netjsonconfig.controller.url_patterns``: ``get_controller_urls``
  (documented as ``django_netjsonconfig.utils.get_controller_urls``);
* ``django_netjsonconfig.controller.responses``: ``CONTROLLER_HEADER``,
  ``ControllerResponse``, ``describe_request``, ``invalid_response``,
  ``send_file``, ``send_config``;
* ``django_netjsonconfig.controller.params``: ``constant_time_in``,
  ``request_param``, ``forbid_unallowed``;
* ``django_netjsonconfig.ip_addresses``: ``normalize_ip``, ``get_client_ip``;
* ``django_netjsonconfig.device_writes``: ``update_device_fields``,
  ``update_last_ip``;
* ``django_netjsonconfig.netjson``: ``json_roundtrip``, ``ordered_copy``;
* ``django_netjsonconfig.backends``: ``load_backend``;
* ``django_netjsonconfig.shortcuts``: ``get_object_or_404``.
"""

from django_netjsonconfig.backends import load_backend
from django_netjsonconfig.controller.params import constant_time_in, forbid_unallowed, request_param
from django_netjsonconfig.controller.responses import (
    CONTROLLER_HEADER,
    ControllerResponse,
    describe_request,
    invalid_response,
    send_config,
    send_file,
)
from django_netjsonconfig.controller.url_patterns import get_controller_urls
from django_netjsonconfig.device_writes import update_device_fields, update_last_ip
from django_netjsonconfig.ip_addresses import get_client_ip, normalize_ip
from django_netjsonconfig.netjson import json_roundtrip, ordered_copy
from django_netjsonconfig.shortcuts import get_object_or_404

__all__ = [
    "CONTROLLER_HEADER",
    "ControllerResponse",
    "constant_time_in",
    "describe_request",
    "forbid_unallowed",
    "get_client_ip",
    "get_controller_urls",
    "get_object_or_404",
    "invalid_response",
    "json_roundtrip",
    "load_backend",
    "normalize_ip",
    "ordered_copy",
    "request_param",
    "send_config",
    "send_file",
    "update_device_fields",
    "update_last_ip",
]
