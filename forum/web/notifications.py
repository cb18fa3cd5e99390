"""Notifications: the ``/notifications`` page, mark read, watch and unwatch threads and
boards."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notifications", __name__)
