"""Configuration manager for embedded devices, as a reusable Django app."""

VERSION = (1, 0, 0, "alpha")
__version__ = "1.0.0a1"
