"""
Generic views of the device-facing controller (the HTTP protocol spoken by
the openwisp-config agent).

Each view only needs a ``model`` attribute (a concrete subclass of
``AbstractConfig``), so that third-party apps can bind them to their own
models::

    from django_netjsonconfig.controller.generics import BaseChecksumView

    class ChecksumView(BaseChecksumView):
        model = MyConfig

    checksum = ChecksumView.as_view()

A request is handled as a fixed series of small methods (object lookup, key
check, parameter checks, the write, the response) so that an extender can
override a single step. Every response built here carries the
``X-Openwisp-Controller: true`` header (``ControllerResponse``), including
405 for a wrong method and 503 when the database cannot be reached; 404 for an
unknown or malformed UUID is Django's own answer, without it.

Device requests write only the columns the device owns (``last_ip``,
``status``, ``error_reason`` and the reported hardware information) with
``UPDATE`` statements limited to those columns, and only when a value
changed: an operator's edit made at the same time is never overwritten.
Nothing is written for a rejected request.
"""

import hashlib
import json
import logging
import sys

from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig, TooManyFieldsSent, ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import BinaryField, Case, F, Value, When
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import View

from django_netjsonconfig import fleet, signals
from django_netjsonconfig import settings as app_settings
from django_netjsonconfig.controller.lookup import CompiledLookup
from django_netjsonconfig.controller.params import constant_time_in, forbid_unallowed, request_param
from django_netjsonconfig.controller.responses import ControllerResponse, describe_request, invalid_response, send_file
from django_netjsonconfig.device_writes import update_device_fields, update_last_ip
from django_netjsonconfig.ip_addresses import get_client_ip, normalize_ip
from django_netjsonconfig.render_errors import log_render_error
from django_netjsonconfig.shortcuts import get_object_or_404
from django_netjsonconfig.validators import mac_address_validator, normalize_mac_address

logger = logging.getLogger(__name__)

#: characters that cannot be stored: NUL (refused by PostgreSQL) and the
#: replacement character Django substitutes for bytes that are not UTF-8
INVALID_CHARACTERS = ("\x00", "\ufffd")

#: answer when a registration keeps colliding with concurrent ones
_CONFLICT_MESSAGE = "Another device is registering with the same data, try again."

#: status values accepted for a stored one (today's agent sends ``applied``)
STATUS_ALIASES = {"applied": "running", "running": "applied"}


class CsrfExtemptMixin:
    """
    Exempts the view from CSRF protection: devices post without a session or a
    token. Use it on device endpoints only. (The misspelt name is the one
    documented since 0.5.6; ``CsrfExemptMixin`` is an alias.)
    """

    @classmethod
    def as_view(cls, **initkwargs):
        return csrf_exempt(super().as_view(**initkwargs))


CsrfExemptMixin = CsrfExtemptMixin


class UpdateLastIpMixin:
    """Adds ``update_last_ip()``: records the client address of a device request."""

    def update_last_ip(self, config, request, **fields):
        """
        Stores the client address as ``last_ip`` (plus the other
        device-reported ``fields``, ``None`` meaning "not reported") when it
        changed, with one ``UPDATE`` of those columns; never bumps ``modified``.
        """
        return update_last_ip(config, request, **fields)


class ModelRequiredMixin:
    """
    A view bound to a model by its ``model`` attribute: without one, the
    first request fails with ``ImproperlyConfigured`` saying so.
    """

    #: what ``model`` must be, for the error message
    model_description = "a concrete configuration model (a subclass of AbstractConfig)"

    def setup(self, request, *args, **kwargs):
        if self.model is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} has no model: set its 'model' attribute to {self.model_description}."
            )
        super().setup(request, *args, **kwargs)


