"""The leader's dashboard: orders, the CSV export (Excel-safe), fulfilment, messages to
all participants and the commission statement."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from forum.extensions import db
from forum.models import Member
from forum.models.base import utcnow
from forum.plugin_api import notify
from forum.services.errors import NotFound, ServiceError
from forum.services.spreadsheets import csv_chunks, money_cell

from .campaigns import require_manager
from .common import NOTE_FULFILLED, NOTE_MESSAGE, campaign_url, locked, paged, reindex, touch
from .models import ORDER_STATUSES, Campaign, GroupOrder, PickupPoint

FULFIL_HOW = ("picked_up", "shipped")
MESSAGE_MAX = 2000


def leader_orders(
    actor: Member | None, campaign: Campaign, *, status: str | None = None, page: int = 1
) -> tuple[list[GroupOrder], int]:
    """The campaign's orders for its leader (or an admin), oldest first, optionally of one
    status (``reserved``, ``paid``, ``released``, ``cancelled``); (rows, pages)."""
    require_manager(actor, campaign)
    query = select(GroupOrder).where(GroupOrder.campaign_id == campaign.id)
    if status:
        if status not in ORDER_STATUSES:
            raise ServiceError(_("Unknown order status."), "status")
        query = query.where(GroupOrder.status == status)
    return paged(query.order_by(GroupOrder.id), page, 50)


def _status_label(order: GroupOrder) -> str:
    labels = {
        "reserved": _("Reserved (unpaid)"),
        "paid": _("Paid"),
        "released": _("Released"),
        "cancelled": _("Cancelled"),
    }
    return labels.get(order.status, order.status)


def _fulfilment_label(order: GroupOrder) -> str:
    return {"picked_up": _("Picked up"), "shipped": _("Shipped")}.get(order.fulfilment, "")


def orders_csv(actor: Member | None, campaign: Campaign) -> Iterator[str]:
    """Every order of the campaign as CSV chunks (byte order mark, CRLF, formulas escaped:
    opens in Excel with Chinese text)."""
    require_manager(actor, campaign)
    orders = list(
        db.session.execute(
            select(GroupOrder).where(GroupOrder.campaign_id == campaign.id).order_by(GroupOrder.id)
        ).scalars()
    )
    ids = {o.member_id for o in orders} | {o.invited_by_id for o in orders if o.invited_by_id}
    names = (
        dict(db.session.execute(select(Member.id, Member.username).where(Member.id.in_(ids))).all())
        if ids
        else {}
    )
    points = {
        p.id: p
        for p in db.session.execute(
            select(PickupPoint).where(PickupPoint.campaign_id == campaign.id)
        ).scalars()
    }
    header = [
        _("Order no."),
        _("Member"),
        _("Quantity"),
        _("Unit price"),
        _("Amount"),
        _("Refunded"),
        _("Status"),
        _("Pickup point"),
        _("Delivery address"),
        _("Fulfilment"),
        _("Paid at (UTC)"),
        _("Invited by"),
    ]

    def rows() -> Iterator[list]:
        yield header
        for o in orders:
            point = points.get(o.pickup_point_id)
            yield [
                o.id,
                names.get(o.member_id, ""),
                o.quantity,
                money_cell(o.unit_price_cents),
                money_cell(o.amount_cents),
                money_cell(o.refunded_cents),
                _status_label(o),
                f"{point.name} {point.address}".strip() if point else "",
                o.delivery_address,
                _fulfilment_label(o),
                o.paid_at.strftime("%Y-%m-%d %H:%M") if o.paid_at else "",
                names.get(o.invited_by_id, "") if o.invited_by_id else "",
            ]

    return csv_chunks(rows())


def mark_fulfilled(actor: Member | None, order: GroupOrder, how: str) -> GroupOrder:
    """Mark a paid order of a succeeded campaign picked up or shipped; when every paid
    order is, the campaign becomes ``fulfilled``."""
    campaign = db.session.get(Campaign, order.campaign_id)
    if campaign is None:
        raise NotFound(_("There is no such order."))
    require_manager(actor, campaign)
    if how not in FULFIL_HOW:
        raise ServiceError(_("Choose picked up or shipped."), "how")
    c = locked(Campaign, Campaign.id == campaign.id)
    if c.status not in ("succeeded", "fulfilled"):
        db.session.rollback()
        raise ServiceError(_("Orders can be fulfilled only after the group-buy succeeded."))
    db.session.refresh(order)
    if order.status != "paid":
        db.session.rollback()
        raise ServiceError(_("Only a paid order can be fulfilled."))
    now = utcnow()
    touch(c)
    first = order.fulfilment == ""
    order.fulfilment = how
    order.fulfilled_at = order.fulfilled_at or now
    db.session.flush()
    left = db.session.execute(
        select(func.count())
        .select_from(GroupOrder)
        .where(
            GroupOrder.campaign_id == c.id,
            GroupOrder.status == "paid",
            GroupOrder.fulfilment == "",
        )
    ).scalar_one()
    became = False
    if left == 0:
        became = (
            db.session.execute(
                update(Campaign)
                .where(Campaign.id == c.id, Campaign.status == "succeeded")
                .values(status="fulfilled")
            ).rowcount
            == 1
        )
    if first:
        notify(
            order.member_id,
            NOTE_FULFILLED,
            actor_id=actor.id,
            thread_id=c.thread_id,
            title=c.title[:200],
            url=campaign_url(c),
            data={"how": how},
        )
    db.session.commit()
    if became:
        reindex(c)
    db.session.refresh(order)
    return order


def message_participants(actor: Member | None, campaign: Campaign, text: str) -> int:
    """Send ``text`` to every paid participant (notification ``groupbuy.message``); how
    many were sent."""
    require_manager(actor, campaign)
    text = (text or "").strip()
    if not text:
        raise ServiceError(_("Please write a message."), "text")
    if len(text) > MESSAGE_MAX:
        raise ServiceError(
            _("The message may have at most %(n)d characters.", n=MESSAGE_MAX), "text"
        )
    members = list(
        db.session.execute(
            select(GroupOrder.member_id)
            .where(GroupOrder.campaign_id == campaign.id, GroupOrder.status == "paid")
            .distinct()
        ).scalars()
    )
    sent = 0
    for member_id in members:
        note = notify(
            member_id,
            NOTE_MESSAGE,
            actor_id=actor.id,
            thread_id=campaign.thread_id,
            title=campaign.title[:200],
            url=campaign_url(campaign),
            data={"text": text},
        )
        if note is not None:
            sent += 1
    db.session.commit()
    return sent


@dataclass
class StatementLine:
    """One paid order in the commission statement."""

    order: GroupOrder
    member_name: str
    amount_cents: int
    refunded_cents: int
    net_cents: int


@dataclass
class Statement:
    """The leader's commission: revenue (paid − refunded) × commission_bp / 10000, floored."""

    currency: str
    commission_bp: int
    paid_cents: int
    refunded_cents: int
    revenue_cents: int
    commission_cents: int
    settled_at: datetime | None
    lines: list[StatementLine] = field(default_factory=list)


