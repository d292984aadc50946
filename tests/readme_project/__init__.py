"""
A Django project configured exactly as README "Setup" (and the 0.5.6 README)
says, used by ``test_readme_project`` in a separate process.
"""
