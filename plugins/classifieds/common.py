"""What the classifieds' rule modules share: names, settings, who moderates, prices.

:mod:`.services` re-exports everything the web half needs; :mod:`.market` and
:mod:`.trades` import from here so that none of them imports another's module.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from forum.extensions import db
from forum.models import Board, Member, Thread
from forum.plugin_api import plugin_settings
from forum.search.text import fold
from forum.services import moderation, permissions, versions
from forum.services.errors import PermissionDenied, ServiceError
from forum.services.members import get_by_username
from forum.services.paging import page_count

from .models import (
    CONDITIONS,
    FIELD_TYPES,
    PRICE_MAX,
    STATUSES,
    CategoryField,
    FrozenSeller,
    Listing,
    ListingValue,
)

PLUGIN = "classifieds"
KIND = "listing"
MAX_IMAGES = 9
PER_PAGE = 24
#: The thread-page URL of a listing (the core's ``/t/<id>``).
THREAD_URL = "/t/{}"

NOTE_SOLD = "classifieds.sold"
NOTE_CONFIRMED = "classifieds.confirmed"
NOTE_RATED = "classifieds.rated"
NOTE_EXPIRING = "classifieds.expiring"
NOTE_EXPIRED = "classifieds.expired"
NOTE_RESERVED = "classifieds.reserved"

__all__ = [
    "CONDITIONS",
    "FIELD_TYPES",
    "KIND",
    "MAX_IMAGES",
    "PER_PAGE",
    "PLUGIN",
    "PRICE_MAX",
    "STATUSES",
]

_PRICE = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$")
_CURRENCY_SIGNS = ("¥", "￥", "CNY", "RMB", "元")


def settings() -> Mapping[str, Any]:
    """The plugin's settings (defaults filled in)."""
    return plugin_settings(PLUGIN)


def signed_in(member: Member | None) -> bool:
    """Is ``member`` a signed-in member (not None, not anonymous)?"""
    return member is not None and bool(getattr(member, "is_authenticated", False))


def require_member(member: Member | None) -> Member:
    """``member`` if signed in and active, else :class:`PermissionDenied`."""
    if not signed_in(member):
        raise PermissionDenied(_("Please sign in first."))
    if member.is_banned or member.status != "active":
        raise PermissionDenied(_("Your account may not trade."))
    return member


def fold_city(text: str) -> str:
    """A city as filters compare it: NFKC, Traditional → Simplified, lower case, one space."""
    text = " ".join(unicodedata.normalize("NFKC", text or "").split())
    return fold(text).casefold()[:40]


def is_listing_moderator(member: Member | None, board_id: int | None) -> bool:
    """Site moderators and the moderators of the listing's board."""
    if not signed_in(member):
        return False
    if moderation.is_site_moderator(member):
        return True
    return board_id is not None and permissions.is_moderator(member, board_id)


def is_frozen_seller(member_id: int) -> bool:
    """Did moderators freeze this member's listings?"""
    return db.session.get(FrozenSeller, member_id) is not None


def find_member(username: str, field: str = "buyer") -> Member:
    """The active member called ``username`` (``@`` allowed), else ServiceError on ``field``."""
    name = (username or "").strip().lstrip("@")
    if not name:
        raise ServiceError(_("Name the buyer."), field)
    member = get_by_username(name)
    if member is None or member.status != "active":
        raise ServiceError(_("There is no member called %(name)s.", name=name), field)
    return member


def board_of(listing: Listing) -> int:
    """The board id of a listing's thread."""
    return db.session.execute(
        select(Thread.board_id).where(Thread.id == listing.thread_id)
    ).scalar_one()


pages = page_count  # how many pages ``total`` rows make (at least one): the core's


def listing_url(thread_id: int, absolute: bool = False) -> str:
    """The listing's page (its thread), absolute with the site's URL when asked."""
    path = THREAD_URL.format(thread_id)
    if absolute:
        return current_app.config["SITE_URL"].rstrip("/") + path
    return path


def parse_money(text: str, field: str) -> int:
    """An amount of money entered as text ("12", "12.5", "¥1,200.50") in cents.

    Refuses negative amounts, more than 100,000,000, more than two decimals and anything
    else with a :class:`ServiceError` on ``field``."""
    raw = unicodedata.normalize("NFKC", text or "").strip()
    for sign in _CURRENCY_SIGNS:
        if raw.startswith(sign):
            raw = raw[len(sign) :].strip()
        if raw.endswith(sign):
            raw = raw[: -len(sign)].strip()
    if not raw:
        raise ServiceError(_("Enter a price."), field)
    if raw.startswith("-"):
        raise ServiceError(_("A price cannot be negative."), field)
    match = _PRICE.match(raw)
    if match is None:
        if re.fullmatch(r"\d[\d,]*\.\d{3,}", raw):
            raise ServiceError(_("A price has at most two decimals."), field)
        raise ServiceError(_("Enter a price such as 12 or 12.50."), field)
    whole, _dot, cents = raw.replace(",", "").partition(".")
    if len(whole) > 12:
        raise ServiceError(_("A price is at most ¥100,000,000."), field)
    value = int(whole) * 100 + int((cents + "00")[:2])
    if value > PRICE_MAX:
        raise ServiceError(_("A price is at most ¥100,000,000."), field)
    return value


