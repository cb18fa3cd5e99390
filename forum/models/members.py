"""Members: accounts, profile fields and denormalised counters."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from forum.extensions import db
from forum.models.base import utcnow

MEMBER_STATUSES = ("active", "pending", "banned")


class Member(UserMixin, db.Model):
    """A registered member. ``username_key`` is the case-folded username (unique)."""

    __tablename__ = "member"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'pending', 'banned')", name="status"),
        CheckConstraint("post_count >= 0", name="post_count"),
        CheckConstraint("unread_notifications >= 0", name="unread_notifications"),
        CheckConstraint("unread_messages >= 0", name="unread_messages"),
        CheckConstraint("digest IN ('off', 'daily', 'weekly')", name="digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(20))
    username_key: Mapped[str] = mapped_column(String(20), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(40), default="")
    avatar: Mapped[str | None] = mapped_column(String(200))
    bio: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(50), default="")
    locale: Mapped[str] = mapped_column(String(10), default="")
    status: Mapped[str] = mapped_column(String(12), default="active")
    ban_reason: Mapped[str] = mapped_column(String(500), default="")
    banned_until: Mapped[datetime | None]
    email_confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    thread_count: Mapped[int] = mapped_column(Integer, default=0)
    session_token: Mapped[str] = mapped_column(String(32), default="")
    # Trust-card counters, kept by atomic UPDATEs with the rows they count.
    like_count: Mapped[int] = mapped_column(Integer, default=0)  # likes received
    warning_count: Mapped[int] = mapped_column(Integer, default=0)
    # Badge counters (no query per page): unread notifications, unread conversations.
    unread_notifications: Mapped[int] = mapped_column(Integer, default=0)
    unread_messages: Mapped[int] = mapped_column(Integer, default=0)
    digest: Mapped[str] = mapped_column(String(10), default="off")
    digest_sent_at: Mapped[datetime | None]

    @property
    def name(self) -> str:
        """What the member is called on pages: the display name, else the username."""
        return self.display_name or self.username

    @property
    def is_banned(self) -> bool:
        """True while a ban is in force (a ban with an end date lapses by itself)."""
        if self.status != "banned":
            return False
        return self.banned_until is None or self.banned_until > utcnow()

    @property
    def is_active(self) -> bool:  # Flask-Login: banned members cannot sign in
        return not self.is_banned

    def get_id(self) -> str:
        # The session token rotates on password change, which signs out other sessions.
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.username}>"
