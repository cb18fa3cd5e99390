"""Notifications: add them, word them, list them, mark them read, send the e-mail digest.

:func:`notify` is the one way to tell a member something. It stores the kind and the values
the text is made from (actor, thread title, ``data``), never a worded sentence: the text is
made when it is shown, in the viewer's language (:func:`describe`).

``Member.unread_notifications`` is kept by atomic ``UPDATE … SET n = n + 1`` statements in the
same transaction as the rows it counts, so the bell in the top bar costs no query.

New posts are fanned out by :func:`on_post_created` (an after-commit subscriber, see
:mod:`forum.services.events`): mentions, quotes, replies in watched threads and new threads in
watched boards, one notification per recipient per post (mention > quote > reply > thread).
Members who set a digest get unread notifications by e-mail from :func:`send_due_digests`,
a periodic job (:func:`register_jobs`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from forum.extensions import db
from forum.markup import addressed_names
from forum.models import Board, Member, Notification, Post, Thread, Watch
from forum.models.base import utcnow
from forum.models.notifications import DIGEST_FREQUENCIES
from forum.services import permissions, site, watches
from forum.services.errors import NotFound, ServiceError
from forum.services.paging import page_count

log = logging.getLogger("forum.notifications")

#: The core's kinds. Plugins add ``<plugin>.<event>`` kinds (hook ``forum_notification_kinds``).
CORE_KINDS: tuple[str, ...] = (
    "mention",
    "quote",
    "reply",
    "thread",
    "like",
    "moderation",
    "message",
    "notice",
)

#: Kinds that are not about a thread's conversation: delivered even for a muted thread
#: (``moderation`` is about the member's own post or report).
UNMUTED_KINDS: frozenset[str] = frozenset({"moderation", "message", "notice"})

#: Which kind a post's recipient gets when several apply (first wins).
POST_KIND_PRIORITY: tuple[str, ...] = ("mention", "quote", "reply", "thread")

PER_PAGE = 30
#: How many members one run of the digest job mails, and how many notifications one mail lists.
DIGEST_BATCH = 50
DIGEST_ITEMS = 30
#: How long after the last digest the next is due (an hour's slack for the job's schedule).
DIGEST_INTERVALS: dict[str, timedelta] = {
    "daily": timedelta(days=1) - timedelta(hours=1),
    "weekly": timedelta(days=7) - timedelta(hours=1),
}
DIGEST_JOB = "notifications-digest"


# -- adding ---------------------------------------------------------------------------------


def _muted(member_ids: list[int], thread_id: int) -> set[int]:
    """The members among ``member_ids`` who muted ``thread_id``."""
    return set(
        db.session.execute(
            select(Watch.member_id).where(
                Watch.target_type == "thread",
                Watch.target_id == thread_id,
                Watch.level == "muted",
                Watch.member_id.in_(member_ids),
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

    ``kind`` is a core kind (``mention``, ``quote``, ``reply``, ``thread``, ``like``,
    ``moderation``, ``notice``) or a plugin's ``<plugin>.<event>``. ``title`` is usually
    the thread's title, ``url`` where clicking the notification leads (``/p/<id>``,
    ``/t/<id>`` …) and ``data`` any JSON values the kind's text is made from (for
    ``moderation``: ``{"action": "approve"|"hide"|"delete"|"warn"|"suspend"|"dismiss",
    "role": "reporter"|"subject", "reason": …}``; for ``notice``: ``{"text": …}``).

    Returns ``None`` (and adds nothing) when the member is the actor (nobody is told of their
    own action) or, for a thread-bound kind (any kind given a ``thread_id``, except
    ``moderation``, ``message`` and ``notice``), when the member muted the thread.

    Runs in the caller's transaction: it adds the row and updates the member's counter
    but does **not** commit; the caller commits (or rolls back) with its own write.
    """
    if member_id is None or member_id == actor_id:
        return None
    if thread_id is not None and kind not in UNMUTED_KINDS and _muted([member_id], thread_id):
        return None
    row = Notification(
        member_id=member_id, **_values(kind, actor_id, thread_id, post_id, title, url, data)
    )
    db.session.add(row)
    db.session.flush()
    _count([member_id])
    return row


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
) -> list[int]:
    """:func:`notify` for several members at once (same rules; duplicates are dropped).

    One query for the mutes, one insert and one counter ``UPDATE``, whatever the number of
    members. Returns the ids of the members notified. Does not commit.
    """
    ids = list(dict.fromkeys(int(m) for m in member_ids if m is not None and m != actor_id))
    if thread_id is not None and kind not in UNMUTED_KINDS and ids:
        muted = _muted(ids, thread_id)
        ids = [m for m in ids if m not in muted]
    _add(ids, kind, actor_id, thread_id, post_id, title, url, data)
    return ids


