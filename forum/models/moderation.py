"""Reports, the moderation queue, the append-only moderation log and the word filter.

A *case* is one thing in the moderation queue: a post, member or private message that was
reported (every report on it while the case is open joins the same case, so repeated
reports are grouped), or a post held for approval. A target has at most one open case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forum.extensions import db
from forum.models.base import utcnow

CASE_TARGETS = ("post", "member", "message")
CASE_KINDS = ("report", "held")
CASE_STATUSES = ("open", "resolved")
REPORT_REASONS = ("spam", "abuse", "off_topic", "illegal", "scam", "other")
WORD_FILTER_ACTIONS = ("replace", "hold", "block")


class ReportCase(db.Model):
    """One entry of the moderation queue (see the module docstring).

    ``board_id`` is the board of a post's thread (None for members and messages: those are
    for admins), so a moderator's queue is the open cases of the boards they moderate.
    ``subject_id`` is the member the case is about (a post's or message's author).
    """

    __tablename__ = "report_case"
    __table_args__ = (
        CheckConstraint("target_type IN ('post', 'member', 'message')", name="target_type"),
        CheckConstraint("kind IN ('report', 'held')", name="kind"),
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        CheckConstraint("report_count >= 0", name="report_count"),
        # At most one open case per target: a second report joins it.
        Index(
            "uq_report_case_open_target",
            "target_type",
            "target_id",
            unique=True,
            sqlite_where=db.text("status = 'open'"),
            postgresql_where=db.text("status = 'open'"),
        ),
        Index("ix_report_case_queue", "status", "board_id", "last_reported_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10), default="report")
    status: Mapped[str] = mapped_column(String(10), default="open")
    board_id: Mapped[int | None] = mapped_column(ForeignKey("board.id", ondelete="SET NULL"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolution: Mapped[str] = mapped_column(String(20), default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    resolved_at: Mapped[datetime | None]


class Report(db.Model):
    """One member's report inside a case. A member reports a case once."""

    __tablename__ = "report"
    __table_args__ = (
        UniqueConstraint("case_id", "reporter_id", name="uq_report_case_reporter"),
        CheckConstraint(
            "reason IN ('spam', 'abuse', 'off_topic', 'illegal', 'scam', 'other')", name="reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("report_case.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModerationLog(db.Model):
    """An append-only record of a moderation action: who did what to what, when and why.

    Rows are never updated or deleted (the service layer refuses, see
    :mod:`forum.services.moderation`). ``details`` holds action-specific values
    (a ban's end, the old board of a moved thread …).
    """

    __tablename__ = "moderation_log"
    __table_args__ = (
        Index("ix_moderation_log_board", "board_id", "id"),
        Index("ix_moderation_log_subject", "subject_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(30))
    target_type: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int | None] = mapped_column(Integer)
    board_id: Mapped[int | None] = mapped_column(ForeignKey("board.id", ondelete="SET NULL"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("report_case.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(1000), default="")
    details: Mapped[dict] = mapped_column(db.JSON, default=dict)


class WordFilter(db.Model):
    """A word or phrase the site filters in posts and messages.

    ``replace`` writes ``replacement`` in its place, ``hold`` sends the post for approval,
    ``block`` refuses it with a message. Matching is case-insensitive on the whole phrase.
    """

    __tablename__ = "word_filter"
    __table_args__ = (CheckConstraint("action IN ('replace', 'hold', 'block')", name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phrase: Mapped[str] = mapped_column(String(100), unique=True)
    action: Mapped[str] = mapped_column(String(10), default="block")
    replacement: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
