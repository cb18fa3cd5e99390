"""Settlement at the deadline (exactly once: a conditional UPDATE open → succeeded/failed),
cancelling, and the refunds (``payments.plugin_refund`` with a fixed key per order, so
racing runs and retries make one refund per order)."""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from forum.extensions import db
from forum.models import Member, PaymentOrder
from forum.models.base import utcnow
from forum.plugin_api import notify
from forum.services import payments
from forum.services.errors import ServiceError

from .campaigns import price_for, require_manager, tiers_of
from .common import (
    NOTE_CANCELLED,
    NOTE_FAILED,
    NOTE_SUCCEEDED,
    PLUGIN,
    campaign_url,
    locked,
    reindex,
    touch,
)
from .joining import sync_refunded
from .models import Campaign, GroupOrder

log = logging.getLogger("forum_plugins.groupbuy")


def refund_key(order: GroupOrder) -> str:
    """The one idempotency key of an order's refund."""
    return f"groupbuy:refund:{order.id}"


def _release_reserved(campaign: Campaign, to: str = "released") -> int:
    """Release every unpaid reservation of the (locked) campaign, stock back; how many."""
    taken, count = db.session.execute(
        select(func.coalesce(func.sum(GroupOrder.quantity), 0), func.count()).where(
            GroupOrder.campaign_id == campaign.id, GroupOrder.status == "reserved"
        )
    ).one()
    if not count:
        return 0
    db.session.execute(
        update(GroupOrder)
        .where(GroupOrder.campaign_id == campaign.id, GroupOrder.status == "reserved")
        .values(status=to)
    )
    db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(stock_left=Campaign.stock_left + int(taken))
    )
    return int(count)


def _paid_orders(campaign_id: int) -> list[GroupOrder]:
    return list(
        db.session.execute(
            select(GroupOrder)
            .where(GroupOrder.campaign_id == campaign_id, GroupOrder.status == "paid")
            .order_by(GroupOrder.id)
        ).scalars()
    )


def settle(campaign: Campaign, now: datetime | None = None) -> bool:
    """Settle an open campaign whose deadline has passed; True when this call did it (a
    second call, or a concurrent one, does nothing). Succeeded when the minimum is
    reached (each paid order is refunded the difference to the final price), else failed
    (refunded in full); unpaid reservations are released; everyone is notified."""
    now = now or utcnow()
    c = locked(Campaign, Campaign.id == campaign.id)
    if c is None or c.status != "open" or c.deadline > now:
        db.session.rollback()
        return False
    succeeded = c.participants >= c.min_participants
    final = price_for(c, c.participants, tiers_of(c)) if succeeded else None
    won = db.session.execute(
        update(Campaign)
        .where(Campaign.id == c.id, Campaign.status == "open")
        .values(
            status="succeeded" if succeeded else "failed",
            settled_at=now,
            final_price_cents=final,
        )
    ).rowcount
    if won != 1:
        db.session.rollback()
        return False
    touch(c, listings=True)
    _release_reserved(c)
    if succeeded:
        db.session.execute(
            update(GroupOrder)
            .where(GroupOrder.campaign_id == c.id, GroupOrder.status == "paid")
            .values(refund_due_cents=GroupOrder.amount_cents - final * GroupOrder.quantity)
        )
    else:
        db.session.execute(
            update(GroupOrder)
            .where(GroupOrder.campaign_id == c.id, GroupOrder.status == "paid")
            .values(refund_due_cents=GroupOrder.amount_cents)
        )
    db.session.flush()
    for order in _paid_orders(c.id):
        db.session.refresh(order)
        data = {
            "final_cents": final,
            "refund_cents": order.refund_due_cents,
            "currency": c.currency,
        }
        notify(
            order.member_id,
            NOTE_SUCCEEDED if succeeded else NOTE_FAILED,
            actor_id=c.leader_id if c.leader_id != order.member_id else None,
            thread_id=c.thread_id,
            title=c.title[:200],
            url=campaign_url(c),
            data=data,
        )
    db.session.commit()
    reindex(c)
    run_refunds(c)
    return True


def settle_due(now: datetime | None = None) -> int:
    """Settle every open campaign whose deadline has passed (periodic job); how many this
    run settled."""
    now = now or utcnow()
    ids = list(
        db.session.execute(
            select(Campaign.id)
            .where(Campaign.status == "open", Campaign.deadline <= now)
            .order_by(Campaign.deadline, Campaign.id)
            .limit(200)
        ).scalars()
    )
    db.session.rollback()
    settled = 0
    for campaign_id in ids:
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is not None and settle(campaign, now=now):
            settled += 1
    return settled


