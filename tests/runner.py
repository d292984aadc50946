"""Test runner: Django's, plus a one-line summary that CI tools can read."""

from django.test.runner import DiscoverRunner


class Runner(DiscoverRunner):
    def suite_result(self, suite, result, **kwargs):
        failed = len(result.failures) + len(result.errors) + len(getattr(result, "unexpectedSuccesses", []))
        skipped = len(result.skipped)
        passed = result.testsRun - failed - skipped
        print(f"\ntests: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
        return super().suite_result(suite, result, **kwargs)
