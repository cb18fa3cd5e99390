"""Small helpers the group-buy modules share: names, settings, errors, money, locks."""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from forum.plugin_api import plugin_settings
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.services.paging import paginate
from forum.services.writes import begin_write, locked_row

PLUGIN = "groupbuy"
KIND = "groupbuy"
PERMISSION = "groupbuy_lead"

NOTE_SUCCEEDED = "groupbuy.succeeded"
NOTE_FAILED = "groupbuy.failed"
NOTE_CANCELLED = "groupbuy.cancelled"
NOTE_EXPIRED = "groupbuy.expired"
NOTE_RELEASED = "groupbuy.released"
NOTE_MESSAGE = "groupbuy.message"
NOTE_FULFILLED = "groupbuy.fulfilled"

#: Rows a page of a list shows.
PER_PAGE = 20
#: The highest price: ¥1,000,000 in cents (below the payments core's limit).
PRICE_MAX = 1_000_000_00
MAX_TIERS = 6
MAX_PHOTOS = 9
MAX_PICKUP_POINTS = 20
STOCK_MAX = 100_000

__all__ = [
    "CampaignInvalid",
    "NotFound",
    "PermissionDenied",
    "ServiceError",
]


class CampaignInvalid(ServiceError):
    """The campaign form has errors: ``errors`` maps each field to its message (every
    field's error at once); ``message``/``field`` are the first one's."""

    def __init__(self, errors: dict[str, str]):
        field, message = next(iter(errors.items()))
        super().__init__(message, field)
        self.errors = dict(errors)


def settings() -> Any:
    """The plugin's settings (defaults filled in)."""
    return plugin_settings(PLUGIN)


def reservation_minutes() -> int:
    """How long a reservation waits for its payment (setting ``reservation_minutes``)."""
    try:
        return max(1, min(1440, int(settings().get("reservation_minutes") or 15)))
    except (TypeError, ValueError):
        return 15


def url(endpoint: str, fallback: str, **values: Any) -> str:
    """``url_for(endpoint)``, or ``fallback`` where it does not build."""
    try:
        return url_for(endpoint, **values)
    except (BuildError, RuntimeError):
        return fallback


def campaign_url(campaign: Any) -> str:
    """Where a campaign is seen: its thread once open, else its preview."""
    if campaign.thread_id:
        return f"/t/{campaign.thread_id}"
    return f"/groupbuy/c/{campaign.id}"


_MONEY_RE = re.compile(r"\d+(\.\d{1,2})?")


def parse_money(raw: Any, *, allow_zero: bool = True) -> int | None:
    """Cents from a form's text ("129", "89.5", "¥1,200.00"); None when it is not money
    (negative, junk, more than two decimals, above :data:`PRICE_MAX`)."""
    text = str(raw or "").strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    if not _MONEY_RE.fullmatch(text):
        return None
    try:
        cents = int((Decimal(text) * 100).to_integral_value())
    except InvalidOperation:
        return None
    if cents > PRICE_MAX or (cents == 0 and not allow_zero):
        return None
    return cents


def parse_int(raw: Any) -> int | None:
    """An integer from a form's text, or None (junk, signs other than a leading minus)."""
    text = str(raw if raw is not None else "").strip()
    if not re.fullmatch(r"-?\d{1,9}", text):
        return None
    return int(text)


def locked(model: Any, *where: Any) -> Any | None:
    """The one ``model`` row matching ``where``, locked for this transaction (SQLite's write
    lock through ``begin_write``, PostgreSQL's ``FOR UPDATE``) and read afresh."""
    begin_write()
    return locked_row(model, *where)


def paged(query: Any, page: int, per_page: int = PER_PAGE) -> tuple[list, int]:
    """One page of the ORM ``query``'s rows and the number of pages."""
    found = paginate(query, page, per_page)
    return found.items, found.pages


def touch(campaign: Any, *, listings: bool = False) -> None:
    """Note that the campaign's thread page changes with this transaction (its cached
    copies, guests' included, are renewed when it commits); ``listings``: the board
    listings and index too (a status change)."""
    if getattr(campaign, "thread_id", None):
        from forum.services import versions

        versions.changed("thread", campaign.thread_id, listings=listings)


def reindex(campaign: Any) -> None:
    """Queue a re-index of the campaign's thread (its search fields: price, status);
    call after the commit. A failing queue is logged, never raised."""
    if not getattr(campaign, "thread_id", None):
        return
    from forum import search

    try:
        search.reindex_thread(campaign.thread_id)
    except Exception:  # noqa: BLE001 (search is best effort; the job re-indexes later)
        logging.getLogger("forum_plugins.groupbuy").exception("re-index of %s", campaign.id)


def sold_out_message() -> str:
    """The message every buyer who came too late sees."""
    return _("Sorry, this group-buy is sold out.")
