"""Common URLs (namespace ``netjsonconfig``)."""

from django.urls import path

from . import views

app_name = "netjsonconfig"

urlpatterns = [
    path("netjsonconfig/schema.json", views.schema, name="schema"),
]
