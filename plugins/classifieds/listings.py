"""Listings: the form's input and its checks, creating and editing a listing (a thread of
kind ``listing``), reading one and what its page shows, its search document.

:func:`create_listing` checks the form, hands the cleaned data to the kind's ``on_create``
through a context variable and lets :func:`forum.services.posting.create_thread` store
thread, first post and listing in one commit; a listing thread started any other way is
refused by the kind's ``validate``.
"""

from __future__ import annotations

import contextvars
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from forum.extensions import db
from forum.models import Board, Member, Post, Thread, Upload
from forum.models.base import utcnow
from forum.services import permissions, posting, uploads
from forum.services.errors import NotFound, PermissionDenied, ServiceError

from . import photos
from .common import (
    KIND,
    MAX_IMAGES,
    check_condition,
    check_photo_ids,
    commit_listing,
    condition_labels,
    display_values,
    fold_city,
    format_price,
    is_frozen_seller,
    is_listing_moderator,
    parse_money,
    require_member,
    settings,
    signed_in,
    status_labels,
)
from .models import (
    Category,
    CategoryField,
    Listing,
    ListingImage,
    ListingValue,
    Rating,
    ScamReport,
    Trade,
)
from .trades import open_trade, trade_ratings

TEXT_VALUE_MAX = 200
NUMBER_MAX = 10**12
CITY_MAX = 40
_TRUE = ("1", "on", "yes", "true", "y")
_FALSE = ("", "0", "off", "no", "false", "n")


# -- listing input ---------------------------------------------------------------------------


def parse_price(text: str) -> int:
    """A price in cents from the form's text ("12", "12.5", "¥1,200"); ServiceError on
    ``price`` for negative, over ¥100,000,000, more than two decimals or junk."""
    return parse_money(text, "price")


def save_images(member: Member, files: Sequence[Any], *, kept: int = 0) -> list[Upload]:
    """Store a listing's photos (werkzeug FileStorage or binary streams) through the core's
    :func:`forum.services.uploads.save_image`, each with a thumbnail beside it.

    ``kept`` photos are already on the form and count toward :data:`MAX_IMAGES`. Refuses
    too many photos and any file that is not an image (ServiceError on ``images``) before
    storing any. Empty file inputs are skipped."""
    require_member(member)
    blobs: list[bytes] = []
    for item in files or []:
        if getattr(item, "filename", None) == "":
            continue
        limit = int(current_app.config["MAX_CONTENT_LENGTH"]) + 1  # the core refuses more
        blobs.append(getattr(item, "stream", item).read(limit))
    if kept + len(blobs) > MAX_IMAGES:
        raise ServiceError(_("At most %(n)d photos.", n=MAX_IMAGES), "images")
    try:  # all or none
        stored = uploads.save_images(member, [io.BytesIO(blob) for blob in blobs])
    except ServiceError as exc:
        raise ServiceError(exc.message, "images") from None
    for upload in stored:
        photos.make_thumbnail(upload)
    return stored


@dataclass
class ListingInput:
    """The listing form's input, as text (what the member typed is kept on refusal)."""

    title: str = ""
    body: str = ""
    category_id: int | None = None
    price: str = ""
    condition: str = "good"
    city: str = ""
    pickup: bool = True
    shipping: bool = False
    values: Mapping[str, str | list[str]] = field(default_factory=dict)
    image_ids: list[int] = field(default_factory=list)


@dataclass
class CleanValue:
    """One checked typed value, ready to store."""

    field_id: int
    text: str | None
    num: int | None


@dataclass
class CleanListing:
    """A checked listing: what :func:`create_listing` stores."""

    title: str
    body: str
    category: Category | None
    price_cents: int
    condition: str
    city: str
    pickup: bool
    shipping: bool
    values: list[CleanValue]
    image_ids: list[int]


