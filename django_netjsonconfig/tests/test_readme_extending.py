"""
``tests/sample_app`` is the README's "Extending" example: the same code,
file by file (``.ci/extending_check.py`` builds a project from the README's
blocks; this test keeps the sample app, whose suite CI runs, equal to them).
"""

import ast
from pathlib import Path

from django.test import SimpleTestCase

from tests import readme_blocks

SAMPLE_APP = Path(__file__).resolve().parents[2] / "tests" / "sample_app"
SAMPLE_NAME = "tests.sample_app"


def _sample_text(readme_text):
    """The README's text as the sample app holds it: its package is ``tests.sample_app``."""
    return readme_text.replace(f'"{readme_blocks.APP}"', f'"{SAMPLE_NAME}"').replace(
        f"{readme_blocks.APP}/", "tests/sample_app/"
    )


def _has_code(source):
    """Whether ``source`` holds more than a docstring."""
    body = ast.parse(source).body
    return not all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


class TestSampleAppIsTheReadmeExample(SimpleTestCase):
    def test_every_file_of_the_readme_example_is_in_the_sample_app_with_the_same_code(self):
        files = readme_blocks.extending_files()
        self.assertEqual(
            sorted(files),
            [
                "admin.py",
                "apps.py",
                "controller/urls.py",
                "controller/views.py",
                "models.py",
                "templates/admin/config/submit_line.html",
            ],
        )
        for relative, readme_text in files.items():
            with self.subTest(file=relative):
                sample = (SAMPLE_APP / relative).read_text()
                expected = _sample_text(readme_text)
                if relative.endswith(".py"):
                    # formatting and comments aside, the same code
                    self.assertEqual(ast.dump(ast.parse(sample)), ast.dump(ast.parse(expected)))
                else:
                    self.assertEqual(sample.strip(), expected.strip())

    def test_the_sample_app_has_no_code_the_readme_does_not_show(self):
        documented = set(readme_blocks.extending_files())
        extra = []
        for path in sorted(SAMPLE_APP.rglob("*")):
            relative = path.relative_to(SAMPLE_APP).as_posix()
            if path.is_dir() or "__pycache__" in relative or relative.startswith("migrations/"):
                continue
            # tests.py reruns the package's suite; __init__.py without code mark packages
            if relative == "tests.py" or (path.name == "__init__.py" and not _has_code(path.read_text())):
                continue
            if relative not in documented:
                extra.append(relative)
        self.assertEqual(extra, [])

    def test_the_readme_settings_list_the_app_by_its_appconfig_and_the_commands(self):
        namespace = {}
        exec(readme_blocks.block(readme_blocks.EXTENDING, "# settings.py of your project"), namespace)  # noqa: S102
        apps = namespace["INSTALLED_APPS"]
        self.assertIn("yourapp.apps.MyOwnConfig", apps)
        self.assertIn("django_netjsonconfig.commands", apps)
        self.assertNotIn("django_netjsonconfig", apps)
        self.assertLess(apps.index("yourapp.apps.MyOwnConfig"), apps.index("django.contrib.admin"))
        self.assertEqual(len(apps), len(set(apps)))
