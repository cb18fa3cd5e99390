"""Reports, the moderation queue, actions on cases and the append-only moderation log.

A member reports a post, a member or a private message (:func:`report`); reports on a
target join its open case (:class:`~forum.models.ReportCase`), so the queue shows one row
per target however many members reported it. Posts held for approval (see
:mod:`forum.services.safeguards`) open a case of kind ``held`` (:func:`open_held_case`).

Who may act on a case (:func:`can_act`): administrators on every case; a board's
moderators on the cases of that board; cases without a board (members, messages) belong to
administrators and to members whose groups hold ``moderate`` by default (the group's
default row, board NULL: "site moderators").

:func:`act` takes a case out of the queue with one action (approve, dismiss, hide,
delete, warn, suspend). The case is claimed with ``UPDATE … WHERE status = 'open'``, so of two
moderators acting at once only one succeeds; the other is told the report was handled. The
action, the case's resolution, its :class:`~forum.models.ModerationLog` row and the
notifications of reporters and subject are one transaction.

The log is append-only: the ORM refuses to update or delete its rows (mapper events below).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, event, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from forum.extensions import db
from forum.models import (
    Board,
    Conversation,
    ConversationMember,
    Member,
    Message,
    ModerationLog,
    Post,
    Report,
    ReportCase,
    Thread,
)
from forum.models.base import utcnow
from forum.models.moderation import CASE_TARGETS, REPORT_REASONS
from forum.services import permissions, versions
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.services.paging import page_count

NOTE_MAX = 1000
REASON_MAX = 1000
PER_PAGE = 20
LOG_PER_PAGE = 50
#: Reporters' notes shown per case in the queue (the newest).
NOTES_SHOWN = 5
EXCERPT_CHARS = 280

#: Labels of the report reasons, in the form's order.
REASON_LABELS: dict[str, Any] = {
    "spam": _l("Spam or advertising"),
    "abuse": _l("Abuse or harassment"),
    "off_topic": _l("Off topic"),
    "illegal": _l("Illegal content"),
    "scam": _l("Scam or fraud"),
    "other": _l("Something else"),
}

#: The actions on a case, and the case's resolution after each.
ACTIONS: dict[str, str] = {
    "approve": "approved",
    "dismiss": "dismissed",
    "hide": "hidden",
    "delete": "deleted",
    "warn": "warned",
    "suspend": "suspended",
}

ACTION_LABELS: dict[str, Any] = {
    "approve": _l("Approve"),
    "dismiss": _l("Dismiss"),
    "hide": _l("Hide"),
    "delete": _l("Delete"),
    "warn": _l("Warn"),
    "suspend": _l("Suspend"),
}

#: Suspension lengths offered (days; None: permanent).
SUSPEND_DAYS: tuple[int | None, ...] = (1, 3, 7, 30, None)

#: Every action the log records (the queue's and the thread tools'), for the log's filter.
LOG_ACTIONS: tuple[str, ...] = (
    "hold",
    "approve",
    "dismiss",
    "hide",
    "unhide",
    "delete",
    "warn",
    "suspend",
    "lock",
    "unlock",
    "pin",
    "unpin",
    "move",
    "delete_thread",
    "restore_thread",
    "delete_post",
    "restore_post",
    "ban",
    "unban",
    "group_add",
    "group_remove",
)


# -- the append-only log -------------------------------------------------------------------


@event.listens_for(ModerationLog, "before_update")
def _refuse_log_update(mapper, connection, target) -> None:  # noqa: ARG001
    raise ServiceError("The moderation log is append-only: its rows cannot be changed.")


@event.listens_for(ModerationLog, "before_delete")
def _refuse_log_delete(mapper, connection, target) -> None:  # noqa: ARG001
    raise ServiceError("The moderation log is append-only: its rows cannot be deleted.")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def log_action(
    actor: Member | None,
    action: str,
    target_type: str,
    target_id: int | None,
    *,
    board_id: int | None = None,
    subject_id: int | None = None,
    case_id: int | None = None,
    reason: str = "",
    **details: Any,
) -> ModerationLog:
    """Append a row to the moderation log in the caller's transaction (does not commit).

    ``target_type`` is ``post``, ``thread``, ``member`` or ``message``; ``details`` are
    JSON values (datetimes are stored as ISO text).
    """
    row = ModerationLog(
        actor_id=actor.id if actor is not None else None,
        action=action[:30],
        target_type=target_type[:10],
        target_id=target_id,
        board_id=board_id,
        subject_id=subject_id,
        case_id=case_id,
        reason=(reason or "")[:REASON_MAX],
        details={k: _plain(v) for k, v in details.items()},
    )
    db.session.add(row)
    return row


# -- who may act ----------------------------------------------------------------------------


def is_site_moderator(member: Member | None) -> bool:
    """May ``member`` act on cases without a board (members, private messages)?
    Administrators, and members in a group that holds ``moderate`` by default."""
    if member is None or not getattr(member, "is_authenticated", False):
        return False
    if permissions.is_admin(member):
        return True
    return any(permissions.group_allows(g, None, "moderate") for g in permissions.group_ids(member))


def moderated_board_ids(member: Member | None) -> frozenset[int]:
    """The boards ``member`` moderates (no query: the permission matrix is cached)."""
    return frozenset(
        bid for bid, perms in permissions.board_permissions(member).items() if "moderate" in perms
    )


def can_moderate(member: Member | None) -> bool:
    """Does ``member`` have any queue at all (moderates a board, or is a site moderator)?"""
    return bool(moderated_board_ids(member)) or is_site_moderator(member)


def can_act(member: Member | None, case: ReportCase) -> bool:
    """May ``member`` act on ``case`` (module docstring)?"""
    if member is None or not getattr(member, "is_authenticated", False):
        return False
    if permissions.is_admin(member):
        return True
    if case.board_id is None:
        return is_site_moderator(member)
    return permissions.is_moderator(member, case.board_id)


def _visible_cases(member: Member | None, board_id: int | None = None):
    """The WHERE clause of the open cases ``member`` may act on (one board's with
    ``board_id``)."""
    clause = ReportCase.status == "open"
    if board_id is not None:
        if not (permissions.is_admin(member) or permissions.is_moderator(member, board_id)):
            return false()
        return and_(clause, ReportCase.board_id == board_id)
    if permissions.is_admin(member):
        return clause
    boards = moderated_board_ids(member)
    parts = []
    if boards:
        parts.append(ReportCase.board_id.in_(sorted(boards)))
    if is_site_moderator(member):
        parts.append(ReportCase.board_id.is_(None))
    if not parts:
        return false()
    return and_(clause, or_(*parts))


def queue_size(member: Member | None, board_id: int | None = None) -> int:
    """How many open cases ``member`` may act on (in one board with ``board_id``). One
    query, none for members who moderate nothing."""
    where = _visible_cases(member, board_id)
    if where is false() or (board_id is None and not can_moderate(member)):
        return 0
    return db.session.execute(select(func.count(ReportCase.id)).where(where)).scalar_one()


def open_cases() -> int:
    """Every open case (reports and held posts, all boards): the admin dashboard's figure.
    One query."""
    return db.session.execute(
        select(func.count(ReportCase.id)).where(ReportCase.status == "open")
    ).scalar_one()


# -- reporting --------------------------------------------------------------------------------


def _target(reporter: Member, target_type: str, target_id: int) -> tuple[int | None, int | None]:
    """(board id, subject id) of a target ``reporter`` may see and report, else NotFound."""
    if target_type == "post":
        row = db.session.execute(
            select(Post.author_id, Post.deleted_at, Post.state, Thread.board_id, Thread.deleted_at)
            .join(Thread, Post.thread_id == Thread.id)
            .where(Post.id == target_id)
        ).first()
        if row is None:
            raise NotFound("post")
        author_id, deleted_at, state, board_id, thread_deleted = row
        if not permissions.can(reporter, "read", board_id) or not permissions.can(
            reporter, "view", board_id
        ):
            raise NotFound("post")
        if deleted_at is not None or thread_deleted is not None:
            raise NotFound("post")
        if state == "held" and author_id != reporter.id:
            raise NotFound("post")
        if author_id == reporter.id:
            raise ServiceError(_("You cannot report your own post."))
        if state == "hidden":
            raise ServiceError(_("A moderator has hidden this post already. Nothing was changed."))
        return board_id, author_id
    if target_type == "member":
        member = db.session.get(Member, target_id)
        if member is None or member.status != "active":
            raise NotFound("member")
        if member.id == reporter.id:
            raise ServiceError(_("You cannot report yourself."))
        return None, member.id
    if target_type == "message":
        row = db.session.execute(
            select(Message.author_id)
            .join(
                ConversationMember,
                and_(
                    ConversationMember.conversation_id == Message.conversation_id,
                    ConversationMember.member_id == reporter.id,
                ),
            )
            .where(Message.id == target_id)
        ).first()
        if row is None:
            raise NotFound("message")
        if row.author_id == reporter.id:
            raise ServiceError(_("You cannot report your own message."))
        return None, row.author_id
    raise ServiceError(_("This cannot be reported."))


def _open_case(
    target_type: str, target_id: int, kind: str, board_id: int | None, subject_id: int | None
) -> ReportCase:
    """The target's open case, made now if there is none (race-safe: a concurrent insert of
    the same target's case loses on the unique index and joins the winner's)."""
    for _attempt in range(2):
        case = db.session.execute(
            select(ReportCase).where(
                ReportCase.target_type == target_type,
                ReportCase.target_id == target_id,
                ReportCase.status == "open",
            )
        ).scalar_one_or_none()
        if case is not None:
            return case
        now = utcnow()
        case = ReportCase(
            target_type=target_type,
            target_id=target_id,
            kind=kind,
            board_id=board_id,
            subject_id=subject_id,
            report_count=0,
            created_at=now,
            last_reported_at=now,
        )
        try:
            with db.session.begin_nested():
                db.session.add(case)
        except IntegrityError:
            continue
        return case
    raise ServiceError(_("Please try again."))  # pragma: no cover - needs a third racer


def report(
    reporter: Member | None, target_type: str, target_id: int, reason: str, note: str = ""
) -> ReportCase:
    """``reporter`` reports a post, a member or a private message. Commits; returns the case.

    The reporter must be signed in and able to see the target (a post: read permission on
    its board; a message: a member of its conversation; a member: any active member but
    themselves). A second report on a target joins its open case (``report_count`` + 1);
    the same member reporting the same case twice is refused and nothing changes.
    """
    if reporter is None or not getattr(reporter, "is_authenticated", False):
        raise PermissionDenied(_("Please sign in to report."))
    if reporter.is_banned or reporter.status != "active":
        raise PermissionDenied(_("You may not report."))
    if target_type not in CASE_TARGETS:
        raise ServiceError(_("This cannot be reported."))
    if reason not in REPORT_REASONS:
        raise ServiceError(_("Please choose a reason."), "reason")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ServiceError(_("A note has at most %(n)d characters.", n=NOTE_MAX), "note")
    board_id, subject_id = _target(reporter, target_type, target_id)
    case = _open_case(target_type, target_id, "report", board_id, subject_id)
    already = _(
        "You have already reported this. The moderators will look at it; nothing was changed."
    )
    if (
        case.id is not None
        and db.session.execute(
            select(Report.id).where(Report.case_id == case.id, Report.reporter_id == reporter.id)
        ).first()
    ):
        db.session.rollback()
        raise ServiceError(already)
    try:
        with db.session.begin_nested():
            db.session.add(
                Report(case_id=case.id, reporter_id=reporter.id, reason=reason, note=note)
            )
    except IntegrityError:  # the same member's other tab, at the same moment
        db.session.rollback()
        raise ServiceError(already) from None
    db.session.execute(
        update(ReportCase)
        .where(ReportCase.id == case.id)
        .values(report_count=ReportCase.report_count + 1, last_reported_at=utcnow())
    )
    db.session.commit()
    db.session.refresh(case)
    return case


def open_held_case(post: Post, board_id: int, reasons: list[str] | None = None) -> ReportCase:
    """Open (or join) the ``held`` case of a post waiting for approval, in the caller's
    transaction (does not commit). ``reasons`` (``new_member``, ``word:<phrase>``) are
    written to the log as a ``hold`` row of the case (no actor), which the queue shows."""
    case = _open_case("post", post.id, "held", board_id, post.author_id)
    if case.kind != "held":
        case.kind = "held"
    if reasons:
        # Why it waits, for the queue and the record (the system's action: no actor).
        log_action(
            None,
            "hold",
            "post",
            post.id,
            board_id=board_id,
            subject_id=post.author_id,
            case_id=case.id,
            reasons=list(reasons),
        )
    return case


def close_post_cases(actor: Member, post_ids: list[int], resolution: str) -> int:
    """Resolve the open cases of these posts (deleted by a moderator outside the queue) in
    the caller's transaction. Returns how many were open."""
    if not post_ids:
        return 0
    return db.session.execute(
        update(ReportCase)
        .where(
            ReportCase.target_type == "post",
            ReportCase.target_id.in_(post_ids),
            ReportCase.status == "open",
        )
        .values(
            status="resolved",
            resolution=resolution,
            resolved_by_id=actor.id,
            resolved_at=utcnow(),
        )
    ).rowcount