def _clean_value(f: CategoryField, raw: Any) -> list[CleanValue]:
    """The stored rows of one typed field's input; ServiceError on ``f_<key>``."""
    name = f"f_{f.key}"
    if f.type == "multi":
        chosen = raw if isinstance(raw, list | tuple) else ([raw] if raw else [])
        picked: list[str] = []
        for option in chosen:
            option = (option or "").strip()
            if not option:
                continue
            if option not in f.options:
                raise ServiceError(_("Choose from the options."), name)
            if option not in picked:
                picked.append(option)
        if f.required and not picked:
            raise ServiceError(_("%(label)s is required.", label=f.label), name)
        return [CleanValue(f.id, option, None) for option in picked]
    text = raw[0] if isinstance(raw, list | tuple) and raw else raw
    text = " ".join(str(text or "").split())
    if f.type == "bool":
        if text.lower() in _TRUE:
            return [CleanValue(f.id, None, 1)]
        if text.lower() in _FALSE:
            if f.required and not text:
                raise ServiceError(_("%(label)s is required.", label=f.label), name)
            return [CleanValue(f.id, None, 0)]
        raise ServiceError(_("Yes or no."), name)
    if not text:
        if f.required:
            raise ServiceError(_("%(label)s is required.", label=f.label), name)
        return []
    if f.type == "select":
        if text not in f.options:
            raise ServiceError(_("Choose from the options."), name)
        return [CleanValue(f.id, text, None)]
    if f.type == "number":
        if not re.fullmatch(r"-?\d{1,13}", text.replace(",", "")):
            raise ServiceError(_("Enter a whole number."), name)
        number = int(text.replace(",", ""))
        if abs(number) > NUMBER_MAX:
            raise ServiceError(_("This number is too large."), name)
        return [CleanValue(f.id, None, number)]
    if f.type == "money":
        return [CleanValue(f.id, None, parse_money(text, name))]
    if f.type == "city":
        if len(text) > CITY_MAX:
            raise ServiceError(_("At most %(n)d characters.", n=CITY_MAX), name)
        return [CleanValue(f.id, text, None)]
    if len(text) > TEXT_VALUE_MAX:
        raise ServiceError(_("At most %(n)d characters.", n=TEXT_VALUE_MAX), name)
    return [CleanValue(f.id, text, None)]


def _check_limits(member: Member) -> None:
    """The posting limits (settings) → PermissionDenied with the reason in words."""
    if permissions.is_admin(member):
        return
    if is_frozen_seller(member.id):
        raise PermissionDenied(_("Moderators froze your listings: you may not post new ones."))
    conf = settings()
    group_key = (conf.get("poster_group") or "").strip()
    if group_key:
        try:
            gid = permissions.group_id(group_key)
        except (KeyError, LookupError):
            gid = None
        if gid is None or gid not in permissions.group_ids(member):
            raise PermissionDenied(_("Only members of a certain group may post listings."))
    now = utcnow()
    days = int(conf.get("min_account_days") or 0)
    if days and member.created_at > now - timedelta(days=days):
        raise PermissionDenied(_("Your account must be %(n)d days old to post listings.", n=days))
    posts = int(conf.get("min_posts") or 0)
    if posts and (member.post_count or 0) < posts:
        raise PermissionDenied(_("You need %(n)d posts to post listings.", n=posts))
    limit = int(conf.get("daily_limit") or 0)
    if limit:
        today = db.session.execute(
            select(func.count())
            .select_from(Listing)
            .where(Listing.seller_id == member.id, Listing.created_at > now - timedelta(days=1))
        ).scalar_one()
        if today >= limit:
            raise PermissionDenied(
                _("You may post at most %(n)d listings a day. Please try tomorrow.", n=limit)
            )


