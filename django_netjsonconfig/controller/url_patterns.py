"""The URL patterns of the device controller, for the installed app and extending apps."""


def get_controller_urls(views_module):
    """
    URL patterns of the device controller bound to the ``checksum``,
    ``download_config``, ``report_status``, ``register`` (and, when present,
    ``update_info``) callables of ``views_module``. Paths and names are those
    the device agents and 0.5.6 use::

        controller/checksum/<pk>/          checksum
        controller/download-config/<pk>/   download_config
        controller/report-status/<pk>/     report_status
        controller/register/               register
        controller/update-info/<pk>/       update_info

    ``<pk>`` accepts anything without a slash: the views answer 404 to values
    that are not UUIDs (32 hex characters or the dashed form).
    """
    from django.urls import path

    urls = [
        path("controller/checksum/<str:pk>/", views_module.checksum, name="checksum"),
        path("controller/download-config/<str:pk>/", views_module.download_config, name="download_config"),
        path("controller/report-status/<str:pk>/", views_module.report_status, name="report_status"),
        path("controller/register/", views_module.register, name="register"),
    ]
    if hasattr(views_module, "update_info"):
        urls.append(path("controller/update-info/<str:pk>/", views_module.update_info, name="update_info"))
    return urls
