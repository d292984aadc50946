"""
A netjsonconfig backend for the interleaving tests: ``validate()`` (which runs
while a configuration is rendered, after its rows and templates were read,
and while a form validates it) can hold one thread until the test lets it go.
"""

import threading

from netjsonconfig import OpenWrt

PATH = "django_netjsonconfig.tests.pausing_backend.PausingOpenWrt"


class Pause:
    """
    Holds the first ``validate()`` call made by the thread named
    ``thread_name``: ``reached`` is set when it arrives, and it waits for
    ``resume``.
    """

    def __init__(self, thread_name):
        self.thread_name = thread_name
        self.reached = threading.Event()
        self.resume = threading.Event()

    def __call__(self):
        if threading.current_thread().name != self.thread_name or self.reached.is_set():
            return
        self.reached.set()
        if not self.resume.wait(timeout=30):
            raise RuntimeError("the test never resumed the paused thread")


class PausingOpenWrt(OpenWrt):
    """OpenWrt whose ``validate()`` calls ``PausingOpenWrt.pause`` first (when set)."""

    pause = None

    def validate(self):
        pause = type(self).pause
        if pause is not None:
            pause()
        return super().validate()
