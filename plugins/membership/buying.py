"""Buying tiers (money through the payments core, or points), delivering paid orders,
refunds, renewal reminders and expiry.

Every delivery goes through :func:`.tiers.extend` (one :class:`~.models.Purchase` per order,
under the subscription's row lock), so ``forum_payment_succeeded`` called twice for one
order extends the period once. Seats: a member holding an active subscription keeps their
seat when renewing; a new member takes one by a conditional UPDATE, and the
``forum_before_payment`` check (:func:`check_order`) counts other members' unexpired pending
orders as holding seats, under the tier's row lock, so two buyers of the last seat are
never both let through.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from forum.extensions import db
from forum.models import Member
from forum.models.base import utcnow
from forum.plugin_api import notify
from forum.services import mail, points
from forum.services.errors import ServiceError
from forum.services.writes import begin_write

from . import entry, periods
from .common import PLUGIN, locked, require_admin, settings, url
from .models import PERIOD_UNITS, Purchase, Subscription, Tier
from .tiers import (
    SoldOut,
    _delivered,
    _lock_subscription,
    _release_seat,
    extend,
    grace,
    subscription,
    sync_groups,
)

log = logging.getLogger("forum_plugins.membership")

REASON_POINTS = "membership_tier"
NOTE_GRANTED = "membership.granted"
NOTE_REMINDER = "membership.reminder"
NOTE_SOLD_OUT = "membership.sold_out"


# -- buying -----------------------------------------------------------------------------------


def order_tier_id(order: Any) -> int | None:
    """The tier id an order of this plugin is for (reference ``tier:<id>``), else None."""
    if getattr(order, "plugin", None) != PLUGIN:
        return None
    kind, _sep, value = (order.reference or "").partition(":")
    return int(value) if kind == "tier" and value.isdigit() else None


def _pending_buyers(tier: Tier, except_member: int, now: datetime) -> int:
    """Members other than ``except_member`` with an unexpired pending order of the tier
    (each holds a seat until their order is paid or expires)."""
    from forum.models import PaymentOrder

    return db.session.execute(
        select(func.count(func.distinct(PaymentOrder.member_id))).where(
            PaymentOrder.plugin == PLUGIN,
            PaymentOrder.reference == f"tier:{tier.id}",
            PaymentOrder.status == "pending",
            PaymentOrder.member_id != except_member,
            (PaymentOrder.expires_at.is_(None)) | (PaymentOrder.expires_at > now),
        )
    ).scalar_one()


def _holds_seat(member: Member, tier: Tier) -> bool:
    sub = subscription(member, tier)
    return sub is not None and sub.status == "active"


def refusal(member: Member, tier: Tier, *, now: datetime | None = None, money: bool = True) -> str:
    """Why ``member`` may not buy ``tier`` now ("" when they may): not on sale, no price,
    sold out (paid seats and other members' pending orders counted), an approved
    application required first."""
    now = now or utcnow()
    if not tier.active:
        return _("This tier is not on sale.")
    if money and tier.price_cents <= 0:
        return _("This tier is not sold for money.")
    if not money and not tier.points_price:
        return _("This tier is not sold for points.")
    sub = subscription(member, tier)
    if sub is not None and sub.status == "active" and sub.paid_until is None:
        return _("You are a lifetime member of this tier already.")
    if tier.seats is not None and not _holds_seat(member, tier):
        reserved = _pending_buyers(tier, member.id, now)
        if tier.seats_taken + reserved >= tier.seats:
            return _("This tier is sold out.")
    if entry.application_needed(member, tier):
        return _("Please apply to join first; you can pay once your application is approved.")
    return ""


def check_order(member: Member, order: Any) -> str | None:
    """``forum_before_payment``: refuse an order of a tier that is inactive, sold out or
    needs an approved application. Locks the tier's row, so that two buyers of the last
    seat are checked one after the other (the first one's pending order holds it)."""
    tier_id = order_tier_id(order)
    if tier_id is None:
        return None
    begin_write()
    tier = locked(Tier, Tier.id == tier_id)
    if tier is None:
        return _("No such membership tier.")
    return refusal(member, tier) or None


def _existing_order(member: Member, tier: Tier, now: datetime) -> Any | None:
    """The member's unexpired pending order of the tier at its current price, if any (a
    second click on Buy goes on with it rather than making another)."""
    from forum.models import PaymentOrder

    return db.session.execute(
        select(PaymentOrder)
        .where(
            PaymentOrder.member_id == member.id,
            PaymentOrder.plugin == PLUGIN,
            PaymentOrder.reference == f"tier:{tier.id}",
            PaymentOrder.status == "pending",
            PaymentOrder.amount_cents == tier.price_cents,
            PaymentOrder.currency == tier.currency,
            (PaymentOrder.expires_at.is_(None)) | (PaymentOrder.expires_at > now),
        )
        .order_by(PaymentOrder.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def buy(member: Member, tier: Tier, *, provider: str | None = None, now: datetime | None = None):
    """An order for one period of ``tier`` at its price now (the order keeps that price and
    period whatever the tier later costs); send the member to
    ``url_for("payments.checkout", public_id=order.public_id)``. A pending order of the
    same tier at the same price is reused. ``provider`` is remembered in the order's data
    for the checkout page. ServiceError when the tier may not be bought (:func:`refusal`)."""
    from forum.services import payments

    now = now or utcnow()
    reason = refusal(member, tier, now=now)
    if reason:
        raise ServiceError(reason)
    existing = _existing_order(member, tier, now)
    if existing is not None:
        return existing
    period = periods.describe(tier.period_unit, tier.period_count)
    try:
        return payments.create_order(
            member,
            plugin=PLUGIN,
            reference=f"tier:{tier.id}",
            description=f"{tier.name} ({period})"[:120],
            amount_cents=tier.price_cents,
            currency=tier.currency,
            idempotency_key=f"membership:{member.id}:{tier.id}:{secrets.token_urlsafe(9)}",
            data={
                "tier_id": tier.id,
                "period_unit": tier.period_unit,
                "period_count": tier.period_count,
                "provider": provider,
            },
        )
    except ServiceError:
        db.session.rollback()  # a refusal by forum_before_payment: let go of the tier's lock
        raise


def buy_with_points(member: Member, tier: Tier, *, now: datetime | None = None) -> Subscription:
    """One period of ``tier`` for its points price, charged and granted in one transaction
    (the key names the period it extends, so a double click charges once). ServiceError
    when it may not be bought or the balance is short (nothing changed)."""
    now = now or utcnow()
    reason = refusal(member, tier, now=now, money=False)
    if reason:
        raise ServiceError(reason)
    sub = subscription(member, tier)
    base = (
        sub.paid_until.isoformat() if sub and sub.status == "active" and sub.paid_until else "new"
    )
    key = f"membership:points:{member.id}:{tier.id}:{base}"
    try:
        sub, fresh = extend(
            member,
            tier,
            source="points",
            now=now,
            key=key,
            points_spent=tier.points_price,
            currency=tier.currency,
        )
        if fresh:
            points.charge(
                member,
                tier.points_price,
                REASON_POINTS,
                key,
                reference=f"membership:tier:{tier.id}",
                commit=False,
            )
        db.session.commit()
    except (ServiceError, IntegrityError):
        db.session.rollback()
        raise
    sync_groups(member, tier.group_ids, now)
    return sub


def give(actor: Member, member: Member, tier: Tier, *, now: datetime | None = None) -> Subscription:
    """One period of ``tier`` for ``member`` without payment (admins: a prize, a comp),
    source ``admin``, from the later of now and the current end; seats count. Commits."""
    require_admin(actor)
    now = now or utcnow()
    key = f"membership:admin:{member.id}:{tier.id}:{secrets.token_urlsafe(9)}"
    try:
        sub, _fresh = extend(member, tier, source="admin", now=now, key=key, currency=tier.currency)
        db.session.commit()
    except ServiceError:
        db.session.rollback()
        raise
    sync_groups(member, tier.group_ids, now)
    return sub


# -- delivery and refunds ---------------------------------------------------------------------


def _order_period(order: Any, tier: Tier) -> tuple[str, int]:
    data = order.data or {}
    unit, count = data.get("period_unit"), data.get("period_count")
    if unit in PERIOD_UNITS and isinstance(count, int) and count >= 1:
        return unit, count
    return tier.period_unit, tier.period_count


def grant(order: Any, now: datetime | None = None) -> Subscription | None:
    """Deliver a paid order of this plugin (``forum_payment_succeeded``): one period of the
    tier (as it was when ordered) from the later of now and the current ``paid_until``, the
    tier's groups until then plus grace. Idempotent: a second call for the same order
    changes nothing but re-checks the groups. None for other plugins' orders. When the last
    seat went to someone else meanwhile, the member is told and nothing is granted (an
    admin refunds)."""
    tier_id = order_tier_id(order)
    if tier_id is None:
        return None
    now = now or utcnow()
    tier = db.session.get(Tier, tier_id)
    member = db.session.get(Member, order.member_id)
    if tier is None or member is None:
        log.error("membership order %s: tier or member gone", order.public_id)
        return None
    try:
        sub, fresh = extend(
            member,
            tier,
            source="payment",
            now=now,
            period=_order_period(order, tier),
            order_id=order.id,
            price_cents=order.amount_cents,
            currency=order.currency,
        )
    except SoldOut:
        db.session.rollback()
        return _sold_out(order, member, tier, now)
    except IntegrityError:  # the same order delivered at the same moment elsewhere
        db.session.rollback()
        sub, fresh = subscription(member, tier), False
    if fresh:
        notify(
            member.id,
            NOTE_GRANTED,
            title=tier.name,
            url=url("membership.mine", "/membership/mine"),
            data={"until": sub.paid_until.isoformat() if sub.paid_until else None},
        )
    db.session.commit()
    sync_groups(member, tier.group_ids, now)
    return sub


def _sold_out(order: Any, member: Member, tier: Tier, now: datetime) -> None:
    """Record a paid order that found no seat (one Purchase of no period, so that a
    redelivery does not try again) and tell the member; an admin refunds it."""
    begin_write()
    if _delivered(order.id, None) is None:
        db.session.add(
            Purchase(
                order_id=order.id,
                member_id=member.id,
                tier_id=tier.id,
                price_cents=order.amount_cents,
                currency=order.currency,
                period_from=now,
                period_to=now,
                created_at=now,
            )
        )
        notify(member.id, NOTE_SOLD_OUT, title=tier.name, url=url("membership.mine", "/"))
    db.session.commit()
    log.warning("membership order %s paid after the tier sold out: refund it", order.public_id)
    return None


def take_back(order: Any, refund: Any = None, now: datetime | None = None) -> Subscription | None:
    """``forum_payment_refunded``: take back what a refunded order of this plugin bought.
    Setting ``refund_mode`` ``all``: access ends now. ``unused``: ``paid_until`` moves back
    by the refunded share of the order's period (half the money back, half the period
    gone). Applies only what was not yet applied (``order.refunded_cents`` against the
    purchase's), so a repeated call changes nothing."""
    tier_id = order_tier_id(order)
    if tier_id is None:
        return None
    now = now or utcnow()
    begin_write()
    purchase = locked(Purchase, Purchase.order_id == order.id)
    if purchase is None:
        db.session.rollback()
        return None
    if purchase.period_to is not None and purchase.period_to <= purchase.period_from:
        purchase.refunded_cents = int(order.refunded_cents or 0)  # it granted nothing
        purchase.refunded = purchase.refunded_cents >= order.amount_cents
        db.session.commit()
        return None
    member = db.session.get(Member, purchase.member_id)
    sub = _lock_subscription(purchase.member_id, purchase.tier_id, "payment", now)
    new_cents = int(order.refunded_cents or 0) - purchase.refunded_cents
    if new_cents <= 0:
        db.session.rollback()
        return sub
    purchase.refunded_cents += new_cents
    purchase.refunded = purchase.refunded_cents >= order.amount_cents
    ends_now = settings()["refund_mode"] == "all" or (
        purchase.period_to is None and purchase.refunded
    )
    if ends_now:
        if sub.status == "active":
            _release_seat(sub.tier_id)
        sub.status = "refunded"
        sub.paid_until = min(sub.paid_until or now, now)
    elif purchase.period_to is not None and sub.paid_until is not None:
        length = purchase.period_to - purchase.period_from
        share = timedelta(
            microseconds=length // timedelta(microseconds=1) * new_cents // order.amount_cents
        )
        sub.paid_until -= share
        if sub.paid_until <= now and purchase.refunded and sub.status == "active":
            _release_seat(sub.tier_id)
            sub.status = "refunded"
    db.session.commit()
    tier = db.session.get(Tier, purchase.tier_id)
    if tier is not None and member is not None:
        sync_groups(member, tier.group_ids, now)
    return sub


# -- jobs -------------------------------------------------------------------------------------


def send_reminders(now: datetime | None = None) -> int:
    """Remind members whose ``paid_until`` is within ``remind_days`` (a notification and
    an e-mail), once per ``paid_until``; the number reminded. Commits."""
    now = now or utcnow()
    days = int(settings()["remind_days"] or 0)
    if days <= 0:
        return 0
    subs = list(
        db.session.execute(
            select(Subscription).where(
                Subscription.status == "active",
                Subscription.paid_until.is_not(None),
                Subscription.paid_until > now,
                Subscription.paid_until <= now + timedelta(days=days),
                (Subscription.reminded_until.is_(None))
                | (Subscription.reminded_until != Subscription.paid_until),
            )
        ).scalars()
    )
    site_url = url("membership.mine", "/membership/mine", _external=True)
    for sub in subs:
        member = db.session.get(Member, sub.member_id)
        sub.reminded_until = sub.paid_until
        notify(
            member.id,
            NOTE_REMINDER,
            title=sub.tier.name,
            url=url("membership.mine", "/membership/mine"),
            data={"until": sub.paid_until.isoformat()},
        )
        with force_locale(member.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")):
            subject = _("Your membership “%(tier)s” ends soon", tier=sub.tier.name)
            body = _(
                "Your membership “%(tier)s” is paid until %(date)s (UTC). Renew it here: %(url)s",
                tier=sub.tier.name,
                date=sub.paid_until.strftime("%Y-%m-%d %H:%M"),
                url=site_url,
            )
        db.session.commit()
        try:
            mail.send_mail(member.email, subject, body)
        except Exception:  # noqa: BLE001 (a mail server down must not stop the others)
            log.exception("membership reminder mail to member %s failed", member.id)
    return len(subs)


def expire(now: datetime | None = None) -> int:
    """Mark subscriptions past ``paid_until`` + grace as ended and free their seats (their
    group memberships have expired by themselves already); the number ended. Commits."""
    now = now or utcnow()
    begin_write()
    subs = list(
        db.session.execute(
            select(Subscription)
            .where(
                Subscription.status == "active",
                Subscription.paid_until.is_not(None),
                Subscription.paid_until <= now - grace(),
            )
            .with_for_update(of=Subscription)
        ).scalars()
    )
    for sub in subs:
        sub.status = "ended"
        _release_seat(sub.tier_id)
    db.session.commit()
    return len(subs)
