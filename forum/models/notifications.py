"""Notifications and what members watch.

A notification is stored with its kind and the values its text is made from (thread title,
actor, plugin data), so it is worded in the recipient's language when it is shown.
``member.unread_notifications`` counts a member's unread ones (kept by atomic UPDATEs), so
the bell costs no query.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forum.extensions import db
from forum.models.base import utcnow

WATCH_TARGETS = ("thread", "board")
WATCH_LEVELS = ("watching", "muted")
DIGEST_FREQUENCIES = ("off", "daily", "weekly")


class Notification(db.Model):
    """Something a member should know about: a reply, a mention, a moderation outcome …

    ``kind`` is a core kind (``reply``, ``mention``, ``quote``, ``moderation``, ``message``)
    or a plugin's (``<plugin>.<event>``). ``url`` is where clicking it leads.
    """

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_member", "member_id", "id"),
        Index("ix_notification_digest", "emailed_at", "read_at", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(300), default="")
    data: Mapped[dict] = mapped_column(db.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]


class Watch(db.Model):
    """A member's choice for a thread or board: ``watching`` (notify me of every new post)
    or ``muted`` (never, even for a thread they took part in)."""

    __tablename__ = "watch"
    __table_args__ = (
        UniqueConstraint("member_id", "target_type", "target_id", name="uq_watch_member_target"),
        Index("ix_watch_target", "target_type", "target_id", "level"),
        CheckConstraint("target_type IN ('thread', 'board')", name="target_type"),
        CheckConstraint("level IN ('watching', 'muted')", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(10), default="watching")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
