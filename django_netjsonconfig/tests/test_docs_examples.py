"""The code examples of the documentation run as printed."""

import re
from pathlib import Path

from django.test import TestCase

from django_netjsonconfig.models import Config, Template

DOCS = Path(__file__).resolve().parents[2] / "docs"


def python_blocks(page):
    """The ``.. code-block:: python`` blocks of a documentation page, dedented."""
    text = (DOCS / page).read_text()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    return ["\n".join(line[4:] for line in block.splitlines()) for block in blocks]


class TestCreatingObjectsFromCode(TestCase):
    def test_example_creates_a_template_and_a_config_using_it(self):
        (example,) = python_blocks("variables.rst")
        exec(example, {})  # noqa: S102 (the documented example itself)
        config = Config.objects.get(name="ap-kitchen")
        self.assertEqual(list(config.templates.all()), [Template.objects.get(name="guest wifi")])
        self.assertEqual(config.status, "modified")
        self.assertIn("option ssid 'ap-kitchen-guests'", config.backend_instance.render())
