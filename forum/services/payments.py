"""Payments: orders, their state machine, providers' notifications, refunds, manual transfers.

**Orders.** A plugin selling something calls :func:`create_order` (amount in integer cents,
ISO currency, the owning ``plugin`` and its ``reference``, an idempotency key: the same key
gives the same order) and sends the member to the checkout page
(``url_for("payments.checkout", public_id=order.public_id)``). The status moves::

    pending ──► paid ──► partially_refunded ──► refunded
       │          ▲
       ├► cancelled ┤   (money that arrives for a closed order is still taken: an admin
       └► expired ──┘    may refund it)

**Paying.** :func:`mark_paid` is the one way an order becomes paid, whoever says so: a
verified gateway notification (:func:`handle_notification`), an admin confirming a manual
transfer (:func:`confirm_manual`), the sandbox (:func:`sandbox_pay`). It locks the order's
row (``SELECT … FOR UPDATE``; SQLite's write lock through ``begin_write``), refuses an
amount or currency other than the order's (logged as a ``notification_rejected`` event,
the order untouched), and pays an order once: a second call is logged as ``duplicate`` and
returns False. After the commit, ``forum_payment_succeeded(order)`` runs for the enabled
plugins, exactly once per order; ``delivered_at`` records that it ran cleanly, and
:func:`redeliver` (a periodic job) calls it again for orders whose delivery failed.

**Refunds** (:func:`refund`, admins) never exceed what is left: the amount is reserved on
the order under its row lock before the gateway is asked (a ``CHECK`` on
``refunded_cents <= amount_cents`` is the last line of defence), and given back to the
order when the gateway refuses.

**Events.** Everything that happens to an order is a :class:`~forum.models.PaymentEvent`
row, append-only. A notification's ``(provider, provider_event_id)`` is unique, so the
same gateway event is paid at most once even without the order lock.

Every refusal raises :class:`~forum.services.errors.ServiceError` (or ``NotFound`` /
``PermissionDenied``) and changes nothing, except that rejected notifications and payment
attempts are logged as events (that is what the log is for).
"""

from __future__ import annotations

import inspect
import logging
import re
import secrets
import string
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError

from forum import payments as registry
from forum import plugins
from forum.extensions import db
from forum.models import (
    ManualSubmission,
    Member,
    PaymentEvent,
    PaymentOrder,
    PaymentProviderConfig,
    PaymentRefund,
    Upload,
)
from forum.models.base import utcnow
from forum.models.payments import ORDER_STATUSES, PAID_STATUSES
from forum.payments.base import Checkout, IncomingRequest, ProviderError, SignatureError
from forum.services import notifications, permissions
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.services.paging import page_count
from forum.services.spreadsheets import BOM, csv_line, money_cell
from forum.services.writes import begin_write

__all__ = [
    "MAX_AMOUNT",
    "cancel",
    "check_with_gateway",
    "checkout_providers",
    "confirm_manual",
    "create_order",
    "enable_provider",
    "expire_pending",
    "format_money",
    "get_order",
    "get_submission",
    "handle_notification",
    "is_expired",
    "manual_queue",
    "manual_submissions",
    "mark_paid",
    "notify_url",
    "order_detail",
    "orders",
    "orders_csv",
    "provider_enabled",
    "provider_settings",
    "receipts",
    "redeliver",
    "refund",
    "refunds_of",
    "register_jobs",
    "reject_manual",
    "rejected_notifications",
    "sandbox_pay",
    "unavailable_reason",
    "save_provider",
    "start_checkout",
    "submit_manual",
]

log = logging.getLogger("forum.payments")

#: The largest order: ten million in any currency's main unit.
MAX_AMOUNT = 10**9
#: How order lists are sorted.
NEWEST_FIRST = (PaymentOrder.created_at.desc(), PaymentOrder.id.desc())
#: Orders a page of the admin list, receipts and the manual queue show.
PER_PAGE = 30
#: How long a rejected manual transfer's order stays open for another try.
RETRY_WINDOW = timedelta(minutes=30)
#: Orders paid longer ago than this whose delivery has not succeeded are delivered again.
REDELIVER_AFTER = timedelta(minutes=1)

#: Characters of an order's public id: letters and digits only (Alipay's out_trade_no
#: allows no "-"; WeChat Pay's and Stripe's rules are wider).
PUBLIC_ID_ALPHABET = string.ascii_letters + string.digits
PUBLIC_ID_LENGTH = 20

_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_KEY_RE = re.compile(r"\S{1,160}")
_PLUGIN_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_SYMBOLS = {"CNY": "¥", "USD": "US$", "EUR": "€", "GBP": "£", "HKD": "HK$", "TWD": "NT$"}
_ZERO_DECIMAL = {"JPY", "KRW"}


# --- money --------------------------------------------------------------------------------


def format_money(cents: int, currency: str = "CNY") -> str:
    """An amount for people: ``format_money(9900) == "¥99.00"``, ``"US$5.00"`` for USD
    cents, ``"CHF 5.00"`` for a currency without a symbol here."""
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    whole = currency in _ZERO_DECIMAL
    number = f"{cents:,}" if whole else f"{cents // 100:,}.{cents % 100:02d}"
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{currency} {number}"


def _check_amount(amount: object, field: str = "amount_cents") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise ServiceError(_("The amount must be more than zero."), field)
    return amount


def _new_public_id() -> str:
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


# --- reading ------------------------------------------------------------------------------


def _order_by_public_id(public_id: str, *, lock: bool = False) -> PaymentOrder | None:
    query = select(PaymentOrder).where(PaymentOrder.public_id == str(public_id)[:32])
    if lock:
        query = query.with_for_update(of=PaymentOrder).execution_options(populate_existing=True)
    return db.session.execute(query).unique().scalar_one_or_none()