class BaseControllerView(ModelRequiredMixin, View):
    """
    Common base of the controller views: the ``model`` attribute, request
    bodies that cannot be parsed (too large, too many fields) answered with a
    400 controller response, and helpers for device parameters.
    """

    #: concrete Config model the view works on (required)
    model = None

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except RequestDataTooBig:
            return invalid_response(request, "error: request body too large\n", 400)
        except TooManyFieldsSent:
            return invalid_response(request, "error: too many parameters\n", 400)
        except DatabaseError as error:
            return self.database_error(request, error)

    def http_method_not_allowed(self, request, *args, **kwargs):
        """405 with the allowed methods and the controller header."""
        response = super().http_method_not_allowed(request, *args, **kwargs)
        controller_response = ControllerResponse(
            f"error: method {request.method} not allowed\n", content_type="text/plain", status=405
        )
        controller_response["Allow"] = response["Allow"]
        return controller_response

    def database_error(self, request, error):
        """
        The answer when the database fails (connection lost or refused, ...):
        503 with the controller header and a one-line body, so that agents
        retry later; the error is logged (without the request parameters).
        """
        logger.error("database error, answered 503: %s: %s: %s", describe_request(request), type(error).__name__, error)
        return ControllerResponse(
            "error: the database is unavailable, try again later\n", content_type="text/plain", status=503
        )

    def get_queryset(self):
        """The configs devices may address; override to narrow it down."""
        return self.model._default_manager.all()

    def check_encoding(self, request, params):
        """
        Returns a 400 response when one of the POST ``params`` holds bytes that
        are not UTF-8 (or a NUL character), ``None`` otherwise. Such values are
        refused rather than stored mangled.
        """
        if request.content_type == "application/x-www-form-urlencoded":
            try:
                request.body.decode("utf-8")
            except UnicodeDecodeError:
                return invalid_response(request, "error: request body is not valid UTF-8\n", 400)
        for param in params:
            value = request.POST.get(param, "")
            if any(character in value for character in INVALID_CHARACTERS):
                return invalid_response(request, f'error: invalid characters in parameter "{param}"\n', 400)
        return None

    def field_value(self, name, value):
        """
        ``value`` cut to the ``max_length`` of the model field ``name``, or
        ``None`` when it is empty (device information fields: an empty value
        means "not reported" and never clears what is stored).
        """
        if not value:
            return None
        max_length = self.model._meta.get_field(name).max_length
        return value[:max_length] if max_length else value


class BaseDeviceView(UpdateLastIpMixin, BaseControllerView):
    """
    Base of the views addressing one config by ``pk`` and authenticated by its
    ``key``: lookup (404), then the key check (400 missing, 403 wrong).
    """

    #: where the device puts its parameters: ``"GET"`` or ``"POST"``
    param_group = "GET"
    #: columns loaded by ``get_object()``; empty loads every column
    only_fields = ()
    #: whether ``get_object()`` compiles ``get_lookup_queryset()`` once per view
    #: class, model, columns and database, and replays it for every request
    #: (``CompiledLookup``). ``get_lookup_queryset()`` must then not depend on
    #: the request. A subclass overriding ``get_queryset()`` or
    #: ``get_lookup_queryset()`` without setting this attribute itself gets
    #: ``False``: its queryset is built for every request, as written.
    compiled_lookup = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        overrides_queryset = "get_queryset" in vars(cls) or "get_lookup_queryset" in vars(cls)
        if overrides_queryset and "compiled_lookup" not in vars(cls):
            cls.compiled_lookup = False

    def get_object(self, pk):
        """
        The config addressed by ``pk`` (32 hex characters or dashed UUID);
        raises ``Http404`` when it does not exist or ``pk`` is not a UUID.

        Every device poll starts here, and building the query costs more than
        running it: with ``compiled_lookup`` on, the SELECT is compiled once
        by the ORM and replayed (``CompiledLookup``).
        """
        if self.compiled_lookup:
            lookup = CompiledLookup.for_view(self)
            if lookup is not None:
                return lookup.get(pk)
        return get_object_or_404(self.get_lookup_queryset(), pk=pk)

    def get_lookup_queryset(self):
        """``get_queryset()`` limited to ``only_fields`` (when set)."""
        queryset = self.get_queryset()
        if self.only_fields:
            queryset = queryset.only(*self.only_fields)
        return queryset

    def get_full_object(self, config):
        """``config`` with every column loaded (needed to render it)."""
        if not config.get_deferred_fields():
            return config
        return self.get_queryset().get(pk=config.pk)

    def check_key(self, request, config):
        """
        Returns a 400 response when the ``key`` parameter is missing, a 403
        response when it is not the key of ``config`` (compared in constant
        time), ``None`` when the device is authenticated.
        """
        return forbid_unallowed(request, self.param_group, "key", config.key)

    def get_management_ip(self, request):
        """
        The valid ``management_ip`` reported by the device, else ``None``.
        Invalid values are ignored (never stored); an absent value leaves the
        stored one as it is.
        """
        return normalize_ip(request_param(request, self.param_group, "management_ip"))

    def update_device_info(self, config, request):
        """Records the client address and the reported management IP (when changed)."""
        return self.update_last_ip(config, request, management_ip=self.get_management_ip(request))

    def record_seen(self, config):
        """
        Records the device's "last seen" time, at most once per
        ``NETJSONCONFIG_LAST_SEEN_INTERVAL`` (``fleet.record_seen()``): an
        unchanged poll within the interval still costs no query.
        """
        return fleet.record_seen(config)

    def serve(self, request, pk, respond):
        """
        The steps of a device poll or download: lookup (404), key check
        (400/403), recording the device's addresses, then ``respond(config)``;
        a rendering failure inside ``respond`` answers ``generation_error()``.
        """
        config = self.get_object(pk)
        bad_response = self.check_key(request, config)
        if bad_response:
            return bad_response
        self.update_device_info(config, request)
        self.record_seen(config)
        try:
            return respond(config)
        except DatabaseError:
            raise  # answered 503 by dispatch()
        except Exception as error:
            return self.generation_error(request, config, error)

    def generation_error(self, request, config, error=None):
        """
        The answer when the configuration cannot be rendered (e.g. a template
        edited into an invalid state): 500 with the controller header and a
        one-line reason, never 404 (agents give up after repeated 404s). The
        cause is logged in one line (with its traceback when it is not an
        invalid configuration); call it from an ``except`` block.
        """
        log_render_error(
            logger,
            "the configuration %s cannot be generated (%s)",
            config.pk,
            describe_request(request),
            error=error or sys.exc_info()[1],
        )
        return ControllerResponse(
            "error: the configuration cannot be generated\n", content_type="text/plain", status=500
        )


