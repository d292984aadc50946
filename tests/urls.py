import os

from django.contrib import admin
from django.urls import include, path

# the extending sample app brings its own controller views (README "Extending")
controller_urls = (
    "tests.sample_app.controller.urls" if os.environ.get("SAMPLE_APP") else "django_netjsonconfig.controller.urls"
)

urlpatterns = [
    path("admin/", admin.site.urls),
    # controller URLs, used by devices to download/update their configuration;
    # keep the namespace argument unchanged
    path("", include(controller_urls, namespace="controller")),
    # common URLs, shared among django-netjsonconfig components
    path("", include("django_netjsonconfig.urls", namespace="netjsonconfig")),
]
