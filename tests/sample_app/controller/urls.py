# yourapp/controller/urls.py
from django_netjsonconfig.controller.vpn import get_vpn_controller_urls
from django_netjsonconfig.utils import get_controller_urls

from . import views

app_name = "controller"  # lets include() set the namespace (Django >= 2.0)

urlpatterns = get_controller_urls(views) + get_vpn_controller_urls(views)
