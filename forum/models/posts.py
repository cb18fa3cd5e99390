"""Threads and posts. Posts are numbered within a thread; pages are ranges of numbers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
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
from forum.models.boards import Board
from forum.models.members import Member


class Thread(db.Model):
    """A thread (主题). ``last_number`` is the highest post number handed out (deleted included)."""

    __tablename__ = "thread"
    __table_args__ = (
        # Covers the board listing: filter, order and the ids of a page, without the table.
        Index(
            "ix_thread_board_listing",
            "board_id",
            "pinned",
            "last_post_at",
            "deleted_at",
            "held",
            "id",
        ),
        Index("ix_thread_author_created", "author_id", "created_at"),
        CheckConstraint("status IN ('open', 'locked')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("board.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[str] = mapped_column(String(40), default="discussion")
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="open")
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    # The first post awaits approval: listed for moderators only, readable by its author.
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    first_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("post.id", use_alter=True, ondelete="SET NULL")
    )
    last_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("post.id", use_alter=True, ondelete="SET NULL")
    )
    last_post_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_poster_name: Mapped[str] = mapped_column(String(40), default="")

    board: Mapped[Board] = relationship(lazy="raise", foreign_keys=[board_id])
    author: Mapped[Member] = relationship(lazy="raise")

    @property
    def is_locked(self) -> bool:
        return self.status == "locked"


class Post(db.Model):
    """A post. ``html`` is the sanitised rendering of ``source``, made once at write time."""

    __tablename__ = "post"
    __table_args__ = (
        UniqueConstraint("thread_id", "number", name="uq_post_thread_number"),
        Index("ix_post_author_created", "author_id", "created_at"),
        CheckConstraint("state IN ('published', 'held', 'hidden')", name="state"),
        CheckConstraint("like_count >= 0", name="like_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id"))
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    source: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]
    edit_count: Mapped[int] = mapped_column(Integer, default=0)
    deleted_at: Mapped[datetime | None]
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    # ``held``: awaiting approval (shown to its author and moderators only); ``hidden``: a
    # moderator hid it (its text is shown to moderators and its author only).
    state: Mapped[str] = mapped_column(String(10), default="published")
    like_count: Mapped[int] = mapped_column(Integer, default=0)

    thread: Mapped[Thread] = relationship(lazy="raise", foreign_keys=[thread_id])
    author: Mapped[Member] = relationship(lazy="raise", foreign_keys=[author_id])


class PostRevision(db.Model):
    """The source of a post before an edit; revision 1 is the original text."""

    __tablename__ = "post_revision"
    __table_args__ = (UniqueConstraint("post_id", "revision", name="uq_post_revision_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(String(200))
    editor_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    editor: Mapped[Member] = relationship(lazy="raise")


class ThreadRead(db.Model):
    """How far a member has read a thread: the highest post number they have seen."""

    __tablename__ = "thread_read"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("thread.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class PostLike(db.Model):
    """``member`` likes ``post`` (once; never their own post)."""

    __tablename__ = "post_like"
    __table_args__ = (Index("ix_post_like_member", "member_id", "created_at"),)

    post_id: Mapped[int] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