def _lock(order: PaymentOrder) -> PaymentOrder:
    """Take the order's row lock (and SQLite's write lock) and reload it."""
    begin_write()
    locked = db.session.execute(
        select(PaymentOrder)
        .where(PaymentOrder.id == order.id)
        .with_for_update(of=PaymentOrder)
        .execution_options(populate_existing=True)
    ).unique()
    return locked.scalar_one()


def get_order(public_id: str, viewer: Member | None) -> PaymentOrder:
    """The order ``public_id`` for its owner or an admin; NotFound for anyone else."""
    order = _order_by_public_id(public_id)
    if order is None or viewer is None:
        raise NotFound(_("There is no such order."))
    if order.member_id != viewer.id and not permissions.is_admin(viewer):
        raise NotFound(_("There is no such order."))
    return order


def _own_order(member: Member | None, order: PaymentOrder) -> None:
    if member is None or order.member_id != member.id:
        raise NotFound(_("There is no such order."))


def is_expired(order: PaymentOrder, now: datetime | None = None) -> bool:
    """True when a pending order's time ran out (expired or about to be marked so)."""
    if order.status == "expired":
        return True
    return (
        order.status == "pending"
        and order.expires_at is not None
        and order.expires_at <= (now or utcnow())
    )


def _refuse_unpayable(order: PaymentOrder) -> None:
    """ServiceError unless the order may still be paid by the member."""
    if order.status in PAID_STATUSES:
        raise ServiceError(_("This order is already paid."))
    if order.status == "cancelled":
        raise ServiceError(_("This order was cancelled."))
    if is_expired(order):
        raise ServiceError(_("This order expired. Please start again."))


def _event(order: PaymentOrder | None, kind: str, **fields: Any) -> PaymentEvent:
    event = PaymentEvent(
        order_id=order.id if order is not None else None,
        kind=kind,
        created_at=utcnow(),
        data=fields.pop("data", None) or {},
        **fields,
    )
    db.session.add(event)
    return event


def _all(query) -> list:
    """Every row of a one-entity ``select`` (joined relationships made unique)."""
    return list(db.session.execute(query).unique().scalars().all())


def _paged(model: Any, where: Any, order_by: tuple, page: int) -> tuple[list, int]:
    """One page (:data:`PER_PAGE` rows) of ``model`` rows and the number of pages."""
    total = db.session.execute(select(func.count()).select_from(model).where(where)).scalar_one()
    query = select(model).where(where).order_by(*order_by)
    rows = _all(query.limit(PER_PAGE).offset((max(1, page) - 1) * PER_PAGE))
    return rows, page_count(total, PER_PAGE)


# --- orders -------------------------------------------------------------------------------


def create_order(
    member: Member,
    *,
    plugin: str,
    reference: str,
    description: str,
    amount_cents: int,
    currency: str = "CNY",
    idempotency_key: str,
    expires_in: timedelta | None = timedelta(minutes=30),
    data: dict[str, Any] | None = None,
) -> PaymentOrder:
    """A new pending order for ``member`` (commits), after ``forum_before_payment`` allowed it.

    ``plugin`` owns the order (its hooks deliver it), ``reference`` says what is sold
    (≤ 80 characters, ``"tier:3"``), ``description`` is shown on the receipt and to the
    gateway (cut to 120). The order keeps ``amount_cents`` whatever the price becomes.
    The same ``idempotency_key`` returns the order made with it (two tabs, a double
    click); the key with another member, plugin, reference, amount or currency is a
    ServiceError. ``expires_in`` None: the order never expires.
    """
    _check_amount(amount_cents)
    if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency):
        raise ValueError(f"bad currency code: {currency!r}")
    if not isinstance(plugin, str) or not _PLUGIN_RE.fullmatch(plugin):
        raise ValueError(f"bad plugin name: {plugin!r}")
    if not isinstance(reference, str) or len(reference) > 80:
        raise ValueError(f"a reference has at most 80 characters: {reference!r}")
    if not isinstance(idempotency_key, str) or not _KEY_RE.fullmatch(idempotency_key):
        raise ValueError(f"bad idempotency key: {idempotency_key!r}")

    def same_key() -> PaymentOrder | None:
        existing = db.session.execute(
            select(PaymentOrder).where(PaymentOrder.idempotency_key == idempotency_key)
        ).scalar_one_or_none()
        if existing is None:
            return None
        wanted = (member.id, plugin, reference, amount_cents, currency)
        found = (
            existing.member_id,
            existing.plugin,
            existing.reference,
            existing.amount_cents,
            existing.currency,
        )
        if wanted != found:
            raise ServiceError(_("This order key was already used for a different order."))
        return existing

    existing = same_key()
    if existing is not None:
        return existing
    now = utcnow()
    order = PaymentOrder(
        public_id=_new_public_id(),
        member_id=member.id,
        member=member,  # for forum_before_payment (the order is not in the session yet)
        plugin=plugin,
        reference=reference,
        description=(description or "")[:120],
        amount_cents=amount_cents,
        currency=currency,
        status="pending",
        idempotency_key=idempotency_key,
        refunded_cents=0,
        data=dict(data or {}),
        created_at=now,
        expires_at=now + expires_in if expires_in is not None else None,
    )
    plugins.check_before("forum_before_payment", member=member, order=order)
    begin_write()
    try:
        with db.session.begin_nested():
            db.session.add(order)
            db.session.flush()
            _event(order, "created", amount_cents=amount_cents, currency=currency)
            db.session.flush()
    except IntegrityError:
        existing = same_key()  # a concurrent request with the same key won
        if existing is None:
            raise
        db.session.commit()
        return existing
    db.session.commit()
    return order


