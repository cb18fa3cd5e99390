"""Read-side queries for pages. Each returns what a page needs in a fixed number of queries,
whatever the number of boards, threads, posts or members (tests assert the counts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from forum import plugins
from forum.extensions import db
from forum.models import Board, Category, Member, Post, Thread, ThreadRead
from forum.services import permissions
from forum.services.paging import page_count


@dataclass
class CategoryRow:
    """A category heading and its visible boards."""

    category: Category
    boards: list[Board]


def board_index(member: Member | None) -> list[CategoryRow]:
    """Categories with the boards ``member`` may view, in order (one query)."""
    visible = permissions.visible_board_ids(member, "view")
    rows = db.session.execute(
        select(Board, Category)
        .join(Category, Board.category_id == Category.id)
        .order_by(Category.position, Category.id, Board.position, Board.id)
    ).all()
    result: list[CategoryRow] = []
    for board, category in rows:
        if board.id not in visible:
            continue
        if not result or result[-1].category.id != category.id:
            result.append(CategoryRow(category, []))
        result[-1].boards.append(board)
    return result


def per_page_posts() -> int:
    return int(current_app.config["POSTS_PER_PAGE"])


def thread_pages(thread: Thread) -> int:
    """How many pages the thread has (pages are ranges of post numbers)."""
    return page_count(thread.last_number, per_page_posts())


def page_of_number(number: int) -> int:
    """The page a post number is on."""
    return (number - 1) // per_page_posts() + 1


@dataclass(slots=True)
class AuthorView:
    """What a thread page shows of a post's author."""

    id: int
    username: str
    display_name: str
    avatar: str | None
    # Trust-card facts the core keeps on the member row (loaded with the posts; the
    # board listing's authors leave them unset).
    created_at: datetime | None = None
    post_count: int = 0
    thread_count: int = 0
    like_count: int = 0
    warning_count: int = 0

    @property
    def name(self) -> str:
        return self.display_name or self.username


@dataclass(slots=True)
class PostView:
    """A post as a thread page shows it: plain values, no ORM entity (no source text,
    no author password hash or e-mail) — loading entities was a fifth of the page's cost."""

    id: int
    thread_id: int
    number: int
    author_id: int
    html: str
    created_at: datetime
    edit_count: int
    deleted_at: datetime | None
    state: str
    like_count: int
    author: AuthorView


_POST_COLUMNS = (
    Post.id,
    Post.thread_id,
    Post.number,
    Post.author_id,
    Post.html,
    Post.created_at,
    Post.edit_count,
    Post.deleted_at,
    Post.state,
    Post.like_count,
    Member.username,
    Member.display_name,
    Member.avatar,
    Member.created_at,
    Member.post_count,
    Member.thread_count,
    Member.like_count,
    Member.warning_count,
)


#: The order by post number (``?order=number``), which links to one post use.
NUMBER_ORDER = "number"


def number_order_args(thread: Thread) -> dict[str, str]:
    """Query arguments for a link to a post by its number: ``{"order": "number"}`` when a
    plugin orders this thread's posts itself, else nothing."""
    return {"order": NUMBER_ORDER} if plugins.reorders_posts(thread) else {}


def thread_posts(thread: Thread, page: int, order: str = "") -> list[PostView]:
    """The posts on ``page`` with their authors: one indexed range query by number, or the
    ids the thread kind's plugin picks for ``order`` (``ThreadKind.post_order``), in its
    order."""
    size = per_page_posts()
    first = (page - 1) * size + 1
    ids = plugins.post_order(thread, page, size, order)
    query = select(*_POST_COLUMNS).join(Member, Post.author_id == Member.id)
    if ids is None:
        query = query.where(
            Post.thread_id == thread.id, Post.number.between(first, first + size - 1)
        ).order_by(Post.number)
    else:
        query = query.where(Post.thread_id == thread.id, Post.id.in_(ids[:size] or [0]))
    rows = db.session.execute(query)
    posts = [
        PostView(
            post_id, thread_id, number, author_id, html, created_at, edits, deleted_at,
            state, likes,
            AuthorView(author_id, username, display_name or "", avatar, *trust),
        )
        for (
            post_id, thread_id, number, author_id, html, created_at, edits, deleted_at,
            state, likes, username, display_name, avatar, *trust,
        ) in rows
    ]  # fmt: skip
    if ids is not None:
        rank = {post_id: i for i, post_id in enumerate(ids)}
        posts.sort(key=lambda p: rank[p.id])
    return posts


