"""
Internal abstract parent of Config, Template and Vpn.

This module (like the rest of ``django_netjsonconfig.base``) can be imported
without adding ``django_netjsonconfig`` to ``INSTALLED_APPS``.
"""

import functools
import hashlib
import json
import re
import uuid
from collections import OrderedDict

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from jsonfield import JSONField
from model_utils.fields import AutoCreatedField, AutoLastModifiedField
from netjsonconfig.exceptions import ValidationError as SchemaError

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.utils import json_roundtrip, load_backend


def backend_choices():
    """Choices of ``backend`` (a callable, so settings stay out of migrations)."""
    return app_settings.BACKENDS


def vpn_backend_choices():
    return app_settings.VPN_BACKENDS


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


CONFLICT = _("There is a conflict with the specified templates: %(details)s")

#: attribute set by the config form: the submitted templates, validated by ``clean()``
FORM_TEMPLATES = "_djnjc_form_templates"


class resettable_cached_property(cached_property):  # noqa: N801 (a decorator, like cached_property)
    """``cached_property`` whose ``del`` works whether or not the value is cached."""

    def __get__(self, instance, cls=None):
        if instance is not None and self.name in instance.__dict__:
            return instance.__dict__[self.name]
        return super().__get__(instance, cls)

    def __set__(self, instance, value):
        instance.__dict__[self.name] = value

    def __delete__(self, instance):
        instance.__dict__.pop(self.name, None)


@functools.cache
def fragment_schema(backend_class):
    """The schema of ``backend_class`` without what only a complete device configuration needs."""
    schema = dict(backend_class.schema)
    properties = dict(schema.get("properties", {}))
    general = properties.get("general")
    if isinstance(general, dict) and "required" in general:
        properties["general"] = {key: value for key, value in general.items() if key != "required"}
    schema["properties"] = properties
    return schema


def _is_backend_class(value):
    # netjsonconfig backends, or classes that behave like them
    return isinstance(value, type) and all(callable(getattr(value, name, None)) for name in ("validate", "generate"))


def config_field(blank=True):
    """The NetJSON field: key order kept on load, indented on dump."""
    return JSONField(
        _("configuration"),
        default=dict,
        blank=blank,
        help_text=_("configuration in NetJSON DeviceConfiguration format"),
        load_kwargs={"object_pairs_hook": OrderedDict},
        dump_kwargs={"indent": 4},
    )


