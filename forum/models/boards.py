"""Categories and boards, with the counters and last post kept in the write's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from forum.extensions import db


class Category(db.Model):
    """A heading on the board index that groups boards."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)


class Board(db.Model):
    """A board (版块). ``thread_kinds`` is a comma-separated list of allowed thread kinds."""

    __tablename__ = "board"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    thread_kinds: Mapped[str] = mapped_column(String(200), default="discussion")
    thread_count: Mapped[int] = mapped_column(default=0)
    post_count: Mapped[int] = mapped_column(default=0)
    last_thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("thread.id", use_alter=True, ondelete="SET NULL")
    )
    last_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("post.id", use_alter=True, ondelete="SET NULL")
    )
    last_post_at: Mapped[datetime | None]
    last_poster_name: Mapped[str] = mapped_column(String(40), default="")
    last_thread_title: Mapped[str] = mapped_column(String(200), default="")

    @property
    def kinds(self) -> list[str]:
        """The thread kinds this board allows, in order."""
        return [k for k in self.thread_kinds.split(",") if k]
