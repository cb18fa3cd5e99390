"""Small helpers the membership modules share: settings, the admin check, URLs, pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.routing import BuildError

from forum.extensions import db
from forum.models import Member
from forum.plugin_api import plugin_settings
from forum.services import permissions
from forum.services.errors import NotFound, PermissionDenied
from forum.services.paging import page_count

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


def locked(model: Any, *where: Any) -> Any | None:
    """The one row of ``model`` matching ``where``, locked for this transaction (``SELECT …
    FOR UPDATE OF`` its table; call :func:`forum.services.writes.begin_write` first) and
    read afresh; None when there is none."""
    return db.session.execute(
        select(model)
        .where(*where)
        .with_for_update(of=model)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class Page:
    """One page of a list: its ``items``, the page number, the number of pages (at least
    1) and how many there are in all."""

    items: list
    page: int
    pages: int
    total: int


def paginate(query: Any, page: int, per_page: int) -> Page:
    """Page ``page`` of the ORM ``query`` (two queries: the count and the rows)."""
    total = db.session.execute(
        select(func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    pages = page_count(total, per_page)
    page = min(max(1, int(page or 1)), pages)
    items = list(db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).scalars())
    return Page(items, page, pages, total)
