from django.contrib import admin
from django.urls import include, re_path

urlpatterns = [
    re_path(r"^admin/", admin.site.urls),
    # controller URLs
    # used by devices to download/update their configuration
    # keep the namespace argument unchanged
    re_path(r"^", include("django_netjsonconfig.controller.urls", namespace="controller")),
    # common URLs
    # shared among django-netjsonconfig components
    # keep the namespace argument unchanged
    re_path(r"^", include("django_netjsonconfig.urls", namespace="netjsonconfig")),
]
