"""Controller URLs used by devices (namespace ``controller``)."""

from django_netjsonconfig.controller.url_patterns import get_controller_urls
from django_netjsonconfig.controller.vpn import get_vpn_controller_urls

from . import views

app_name = "controller"

urlpatterns = get_controller_urls(views) + get_vpn_controller_urls(views)
