"""The market query: listings the viewer may read, filtered by category, typed fields,
price, city and status, sorted and paged, in a fixed number of SQL statements.

Every filter is a condition of the one listing query (a typed field is an ``EXISTS`` on
:class:`~.models.ListingValue`, indexed by ``(field_id, value_num)`` / ``(field_id,
value_text)``), so the page costs the same statements whatever the number of listings and
fields: the category (two, when one is chosen), the count, the page of listings (with
seller and cover photo joined) and their card values. ``q`` asks the search backend for
the matching listing threads (at most :data:`Q_LIMIT`) and matches typed values' text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, exists, false, func, or_, select

from forum.extensions import db
from forum.models import Member, Thread, Upload
from forum.services.errors import ServiceError

from . import photos
from .common import (
    KIND,
    PER_PAGE,
    STATUSES,
    board_by_slug,
    display_values,
    fold_city,
    pages,
    parse_money,
    readable_board_ids,
)
from .models import Category, CategoryField, Listing, ListingValue

#: The most listing threads a text search narrows the market to.
Q_LIMIT = 500
SORTS = ("newest", "price_asc", "price_desc")
#: Field types the market filters by (a text field matches a part of its text).
FILTERABLE = ("text", "number", "money", "select", "multi", "city", "bool")


@dataclass
class ListingCard:
    """A listing as a market card shows it."""

    thread_id: int
    title: str
    price_cents: int
    currency: str
    city: str
    status: str
    condition: str
    cover_url: str | None
    list_values: list[tuple[str, str]]
    seller_name: str
    bumped_at: datetime
    expires_at: datetime
    image_count: int
    seller_username: str = ""

    @property
    def price(self) -> str:
        """The price as shown (``¥1,200``)."""
        from .common import format_price

        return format_price(self.price_cents, self.currency)


@dataclass
class MarketPage:
    """A page of the market: cards, counts, the chosen category and its filterable fields,
    the filter input refused (``errors``: input name → message) and the filters applied."""

    items: list[ListingCard]
    total: int
    page: int
    pages: int
    category: Category | None
    fields: list[CategoryField]
    errors: dict[str, str] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)


def _range(text: Any, parse) -> tuple[int | None, int | None]:
    """``"min..max"`` (either end may be empty), a (min, max) tuple, or one value."""
    if isinstance(text, tuple | list):
        low, high = (list(text) + ["", ""])[:2]
    else:
        raw = str(text or "").strip()
        if ".." in raw:
            low, _sep, high = raw.partition("..")
        elif raw.count("-") == 1 and not raw.startswith("-"):
            low, _sep, high = raw.partition("-")
        else:
            low = high = raw
    low_v = parse(str(low)) if str(low or "").strip() else None
    high_v = parse(str(high)) if str(high or "").strip() else None
    if low_v is not None and high_v is not None and low_v > high_v:
        low_v, high_v = high_v, low_v
    return low_v, high_v


def _number(text: str) -> int:
    raw = text.strip().replace(",", "")
    if not raw.lstrip("-").isdigit() or len(raw) > 14:
        raise ServiceError(_("Enter a whole number."))
    return int(raw)


def _value_exists(field_id: int, *conditions: Any) -> Any:
    return exists().where(
        ListingValue.listing_id == Listing.thread_id,
        ListingValue.field_id == field_id,
        *conditions,
    )


def _field_condition(f: CategoryField, raw: Any) -> tuple[Any | None, Any]:
    """(SQL condition or None, the applied value) for one typed field's filter input."""
    if f.type in ("number", "money"):
        parse = _number if f.type == "number" else (lambda t: parse_money(t, f"f_{f.key}"))
        low, high = _range(raw, parse)
        if low is None and high is None:
            return None, None
        conds = []
        if low is not None:
            conds.append(ListingValue.value_num >= low)
        if high is not None:
            conds.append(ListingValue.value_num <= high)
        return _value_exists(f.id, *conds), (low, high)
    if f.type == "multi":
        chosen = [raw] if isinstance(raw, str) else list(raw or [])
        chosen = [c.strip() for c in chosen if c and c.strip()]
        if not chosen:
            return None, None
        unknown = [c for c in chosen if c not in f.options]
        if unknown:
            raise ServiceError(_("Choose from the options."))
        conds = [_value_exists(f.id, ListingValue.value_text == c) for c in chosen]
        return conds[0] if len(conds) == 1 else and_(*conds), chosen
    text = raw[0] if isinstance(raw, list | tuple) and raw else raw
    text = " ".join(str(text or "").split())
    if not text:
        return None, None
    if f.type == "select":
        if text not in f.options:
            raise ServiceError(_("Choose from the options."))
        return _value_exists(f.id, ListingValue.value_text == text), text
    if f.type == "bool":
        lowered = text.lower()
        if lowered in ("1", "yes", "on", "true"):
            return _value_exists(f.id, ListingValue.value_num == 1), True
        if lowered in ("0", "no", "off", "false"):
            return _value_exists(f.id, ListingValue.value_num == 0), False
        raise ServiceError(_("Yes or no."))
    if f.type == "city":
        return _value_exists(f.id, func.lower(ListingValue.value_text) == text.lower()), text
    pattern = "%" + text.lower().replace("%", "").replace("_", "") + "%"
    return _value_exists(f.id, func.lower(ListingValue.value_text).like(pattern)), text


def _search_ids(viewer: Member | None, q: str) -> set[int]:
    """The listing threads the search backend finds for ``q`` (bounded)."""
    from forum import search
    from forum.search.text import parse_query

    query = parse_query(q)
    filters = search.make_filters(viewer, kind=KIND)
    found = search.get_backend().search(query, filters, page=1, per_page=Q_LIMIT, sort="relevance")
    return {hit.thread_id for hit in found.hits}


