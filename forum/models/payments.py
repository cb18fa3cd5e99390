"""Payments: orders, their append-only event log, refunds, manual transfers, provider settings.

An order is for an amount in integer cents and an ISO currency, owned by a plugin
(``plugin`` + ``reference`` say what is sold). Its ``status`` moves pending → paid →
partially_refunded / refunded, or pending → cancelled / expired; the rules live in
:mod:`forum.services.payments`. The database holds the invariants it can: a positive
amount, ``0 <= refunded_cents <= amount_cents``, unique public ids and idempotency keys,
and a notification's (provider, provider_event_id) seen once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.extensions import db
from forum.models.base import utcnow
from forum.models.members import Member
from forum.models.uploads import Upload

ORDER_STATUSES = ("pending", "paid", "partially_refunded", "refunded", "cancelled", "expired")
#: Statuses in which money was received.
PAID_STATUSES = ("paid", "partially_refunded", "refunded")
EVENT_KINDS = (
    "created",
    "checkout",
    "paid",
    "refunded",
    "refund_failed",
    "cancelled",
    "expired",
    "manual_submitted",
    "manual_confirmed",
    "manual_rejected",
    "notification_rejected",
    "duplicate",
    "delivered",
)
REFUND_STATUSES = ("done", "failed", "pending")
MANUAL_STATUSES = ("submitted", "confirmed", "rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PaymentOrder(db.Model):
    """Something a member pays for (see the module docstring)."""

    __tablename__ = "payment_order"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount"),
        CheckConstraint("refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refunded"),
        CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
        Index("ix_payment_order_member", "member_id", "created_at"),
        Index("ix_payment_order_status", "status", "created_at"),
        Index("ix_payment_order_reference", "plugin", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    plugin: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(80), default="")
    description: Mapped[str] = mapped_column(String(120), default="")
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_ref: Mapped[str | None] = mapped_column(String(120))
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship(lazy="joined", foreign_keys=[member_id])

    @property
    def is_pending(self) -> bool:
        """Still waiting for money."""
        return self.status == "pending"

    @property
    def is_paid(self) -> bool:
        """Money was received (also when part or all of it was refunded since)."""
        return self.status in PAID_STATUSES

    @property
    def refundable_cents(self) -> int:
        """What may still be refunded."""
        return self.amount_cents - self.refunded_cents if self.is_paid else 0


class PaymentEvent(db.Model):
    """One thing that happened to an order (or a rejected notification): append-only."""

    __tablename__ = "payment_event"
    __table_args__ = (
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        UniqueConstraint("provider", "provider_event_id", name="uq_payment_event_provider_event"),
        Index("ix_payment_event_order", "order_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("payment_order.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_event_id: Mapped[str | None] = mapped_column(String(160))
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(500), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[Member | None] = relationship(lazy="joined", foreign_keys=[actor_id])


class PaymentRefund(db.Model):
    """Money of a paid order given back (in full or in part)."""

    __tablename__ = "payment_refund"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount"),
        CheckConstraint(_in("status", REFUND_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("payment_order.id", ondelete="CASCADE"), index=True
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10), default="done")
    provider_refund_id: Mapped[str | None] = mapped_column(String(120))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[Member | None] = relationship(lazy="joined", foreign_keys=[actor_id])


class ManualSubmission(db.Model):
    """A member's "I have transferred the money" for an order, waiting for an admin."""

    __tablename__ = "payment_manual"
    __table_args__ = (
        CheckConstraint(_in("status", MANUAL_STATUSES), name="status"),
        Index("ix_payment_manual_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("payment_order.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    note: Mapped[str] = mapped_column(String(500), default="")
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("upload.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="submitted")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[PaymentOrder] = relationship(lazy="joined")
    member: Mapped[Member] = relationship(lazy="joined", foreign_keys=[member_id])
    upload: Mapped[Upload | None] = relationship(lazy="joined")


class PaymentProviderConfig(db.Model):
    """A provider's switch and settings (keys, ids, secrets: in the database, not the repo)."""

    __tablename__ = "payment_provider"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
