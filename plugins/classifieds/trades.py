"""Trades, ratings, trade summaries and scam reports.

A trade starts when the seller names the buyer (:func:`mark_sold`, the listing shows
"reserved" meanwhile) and counts once the buyer confirms (:func:`confirm_trade`, the listing
is sold). Only then may each party rate the other, once: the trade row is locked (``FOR
UPDATE``; SQLite's write lock through ``begin_write``) and ``UNIQUE (trade_id, rater_id)``
is the last word when two requests race. State changes are conditional ``UPDATE … WHERE
status = 'pending'``, so two confirmations at once change the trade once.

A buyer's scam report (:func:`report_scam`) joins the moderation queue as a report on the
seller (reason ``scam``); moderators freeze the seller's listings (:func:`freeze_seller`),
verify ratings and close reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import case, func, literal, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from forum.extensions import db
from forum.models import Member, Thread, Upload
from forum.models.base import utcnow
from forum.plugin_api import notify
from forum.services import moderation, uploads
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.services.writes import begin_write

from . import photos
from .common import (
    NOTE_CONFIRMED,
    NOTE_RATED,
    NOTE_SOLD,
    check_photo_ids,
    commit_listing,
    find_member,
    is_listing_moderator,
    listing_url,
    pages,
    require_member,
    signed_in,
)
from .models import SCORES, FrozenSeller, Listing, Rating, ScamReport, Trade

COMMENT_MAX = 500
EVIDENCE_MIN = 10
EVIDENCE_MAX = 2000
RATINGS_PER_PAGE = 20
REPORTS_PER_PAGE = 20
#: Ratings shown as enough for a "positive" tone on the trust card.
TONE_MIN_RATINGS = 3
TONE_MIN_PERCENT = 90


def _thread(listing_id: int) -> Thread:
    return db.session.get(Thread, listing_id)


def open_trade(listing_id: int) -> Trade | None:
    """The listing's trade that is not cancelled (pending or confirmed), or None."""
    return db.session.execute(
        select(Trade).where(Trade.listing_id == listing_id, Trade.status != "cancelled")
    ).scalar_one_or_none()


def trade_ratings(trade_id: int) -> list[Rating]:
    """The trade's ratings (at most two), oldest first."""
    return list(
        db.session.execute(
            select(Rating).where(Rating.trade_id == trade_id).order_by(Rating.id)
        ).scalars()
    )


def get_trade(trade_id: int, viewer: Member | None) -> Trade:
    """The trade, for its parties and moderators of the listing's board; else NotFound."""
    trade = db.session.get(Trade, trade_id)
    if trade is None or not signed_in(viewer):
        raise NotFound("trade")
    if viewer.id in (trade.seller_id, trade.buyer_id):
        return trade
    thread = _thread(trade.listing_id)
    if thread is None or not is_listing_moderator(viewer, thread.board_id):
        raise NotFound("trade")
    return trade