def refund_order(order: GroupOrder, reason: str) -> bool:
    """Ask for the order's refund of ``refund_due_cents`` (one fixed key); True when the
    refund is done. A gateway that cannot be reached leaves it pending for the next run."""
    db.session.refresh(order)
    due = order.refund_due_cents
    if due <= 0 or order.refunded_cents >= due or not order.payment_public_id:
        return False
    payment = db.session.execute(
        select(PaymentOrder).where(PaymentOrder.public_id == order.payment_public_id)
    ).scalar_one_or_none()
    if payment is None:
        return False
    db.session.commit()
    try:
        row = payments.plugin_refund(
            PLUGIN, payment, due, reason, idempotency_key=refund_key(order)
        )
    except ServiceError as exc:
        db.session.rollback()
        log.warning("group-buy order %s: refund not made yet: %s", order.id, exc.message)
        return False
    if row.status != "done":
        return False
    sync_refunded(order)
    db.session.commit()
    return True


def run_refunds(campaign: Campaign | None = None) -> int:
    """Refund every order owed money (``refunded_cents < refund_due_cents``), of one
    campaign or all; the number of refunds done in this run. Safe to run twice at once."""
    query = select(GroupOrder.id).where(
        GroupOrder.refunded_cents < GroupOrder.refund_due_cents,
        GroupOrder.payment_public_id.is_not(None),
    )
    if campaign is not None:
        query = query.where(GroupOrder.campaign_id == campaign.id)
    ids = list(db.session.execute(query.order_by(GroupOrder.id).limit(500)).scalars())
    db.session.rollback()
    done = 0
    for order_id in ids:
        order = db.session.get(GroupOrder, order_id)
        campaign_row = db.session.get(Campaign, order.campaign_id)
        if campaign_row.status == "cancelled":
            reason = _("Group-buy cancelled: “%(title)s”", title=campaign_row.title)
        elif campaign_row.status == "failed" or order.refund_due_cents >= order.amount_cents:
            reason = _("Group-buy refund: “%(title)s”", title=campaign_row.title)
        else:
            reason = _("Group-buy price difference: “%(title)s”", title=campaign_row.title)
        if refund_order(order, reason[:500]):
            done += 1
    return done


def cancel_campaign(
    actor: Member | None, campaign: Campaign, reason: str, *, now: datetime | None = None
) -> Campaign:
    """The leader (or an admin) cancels a draft or open campaign with a reason: unpaid
    reservations released, every paid order refunded in full, everyone told. Refused after
    the campaign succeeded, failed or was fulfilled."""
    now = now or utcnow()
    require_manager(actor, campaign)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Please give a reason for cancelling."), "reason")
    if len(reason) > 1000:
        raise ServiceError(_("The reason is too long."), "reason")
    c = locked(Campaign, Campaign.id == campaign.id)
    if c.status not in ("draft", "open"):
        db.session.rollback()
        if c.status == "cancelled":
            raise ServiceError(_("This group-buy was cancelled already."))
        raise ServiceError(_("A group-buy that has ended can no longer be cancelled."))
    was = c.status
    won = db.session.execute(
        update(Campaign)
        .where(Campaign.id == c.id, Campaign.status == was)
        .values(status="cancelled", cancelled_at=now, cancel_reason=reason)
    ).rowcount
    if won != 1:
        db.session.rollback()
        raise ServiceError(_("A group-buy that has ended can no longer be cancelled."))
    touch(c, listings=True)
    if was == "open":
        _release_reserved(c)
        db.session.execute(
            update(GroupOrder)
            .where(GroupOrder.campaign_id == c.id, GroupOrder.status == "paid")
            .values(refund_due_cents=GroupOrder.amount_cents)
        )
        for order in _paid_orders(c.id):
            notify(
                order.member_id,
                NOTE_CANCELLED,
                actor_id=actor.id,
                thread_id=c.thread_id,
                title=c.title[:200],
                url=campaign_url(c),
                data={"reason": reason[:500], "refund_cents": order.amount_cents,
                      "currency": c.currency},
            )  # fmt: skip
    db.session.commit()
    reindex(c)
    if was == "open":
        run_refunds(c)
    db.session.refresh(c)
    return c
