"""
What the admin preview shows: the files of a configuration archive and a
file-by-file diff between two archives (e.g. what the device applied and what
the edited form would send).
"""

import difflib
import io
import tarfile
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from django_netjsonconfig import wireguard

#: shown in place of a VPN client certificate (and its key) a preview cannot know yet
PENDING_CERTIFICATE = _("(the client certificate issued to this device when the configuration is saved)")
PENDING_KEY = _("(the private key of that certificate, created with it)")


@dataclass(frozen=True)
class ArchiveFile:
    """One file of a configuration archive: absolute path, octal mode and text."""

    path: str
    mode: str
    contents: str


@dataclass
class FileDiff:
    """
    The change of one file: ``status`` is ``added``, ``removed`` or
    ``changed``; ``lines`` are ``(kind, text)`` pairs, kind being ``add``,
    ``del``, ``ctx`` (context) or ``hunk`` (a ``@@`` header).
    """

    path: str
    status: str
    mode: str
    old_mode: str = ""
    lines: list = field(default_factory=list)


def archive_files(archive):
    """The regular files of a tar.gz configuration archive (``bytes``), in archive order."""
    files = []
    with tarfile.open(fileobj=io.BytesIO(bytes(archive)), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            contents = tar.extractfile(member).read().decode("utf-8", errors="replace")
            files.append(ArchiveFile("/" + member.name.lstrip("/"), f"{member.mode:04o}", contents))
    return files


def _line_kind(line):
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "ctx")


def diff_files(old_files, new_files, context_lines=3):
    """
    ``FileDiff`` of every file added, removed or changed (contents or mode)
    from ``old_files`` to ``new_files`` (lists of ``ArchiveFile``); an empty
    list when nothing changes.
    """
    old_by_path = {file.path: file for file in old_files}
    new_paths = {file.path for file in new_files}
    diffs = []
    for new in new_files:
        old = old_by_path.get(new.path)
        if old is not None and (old.contents, old.mode) == (new.contents, new.mode):
            continue
        status = "added" if old is None else "changed"
        diffs.append(_file_diff(new.path, status, old, new, context_lines))
    for old in old_files:
        if old.path not in new_paths:
            diffs.append(_file_diff(old.path, "removed", old, None, context_lines))
    return diffs


def _file_diff(path, status, old, new, context_lines):
    old_lines = old.contents.splitlines() if old else []
    new_lines = new.contents.splitlines() if new else []
    # the first two lines of a unified diff are the "---"/"+++" file headers
    lines = [
        (_line_kind(line), line)
        for line in list(difflib.unified_diff(old_lines, new_lines, lineterm="", n=context_lines))[2:]
    ]
    mode = new.mode if new else old.mode
    old_mode = old.mode if old and new and old.mode != new.mode else ""
    return FileDiff(path, status, mode, old_mode, lines)


def saved_or_new(model, kwargs, pk):
    """
    The object a preview renders: the saved row ``pk`` (with its VPN
    clients and certificates) carrying the posted ``kwargs``, or a new
    ``model(**kwargs)`` when there is no such row.
    """
    saved = None
    if pk:
        try:
            saved = model._default_manager.filter(pk=model._meta.pk.to_python(pk)).first()
        except Exception:  # noqa: BLE001 (a malformed id previews as a new object)
            saved = None
    if saved is None:
        return model(**kwargs)
    for name, value in kwargs.items():
        setattr(saved, name, value)
    return saved


def pending_vpn_variables(config, templates):
    """
    ``(variables, notes)`` for the VPN-client templates of ``templates`` that
    ``config`` has no VPN client of yet (a new config, or an edit adding the
    template): the variables the client will give it, with a placeholder
    text where the certificate (WireGuard: the key pair) issued on save
    goes, and a note for each.
    """
    vpnclient_model = type(config)._vpnclient_model()
    existing = set()
    if not config._state.adding:
        existing = set(vpnclient_model._default_manager.filter(config=config).values_list("vpn_id", flat=True))
    variables, notes = {}, []
    for template in templates or []:
        if template.type != "vpn" or not template.vpn_id or template.vpn_id in existing:
            continue
        existing.add(template.vpn_id)
        client = vpnclient_model(config=config, vpn=template.vpn, auto_cert=template.auto_cert)
        if template.vpn.is_wireguard:
            variables.update(wireguard.pending_context(client))
            notes.append(
                _(
                    'VPN template "%(name)s": this device gets its key pair when the configuration is saved '
                    "(shown here as %(placeholder)s), and its address and VNI then; those shown are the free "
                    "ones now."
                )
                % {"name": template.name, "placeholder": wireguard.PENDING_KEY}
            )
            continue
        variables.update(client.get_context())
        if template.auto_cert:
            variables.update(client.certificate_context(str(PENDING_CERTIFICATE), str(PENDING_KEY)))
            notes.append(
                _(
                    'VPN template "%(name)s": a new client certificate is issued when the configuration is '
                    "saved; its certificate and key files show a placeholder here."
                )
                % {"name": template.name}
            )
    return variables, notes


def template_hostname(netjson):
    """The ``general.hostname`` a template's NetJSON sets (``None`` when it sets none)."""
    general = netjson.get("general") if isinstance(netjson, dict) else None
    hostname = general.get("hostname") if isinstance(general, dict) else None
    return hostname or None


def hostname_notes(config, templates, rendered):
    """
    A note for each template whose ``general.hostname`` the device does not
    get: the device's own configuration, or else its name, sets the hostname
    (``rendered`` is the final NetJSON).
    """
    general = rendered.get("general") if isinstance(rendered, dict) else None
    final = general.get("hostname") if isinstance(general, dict) else None
    own = template_hostname(config.config or {})
    notes = []
    for template in templates or []:
        hostname = template_hostname(template.config)
        if hostname is None or hostname == final:
            continue
        if own:
            reason = _("the device's own configuration sets it")
        else:
            reason = _("the device's name sets it unless the device's own configuration sets general.hostname")
        notes.append(
            _('Template "%(template)s" sets the hostname "%(hostname)s"; the device gets "%(final)s": %(reason)s.')
            % {"template": template.name, "hostname": hostname, "final": final, "reason": reason}
        )
    return notes


#: help text of a template's configuration in the admin
TEMPLATE_CONFIG_HELP = _(
    "configuration in NetJSON DeviceConfiguration format. A general.hostname set here does not reach the "
    "devices: each device gets the hostname of its own configuration, or else its name."
)


def template_hostname_warning(hostname):
    """Why a template's ``general.hostname`` has no effect (the template form and preview show it)."""
    return _(
        'This template sets general.hostname ("%(hostname)s"), which does not reach the devices: each device '
        "gets the hostname of its own configuration, or else its name."
    ) % {"hostname": hostname}
