"""Shequn (社群): a self-hosted, plugin-based community forum server.

Start here: :func:`forum.app.create_app` builds the Flask application.
"""

__version__ = "0.1.0"
