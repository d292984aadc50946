"""
The code blocks of README.rst, read the way an integrator copies them: the
"Extending django-netjsonconfig" section holds whole files, each block
starting with its path (``# yourapp/models.py``, ``{# yourapp/... #}``).
Used by ``.ci/extending_check.py`` (a project built from these blocks only)
and by the test checking that ``tests/sample_app`` is the same app.
"""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.rst"
EXTENDING = "Extending django-netjsonconfig"
#: the package name of the README's example app
APP = "yourapp"
_BLOCK = re.compile(r"^\.\. code-block:: [\w+-]+\n\n((?:    .*\n|\n)+)", re.M)
_FILE_MARK = re.compile(r"^(?:# |\{# )(" + APP + r"/\S+)(?: #\})?$")


def section(title, text=None):
    """The text of the README section ``title`` (up to the next section of the same level)."""
    text = README.read_text() if text is None else text
    match = re.search(rf"^{re.escape(title)}\n([-=~^])\1+\n", text, re.M)
    if match is None:
        raise LookupError(f"README.rst has no section {title!r}")
    underline = match.group(1)
    rest = text[match.end() :]
    following = re.search(rf"^\S.*\n{re.escape(underline)}{{4,}}\n", rest, re.M)
    return rest[: following.start()] if following else rest


def code_blocks(title):
    """The code blocks of section ``title``, unindented, without trailing blank lines."""
    blocks = []
    for match in _BLOCK.finditer(section(title)):
        lines = [line[4:] for line in match.group(1).splitlines()]
        blocks.append("\n".join(lines).strip("\n") + "\n")
    return blocks


def block(title, first_line):
    """The code block of section ``title`` whose first line is ``first_line``."""
    for text in code_blocks(title):
        if text.splitlines()[0] == first_line:
            return text
    raise LookupError(f"README section {title!r} has no code block starting with {first_line!r}")


def extending_files():
    """``{path under the app: content}`` of the Extending blocks that are files of ``yourapp``."""
    files = {}
    for text in code_blocks(EXTENDING):
        match = _FILE_MARK.match(text.splitlines()[0])
        if match:
            files[match.group(1).split("/", 1)[1]] = text
    return files