def _enabled_configs() -> dict[str, PaymentProviderConfig]:
    rows = db.session.execute(select(PaymentProviderConfig)).scalars()
    return {row.name: row for row in rows}


def unavailable_reason(provider: Any, settings: Mapping[str, Any] | None = None) -> str | None:
    """Why ``provider`` cannot be used (None: it can), judged with its ``settings`` when
    its ``available`` takes them (the gateways check that their keys are complete)."""
    if settings is not None:
        try:
            parameters = inspect.signature(provider.available).parameters
        except (TypeError, ValueError):
            parameters = {}
        if parameters:
            return provider.available(settings)
    return provider.available()


def checkout_providers() -> list[tuple[str, str]]:
    """(name, label) of the providers a member may pay with now: enabled, and available
    with their stored settings, in the registry's order."""
    configs = _enabled_configs()
    out = []
    for name in registry.PROVIDERS:
        config = configs.get(name)
        if config is None or not config.enabled:
            continue
        provider = registry.get_provider(name)
        if unavailable_reason(provider, dict(config.settings or {})) is None:
            out.append((name, str(provider.label)))
    return out


def _usable_provider(name: str):
    if name not in dict(checkout_providers()):
        raise ServiceError(_("This way of paying is not available."), "provider")
    return registry.get_provider(name)


def notify_url(provider_name: str) -> str:
    """The webhook address a gateway is given for ``provider_name``."""
    return current_app.config["SITE_URL"].rstrip("/") + f"/payments/notify/{provider_name}"


def start_checkout(
    member: Member, order: PaymentOrder, provider_name: str, *, return_url: str
) -> Checkout:
    """Start paying ``order`` (the member's own, pending, not expired) with a provider;
    records the provider on the order and a ``checkout`` event. What the member does next
    comes back as a :class:`~forum.payments.base.Checkout`."""
    _own_order(member, order)
    _refuse_unpayable(order)
    provider = _usable_provider(provider_name)
    try:
        checkout = provider.checkout(
            order,
            provider_settings(provider_name),
            notify_url=notify_url(provider_name),
            return_url=return_url,
        )
    except Exception as exc:  # ProviderError, or the network: the member may try again
        log.warning("checkout of %s with %s failed: %r", order.public_id, provider_name, exc)
        raise ServiceError(_("The payment could not be started. Please try again.")) from None
    order = _lock(order)
    try:
        _refuse_unpayable(order)
    except ServiceError:
        db.session.rollback()
        raise
    order.provider = provider_name
    _event(order, "checkout", provider=provider_name, data={"kind": checkout.kind})
    db.session.commit()
    return checkout


def cancel(member: Member, order: PaymentOrder) -> PaymentOrder:
    """Cancel a pending order (its owner or an admin). A paid, expired or cancelled order
    is refused."""
    if member is None or (order.member_id != member.id and not permissions.is_admin(member)):
        raise NotFound(_("There is no such order."))
    order = _lock(order)
    if order.status != "pending":
        db.session.rollback()
        if order.status in PAID_STATUSES:
            raise ServiceError(_("A paid order cannot be cancelled."))
        raise ServiceError(_("This order is already closed."))
    now = utcnow()
    order.status = "cancelled"
    order.closed_at = now
    _event(order, "cancelled", actor_id=member.id)
    db.session.commit()
    return order


def expire_pending(now: datetime | None = None) -> int:
    """Mark pending orders whose time ran out as expired (a periodic job); how many."""
    now = now or utcnow()
    due = _all(
        select(PaymentOrder)
        .where(
            PaymentOrder.status == "pending",
            PaymentOrder.expires_at <= now,
            PaymentOrder.provider.is_not(None),
            PaymentOrder.provider.not_in(_NO_GATEWAY),
        )
        .limit(50)
    )
    for order in due:  # money that arrived without its notification is taken, not expired
        check_with_gateway(order)
    begin_write()
    table = PaymentOrder.__table__
    ids = db.session.execute(
        update(table)
        .where(table.c.status == "pending", table.c.expires_at <= now)
        .values(status="expired", closed_at=now)
        .returning(table.c.id)
    ).scalars()
    count = 0
    for order_id in ids.all():
        db.session.add(PaymentEvent(order_id=order_id, kind="expired", created_at=now, data={}))
        count += 1
    db.session.commit()
    return count


# --- paying -------------------------------------------------------------------------------


def _reject(
    order: PaymentOrder | None, provider: str, note: str, *, data: dict | None = None
) -> None:
    """Log a refused payment or notification in a transaction of its own."""
    db.session.rollback()
    log.warning(
        "payment rejected (%s, order %s): %s",
        provider,
        order.public_id if order else "?",
        note,
    )
    _event(order, "notification_rejected", provider=provider, note=note[:500], data=data)
    db.session.commit()


def _notice(member_id: int, text_for, url: str, title: str) -> None:
    """A ``notice`` notification worded in the member's language."""
    member = db.session.get(Member, member_id)
    if member is None:
        return
    with force_locale(member.locale or current_app.config.get("BABEL_DEFAULT_LOCALE")):
        text = text_for()
    notifications.notify(member_id, "notice", title=title[:200], url=url, data={"text": text})


