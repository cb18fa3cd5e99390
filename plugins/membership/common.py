"""Small helpers the membership modules share: settings, the admin check, URLs, pages."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from forum.extensions import db
from forum.models import Member
from forum.plugin_api import plugin_settings
from forum.services import permissions
from forum.services.errors import NotFound, PermissionDenied
from forum.services.paging import Page, page_count, paginate  # noqa: F401 (the plugin's names)
from forum.services.writes import locked_row

PLUGIN = "membership"


def settings() -> Any:
    """The plugin's settings (defaults filled in)."""
    return plugin_settings(PLUGIN)


def require_admin(actor: Member | None) -> None:
    """PermissionDenied unless ``actor`` is an administrator."""
    if not permissions.is_admin(actor):
        raise PermissionDenied(_("Only administrators may do this."))


def url(endpoint: str, fallback: str, **values: Any) -> str:
    """``url_for(endpoint)``, or ``fallback`` where it does not build (no request, a page
    not there yet)."""
    try:
        return url_for(endpoint, **values)
    except (BuildError, RuntimeError):
        return fallback


def found(model: Any, row_id: Any, message: str) -> Any:
    """The ``model`` row with this primary key, or NotFound(``message``)."""
    row = db.session.get(model, row_id)
    if row is None:
        raise NotFound(message)
    return row


locked = locked_row
