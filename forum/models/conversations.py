"""Private conversations (one-to-one and small groups) and member blocks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from forum.extensions import db
from forum.models.base import utcnow


class Conversation(db.Model):
    """A private conversation. Its members are :class:`ConversationMember` rows."""

    __tablename__ = "conversation"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    last_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", use_alter=True, ondelete="SET NULL")
    )
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationMember(db.Model):
    """A member's place in a conversation: how much they have read, whether they left."""

    __tablename__ = "conversation_member"
    __table_args__ = (
        Index("ix_conversation_member_inbox", "member_id", "left_at", "last_message_at"),
        CheckConstraint("unread_count >= 0", name="unread_count"),
    )

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None]
    # A copy of the conversation's, so a member's inbox is one index range.
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_read_message_id: Mapped[int] = mapped_column(Integer, default=0)
    unread_count: Mapped[int] = mapped_column(Integer, default=0)


class Message(db.Model):
    """One message in a conversation. ``html`` is the sanitised rendering of ``source``."""

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    hidden_at: Mapped[datetime | None]


class MemberBlock(db.Model):
    """``blocker`` does not want private messages from ``blocked``."""

    __tablename__ = "member_block"
    __table_args__ = (CheckConstraint("blocker_id <> blocked_id", name="not_self"),)

    blocker_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