def mark_paid(
    public_id: str,
    *,
    provider: str,
    provider_ref: str,
    amount_cents: int,
    currency: str,
    event_id: str,
    actor: Member | None = None,
    note: str = "",
) -> bool:
    """Record that the money for order ``public_id`` arrived; True when this call paid it.

    ``amount_cents`` and ``currency`` must be the order's: otherwise a
    ``notification_rejected`` event is logged, the order is untouched and ServiceError is
    raised (also for an unknown order). An order already paid gets a ``duplicate`` event
    and False. A cancelled or expired order is paid anyway (the money arrived; the event
    says so and an admin may refund). After the commit, ``forum_payment_succeeded`` runs
    once (see :func:`_deliver`).
    """
    begin_write()
    order = _order_by_public_id(public_id, lock=True)
    details = {
        "event_id": str(event_id)[:160],
        "amount_cents": amount_cents,
        "currency": currency,
        "provider_ref": str(provider_ref)[:120],
    }
    if order is None:
        _reject(None, provider, f"unknown order {public_id!r}", data=details)
        raise ServiceError(_("There is no such order."))
    if amount_cents != order.amount_cents or currency != order.currency:
        _reject(
            order,
            provider,
            f"amount {amount_cents} {currency} differs from the order's "
            f"{order.amount_cents} {order.currency}",
            data=details,
        )
        raise ServiceError(_("The amount paid does not match the order."))
    if order.status in PAID_STATUSES:
        same = order.provider == provider and order.provider_ref == details["provider_ref"]
        _event(
            order,
            "duplicate",
            provider=provider,
            amount_cents=amount_cents,
            currency=currency,
            actor_id=actor.id if actor else None,
            note=(note or ("" if same else "paid again: a second payment may need a refund"))[:500],
            data=details,
        )
        db.session.commit()
        return False
    now = utcnow()
    was = order.status
    order.status = "paid"
    order.provider = provider
    order.provider_ref = details["provider_ref"]
    order.paid_at = now
    if was != "pending":
        note = (f"paid after the order was {was}. " + note).strip()
    _event(
        order,
        "paid",
        provider=provider,
        provider_event_id=details["event_id"],
        amount_cents=amount_cents,
        currency=currency,
        actor_id=actor.id if actor else None,
        note=note[:500],
        data={"was": was, "provider_ref": details["provider_ref"]},
    )
    money = format_money(order.amount_cents, order.currency)
    _notice(
        order.member_id,
        lambda: _(
            "Payment received: %(money)s for “%(what)s”.", money=money, what=order.description
        ),
        f"/pay/{order.public_id}/done",
        order.description,
    )
    try:
        db.session.commit()
    except IntegrityError:  # this provider event was already used (for another order)
        _reject(order, provider, f"provider event {event_id!r} was already used", data=details)
        raise ServiceError(_("This payment was already recorded.")) from None
    _deliver(order)
    return True


def _deliver(order: PaymentOrder) -> bool:
    """Run ``forum_payment_succeeded(order)`` for the enabled plugins; set ``delivered_at``
    when every one returned cleanly (a failing one is logged and its work rolled back)."""
    clean = True
    manager = plugins.manager()
    for name, impl in manager.impls("forum_payment_succeeded", plugins.enabled_names()):
        try:
            impl.function(*[{"order": order}[arg] for arg in impl.argnames])
            db.session.commit()
        except Exception:
            log.exception("plugin %s: forum_payment_succeeded for %s failed", name, order.public_id)
            db.session.rollback()
            clean = False
    if clean:
        db.session.execute(
            update(PaymentOrder).where(PaymentOrder.id == order.id).values(delivered_at=utcnow())
        )
        db.session.commit()
    return clean


def redeliver() -> int:
    """Run the delivery hook again for paid orders whose delivery failed (periodic job);
    how many were delivered cleanly now."""
    cutoff = utcnow() - REDELIVER_AFTER
    rows = _all(
        select(PaymentOrder)
        .where(
            PaymentOrder.status == "paid",
            PaymentOrder.delivered_at.is_(None),
            PaymentOrder.paid_at <= cutoff,
        )
        .order_by(PaymentOrder.id)
        .limit(100)
    )
    return sum(1 for order in rows if _deliver(order))


def handle_notification(
    provider_name: str, request: IncomingRequest
) -> tuple[int, str | bytes, dict[str, str]]:
    """A gateway's asynchronous notification: verify it, pay the order, answer the gateway.

    A signature that does not verify (or a provider that is not enabled) is logged as a
    ``notification_rejected`` event with the reason and answered as the provider's
    ``acknowledge(False)``; the order is untouched. A verified payment goes through
    :func:`mark_paid` (so ten deliveries pay once); a verified notification of something
    else is acknowledged and ignored.
    """
    try:
        provider = registry.get_provider(provider_name)
    except KeyError:
        return 404, "unknown provider", {}
    config = db.session.get(PaymentProviderConfig, provider_name)
    if config is None or not config.enabled:
        _reject(None, provider_name, "notification for a provider that is not enabled")
        return provider.acknowledge(False)
    try:
        notification = provider.verify_notification(dict(config.settings or {}), request)
    except SignatureError as exc:
        _reject(None, provider_name, f"signature: {exc}")
        return provider.acknowledge(False)
    except Exception as exc:  # a bug in the provider's code: refuse, keep the details
        log.exception("%s: verifying a notification failed", provider_name)
        _reject(None, provider_name, f"verification failed: {type(exc).__name__}: {exc}")
        return provider.acknowledge(False)
    if not notification.paid:
        return provider.acknowledge(True)
    try:
        mark_paid(
            notification.public_id,
            provider=provider_name,
            provider_ref=notification.provider_ref,
            amount_cents=notification.amount_cents,
            currency=notification.currency,
            event_id=notification.event_id,
        )
    except ServiceError:
        return provider.acknowledge(False)
    return provider.acknowledge(True)


#: Providers without a gateway to ask.
_NO_GATEWAY = frozenset({"manual", "sandbox"})