class BaseChecksumView(CsrfExtemptMixin, BaseDeviceView):
    """
    ``GET /controller/checksum/<pk>/?key=<key>[&management_ip=<ip>]``

    Order: 404 unknown/malformed UUID, 400 missing key, 403 wrong key. On
    success records ``last_ip``/``management_ip`` when they changed and answers
    200 ``text/plain`` with the 32 hex characters of the archive's MD5 and no
    newline. The checksum is read from the row when still valid, so a poll of
    an unchanged config costs one query and no write; otherwise the config is
    rendered once (500 if that fails). Exempt from CSRF, so that a wrong
    method is answered 405.
    """

    http_method_names = ["get", "head"]
    only_fields = (
        "id",
        "key",
        "last_ip",
        "management_ip",
        "render_version",
        "rendered_version",
        "rendered_checksum",
        "rendered_fingerprint",
    )

    def get(self, request, pk):
        return self.serve(request, pk, lambda config: self.respond(request, config))

    def respond(self, request, config):
        """The checksum answer; sends ``checksum_requested`` (no query: the instance at hand)."""
        response = ControllerResponse(self.get_checksum(config), content_type="text/plain")
        signals.send_on_commit(signals.checksum_requested, self.model, instance=config, request=request)
        return response

    def get_checksum(self, config):
        """The stored checksum when valid, otherwise renders the config (may raise)."""
        checksum = config.stored_checksum
        if checksum is None:
            checksum = self.get_full_object(config).get_cached_checksum()
        return checksum


