"""Reports and moderation: the report form, the moderation queue (``/admin/queue`` and
each board's ``/b/<slug>/queue``), actions on cases and the moderation log."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("moderation", __name__)
