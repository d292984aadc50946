"""Benchmarks of django-netjsonconfig (not part of the package; see README.rst)."""