def market(
    viewer: Member | None,
    *,
    category_id: int | str | None = None,
    q: str = "",
    price_min: str = "",
    price_max: str = "",
    city: str = "",
    status: str = "",
    sort: str = "newest",
    fields: Mapping[str, Any] | None = None,
    board: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> MarketPage:
    """A page of the market for ``viewer`` (see the module). Bad filter input is left out
    and reported in ``errors`` (input name → message); the page still lists."""
    errors: dict[str, str] = {}
    applied: dict[str, Any] = {}
    board_ids = readable_board_ids(viewer)
    conditions: list[Any] = [
        Thread.board_id.in_(board_ids) if board_ids else false(),
        Thread.deleted_at.is_(None),
        Thread.held.is_(False),
        Listing.frozen.is_(False),
    ]
    if board:
        found_board = board_by_slug(board)
        if found_board is None or found_board.id not in board_ids:
            errors["board"] = _("There is no such board.")
            conditions.append(false())
        else:
            conditions.append(Thread.board_id == found_board.id)
            applied["board"] = board
    status = (status or "").strip()
    if status == "all":
        applied["status"] = "all"
    elif status in STATUSES:
        conditions.append(Listing.status == status)
        applied["status"] = status
    else:
        if status:
            errors["status"] = _("Unknown status.")
        conditions.append(Listing.status.in_(("available", "reserved")))
    category = None
    if category_id not in (None, ""):
        try:
            category = db.session.get(Category, int(category_id))
        except (TypeError, ValueError):
            category = None
        if category is None:
            errors["category_id"] = _("There is no such category.")
        else:
            conditions.append(Listing.category_id == category.id)
            applied["category_id"] = category.id
    for name, raw in (("price_min", price_min), ("price_max", price_max)):
        if not str(raw or "").strip():
            continue
        try:
            cents = parse_money(str(raw), name)
        except ServiceError as exc:
            errors[name] = exc.message
            continue
        applied[name] = cents
        conditions.append(
            Listing.price_cents >= cents if name == "price_min" else Listing.price_cents <= cents
        )
    if (city or "").strip():
        applied["city"] = fold_city(city)
        conditions.append(Listing.city_key == applied["city"])
    filterable = [f for f in category.fields if f.type in FILTERABLE] if category else []
    for f in filterable:
        raw = (fields or {}).get(f.key)
        if raw in (None, "", [], ()):
            continue
        try:
            cond, value = _field_condition(f, raw)
        except ServiceError as exc:
            errors[f"f_{f.key}"] = exc.message
            continue
        if cond is not None:
            conditions.append(cond)
            applied[f"f_{f.key}"] = value
    if (q or "").strip():
        from forum.search.text import QueryError

        try:
            ids = _search_ids(viewer, q)
        except QueryError as exc:
            errors["q"] = str(exc)
        else:
            text = q.strip().lower().replace("%", "").replace("_", "")
            by_value = select(ListingValue.listing_id).where(
                func.lower(ListingValue.value_text).like(f"%{text}%")
            )
            conditions.append(
                or_(Listing.thread_id.in_(ids), Listing.thread_id.in_(by_value))
                if ids
                else Listing.thread_id.in_(by_value)
            )
            applied["q"] = q.strip()
    if sort not in SORTS:
        if sort:
            errors["sort"] = _("Unknown sort order.")
        sort = "newest"
    applied["sort"] = sort
    order = {
        "newest": (Listing.bumped_at.desc(), Listing.thread_id.desc()),
        "price_asc": (Listing.price_cents.asc(), Listing.thread_id.desc()),
        "price_desc": (Listing.price_cents.desc(), Listing.thread_id.desc()),
    }[sort]
    base = select(Listing.thread_id).join(Thread, Thread.id == Listing.thread_id)
    total = db.session.execute(
        select(func.count()).select_from(base.where(*conditions).subquery())
    ).scalar_one()
    count_pages = pages(total, per_page)
    page = max(1, min(int(page or 1), count_pages))
    rows = db.session.execute(
        select(Listing, Thread.title, Member.username, Member.display_name, Upload)
        .join(Thread, Thread.id == Listing.thread_id)
        .join(Member, Member.id == Listing.seller_id)
        .outerjoin(Upload, Upload.id == Listing.cover_upload_id)
        .where(*conditions)
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    ids = [row[0].thread_id for row in rows]
    values: dict[int, list[tuple[str, str]]] = {}
    if ids:
        values = display_values(
            db.session.execute(
                select(CategoryField, ListingValue)
                .join(ListingValue, ListingValue.field_id == CategoryField.id)
                .where(ListingValue.listing_id.in_(ids), CategoryField.in_list.is_(True))
                .order_by(ListingValue.id)
            ).all()
        )
    items = [
        ListingCard(
            thread_id=listing.thread_id,
            title=title,
            price_cents=listing.price_cents,
            currency=listing.currency,
            city=listing.city,
            status=listing.status,
            condition=listing.condition,
            cover_url=photos.thumb_url(cover) if cover is not None else None,
            list_values=values.get(listing.thread_id, []),
            seller_name=display_name or username,
            seller_username=username,
            bumped_at=listing.bumped_at,
            expires_at=listing.expires_at,
            image_count=listing.image_count,
        )
        for listing, title, username, display_name, cover in rows
    ]
    return MarketPage(
        items=items,
        total=total,
        page=page,
        pages=count_pages,
        category=category,
        fields=filterable,
        errors=errors,
        filters=applied,
    )
