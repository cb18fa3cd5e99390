"""Serving stored uploads (already re-encoded, so safe to serve as images)."""

from __future__ import annotations

from flask import Blueprint, send_from_directory

from forum.services.uploads import uploads_dir

bp = Blueprint("uploads", __name__)


@bp.route("/uploads/<path:path>")
def serve(path: str):
    response = send_from_directory(uploads_dir(), path, max_age=30 * 86400)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
