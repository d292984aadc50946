"""Loading the configuration backends named by dotted paths in the settings."""

import functools

from django.utils.module_loading import import_string


@functools.cache
def load_backend(path: str):
    """Imports a backend class from its dotted path (cached)."""
    return import_string(path)
