"""The paid-membership plugin's tables (every one named ``membership_…``).

- :class:`Tier`: what the owner sells (name, price in cents and/or points, a period of days,
  months, years or for life, limited seats) and :class:`TierGroup`, the groups it grants.
- :class:`Subscription`: a member's standing in a tier (``UNIQUE (member_id, tier_id)``):
  paid until when (NULL: for life), reminded about which end.
- :class:`Purchase`: one delivered payment (an order, points or an invite) and the period it
  bought; the unique ``order_id`` / ``points_key`` make delivering it twice a no-op.
- :class:`Question`, :class:`Application`: the entry questions and the applications
  (one pending per member, by a partial unique index).
- :class:`Invite`, :class:`InviteUse`: invite codes, their uses (once per member).
- :class:`Rule`, :class:`Warning`, :class:`Removal`: clearing out — the owner's rules, the
  warnings sent before a removal, the log of removals (restorable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.extensions import db
from forum.models import Group, Member
from forum.models.base import utcnow

#: ``Tier.period_unit``.
PERIOD_UNITS = ("day", "month", "year", "lifetime")
#: ``Subscription.status``.
SUBSCRIPTION_STATES = ("active", "ended", "refunded")
#: ``Subscription.source`` (how the member last got it).
SUBSCRIPTION_SOURCES = ("payment", "points", "invite", "admin", "application")
#: ``Application.status``.
APPLICATION_STATES = ("pending", "approved", "rejected")
#: ``Rule.kind``: no post or check-in for ``threshold`` days; more than ``threshold`` warnings.
RULE_KINDS = ("inactive_days", "warnings_over")
#: ``Warning.status``.
WARNING_STATES = ("pending", "removed", "cancelled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Tier(db.Model):
    """A membership tier: a price for a period, granting groups."""

    __tablename__ = "membership_tier"
    __table_args__ = (
        CheckConstraint(_in("period_unit", PERIOD_UNITS), name="period_unit"),
        CheckConstraint("period_count >= 1", name="period_count"),
        CheckConstraint("price_cents >= 0", name="price"),
        CheckConstraint("points_price IS NULL OR points_price > 0", name="points_price"),
        # The database itself never lets a tier sell more seats than it has.
        CheckConstraint(
            "seats_taken >= 0 AND (seats IS NULL OR seats_taken <= seats)", name="seats"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    perks: Mapped[str] = mapped_column(Text, default="")
    perks_html: Mapped[str] = mapped_column(Text, default="")
    price_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    points_price: Mapped[int | None]
    period_unit: Mapped[str] = mapped_column(String(10), default="year")
    period_count: Mapped[int] = mapped_column(default=1)
    seats: Mapped[int | None]
    seats_taken: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    groups: Mapped[list[Group]] = relationship(
        secondary="membership_tier_group", lazy="selectin", order_by="Group.position"
    )

    @property
    def lifetime(self) -> bool:
        """True for a tier that never expires."""
        return self.period_unit == "lifetime"

    @property
    def seats_left(self) -> int | None:
        """Seats still for sale (None: unlimited)."""
        return None if self.seats is None else max(self.seats - self.seats_taken, 0)

    @property
    def group_ids(self) -> list[int]:
        """The ids of the groups the tier grants."""
        return [g.id for g in self.groups]


class TierGroup(db.Model):
    """A group that a tier grants."""

    __tablename__ = "membership_tier_group"

    tier_id: Mapped[int] = mapped_column(
        ForeignKey("membership_tier.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("group.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Subscription(db.Model):
    """A member's standing in one tier."""

    __tablename__ = "membership_subscription"
    __table_args__ = (
        UniqueConstraint("member_id", "tier_id", name="uq_membership_subscription_member_tier"),
        CheckConstraint(_in("status", SUBSCRIPTION_STATES), name="status"),
        CheckConstraint(_in("source", SUBSCRIPTION_SOURCES), name="source"),
        Index("ix_membership_subscription_status_until", "status", "paid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    tier_id: Mapped[int] = mapped_column(ForeignKey("membership_tier.id", ondelete="CASCADE"))
    #: The end of what was paid for (naive UTC); NULL: for life.
    paid_until: Mapped[datetime | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="active")
    source: Mapped[str] = mapped_column(String(12), default="payment")
    #: The ``paid_until`` the member was last reminded about (one reminder per end).
    reminded_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    tier: Mapped[Tier] = relationship(lazy="joined")
    member: Mapped[Member] = relationship(lazy="select")


class Purchase(db.Model):
    """One delivered payment for a tier and the period it bought."""

    __tablename__ = "membership_purchase"
    __table_args__ = (
        CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price"),
        Index("ix_membership_purchase_member_tier", "member_id", "tier_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_order.id", ondelete="SET NULL"), unique=True
    )
    #: The idempotency key of a points purchase or an invite's use.
    points_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    tier_id: Mapped[int] = mapped_column(ForeignKey("membership_tier.id", ondelete="CASCADE"))
    price_cents: Mapped[int | None]
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    points: Mapped[int | None]
    period_from: Mapped[datetime]
    #: NULL: for life.
    period_to: Mapped[datetime | None]
    #: How much of the order's refunds this purchase has already taken back (cents).
    refunded_cents: Mapped[int] = mapped_column(default=0)
    refunded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tier: Mapped[Tier] = relationship(lazy="joined")


class Question(db.Model):
    """An entry question applicants answer."""

    __tablename__ = "membership_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(default=0)
    required: Mapped[bool] = mapped_column(Boolean, default=True)


class Application(db.Model):
    """A member's application to join (answers to the questions), and its review."""

    __tablename__ = "membership_application"
    __table_args__ = (
        CheckConstraint(_in("status", APPLICATION_STATES), name="status"),
        # One pending application per member, even when two requests race.
        Index(
            "uq_membership_application_pending",
            "member_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_membership_application_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    #: ``[{"question_id": 1, "question": "…", "answer": "…"}, …]``
    answers: Mapped[Any] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    #: Approval leads to paying this tier; NULL: approval grants ``application_groups``.
    tier_id: Mapped[int | None] = mapped_column(
        ForeignKey("membership_tier.id", ondelete="SET NULL")
    )
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship(foreign_keys=[member_id], lazy="joined")
    tier: Mapped[Tier | None] = relationship(lazy="joined")


class Invite(db.Model):
    """An invite code: up to ``max_uses`` members get the tier, until ``expires_at``."""

    __tablename__ = "membership_invite"
    __table_args__ = (
        CheckConstraint("max_uses >= 1 AND uses >= 0 AND uses <= max_uses", name="uses"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    tier_id: Mapped[int] = mapped_column(ForeignKey("membership_tier.id", ondelete="CASCADE"))
    max_uses: Mapped[int] = mapped_column(default=1)
    uses: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tier: Mapped[Tier] = relationship(lazy="joined")


class InviteUse(db.Model):
    """A member's use of an invite code (once per member and code)."""

    __tablename__ = "membership_invite_use"
    __table_args__ = (
        UniqueConstraint("invite_id", "member_id", name="uq_membership_invite_use_invite_member"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("membership_invite.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rule(db.Model):
    """A clean-out rule: who no longer qualifies for the gated groups ``group_ids``."""

    __tablename__ = "membership_rule"
    __table_args__ = (
        CheckConstraint(_in("kind", RULE_KINDS), name="kind"),
        CheckConstraint("threshold >= 0 AND notice_days >= 0", name="numbers"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    threshold: Mapped[int] = mapped_column(default=30)
    notice_days: Mapped[int] = mapped_column(default=7)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The gated groups it clears members out of: ``[3, 5]``.
    group_ids: Mapped[Any] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Warning(db.Model):  # noqa: A001 (the plugin's own name; never imported bare)
    """A member warned that a rule will remove them at ``due_at``."""

    __tablename__ = "membership_warning"
    __table_args__ = (
        CheckConstraint(_in("status", WARNING_STATES), name="status"),
        Index(
            "uq_membership_warning_pending",
            "member_id",
            "rule_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_membership_warning_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("membership_rule.id", ondelete="CASCADE"))
    warned_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="pending")


class Removal(db.Model):
    """The log of clear-outs: a member taken out of a group by a rule (restorable)."""

    __tablename__ = "membership_removal"
    __table_args__ = (Index("ix_membership_removal_removed", "removed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"))
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("membership_rule.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(String(200), default="")
    #: What the membership was, so that a restore puts it back as it was.
    expires_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(20), default="admin")
    removed_at: Mapped[datetime] = mapped_column(default=utcnow)
    restored_at: Mapped[datetime | None]
    restored_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))

    member: Mapped[Member] = relationship(foreign_keys=[member_id], lazy="joined")
    group: Mapped[Group] = relationship(lazy="joined")
