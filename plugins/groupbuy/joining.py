"""Joining: who may join, the reservation (stock taken under the campaign's row lock), the
payment order, releasing unpaid reservations, delivering payments (twice is once) and
following refunds."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from forum.extensions import db
from forum.models import Member, PaymentOrder, PaymentRefund
from forum.models.base import utcnow
from forum.plugin_api import notify
from forum.services import payments, permissions
from forum.services.errors import NotFound, ServiceError
from forum.services.writes import begin_write

from .campaigns import pickup_points_of, price_for, tiers_of
from .common import (
    NOTE_EXPIRED,
    PLUGIN,
    campaign_url,
    locked,
    paged,
    parse_int,
    reindex,
    reservation_minutes,
    sold_out_message,
    touch,
)
from .models import LIVE, Campaign, GroupOrder

log = logging.getLogger("forum_plugins.groupbuy")


# -- who may join ------------------------------------------------------------------------------


def _in_groups(member: Member, keys: list[str]) -> bool:
    mine = permissions.group_ids(member)
    for key in keys:
        try:
            if permissions.group_id(key) in mine:
                return True
        except KeyError:
            continue
    return False


def _campaign_refusal(
    member: Member | None, campaign: Campaign, quantity: int, now: datetime
) -> str:
    """Why ``member`` may not take ``quantity`` now (stock, status, time, groups, limit)."""
    if member is None or not getattr(member, "is_authenticated", False):
        return _("Please sign in to join this group-buy.")
    if campaign.board_id not in permissions.visible_board_ids(member, "read"):
        return _("You may not read the board of this group-buy.")
    if campaign.status == "cancelled":
        return _("This group-buy was cancelled.")
    if campaign.status == "draft":
        return _("This group-buy is not open yet.")
    if campaign.status != "open" or campaign.deadline <= now:
        return _("This group-buy has closed.")
    if campaign.members_only_groups and not (
        permissions.is_admin(member) or _in_groups(member, campaign.group_keys("members_only"))
    ):
        return _("This group-buy is for members only.")
    if (
        campaign.early_access_groups
        and campaign.early_access_until is not None
        and now < campaign.early_access_until
        and not _in_groups(member, campaign.group_keys("early_access"))
    ):
        return _(
            "Members with early access join first; you can join from %(when)s.",
            when=format_datetime(campaign.early_access_until),
        )
    if quantity > campaign.per_member_limit:
        return _("You may take at most %(n)d.", n=campaign.per_member_limit)
    if campaign.stock_left <= 0:
        return sold_out_message()
    if quantity > campaign.stock_left:
        return _("Only %(n)d left.", n=campaign.stock_left)
    return ""


def _live_order(member_id: int, campaign_id: int) -> GroupOrder | None:
    return db.session.execute(
        select(GroupOrder).where(
            GroupOrder.campaign_id == campaign_id,
            GroupOrder.member_id == member_id,
            GroupOrder.status.in_(LIVE),
        )
    ).scalar_one_or_none()


def join_refusal(
    member: Member | None, campaign: Campaign, quantity: int = 1, now: datetime | None = None
) -> str:
    """Why ``member`` may not join ``campaign`` with ``quantity`` ("" when they may: the
    page then shows the join form, or their own reserved order to pay)."""
    now = now or utcnow()
    if member is not None and getattr(member, "is_authenticated", False):
        own = _live_order(member.id, campaign.id)
        if own is not None and own.status == "paid":
            return _("You have joined this group-buy.")
        if own is not None and own.reserved_until > now:
            return ""
    return _campaign_refusal(member, campaign, quantity, now)


def _quantity(raw: Any) -> int:
    quantity = raw if isinstance(raw, int) and not isinstance(raw, bool) else parse_int(raw)
    if quantity is None or quantity < 1:
        raise ServiceError(_("Please choose a quantity of at least 1."), "quantity")
    return quantity


def _check_fulfilment(
    campaign: Campaign, pickup_point_id: Any, address: str
) -> tuple[int | None, str]:
    point_id = None
    if pickup_point_id not in (None, "", 0, "0"):
        point_id = parse_int(pickup_point_id)
        if point_id is None or point_id not in {p.id for p in pickup_points_of(campaign)}:
            raise ServiceError(_("Please choose one of the pickup points."), "pickup_point_id")
        if not campaign.pickup:
            raise ServiceError(_("This group-buy has no pickup."), "pickup_point_id")
        return point_id, ""
    address = " ".join((address or "").split())
    if address and campaign.delivery:
        if len(address) > 500:
            raise ServiceError(_("The address is too long."), "delivery_address")
        return None, address
    if campaign.pickup and not campaign.delivery:
        raise ServiceError(_("Please choose a pickup point."), "pickup_point_id")
    if campaign.delivery and not campaign.pickup:
        raise ServiceError(_("Please give a delivery address."), "delivery_address")
    raise ServiceError(
        _("Please choose a pickup point or give a delivery address."), "pickup_point_id"
    )


# -- joining -----------------------------------------------------------------------------------


def _release(order_id: int, to: str = "released") -> bool:
    """Release one reserved order (stock back), in the caller's transaction (the campaign
    row is already locked); True when this call released it."""
    order = db.session.get(GroupOrder, order_id)
    done = db.session.execute(
        update(GroupOrder)
        .where(GroupOrder.id == order_id, GroupOrder.status == "reserved")
        .values(status=to)
    ).rowcount
    if done:
        touch(db.session.get(Campaign, order.campaign_id))
        db.session.execute(
            update(Campaign)
            .where(Campaign.id == order.campaign_id)
            .values(stock_left=Campaign.stock_left + order.quantity)
        )
    return bool(done)


def _payment_order(order: GroupOrder) -> PaymentOrder:
    member = db.session.get(Member, order.member_id)
    campaign = db.session.get(Campaign, order.campaign_id)
    payment = payments.create_order(
        member,
        plugin=PLUGIN,
        reference=f"order:{order.id}",
        description=_("Group-buy: %(title)s × %(n)d", title=campaign.title, n=order.quantity),
        amount_cents=order.amount_cents,
        currency=campaign.currency,
        idempotency_key=f"groupbuy:order:{order.id}",
        expires_in=timedelta(minutes=reservation_minutes()),
    )
    if order.payment_public_id != payment.public_id:
        db.session.execute(
            update(GroupOrder)
            .where(GroupOrder.id == order.id)
            .values(payment_public_id=payment.public_id)
        )
        db.session.commit()
        db.session.refresh(order)
    return payment


def join(
    member: Member | None,
    campaign: Campaign,
    *,
    quantity: Any,
    pickup_point_id: Any = None,
    delivery_address: str = "",
    invited_by_id: Any = None,
    now: datetime | None = None,
) -> GroupOrder:
    """Reserve ``quantity`` for ``member`` and create its payment order (the member pays it
    at ``payments.checkout``). Stock is taken under the campaign's row lock; a member's
    reserved order is returned again when quantity and pickup match (else refused).
    Every refusal is a ServiceError and changes nothing."""
    now = now or utcnow()
    qty = _quantity(quantity)
    if member is None or not getattr(member, "is_authenticated", False):
        raise ServiceError(_("Please sign in to join this group-buy."))
    point_id, address = _check_fulfilment(campaign, pickup_point_id, delivery_address)
    inviter = parse_int(invited_by_id) if invited_by_id not in (None, "") else None
    if inviter is not None and (inviter == member.id or db.session.get(Member, inviter) is None):
        inviter = None

    c = locked(Campaign, Campaign.id == campaign.id)
    if c is None:
        db.session.rollback()
        raise NotFound(_("There is no such group-buy."))
    own = _live_order(member.id, c.id)
    if own is not None and own.status == "paid":
        db.session.rollback()
        raise ServiceError(_("You have joined this group-buy."), "quantity")
    if own is not None and own.reserved_until <= now:
        _release(own.id)
        db.session.flush()
        db.session.refresh(c)
        own = None
    if own is not None:
        same = (own.quantity, own.pickup_point_id, own.delivery_address) == (qty, point_id, address)
        db.session.commit()
        if not same:
            raise ServiceError(
                _("You have a reservation already: pay for it or cancel it first."), "quantity"
            )
        try:
            _payment_order(own)
        except ServiceError:
            db.session.rollback()
            raise
        return own
    refusal = _campaign_refusal(member, c, qty, now)
    if refusal:
        db.session.rollback()
        field = "quantity" if qty > c.per_member_limit or 0 < c.stock_left < qty else None
        raise ServiceError(refusal, field)
    unit = price_for(c, c.participants + 1, tiers_of(c))
    taken = db.session.execute(
        update(Campaign)
        .where(Campaign.id == c.id, Campaign.status == "open", Campaign.stock_left >= qty)
        .values(stock_left=Campaign.stock_left - qty, joined_ever=True)
    ).rowcount
    if taken != 1:
        db.session.rollback()
        raise ServiceError(sold_out_message())
    touch(c)
    order = GroupOrder(
        campaign_id=c.id,
        member_id=member.id,
        quantity=qty,
        pickup_point_id=point_id,
        delivery_address=address,
        unit_price_cents=unit,
        amount_cents=unit * qty,
        status="reserved",
        reserved_until=now + timedelta(minutes=reservation_minutes()),
        invited_by_id=inviter,
        refund_due_cents=0,
        refunded_cents=0,
        fulfilment="",
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(order)
            db.session.flush()
    except IntegrityError:  # a concurrent join of the same member won (one live order)
        db.session.rollback()
        raise ServiceError(
            _("You have a reservation already: pay for it or cancel it first."), "quantity"
        ) from None
    db.session.commit()
    try:
        _payment_order(order)
    except ServiceError:
        db.session.rollback()
        begin_write()
        locked(Campaign, Campaign.id == c.id)
        _release(order.id, "cancelled")
        db.session.commit()
        raise
    return order


def cancel_reservation(member: Member | None, order: GroupOrder) -> None:
    """The member gives up their unpaid reservation (stock back, payment order cancelled)."""
    if member is None or order.member_id != member.id:
        raise NotFound(_("There is no such order."))
    locked(Campaign, Campaign.id == order.campaign_id)
    if not _release(order.id, "cancelled"):
        db.session.rollback()
        raise ServiceError(_("Only an unpaid reservation can be cancelled."))
    db.session.commit()
    db.session.refresh(order)
    if order.payment_public_id:
        payment = db.session.execute(
            select(PaymentOrder).where(PaymentOrder.public_id == order.payment_public_id)
        ).scalar_one_or_none()
        if payment is not None and payment.status == "pending":
            try:
                payments.cancel(member, payment)
            except ServiceError:
                db.session.rollback()


def member_order(member: Member | None, campaign: Campaign) -> GroupOrder | None:
    """The member's live order of the campaign, else their latest one, else None."""
    if member is None or not getattr(member, "is_authenticated", False):
        return None
    live = _live_order(member.id, campaign.id)
    if live is not None:
        return live
    return db.session.execute(
        select(GroupOrder)
        .where(GroupOrder.campaign_id == campaign.id, GroupOrder.member_id == member.id)
        .order_by(GroupOrder.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def my_orders(member: Member, page: int = 1) -> tuple[list[GroupOrder], int]:
    """The member's orders, newest first; (rows, pages)."""
    query = (
        select(GroupOrder).where(GroupOrder.member_id == member.id).order_by(GroupOrder.id.desc())
    )
    return paged(query, page)


def release_expired(now: datetime | None = None) -> int:
    """Release reservations not paid by ``reserved_until`` (stock back); how many."""
    now = now or utcnow()
    rows = db.session.execute(
        select(GroupOrder.id, GroupOrder.campaign_id)
        .where(GroupOrder.status == "reserved", GroupOrder.reserved_until <= now)
        .order_by(GroupOrder.campaign_id, GroupOrder.id)
        .limit(1000)
    ).all()
    db.session.rollback()
    released = 0
    for order_id, campaign_id in rows:
        locked(Campaign, Campaign.id == campaign_id)
        if _release(order_id):
            released += 1
        db.session.commit()
    return released


# -- payments ----------------------------------------------------------------------------------


def order_of_payment(payment: Any) -> GroupOrder | None:
    """The group-buy order a payment order is for (reference ``order:<id>``), or None."""
    if getattr(payment, "plugin", None) != PLUGIN:
        return None
    kind, _sep, value = (payment.reference or "").partition(":")
    if kind != "order" or not value.isdigit():
        return None
    return db.session.get(GroupOrder, int(value))


def check_before_payment(member: Any, payment: Any) -> str | None:
    """``forum_before_payment``: refuse paying an order whose reservation was released or
    whose campaign is not open."""
    if getattr(payment, "plugin", None) != PLUGIN:
        return None
    order = order_of_payment(payment)
    if order is None:
        return _("There is no such order.")
    if order.status != "reserved":
        return _("This reservation has expired. Please join again.")
    campaign = db.session.get(Campaign, order.campaign_id)
    if campaign is None or campaign.status != "open":
        return _("This group-buy has closed.")
    return None


def _take_late(order: GroupOrder, campaign: Campaign, now: datetime) -> bool:
    """Money came for a released reservation: take the stock again when the campaign is
    still open, before its deadline, with stock (and no other live order of the member)."""
    if campaign.status != "open" or campaign.deadline <= now:
        return False
    if campaign.stock_left < order.quantity or _live_order(order.member_id, campaign.id):
        return False
    done = db.session.execute(
        update(GroupOrder)
        .where(GroupOrder.id == order.id, GroupOrder.status.in_(("released", "cancelled")))
        .values(status="paid", paid_at=now)
    ).rowcount
    if not done:
        return False
    db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(
            stock_left=Campaign.stock_left - order.quantity,
            participants=Campaign.participants + 1,
            quantity_paid=Campaign.quantity_paid + order.quantity,
            joined_ever=True,
        )
    )
    return True


def deliver_payment(payment: Any, now: datetime | None = None) -> None:
    """``forum_payment_succeeded`` for this plugin: the reservation becomes a paid order
    (once, however often it is called); money for a released reservation takes the stock
    again if it can, else it is refunded in full at once and the member told."""
    order = order_of_payment(payment)
    if order is None:
        return
    now = now or utcnow()
    campaign = locked(Campaign, Campaign.id == order.campaign_id)
    touch(campaign)
    db.session.refresh(order)
    if order.payment_public_id is None:
        order.payment_public_id = payment.public_id
    paid = db.session.execute(
        update(GroupOrder)
        .where(GroupOrder.id == order.id, GroupOrder.status == "reserved")
        .values(status="paid", paid_at=now)
    ).rowcount
    if paid:
        db.session.execute(
            update(Campaign)
            .where(Campaign.id == campaign.id)
            .values(
                participants=Campaign.participants + 1,
                quantity_paid=Campaign.quantity_paid + order.quantity,
            )
        )
        db.session.commit()
        db.session.refresh(campaign)
        tiers = tiers_of(campaign)
        people = campaign.participants
        if price_for(campaign, people, tiers) != price_for(campaign, people - 1, tiers):
            reindex(campaign)  # a new tier reached: the searchable price changed
        return
    if order.status == "paid" or _take_late(order, campaign, now):
        db.session.commit()
        return
    # too late: refund everything
    first = db.session.execute(
        update(GroupOrder)
        .where(GroupOrder.id == order.id, GroupOrder.refund_due_cents < GroupOrder.amount_cents)
        .values(refund_due_cents=GroupOrder.amount_cents)
    ).rowcount
    if first:
        notify(
            order.member_id,
            NOTE_EXPIRED,
            title=campaign.title[:200],
            url=campaign_url(campaign),
            data={"amount_cents": order.amount_cents, "currency": campaign.currency},
        )
    db.session.commit()
    from .settlement import refund_order

    refund_order(order, _("Group-buy reservation had expired"))


def on_refunded(payment: Any, refund: Any) -> None:
    """``forum_payment_refunded``: the order's ``refunded_cents`` follows the payment
    order's completed refunds."""
    order = order_of_payment(payment)
    if order is None:
        return
    sync_refunded(order)
    db.session.commit()


def sync_refunded(order: GroupOrder) -> bool:
    """Set ``refunded_cents`` to the payment order's completed refunds (never down);
    True when it changed."""
    if not order.payment_public_id:
        return False
    done = db.session.execute(
        select(func.coalesce(func.sum(PaymentRefund.amount_cents), 0))
        .join(PaymentOrder, PaymentOrder.id == PaymentRefund.order_id)
        .where(
            PaymentOrder.public_id == order.payment_public_id,
            PaymentRefund.status == "done",
        )
    ).scalar_one()
    done = min(int(done), order.amount_cents)
    changed = db.session.execute(
        update(GroupOrder)
        .where(GroupOrder.id == order.id, GroupOrder.refunded_cents < done)
        .values(refunded_cents=done)
    ).rowcount
    return bool(changed)