def check_with_gateway(order: PaymentOrder) -> bool:
    """Ask the order's gateway whether a pending order was paid (a notification may be late
    or lost); pay it when so. True when this call paid it. Gateway errors are logged and
    answer False; an order without a gateway (manual, sandbox, none chosen) is not asked."""
    if order.status != "pending" or not order.provider or order.provider in _NO_GATEWAY:
        return False
    if order.provider not in registry.PROVIDERS or not provider_enabled(order.provider):
        return False
    provider = registry.get_provider(order.provider)
    try:
        found = provider.query(order, provider_settings(order.provider))
    except Exception as exc:  # the network, the gateway, a bug: the notification may still come
        log.warning("query of %s at %s failed: %s", order.public_id, order.provider, exc)
        return False
    if found is None or not found.paid or found.public_id != order.public_id:
        return False
    try:
        return mark_paid(
            order.public_id,
            provider=order.provider,
            provider_ref=found.provider_ref,
            amount_cents=found.amount_cents,
            currency=found.currency,
            event_id=found.event_id,
            note="found by querying the gateway",
        )
    except ServiceError:
        return False


def sandbox_pay(member: Member, order: PaymentOrder, succeed: bool = True) -> bool:
    """Pay (or fail to pay) the member's order with pretend money; True when it was paid.

    Refused unless the configuration's ``PAYMENTS_SANDBOX`` is on and the sandbox provider
    is enabled, and for an order that may not be paid (paid, cancelled, expired).
    """
    if not current_app.config.get("PAYMENTS_SANDBOX"):
        raise PermissionDenied(_("The sandbox is switched off on this site."))
    _own_order(member, order)
    _usable_provider("sandbox")
    _refuse_unpayable(order)
    if not succeed:
        order = _lock(order)
        _event(order, "checkout", provider="sandbox", actor_id=member.id, note="sandbox: failed")
        db.session.commit()
        return False
    return _paid_in_full(order, "sandbox", f"sandbox:{order.public_id}", member)


def _paid_in_full(order: PaymentOrder, provider: str, ref: str, actor: Member) -> bool:
    """:func:`mark_paid` for money we know is the order's (sandbox, a confirmed transfer):
    ``ref`` is both the provider's reference and the event id."""
    return mark_paid(
        order.public_id,
        provider=provider,
        provider_ref=ref,
        amount_cents=order.amount_cents,
        currency=order.currency,
        event_id=ref,
        actor=actor,
    )


# --- refunds ------------------------------------------------------------------------------


def _require_admin(actor: Member | None) -> None:
    if not permissions.is_admin(actor):
        raise PermissionDenied(_("Only administrators may do this."))


def _refund_by_key(key: str) -> PaymentRefund | None:
    return db.session.execute(
        select(PaymentRefund).where(PaymentRefund.idempotency_key == key)
    ).scalar_one_or_none()


def _status_after_refunds(order: PaymentOrder) -> str:
    if order.refunded_cents <= 0:
        return "paid"
    return "refunded" if order.refunded_cents >= order.amount_cents else "partially_refunded"


def refund(
    actor: Member,
    order: PaymentOrder,
    amount_cents: int,
    reason: str,
    idempotency_key: str,
) -> PaymentRefund:
    """Give ``amount_cents`` of a paid order back (admins); at most what is left.

    The amount is reserved on the order under its row lock (a ``pending`` refund), then
    the provider is asked (gateways refund for real; manual and sandbox refunds are
    recorded as done, the owner gives manual transfers back by hand). A gateway's refusal
    (ProviderError) returns the reservation (the refund ``failed``) and raises
    ServiceError. When the gateway cannot be reached the outcome is unknown: the refund
    stays ``pending`` (its amount reserved) and ServiceError asks to try again; the same
    ``idempotency_key`` then asks the gateway again with the same refund key (gateways
    refund one key once). Otherwise the same key returns the first refund. After the
    commit ``forum_payment_refunded(order, refund)`` runs for the enabled plugins, once.
    """
    _require_admin(actor)
    return _refund(actor, order, amount_cents, reason, idempotency_key)


def plugin_refund(
    plugin: str, order: PaymentOrder, amount_cents: int, reason: str, idempotency_key: str
) -> PaymentRefund:
    """Give ``amount_cents`` of one of ``plugin``'s own paid orders back, with no admin
    behind it: a plugin's automatic refund (a failed group-buy, a price that dropped).

    The same rules as :func:`refund`: never more than is left, the same ``idempotency_key``
    gives the same refund (two settlement runs make one refund), a pending refund whose
    gateway could not be reached is asked again with its key. The refund is recorded with
    no actor. ValueError for an order of another plugin (a programming error);
    ServiceError as :func:`refund`.
    """
    if order.plugin != plugin:
        raise ValueError(f"order {order.public_id} belongs to {order.plugin!r}, not {plugin!r}")
    return _refund(None, order, amount_cents, reason, idempotency_key)


def _refund(
    actor: Member | None,
    order: PaymentOrder,
    amount_cents: int,
    reason: str,
    idempotency_key: str,
) -> PaymentRefund:
    """:func:`refund` after its permission check (``actor`` None: a plugin's refund)."""
    if not isinstance(idempotency_key, str) or not _KEY_RE.fullmatch(idempotency_key):
        raise ValueError(f"bad idempotency key: {idempotency_key!r}")
    row = _refund_by_key(idempotency_key)
    if row is not None:
        if row.order_id != order.id or row.amount_cents != amount_cents:
            raise ServiceError(_("This refund key was already used for a different refund."))
        if row.status != "pending":
            return row
    else:
        row = _reserve_refund(actor, order, amount_cents, reason, idempotency_key)
        if row.status != "pending":
            return row
    return _settle_refund(actor, db.session.get(PaymentOrder, row.order_id), row)