def _values(
    kind: str,
    actor_id: int | None,
    thread_id: int | None,
    post_id: int | None,
    title: str,
    url: str,
    data: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "kind": kind[:40],
        "actor_id": actor_id,
        "thread_id": thread_id,
        "post_id": post_id,
        "title": (title or "")[:200],
        "url": (url or "")[:300],
        "data": dict(data or {}),
        "created_at": utcnow(),
    }


def _count(ids: list[int]) -> None:
    db.session.execute(
        update(Member)
        .where(Member.id.in_(ids))
        .values(unread_notifications=Member.unread_notifications + 1)
    )


def _add(
    ids: list[int],
    kind: str,
    actor_id: int | None,
    thread_id: int | None,
    post_id: int | None,
    title: str,
    url: str,
    data: dict[str, Any] | None,
) -> None:
    """Insert one row per member (one executemany) and count them; no checks."""
    if not ids:
        return
    values = _values(kind, actor_id, thread_id, post_id, title, url, data)
    db.session.execute(insert(Notification), [{"member_id": m, **values} for m in ids])
    _count(ids)


# -- the fan-out of a new post ----------------------------------------------------------------


def recipients_of_post(post: Post, thread: Thread) -> dict[int, str]:
    """member id → the kind each member is told of a published ``post`` by.

    Mentioned (outside quotes) → ``mention``; quoted (the heading :func:`quote_source
    <forum.markup.quote_source>` writes) → ``quote``; watching the thread → ``reply``;
    for a thread's first post, watching the board → ``thread``. One kind per member, in
    that order of priority. Left out: the author, members who muted the thread or the
    board, banned or unconfirmed (pending) members and members who may not read the board.
    Five queries at most, however many recipients.
    """
    return _recipients(post, thread)[0]


def _recipients(post: Post, thread: Thread) -> tuple[dict[int, str], dict[int, str]]:
    """(:func:`recipients_of_post`, member id → level of those with a thread watch)."""
    author_id = post.author_id
    mentioned, quoted = addressed_names(post.html or "")
    by_name: dict[str, int] = {}
    if mentioned or quoted:
        by_name = {
            key: mid
            for mid, key in db.session.execute(
                select(Member.id, Member.username_key).where(
                    Member.username_key.in_(mentioned | quoted)
                )
            )
        }
    thread_levels: dict[int, str] = {}
    board_levels: dict[int, str] = {}
    targets = [and_(Watch.target_type == "thread", Watch.target_id == thread.id)]
    targets.append(and_(Watch.target_type == "board", Watch.target_id == thread.board_id))
    for mid, target_type, level in db.session.execute(
        select(Watch.member_id, Watch.target_type, Watch.level).where(or_(*targets))
    ):
        (thread_levels if target_type == "thread" else board_levels)[mid] = level
    kinds: dict[int, str] = {}
    for name in mentioned:
        if name in by_name:
            kinds.setdefault(by_name[name], "mention")
    for name in quoted:
        if name in by_name:
            kinds.setdefault(by_name[name], "quote")
    for mid, level in thread_levels.items():
        if level == "watching":
            kinds.setdefault(mid, "reply")
    if post.number == 1:
        for mid, level in board_levels.items():
            if level == "watching":
                kinds.setdefault(mid, "thread")
    kinds.pop(author_id, None)
    for mid in list(kinds):
        if thread_levels.get(mid) == "muted" or board_levels.get(mid) == "muted":
            del kinds[mid]
    if not kinds:
        return {}, thread_levels
    members = list(db.session.execute(select(Member).where(Member.id.in_(list(kinds)))).scalars())
    permissions.load_group_ids(members)
    readers = {
        m.id
        for m in members
        if m.status == "active" and permissions.can(m, "read", thread.board_id)
    }
    return {mid: kind for mid, kind in kinds.items() if mid in readers}, thread_levels


