"""The classifieds rules, the one module the web half imports: it re-exports the public
names of :mod:`.categories` (categories and typed fields), :mod:`.listings` (the listing
form's checks, creating, editing, reading), :mod:`.market` (the market query) and
:mod:`.trades` (trades, ratings, scam reports), and holds the seller's actions (renew,
reserve), contact, the member's own market page and the expiry jobs.

**Writes.** Every write checks all its input first and refuses with a
:class:`~forum.services.errors.ServiceError` naming the field (nothing written), then runs
in one transaction; a change the listing's page shows renews its cache stamp
(:func:`.common.commit_listing`), and one its search document holds re-indexes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, case, or_, select, update

from forum.extensions import db
from forum.models import Board, Member, Thread
from forum.models.base import utcnow
from forum.plugin_api import notify
from forum.services import conversations, posting
from forum.services.errors import PermissionDenied, ServiceError
from forum.services.writes import begin_write

from .categories import (
    categories,
    delete_category,
    delete_field,
    get_category,
    save_category,
    save_field,
)
from .common import (
    CONDITIONS,
    FIELD_TYPES,
    KIND,
    MAX_IMAGES,
    NOTE_CONFIRMED,
    NOTE_EXPIRED,
    NOTE_EXPIRING,
    NOTE_RATED,
    NOTE_RESERVED,
    NOTE_SOLD,
    PER_PAGE,
    PLUGIN,
    STATUSES,
    commit_listing,
    condition_labels,
    field_type_labels,
    find_member,
    format_price,
    listing_url,
    require_member,
    settings,
    status_labels,
)
from .listings import (
    CleanListing,
    ListingInput,
    ListingView,
    check_listing,
    create_listing,
    get_listing,
    listing_form_data,
    listing_view,
    load,
    on_create,
    parse_price,
    save_images,
    search_document,
    thumb_url,
    update_listing,
    validate,
)
from .market import ListingCard, MarketPage, market
from .models import Listing, Rating, Trade
from .trades import (
    RatingView,
    ScamReportView,
    TradeSummary,
    cancel_trade,
    close_scam_report,
    confirm_trade,
    decline_trade,
    freeze_seller,
    get_rating,
    get_scam_report,
    get_trade,
    mark_sold,
    open_trade,
    rate,
    ratings_of,
    reply_to_rating,
    report_scam,
    scam_reports,
    summaries,
    trade_ratings,
    verify_rating,
)

__all__ = [
    "CONDITIONS",
    "FIELD_TYPES",
    "KIND",
    "MAX_IMAGES",
    "NOTE_CONFIRMED",
    "NOTE_EXPIRED",
    "NOTE_EXPIRING",
    "NOTE_RATED",
    "NOTE_RESERVED",
    "NOTE_SOLD",
    "PER_PAGE",
    "PLUGIN",
    "STATUSES",
    "CleanListing",
    "ListingCard",
    "ListingInput",
    "ListingView",
    "MarketPage",
    "MyListing",
    "MyMarket",
    "MyTrade",
    "RatingView",
    "ScamReportView",
    "TradeSummary",
    "cancel_trade",
    "available_condition",
    "categories",
    "check_listing",
    "close_scam_report",
    "condition_labels",
    "confirm_trade",
    "contact_seller",
    "contact_text",
    "create_listing",
    "decline_trade",
    "delete_category",
    "delete_field",
    "expire_listings",
    "field_type_labels",
    "format_price",
    "freeze_seller",
    "get_category",
    "get_listing",
    "get_rating",
    "get_scam_report",
    "get_trade",
    "listing_form_data",
    "listing_view",
    "load",
    "on_create",
    "mark_sold",
    "market",
    "market_boards",
    "my_market",
    "open_trade",
    "parse_price",
    "rate",
    "ratings_of",
    "remind_expiring",
    "renew",
    "reply_to_rating",
    "report_scam",
    "reserve",
    "save_category",
    "save_field",
    "save_images",
    "scam_reports",
    "search_document",
    "status_labels",
    "thumb_url",
    "summaries",
    "trade_ratings",
    "unreserve",
    "update_listing",
    "validate",
    "verify_rating",
]

CONTACT_SUBJECT_MAX = 100


def available_condition() -> Any:
    """A board listing's condition: threads whose listing is available or reserved and not
    frozen (the ``classifieds_available`` board filter)."""
    return Thread.id.in_(
        select(Listing.thread_id).where(
            Listing.status.in_(("available", "reserved")), Listing.frozen.is_(False)
        )
    )


def market_boards(member: Member | None) -> list[Board]:
    """The boards where ``member`` may start a listing (start_thread and the kind allowed),
    in index order."""
    from forum.services import reading

    return [b for b in reading.boards_for_composer(member) if KIND in posting.allowed_kinds(b)]


@dataclass
class MyListing:
    """One of the member's listings on their market page."""

    thread_id: int
    title: str
    status: str
    price_cents: int
    currency: str
    expires_at: datetime
    may_renew: bool
    frozen: bool = False


