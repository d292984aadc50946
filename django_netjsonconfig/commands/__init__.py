"""
The ``netjsonconfig_*`` management commands for projects whose configuration
models come from an app extending django-netjsonconfig (which therefore does
not list ``django_netjsonconfig`` in ``INSTALLED_APPS``): add
``'django_netjsonconfig.commands'`` to ``INSTALLED_APPS``. The commands work
on the models of the installed app that provides them
(``django_netjsonconfig.extending.installed_app()``).
"""