def _reserve_refund(
    actor: Member | None, order: PaymentOrder, amount_cents: int, reason: str, key: str
) -> PaymentRefund:
    """Phase one of :func:`refund`: a pending refund whose amount the order counts."""
    _check_amount(amount_cents, "amount")
    order = _lock(order)
    if order.status not in PAID_STATUSES:
        db.session.rollback()
        raise ServiceError(_("Only a paid order can be refunded."), "amount")
    if amount_cents > order.amount_cents - order.refunded_cents:
        left = format_money(order.amount_cents - order.refunded_cents, order.currency)
        db.session.rollback()
        raise ServiceError(_("At most %(left)s can still be refunded.", left=left), "amount")
    row = PaymentRefund(
        order_id=order.id,
        amount_cents=amount_cents,
        reason=(reason or "").strip()[:500],
        status="pending",
        actor_id=actor.id if actor else None,
        idempotency_key=key,
        created_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
            order.refunded_cents += amount_cents
            order.status = _status_after_refunds(order)
            db.session.flush()
    except IntegrityError:  # a concurrent request with the same key won
        db.session.rollback()
        existing = _refund_by_key(key)
        if existing is None:
            raise
        return existing
    db.session.commit()
    return row


def _lock_refund(order: PaymentOrder, row: PaymentRefund) -> tuple[PaymentOrder, PaymentRefund]:
    order = _lock(order)
    row = (
        db.session.execute(
            select(PaymentRefund)
            .where(PaymentRefund.id == row.id)
            .with_for_update(of=PaymentRefund)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one()
    )
    return order, row


def _settle_refund(actor: Member | None, order: PaymentOrder, row: PaymentRefund) -> PaymentRefund:
    """Phase two of :func:`refund`: ask the provider, then record what it said."""
    provider = registry.get_provider(order.provider) if order.provider else None
    settings = provider_settings(order.provider) if order.provider else {}
    try:
        provider_refund_id = (
            provider.refund(order, row.amount_cents, row.idempotency_key, settings)
            if provider is not None
            else ""
        )
    except ProviderError as exc:
        _refund_failed(order, row, str(exc), undo=True)
        raise ServiceError(
            _("The payment provider refused the refund: %(error)s", error=str(exc)[:200])
        ) from None
    except Exception as exc:  # the network: did the gateway refund? Ask again with the key
        log.exception("refund %s of %s: outcome unknown", row.id, order.public_id)
        _refund_failed(order, row, f"outcome unknown: {type(exc).__name__}: {exc}", undo=False)
        raise ServiceError(
            _("The payment provider could not be reached. Submit the refund again to retry.")
        ) from None
    order, row = _lock_refund(order, row)
    if row.status != "pending":  # a concurrent retry recorded it
        db.session.rollback()
        return row
    row.status = "done"
    row.provider_refund_id = (provider_refund_id or None) and str(provider_refund_id)[:120]
    _event(
        order,
        "refunded",
        provider=order.provider,
        amount_cents=row.amount_cents,
        currency=order.currency,
        actor_id=actor.id if actor else None,
        note=row.reason,
        data={"refund_id": row.id},
    )
    money = format_money(row.amount_cents, order.currency)
    _notice(
        order.member_id,
        lambda: _("Refund: %(money)s for “%(what)s”.", money=money, what=order.description),
        "/settings/receipts",
        order.description,
    )
    db.session.commit()
    plugins.fire("forum_payment_refunded", order=order, refund=row)
    return row


def _refund_failed(order: PaymentOrder, row: PaymentRefund, error: str, *, undo: bool) -> None:
    """Log a refund the provider did not make; ``undo``: it refused for sure, so the
    amount goes back to the order and the refund is ``failed`` (else it stays pending)."""
    db.session.rollback()
    order, row = _lock_refund(order, row)
    if undo and row.status == "pending":
        order.refunded_cents -= row.amount_cents
        order.status = _status_after_refunds(order)
        row.status = "failed"
    _event(
        order,
        "refund_failed",
        provider=order.provider,
        amount_cents=row.amount_cents,
        currency=order.currency,
        actor_id=row.actor_id,
        note=error[:500],
        data={"refund_id": row.id},
    )
    db.session.commit()


# --- manual transfers ---------------------------------------------------------------------


def submit_manual(
    member: Member, order: PaymentOrder, note: str, upload: Upload | None = None
) -> ManualSubmission:
    """The member says they transferred the money for their pending order, with a note and
    an optional screenshot (an :class:`~forum.models.Upload` saved by
    ``forum.services.uploads.save_image``). The order waits for an admin (it no longer
    expires meanwhile). One submission at a time per order."""
    _own_order(member, order)
    _refuse_unpayable(order)
    _usable_provider("manual")
    note = (note or "").strip()
    if len(note) > 500:
        raise ServiceError(_("At most %(n)d characters.", n=500), "note")
    if not note and upload is None:
        raise ServiceError(_("Say how you paid, or add a screenshot of the transfer."), "note")
    order = _lock(order)
    waiting = db.session.execute(
        select(func.count())
        .select_from(ManualSubmission)
        .where(ManualSubmission.order_id == order.id, ManualSubmission.status == "submitted")
    ).scalar_one()
    if waiting:
        db.session.rollback()
        raise ServiceError(_("Your transfer is already waiting to be confirmed."))
    submission = ManualSubmission(
        order_id=order.id,
        member_id=member.id,
        note=note,
        upload_id=upload.id if upload is not None else None,
        status="submitted",
        created_at=utcnow(),
    )
    db.session.add(submission)
    order.provider = "manual"
    order.expires_at = None
    db.session.flush()
    _event(
        order,
        "manual_submitted",
        provider="manual",
        actor_id=member.id,
        note=note,
        data={"submission_id": submission.id},
    )
    db.session.commit()
    return submission


def get_submission(actor: Member, submission_id: int) -> ManualSubmission:
    """A manual transfer submission (admins)."""
    _require_admin(actor)
    submission = db.session.get(ManualSubmission, submission_id)
    if submission is None:
        raise NotFound(_("There is no such transfer."))
    return submission


def manual_queue(actor: Member, page: int = 1) -> tuple[list[ManualSubmission], int]:
    """Transfers waiting for an admin, oldest first, and the number of pages (admins)."""
    _require_admin(actor)
    where = ManualSubmission.status == "submitted"
    return _paged(ManualSubmission, where, (ManualSubmission.id,), page)


def _lock_submission(submission: ManualSubmission) -> ManualSubmission:
    begin_write()
    return (
        db.session.execute(
            select(ManualSubmission)
            .where(ManualSubmission.id == submission.id)
            .with_for_update(of=ManualSubmission)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one()
    )


def confirm_manual(actor: Member, submission: ManualSubmission) -> bool:
    """An admin confirms that the transfer arrived: the order is paid (provider ``manual``,
    event ``manual:<id>``). True when this paid the order; a submission already reviewed
    is refused."""
    _require_admin(actor)
    submission = _lock_submission(submission)
    if submission.status != "submitted":
        db.session.rollback()
        raise ServiceError(_("This transfer was already reviewed."))
    submission.status = "confirmed"
    submission.reviewer_id = actor.id
    submission.reviewed_at = utcnow()
    order = submission.order
    _event(
        order,
        "manual_confirmed",
        provider="manual",
        actor_id=actor.id,
        data={"submission_id": submission.id},
    )
    db.session.commit()
    return _paid_in_full(order, "manual", f"manual:{submission.id}", actor)


def reject_manual(actor: Member, submission: ManualSubmission, reason: str) -> None:
    """An admin found no such transfer: the submission is rejected with a reason (the member
    is notified) and the order stays open a while for another try."""
    _require_admin(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Please give a reason."), "reason")
    if len(reason) > 500:
        raise ServiceError(_("At most %(n)d characters.", n=500), "reason")
    submission = _lock_submission(submission)
    if submission.status != "submitted":
        db.session.rollback()
        raise ServiceError(_("This transfer was already reviewed."))
    now = utcnow()
    submission.status = "rejected"
    submission.reviewer_id = actor.id
    submission.reviewed_at = now
    submission.reason = reason
    order = submission.order
    if order.status == "pending":
        order.expires_at = now + RETRY_WINDOW
    _event(
        order,
        "manual_rejected",
        provider="manual",
        actor_id=actor.id,
        note=reason,
        data={"submission_id": submission.id},
    )
    _notice(
        submission.member_id,
        lambda: _(
            "Your transfer for “%(what)s” was not confirmed. Reason: %(reason)s",
            what=order.description,
            reason=reason,
        ),
        f"/pay/{order.public_id}",
        order.description,
    )
    db.session.commit()


# --- admin --------------------------------------------------------------------------------


def _order_filters(
    status: str | None,
    plugin: str | None,
    provider: str | None,
    member: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list:
    where = []
    if status:
        if status not in ORDER_STATUSES:
            raise ServiceError(_("Please choose one of the options."), "status")
        where.append(PaymentOrder.status == status)
    if plugin:
        where.append(PaymentOrder.plugin == plugin)
    if provider:
        where.append(PaymentOrder.provider == provider)
    if member:
        member_id = db.session.execute(
            select(Member.id).where(func.lower(Member.username) == member.strip().lower())
        ).scalar_one_or_none()
        where.append(PaymentOrder.member_id == (member_id or -1))
    if since:
        where.append(PaymentOrder.created_at >= since)
    if until:
        where.append(PaymentOrder.created_at < until)
    return where


def orders(
    actor: Member,
    *,
    status: str | None = None,
    plugin: str | None = None,
    provider: str | None = None,
    member: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
) -> tuple[list[PaymentOrder], int]:
    """One page of orders, newest first, with the filters (``member`` is a username;
    ``since`` inclusive, ``until`` exclusive, naive UTC), and the number of pages (admins)."""
    _require_admin(actor)
    where = and_(True, *_order_filters(status, plugin, provider, member, since, until))
    return _paged(PaymentOrder, where, NEWEST_FIRST, page)


CSV_COLUMNS = (
    "order",
    "created_at",
    "paid_at",
    "member",
    "plugin",
    "reference",
    "description",
    "amount",
    "currency",
    "refunded",
    "status",
    "provider",
    "provider_ref",
)


def orders_csv(actor: Member, **filters: Any) -> Iterator[str]:
    """The filtered orders as CSV for a spreadsheet (admins): the first chunk starts with a
    UTF-8 byte order mark and rows end with CRLF, so Excel opens Chinese text right.
    Streams in batches; amounts in the currency's main unit (``99.00``)."""
    _require_admin(actor)
    filters.pop("page", None)
    where = _order_filters(
        filters.get("status"),
        filters.get("plugin"),
        filters.get("provider"),
        filters.get("member"),
        filters.get("since"),
        filters.get("until"),
    )

    def generate() -> Iterator[str]:
        yield BOM + csv_line(CSV_COLUMNS)
        last_id = None
        while True:
            query = (
                select(PaymentOrder, Member.username)
                .join(Member, Member.id == PaymentOrder.member_id)
                .where(*where)
                .order_by(PaymentOrder.id.desc())
                .limit(500)
            )
            if last_id is not None:
                query = query.where(PaymentOrder.id < last_id)
            batch = db.session.execute(query).unique().all()
            if not batch:
                return
            for order, username in batch:
                yield csv_line(
                    (
                        order.public_id,
                        order.created_at.isoformat(sep=" ", timespec="seconds"),
                        order.paid_at.isoformat(sep=" ", timespec="seconds")
                        if order.paid_at
                        else "",
                        username,
                        order.plugin,
                        order.reference,
                        order.description,
                        money_cell(order.amount_cents),
                        order.currency,
                        money_cell(order.refunded_cents),
                        order.status,
                        order.provider or "",
                        order.provider_ref or "",
                    )
                )
            last_id = batch[-1][0].id

    return generate()


def order_detail(
    actor: Member, public_id: str
) -> tuple[PaymentOrder, list[PaymentEvent], list[PaymentRefund], list[ManualSubmission]]:
    """An order with its events (oldest first), refunds and manual submissions (admins)."""
    _require_admin(actor)
    order = _order_by_public_id(public_id)
    if order is None:
        raise NotFound(_("There is no such order."))
    events = _all(
        select(PaymentEvent).where(PaymentEvent.order_id == order.id).order_by(PaymentEvent.id)
    )
    refunds = _all(
        select(PaymentRefund).where(PaymentRefund.order_id == order.id).order_by(PaymentRefund.id)
    )
    submissions = _all(
        select(ManualSubmission)
        .where(ManualSubmission.order_id == order.id)
        .order_by(ManualSubmission.id)
    )
    return order, events, refunds, submissions


def rejected_notifications(actor: Member, limit: int = 50) -> list[PaymentEvent]:
    """The latest rejected notifications that named no known order (admins)."""
    _require_admin(actor)
    return _all(
        select(PaymentEvent)
        .where(PaymentEvent.order_id.is_(None))
        .order_by(PaymentEvent.id.desc())
        .limit(limit)
    )


# --- providers' settings ------------------------------------------------------------------


def provider_settings(name: str) -> Mapping[str, Any]:
    """The stored settings of provider ``name`` (empty when it was never set up)."""
    config = db.session.get(PaymentProviderConfig, name)
    return dict(config.settings or {}) if config is not None else {}


def provider_enabled(name: str) -> bool:
    """Whether the owner switched provider ``name`` on."""
    config = db.session.get(PaymentProviderConfig, name)
    return bool(config and config.enabled)


def _config(name: str) -> PaymentProviderConfig:
    config = db.session.get(PaymentProviderConfig, name)
    if config is None:
        config = PaymentProviderConfig(name=name, enabled=False, settings={}, updated_at=utcnow())
        db.session.add(config)
    return config


def save_provider(
    actor: Member, name: str, *, enabled: bool, settings: Mapping[str, str]
) -> PaymentProviderConfig:
    """Switch a provider on or off and store its settings from the admin form (admins).

    ``settings`` holds the form's text per field of the provider; each is parsed by its
    field (ServiceError on the field's name when one is wrong: nothing is saved). A
    ``secret`` field left empty keeps its stored value. A provider that is not available
    cannot be switched on.
    """
    _require_admin(actor)
    if name not in registry.PROVIDERS:
        raise NotFound(_("There is no such payment provider."))
    provider = registry.get_provider(name)
    reason = provider.available()
    if enabled and reason is not None:
        raise ServiceError(reason, "enabled")
    stored = provider_settings(name)
    values: dict[str, Any] = {}
    for field in provider.fields:
        raw = settings.get(field.name, "")
        if field.type == "secret":
            raw = (raw or "").strip()
            values[field.name] = raw if raw else stored.get(field.name, "")
            continue
        try:
            values[field.name] = field.parse(raw)
        except ValueError as exc:
            raise ServiceError(str(exc), field.name) from None
    for key, value in stored.items():  # values set outside the form (an API base URL)
        values.setdefault(key, value)
    reason = unavailable_reason(provider, values)
    if enabled and reason is not None:
        raise ServiceError(reason, "enabled")
    begin_write()
    config = _config(name)
    config.enabled = bool(enabled)
    config.settings = values
    config.updated_at = utcnow()
    db.session.commit()
    return config


def enable_provider(name: str, settings: Mapping[str, Any] | None = None) -> None:
    """Switch provider ``name`` on (with ``settings`` when given) without an admin: for
    ``forum demo`` and tests."""
    if name not in registry.PROVIDERS:
        raise KeyError(name)
    begin_write()
    config = _config(name)
    config.enabled = True
    if settings is not None:
        config.settings = dict(settings)
    config.updated_at = utcnow()
    db.session.commit()


# --- the member's receipts ----------------------------------------------------------------


def receipts(member: Member, page: int = 1) -> tuple[list[PaymentOrder], int]:
    """One page of the member's own orders, newest first, and the number of pages."""
    where = PaymentOrder.member_id == member.id
    return _paged(PaymentOrder, where, NEWEST_FIRST, page)


def refunds_of(order: PaymentOrder) -> list[PaymentRefund]:
    """The order's refunds that went through, oldest first (the receipt lists them)."""
    return _all(
        select(PaymentRefund)
        .where(PaymentRefund.order_id == order.id, PaymentRefund.status == "done")
        .order_by(PaymentRefund.id)
    )


def manual_submissions(member: Member, order: PaymentOrder) -> list[ManualSubmission]:
    """The member's transfers for their order, newest first (the manual page shows them)."""
    _own_order(member, order)
    return _all(
        select(ManualSubmission)
        .where(ManualSubmission.order_id == order.id)
        .order_by(ManualSubmission.id.desc())
    )


# --- jobs ---------------------------------------------------------------------------------


def register_jobs() -> None:
    """Schedule :func:`expire_pending` and :func:`redeliver` every five minutes (called by
    ``create_app``)."""
    from forum import jobs

    jobs.register_periodic(
        jobs.PeriodicJob(
            "payments-expire",
            expire_pending,
            minute="*/5",
            description="Mark unpaid orders past their time as expired",
        )
    )
    jobs.register_periodic(
        jobs.PeriodicJob(
            "payments-redeliver",
            redeliver,
            minute="*/5",
            description="Deliver paid orders whose delivery failed",
        )
    )
