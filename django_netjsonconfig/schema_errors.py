"""
Schema validation errors an operator can act on: one short line naming the
property (``interfaces[0].mtu``), the offending value (shortened, PEM blocks
never quoted) and the rule, and the mapping of a path of a merged
configuration back to the source (template or own NetJSON) that defined it.
"""

import json
import re

from django.utils.translation import gettext_lazy as _

#: longest excerpt of an offending value quoted in an error message
VALUE_EXCERPT = 60
#: list items are matched across merged sources by these keys (netjsonconfig's identifiers)
LIST_IDENTIFIERS = ("name", "config_value", "id")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def short_value(value):
    """The JSON of ``value`` cut to a short excerpt (PEM blocks and long lists never shown whole)."""
    if isinstance(value, str) and "-----BEGIN" in value:
        return _("a PEM block of %(count)d characters") % {"count": len(value)}
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > VALUE_EXCERPT:
        text = text[: VALUE_EXCERPT - 1] + "\u2026"
    return text


def json_path(path):
    """``["interfaces", 0, "mtu"]`` as ``interfaces[0].mtu`` (``(root)`` when empty)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            text += f".{part}" if text else str(part)
        else:
            text += f"[{json.dumps(str(part))}]"
    return text or "(root)"


def _branches(error):
    branches = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0], []).append(sub)
    return list(branches.values())


def _enum_errors(errors):
    # errors on a direct property restricted to a few values ("type", "proto"...)
    return [error for error in errors if error.validator in ("enum", "const") and len(error.path) == 1]


def relevant_error(error):
    """
    ``(error, allowed values or None)``: the jsonschema error an operator
    needs. Inside ``oneOf``/``anyOf`` it is found in the branch meant for the
    kind of object given (branches refusing its ``type`` are skipped) and,
    there, the deepest one, instead of "is not valid under any of the given
    schemas". When every branch refuses the same property, the values allowed
    by any branch are returned with it.
    """
    allowed = None
    while error.validator in ("oneOf", "anyOf") and error.context:
        branches = _branches(error)
        names = [{sub.path[0] for sub in _enum_errors(errors)} for errors in branches]
        shared = set.intersection(*names)

        def mismatch(index):
            return bool(names[index] - shared)  # noqa: B023 (used within the iteration)

        index = min(range(len(branches)), key=lambda index: (mismatch(index), len(branches[index])))
        error = max(branches[index], key=lambda sub: len(sub.path))
        if error.validator in ("enum", "const") and len(error.path) == 1 and error.path[0] in shared:
            allowed = []
            for errors in branches:
                for sub in _enum_errors(errors):
                    values = sub.validator_value if sub.validator == "enum" else [sub.validator_value]
                    if sub.path[0] == error.path[0]:
                        allowed += [value for value in values if value not in allowed]
    return error, allowed


def _allowed_values(values):
    if len(values) <= 8:
        return _("one of %(values)s") % {"values": ", ".join(short_value(value) for value in values)}
    return _("one of the %(count)d allowed values") % {"count": len(values)}


def describe_rule(error):
    """``(path, text)`` of a jsonschema error: where, the value given and the rule broken."""
    error, allowed = relevant_error(error)
    path = list(error.absolute_path)
    value, rule = short_value(error.instance), error.validator_value
    if allowed is not None:
        return path, _("%(value)s is not %(allowed)s.") % {"value": value, "allowed": _allowed_values(allowed)}
    if error.validator in ("oneOf", "anyOf"):
        return path, _("%(value)s does not match any allowed form.") % {"value": value}
    texts = {
        "type": lambda: (
            _("%(value)s is not of type %(rule)s.")
            % {"value": value, "rule": " or ".join(rule) if isinstance(rule, list) else rule}
        ),
        "enum": lambda: _("%(value)s is not %(allowed)s.") % {"value": value, "allowed": _allowed_values(rule)},
        "const": lambda: _("%(value)s is not %(allowed)s.") % {"value": value, "allowed": short_value(rule)},
        "required": lambda: (
            _('the property "%(name)s" is required.')
            % {"name": next((name for name in rule if name not in error.instance), rule[0])}
        ),
        "pattern": lambda: (
            _("%(value)s does not match the pattern %(rule)s.") % {"value": value, "rule": short_value(rule)}
        ),
        "format": lambda: _("%(value)s is not a valid %(rule)s.") % {"value": value, "rule": rule},
        "minimum": lambda: _("%(value)s is less than the minimum of %(rule)s.") % {"value": value, "rule": rule},
        "maximum": lambda: _("%(value)s is greater than the maximum of %(rule)s.") % {"value": value, "rule": rule},
        "minLength": lambda: _("%(value)s is shorter than %(rule)s characters.") % {"value": value, "rule": rule},
        "maxLength": lambda: _("%(value)s is longer than %(rule)s characters.") % {"value": value, "rule": rule},
        "minItems": lambda: _("needs at least %(rule)s items.") % {"rule": rule},
        "maxItems": lambda: _("allows at most %(rule)s items.") % {"rule": rule},
    }
    if error.validator in texts:
        return path, texts[error.validator]()
    message = error.message
    if len(message) > 200:
        message = message[:199] + "\u2026"
    return path, message


def schema_error_message(error, path=None, prefix=""):
    """
    A netjsonconfig schema error as one short line (at most about 300
    characters): the property path, the offending value and the rule, e.g.
    ``interfaces[0].mtu: "abc" is not of type integer.`` ``path`` replaces the
    path of the error (e.g. mapped back to the operator's own JSON).
    """
    details = getattr(error, "details", None)
    if details is None or not hasattr(details, "absolute_path"):
        return prefix + str(getattr(error, "message", error))[:250]
    error_path, text = describe_rule(details)
    return f"{prefix}{json_path(error_path if path is None else path)}: {text}"


def _matching_index(items, target):
    """Index of the item of ``items`` that became ``target`` when merging, or None."""
    if isinstance(target, dict):
        for key in LIST_IDENTIFIERS:
            if key in target:
                return next(
                    (
                        index
                        for index, item in enumerate(items)
                        if isinstance(item, dict) and item.get(key) == target[key]
                    ),
                    None,
                )
    return next((index for index, item in enumerate(items) if item == target), None)


def source_path(source, merged, path):
    """
    The path, in ``source`` (one of the configurations merged into
    ``merged``), of the value found at ``path`` in ``merged``; ``None`` when
    ``source`` does not define it.
    """
    found = []
    for part in path:
        if isinstance(part, int):
            if not (isinstance(source, list) and isinstance(merged, list) and part < len(merged)):
                return None
            index = _matching_index(source, merged[part])
            if index is None:
                return None
            found.append(index)
            source, merged = source[index], merged[part]
        else:
            if not (isinstance(source, dict) and part in source):
                return None
            found.append(part)
            source, merged = source[part], merged.get(part) if isinstance(merged, dict) else None
    return found