class BaseConfig(models.Model):
    """
    Fields and behaviour shared by everything that holds NetJSON: a name, a
    netjsonconfig backend and the configuration itself.
    """

    #: primary key, exposed to devices as 32 hexadecimal characters
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=64, unique=True)
    backend = models.CharField(
        _("backend"),
        max_length=128,
        choices=backend_choices,
        help_text=mark_safe(
            _(
                'Select <a href="https://netjsonconfig.openwisp.org/en/stable/" '
                'target="_blank" rel="noopener">netjsonconfig</a> backend'
            )
        ),
    )
    config = config_field()
    created = AutoCreatedField(_("created"), editable=True)
    modified = AutoLastModifiedField(_("modified"), editable=True)

    __template__ = False
    __vpn__ = False

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    def clean(self):
        """
        Validates the NetJSON of the object against the schema of its backend;
        import errors of the backend path are reported on the ``backend`` field.
        """
        if self.config is None:
            self.config = {}
        if not isinstance(self.config, dict):
            raise ValidationError({"config": _("Configuration must be a JSON object.")})
        if not self.backend:
            return
        try:
            backend_class = self.backend_class
        except ImportError as error:
            raise ValidationError(
                {"backend": _('Error while importing "%(path)s": %(error)s') % {"path": self.backend, "error": error}}
            ) from error
        if not _is_backend_class(backend_class):
            raise ValidationError({"backend": _('"%(path)s" is not a netjsonconfig backend.') % {"path": self.backend}})
        self._drop_backend_cache()
        templates = getattr(self, FORM_TEMPLATES, None)
        if templates is not None and hasattr(self, "check_templates"):
            self.check_templates(templates)
        else:
            self.validate_merged()

    def _drop_backend_cache(self):
        del self.backend_class
        del self.backend_instance

    @resettable_cached_property
    def backend_class(self):
        """The netjsonconfig backend class named by ``backend``."""
        return load_backend(self.backend)

    @resettable_cached_property
    def backend_instance(self):
        """
        The backend instance built by ``get_backend_instance()``, cached;
        ``del obj.backend_instance`` drops it (cached or not).
        """
        return self.get_backend_instance()

    def validate_merged(self, template_instances=None):
        """
        Builds the backend (with ``template_instances``, by default the stored
        templates) and validates it. A schema error becomes a short
        ``ValidationError`` on ``config``, with the path in the object's own
        JSON, or on ``templates`` when a template causes it (named).
        Templates are fragments: they are not required to hold what only a
        complete device configuration must have (``general.hostname``).
        Returns the backend instance.
        """
        templates = self._blamed_templates(template_instances)
        kwargs = {"template_instances": templates} if templates or template_instances is not None else {}
        try:
            backend = self.get_backend_instance(**kwargs)
        except SchemaError as error:
            # netjsonconfig refuses to merge e.g. an object over a list
            message = str(getattr(error, "message", error))[:250]
            if not templates:
                raise ValidationError({"config": message}) from error
            raise ValidationError({"templates": CONFLICT % {"details": message}}) from error
        if self.__template__:
            backend.schema = fragment_schema(type(backend))
        try:
            self.validate_netjsonconfig_backend(backend)
        except SchemaError as error:
            raise ValidationError(self._attributed_error(error, backend, templates)) from error
        return backend

    def _blamed_templates(self, template_instances):
        if template_instances is not None:
            return list(template_instances)
        if self._state.adding or getattr(type(self), "templates", None) is None:
            return []
        return list(self.templates.all())

    def _attributed_error(self, error, backend, templates):
        """``{field: message}`` for a schema error of the merged NetJSON."""
        details = getattr(error, "details", None)
        if not templates or not hasattr(details, "absolute_path"):
            return {"config": schema_error_message(error)}
        path = describe_rule(details)[0]
        context = self.get_context() if hasattr(self, "get_context") else {}
        sources = [*((template, template.config) for template in templates), (None, self.get_config())]
        template, found = None, path
        for source_template, source in reversed(sources):
            evaluated = json_roundtrip(self.backend_class(config=source, context=context).config)
            source_found = source_path(evaluated, backend.config, path)
            if source_found is not None:
                template, found = source_template, source_found
                break
        if template is None:
            return {"config": schema_error_message(error, found)}
        prefix = CONFLICT % {"details": _('template "%(name)s", ') % {"name": template.name}}
        return {"templates": schema_error_message(error, found, prefix)}

    def get_config(self):
        """The object's own NetJSON, before templates and variables."""
        return self.config if self.config is not None else {}

    def get_backend_instance(self, template_instances=None):
        """
        Builds the netjsonconfig backend: the object's NetJSON merged over the
        given templates (or its stored ones) with its context variables.
        """
        kwargs = {"config": self.get_config()}
        templates = self.get_template_configs(template_instances)
        if templates is not None:
            kwargs["templates"] = templates
        if hasattr(self, "get_context"):
            kwargs["context"] = self.get_context()
        return self.backend_class(**kwargs)

    def get_template_configs(self, template_instances=None):
        """NetJSON of the templates to merge; ``None`` for objects without templates."""
        return None

    @classmethod
    def validate_netjsonconfig_backend(cls, backend):
        """Runs the schema validation of a backend instance on plain JSON data."""
        backend.config = json_roundtrip(backend.config)
        backend.validate()

    @classmethod
    def clean_netjsonconfig_backend(cls, backend):
        """
        Validates ``backend`` (an instance, or a callable returning one so that
        merge errors are caught too) and converts schema errors into a Django
        ``ValidationError`` naming the offending path.
        """
        try:
            if callable(backend):
                backend = backend()
            cls.validate_netjsonconfig_backend(backend)
        except SchemaError as error:
            raise ValidationError(schema_error_message(error)) from error
        return backend

    def generate(self):
        """The configuration archive (tar.gz) as an in-memory binary stream."""
        return self.backend_instance.generate()

    @property
    def checksum(self):
        """MD5 (hex) of the archive served to the device."""
        return hashlib.md5(self.generate().getvalue()).hexdigest()

    def json(self, dict=False, **kwargs):  # noqa: A002 (name is part of the API)
        """The final NetJSON (templates merged, variables evaluated)."""
        config = self.backend_instance.config
        if dict:
            return json_roundtrip(config)
        return json.dumps(config, **kwargs)
