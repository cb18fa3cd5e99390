"""Threads and posts: start, reply, edit, delete, restore, lock, pin, move.

Every write keeps the denormalised counters (board, thread, member) right in the same
transaction with atomic ``UPDATE … SET n = n + 1`` statements, so concurrent posts never lose
a count. A reply takes its number from ``UPDATE thread SET last_number = last_number + 1
… RETURNING last_number``: two replies at once can never get the same number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from forum import plugins
from forum.extensions import db
from forum.markup import mention_candidates, render
from forum.models import Board, Member, Post, PostRevision, Thread, ThreadRead
from forum.models.base import utcnow
from forum.services import events, moderation, permissions, safeguards, versions
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.services.reading import PostView

TITLE_MAX = 120
BODY_MAX = 50_000


def _render(source: str) -> str:
    names = mention_candidates(source)
    known: set[str] = set()
    if names:
        known = set(
            db.session.execute(
                select(Member.username_key).where(Member.username_key.in_(names))
            ).scalars()
        )
    return render(source, known)


def _bump(thread_id: int | None, *board_ids: int) -> None:
    """Renew, at commit, the page-cache stamps of the thread and boards this write changes."""
    if thread_id is not None:
        versions.changed("thread", thread_id)
    for board_id in board_ids:
        versions.changed("board", board_id)


def validate_title(title: str) -> str:
    """The cleaned title, or :class:`ServiceError` on the ``title`` field."""
    title = " ".join((title or "").split())
    if len(title) < 2:
        raise ServiceError(_("The title needs at least 2 characters."), "title")
    if len(title) > TITLE_MAX:
        raise ServiceError(_("The title has at most %(n)d characters.", n=TITLE_MAX), "title")
    return title


def validate_body(body: str) -> str:
    """The post text with trailing space removed, or :class:`ServiceError` on ``body``."""
    body = (body or "").rstrip()
    if not body.strip():
        raise ServiceError(_("The post is empty."), "body")
    if len(body) > BODY_MAX:
        raise ServiceError(_("A post has at most %(n)d characters.", n=BODY_MAX), "body")
    return body


def get_board(slug: str, member: Member | None) -> Board:
    """The board with this slug if ``member`` may view it, else :class:`NotFound`."""
    board = db.session.execute(select(Board).where(Board.slug == slug)).scalar_one_or_none()
    if board is None or not permissions.can(member, "view", board.id):
        raise NotFound("board")
    return board


def get_thread(thread_id: int, member: Member | None) -> Thread:
    """The thread (with its board loaded) if ``member`` may read it.

    :class:`NotFound` when the board is invisible or the thread deleted (moderators still
    see deleted threads); :class:`PermissionDenied` when the board is visible but not readable.
    """
    row = db.session.execute(
        select(Thread, Board).join(Board, Thread.board_id == Board.id).where(Thread.id == thread_id)
    ).first()
    if row is None:
        raise NotFound("thread")
    thread, board = row
    set_committed_value(thread, "board", board)
    permissions.require(member, "read", board.id)
    if thread.deleted_at is not None and not permissions.is_moderator(member, board.id):
        raise NotFound("thread")
    if thread.held and not _author_or_moderator(member, thread.author_id, board.id):
        raise NotFound("thread")  # waiting for approval: its author and moderators only
    return thread


def _author_or_moderator(member: Member | None, author_id: int, board_id: int) -> bool:
    if member is None or not getattr(member, "is_authenticated", False):
        return False
    return member.id == author_id or permissions.is_moderator(member, board_id)


def get_post(post_id: int, member: Member | None) -> Post:
    """The post if ``member`` may read its thread (deleted posts: moderators and author)."""
    post = db.session.get(Post, post_id)
    if post is None:
        raise NotFound("post")
    thread = get_thread(post.thread_id, member)
    if post.state == "held" and not _author_or_moderator(member, post.author_id, thread.board_id):
        raise NotFound("post")
    set_committed_value(post, "thread", thread)
    return post


def _add_post(
    thread: Thread,
    number: int,
    author: Member,
    body: str,
    now,
    *,
    new_thread: bool,
    held: bool = False,
) -> Post:
    """Insert post ``number`` and count it on the board (as its latest) and the author.

    A ``held`` post (waiting for approval) is counted nowhere until :func:`publish_held`."""
    post = Post(
        thread_id=thread.id,
        number=number,
        author_id=author.id,
        source=body,
        html=_render(body),
        created_at=now,
        state="held" if held else "published",
    )
    db.session.add(post)
    db.session.flush()
    if not held:
        _count_new_post(thread, post, author, now, new_thread=new_thread)
    return post


def _count_new_post(thread: Thread, post: Post, author: Member, now, *, new_thread: bool) -> None:
    """Count a published post on its board (as the board's latest) and on its author."""
    db.session.execute(
        update(Board)
        .where(Board.id == thread.board_id)
        .values(
            thread_count=Board.thread_count + (1 if new_thread else 0),
            post_count=Board.post_count + 1,
            last_thread_id=thread.id,
            last_post_id=post.id,
            last_post_at=now,
            last_poster_name=author.name,
            last_thread_title=thread.title,
        )
    )
    db.session.execute(
        update(Member)
        .where(Member.id == author.id)
        .values(
            post_count=Member.post_count + 1,
            thread_count=Member.thread_count + (1 if new_thread else 0),
        )
    )


def allowed_kinds(board: Board) -> list[str]:
    """The thread kinds members may start on ``board`` now: those the board allows that the
    core (``discussion``) or an enabled plugin provides, in the board's order."""
    available = plugins.thread_kinds()
    return [k for k in board.kinds if k == "discussion" or k in available]


def kind_values(kind: str, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Parse the extra composer fields of thread kind ``kind`` (form text or typed values).

    Raises :class:`ServiceError` naming the first field that is wrong.
    """
    if kind == "discussion":
        return {}
    spec = plugins.thread_kinds()[kind][1]
    raw = raw or {}
    values: dict[str, Any] = {}
    for f in spec.fields:
        value = raw.get(f.name)
        text = value if value is None or isinstance(value, str) else f.format(value)
        try:
            values[f.name] = f.parse(text)
        except ValueError as exc:
            raise ServiceError(str(exc), f.name) from None
    return values


def create_thread(
    author: Member,
    board: Board,
    title: str,
    body: str,
    kind: str = "discussion",
    fields: Mapping[str, Any] | None = None,
) -> Thread:
    """Start a thread with its first post. Commits and returns the thread.

    ``kind`` must be allowed on the board (see :func:`allowed_kinds`); ``fields`` are the
    kind's extra composer fields, checked by the kind's plugin, which stores its own data
    for the thread in the same transaction. Enabled plugins' ``forum_before_post`` may
    refuse; ``forum_thread_created`` and ``forum_post_created`` follow the commit.
    """
    permissions.require(author, "start_thread", board.id)
    if kind not in allowed_kinds(board):
        raise ServiceError(_("This board does not allow this kind of thread."), "kind")
    title = validate_title(title)
    body = validate_body(body)
    values = kind_values(kind, fields)
    spec = plugins.thread_kinds()[kind][1] if kind != "discussion" else None
    if spec is not None and spec.validate is not None:
        checked = spec.validate(values, member=author, board=board)
        if checked is not None:
            values = dict(checked)
    screened = safeguards.screen(author, board.id, body, title)
    body, title = screened.body, screened.title
    plugins.check_before(
        "forum_before_post", member=author, board=board, thread=None, body=body, kind=kind
    )
    now = utcnow()
    thread = Thread(
        board_id=board.id,
        author_id=author.id,
        kind=kind,
        title=title,
        created_at=now,
        last_post_at=now,
        last_number=1,
        last_poster_name=author.name,
        held=screened.held,
    )
    db.session.add(thread)
    db.session.flush()
    post = _add_post(thread, 1, author, body, now, new_thread=True, held=screened.held)
    thread.first_post_id = post.id
    thread.last_post_id = post.id
    if spec is not None and spec.on_create is not None:
        spec.on_create(thread, post, values)
    if screened.held:
        moderation.open_held_case(post, board.id, screened.hold_reasons)
    _bump(None, board.id)
    db.session.commit()
    if screened.held:  # published (and announced) when a moderator approves it
        return thread
    events.emit("thread_created", thread=thread, post=post, member=author)
    events.emit("post_created", post=post, thread=thread, member=author)
    return thread


def reply(author: Member, thread: Thread, body: str) -> Post:
    """Add a post to ``thread``. Locked threads take replies from moderators only. Commits."""
    permissions.require(author, "reply", thread.board_id)
    moderator = permissions.is_moderator(author, thread.board_id)
    if thread.deleted_at is not None and not moderator:
        raise NotFound("thread")
    if thread.is_locked and not moderator:
        raise PermissionDenied(_("This thread is locked."))
    if thread.held:
        raise ServiceError(_("This thread is waiting for approval; replies can follow then."))
    body = validate_body(body)
    screened = safeguards.screen(author, thread.board_id, body)
    body = screened.body
    if plugins.has_impls("forum_before_post"):
        plugins.check_before(
            "forum_before_post",
            member=author,
            board=db.session.get(Board, thread.board_id),
            thread=thread,
            body=body,
            kind=thread.kind,
        )
    now = utcnow()
    # A held reply takes its number now but counts nowhere until it is approved.
    counted = (
        {}
        if screened.held
        else {
            "reply_count": Thread.reply_count + 1,
            "last_post_at": now,
            "last_poster_name": author.name,
        }
    )
    number = db.session.execute(
        update(Thread)
        .where(Thread.id == thread.id)
        .values(last_number=Thread.last_number + 1, **counted)
        .returning(Thread.last_number)
    ).scalar_one()
    post = _add_post(thread, number, author, body, now, new_thread=False, held=screened.held)
    if screened.held:
        moderation.open_held_case(post, thread.board_id, screened.hold_reasons)
    else:
        db.session.execute(
            update(Thread).where(Thread.id == thread.id).values(last_post_id=post.id)
        )
    _bump(thread.id, thread.board_id)
    db.session.commit()
    db.session.refresh(thread)
    if not screened.held:
        events.emit("post_created", post=post, thread=thread, member=author)
    return post


def publish_held(post: Post, thread: Thread) -> list[tuple[str, dict[str, Any]]]:
    """Publish an approved held post: count it (board, thread, author; a held first post
    publishes its thread), make it the thread's and board's latest. In the caller's
    transaction (does not commit). Returns the events to emit after the commit
    (``thread_created`` for a first post, then ``post_created``)."""
    if post.state != "held":
        return []
    author = db.session.get(Member, post.author_id)
    now = utcnow()
    post.state = "published"
    new_thread = post.number == 1
    if new_thread:
        thread.held = False
        thread.last_post_at = now
    else:
        db.session.execute(
            update(Thread).where(Thread.id == thread.id).values(reply_count=Thread.reply_count + 1)
        )
    db.session.flush()
    _count_new_post(thread, post, author, now, new_thread=new_thread)
    db.session.flush()
    db.session.refresh(thread)
    if not new_thread:
        _refresh_last_post(thread)
        if post.id == thread.last_post_id:
            thread.last_post_at = now  # approval brings the thread up, as a new reply would
    db.session.flush()
    _refresh_board_last(thread.board_id)
    _bump(thread.id, thread.board_id)
    result: list[tuple[str, dict[str, Any]]] = []
    if new_thread:
        result.append(("thread_created", {"thread": thread, "post": post, "member": author}))
    result.append(("post_created", {"post": post, "thread": thread, "member": author}))
    return result


def can_edit(member: Member | None, post: Post | PostView, thread: Thread) -> bool:
    """Authors edit their own posts while the thread is open; moderators edit any post."""
    if member is None or not getattr(member, "is_authenticated", False):
        return False
    if permissions.is_moderator(member, thread.board_id):
        return True
    return (
        post.author_id == member.id
        and post.deleted_at is None
        and not thread.is_locked
        and permissions.can(member, "reply", thread.board_id)
    )


def edit_post(editor: Member, post: Post, body: str, title: str | None = None) -> Post:
    """Change a post's text (and the thread title for a first post), keeping the old text as a
    revision. Commits."""
    thread = db.session.get(Thread, post.thread_id)
    if not can_edit(editor, post, thread):
        raise PermissionDenied(_("You may not edit this post."))
    body = validate_body(body)
    new_title = validate_title(title) if (title is not None and post.number == 1) else None
    screened = safeguards.screen(
        editor,
        thread.board_id,
        body,
        new_title,
        new_post=False,
        previous=f"{post.source}\n{thread.title if post.number == 1 else ''}",
    )
    body, new_title = screened.body, screened.title
    if body == post.source and (new_title is None or new_title == thread.title):
        return post
    count = db.session.execute(
        select(func.count()).select_from(PostRevision).where(PostRevision.post_id == post.id)
    ).scalar_one()
    if count == 0:  # keep the original as revision 1
        db.session.add(
            PostRevision(
                post_id=post.id,
                revision=1,
                source=post.source,
                title=thread.title if post.number == 1 else None,
                editor_id=post.author_id,
                created_at=post.created_at,
            )
        )
        count = 1
    post.source = body
    post.html = _render(body)
    post.edited_at = utcnow()
    post.edit_count += 1
    if new_title is not None:
        thread.title = new_title
    db.session.add(
        PostRevision(
            post_id=post.id,
            revision=count + 1,
            source=body,
            title=thread.title if post.number == 1 else None,
            editor_id=editor.id,
        )
    )
    _bump(thread.id, thread.board_id)
    db.session.commit()
    events.emit("post_edited", post=post, thread=thread, editor=editor)
    return post


def revisions(post: Post) -> list[PostRevision]:
    """A post's revisions, oldest first (empty when it was never edited)."""
    return list(
        db.session.execute(
            select(PostRevision)
            .where(PostRevision.post_id == post.id)
            .order_by(PostRevision.revision)
        ).scalars()
    )


def _refresh_last_post(thread: Thread) -> None:
    last = db.session.execute(
        select(Post.id, Post.created_at, Member.display_name, Member.username)
        .join(Member, Post.author_id == Member.id)
        .where(Post.thread_id == thread.id, Post.deleted_at.is_(None), Post.state != "held")
        .order_by(Post.number.desc())
        .limit(1)
    ).first()
    if last is not None:
        thread.last_post_id = last.id
        thread.last_post_at = last.created_at
        thread.last_poster_name = last.display_name or last.username


def _refresh_board_last(board_id: int) -> None:
    last = db.session.execute(
        select(Thread)
        .where(Thread.board_id == board_id, Thread.deleted_at.is_(None), Thread.held.is_(False))
        .order_by(Thread.last_post_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    values = {
        "last_thread_id": last.id if last else None,
        "last_post_id": last.last_post_id if last else None,
        "last_post_at": last.last_post_at if last else None,
        "last_poster_name": last.last_poster_name if last else "",
        "last_thread_title": last.title if last else "",
    }
    db.session.execute(update(Board).where(Board.id == board_id).values(**values))


def delete_post(member: Member, post: Post, *, log: bool = True) -> None:
    """Soft-delete a post (its number stays). Deleting the first post deletes the thread.

    Authors may delete their own replies; moderators anything (logged in the moderation log
    unless ``log`` is False: the queue logs its own action). Open moderation cases of the
    post are resolved. Commits.
    """
    thread = db.session.get(Thread, post.thread_id)
    moderator = permissions.is_moderator(member, thread.board_id)
    if not moderator and (post.author_id != member.id or post.number == 1 or thread.is_locked):
        raise PermissionDenied(_("You may not delete this post."))
    if post.number == 1:
        return delete_thread(member, thread, log=log)
    if post.deleted_at is not None:
        return
    post.deleted_at = utcnow()
    post.deleted_by_id = member.id
    moderation.close_post_cases(member, [post.id], "deleted")
    if log and moderator and post.author_id != member.id:
        moderation.log_action(
            member,
            "delete_post",
            "post",
            post.id,
            board_id=thread.board_id,
            subject_id=post.author_id,
            thread_id=thread.id,
            number=post.number,
        )
    if post.state == "held":  # never counted: nothing to take away
        _bump(thread.id, thread.board_id)
        db.session.commit()
        return
    _count_reply(thread, post, -1)
    events.emit("post_deleted", post=post, thread=thread, member=member)


def _count_reply(thread: Thread, post: Post, sign: int) -> None:
    """Count a reply in (``sign`` 1, restored) or out (-1, deleted) everywhere, refresh the
    thread's and board's last post, and commit."""
    db.session.execute(
        update(Thread).where(Thread.id == thread.id).values(reply_count=Thread.reply_count + sign)
    )
    db.session.execute(
        update(Board).where(Board.id == thread.board_id).values(post_count=Board.post_count + sign)
    )
    db.session.execute(
        update(Member)
        .where(Member.id == post.author_id)
        .values(post_count=Member.post_count + sign)
    )
    db.session.flush()
    _refresh_last_post(thread)
    db.session.flush()
    _refresh_board_last(thread.board_id)
    _bump(thread.id, thread.board_id)
    db.session.commit()


def restore_post(member: Member, post: Post) -> None:
    """Undo a soft delete (moderators). Commits."""
    thread = db.session.get(Thread, post.thread_id)
    if not permissions.is_moderator(member, thread.board_id):
        raise PermissionDenied(_("You may not restore this post."))
    if post.number == 1:
        return restore_thread(member, thread)
    if post.deleted_at is None:
        return
    post.deleted_at = None
    post.deleted_by_id = None
    moderation.log_action(
        member,
        "restore_post",
        "post",
        post.id,
        board_id=thread.board_id,
        subject_id=post.author_id,
        thread_id=thread.id,
        number=post.number,
    )
    if post.state == "held":  # back in the queue, still uncounted
        moderation.open_held_case(post, thread.board_id)
        _bump(thread.id, thread.board_id)
        db.session.commit()
        return
    _count_reply(thread, post, 1)
    events.emit("post_restored", post=post, thread=thread, member=member)


def _live_post_count(thread: Thread) -> int:
    return thread.reply_count + 1


def _shift_author_post_counts(thread: Thread, sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) the thread's live posts from their authors' counts."""
    rows = db.session.execute(
        select(Post.author_id, func.count())
        .where(Post.thread_id == thread.id, Post.deleted_at.is_(None), Post.state != "held")
        .group_by(Post.author_id)
    ).all()
    for author_id, n in rows:
        db.session.execute(
            update(Member)
            .where(Member.id == author_id)
            .values(post_count=Member.post_count + sign * n)
        )


def delete_thread(member: Member, thread: Thread, *, log: bool = True) -> None:
    """Soft-delete a whole thread (moderators). Counters leave the board. Logged in the
    moderation log (unless ``log`` is False); open cases of its first post resolved. Commits."""
    if not permissions.is_moderator(member, thread.board_id):
        raise PermissionDenied(_("You may not delete this thread."))
    if thread.deleted_at is not None:
        return
    thread.deleted_at = utcnow()
    if thread.first_post_id is not None:
        moderation.close_post_cases(member, [thread.first_post_id], "deleted")
    if log:
        moderation.log_action(
            member,
            "delete_thread",
            "thread",
            thread.id,
            board_id=thread.board_id,
            subject_id=thread.author_id,
            title=thread.title,
        )
    if thread.held:  # never counted: nothing to take away
        _bump(thread.id, thread.board_id)
        db.session.commit()
        return
    db.session.execute(
        update(Board)
        .where(Board.id == thread.board_id)
        .values(
            thread_count=Board.thread_count - 1,
            post_count=Board.post_count - _live_post_count(thread),
        )
    )
    db.session.execute(
        update(Member)
        .where(Member.id == thread.author_id)
        .values(thread_count=Member.thread_count - 1)
    )
    _shift_author_post_counts(thread, -1)
    db.session.flush()
    _refresh_board_last(thread.board_id)
    _bump(thread.id, thread.board_id)
    db.session.commit()
    if thread.first_post_id is not None:  # plugins, and search (the thread leaves it)
        first = db.session.get(Post, thread.first_post_id)
        events.emit("post_deleted", post=first, thread=thread, member=member)


def restore_thread(member: Member, thread: Thread) -> None:
    """Undo :func:`delete_thread` (moderators). Commits."""
    if not permissions.is_moderator(member, thread.board_id):
        raise PermissionDenied(_("You may not restore this thread."))
    if thread.deleted_at is None:
        return
    thread.deleted_at = None
    moderation.log_action(
        member,
        "restore_thread",
        "thread",
        thread.id,
        board_id=thread.board_id,
        subject_id=thread.author_id,
        title=thread.title,
    )
    if thread.held:  # back in the queue, still uncounted
        first = db.session.get(Post, thread.first_post_id) if thread.first_post_id else None
        if first is not None:
            moderation.open_held_case(first, thread.board_id)
        _bump(thread.id, thread.board_id)
        db.session.commit()
        return
    db.session.execute(
        update(Board)
        .where(Board.id == thread.board_id)
        .values(
            thread_count=Board.thread_count + 1,
            post_count=Board.post_count + _live_post_count(thread),
        )
    )
    db.session.execute(
        update(Member)
        .where(Member.id == thread.author_id)
        .values(thread_count=Member.thread_count + 1)
    )
    _shift_author_post_counts(thread, 1)
    db.session.flush()
    _refresh_board_last(thread.board_id)
    _bump(thread.id, thread.board_id)
    db.session.commit()
    events.emit("thread_restored", thread=thread, member=member)


def _log_thread(member: Member, action: str, thread: Thread, **details: Any) -> None:
    moderation.log_action(
        member,
        action,
        "thread",
        thread.id,
        board_id=thread.board_id,
        subject_id=thread.author_id,
        title=thread.title,
        **details,
    )


def set_locked(member: Member, thread: Thread, locked: bool) -> None:
    """Lock or unlock a thread (moderators). Commits."""
    if not permissions.is_moderator(member, thread.board_id):
        raise PermissionDenied(_("Only moderators may lock threads."))
    if thread.is_locked != locked:
        _log_thread(member, "lock" if locked else "unlock", thread)
    thread.status = "locked" if locked else "open"
    _bump(thread.id, thread.board_id)
    db.session.commit()


def set_pinned(member: Member, thread: Thread, pinned: bool) -> None:
    """Pin a thread to the top of its board, or unpin it (moderators). Commits."""
    if not permissions.is_moderator(member, thread.board_id):
        raise PermissionDenied(_("Only moderators may pin threads."))
    if thread.pinned != pinned:
        _log_thread(member, "pin" if pinned else "unpin", thread)
    thread.pinned = pinned
    _bump(thread.id, thread.board_id)
    db.session.commit()


def move_thread(member: Member, thread: Thread, target: Board) -> None:
    """Move a thread to another board; both boards' counters follow (moderators of both)."""
    if not (
        permissions.is_moderator(member, thread.board_id)
        and permissions.is_moderator(member, target.id)
    ):
        raise PermissionDenied(_("You need to moderate both boards to move a thread."))
    if target.id == thread.board_id:
        return
    source_id = thread.board_id
    live = thread.deleted_at is None and not thread.held
    _log_thread(member, "move", thread, from_board=source_id, to_board=target.id)
    thread.board_id = target.id
    moderation.follow_thread_move(thread.id, target.id)
    if live:
        n = _live_post_count(thread)
        db.session.execute(
            update(Board)
            .where(Board.id == source_id)
            .values(thread_count=Board.thread_count - 1, post_count=Board.post_count - n)
        )
        db.session.execute(
            update(Board)
            .where(Board.id == target.id)
            .values(thread_count=Board.thread_count + 1, post_count=Board.post_count + n)
        )
    db.session.flush()
    _refresh_board_last(source_id)
    _refresh_board_last(target.id)
    _bump(thread.id, source_id, target.id)
    db.session.commit()
    events.emit("thread_moved", thread=thread, from_board_id=source_id, member=member)


def mark_read(member: Member, thread: Thread, number: int) -> None:
    """Remember that ``member`` has seen ``thread`` up to post ``number``. Commits."""
    row = db.session.get(ThreadRead, (member.id, thread.id))
    if row is None:
        db.session.add(ThreadRead(member_id=member.id, thread_id=thread.id, last_number=number))
    elif row.last_number >= number:
        return
    else:
        row.last_number = number
    try:
        db.session.commit()
    except IntegrityError:  # the same member's other tab inserted the row first
        db.session.rollback()