class _Errors:
    """Collects every refused input of a form (input name → message, the first one each)."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def check(self, fn: Any, *args: Any, default: Any = None) -> Any:
        try:
            return fn(*args)
        except PermissionDenied:
            raise
        except ServiceError as exc:
            self.found.setdefault(exc.field or "", exc.message)
            return default

    def raise_any(self) -> None:
        if self.found:
            name, message = next(iter(self.found.items()))
            error = ServiceError(message, name or None)
            error.errors = dict(self.found)  # type: ignore[attr-defined]
            raise error


def _category(raw: Any) -> Category | None:
    if raw in (None, ""):
        return None
    try:
        category = db.session.get(Category, int(raw))
    except (TypeError, ValueError):
        category = None
    if category is None:
        raise ServiceError(_("Choose a category."), "category_id")
    return category


def _city(raw: str) -> str:
    city = " ".join((raw or "").split())
    if not city:
        raise ServiceError(_("Where is the item? Name the city or place."), "city")
    if len(city) > CITY_MAX:
        raise ServiceError(_("At most %(n)d characters.", n=CITY_MAX), "city")
    return city


def _trade_method(pickup: bool, shipping: bool) -> None:
    if not (pickup or shipping):
        raise ServiceError(_("Offer pick-up, shipping or both."), "trade")


def check_listing(
    member: Member | None,
    board: Board,
    data: ListingInput,
    *,
    limits: bool = True,
    owner: Member | None = None,
) -> CleanListing:
    """Check a listing form. Every refused input is collected: the ServiceError raised
    names the first (``title``, ``body``, ``category_id``, ``price``, ``condition``,
    ``city``, ``trade``, ``images`` or ``f_<key>``) and carries them all in its ``errors``
    attribute (input name → message). With ``limits`` also the posting limits, first
    (PermissionDenied, the reason in words). The photos must be ``owner``'s (the seller's,
    when a moderator edits), by default ``member``'s."""
    member = require_member(member)
    if KIND not in posting.allowed_kinds(board):
        raise ServiceError(_("This board does not take listings."), "board")
    if limits:
        permissions.require(member, "start_thread", board.id)
        _check_limits(member)
    errors = _Errors()
    title = errors.check(posting.validate_title, data.title)
    body = errors.check(posting.validate_body, data.body)
    category = errors.check(_category, data.category_id)
    price = errors.check(parse_price, data.price)
    condition = errors.check(check_condition, data.condition)
    city = errors.check(_city, data.city)
    errors.check(_trade_method, data.pickup, data.shipping)
    values: list[CleanValue] = []
    if category is not None:
        raw_values = data.values or {}
        for f in category.fields:
            values.extend(errors.check(_clean_value, f, raw_values.get(f.key), default=[]))
    image_ids = errors.check(check_photo_ids, owner or member, data.image_ids)
    errors.raise_any()
    return CleanListing(
        title=title,
        body=body,
        category=category,
        price_cents=price,
        condition=condition,
        city=city,
        pickup=bool(data.pickup),
        shipping=bool(data.shipping),
        values=values,
        image_ids=image_ids,
    )


_pending: contextvars.ContextVar[CleanListing | None] = contextvars.ContextVar(
    "classifieds_pending_listing", default=None
)


def validate(values: Mapping[str, Any], member: Member, board: Board) -> None:
    """The kind's ``validate``: a listing thread comes only from :func:`create_listing`."""
    if _pending.get() is None:
        raise ServiceError(_("Post listings from the market's form."), "kind")


def _store_values(listing_id: int, values: Sequence[CleanValue]) -> None:
    db.session.add_all(
        ListingValue(listing_id=listing_id, field_id=v.field_id, value_text=v.text, value_num=v.num)
        for v in values
    )


def _store_images(listing: Listing, image_ids: Sequence[int]) -> None:
    db.session.add_all(
        ListingImage(listing_id=listing.thread_id, upload_id=upload_id, position=i)
        for i, upload_id in enumerate(image_ids)
    )
    listing.image_count = len(image_ids)
    listing.cover_upload_id = image_ids[0] if image_ids else None


def on_create(thread: Thread, post: Post, values: Mapping[str, Any]) -> None:
    """The kind's ``on_create``: store the listing, its values and photos (same transaction)."""
    clean = _pending.get()
    if clean is None:  # pragma: no cover - validate refused already
        raise ServiceError(_("Post listings from the market's form."), "kind")
    now = utcnow()
    listing = Listing(
        thread_id=thread.id,
        seller_id=thread.author_id,
        category_id=clean.category.id if clean.category is not None else None,
        price_cents=clean.price_cents,
        currency=(settings().get("currency") or "CNY")[:3],
        condition=clean.condition,
        city=clean.city,
        city_key=fold_city(clean.city),
        pickup=clean.pickup,
        shipping=clean.shipping,
        status="available",
        frozen=False,
        expires_at=now + timedelta(days=int(settings().get("listing_days") or 30)),
        created_at=now,
        bumped_at=now,
        image_count=0,
    )
    db.session.add(listing)
    db.session.flush()
    _store_values(listing.thread_id, clean.values)
    _store_images(listing, clean.image_ids)


def create_listing(member: Member | None, board: Board, data: ListingInput) -> Thread:
    """Check the form and start the listing's thread on ``board`` (thread, first post,
    listing, values and photos in one commit). Returns the thread."""
    clean = check_listing(member, board, data)
    token = _pending.set(clean)
    try:
        return posting.create_thread(member, board, clean.title, clean.body, kind=KIND)
    except Exception:
        db.session.rollback()
        raise
    finally:
        _pending.reset(token)


