"""
Internal abstract parent of Config, Template and Vpn.

This module (like the rest of ``django_netjsonconfig.base``) can be imported
without adding ``django_netjsonconfig`` to ``INSTALLED_APPS``.
"""

import functools
import hashlib
import json
import uuid
from collections import OrderedDict

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from jsonfield import JSONField
from jsonschema import Draft4Validator
from model_utils.fields import AutoCreatedField, AutoLastModifiedField
from netjsonconfig.backends.base import backend as backend_module
from netjsonconfig.exceptions import ValidationError as SchemaError

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.backends import load_backend
from django_netjsonconfig.netjson import json_roundtrip
from django_netjsonconfig.schema_errors import describe_rule, relevant_error, schema_error_message, source_path
from django_netjsonconfig.variables import (
    clean_variables,
    may_resolve_typed,
    resolve_typed_placeholders,
    unresolved_paths,
    used_variables,
)


def backend_choices():
    """Choices of ``backend`` (a callable, so settings stay out of migrations)."""
    return app_settings.BACKENDS


def vpn_backend_choices():
    return app_settings.VPN_BACKENDS


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


def variables_field(verbose_name, help_text):
    """A JSON object of configuration variables (names to string values)."""
    return JSONField(
        verbose_name,
        default=dict,
        blank=True,
        help_text=help_text,
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
    #: name of the field holding a JSON object of variables (a config's
    #: ``context``, a template's ``default_values``), cleaned by ``clean_fields()``
    variables_field_name = None

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    def clean_fields(self, exclude=None):
        """The fields' own checks, plus the names and values of the variables field."""
        errors = {}
        try:
            super().clean_fields(exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        name = self.variables_field_name
        if name and name not in (exclude or ()):
            try:
                setattr(self, name, clean_variables(getattr(self, name)))
            except ValidationError as error:
                errors.setdefault(name, []).extend(error.error_list)
        if errors:
            raise ValidationError(errors)

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
            if self.__template__ and self._only_placeholder_errors(backend):
                return backend
            raise ValidationError(self._attributed_error(error, backend, templates)) from error
        return backend

    @staticmethod
    def _only_placeholder_errors(backend):
        """
        Whether every schema error of a template is on a value holding a
        variable it has no default value for: the template editor has no
        device, so such a value is accepted; each config
        using the template is validated with its own values.
        """
        placeholders = unresolved_paths(backend.config)
        if not placeholders:
            return False
        validator = Draft4Validator(backend.schema, format_checker=backend_module.format_checker)
        for error in validator.iter_errors(backend.config):
            path = tuple(relevant_error(error)[0].absolute_path)
            if not any(path[: len(placeholder)] == placeholder for placeholder in placeholders):
                return False
        validate_file_paths = getattr(backend, "_validate_file_paths", None)
        if validate_file_paths is not None:
            try:
                validate_file_paths()
            except Exception:  # reported by the caller's own validation
                return False
        return True

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
        context = self.get_render_context(templates) if hasattr(self, "get_context") else {}
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
            kwargs["context"] = self.get_render_context(template_instances)
        backend = self.backend_class(**kwargs)
        if kwargs.get("context") and may_resolve_typed(
            used_variables([kwargs["config"], templates or []]), kwargs["context"]
        ):
            # a variable standing for a number (``"mtu": "{{ mtu }}"``) gets the type its field wants
            raw = self.backend_class(config=kwargs["config"], templates=templates).config
            resolve_typed_placeholders(backend, raw)
        return backend

    def get_render_context(self, template_instances=None):
        """The variables rendering uses (``get_context()``; configs add their templates' default values)."""
        return self.get_context()

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
