"""Groups, time-limited group memberships and the per-board permission matrix."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.extensions import db
from forum.models.base import utcnow

MEMBERSHIP_SOURCES = ("admin", "payment", "application", "invite", "system")


class Group(db.Model):
    """A group of members. ``key`` names the built-in ones: guest, member, moderator, admin.

    ``guest`` applies to visitors who are not signed in (and to banned members); ``member``
    applies to every signed-in active member without a membership row; ``is_admin`` grants
    everything everywhere.
    """

    __tablename__ = "group"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(500), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(default=0)
    # Posting rate limit for the group's members in Flask-Limiter notation ("10 per hour");
    # empty: the site's default. A member gets the most generous of their groups'.
    post_rate: Mapped[str] = mapped_column(String(40), default="")


class GroupMembership(db.Model):
    """A member's place in a group, from a source, until ``expires_at`` (``None``: forever)."""

    __tablename__ = "group_membership"
    __table_args__ = (
        UniqueConstraint("member_id", "group_id", name="uq_group_membership_member_group"),
        CheckConstraint(
            "source IN ('admin', 'payment', 'application', 'invite', 'system')", name="source"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(20), default="admin")
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    group: Mapped[Group] = relationship(lazy="joined")


class BoardPermission(db.Model):
    """One cell of the permission matrix: may ``group`` do ``permission`` on ``board``?

    ``board_id`` NULL is the group's default for boards without a row of their own.
    """

    __tablename__ = "board_permission"
    __table_args__ = (
        UniqueConstraint("board_id", "group_id", "permission", name="uq_board_permission_cell"),
        Index("ix_board_permission_group", "group_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int | None] = mapped_column(ForeignKey("board.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"))
    permission: Mapped[str] = mapped_column(String(40))
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