@dataclass(slots=True)
class ThreadView:
    """A thread as a board listing shows it (plain values, like :class:`PostView`)."""

    id: int
    title: str
    status: str
    pinned: bool
    deleted_at: datetime | None
    created_at: datetime
    last_number: int
    reply_count: int
    last_post_at: datetime
    last_poster_name: str
    kind: str
    author: AuthorView
    held: bool = False  # the first post waits for approval (listed for moderators only)

    @property
    def is_locked(self) -> bool:
        return self.status == "locked"


_THREAD_COLUMNS = (
    Thread.id,
    Thread.title,
    Thread.status,
    Thread.pinned,
    Thread.deleted_at,
    Thread.created_at,
    Thread.last_number,
    Thread.reply_count,
    Thread.last_post_at,
    Thread.last_poster_name,
    Thread.kind,
    Thread.author_id,
    Member.username,
    Member.display_name,
    Member.avatar,
    Thread.held,
)


def board_threads(
    board: Board, page: int, moderator: bool = False, where: Any = None
) -> tuple[list[ThreadView], int]:
    """One page of a board's threads (pinned first, then latest activity) and the page count.

    The page's thread ids are picked from the listing index alone, then only those threads
    are joined to their authors: a deep page (OFFSET 20,000) stays a few milliseconds.
    ``where`` (a plugin's :class:`~forum.plugin_api.BoardFilter` condition) narrows the
    list; the pages are then counted with one more query.
    """
    size = int(current_app.config["THREADS_PER_PAGE"])
    order = (Thread.pinned.desc(), Thread.last_post_at.desc())
    ids = select(Thread.id).where(Thread.board_id == board.id)
    if not moderator:
        ids = ids.where(Thread.deleted_at.is_(None), Thread.held.is_(False))
    total = board.thread_count
    if where is not None:
        ids = ids.where(where)
        total = db.session.execute(select(func.count()).select_from(ids.subquery())).scalar_one()
    ids = ids.order_by(*order).limit(size).offset((page - 1) * size)
    rows = db.session.execute(
        select(*_THREAD_COLUMNS)
        .join(Member, Thread.author_id == Member.id)
        .where(Thread.id.in_(ids.scalar_subquery()))
        .order_by(*order)
    )
    threads = [
        ThreadView(*row[:11], AuthorView(row[11], row[12], row[13] or "", row[14]), row[15])
        for row in rows
    ]
    return threads, page_count(total, size)


def read_marks(member: Member | None, thread_ids: list[int]) -> dict[int, int]:
    """thread id → last post number ``member`` has read (one query; empty for guests)."""
    if member is None or not getattr(member, "is_authenticated", False) or not thread_ids:
        return {}
    return dict(
        db.session.execute(
            select(ThreadRead.thread_id, ThreadRead.last_number).where(
                ThreadRead.member_id == member.id, ThreadRead.thread_id.in_(thread_ids)
            )
        ).all()
    )


def recent_threads(author: Member, viewer: Member | None, limit: int = 10) -> list[Thread]:
    """``author``'s latest threads in boards ``viewer`` may read (one query)."""
    visible = permissions.visible_board_ids(viewer, "read")
    if not visible:
        return []
    return list(
        db.session.execute(
            select(Thread)
            .join(Board, Thread.board_id == Board.id)
            .options(contains_eager(Thread.board))
            .where(
                Thread.author_id == author.id,
                Thread.deleted_at.is_(None),
                Thread.held.is_(False),
                Thread.board_id.in_(visible),
            )
            .order_by(Thread.created_at.desc())
            .limit(limit)
        ).scalars()
    )


def boards_for_composer(member: Member | None) -> list[Board]:
    """Boards where ``member`` may start a thread, in index order."""
    allowed = permissions.visible_board_ids(member, "start_thread")
    return [b for row in board_index(member) for b in row.boards if b.id in allowed]