def update_listing(member: Member | None, listing: Listing, data: ListingInput) -> Listing:
    """Change a listing (the seller, or a moderator of its board): title and text through
    the first post's edit, the rest here. Same checks as a new listing, without the
    posting limits. Commits."""
    thread = db.session.get(Thread, listing.thread_id)
    member = require_member(member)
    if member.id != listing.seller_id and not is_listing_moderator(member, thread.board_id):
        raise PermissionDenied(_("Only the seller may change this listing."))
    if listing.frozen and not is_listing_moderator(member, thread.board_id):
        raise PermissionDenied(_("Moderators froze this listing."))
    board = db.session.get(Board, thread.board_id)
    seller = db.session.get(Member, listing.seller_id)
    clean = check_listing(member, board, data, limits=False, owner=seller)
    post = db.session.get(Post, thread.first_post_id)
    if not posting.can_edit(member, post, thread):
        raise PermissionDenied(_("Only the seller may change this listing."))
    listing.category_id = clean.category.id if clean.category is not None else None
    listing.price_cents = clean.price_cents
    listing.condition = clean.condition
    listing.city = clean.city
    listing.city_key = fold_city(clean.city)
    listing.pickup = clean.pickup
    listing.shipping = clean.shipping
    db.session.execute(delete(ListingValue).where(ListingValue.listing_id == listing.thread_id))
    db.session.execute(delete(ListingImage).where(ListingImage.listing_id == listing.thread_id))
    _store_values(listing.thread_id, clean.values)
    _store_images(listing, clean.image_ids)
    try:
        posting.edit_post(member, post, clean.body, title=clean.title)
        commit_listing([listing.thread_id])
    except Exception:
        db.session.rollback()
        raise
    return listing


def _value_rows(listing_id: int) -> list[Any]:
    """The listing's (field, value) rows, in the order they were stored."""
    return list(
        db.session.execute(
            select(CategoryField, ListingValue)
            .join(ListingValue, ListingValue.field_id == CategoryField.id)
            .where(ListingValue.listing_id == listing_id)
            .order_by(ListingValue.id)
        ).all()
    )


def listing_form_data(listing: Listing) -> ListingInput:
    """The listing as the edit form's input."""
    thread = db.session.get(Thread, listing.thread_id)
    post = db.session.get(Post, thread.first_post_id)
    rows = _value_rows(listing.thread_id)
    values: dict[str, str | list[str]] = {}
    for f, v in rows:
        if f.type == "multi":
            current = values.setdefault(f.key, [])
            assert isinstance(current, list)
            current.append(v.value_text or "")
        elif f.type == "money":
            values[f.key] = _money_text(v.value_num)
        elif f.type in ("number", "bool"):
            values[f.key] = "" if v.value_num is None else str(v.value_num)
        else:
            values[f.key] = v.value_text or ""
    image_ids = list(
        db.session.execute(
            select(ListingImage.upload_id)
            .where(ListingImage.listing_id == listing.thread_id)
            .order_by(ListingImage.position)
        ).scalars()
    )
    return ListingInput(
        title=thread.title,
        body=post.source if post is not None else "",
        category_id=listing.category_id,
        price=_money_text(listing.price_cents),
        condition=listing.condition,
        city=listing.city,
        pickup=listing.pickup,
        shipping=listing.shipping,
        values=values,
        image_ids=image_ids,
    )


def _money_text(cents: int | None) -> str:
    if cents is None:
        return ""
    whole, rest = divmod(int(cents), 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}"


# -- reading ---------------------------------------------------------------------------------


def get_listing(thread_id: int, viewer: Member | None) -> Listing:
    """The listing if ``viewer`` may read its board and the thread is not deleted (held:
    its seller and moderators only), else :class:`NotFound`."""
    row = db.session.execute(
        select(Listing, Thread)
        .join(Thread, Thread.id == Listing.thread_id)
        .where(Listing.thread_id == thread_id)
    ).first()
    if row is None:
        raise NotFound("listing")
    listing, thread = row
    if not permissions.can(viewer, "view", thread.board_id) or not permissions.can(
        viewer, "read", thread.board_id
    ):
        raise NotFound("listing")
    if thread.deleted_at is not None:
        raise NotFound("listing")
    if thread.held and not (
        signed_in(viewer)
        and (viewer.id == listing.seller_id or is_listing_moderator(viewer, thread.board_id))
    ):
        raise NotFound("listing")
    return listing


@dataclass
class ListingView:
    """What the listing's page (and the head of its thread) shows."""

    listing: Listing
    thread: Thread
    category: Category | None
    values: list[tuple[str, str]]
    images: list[tuple[str, str]]
    seller: Member
    reserved_for: str | None
    trade: Trade | None
    ratings: list[Rating]
    price: str
    condition_label: str
    status_label: str
    may_edit: bool = False
    may_renew: bool = False
    may_reserve: bool = False
    may_contact: bool = False
    may_sell: bool = False
    may_cancel: bool = False
    may_confirm: bool = False
    may_rate: bool = False
    may_report_scam: bool = False
    may_moderate: bool = False
    buyer: Member | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def thumb_url(upload: Upload) -> str:
    """The URL of the upload's thumbnail (the photo itself when it has none)."""
    return photos.thumb_url(upload)


