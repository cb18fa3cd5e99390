"""Member blocks: a member who blocks another gets no private messages from them.

A blocked member cannot start a conversation with the blocker, nor reply in a one-to-one
conversation with them. In group conversations that both already belong to, the blocked
member's messages still show (leaving the group is the blocker's way out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from forum.extensions import db
from forum.models import Member, MemberBlock
from forum.services.errors import ServiceError
from forum.services.paging import page_count


@dataclass(frozen=True)
class BlockRow:
    """One entry of a member's block list."""

    member: Member
    created_at: datetime


def is_blocked(blocker: Member | int, blocked: Member | int) -> bool:
    """Has ``blocker`` blocked ``blocked``? (One query.)"""
    blocker_id = blocker if isinstance(blocker, int) else blocker.id
    blocked_id = blocked if isinstance(blocked, int) else blocked.id
    return (
        db.session.execute(
            select(MemberBlock.blocker_id).where(
                MemberBlock.blocker_id == blocker_id, MemberBlock.blocked_id == blocked_id
            )
        ).first()
        is not None
    )


def blockers_among(member_ids: Iterable[int], blocked_id: int) -> set[int]:
    """The members among ``member_ids`` who blocked ``blocked_id`` (one query)."""
    ids = list(member_ids)
    if not ids:
        return set()
    return set(
        db.session.execute(
            select(MemberBlock.blocker_id).where(
                MemberBlock.blocker_id.in_(ids), MemberBlock.blocked_id == blocked_id
            )
        ).scalars()
    )


def block(member: Member, other: Member) -> None:
    """``member`` blocks ``other``. Commits.

    :class:`ServiceError` for yourself or someone already blocked (nothing changes).
    """
    if member.id == other.id:
        raise ServiceError(_("You cannot block yourself."))
    if is_blocked(member, other):
        raise ServiceError(_("You have already blocked %(name)s.", name=other.name))
    db.session.add(MemberBlock(blocker_id=member.id, blocked_id=other.id))
    try:
        db.session.commit()
    except IntegrityError:  # the same block from another request a moment ago
        db.session.rollback()
        raise ServiceError(_("You have already blocked %(name)s.", name=other.name)) from None


def unblock(member: Member, other: Member) -> None:
    """``member`` lifts their block of ``other``. Commits.

    :class:`ServiceError` when ``other`` is not blocked (nothing changes).
    """
    result = db.session.execute(
        delete(MemberBlock).where(
            MemberBlock.blocker_id == member.id, MemberBlock.blocked_id == other.id
        )
    )
    if result.rowcount == 0:
        db.session.rollback()
        raise ServiceError(_("%(name)s is not blocked.", name=other.name))
    db.session.commit()


def blocked_members(
    member: Member, page: int = 1, per_page: int = 50
) -> tuple[list[BlockRow], int]:
    """The members ``member`` has blocked, newest block first: (rows of the page, pages)."""
    total = db.session.execute(
        select(func.count()).select_from(MemberBlock).where(MemberBlock.blocker_id == member.id)
    ).scalar_one()
    rows = db.session.execute(
        select(Member, MemberBlock.created_at)
        .join(MemberBlock, MemberBlock.blocked_id == Member.id)
        .where(MemberBlock.blocker_id == member.id)
        .order_by(MemberBlock.created_at.desc(), Member.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    pages = page_count(total, per_page)
    return [BlockRow(m, at) for m, at in rows], pages