class BaseDownloadConfigView(CsrfExtemptMixin, BaseDeviceView):
    """
    ``GET /controller/download-config/<pk>/?key=<key>[&management_ip=<ip>]``

    Order: 404, 400 missing key, 403 wrong key. On success records
    ``last_ip``/``management_ip`` (before answering) and returns the archive
    (``application/octet-stream``, ``Content-Disposition: attachment;
    filename=<name>.tar.gz``), whose MD5 is the checksum, recorded as
    ``downloaded_checksum`` when it changed. A current archive is read from
    the row (one query, no rendering); a rendering failure answers 500.
    Exempt from CSRF, so that a wrong method is answered 405.
    """

    http_method_names = ["get", "head"]
    only_fields = (
        "id",
        "key",
        "name",
        "last_ip",
        "management_ip",
        "render_version",
        "rendered_version",
        "rendered_checksum",
        "rendered_fingerprint",
        "archive_db",
        "downloaded_checksum",
    )

    def get(self, request, pk):
        return self.serve(request, pk, lambda config: self.respond(config, request))

    def respond(self, config, request=None):
        """Records the download and sends the archive (rendering it when needed; may raise)."""
        if config.stored_checksum is None:
            config = self.get_full_object(config)
        checksum, archive = config.get_cached_archive()
        self.record_download(config, checksum)
        signals.send_on_commit(signals.config_download_requested, self.model, instance=config, request=request)
        return send_file(config.name, archive)

    def record_download(self, config, checksum):
        """Stores ``checksum`` as ``downloaded_checksum`` when it changed (device-owned column)."""
        update_device_fields(config, downloaded_checksum=checksum)


class BaseReportStatusView(CsrfExtemptMixin, BaseDeviceView):
    """
    ``POST /controller/report-status/<pk>/`` with ``key``, ``status`` and
    optionally ``error_reason``.

    Order: 404, 400 bad encoding, 400 missing key, 403 wrong key, 400 missing
    status, 403 status not accepted. Accepted statuses are the model's
    ``STATUS`` choices plus ``applied`` (today's agents), stored as
    ``running`` (and the reverse for models storing ``applied``). With
    ``status=error`` the ``error_reason`` (free text, bytes that are not UTF-8
    replaced) is stored cut to the field's length; any other status clears it.
    Only ``status`` and ``error_reason`` are written (``last_ip`` is not);
    a ``running`` (``applied``) report also records the archive last
    downloaded as the applied one (``applied_checksum``, and
    ``applied_archive`` while it is the stored rendering) when it changed.
    Answers 200 ``text/plain``::

        report-result: success
        current-status: <stored status>
    """

    http_method_names = ["post"]
    param_group = "POST"
    only_fields = ("id", "key", "status", "error_reason", "downloaded_checksum", "applied_checksum")

    def post(self, request, pk):
        config = self.get_object(pk)
        bad_response = (
            self.check_encoding(request, ["key", "status"])
            or self.check_key(request, config)
            or self.check_status(request)
        )
        if bad_response:
            return bad_response
        status = self.get_status(request)
        previous_status = config.status
        update_device_fields(config, status=status, error_reason=self.get_error_reason(request, status))
        if config.status != previous_status:
            signals.send_on_commit(signals.config_status_changed, self.model, instance=config)
        if status in ("running", "applied"):
            self.record_applied(config)
        self.record_seen(config)
        return ControllerResponse(
            f"report-result: success\ncurrent-status: {config.status}\n", content_type="text/plain"
        )

    def record_applied(self, config):
        """
        Records the archive the device last downloaded as the one it runs:
        ``applied_checksum`` and, copied in SQL while that archive is still
        the stored rendering, ``applied_archive`` (else ``NULL``: unknown).
        Nothing is written when it is already recorded.
        """
        downloaded = config.downloaded_checksum
        if not downloaded or downloaded == config.applied_checksum:
            return
        current_archive = Case(
            When(rendered_checksum=F("downloaded_checksum"), then=F("archive_db")),
            default=Value(None, output_field=BinaryField()),
            output_field=BinaryField(),
        )
        self.model._default_manager.filter(pk=config.pk).update(
            applied_checksum=F("downloaded_checksum"), applied_archive=current_archive
        )
        config.applied_checksum = downloaded

    def get_status_choices(self):
        """The stored status values of the model."""
        return [value for value, _label in self.model._meta.get_field("status").choices]

    def check_status(self, request):
        """400 when ``status`` is missing, 403 when it is neither a choice nor an alias of one."""
        choices = self.get_status_choices()
        allowed = choices + [alias for alias, target in STATUS_ALIASES.items() if target in choices]
        return forbid_unallowed(request, "POST", "status", allowed)

    def get_status(self, request):
        """The status to store for the reported one."""
        status = request.POST["status"]
        if status in self.get_status_choices():
            return status
        return STATUS_ALIASES[status]

    def get_error_reason(self, request, status):
        """The ``error_reason`` to store for ``status`` (empty unless it is ``error``)."""
        if status != "error":
            return ""
        reason = request.POST.get("error_reason", "").replace("\x00", "")
        return reason[: self.model._meta.get_field("error_reason").max_length]