@dataclass
class MyTrade:
    """One of the member's trades waiting for something."""

    trade: Trade
    listing_title: str
    thread_id: int
    price_cents: int
    currency: str
    other: Member


@dataclass
class MyMarket:
    """The member's listings by status (in the order of :data:`STATUSES`) and their trades:
    to confirm (they are the buyer), waiting for the buyer (they sold), to rate."""

    listings: list[tuple[str, list[MyListing]]]
    to_confirm: list[MyTrade]
    waiting: list[MyTrade]
    to_rate: list[MyTrade]


#: The most rows of each list on the member's market page.
MINE_LIMIT = 100


def my_market(member: Member, now: datetime | None = None) -> MyMarket:
    """The member's listings (newest first, by status) and open trades (three queries)."""
    now = now or utcnow()
    listing_rows = db.session.execute(
        select(Listing, Thread.title)
        .join(Thread, Thread.id == Listing.thread_id)
        .where(Listing.seller_id == member.id, Thread.deleted_at.is_(None))
        .order_by(Listing.created_at.desc())
        .limit(MINE_LIMIT)
    ).all()
    by_status: dict[str, list[MyListing]] = {status: [] for status in STATUSES}
    for listing, title in listing_rows:
        by_status.setdefault(listing.status, []).append(
            MyListing(
                thread_id=listing.thread_id,
                title=title,
                status=listing.status,
                price_cents=listing.price_cents,
                currency=listing.currency,
                expires_at=listing.expires_at,
                may_renew=listing.status != "sold"
                and not listing.frozen
                and listing.bumped_at <= now - timedelta(days=1),
                frozen=listing.frozen,
            )
        )
    rated = select(Rating.id).where(Rating.trade_id == Trade.id, Rating.rater_id == member.id)
    trade_rows = db.session.execute(
        select(Trade, Thread.title, Listing.price_cents, Listing.currency)
        .join(Listing, Listing.thread_id == Trade.listing_id)
        .join(Thread, Thread.id == Trade.listing_id)
        .where(
            or_(Trade.seller_id == member.id, Trade.buyer_id == member.id),
            or_(Trade.status == "pending", and_(Trade.status == "confirmed", ~rated.exists())),
            Thread.deleted_at.is_(None),
        )
        .order_by(Trade.created_at.desc())
        .limit(MINE_LIMIT)
    ).all()
    other_ids = {t.buyer_id if t.seller_id == member.id else t.seller_id for t, *_ in trade_rows}
    others = {}
    if other_ids:
        others = {
            m.id: m
            for m in db.session.execute(select(Member).where(Member.id.in_(other_ids))).scalars()
        }
    mine = MyMarket(
        listings=[(status, items) for status, items in by_status.items() if items],
        to_confirm=[],
        waiting=[],
        to_rate=[],
    )
    for trade, title, cents, currency in trade_rows:
        other = others[trade.buyer_id if trade.seller_id == member.id else trade.seller_id]
        item = MyTrade(trade, title, trade.listing_id, cents, currency, other)
        if trade.status == "confirmed":
            mine.to_rate.append(item)
        elif trade.buyer_id == member.id:
            mine.to_confirm.append(item)
        else:
            mine.waiting.append(item)
    return mine


# -- seller actions --------------------------------------------------------------------------


def _seller_listing(member: Member | None, listing: Listing) -> Member:
    member = require_member(member)
    if member.id != listing.seller_id:
        raise PermissionDenied(_("Only the seller may do this."))
    if listing.frozen:
        raise PermissionDenied(_("Moderators froze this listing."))
    return member


