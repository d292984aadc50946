from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # used by devices to download/update their configuration
    path("", include("django_netjsonconfig.controller.urls", namespace="controller")),
    # common URLs, shared among django-netjsonconfig components
    path("", include("django_netjsonconfig.urls", namespace="netjsonconfig")),
]
