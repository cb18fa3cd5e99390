"""The Q&A plugin's tables (every one named ``qa_…``).

- :class:`Question`: one row per thread of kind ``question``: who asked, the accepted
  answer, the bounty (escrowed in the points ledger) and the item it is about.
- :class:`Answer`: the denormalised votes of one answer (a reply in a question thread),
  made on its first vote.
- :class:`Vote`: one member's vote on one answer (+1 or -1).
- :class:`ItemBuyer`: members who bought the item a product question is about (invited
  to answer; their answers show a "bought it" badge).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from forum.extensions import db
from forum.models.base import utcnow

#: ``Question.bounty_status``: none put up, held in escrow, paid to an answer, refunded.
BOUNTY_STATES = ("", "held", "paid", "refunded")


class Question(db.Model):
    """What the plugin keeps about a question thread."""

    __tablename__ = "qa_question"
    __table_args__ = (
        CheckConstraint("bounty >= 0", name="bounty"),
        CheckConstraint("bounty_status IN ('', 'held', 'paid', 'refunded')", name="bounty_status"),
        Index("ix_qa_question_item", "item_source", "item_id"),
        Index("ix_qa_question_bounty", "bounty_status", "bounty_deadline"),
    )

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("thread.id", ondelete="CASCADE"), primary_key=True
    )
    asker_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("post.id", ondelete="SET NULL"), index=True
    )
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    bounty: Mapped[int] = mapped_column(default=0)
    bounty_status: Mapped[str] = mapped_column(String(10), default="")
    bounty_escrow_id: Mapped[int | None] = mapped_column(
        ForeignKey("point_escrow.id", ondelete="SET NULL")
    )
    bounty_deadline: Mapped[datetime | None]
    bounty_post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="SET NULL"))
    item_source: Mapped[str] = mapped_column(String(40), default="")
    item_id: Mapped[str] = mapped_column(String(80), default="")
    item_title: Mapped[str] = mapped_column(String(200), default="")
    item_url: Mapped[str] = mapped_column(String(300), default="")


class Answer(db.Model):
    """The vote counts of one answer, kept in the same transaction as each vote."""

    __tablename__ = "qa_answer"
    __table_args__ = (Index("ix_qa_answer_thread_score", "thread_id", "score"),)

    post_id: Mapped[int] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), primary_key=True
    )
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    score: Mapped[int] = mapped_column(default=0)
    up: Mapped[int] = mapped_column(default=0)
    down: Mapped[int] = mapped_column(default=0)


class Vote(db.Model):
    """``member``'s vote on an answer: +1 or -1 (withdrawing a vote deletes the row)."""

    __tablename__ = "qa_vote"
    __table_args__ = (CheckConstraint("value IN (-1, 1)", name="value"),)

    post_id: Mapped[int] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemBuyer(db.Model):
    """A member who bought the item of a product question (and was invited to answer)."""

    __tablename__ = "qa_item_buyer"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("thread.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