def listing_view(listing: Listing, viewer: Member | None) -> ListingView:
    """Everything the listing page shows, with what ``viewer`` may do there."""
    thread = db.session.get(Thread, listing.thread_id)
    category = db.session.get(Category, listing.category_id) if listing.category_id else None
    rows = _value_rows(listing.thread_id)
    values = display_values(rows).get(listing.thread_id, [])
    images = [
        (uploads.url_of(u), thumb_url(u))
        for u in db.session.execute(
            select(Upload)
            .join(ListingImage, ListingImage.upload_id == Upload.id)
            .where(ListingImage.listing_id == listing.thread_id)
            .order_by(ListingImage.position)
        ).scalars()
    ]
    seller = db.session.get(Member, listing.seller_id)
    reserved = db.session.get(Member, listing.reserved_for_id) if listing.reserved_for_id else None
    trade = open_trade(listing.thread_id)
    ratings = trade_ratings(trade.id) if trade is not None else []
    buyer = db.session.get(Member, trade.buyer_id) if trade is not None else None
    view = ListingView(
        listing=listing,
        thread=thread,
        category=category,
        values=values,
        images=images,
        seller=seller,
        reserved_for=reserved.name if reserved is not None else None,
        trade=trade,
        ratings=ratings,
        price=format_price(listing.price_cents, listing.currency),
        condition_label=condition_labels().get(listing.condition, listing.condition),
        status_label=status_labels().get(listing.status, listing.status),
        buyer=buyer,
    )
    if not signed_in(viewer):
        return view
    moderator = is_listing_moderator(viewer, thread.board_id)
    mine = viewer.id == listing.seller_id
    live = listing.status in ("available", "reserved") and not listing.frozen
    view.may_moderate = moderator
    view.may_edit = (mine and not listing.frozen) or moderator
    view.may_renew = (
        mine
        and listing.status != "sold"
        and not listing.frozen
        and listing.bumped_at <= utcnow() - timedelta(days=1)
    )
    view.may_reserve = mine and live and trade is None
    view.may_sell = mine and live and trade is None
    view.may_contact = not mine and live and viewer.status == "active"
    if trade is not None:
        party = viewer.id in (trade.seller_id, trade.buyer_id)
        rated = any(r.rater_id == viewer.id for r in ratings)
        view.may_cancel = mine and trade.status == "pending"
        view.may_confirm = viewer.id == trade.buyer_id and trade.status == "pending"
        view.may_rate = party and trade.status == "confirmed" and not rated
        view.may_report_scam = viewer.id == trade.buyer_id and not _reported(trade.id, viewer.id)
    return view


def _reported(trade_id: int, member_id: int) -> bool:
    return (
        db.session.execute(
            select(ScamReport.id).where(
                ScamReport.trade_id == trade_id, ScamReport.reporter_id == member_id
            )
        ).first()
        is not None
    )


def load(thread: Thread) -> ListingView | None:
    """The kind's ``load``: the listing head of the thread page (None without a listing)."""
    from flask_login import current_user

    listing = db.session.get(Listing, thread.id)
    if listing is None:
        return None
    viewer = current_user if signed_in(current_user) else None
    return listing_view(listing, viewer)


def search_document(thread: Thread) -> dict[str, Any] | None:
    """The listing's typed fields for the search index: price, city, category, status,
    ``f_<key>`` per typed value (a multi's options joined by spaces)."""
    listing = db.session.get(Listing, thread.id)
    if listing is None:
        return None
    doc: dict[str, Any] = {
        "price": int(listing.price_cents),
        "city": listing.city_key,
        "status": listing.status,
    }
    if listing.category_id is not None:
        doc["category"] = int(listing.category_id)
    rows = db.session.execute(
        select(CategoryField.key, ListingValue.value_text, ListingValue.value_num)
        .join(ListingValue, ListingValue.field_id == CategoryField.id)
        .where(ListingValue.listing_id == listing.thread_id)
    ).all()
    for key, text, num in rows:
        name = f"f_{key}"
        if text is not None:
            doc[name] = f"{doc[name]} {text}" if name in doc else text
        elif num is not None:
            doc[name] = int(num)
    return doc
