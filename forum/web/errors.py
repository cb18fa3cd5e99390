"""Themed error pages and the mapping of service exceptions to HTTP status codes."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from forum.services.errors import NotFound, PermissionDenied


def _page(status: int, title: str, message: str):
    return render_template("error.html", status=status, title=title, message=message), status


def register(app: Flask) -> None:
    """Install the error handlers on ``app``."""

    @app.errorhandler(NotFound)
    def service_not_found(_exc):
        return _page(
            404, _("Page not found"), _("This page does not exist, or you may not see it.")
        )

    @app.errorhandler(PermissionDenied)
    def service_forbidden(exc):
        message = (
            exc.message if exc.message and " " in exc.message else _("You may not do this here.")
        )
        return _page(403, _("Not allowed"), message)

    @app.errorhandler(CSRFError)
    def csrf_error(_exc):
        return _page(
            400,
            _("The form has expired"),
            _("Please go back and send it again. What you wrote is kept as a draft."),
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {
            403: (_("Not allowed"), _("You may not do this here.")),
            404: (_("Page not found"), _("This page does not exist, or you may not see it.")),
            405: (
                _("Wrong kind of request"),
                _("This address does not accept this kind of request."),
            ),
            413: (
                _("File too large"),
                _("The upload is larger than %(n)d MB.", n=app.config["MAX_UPLOAD_MB"]),
            ),
            429: (_("Slow down"), _("Too many attempts. Please wait a moment and try again.")),
        }
        title, message = messages.get(exc.code or 500, (exc.name, exc.description or ""))
        if request.path.startswith("/static/"):
            return exc
        return _page(exc.code or 500, title, message)

    @app.errorhandler(500)
    def server_error(_exc):
        return _page(
            500, _("Something went wrong"), _("The error has been logged. Please try again later.")
        )
