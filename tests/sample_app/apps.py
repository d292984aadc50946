# yourapp/apps.py
from django_netjsonconfig.apps import DjangoNetjsonconfigApp


class MyOwnConfig(DjangoNetjsonconfigApp):
    name = "tests.sample_app"
    label = "config"
    # this module also holds the imported DjangoNetjsonconfigApp: without
    # default = True, Django would use neither class for "tests.sample_app"
    default = True
