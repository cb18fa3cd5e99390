"""Bundled themes (installed as the ``forum_themes`` package). Each folder is a theme with
``templates/`` and ``static/``; ``FORUM_THEME`` picks one, falling back to ``default``."""
