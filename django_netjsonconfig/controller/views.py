"""Controller views bound to the concrete models (work in progress)."""

from django.http import HttpResponse


def _todo(request, pk=None):
    return HttpResponse(status=501)


checksum = download_config = report_status = register = _todo
