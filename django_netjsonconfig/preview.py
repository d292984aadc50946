"""
What the admin preview shows: the files of a configuration archive and a
file-by-file diff between two archives (e.g. what the device applied and what
the edited form would send).
"""

import difflib
import io
import tarfile
from dataclasses import dataclass, field


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