def mark_sold(seller: Member | None, listing: Listing, buyer_username: str) -> Trade:
    """The seller names the buyer: a pending trade (the buyer is asked to confirm; the
    listing shows "reserved for" them meanwhile). Commits."""
    seller = require_member(seller)
    if seller.id != listing.seller_id:
        raise PermissionDenied(_("Only the seller may do this."))
    if listing.frozen:
        raise PermissionDenied(_("Moderators froze this listing."))
    buyer = find_member(buyer_username)
    if buyer.id == seller.id:
        raise ServiceError(_("You cannot sell to yourself."), "buyer")
    if listing.status not in ("available", "reserved"):
        raise ServiceError(_("Only an available listing can be sold."))
    begin_write()
    if open_trade(listing.thread_id) is not None:
        db.session.rollback()
        raise ServiceError(_("This listing has a trade already."))
    trade = Trade(
        listing_id=listing.thread_id,
        seller_id=seller.id,
        buyer_id=buyer.id,
        status="pending",
        created_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(trade)
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(_("This listing has a trade already.")) from None
    listing.status = "reserved"
    listing.reserved_for_id = buyer.id
    thread = _thread(listing.thread_id)
    notify(
        buyer.id,
        NOTE_SOLD,
        actor_id=seller.id,
        thread_id=thread.id,
        title=thread.title,
        url=f"/market/trades/{trade.id}",
    )
    commit_listing([listing.thread_id])
    return trade


def _set_status(trade: Trade, status: str, **values) -> bool:
    done = db.session.execute(
        update(Trade)
        .where(Trade.id == trade.id, Trade.status == "pending")
        .values(status=status, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(done)


def _release_listing(trade: Trade) -> None:
    db.session.execute(
        update(Listing)
        .where(Listing.thread_id == trade.listing_id, Listing.status == "reserved")
        .values(status="available", reserved_for_id=None)
        .execution_options(synchronize_session=False)
    )


def _withdraw(member: Member | None, trade: Trade, party_id: int, who: str, state: str) -> Trade:
    """Cancel a pending trade for one of its parties; the listing is available again."""
    member = require_member(member)
    if member.id != party_id:
        raise PermissionDenied(who)
    begin_write()
    if not _set_status(trade, "cancelled"):
        db.session.rollback()
        raise ServiceError(state)
    _release_listing(trade)
    commit_listing([trade.listing_id])
    db.session.refresh(trade)
    return trade


def cancel_trade(seller: Member | None, trade: Trade) -> Trade:
    """The seller withdraws a pending trade; the listing is available again. Commits."""
    return _withdraw(
        seller,
        trade,
        trade.seller_id,
        _("Only the seller may do this."),
        _("Only a trade waiting for the buyer can be cancelled."),
    )


def decline_trade(buyer: Member | None, trade: Trade) -> Trade:
    """The named buyer says the sale did not happen; the listing is available again."""
    return _withdraw(
        buyer,
        trade,
        trade.buyer_id,
        _("Only the buyer named in this trade may do this."),
        _("This trade is not waiting for you."),
    )


def confirm_trade(buyer: Member | None, trade: Trade) -> Trade:
    """The named buyer confirms the trade: the listing is sold, the seller told. Commits."""
    buyer = require_member(buyer)
    if buyer.id != trade.buyer_id:
        raise PermissionDenied(_("Only the buyer named in this trade may confirm it."))
    begin_write()
    now = utcnow()
    if not _set_status(trade, "confirmed", confirmed_at=now):
        db.session.rollback()
        raise ServiceError(_("This trade is not waiting for you."))
    db.session.execute(
        update(Listing)
        .where(Listing.thread_id == trade.listing_id)
        .values(status="sold", reserved_for_id=trade.buyer_id)
        .execution_options(synchronize_session=False)
    )
    thread = _thread(trade.listing_id)
    notify(
        trade.seller_id,
        NOTE_CONFIRMED,
        actor_id=buyer.id,
        thread_id=thread.id,
        title=thread.title,
        url=f"/market/trades/{trade.id}",
    )
    commit_listing([trade.listing_id])
    db.session.refresh(trade)
    listing = db.session.get(Listing, trade.listing_id)
    if listing is not None:
        db.session.refresh(listing)
    return trade


def rate(member: Member | None, trade: Trade, score: int, comment: str) -> Rating:
    """A party of a confirmed trade rates the other, once: score 1, 0 or -1 and a comment
    (at most 500 characters). Commits; the other party is told."""
    member = require_member(member)
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 99
    if score not in SCORES:
        raise ServiceError(_("Choose positive, neutral or negative."), "score")
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ServiceError(_("At most %(n)d characters.", n=COMMENT_MAX), "comment")
    if member.id not in (trade.seller_id, trade.buyer_id):
        raise PermissionDenied(_("Only the buyer and the seller of this trade may rate it."))
    begin_write()
    locked = db.session.execute(
        select(Trade).where(Trade.id == trade.id).with_for_update()
    ).scalar_one()
    db.session.refresh(locked)
    if locked.status != "confirmed":
        db.session.rollback()
        raise ServiceError(_("You can rate only after the buyer confirmed the trade."))
    ratee_id = locked.buyer_id if member.id == locked.seller_id else locked.seller_id
    if ratee_id == member.id:  # pragma: no cover - the CHECK on trades forbids it
        raise ServiceError(_("You cannot rate yourself."))
    already = _("You have rated this trade already.")
    if db.session.execute(
        select(Rating.id).where(Rating.trade_id == trade.id, Rating.rater_id == member.id)
    ).first():
        db.session.rollback()
        raise ServiceError(already)
    rating = Rating(
        trade_id=trade.id,
        rater_id=member.id,
        ratee_id=ratee_id,
        score=score,
        comment=comment,
        created_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(rating)
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(already) from None
    thread = _thread(trade.listing_id)
    notify(
        ratee_id,
        NOTE_RATED,
        actor_id=member.id,
        thread_id=thread.id if thread else None,
        title=thread.title if thread else "",
        url=f"/market/trades/{trade.id}",
        data={"score": score},
    )
    commit_listing([trade.listing_id], index=False)
    return rating


def get_rating(rating_id: int) -> Rating:
    """The rating, else NotFound (ratings are public on the ratings pages)."""
    rating = db.session.get(Rating, rating_id)
    if rating is None:
        raise NotFound("rating")
    return rating


def rating_listing_id(rating: Rating) -> int:
    """The listing (thread) id of a rating's trade."""
    return db.session.execute(
        select(Trade.listing_id).where(Trade.id == rating.trade_id)
    ).scalar_one()


def reply_to_rating(member: Member | None, rating: Rating, text: str) -> Rating:
    """The rated member answers a rating, once (at most 500 characters). Commits."""
    member = require_member(member)
    if member.id != rating.ratee_id:
        raise PermissionDenied(_("Only the member rated may reply."))
    text = (text or "").strip()
    if not text:
        raise ServiceError(_("Write a reply."), "reply")
    if len(text) > COMMENT_MAX:
        raise ServiceError(_("At most %(n)d characters.", n=COMMENT_MAX), "reply")
    begin_write()
    done = db.session.execute(
        update(Rating)
        .where(Rating.id == rating.id, Rating.reply.is_(None))
        .values(reply=text, replied_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        db.session.rollback()
        raise ServiceError(_("You have replied to this rating already."))
    commit_listing([rating_listing_id(rating)], index=False)
    db.session.refresh(rating)
    return rating


# -- summaries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TradeSummary:
    """A member's trading record: confirmed trades (either side), ratings received,
    upheld scam reports against them."""

    trades: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    scams_upheld: int = 0

    @property
    def ratings(self) -> int:
        """Ratings received."""
        return self.positive + self.neutral + self.negative

    @property
    def percent_positive(self) -> int | None:
        """Positive share of the positive and negative ratings (None without either)."""
        rated = self.positive + self.negative
        if not rated:
            return None
        return int(self.positive * 100 // rated)

    @property
    def tone(self) -> str:
        """``negative`` after an upheld scam report, ``positive`` for a good record."""
        if self.scams_upheld:
            return "negative"
        percent = self.percent_positive
        if self.ratings >= TONE_MIN_RATINGS and percent is not None and percent >= TONE_MIN_PERCENT:
            return "positive"
        return ""


def summaries(member_ids: list[int]) -> dict[int, TradeSummary]:
    """Member id → :class:`TradeSummary` for those with any record (one query)."""
    ids = list({int(i) for i in member_ids})
    if not ids:
        return {}
    zero, one = literal(0), literal(1)
    parts = [
        select(
            Trade.seller_id.label("m"),
            one.label("t"),
            zero.label("p"),
            zero.label("n"),
            zero.label("g"),
            zero.label("s"),
        ).where(Trade.status == "confirmed", Trade.seller_id.in_(ids)),
        select(Trade.buyer_id, one, zero, zero, zero, zero).where(
            Trade.status == "confirmed", Trade.buyer_id.in_(ids)
        ),
        select(
            Rating.ratee_id,
            zero,
            case((Rating.score == 1, 1), else_=0),
            case((Rating.score == 0, 1), else_=0),
            case((Rating.score == -1, 1), else_=0),
            zero,
        ).where(Rating.ratee_id.in_(ids)),
        select(ScamReport.seller_id, zero, zero, zero, zero, one).where(
            ScamReport.status == "upheld", ScamReport.seller_id.in_(ids)
        ),
    ]
    rows = union_all(*parts).subquery()
    result = db.session.execute(
        select(
            rows.c.m,
            func.sum(rows.c.t),
            func.sum(rows.c.p),
            func.sum(rows.c.n),
            func.sum(rows.c.g),
            func.sum(rows.c.s),
        ).group_by(rows.c.m)
    ).all()
    return {m: TradeSummary(int(t), int(p), int(n), int(g), int(s)) for m, t, p, n, g, s in result}


@dataclass(frozen=True)
class RatingView:
    """A rating as a member's ratings page lists it."""

    id: int
    trade_id: int
    thread_id: int
    title: str
    score: int
    comment: str
    reply: str | None
    replied_at: datetime | None
    created_at: datetime
    verified: bool
    rater_username: str
    rater_name: str
    rater_role: str  # "buyer" or "seller": the rater's side of the trade


def ratings_of(member: Member, page: int = 1) -> tuple[list[RatingView], int, TradeSummary]:
    """The ratings ``member`` received, newest first, a page; the page count; the summary."""
    summary = summaries([member.id]).get(member.id, TradeSummary())
    total = summary.ratings
    count = pages(total, RATINGS_PER_PAGE)
    page = max(1, min(int(page or 1), count))
    rows = db.session.execute(
        select(Rating, Trade, Thread.title, Member.username, Member.display_name)
        .join(Trade, Trade.id == Rating.trade_id)
        .join(Thread, Thread.id == Trade.listing_id)
        .join(Member, Member.id == Rating.rater_id)
        .where(Rating.ratee_id == member.id)
        .order_by(Rating.created_at.desc(), Rating.id.desc())
        .limit(RATINGS_PER_PAGE)
        .offset((page - 1) * RATINGS_PER_PAGE)
    ).all()
    views = [
        RatingView(
            id=r.id,
            trade_id=t.id,
            thread_id=t.listing_id,
            title=title,
            score=r.score,
            comment=r.comment,
            reply=r.reply,
            replied_at=r.replied_at,
            created_at=r.created_at,
            verified=r.verified,
            rater_username=username,
            rater_name=display_name or username,
            rater_role="buyer" if r.rater_id == t.buyer_id else "seller",
        )
        for r, t, title, username, display_name in rows
    ]
    return views, count, summary


# -- scam reports and moderation ---------------------------------------------------------------


def _reported_case(reporter: Member, seller_id: int, note: str) -> int | None:
    """The moderation case of the seller this report joins (a report of reason ``scam``);
    None when the seller can no longer be reported (banned, closed)."""
    case = moderation.open_case_of("member", seller_id)
    if case is not None:
        from forum.models import Report

        mine = db.session.execute(
            select(Report.id).where(Report.case_id == case.id, Report.reporter_id == reporter.id)
        ).first()
        if mine:
            return case.id
    try:
        return moderation.report(reporter, "member", seller_id, "scam", note=note).id
    except NotFound:  # the seller's account is closed or banned: the report stands alone
        return None
    except ServiceError:
        case = moderation.open_case_of("member", seller_id)
        if case is None:
            raise
        return case.id


def report_scam(
    reporter: Member | None, trade: Trade, evidence: str, image_ids: list[int] | None = None
) -> ScamReport:
    """The buyer of a pending or confirmed trade reports it as a scam, once, with evidence
    (10 to 2000 characters) and up to nine of their photos: a moderation case on the seller
    (reason ``scam``). Commits."""
    reporter = require_member(reporter)
    if reporter.id != trade.buyer_id:
        raise PermissionDenied(_("Only the buyer of this trade may report it."))
    if trade.status not in ("pending", "confirmed"):
        raise ServiceError(_("This trade was cancelled."))
    evidence = (evidence or "").strip()
    if len(evidence) < EVIDENCE_MIN:
        raise ServiceError(
            _("Describe what happened (at least %(n)d characters).", n=EVIDENCE_MIN), "evidence"
        )
    if len(evidence) > EVIDENCE_MAX:
        raise ServiceError(_("At most %(n)d characters.", n=EVIDENCE_MAX), "evidence")
    ids = check_photo_ids(reporter, image_ids or [])
    already = _("You have reported this trade already. The moderators will look at it.")
    if db.session.execute(
        select(ScamReport.id).where(
            ScamReport.trade_id == trade.id, ScamReport.reporter_id == reporter.id
        )
    ).first():
        raise ServiceError(already)
    thread = _thread(trade.listing_id)
    note = _(
        "Scam report on the trade of “%(title)s”: %(evidence)s",
        title=thread.title,
        evidence=evidence,
    )
    case_id = _reported_case(reporter, trade.seller_id, note[:1000])
    report = ScamReport(
        trade_id=trade.id,
        reporter_id=reporter.id,
        seller_id=trade.seller_id,
        evidence=evidence,
        image_ids=ids,
        case_id=case_id,
        status="open",
        created_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(report)
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(already) from None
    db.session.commit()
    return report


def _require_site_moderator(actor: Member | None) -> Member:
    if not moderation.is_site_moderator(actor):
        raise PermissionDenied(_("Only moderators may do this."))
    return actor


@dataclass(frozen=True)
class ScamReportView:
    """A scam report as the moderators' list shows it."""

    report: ScamReport
    trade: Trade
    title: str
    reporter_username: str
    seller_username: str
    seller_id: int
    seller_frozen: bool
    ratings: list[Rating]
    images: list[tuple[str, str]] = field(default_factory=list)  # (url, thumbnail url)


def scam_reports(
    actor: Member | None, status: str = "open", page: int = 1
) -> tuple[list[ScamReportView], int]:
    """Scam reports of ``status`` (``open``, ``upheld``, ``dismissed`` or ``all``), newest
    first, for site moderators; (views, pages)."""
    _require_site_moderator(actor)
    conds = [] if status == "all" else [ScamReport.status == status]
    total = db.session.execute(
        select(func.count()).select_from(ScamReport).where(*conds)
    ).scalar_one()
    count = pages(total, REPORTS_PER_PAGE)
    page = max(1, min(int(page or 1), count))
    reporter = aliased(Member)
    seller = aliased(Member)
    rows = db.session.execute(
        select(ScamReport, Trade, Thread.title, reporter.username, seller.username, FrozenSeller)
        .join(Trade, Trade.id == ScamReport.trade_id)
        .join(Thread, Thread.id == Trade.listing_id)
        .join(reporter, reporter.id == ScamReport.reporter_id)
        .join(seller, seller.id == ScamReport.seller_id)
        .outerjoin(FrozenSeller, FrozenSeller.member_id == ScamReport.seller_id)
        .where(*conds)
        .order_by(ScamReport.created_at.desc(), ScamReport.id.desc())
        .limit(REPORTS_PER_PAGE)
        .offset((page - 1) * REPORTS_PER_PAGE)
    ).all()
    trade_ids = [t.id for _r, t, *_rest in rows]
    ratings: dict[int, list[Rating]] = {}
    if trade_ids:
        for rating in db.session.execute(
            select(Rating).where(Rating.trade_id.in_(trade_ids)).order_by(Rating.id)
        ).scalars():
            ratings.setdefault(rating.trade_id, []).append(rating)
    wanted = {int(i) for r, *_rest in rows for i in (r.image_ids or [])}
    found: dict[int, Upload] = {}
    if wanted:
        found = {
            u.id: u
            for u in db.session.execute(select(Upload).where(Upload.id.in_(wanted))).scalars()
        }
    views = [
        ScamReportView(
            report=r,
            trade=t,
            title=title,
            reporter_username=reporter_name,
            seller_username=seller_name,
            seller_id=t.seller_id,
            seller_frozen=frozen is not None,
            ratings=ratings.get(t.id, []),
            images=[
                (uploads.url_of(found[i]), photos.thumb_url(found[i]))
                for i in r.image_ids or []
                if i in found
            ],
        )
        for r, t, title, reporter_name, seller_name, frozen in rows
    ]
    return views, count


def get_scam_report(report_id: int, actor: Member | None) -> ScamReport:
    """A scam report, for site moderators; else NotFound."""
    report = db.session.get(ScamReport, report_id)
    if report is None or not moderation.is_site_moderator(actor):
        raise NotFound("report")
    return report


def freeze_seller(actor: Member | None, seller_id: int, frozen: bool, reason: str = "") -> int:
    """Freeze (or unfreeze) every listing of the seller: hidden from the market, no
    contact, no new listings. Site moderators; logged. Commits; returns the listings changed."""
    actor = _require_site_moderator(actor)
    seller = db.session.get(Member, seller_id)
    if seller is None:
        raise NotFound("member")
    reason = (reason or "").strip()[:500]
    begin_write()
    row = db.session.get(FrozenSeller, seller_id)
    if frozen and row is None:
        db.session.add(FrozenSeller(member_id=seller_id, frozen_by_id=actor.id, reason=reason))
    elif not frozen and row is not None:
        db.session.delete(row)
    listing_ids = list(
        db.session.execute(
            select(Listing.thread_id).where(
                Listing.seller_id == seller_id, Listing.frozen.is_(not frozen)
            )
        ).scalars()
    )
    changed = db.session.execute(
        update(Listing)
        .where(Listing.seller_id == seller_id, Listing.frozen.is_(not frozen))
        .values(frozen=bool(frozen))
        .execution_options(synchronize_session=False)
    ).rowcount
    moderation.log_action(
        actor,
        "classifieds_freeze" if frozen else "classifieds_unfreeze",
        "member",
        seller_id,
        subject_id=seller_id,
        reason=reason,
        listings=changed,
    )
    commit_listing(listing_ids, index=False)
    db.session.expire_all()
    return changed


def verify_rating(actor: Member | None, rating: Rating, verified: bool = True) -> Rating:
    """Mark a rating as verified by moderators (after a scam report), or take it back.
    Site moderators and moderators of the listing's board; logged. Commits."""
    trade = db.session.get(Trade, rating.trade_id)
    thread = _thread(trade.listing_id)
    if not is_listing_moderator(actor, thread.board_id if thread else None):
        raise PermissionDenied(_("Only moderators may do this."))
    rating.verified = bool(verified)
    moderation.log_action(
        actor,
        "classifieds_verify" if verified else "classifieds_unverify",
        "member",
        rating.ratee_id,
        subject_id=rating.ratee_id,
        rating=rating.id,
    )
    commit_listing([trade.listing_id], index=False)
    return rating


def close_scam_report(actor: Member | None, report: ScamReport, upheld: bool) -> ScamReport:
    """Uphold or dismiss an open scam report (site moderators; logged). Commits."""
    actor = _require_site_moderator(actor)
    begin_write()
    done = db.session.execute(
        update(ScamReport)
        .where(ScamReport.id == report.id, ScamReport.status == "open")
        .values(
            status="upheld" if upheld else "dismissed", handled_by_id=actor.id, handled_at=utcnow()
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        db.session.rollback()
        raise ServiceError(_("This report was handled already."))
    moderation.log_action(
        actor,
        "classifieds_scam_upheld" if upheld else "classifieds_scam_dismissed",
        "member",
        report.seller_id,
        subject_id=report.seller_id,
        case_id=report.case_id,
        report=report.id,
    )
    db.session.commit()
    db.session.refresh(report)
    return report


__all__ = [
    "RatingView",
    "ScamReportView",
    "TradeSummary",
    "cancel_trade",
    "close_scam_report",
    "confirm_trade",
    "decline_trade",
    "freeze_seller",
    "get_rating",
    "get_scam_report",
    "get_trade",
    "listing_url",
    "mark_sold",
    "open_trade",
    "rate",
    "ratings_of",
    "reply_to_rating",
    "report_scam",
    "scam_reports",
    "summaries",
    "trade_ratings",
    "verify_rating",
]
