from django.contrib import admin

from .models import Config, Template, Vpn

admin.site.register(Config)
admin.site.register(Template)
admin.site.register(Vpn)
