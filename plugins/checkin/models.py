"""The check-ins plugin's tables (every one named ``checkin_…``).

- :class:`Camp`: a habit camp (打卡营): dates, the daily window, what a check-in must carry
  (note, photo, metrics), who may join, the join fee and deposit in points.
- :class:`Participant`: a member in a camp, with the camp's streaks and the outcome.
- :class:`Checkin`: one check-in of a member in a camp on one of *their* local days
  (``UNIQUE (camp_id, member_id, day)``: the database refuses a second one, also when two
  requests race).
- :class:`MetricValue`: one number of a check-in (scaled to an int by ``10**decimals``),
  indexed ``(camp_id, key, day)`` for the metric leaderboards.
- :class:`CheckinLike`, :class:`CheckinComment`: likes and comments on check-ins.
- :class:`MemberStats`: a member's overall streaks across camps, completed camps and the
  reminder hour.

``Camp.metrics`` and ``Checkin.metrics`` are JSON text; read them decoded through
:attr:`Camp.metric_list` and :attr:`Checkin.metric_values`.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.extensions import db
from forum.models import Member, Upload
from forum.models.base import utcnow

#: ``Camp.status``: taking check-ins, being settled, settled (deposits paid out).
CAMP_STATES = ("open", "settling", "settled")
#: ``Participant.outcome``.
OUTCOMES = ("active", "completed", "failed", "left")


class Camp(db.Model):
    """A habit camp: members join it and check in once a (local) day."""

    __tablename__ = "checkin_camp"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'settling', 'settled')", name="status"),
        CheckConstraint(
            "window_start >= 0 AND window_end <= 1439 AND window_start <= window_end",
            name="window",
        ),
        CheckConstraint("join_fee >= 0 AND deposit >= 0", name="money"),
        CheckConstraint("member_count >= 0 AND checkin_count >= 0", name="counts"),
        Index("ix_checkin_camp_status_ends", "status", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    window_start: Mapped[int] = mapped_column(default=0)
    window_end: Mapped[int] = mapped_column(default=1439)
    require_note: Mapped[bool] = mapped_column(Boolean, default=False)
    require_photo: Mapped[bool] = mapped_column(Boolean, default=False)
    metrics: Mapped[str] = mapped_column(Text, default="[]")
    join_group_id: Mapped[int | None] = mapped_column(ForeignKey("group.id", ondelete="SET NULL"))
    join_fee: Mapped[int] = mapped_column(default=0)
    deposit: Mapped[int] = mapped_column(default=0)
    min_days: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(10), default="open")
    member_count: Mapped[int] = mapped_column(default=0)
    checkin_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]

    owner: Mapped[Member] = relationship(lazy="joined")

    @property
    def metric_list(self) -> list[dict[str, Any]]:
        """The metric declarations: dicts with key, label, unit, min, max, decimals,
        required."""
        return json.loads(self.metrics or "[]")


class Participant(db.Model):
    """A member of a camp, with the camp's streak figures kept at each check-in."""

    __tablename__ = "checkin_participant"
    __table_args__ = (
        UniqueConstraint("camp_id", "member_id", name="uq_checkin_participant_camp_member"),
        CheckConstraint("outcome IN ('active', 'completed', 'failed', 'left')", name="outcome"),
        Index("ix_checkin_participant_camp_total", "camp_id", "total"),
        Index("ix_checkin_participant_camp_streak", "camp_id", "current_streak"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    camp_id: Mapped[int] = mapped_column(ForeignKey("checkin_camp.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The member's local day of joining (no make-up before it).
    joined_on: Mapped[date] = mapped_column(Date)
    escrow_id: Mapped[int | None] = mapped_column(
        ForeignKey("point_escrow.id", ondelete="SET NULL")
    )
    total: Mapped[int] = mapped_column(default=0)
    current_streak: Mapped[int] = mapped_column(default=0)
    longest_streak: Mapped[int] = mapped_column(default=0)
    last_day: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(10), default="active")

    member: Mapped[Member] = relationship(lazy="joined")


class Checkin(db.Model):
    """One check-in: a member's local ``day`` in a camp (one per day, by the database)."""

    __tablename__ = "checkin_checkin"
    __table_args__ = (
        UniqueConstraint("camp_id", "member_id", "day", name="uq_checkin_checkin_camp_member_day"),
        Index("ix_checkin_checkin_camp_day", "camp_id", "day"),
        Index("ix_checkin_checkin_camp_created", "camp_id", "created_at"),
        Index("ix_checkin_checkin_member_day", "member_id", "day"),
        CheckConstraint("like_count >= 0 AND comment_count >= 0", name="counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    camp_id: Mapped[int] = mapped_column(ForeignKey("checkin_camp.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    note_html: Mapped[str] = mapped_column(Text, default="")
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("upload.id", ondelete="SET NULL"))
    metrics: Mapped[str] = mapped_column(Text, default="{}")
    makeup: Mapped[bool] = mapped_column(Boolean, default=False)
    like_count: Mapped[int] = mapped_column(default=0)
    comment_count: Mapped[int] = mapped_column(default=0)

    author: Mapped[Member] = relationship(lazy="select")
    upload: Mapped[Upload | None] = relationship(lazy="select")
    camp: Mapped[Camp] = relationship(lazy="select")

    #: Set by :func:`forum_plugins.checkin.services.feed` for its viewer.
    liked: bool = False

    @property
    def metric_values(self) -> dict[str, float | int]:
        """The check-in's numbers by metric key, as entered (``{"km": 5.2}``)."""
        return json.loads(self.metrics or "{}")


class MetricValue(db.Model):
    """One metric of one check-in, ``value`` scaled by ``10**decimals`` (leaderboard sums)."""

    __tablename__ = "checkin_metric"
    __table_args__ = (
        UniqueConstraint("checkin_id", "key", name="uq_checkin_metric_checkin_key"),
        Index("ix_checkin_metric_camp_key_day", "camp_id", "key", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkin_checkin.id", ondelete="CASCADE"))
    camp_id: Mapped[int] = mapped_column(ForeignKey("checkin_camp.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(20))
    day: Mapped[date] = mapped_column(Date)
    value: Mapped[int]


class CheckinLike(db.Model):
    """``member`` likes a check-in (un-liking deletes the row)."""

    __tablename__ = "checkin_like"

    checkin_id: Mapped[int] = mapped_column(
        ForeignKey("checkin_checkin.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckinComment(db.Model):
    """A comment on a check-in (soft-deleted: ``deleted``)."""

    __tablename__ = "checkin_comment"
    __table_args__ = (Index("ix_checkin_comment_checkin_created", "checkin_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkin_checkin.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)

    author: Mapped[Member] = relationship(lazy="joined")


class MemberStats(db.Model):
    """A member's check-in figures over every camp (one row, made at the first check-in or
    when a reminder hour is chosen)."""

    __tablename__ = "checkin_stats"
    __table_args__ = (
        CheckConstraint(
            "reminder_hour IS NULL OR (reminder_hour >= 0 AND reminder_hour <= 23)",
            name="reminder_hour",
        ),
        Index("ix_checkin_stats_reminder_hour", "reminder_hour"),
    )

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    current_streak: Mapped[int] = mapped_column(default=0)
    longest_streak: Mapped[int] = mapped_column(default=0)
    last_day: Mapped[date | None] = mapped_column(Date)
    total: Mapped[int] = mapped_column(default=0)
    camps_completed: Mapped[int] = mapped_column(default=0)
    reminder_hour: Mapped[int | None]
    reminded_on: Mapped[date | None] = mapped_column(Date)
