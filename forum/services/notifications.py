"""Notifications: add them, list them, mark them read, send the e-mail digest.

:func:`notify` is the one way to tell a member something. It stores the kind and the values
the text is made from (actor, thread title, ``data``), never a worded sentence: the text is
rendered when it is shown, in the viewer's language (see :func:`describe`).

``Member.unread_notifications`` is kept by atomic ``UPDATE … SET n = n + 1`` statements in the
same transaction as the rows it counts, so the bell in the top bar costs no query.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update

from forum.extensions import db
from forum.models import Member, Notification, Watch

#: The core's kinds. Plugins add ``<plugin>.<event>`` kinds (hook ``forum_notification_kinds``).
CORE_KINDS: tuple[str, ...] = (
    "reply",
    "mention",
    "quote",
    "moderation",
    "like",
    "message",
    "notice",
)

#: Kinds that are about a thread's conversation: a member who muted the thread gets none.
#: (``moderation`` is about the member's own post or report and is always delivered.)
UNMUTED_KINDS: frozenset[str] = frozenset({"moderation", "message"})


def _muted_threads(member_ids: Iterable[int], thread_id: int) -> set[int]:
    """The members among ``member_ids`` who muted ``thread_id``."""
    ids = list(member_ids)
    if not ids:
        return set()
    return set(
        db.session.execute(
            select(Watch.member_id).where(
                Watch.target_type == "thread",
                Watch.target_id == thread_id,
                Watch.level == "muted",
                Watch.member_id.in_(ids),
            )
        ).scalars()
    )


def notify(
    member_id: int,
    kind: str,
    *,
    actor_id: int | None = None,
    thread_id: int | None = None,
    post_id: int | None = None,
    title: str = "",
    url: str = "",
    data: dict[str, Any] | None = None,
) -> Notification | None:
    """Add a notification for ``member_id`` and count it as unread.

    ``kind`` is a core kind (``reply``, ``mention``, ``quote``, ``moderation``, ``like``,
    ``notice``) or a plugin's ``<plugin>.<event>``. ``title`` is usually the thread's title,
    ``url`` where clicking the notification leads (``/p/<id>``, ``/t/<id>`` …) and ``data``
    any JSON-serialisable values the kind's text is made from (for ``moderation``:
    ``{"action": …, "role": "reporter"|"subject", "reason": …}``).

    Returns ``None`` (and adds nothing) when the member is the actor (nobody is told of their
    own action) or, for a thread-bound kind (every kind with ``thread_id`` except
    ``moderation``), when the member muted the thread.

    Runs in the caller's transaction: it adds the row and ``UPDATE``\\ s the member's counter
    but does **not** commit; the caller commits (or rolls back) with its own write.
    """
    result = notify_many(
        [member_id],
        kind,
        actor_id=actor_id,
        thread_id=thread_id,
        post_id=post_id,
        title=title,
        url=url,
        data=data,
    )
    return result[0] if result else None


def notify_many(
    member_ids: Iterable[int],
    kind: str,
    *,
    actor_id: int | None = None,
    thread_id: int | None = None,
    post_id: int | None = None,
    title: str = "",
    url: str = "",
    data: dict[str, Any] | None = None,
) -> list[Notification]:
    """:func:`notify` for several members at once (same rules; duplicates are dropped).

    One query for the mutes, one insert batch and one counter ``UPDATE``, whatever the
    number of members. Returns the notifications added. Does not commit.
    """
    ids = list(dict.fromkeys(int(m) for m in member_ids if m is not None and m != actor_id))
    if thread_id is not None and kind not in UNMUTED_KINDS and ids:
        muted = _muted_threads(ids, thread_id)
        ids = [m for m in ids if m not in muted]
    if not ids:
        return []
    rows = [
        Notification(
            member_id=m,
            kind=kind[:40],
            actor_id=actor_id,
            thread_id=thread_id,
            post_id=post_id,
            title=(title or "")[:200],
            url=(url or "")[:300],
            data=dict(data or {}),
        )
        for m in ids
    ]
    db.session.add_all(rows)
    db.session.flush()
    db.session.execute(
        update(Member)
        .where(Member.id.in_(ids))
        .values(unread_notifications=Member.unread_notifications + 1)
    )
    return rows