def on_post_created(post: Post, thread: Thread, member: Member) -> None:
    """After-commit subscriber of ``post_created``: notify the post's recipients (see
    :func:`recipients_of_post`) and watch the thread for its author (unless they chose a
    level for it already). Commits.

    New threads in watched boards are handled here too (the first post, ``number == 1``),
    not in a ``thread_created`` subscriber, so that a member both watching the board and
    mentioned in the first post gets one notification, not two."""
    if (
        getattr(post, "state", "published") != "published"
        or post.deleted_at is not None
        or thread.deleted_at is not None
        or getattr(thread, "held", False)
    ):
        return
    recipients, thread_levels = _recipients(post, thread)
    by_kind: dict[str, list[int]] = {}
    for mid, kind in recipients.items():
        by_kind.setdefault(kind, []).append(mid)
    data: dict[str, Any] = {}
    if "thread" in by_kind:
        board = db.session.get(Board, thread.board_id)
        data = {"board": board.name if board else ""}
    for kind in POST_KIND_PRIORITY:
        if kind in by_kind:
            _add(
                sorted(by_kind[kind]),
                kind,
                post.author_id,
                thread.id,
                post.id,
                thread.title,
                f"/p/{post.id}",
                data if kind == "thread" else None,
            )
    watches.auto_watch(post.author_id, thread.id, thread_levels)
    db.session.commit()


# -- reading --------------------------------------------------------------------------------


@dataclass
class NotificationView:
    """A notification as a page (or a plugin's ``render``) sees it: the stored values and
    the actor's current name. ``text`` is the worded line (see :func:`describe`)."""

    id: int
    kind: str
    actor_id: int | None
    actor_name: str
    actor_username: str
    thread_id: int | None
    post_id: int | None
    title: str
    url: str
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    read_at: datetime | None = None
    text: str = ""

    @property
    def unread(self) -> bool:
        return self.read_at is None


def _quoted(title: str) -> str:
    return title or _("a thread")


def _moderation_text(n: NotificationView) -> str:
    action = str(n.data.get("action", ""))
    role = n.data.get("role", "subject")
    title = _quoted(n.title)
    if role == "reporter":
        outcomes = {
            "approve": _(
                "Your report about “%(title)s” was reviewed: the post stays.", title=title
            ),
            "dismiss": _(
                "Your report about “%(title)s” was reviewed: the post stays.", title=title
            ),
            "hide": _("Your report about “%(title)s” was upheld: the post is hidden.", title=title),
            "delete": _(
                "Your report about “%(title)s” was upheld: the post is deleted.", title=title
            ),
            "warn": _(
                "Your report about “%(title)s” was upheld: the author was warned.", title=title
            ),
            "suspend": _(
                "Your report about “%(title)s” was upheld: the author was suspended.", title=title
            ),
        }
        text = outcomes.get(action, _("Your report about “%(title)s” was reviewed.", title=title))
    else:
        outcomes = {
            "approve": _("A moderator approved your post in “%(title)s”.", title=title),
            "hide": _("A moderator hid your post in “%(title)s”.", title=title),
            "delete": _("A moderator deleted your post in “%(title)s”.", title=title),
            "warn": _("A moderator warned you about your post in “%(title)s”.", title=title),
            "suspend": _("A moderator suspended your account.", title=title),
            "dismiss": _("A report about your post in “%(title)s” was dismissed.", title=title),
        }
        text = outcomes.get(
            action, _("A moderator acted on your post in “%(title)s”.", title=title)
        )
    reason = str(n.data.get("reason") or "").strip()
    if reason:
        text += " " + _("Reason: %(reason)s", reason=reason)
    return text


def _fallback(n: NotificationView) -> str:
    return n.title or _("You have a notification.")


