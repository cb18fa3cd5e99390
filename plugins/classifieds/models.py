"""The classifieds plugin's tables (every one named ``classifieds_…``).

- :class:`Category` and its typed :class:`CategoryField` rows (分类信息): what a listing
  of the category carries besides price, condition and place.
- :class:`Listing`: the market data of a thread of kind ``listing`` (its primary key is the
  thread's id), with its :class:`ListingImage` rows and one :class:`ListingValue` row per
  typed value (a multi-select has one row per chosen option), indexed for filtering.
- :class:`Trade`: a sale the seller names a buyer for; the buyer confirms it. At most one
  trade per listing that is not cancelled (a partial unique index).
- :class:`Rating`: what one party of a *confirmed* trade says of the other, once
  (``UNIQUE (trade_id, rater_id)``).
- :class:`ScamReport`: a buyer's scam report on a trade, tied to a moderation case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.extensions import db
from forum.models.base import utcnow

FIELD_TYPES = ("text", "number", "money", "select", "multi", "city", "bool")
CONDITIONS = ("new", "like_new", "good", "fair", "for_parts")
STATUSES = ("available", "reserved", "sold", "expired")
TRADE_STATUSES = ("pending", "confirmed", "cancelled")
SCORES = (1, 0, -1)
REPORT_STATUSES = ("open", "upheld", "dismissed")
#: The highest price: ¥100,000,000 in cents.
PRICE_MAX = 100_000_000_00


def _in(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CategoryField(db.Model):
    """A typed field of a category: ``key`` names it in forms, filters and search."""

    __tablename__ = "classifieds_field"
    __table_args__ = (
        UniqueConstraint("category_id", "key", name="uq_classifieds_field_key"),
        CheckConstraint(_in("type", FIELD_TYPES), name="type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("classifieds_category.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(30))
    label: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(10))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    in_list: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[list] = mapped_column(db.JSON, default=list)
    unit: Mapped[str] = mapped_column(String(12), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class Category(db.Model):
    """A category of listings (phones, bikes, flats …) with its typed fields."""

    __tablename__ = "classifieds_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    fields: Mapped[list[CategoryField]] = relationship(
        CategoryField,
        order_by=(CategoryField.position, CategoryField.id),
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class Listing(db.Model):
    """The market data of a ``listing`` thread."""

    __tablename__ = "classifieds_listing"
    __table_args__ = (
        CheckConstraint(f"price_cents >= 0 AND price_cents <= {PRICE_MAX}", name="price"),
        CheckConstraint(_in("condition", CONDITIONS), name="condition"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("pickup OR shipping", name="trade"),
        CheckConstraint("image_count >= 0 AND image_count <= 9", name="image_count"),
        Index("ix_classifieds_listing_status_bumped", "status", "bumped_at"),
        Index("ix_classifieds_listing_category", "category_id", "status", "bumped_at"),
        Index("ix_classifieds_listing_price", "status", "price_cents"),
        Index("ix_classifieds_listing_seller", "seller_id", "created_at"),
        Index("ix_classifieds_listing_expires", "status", "expires_at"),
    )

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("thread.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    seller_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifieds_category.id", ondelete="SET NULL")
    )
    price_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    condition: Mapped[str] = mapped_column(String(10), default="good")
    city: Mapped[str] = mapped_column(String(40), default="")
    city_key: Mapped[str] = mapped_column(String(40), default="", index=True)
    pickup: Mapped[bool] = mapped_column(Boolean, default=True)
    shipping: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="available")
    reserved_for_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL")
    )
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    bumped_at: Mapped[datetime] = mapped_column(default=utcnow)
    image_count: Mapped[int] = mapped_column(Integer, default=0)
    cover_upload_id: Mapped[int | None] = mapped_column(
        ForeignKey("upload.id", ondelete="SET NULL")
    )


class ListingImage(db.Model):
    """A photo of a listing, in display order (at most nine)."""

    __tablename__ = "classifieds_image"
    __table_args__ = (
        UniqueConstraint("listing_id", "upload_id", name="uq_classifieds_image_upload"),
        CheckConstraint("position >= 0 AND position < 9", name="position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("classifieds_listing.thread_id", ondelete="CASCADE"), index=True
    )
    upload_id: Mapped[int] = mapped_column(ForeignKey("upload.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)


class ListingValue(db.Model):
    """One typed value of a listing: text (text, select, city, one option of a multi) in
    ``value_text``, numbers (number, money in cents, bool as 0/1) in ``value_num``."""

    __tablename__ = "classifieds_value"
    __table_args__ = (
        Index("ix_classifieds_value_num", "field_id", "value_num"),
        Index("ix_classifieds_value_text", "field_id", "value_text"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("classifieds_listing.thread_id", ondelete="CASCADE"), index=True
    )
    field_id: Mapped[int] = mapped_column(ForeignKey("classifieds_field.id", ondelete="CASCADE"))
    value_text: Mapped[str | None] = mapped_column(String(200))
    value_num: Mapped[int | None] = mapped_column(BigInteger)


class Trade(db.Model):
    """A sale: the seller named the buyer; the buyer confirms (or declines)."""

    __tablename__ = "classifieds_trade"
    __table_args__ = (
        CheckConstraint(_in("status", TRADE_STATUSES), name="status"),
        CheckConstraint("seller_id <> buyer_id", name="parties"),
        Index(
            "uq_classifieds_trade_open",
            "listing_id",
            unique=True,
            sqlite_where=db.text("status <> 'cancelled'"),
            postgresql_where=db.text("status <> 'cancelled'"),
        ),
        Index("ix_classifieds_trade_seller", "seller_id", "status"),
        Index("ix_classifieds_trade_buyer", "buyer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("classifieds_listing.thread_id", ondelete="CASCADE")
    )
    seller_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]


class Rating(db.Model):
    """One party's rating of the other after a confirmed trade (once per party)."""

    __tablename__ = "classifieds_rating"
    __table_args__ = (
        UniqueConstraint("trade_id", "rater_id", name="uq_classifieds_rating_rater"),
        CheckConstraint("rater_id <> ratee_id", name="parties"),
        CheckConstraint("score IN (1, 0, -1)", name="score"),
        Index("ix_classifieds_rating_ratee", "ratee_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("classifieds_trade.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    ratee_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(500), default="")
    reply: Mapped[str | None] = mapped_column(String(500))
    replied_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)


class ScamReport(db.Model):
    """A buyer's report that a trade was a scam; ``case_id`` is its moderation case."""

    __tablename__ = "classifieds_scam_report"
    __table_args__ = (
        UniqueConstraint("trade_id", "reporter_id", name="uq_classifieds_scam_report_reporter"),
        CheckConstraint(_in("status", REPORT_STATUSES), name="status"),
        Index("ix_classifieds_scam_report_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("classifieds_trade.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    evidence: Mapped[str] = mapped_column(Text, default="")
    image_ids: Mapped[list] = mapped_column(db.JSON, default=list)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("report_case.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    handled_at: Mapped[datetime | None]


class FrozenSeller(db.Model):
    """A member whose listings moderators froze: hidden from the market, no contact, no
    new listings, until unfrozen."""

    __tablename__ = "classifieds_frozen_seller"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
