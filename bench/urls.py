"""URLconf of the benchmarks: a trivial view (the framework's floor) plus the project's URLs."""

from django.http import HttpResponse
from django.urls import path

from tests.urls import urlpatterns as project_urlpatterns


def floor(request):
    """The cheapest Django response: the same middleware stack, no database, no template."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/floor/", floor, name="bench_floor"), *project_urlpatterns]
