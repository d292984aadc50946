"""Copies of NetJSON values."""

import json
from collections import OrderedDict
from copy import deepcopy


def json_roundtrip(value):
    """Returns ``value`` as plain dicts and lists (ordered mappings flattened)."""
    return json.loads(json.dumps(value))


def ordered_copy(value):
    """Deep copy of a NetJSON value keeping key order."""
    if isinstance(value, str):
        return json.loads(value, object_pairs_hook=OrderedDict)
    return deepcopy(value)