def renew(member: Member | None, listing: Listing, now: datetime | None = None) -> Listing:
    """Renew a listing for another ``listing_days``: an expired one is available again and
    it moves to the top of "newest". Refused when sold, frozen or renewed less than a day
    ago. Commits."""
    _seller_listing(member, listing)
    now = now or utcnow()
    if listing.status == "sold":
        raise ServiceError(_("A sold listing cannot be renewed."))
    if listing.bumped_at > now - timedelta(days=1):
        raise ServiceError(_("You can renew a listing once a day."))
    begin_write()
    days = int(settings().get("listing_days") or 30)
    done = db.session.execute(
        update(Listing)
        .where(
            Listing.thread_id == listing.thread_id,
            Listing.status != "sold",
            Listing.bumped_at <= now - timedelta(days=1),
        )
        .values(
            expires_at=now + timedelta(days=days),
            bumped_at=now,
            reminded_at=None,
            status=case((Listing.status == "expired", "available"), else_=Listing.status),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        db.session.rollback()
        raise ServiceError(_("You can renew a listing once a day."))
    commit_listing([listing.thread_id])
    db.session.refresh(listing)
    return listing


def reserve(seller: Member | None, listing: Listing, buyer_username: str) -> Listing:
    """Mark the listing "reserved for" a member (told so). Commits."""
    seller = _seller_listing(seller, listing)
    buyer = find_member(buyer_username)
    if buyer.id == seller.id:
        raise ServiceError(_("You cannot reserve your own listing for yourself."), "buyer")
    if listing.status not in ("available", "reserved"):
        raise ServiceError(_("Only an available listing can be reserved."))
    if open_trade(listing.thread_id) is not None:
        raise ServiceError(_("This listing has a trade waiting for the buyer."))
    listing.status = "reserved"
    listing.reserved_for_id = buyer.id
    thread = db.session.get(Thread, listing.thread_id)
    notify(
        buyer.id,
        NOTE_RESERVED,
        actor_id=seller.id,
        thread_id=thread.id,
        title=thread.title,
        url=listing_url(thread.id),
    )
    commit_listing([listing.thread_id])
    return listing


def unreserve(seller: Member | None, listing: Listing) -> Listing:
    """Make a reserved listing available again (not while a trade waits). Commits."""
    _seller_listing(seller, listing)
    if listing.status != "reserved":
        raise ServiceError(_("This listing is not reserved."))
    if open_trade(listing.thread_id) is not None:
        raise ServiceError(_("This listing has a trade waiting for the buyer."))
    listing.status = "available"
    listing.reserved_for_id = None
    commit_listing([listing.thread_id])
    return listing


def contact_text(listing: Listing) -> str:
    """The pre-filled first message to the seller: the title, price and link."""
    thread = db.session.get(Thread, listing.thread_id)
    return _(
        "Hello, is “%(title)s” (%(price)s) still available?\n\n%(url)s",
        title=thread.title,
        price=format_price(listing.price_cents, listing.currency),
        url=listing_url(thread.id, absolute=True),
    )


def contact_seller(buyer: Member | None, listing: Listing, body: str) -> Any:
    """Start a private conversation with the seller about the listing. Not one's own
    listing, not a frozen one. Commits; returns the conversation."""
    buyer = require_member(buyer)
    if buyer.id == listing.seller_id:
        raise ServiceError(_("This is your own listing."))
    if listing.frozen:
        raise PermissionDenied(_("Moderators froze this listing."))
    seller = db.session.get(Member, listing.seller_id)
    thread = db.session.get(Thread, listing.thread_id)
    subject = _("About: %(title)s", title=thread.title)[:CONTACT_SUBJECT_MAX]
    return conversations.start(buyer, [seller], subject, body)


# -- jobs ------------------------------------------------------------------------------------


def expire_listings(now: datetime | None = None) -> int:
    """Expire the available and reserved listings past ``expires_at`` (not while a trade
    waits for its buyer); each seller is told once. Commits; returns how many."""
    now = now or utcnow()
    waiting = select(Trade.listing_id).where(Trade.status == "pending")
    rows = db.session.execute(
        select(Listing.thread_id, Listing.seller_id, Thread.title)
        .join(Thread, Thread.id == Listing.thread_id)
        .where(
            Listing.status.in_(("available", "reserved")),
            Listing.expires_at <= now,
            Listing.thread_id.not_in(waiting),
        )
    ).all()
    count = 0
    for thread_id, seller_id, title in rows:
        done = db.session.execute(
            update(Listing)
            .where(
                Listing.thread_id == thread_id,
                Listing.status.in_(("available", "reserved")),
                Listing.expires_at <= now,
            )
            .values(status="expired", reserved_for_id=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not done:
            db.session.rollback()
            continue
        count += 1
        notify(
            seller_id,
            NOTE_EXPIRED,
            thread_id=thread_id,
            title=title,
            url=listing_url(thread_id),
        )
        commit_listing([thread_id])
    return count


def remind_expiring(now: datetime | None = None) -> int:
    """Tell sellers their listing expires within ``reminder_days`` (once per listing and
    renewal). Commits; returns how many were told."""
    now = now or utcnow()
    days = int(settings().get("reminder_days") or 0)
    if days <= 0:
        return 0
    rows = db.session.execute(
        select(Listing.thread_id, Listing.seller_id, Listing.expires_at, Thread.title)
        .join(Thread, Thread.id == Listing.thread_id)
        .where(
            Listing.status.in_(("available", "reserved")),
            Listing.reminded_at.is_(None),
            Listing.expires_at > now,
            Listing.expires_at <= now + timedelta(days=days),
        )
    ).all()
    count = 0
    for thread_id, seller_id, expires_at, title in rows:
        done = db.session.execute(
            update(Listing)
            .where(Listing.thread_id == thread_id, Listing.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if done:
            count += 1
            notify(
                seller_id,
                NOTE_EXPIRING,
                thread_id=thread_id,
                title=title,
                url=listing_url(thread_id),
                data={"expires_at": expires_at.isoformat()},
            )
        db.session.commit()
    return count
