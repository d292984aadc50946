"""URLconf of the benchmarks: a trivial view (the framework's floor) plus the project's URLs."""

import os

from django.db import connections
from django.http import HttpResponse, JsonResponse
from django.urls import path

from django_netjsonconfig.memory import session_memories
from tests.urls import urlpatterns as project_urlpatterns


def floor(request):
    """The cheapest Django response: the same middleware stack, no database, no template."""
    return HttpResponse("ok", content_type="text/plain")


def memory_counters(request):
    """This worker's connection memory: reads answered from it, reads of the database, rows held."""
    memories = [memory for memory in session_memories(connections["default"]).values() if memory is not None]
    return JsonResponse(
        {
            "pid": os.getpid(),
            "hits": sum(memory.hits for memory in memories),
            "misses": sum(memory.misses for memory in memories),
            "rows": sum(len(memory.rows) for memory in memories),
        }
    )


urlpatterns = [
    path("bench/floor/", floor, name="bench_floor"),
    path("bench/memory/", memory_counters, name="bench_memory"),
    *project_urlpatterns,
]
