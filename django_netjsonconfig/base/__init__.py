"""The abstract models, admin classes and helpers that extending apps build on."""

# registers the system checks of extending apps, whichever AppConfig Django picked
from django_netjsonconfig import extending  # noqa: F401