def describe(n: NotificationView) -> str:
    """The notification's text in the current language, from its kind and stored values.

    A plugin's kind is worded by its :class:`~forum.plugin_api.NotificationKind`'s
    ``render`` while the plugin is enabled; otherwise (disabled, uninstalled, or ``render``
    failed) the text falls back to the title.
    """
    actor = n.actor_name or _("Someone")
    title = _quoted(n.title)
    if n.kind == "mention":
        return _("%(actor)s mentioned you in “%(title)s”", actor=actor, title=title)
    if n.kind == "quote":
        return _("%(actor)s quoted your post in “%(title)s”", actor=actor, title=title)
    if n.kind == "reply":
        return _("%(actor)s replied in “%(title)s”", actor=actor, title=title)
    if n.kind == "thread":
        board = n.data.get("board") or ""
        if board:
            return _(
                "%(actor)s started “%(title)s” in %(board)s", actor=actor, title=title, board=board
            )
        return _("%(actor)s started “%(title)s”", actor=actor, title=title)
    if n.kind == "like":
        return _("%(actor)s liked your post in “%(title)s”", actor=actor, title=title)
    if n.kind == "moderation":
        return _moderation_text(n)
    if n.kind == "message":
        return _("%(actor)s sent you a message", actor=actor)
    if n.kind == "notice":
        return str(n.data.get("text") or "") or _fallback(n)
    from forum import plugins

    entry = plugins.notification_kinds().get(n.kind)
    if entry is None or not plugins.is_enabled(entry[0]):
        return _fallback(n)
    try:
        return str(entry[1].render(n)) or _fallback(n)
    except Exception:
        log.exception("notification kind %s: render failed", n.kind)
        return _fallback(n)


def _views(query) -> list[NotificationView]:
    actor = aliased(Member)
    rows = db.session.execute(
        query.add_columns(actor.username, actor.display_name).outerjoin(
            actor, actor.id == Notification.actor_id
        )
    ).all()
    views = []
    for n, username, display_name in rows:
        view = NotificationView(
            id=n.id,
            kind=n.kind,
            actor_id=n.actor_id,
            actor_name=display_name or username or "",
            actor_username=username or "",
            thread_id=n.thread_id,
            post_id=n.post_id,
            title=n.title,
            url=n.url,
            data=dict(n.data or {}),
            created_at=n.created_at,
            read_at=n.read_at,
        )
        view.text = describe(view)
        views.append(view)
    return views


