"""The group-buy plugin's tables (every one named ``groupbuy_…``); money in integer cents.

- :class:`Campaign`: a leader's offer (draft → open → succeeded/failed → fulfilled, or
  cancelled), with its :class:`PriceTier`, :class:`PickupPoint` and :class:`Photo` rows.
- :class:`GroupOrder`: a member's reservation and, once paid, their order. A partial
  unique index allows one live (reserved or paid) order per member and campaign.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from forum.extensions import db
from forum.models.base import utcnow

STATUSES = ("draft", "open", "succeeded", "failed", "fulfilled", "cancelled")
ORDER_STATUSES = ("reserved", "paid", "released", "cancelled")
FULFILMENTS = ("", "picked_up", "shipped")
LIVE = ("reserved", "paid")


def _in(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Campaign(db.Model):
    """A group-buy campaign; ``thread_id`` is set when it opens (drafts have no thread)."""

    __tablename__ = "groupbuy_campaign"
    __table_args__ = (
        CheckConstraint("stock_left >= 0", name="stock_left_min"),
        CheckConstraint("stock_left <= stock_total", name="stock_left_max"),
        CheckConstraint("min_participants >= 1", name="min_participants"),
        CheckConstraint("per_member_limit >= 1", name="per_member_limit"),
        CheckConstraint("original_price_cents >= 0", name="original_price"),
        CheckConstraint("commission_bp >= 0 AND commission_bp <= 10000", name="commission"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        Index("ix_groupbuy_campaign_status_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("board.id", ondelete="CASCADE"), index=True)
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("thread.id", ondelete="SET NULL"), unique=True, nullable=True
    )
    leader_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    original_price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    min_participants: Mapped[int] = mapped_column(Integer)
    stock_total: Mapped[int] = mapped_column(Integer)
    stock_left: Mapped[int] = mapped_column(Integer)
    per_member_limit: Mapped[int] = mapped_column(Integer, default=1)
    deadline: Mapped[datetime] = mapped_column(DateTime)
    pickup: Mapped[bool] = mapped_column(Boolean, default=True)
    delivery: Mapped[bool] = mapped_column(Boolean, default=False)
    members_only_groups: Mapped[str] = mapped_column(String(200), default="")
    early_access_groups: Mapped[str] = mapped_column(String(200), default="")
    early_access_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    commission_bp: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    participants: Mapped[int] = mapped_column(Integer, default=0)
    quantity_paid: Mapped[int] = mapped_column(Integer, default=0)
    final_price_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    joined_ever: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    def group_keys(self, which: str = "members_only") -> list[str]:
        """The group keys of ``members_only_groups`` or ``early_access_groups``."""
        raw = self.members_only_groups if which == "members_only" else self.early_access_groups
        return [k for k in (raw or "").split(",") if k]


class PriceTier(db.Model):
    """From ``min_people`` paid participants on, the price is ``price_cents``."""

    __tablename__ = "groupbuy_price_tier"
    __table_args__ = (
        UniqueConstraint("campaign_id", "min_people", name="uq_groupbuy_price_tier_people"),
        CheckConstraint("min_people >= 1", name="min_people"),
        CheckConstraint("price_cents >= 0", name="price"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("groupbuy_campaign.id", ondelete="CASCADE"))
    min_people: Mapped[int] = mapped_column(Integer)
    price_cents: Mapped[int] = mapped_column(Integer)


class PickupPoint(db.Model):
    """A place where participants collect their goods."""

    __tablename__ = "groupbuy_pickup_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("groupbuy_campaign.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300), default="")


class Photo(db.Model):
    """A product photo of a campaign (up to nine), stored by the core's uploads."""

    __tablename__ = "groupbuy_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("groupbuy_campaign.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    url: Mapped[str] = mapped_column(String(500))
    thumb_url: Mapped[str] = mapped_column(String(500), default="")


class GroupOrder(db.Model):
    """A member's reservation (``reserved`` until ``reserved_until``) and paid order."""

    __tablename__ = "groupbuy_order"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity"),
        CheckConstraint("refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refunded"),
        CheckConstraint("refund_due_cents <= amount_cents", name="refund_due"),
        CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
        CheckConstraint(_in("fulfilment", FULFILMENTS), name="fulfilment"),
        Index(
            "uq_groupbuy_order_live",
            "campaign_id",
            "member_id",
            unique=True,
            sqlite_where=text("status IN ('reserved', 'paid')"),
            postgresql_where=text("status IN ('reserved', 'paid')"),
        ),
        Index("ix_groupbuy_order_campaign_status", "campaign_id", "status"),
        Index("ix_groupbuy_order_member", "member_id"),
        Index("ix_groupbuy_order_invited_by", "invited_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("groupbuy_campaign.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    pickup_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("groupbuy_pickup_point.id", ondelete="SET NULL"), nullable=True
    )
    delivery_address: Mapped[str] = mapped_column(Text, default="")
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    payment_public_id: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="reserved")
    reserved_until: Mapped[datetime] = mapped_column(DateTime)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), nullable=True
    )
    refund_due_cents: Mapped[int] = mapped_column(Integer, default=0)
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0)
    fulfilment: Mapped[str] = mapped_column(String(10), default="")
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
