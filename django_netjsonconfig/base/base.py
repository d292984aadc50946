"""
Internal abstract parent of Config, Template and Vpn.

This module (like the rest of ``django_netjsonconfig.base``) can be imported
without adding ``django_netjsonconfig`` to ``INSTALLED_APPS``.
"""

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
from model_utils.fields import AutoCreatedField, AutoLastModifiedField
from netjsonconfig.exceptions import ValidationError as SchemaError

from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.utils import json_roundtrip, load_backend


def backend_choices():
    """Choices of ``backend`` (a callable, so settings stay out of migrations)."""
    return app_settings.BACKENDS


def vpn_backend_choices():
    return app_settings.VPN_BACKENDS


def schema_error_message(error):
    """Turns a netjsonconfig schema error into a readable one-paragraph message."""
    details = getattr(error, "details", error)
    path = "/".join(str(part) for part in getattr(details, "path", []))
    message = getattr(details, "message", str(error))
    return _('Configuration is invalid at "#/%(path)s"; the schema validator reports:\n\n%(message)s') % {
        "path": path,
        "message": message,
    }


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
        self.clean_netjsonconfig_backend(self.get_backend_instance)

    def _drop_backend_cache(self):
        for name in ("backend_class", "backend_instance"):
            self.__dict__.pop(name, None)

    @cached_property
    def backend_class(self):
        """The netjsonconfig backend class named by ``backend``."""
        return load_backend(self.backend)

    @cached_property
    def backend_instance(self):
        """The backend instance built by ``get_backend_instance()`` (cached)."""
        return self.get_backend_instance()

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
