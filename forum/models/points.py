"""The points ledger: append-only entries, cached balances and escrows.

Rows of :class:`PointEntry` are never updated or deleted by the forum: they are the truth.
:class:`PointBalance` caches each member's balance per currency (one row per member and
currency, changed in the same transaction as the entry that moves it).
:class:`PointEscrow` holds points taken from a payer until they are released to a recipient
or refunded. The rules live in :mod:`forum.services.points`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.extensions import db
from forum.models.base import utcnow
from forum.models.members import Member

ESCROW_STATUSES = ("held", "released", "refunded")


class PointBalance(db.Model):
    """A member's balance in one currency: the sum of their entries' deltas, never negative."""

    __tablename__ = "point_balance"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance"),)

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(20), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)


class PointEscrow(db.Model):
    """Points taken from ``payer`` and held until released to a recipient or refunded."""

    __tablename__ = "point_escrow"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("status IN ('held', 'released', 'refunded')", name="status"),
        Index("ix_point_escrow_reference", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    currency: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="held")
    reason: Mapped[str] = mapped_column(String(80))
    reference: Mapped[str] = mapped_column(String(120), default="")
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]

    @property
    def is_held(self) -> bool:
        """True until the escrow is released or refunded."""
        return self.status == "held"


class PointEntry(db.Model):
    """One change of one member's balance. ``balance_after`` is the balance it left.

    ``counterparty_id`` is the other member of a transfer or escrow release; ``escrow_id``
    links the entries that take, release or refund an escrow.
    """

    __tablename__ = "point_entry"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta"),
        CheckConstraint("balance_after >= 0", name="balance_after"),
        Index("ix_point_entry_history", "member_id", "currency", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    currency: Mapped[str] = mapped_column(String(20))
    delta: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(80))
    reference: Mapped[str] = mapped_column(String(120), default="")
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    counterparty_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL")
    )
    escrow_id: Mapped[int | None] = mapped_column(
        ForeignKey("point_escrow.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    counterparty: Mapped[Member | None] = relationship(lazy="raise", foreign_keys=[counterparty_id])