def list_page(member: Member, page: int = 1) -> tuple[list[NotificationView], int]:
    """Page ``page`` of ``member``'s notifications, newest first, and the number of pages
    (at least 1). Two queries, however many notifications there are."""
    total = db.session.execute(
        select(func.count()).select_from(Notification).where(Notification.member_id == member.id)
    ).scalar_one()
    pages = page_count(total, PER_PAGE)
    views = _views(
        select(Notification)
        .where(Notification.member_id == member.id)
        .order_by(Notification.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    )
    return views, pages


# -- marking read -----------------------------------------------------------------------------


def _recount(member: Member) -> None:
    """Set ``member.unread_notifications`` to the number of unread rows (in the database and
    on the loaded row)."""
    unread = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.member_id == member.id, Notification.read_at.is_(None))
        .scalar_subquery()
    )
    n = db.session.execute(
        update(Member)
        .where(Member.id == member.id)
        .values(unread_notifications=unread)
        .returning(Member.unread_notifications)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(member, "unread_notifications", n)


def mark_read(member: Member, notification_id: int) -> None:
    """Mark one of ``member``'s notifications read (already read: nothing changes).
    :class:`NotFound` when it is not theirs. Commits."""
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.member_id == member.id,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        mine = db.session.execute(
            select(Notification.id).where(
                Notification.id == notification_id, Notification.member_id == member.id
            )
        ).first()
        if mine is None:
            raise NotFound("notification")
        return
    _recount(member)
    db.session.commit()


def mark_all_read(member: Member) -> None:
    """Mark every notification of ``member`` read and set the counter to 0. Commits."""
    db.session.execute(
        update(Notification)
        .where(Notification.member_id == member.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    _recount(member)
    db.session.commit()


def mark_thread_read(member: Member | None, thread_id: int) -> None:
    """Mark ``member``'s unread notifications about the thread read (they are reading it).

    No query at all unless the member has unread notifications; then one to look, and only
    when some are about this thread the update, the recount and a commit. Call it before
    loading what the page shows (the commit expires loaded rows).
    """
    if member is None or not member.unread_notifications:
        return
    unread_here = (
        Notification.member_id == member.id,
        Notification.thread_id == thread_id,
        Notification.read_at.is_(None),
    )
    if db.session.execute(select(Notification.id).where(*unread_here).limit(1)).first() is None:
        return
    db.session.execute(
        update(Notification)
        .where(*unread_here)
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    _recount(member)
    db.session.commit()


# -- e-mail digest ----------------------------------------------------------------------------


def set_digest(member: Member, frequency: str) -> None:
    """Choose how often ``member`` gets unread notifications by e-mail: ``off``, ``daily``
    or ``weekly``. Commits."""
    if frequency not in DIGEST_FREQUENCIES:
        raise ServiceError(_("Please choose one of the options."), "digest")
    member.digest = frequency
    db.session.commit()


def _pending():
    return and_(Notification.read_at.is_(None), Notification.emailed_at.is_(None))


def due_digest_member_ids(now: datetime | None = None, limit: int = DIGEST_BATCH) -> list[int]:
    """Up to ``limit`` members whose digest is due at ``now``: a frequency set, active and
    with a confirmed address, the period since their last digest over, and at least one
    unread notification not mailed yet. One query."""
    now = now or utcnow()
    due = or_(
        Member.digest_sent_at.is_(None),
        and_(Member.digest == "daily", Member.digest_sent_at <= now - DIGEST_INTERVALS["daily"]),
        and_(Member.digest == "weekly", Member.digest_sent_at <= now - DIGEST_INTERVALS["weekly"]),
    )
    waiting = exists().where(Notification.member_id == Member.id, _pending())
    return list(
        db.session.execute(
            select(Member.id)
            .where(
                Member.digest.in_(tuple(DIGEST_INTERVALS)),
                Member.status == "active",
                Member.email_confirmed_at.is_not(None),
                due,
                waiting,
            )
            .order_by(Member.id)
            .limit(limit)
        ).scalars()
    )


def _absolute(url: str) -> str:
    base = current_app.config["SITE_URL"].rstrip("/")
    return base + url if url.startswith("/") else url or base + "/notifications"


def send_digest(member_id: int, now: datetime | None = None) -> bool:
    """Mail ``member_id`` their unread notifications not mailed yet (newest
    :data:`DIGEST_ITEMS` listed), in their language; mark them mailed and the digest sent.
    False (nothing sent) when there is nothing to send. Commits."""
    from forum.services.mail import send_mail

    now = now or utcnow()
    member = db.session.get(Member, member_id)
    if member is None:
        return False
    base = (
        select(Notification)
        .where(Notification.member_id == member.id, _pending())
        .order_by(Notification.id.desc())
    )
    with force_locale(member.locale or site.setting("default_locale")):
        views = _views(base.limit(DIGEST_ITEMS + 1))
        if not views:
            return False
        more = len(views) > DIGEST_ITEMS
        views = views[:DIGEST_ITEMS]
        name = site.setting("site_name")
        lines = [f"- {v.text}\n  {_absolute(v.url)}" for v in views]
        if more:
            lines.append(_("… and more on the site."))
        body = _(
            "Hello %(name)s,\n\nwhat happened on %(site)s since your last digest:\n\n"
            "%(items)s\n\nAll notifications: %(link)s\n"
            "Change how often you get this e-mail in your settings: %(settings)s\n",
            name=member.name,
            site=name,
            items="\n".join(lines),
            link=_absolute("/notifications"),
            settings=_absolute("/settings#notifications"),
        )
        subject = _("%(site)s: %(n)d new notifications", site=name, n=member.unread_notifications)
        send_mail(member.email, subject, body)
    db.session.execute(
        update(Notification)
        .where(Notification.member_id == member.id, Notification.id <= views[0].id, _pending())
        .values(emailed_at=now)
        .execution_options(synchronize_session=False)
    )
    member.digest_sent_at = now
    db.session.commit()
    return True


def send_due_digests(limit: int = DIGEST_BATCH) -> int:
    """The periodic job: send the digests that are due, at most ``limit`` per run (the rest
    wait for the next run). A member whose mail fails is logged and retried next run.
    Returns how many were sent."""
    sent = 0
    now = utcnow()
    for member_id in due_digest_member_ids(now, limit):
        try:
            sent += send_digest(member_id, now)
        except Exception:
            db.session.rollback()
            log.exception("digest for member %s failed", member_id)
    return sent


def register_jobs() -> None:
    """Schedule :func:`send_due_digests` every 15 minutes (called by ``create_app``)."""
    from forum import jobs

    jobs.register_periodic(
        jobs.PeriodicJob(
            DIGEST_JOB,
            send_due_digests,
            minute="*/15",
            description="E-mail digests of unread notifications",
        )
    )