def commission_statement(actor: Member | None, campaign: Campaign) -> Statement:
    """The commission statement of the campaign for its leader (or an admin)."""
    require_manager(actor, campaign)
    orders = list(
        db.session.execute(
            select(GroupOrder)
            .where(GroupOrder.campaign_id == campaign.id, GroupOrder.status == "paid")
            .order_by(GroupOrder.id)
        ).scalars()
    )
    ids = {o.member_id for o in orders}
    names = (
        dict(db.session.execute(select(Member.id, Member.username).where(Member.id.in_(ids))).all())
        if ids
        else {}
    )
    lines = [
        StatementLine(
            order=o,
            member_name=names.get(o.member_id, ""),
            amount_cents=o.amount_cents,
            refunded_cents=o.refunded_cents,
            net_cents=o.amount_cents - o.refunded_cents,
        )
        for o in orders
    ]
    paid = sum(line.amount_cents for line in lines)
    refunded = sum(line.refunded_cents for line in lines)
    revenue = paid - refunded
    return Statement(
        currency=campaign.currency,
        commission_bp=campaign.commission_bp,
        paid_cents=paid,
        refunded_cents=refunded,
        revenue_cents=revenue,
        commission_cents=revenue * campaign.commission_bp // 10000,
        settled_at=campaign.settled_at,
        lines=lines,
    )
