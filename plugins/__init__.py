"""Bundled plugins (installed as the ``forum_plugins`` package), one sub-package each."""
