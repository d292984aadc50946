"""
The README's "Extending django-netjsonconfig" example as a real app: it
replaces ``django_netjsonconfig`` in INSTALLED_APPS when SAMPLE_APP=1 and the
whole suite runs again against its models.
"""
