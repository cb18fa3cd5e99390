"""Admin pages beside :mod:`forum.web.admin`: the dashboard and member bulk actions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_dashboard", __name__)
