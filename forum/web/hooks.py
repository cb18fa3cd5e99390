"""Request hooks: security headers, the language cookie, the view-count flush at exit."""

from __future__ import annotations

import atexit
import contextlib

from flask import Flask, request

from forum.services import view_counts

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def register(app: Flask) -> None:
    """Install the hooks on ``app``."""

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        lang = request.args.get("lang")
        if lang in ("zh_Hans", "zh_Hant", "en"):
            response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax", httponly=True)
        return response

    if not app.config["TESTING"]:
        atexit.register(lambda: _flush_quietly(app))


def _flush_quietly(app: Flask) -> None:
    with contextlib.suppress(Exception):  # the database may be gone at interpreter exit
        view_counts.flush(app)