def follow_thread_move(thread_id: int, board_id: int) -> None:
    """Open cases of a moved thread's posts follow it to its new board (caller commits)."""
    db.session.execute(
        update(ReportCase)
        .where(
            ReportCase.target_type == "post",
            ReportCase.status == "open",
            ReportCase.target_id.in_(select(Post.id).where(Post.thread_id == thread_id)),
        )
        .values(board_id=board_id)
    )


# -- the queue --------------------------------------------------------------------------------


@dataclass
class CaseView:
    """One row of the queue: the case, what it is about, and its reports summarised."""

    id: int
    kind: str
    target_type: str
    target_id: int
    board_id: int | None
    report_count: int
    created_at: datetime
    last_reported_at: datetime
    subject: Member | None = None
    #: post: {"excerpt", "thread_id", "thread_title", "number", "state", "deleted",
    #: "board_name", "board_slug"}; message: {"excerpt", "conversation_id", "hidden"}.
    target: dict[str, Any] = field(default_factory=dict)
    reasons: list[tuple[str, int]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (reporter name, note)
    #: Why a held post waits: ``new_member`` or ``word:<phrase>`` (from its ``hold`` log row).
    hold_reasons: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        """Is this a post waiting for approval (rather than a report)?"""
        return self.kind == "held"

    @property
    def gone(self) -> bool:
        """The target no longer exists (or was deleted)."""
        return not self.target or bool(self.target.get("deleted"))

    def actions(self) -> list[str]:
        """The actions that make sense for this case, in button order."""
        return case_actions(self.kind, self.target_type, self.gone)


def case_actions(kind: str, target_type: str, gone: bool = False) -> list[str]:
    """The actions offered for a case of ``kind`` on a ``target_type``."""
    if gone:
        return ["dismiss"]
    if kind == "held":
        # No "warn": it would close the case and leave the post waiting with no case.
        return ["approve", "delete", "suspend"]
    if target_type == "post":
        return ["dismiss", "hide", "delete", "warn", "suspend"]
    if target_type == "message":
        return ["dismiss", "hide", "warn", "suspend"]
    return ["dismiss", "warn", "suspend"]


def _excerpt(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def queue(
    member: Member | None, page: int = 1, board_id: int | None = None
) -> tuple[list[CaseView], int]:
    """One page of the open cases ``member`` may act on (one board's with ``board_id``),
    latest report first, and the number of pages. A fixed number of queries (eight at most),
    whatever the number of cases and reports."""
    where = _visible_cases(member, board_id)
    total = db.session.execute(select(func.count(ReportCase.id)).where(where)).scalar_one()
    pages = page_count(total, PER_PAGE)
    if not total:
        return [], pages
    cases = list(
        db.session.execute(
            select(ReportCase)
            .where(where)
            .order_by(ReportCase.last_reported_at.desc(), ReportCase.id.desc())
            .limit(PER_PAGE)
            .offset((page - 1) * PER_PAGE)
        ).scalars()
    )
    if not cases:
        return [], pages
    ids = [c.id for c in cases]
    views = {
        c.id: CaseView(
            c.id,
            c.kind,
            c.target_type,
            c.target_id,
            c.board_id,
            c.report_count,
            c.created_at,
            c.last_reported_at,
        )
        for c in cases
    }
    # Reasons with their counts, and each case's newest notes (one query each).
    for case_id, reason, n in db.session.execute(
        select(Report.case_id, Report.reason, func.count())
        .where(Report.case_id.in_(ids))
        .group_by(Report.case_id, Report.reason)
        .order_by(Report.case_id, func.count().desc(), Report.reason)
    ):
        views[case_id].reasons.append((reason, n))
    ranked = (
        select(
            Report.case_id,
            Report.note,
            Report.reporter_id,
            func.row_number()
            .over(partition_by=Report.case_id, order_by=Report.id.desc())
            .label("rank"),
        )
        .where(Report.case_id.in_(ids), Report.note != "")
        .subquery()
    )
    for case_id, note, name, display in db.session.execute(
        select(ranked.c.case_id, ranked.c.note, Member.username, Member.display_name)
        .join(Member, Member.id == ranked.c.reporter_id)
        .where(ranked.c.rank <= NOTES_SHOWN)
        .order_by(ranked.c.case_id, ranked.c.rank)
    ):
        views[case_id].notes.append((display or name, note))
    held_ids = [c.id for c in cases if c.kind == "held"]
    if held_ids:
        for case_id, details in db.session.execute(
            select(ModerationLog.case_id, ModerationLog.details)
            .where(ModerationLog.case_id.in_(held_ids), ModerationLog.action == "hold")
            .order_by(ModerationLog.id)
        ):
            for reason in (details or {}).get("reasons", []):
                if reason not in views[case_id].hold_reasons:
                    views[case_id].hold_reasons.append(str(reason))
    # The targets: posts (with thread and board), messages, and every subject member.
    post_ids = [c.target_id for c in cases if c.target_type == "post"]
    message_ids = [c.target_id for c in cases if c.target_type == "message"]
    member_ids = {c.subject_id for c in cases if c.subject_id} | {
        c.target_id for c in cases if c.target_type == "member"
    }
    posts: dict[int, dict[str, Any]] = {}
    messages: dict[int, dict[str, Any]] = {}
    if post_ids or message_ids:
        if post_ids:
            for row in db.session.execute(
                select(
                    Post.id,
                    Post.source,
                    Post.number,
                    Post.state,
                    Post.deleted_at,
                    Thread.id,
                    Thread.title,
                    Thread.deleted_at,
                    Board.name,
                    Board.slug,
                )
                .join(Thread, Post.thread_id == Thread.id)
                .join(Board, Thread.board_id == Board.id)
                .where(Post.id.in_(post_ids))
            ):
                posts[row[0]] = {
                    "excerpt": _excerpt(row[1]),
                    "number": row[2],
                    "state": row[3],
                    "deleted": row[4] is not None or row[7] is not None,
                    "thread_id": row[5],
                    "thread_title": row[6],
                    "board_name": row[8],
                    "board_slug": row[9],
                }
        if message_ids:
            for mid, source, conversation_id, hidden_at in db.session.execute(
                select(
                    Message.id, Message.source, Message.conversation_id, Message.hidden_at
                ).where(Message.id.in_(message_ids))
            ):
                messages[mid] = {
                    "excerpt": _excerpt(source),
                    "conversation_id": conversation_id,
                    "hidden": hidden_at is not None,
                }
    people = (
        {
            m.id: m
            for m in db.session.execute(select(Member).where(Member.id.in_(member_ids))).scalars()
        }
        if member_ids
        else {}
    )
    for case in cases:
        view = views[case.id]
        if case.target_type == "post":
            view.target = posts.get(case.target_id, {})
        elif case.target_type == "message":
            view.target = messages.get(case.target_id, {})
        else:
            target = people.get(case.target_id)
            view.target = {"member": True} if target is not None else {}
        view.subject = people.get(case.subject_id) if case.subject_id else None
    return [views[i] for i in ids], pages


# -- acting on a case -------------------------------------------------------------------------


def get_case(case_id: int, member: Member | None) -> ReportCase:
    """The case if ``member`` may act on it: :class:`NotFound` when there is no such case,
    :class:`PermissionDenied` when it belongs to a board the member does not moderate."""
    case = db.session.get(ReportCase, case_id)
    if case is None:
        raise NotFound("case")
    if not can_act(member, case):
        raise PermissionDenied(_("You may not act on this report."))
    return case


def _claim(case: ReportCase, actor: Member, action: str) -> None:
    """Resolve the case if it is still open (the conditional UPDATE two moderators race on)."""
    claimed = db.session.execute(
        update(ReportCase)
        .where(ReportCase.id == case.id, ReportCase.status == "open")
        .values(
            status="resolved",
            resolution=ACTIONS[action],
            resolved_by_id=actor.id,
            resolved_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise ServiceError(_("This report has already been handled. Nothing was changed."))


def _reporter_ids(case_id: int) -> list[int]:
    return list(
        db.session.execute(select(Report.reporter_id).where(Report.case_id == case_id)).scalars()
    )


def _notify(
    case: ReportCase,
    actor: Member,
    action: str,
    reason: str,
    *,
    subject_action: str | None,
    thread_id: int | None = None,
    post_id: int | None = None,
    title: str = "",
    url: str = "",
) -> None:
    from forum.services import notifications

    reporters = [r for r in _reporter_ids(case.id) if r != case.subject_id]
    if reporters:
        notifications.notify_many(
            reporters,
            "moderation",
            actor_id=actor.id,
            thread_id=thread_id,
            post_id=post_id,
            title=title,
            url=url,
            data={"action": action, "role": "reporter", "reason": reason},
        )
    if subject_action and case.subject_id:
        notifications.notify(
            case.subject_id,
            "moderation",
            actor_id=actor.id,
            thread_id=thread_id,
            post_id=post_id,
            title=title,
            url=url,
            data={"action": subject_action, "role": "subject", "reason": reason},
        )


def act(
    actor: Member,
    case_id: int,
    action: str,
    reason: str = "",
    *,
    days: int | None = None,
) -> ReportCase:
    """Take ``action`` on the open case ``case_id`` and resolve it. Commits.

    ``approve`` publishes a held post; ``dismiss`` closes a report with no action (an
    ``approve`` of a report is a dismissal); ``hide`` hides a post or message; ``delete``
    deletes a post (its thread, for a first post); ``warn`` counts a warning on the subject;
    ``suspend`` bans the subject for ``days`` (1, 3, 7 or 30; None: permanently; site
    moderators only, never yourself nor, for a non-admin, an administrator; a held post of
    the suspended member is deleted, as it would otherwise wait with no case). Reporters are
    notified (role ``reporter``), the subject too (role ``subject``) when the action touches
    them. Refused with nothing changed: a case the actor may not act on
    (:class:`PermissionDenied`), an action that does not fit the case, a case already handled.
    """
    from forum.services import members, posting

    case = get_case(case_id, actor)
    if action not in ACTIONS:
        raise ServiceError(_("Unknown action."))
    reason = " ".join((reason or "").split())[:REASON_MAX]
    post = thread = message = subject = None
    if case.target_type == "post":
        post = db.session.get(Post, case.target_id)
        thread = db.session.get(Thread, post.thread_id) if post is not None else None
        if thread is not None and not (
            permissions.is_admin(actor) or permissions.is_moderator(actor, thread.board_id)
        ):
            raise PermissionDenied(_("You may not act on this report."))
    elif case.target_type == "message":
        message = db.session.get(Message, case.target_id)
    if case.subject_id is not None:
        subject = db.session.get(Member, case.subject_id)
    gone = (
        (case.target_type == "post" and (post is None or post.deleted_at or thread.deleted_at))
        or (case.target_type == "message" and message is None)
        or (case.target_type == "member" and subject is None)
    )
    if case.status != "open":
        raise ServiceError(_("This report has already been handled. Nothing was changed."))
    if action == "approve" and case.kind == "report":
        action = "dismiss"
    if action not in case_actions(case.kind, case.target_type, bool(gone)):
        raise ServiceError(_("This action does not apply to this report."))
    if action in ("warn", "suspend") and subject is None:
        raise ServiceError(_("This member no longer exists."))
    until = None
    if action == "suspend":
        if not is_site_moderator(actor):
            raise PermissionDenied(_("Only site moderators may suspend members."))
        if subject.id == actor.id:
            raise ServiceError(_("Refused: you cannot ban yourself. Nothing was changed."))
        if permissions.is_admin(subject) and not permissions.is_admin(actor):
            raise PermissionDenied(_("Only administrators may suspend an administrator."))
        if days not in SUSPEND_DAYS:
            raise ServiceError(_("Please choose how long the suspension lasts."), "days")
        if not reason:
            raise ServiceError(_("Please give a reason for the suspension."), "reason")
        until = utcnow() + timedelta(days=days) if days else None
    board_id = thread.board_id if thread is not None else case.board_id
    target_type = case.target_type
    target_id = case.target_id
    thread_id = thread.id if thread is not None else None
    post_id = post.id if post is not None else None
    title = thread.title if thread is not None else ""
    if case.target_type == "member" and subject is not None:
        title = subject.name
    elif message is not None:
        conversation = db.session.get(Conversation, message.conversation_id)
        title = conversation.subject if conversation is not None else ""
    url = f"/p/{post.id}" if post is not None else ""
    details: dict[str, Any] = {"case_kind": case.kind, "reports": case.report_count}

    _claim(case, actor, action)
    subject_action: str | None = action if action != "dismiss" else None
    emit: list[tuple[str, dict[str, Any]]] = []
    if action == "approve":  # a held post
        emit = posting.publish_held(post, thread)
        _bump_post(thread)
    elif action == "hide":
        if post is not None:
            post.state = "hidden"
            _bump_post(thread)
            emit = [("post_hidden", {"post": post, "thread": thread, "member": actor})]
        else:
            message.hidden_at = utcnow()
    elif action == "warn":
        db.session.execute(
            update(Member)
            .where(Member.id == subject.id)
            .values(warning_count=Member.warning_count + 1)
        )
        if thread is not None:
            _bump_post(thread)  # the trust card on the thread page shows warnings
    elif action == "suspend":
        details["until"] = until
        details["days"] = days
        if case.kind == "held":
            details["post_deleted"] = True
    elif action == "delete" and post is not None:
        details["thread_id"] = thread.id
        details["number"] = post.number
    log_action(
        actor,
        action,
        target_type,
        target_id,
        board_id=board_id,
        subject_id=subject.id if subject is not None else None,
        case_id=case.id,
        reason=reason,
        **details,
    )
    _notify(
        case,
        actor,
        action,
        reason,
        subject_action=subject_action,
        thread_id=thread_id,
        post_id=post_id,
        title=title,
        url=url,
    )
    try:
        if action == "suspend":
            members.ban(subject, reason, until)  # commits; refuses the last admin
            if case.kind == "held" and post is not None:
                posting.delete_post(actor, post, log=False)  # commits
        elif action == "delete":
            posting.delete_post(actor, post, log=False)  # commits
        else:
            db.session.commit()
    except ServiceError:
        db.session.rollback()
        raise
    for name, kwargs in emit:
        from forum.services import events

        events.emit(name, **kwargs)
    db.session.refresh(case)
    return case


def open_case_of(target_type: str, target_id: int) -> ReportCase | None:
    """The open case of a post, member or message, if it has one."""
    return db.session.execute(
        select(ReportCase).where(
            ReportCase.target_type == target_type,
            ReportCase.target_id == target_id,
            ReportCase.status == "open",
        )
    ).scalar_one_or_none()


def approve_post(actor: Member, post: Post, reason: str = "") -> ReportCase:
    """Approve a held post from its thread page: :func:`act` ``approve`` on its open case.
    Commits. Refused with nothing changed when the post is not waiting (any more)."""
    case = open_case_of("post", post.id)
    if case is None or case.kind != "held" or post.state != "held":
        thread = db.session.get(Thread, post.thread_id)
        if thread is None or not (
            permissions.is_admin(actor) or permissions.is_moderator(actor, thread.board_id)
        ):
            raise PermissionDenied(_("You may not act on this report."))
        raise ServiceError(_("This post is not waiting for approval. Nothing was changed."))
    return act(actor, case.id, "approve", reason)


def unhide_post(actor: Member, post: Post, reason: str = "") -> None:
    """Show a hidden post again (moderators of its board). Logged (``unhide``). Commits."""
    thread = db.session.get(Thread, post.thread_id)
    if thread is None or not permissions.is_moderator(actor, thread.board_id):
        raise PermissionDenied(_("You may not act on this post."))
    if post.state != "hidden":
        raise ServiceError(_("This post is not hidden. Nothing was changed."))
    claimed = db.session.execute(
        update(Post)
        .where(Post.id == post.id, Post.state == "hidden")
        .values(state="published")
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise ServiceError(_("This post is not hidden. Nothing was changed."))
    log_action(
        actor,
        "unhide",
        "post",
        post.id,
        board_id=thread.board_id,
        subject_id=post.author_id,
        reason=" ".join((reason or "").split())[:REASON_MAX],
        thread_id=thread.id,
        number=post.number,
    )
    _bump_post(thread)
    db.session.commit()
    db.session.refresh(post)


def _bump_post(thread: Thread | None) -> None:
    if thread is not None:
        versions.changed("thread", thread.id)
        versions.changed("board", thread.board_id)


# -- the log ----------------------------------------------------------------------------------


@dataclass
class LogEntry:
    """A moderation log row with the names it mentions."""

    row: ModerationLog
    actor_name: str
    actor_username: str
    subject_name: str
    subject_username: str
    board_name: str
    board_slug: str
    #: For entries about a post: its thread and number (else None and "").
    post_number: int | None = None
    thread_id: int | None = None
    thread_title: str = ""


def log_entries(
    member: Member | None,
    page: int = 1,
    *,
    action: str = "",
    who: str = "",
) -> tuple[list[LogEntry], int]:
    """One page of the moderation log ``member`` may read, newest first, and the page count.

    Administrators read everything; moderators the entries of the boards they moderate
    (site moderators also the queue's entries about members and messages). ``action``
    narrows to one action, ``who`` to entries whose actor or subject has that username.
    Two queries (three with ``who``).
    """
    if not permissions.is_admin(member):
        boards = moderated_board_ids(member)
        parts = []
        if boards:
            parts.append(ModerationLog.board_id.in_(sorted(boards)))
        if is_site_moderator(member):
            parts.append(
                and_(
                    ModerationLog.board_id.is_(None),
                    ModerationLog.case_id.is_not(None),
                    ModerationLog.target_type.in_(("member", "message")),
                )
            )
        if not parts:
            raise PermissionDenied(_("Only moderators may read the moderation log."))
        where = [or_(*parts)]
    else:
        where = []
    if action:
        where.append(ModerationLog.action == action)
    if who:
        from forum.services.members import username_key

        found = db.session.execute(
            select(Member.id).where(Member.username_key == username_key(who))
        ).scalar_one_or_none()
        if found is None:
            return [], 1
        where.append(or_(ModerationLog.actor_id == found, ModerationLog.subject_id == found))
    total = db.session.execute(select(func.count(ModerationLog.id)).where(*where)).scalar_one()
    pages = page_count(total, LOG_PER_PAGE)
    actor = aliased(Member)
    subject = aliased(Member)
    rows = db.session.execute(
        select(
            ModerationLog,
            actor.display_name,
            actor.username,
            subject.display_name,
            subject.username,
            Board.name,
            Board.slug,
            Post.number,
            Thread.id,
            Thread.title,
        )
        .outerjoin(actor, actor.id == ModerationLog.actor_id)
        .outerjoin(subject, subject.id == ModerationLog.subject_id)
        .outerjoin(Board, Board.id == ModerationLog.board_id)
        .outerjoin(
            Post, and_(ModerationLog.target_type == "post", Post.id == ModerationLog.target_id)
        )
        .outerjoin(Thread, Thread.id == Post.thread_id)
        .where(*where)
        .order_by(ModerationLog.id.desc())
        .limit(LOG_PER_PAGE)
        .offset((page - 1) * LOG_PER_PAGE)
    ).all()
    return [
        LogEntry(
            row,
            a_display or a_name or "",
            a_name or "",
            s_display or s_name or "",
            s_name or "",
            b_name or "",
            b_slug or "",
            number,
            thread_id,
            thread_title or "",
        )
        for (
            row,
            a_display,
            a_name,
            s_display,
            s_name,
            b_name,
            b_slug,
            number,
            thread_id,
            thread_title,
        ) in rows
    ], pages