def format_price(cents: int, currency: str = "CNY") -> str:
    """``¥1,200`` or ``¥12.50`` (other currencies: ``USD 12.50``)."""
    cents = int(cents or 0)
    whole, rest = divmod(cents, 100)
    text = f"{whole:,}" if rest == 0 else f"{whole:,}.{rest:02d}"
    return f"¥{text}" if currency in ("CNY", "") else f"{currency} {text}"


def readable_board_ids(viewer: Member | None) -> frozenset[int]:
    """The boards whose listings ``viewer`` may read."""
    return permissions.visible_board_ids(viewer, "read")


def board_by_slug(slug: str) -> Board | None:
    """The board called ``slug`` or None."""
    return db.session.execute(select(Board).where(Board.slug == slug)).scalar_one_or_none()


def check_condition(value: str) -> str:
    """``value`` if a known condition, else ServiceError on ``condition``."""
    if value not in CONDITIONS:
        raise ServiceError(_("Choose the item's condition."), "condition")
    return value


# -- labels and display ----------------------------------------------------------------------

_CONDITION_LABELS = {
    "new": _l("New"),
    "like_new": _l("Like new"),
    "good": _l("Good"),
    "fair": _l("Fair"),
    "for_parts": _l("For parts"),
}
_STATUS_LABELS = {
    "available": _l("Available"),
    "reserved": _l("Reserved"),
    "sold": _l("Sold"),
    "expired": _l("Expired"),
}
_FIELD_TYPE_LABELS = {
    "text": _l("Text"),
    "number": _l("Number"),
    "money": _l("Amount of money"),
    "select": _l("One of a list"),
    "multi": _l("Several of a list"),
    "city": _l("City or place"),
    "bool": _l("Yes or no"),
}


def condition_labels() -> dict[str, str]:
    """Condition → its label in the request's language."""
    return {k: str(v) for k, v in _CONDITION_LABELS.items()}


def status_labels() -> dict[str, str]:
    """Listing status → its label in the request's language."""
    return {k: str(v) for k, v in _STATUS_LABELS.items()}


def field_type_labels() -> dict[str, str]:
    """Typed-field type → its label in the request's language."""
    return {k: str(v) for k, v in _FIELD_TYPE_LABELS.items()}


def _display(f: CategoryField, values: list[ListingValue]) -> str:
    unit = f" {f.unit}" if f.unit else ""
    if f.type == "multi":
        return ", ".join(v.value_text or "" for v in values)
    v = values[0]
    if f.type == "bool":
        return _("Yes") if v.value_num else _("No")
    if f.type == "money":
        return format_price(v.value_num or 0) + unit
    if f.type == "number":
        return f"{v.value_num:,}{unit}"
    return (v.value_text or "") + unit


def display_values(
    rows: Sequence[tuple[CategoryField, ListingValue]],
) -> dict[int, list[tuple[str, str]]]:
    """Listing id → [(label, display text)] in field order, from (field, value) rows."""
    grouped: dict[int, dict[int, tuple[CategoryField, list[ListingValue]]]] = {}
    for f, v in rows:
        grouped.setdefault(v.listing_id, {}).setdefault(f.id, (f, []))[1].append(v)
    out: dict[int, list[tuple[str, str]]] = {}
    for listing_id, by_field in grouped.items():
        ordered = sorted(by_field.values(), key=lambda item: (item[0].position, item[0].id))
        out[listing_id] = [(f.label, _display(f, vs)) for f, vs in ordered]
    return out


def commit_listing(thread_ids: Iterable[int], *, index: bool = True) -> None:
    """Commit a change the listings' pages show: their cache stamps are renewed at the
    commit, and with ``index`` their search documents re-indexed after it."""
    ids = list(dict.fromkeys(int(i) for i in thread_ids))
    for thread_id in ids:
        versions.changed("thread", thread_id)
    db.session.commit()
    if index:
        from forum import search

        for thread_id in ids:
            search.reindex_thread(thread_id)


def check_photo_ids(member: Member, image_ids: Sequence[Any]) -> list[int]:
    """Uploads ``member`` owns, in the given order without repeats, at most
    :data:`MAX_IMAGES`; else ServiceError on ``images``."""
    from forum.models import Upload

    missing = _("A photo is missing. Please upload it again.")
    ids: list[int] = []
    for raw in image_ids or []:
        try:
            upload_id = int(raw)
        except (TypeError, ValueError):
            raise ServiceError(missing, "images") from None
        if upload_id not in ids:
            ids.append(upload_id)
    if len(ids) > MAX_IMAGES:
        raise ServiceError(_("At most %(n)d photos.", n=MAX_IMAGES), "images")
    if ids:
        owned = set(
            db.session.execute(
                select(Upload.id).where(Upload.id.in_(ids), Upload.member_id == member.id)
            ).scalars()
        )
        if owned != set(ids):
            raise ServiceError(missing, "images")
    return ids