class BaseUpdateInfoView(CsrfExtemptMixin, BaseDeviceView):
    """
    ``POST /controller/update-info/<pk>/`` with ``key``, ``model``, ``os`` and
    ``system`` (sent by today's agent once per boot).

    Order: 404, 400 bad encoding, 400 missing key, 403 wrong key. Stores the
    non-empty values (empty ones are ignored, never cleared); values longer
    than the model field are cut to its length rather than rejected, since the
    agent does not retry on errors. Answers 200 ``text/plain``
    ``update-info: success`` (no trailing newline).
    """

    http_method_names = ["post"]
    param_group = "POST"
    only_fields = ("id", "key", "model", "os", "system")
    #: device information fields this view stores
    info_fields = ("model", "os", "system")

    def post(self, request, pk):
        config = self.get_object(pk)
        bad_response = self.check_encoding(request, ["key", *self.info_fields]) or self.check_key(request, config)
        if bad_response:
            return bad_response
        update_device_fields(config, **self.get_info(request))
        self.record_seen(config)
        return ControllerResponse("update-info: success", content_type="text/plain")

    def get_info(self, request):
        """The reported information: field name to value (``None`` when not reported)."""
        return {name: self.field_value(name, request.POST.get(name, "")) for name in self.info_fields}


class BaseRegisterView(CsrfExtemptMixin, UpdateLastIpMixin, BaseControllerView):
    """
    ``POST /controller/register/`` with ``secret``, ``name``, ``mac_address``,
    ``backend`` and optionally ``key``, ``hardware_id``, ``model``, ``os``,
    ``system``, ``management_ip`` and ``tags``. Any other field is ignored:
    nothing but these is ever copied onto a model.

    Order of the checks:

    1. registration disabled (``NETJSONCONFIG_REGISTRATION_ENABLED``): 404,
       empty body, controller header (0.5.6; today's agent keeps retrying on
       404 and stops on 403);
    2. 400 body not UTF-8 or a field with a NUL character;
    3. ``invalid()``: 400 missing ``secret``, ``name``, ``mac_address``,
       ``backend``;
    4. ``forbidden()``: 403 wrong secret (constant-time comparison), then 403
       wrong backend, so that clients without the secret learn nothing;
    5. lookup (``get_existing()``) and creation.

    An empty ``key`` or ``hardware_id`` counts as absent; ``tags`` are ignored
    (today's agent may even send ``uci: Entry not found``); too long
    ``hardware_id``/``model``/``os``/``system`` values are cut to the field's
    length and an invalid ``management_ip`` is ignored.

    With consistent registration on, the agent posts ``key`` =
    md5(``"<MAC>+<secret>"``) (or of ``"<hardware id>+<secret>"``):

    * a config with that key answers ``is-new: 0`` with its stored uuid, key
      and name (only ``last_ip`` and the reported hardware fields are
      updated), provided the request belongs to that device: same MAC address,
      or a key derived from the posted MAC or hardware id. Otherwise 403
      ``error: key belongs to another device``: a device never receives the
      credentials of another one.
    * no config with that key but one with the posted MAC (e.g. created by an
      operator, or registered under another secret): when the key is the
      consistent key of the posted MAC or hardware id (and the hardware ids do
      not contradict each other), that config is adopted: ``is-new: 0`` with
      its uuid and its stored key, which is left unchanged. Otherwise the
      duplicate MAC is reported as a validation error (400).

    Whoever knows the shared secret and a device's MAC can therefore obtain
    that device's configuration, as with 0.5.6: keep the secret secret.

    A new config is built by ``init_object()`` from the whitelisted fields
    (``last_ip`` = client address, ``key`` = the posted one when consistent
    registration is on, else random), validated with ``full_clean()`` (400
    with the errors as JSON, keys sorted, indent 4) and saved in a
    transaction; default templates are attached by the model. Two devices
    registering at the same time get one config: the loser of the race is
    answered as a re-registration (same uuid and key) or with a 400, never a
    500. Success is 201 ``text/plain``::

        registration-result: success
        uuid: <32 hex>
        key: <key>
        hostname: <name>
        is-new: <1 or 0>
    """

    http_method_names = ["post"]
    #: required parameters, checked in this order
    required_params = ("secret", "name", "mac_address", "backend")
    #: optional device information stored on the config
    info_fields = ("hardware_id", "model", "os", "system")

    def post(self, request):
        if not self.registration_enabled():
            return self.registration_disabled(request)
        bad_response = (
            self.check_encoding(request, [*self.required_params, "key", *self.info_fields])
            or self.invalid(request)
            or self.forbidden(request)
        )
        if bad_response:
            return bad_response
        return self.register(request, self.get_registration_data(request))

    def registration_enabled(self):
        """Whether devices may register (``NETJSONCONFIG_REGISTRATION_ENABLED``)."""
        return app_settings.REGISTRATION_ENABLED

    def registration_disabled(self, request):
        """The answer when registration is disabled: 404, empty body, controller header."""
        logger.warning("registration refused, it is disabled: %s", describe_request(request))
        return ControllerResponse(status=404)

    def invalid(self, request):
        """
        400 response for the first missing (or empty) required parameter, else
        ``None``; ``hardware_id`` is required with ``NETJSONCONFIG_HARDWARE_ID_ENABLED``.
        """
        required = [*self.required_params]
        if app_settings.HARDWARE_ID_ENABLED and "hardware_id" not in required:
            required.append("hardware_id")
        for param in required:
            bad_response = forbid_unallowed(request, "POST", param)
            if bad_response:
                return bad_response
        return None

    def forbidden(self, request):
        """
        403 response when the secret is wrong (an empty shared secret refuses
        every request) or the backend is not one of ``NETJSONCONFIG_BACKENDS``;
        ``None`` when the request is authorised.
        """
        secret = app_settings.SHARED_SECRET
        if not secret:
            return invalid_response(request, "error: wrong secret\n", 403)
        backends = [path for path, _label in app_settings.BACKENDS]
        return forbid_unallowed(request, "POST", "secret", secret) or forbid_unallowed(
            request, "POST", "backend", backends
        )

    def get_registration_data(self, request):
        """The whitelisted registration fields (empty optional values become ``None``)."""
        post = request.POST
        data = {
            "name": post["name"],
            "raw_mac_address": post["mac_address"],
            "mac_address": normalize_mac_address(post["mac_address"]),
            "backend": post["backend"],
            "key": post.get("key") or None,
            "management_ip": normalize_ip(post.get("management_ip", "")),
        }
        data.update({name: self.field_value(name, post.get(name, "")) for name in self.info_fields})
        if not app_settings.CONSISTENT_REGISTRATION:
            data["key"] = None
        return data

    def register(self, request, data):
        """
        Answers with an existing config or creates one. When the creation
        collides with a concurrent registration (``IntegrityError``, or a
        uniqueness error found by ``full_clean()``) the lookup is done once
        more: it finds the winner's config, or the conflict is reported as a
        validation error.
        """
        for attempt in range(2):
            existing = self.get_existing(request, data)
            if isinstance(existing, ControllerResponse):
                return existing
            if existing is not None:
                return self.registered(request, existing, data)
            if not app_settings.REGISTRATION_SELF_CREATION:
                pre_created = self.get_pre_created(data)
                if pre_created is None:
                    return invalid_response(request, "error: unknown device and self-creation is disabled\n", 404)
                return self.registered(request, pre_created, data)
            config = self.init_object(**self.get_new_object_fields(request, data))
            try:
                self.validate_object(config)
                self.save_object(config)
            except ValidationError as error:
                if attempt == 0 and _is_uniqueness_error(error):
                    continue
                return self.validation_error(request, error)
            except IntegrityError:
                logger.info("concurrent registration, looking up again: %s", describe_request(request))
                continue
            return self.success_response(config, is_new=True)
        return self.validation_error(request, ValidationError(_CONFLICT_MESSAGE))

    def get_existing(self, request, data):
        """
        The config this device already has (see the class docstring), ``None``
        when a new one must be created, or a 403 response when the posted key
        belongs to another device.
        """
        if not data["key"]:
            return None
        config = self.get_queryset().filter(key=data["key"]).first()
        if config is not None:
            if self.is_same_device(config, data):
                return config
            return invalid_response(request, "error: key belongs to another device\n", 403)
        return self.get_adoptable(data)

    def get_adoptable(self, data):
        """The config with the posted MAC address, when the device may adopt it (else ``None``)."""
        try:
            mac_address_validator(data["mac_address"])
        except ValidationError:
            return None
        config = self.get_queryset().filter(mac_address=data["mac_address"]).first()
        if config is None or not self.is_consistent_key(data):
            return None
        if config.hardware_id and data["hardware_id"] and config.hardware_id != data["hardware_id"]:
            return None
        return config

    def get_pre_created(self, data):
        """
        With ``NETJSONCONFIG_REGISTRATION_SELF_CREATION`` off: the config an
        operator created for this device, matched by MAC address or hardware
        id (``None`` when there is none).
        """
        config = self.get_queryset().filter(mac_address=data["mac_address"]).first()
        if config is None and data["hardware_id"]:
            config = self.get_queryset().filter(hardware_id=data["hardware_id"]).first()
        return config

    def is_same_device(self, config, data):
        """Whether a device posting the key of ``config`` is that device."""
        return config.mac_address == data["mac_address"] or self.is_consistent_key(data)

    def get_consistent_keys(self, data):
        """The keys an agent derives from the posted MAC address or hardware id and the secret."""
        bases = {data["raw_mac_address"], data["mac_address"], data["hardware_id"]} - {None, ""}
        secret = app_settings.SHARED_SECRET
        return [hashlib.md5(f"{base}+{secret}".encode()).hexdigest() for base in sorted(bases)]

    def is_consistent_key(self, data):
        """Whether the posted key is the consistent key of the posted identity."""
        return constant_time_in(data["key"], self.get_consistent_keys(data))

    def get_new_object_fields(self, request, data):
        """Keyword arguments of ``init_object()`` for a new config (whitelisted fields only)."""
        name = data["name"]
        if app_settings.HARDWARE_ID_ENABLED and app_settings.HARDWARE_ID_AS_NAME and data["hardware_id"]:
            name = data["hardware_id"]
        fields = {
            "name": name,
            "mac_address": data["mac_address"],
            "backend": data["backend"],
            "last_ip": get_client_ip(request),
            "management_ip": data["management_ip"],
        }
        if data["key"]:
            fields["key"] = data["key"]
        fields.update({name: data[name] for name in self.info_fields if data[name] is not None})
        return fields

    def init_object(self, **kwargs):
        """Builds (does not save) the new config; override to set more fields."""
        return self.model(**kwargs)

    def validate_object(self, config):
        """Validates the new config (``full_clean()``); raises ``ValidationError``."""
        config.full_clean()

    def save_object(self, config):
        """
        Saves the new config (default templates attach) in one transaction;
        may raise ``IntegrityError`` when another device won a race.
        """
        with transaction.atomic():
            config.save()

    def registered(self, request, config, data):
        """A known device registered again: record what it reported, answer ``is-new: 0``."""
        info = {name: data[name] for name in self.info_fields}
        self.update_last_ip(config, request, management_ip=data["management_ip"], **info)
        return self.success_response(config, is_new=False)

    def validation_error(self, request, error):
        """400 ``text/plain`` with the validation errors as JSON (keys sorted, indent 4)."""
        errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        body = json.dumps(errors, sort_keys=True, indent=4)
        logger.warning("registration refused, invalid %s: %s", ", ".join(sorted(errors)), describe_request(request))
        return ControllerResponse(body, content_type="text/plain", status=400)

    def success_response(self, config, is_new):
        """201 ``text/plain`` with the five lines the agents parse; sends ``device_registered``."""
        signals.send_on_commit(signals.device_registered, self.model, instance=config, is_new=is_new)
        body = (
            "registration-result: success\n"
            f"uuid: {config.pk.hex}\n"
            f"key: {config.key}\n"
            f"hostname: {config.name}\n"
            f"is-new: {int(is_new)}\n"
        )
        return ControllerResponse(body, content_type="text/plain", status=201)


def _is_uniqueness_error(error):
    """Whether ``error`` reports a value already used by another config."""
    error_dict = getattr(error, "error_dict", {})
    return any(item.code == "unique" for items in error_dict.values() for item in items)
