"""Shortcuts for views."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404 as django_get_object_or_404


def get_object_or_404(model, **kwargs):
    """
    Like Django's, but malformed lookup values (e.g. a primary key that is not
    a UUID) raise ``Http404`` too instead of an error. ``model`` may also be a
    manager or a queryset.
    """
    try:
        return django_get_object_or_404(model, **kwargs)
    except (ValidationError, ValueError, TypeError, OverflowError) as error:
        raise Http404("No such object") from error
