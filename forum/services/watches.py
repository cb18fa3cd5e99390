"""What members watch: threads and boards, ``watching`` or ``muted``.

- Watching a **thread**: a notification for every new post in it. Starting or replying to a
  thread watches it (unless the member muted it).
- Watching a **board**: a notification for every new thread in it.
- Muting a thread: no notification about it at all (replies, mentions, quotes, likes).
  Muting a board: no notification from posts in its threads (mentions and quotes included).

No row means neither: the member is told only when mentioned, quoted or otherwise addressed.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from forum.extensions import db
from forum.models import Member, Watch
from forum.models.notifications import WATCH_LEVELS, WATCH_TARGETS
from forum.services import permissions
from forum.services.errors import ServiceError


def level(member: Member | None, target_type: str, target_id: int) -> str | None:
    """``"watching"``, ``"muted"`` or None: ``member``'s choice for the thread or board.

    One query for a signed-in member, none for a guest (always None)."""
    if member is None or not getattr(member, "is_authenticated", False):
        return None
    return db.session.execute(
        select(Watch.level).where(
            Watch.member_id == member.id,
            Watch.target_type == target_type,
            Watch.target_id == target_id,
        )
    ).scalar_one_or_none()


def set_level(member: Member, target_type: str, target_id: int, new_level: str | None) -> None:
    """Watch (``"watching"``), mute (``"muted"``) or forget (None) a thread or board.

    ``target_id`` must be a thread or board ``member`` may read (the caller loads it with
    :func:`forum.services.posting.get_thread` / ``get_board``, which check); the level is
    checked here. Commits.
    """
    if target_type not in WATCH_TARGETS:
        raise ServiceError(_("You can only watch threads and boards."))
    if new_level is not None and new_level not in WATCH_LEVELS:
        raise ServiceError(_("Unknown watch setting."))
    if new_level is None:
        db.session.execute(
            delete(Watch).where(
                Watch.member_id == member.id,
                Watch.target_type == target_type,
                Watch.target_id == target_id,
            )
        )
        db.session.commit()
        return
    row = db.session.execute(
        select(Watch).where(
            Watch.member_id == member.id,
            Watch.target_type == target_type,
            Watch.target_id == target_id,
        )
    ).scalar_one_or_none()
    if row is not None:
        row.level = new_level
        db.session.commit()
        return
    db.session.add(
        Watch(member_id=member.id, target_type=target_type, target_id=target_id, level=new_level)
    )
    try:
        db.session.commit()
    except IntegrityError:  # the same member's other tab inserted it first: set it there
        db.session.rollback()
        set_level(member, target_type, target_id, new_level)


def watch_thread(member: Member, thread, new_level: str | None) -> None:
    """:func:`set_level` for a thread ``member`` may read (checked again here). Commits."""
    permissions.require(member, "read", thread.board_id)
    set_level(member, "thread", thread.id, new_level)


def watch_board(member: Member, board, new_level: str | None) -> None:
    """:func:`set_level` for a board ``member`` may read (checked again here). Commits."""
    permissions.require(member, "read", board.id)
    set_level(member, "board", board.id, new_level)


def auto_watch(member_id: int, thread_id: int, known_levels: dict[int, str] | None = None) -> None:
    """Watch a thread for a member who posted in it, unless they chose a level already.

    ``known_levels`` (member id → level for this thread) saves the lookup when the caller
    loaded the thread's watches. Runs in the caller's transaction (does not commit); a
    concurrent insert of the same row is ignored.
    """
    if known_levels is not None:
        if member_id in known_levels:
            return
    elif (
        db.session.execute(
            select(Watch.id).where(
                Watch.member_id == member_id,
                Watch.target_type == "thread",
                Watch.target_id == thread_id,
            )
        ).first()
        is not None
    ):
        return
    try:
        with db.session.begin_nested():
            db.session.add(
                Watch(
                    member_id=member_id, target_type="thread", target_id=thread_id, level="watching"
                )
            )
    except IntegrityError:
        pass
