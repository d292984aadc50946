from django_netjsonconfig.apps import DjangoNetjsonconfigApp


class SampleConfig(DjangoNetjsonconfigApp):
    name = "tests.sample_app"
    label = "config"

    def __setmodels__(self):
        from .models import Config, VpnClient  # these are your custom models

        self.config_model = Config
        self.vpnclient_model = VpnClient
