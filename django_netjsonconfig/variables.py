"""
Configuration variables: the names a configuration uses, the checks of the
per-device ``context`` and template ``default_values`` objects, and the
resolution of placeholders standing for typed values (``"mtu": "{{ mtu }}"``).

The placeholder syntax is netjsonconfig's own (``netjsonconfig.utils.var_pattern``,
applied by ``evaluate_vars()`` to string values, never to keys).
"""

import json
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from jsonschema import Draft4Validator
from netjsonconfig.utils import var_pattern

from django_netjsonconfig.netjson import json_roundtrip

#: ``{{ name }}`` as netjsonconfig evaluates it
VARIABLE = var_pattern
#: variables every configuration has; devices and templates cannot redefine them
BUILTIN_VARIABLES = ("id", "key", "name", "mac_address", "hardware_id")
#: the variables a configuration gets for each VPN server it is a client of
#: (OpenVPN certificates; WireGuard address, keys and VNI, see ``wireguard``)
VPN_VARIABLE = re.compile(r"^(?:(ca|cert|key)_(path|contents)_\w+|(vpn_ip|pvt_key|pub_key|srv_key|vni)_[0-9a-f]{32})$")
#: VPN variables holding a private key that is not PEM (WireGuard), never shown in the admin
SECRET_VARIABLE = re.compile(r"^pvt_key_[0-9a-f]{32}$")
#: accepted names of device and template variables
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPED_STRING = re.compile(r"^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false)$")


def is_reserved(name):
    """Whether ``name`` is a built-in or a VPN variable (they cannot be shadowed)."""
    return name in BUILTIN_VARIABLES or bool(VPN_VARIABLE.match(name))


def clean_variables(value):
    """
    Checks a ``context`` or ``default_values`` object and returns it with
    numbers stored as strings (every variable is text once rendered).
    Raises ``ValidationError`` with one short message per problem.
    """
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationError(_("Variables must be a JSON object of names and values."))
    errors = []
    cleaned = {}
    for name, item in value.items():
        if not VARIABLE_NAME.match(name):
            errors.append(
                _('"%(name)s" is not a valid variable name (letters, digits and underscores).') % {"name": name}
            )
        elif is_reserved(name):
            errors.append(_("variable `%(name)s` is built in and cannot be redefined.") % {"name": name})
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            errors.append(_("variable `%(name)s`: the value must be a string or a number.") % {"name": name})
            continue
        cleaned[name] = item if isinstance(item, str) else json.dumps(item)
    if errors:
        raise ValidationError(errors)
    return cleaned


def used_variables(data):
    """The names of the variables used by the string values of ``data`` (a set)."""
    found = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and "{{" in item:
            found.update(name.strip() for name in VARIABLE.findall(item))
    found.discard("")
    return found


def undefined_message(name, template=None):
    if template is None:
        return _("variable `%(name)s` is not defined") % {"name": name}
    return _('variable `%(name)s` is not defined (used by template "%(template)s")') % {
        "name": name,
        "template": template,
    }


def _placeholder_paths(data, path=()):
    """Paths of the string values of ``data`` holding a variable."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _placeholder_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _placeholder_paths(value, (*path, index))
    elif isinstance(data, str) and "{{" in data and VARIABLE.search(data):
        yield path


def _flatten(errors):
    stack = list(errors)
    while stack:
        error = stack.pop()
        yield error
        stack.extend(error.context or ())


def _typed(value, types):
    if not _TYPED_STRING.match(value):
        return None
    types = types if isinstance(types, list) else [types]
    if value in ("true", "false"):
        return (value == "true") if "boolean" in types else None
    number = json.loads(value)
    if "integer" in types and isinstance(number, int):
        return number
    if "number" in types:
        return number
    return None


def _set(data, path, value):
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _get(data, path):
    for part in path:
        data = data[part]
    return data


#: every character a string reading as a number or a boolean can hold (``_TYPED_STRING``)
_TYPED_ALPHABET = frozenset("0123456789+-.eEtruefals")


def may_resolve_typed(names, context):
    """
    Whether a value holding one of the variables ``names`` can evaluate to a
    string reading as a number or a boolean (see
    ``resolve_typed_placeholders()``): not when every defined one has a
    character no such string has (a name, a MAC address), which spares
    rendering the merging of the templates a second time.
    """
    for name in names:
        if name not in context:
            continue  # stays a placeholder: never a number
        value = context[name]
        if not isinstance(value, str) or _TYPED_ALPHABET.issuperset(value):
            return True
    return False


def resolve_typed_placeholders(backend, raw_config, schema=None):
    """
    Gives the values that came from a variable the type their field wants:
    ``"mtu": "{{ mtu }}"`` with ``mtu = "1500"`` becomes ``1500`` in
    ``backend.config``, so the resolved value is validated (and rendered) like
    the same value typed in the NetJSON. ``raw_config`` is the merged NetJSON
    before evaluation; only the values that held a variable are converted,
    and only when the schema refuses them as strings. Rendering is unchanged
    (native formats are text).
    """
    paths = {path for path in _placeholder_paths(raw_config) if _typed_candidate(backend.config, path)}
    if not paths:
        return  # nothing resolved to a number or a boolean: no validation needed
    backend.config = json_roundtrip(backend.config)
    validator = Draft4Validator(schema or backend.schema)
    for _attempt in range(10):
        changed = False
        for error in _flatten(validator.iter_errors(backend.config)):
            path = tuple(error.absolute_path)
            if error.validator != "type" or path not in paths or not _typed_candidate(backend.config, path):
                continue
            typed = _typed(_get(backend.config, path), error.validator_value)
            if typed is not None:
                _set(backend.config, path, typed)
                changed = True
        if not changed:
            return


def _typed_candidate(config, path):
    """Whether the value at ``path`` is a string that reads as a number or a boolean."""
    try:
        value = _get(config, path)
    except (KeyError, IndexError, TypeError):
        return False
    return isinstance(value, str) and bool(_TYPED_STRING.match(value))


def unresolved_paths(config):
    """Paths of the values still holding a variable once evaluated."""
    return set(_placeholder_paths(config))
