"""The demo community behind ``forum demo``, and bulk-writing primitives for seeders.

:func:`seed_demo` creates a running club that also organises group buys: six boards in three
categories (one of them visible to members only), 50 members (an admin and a moderator among
them; some write Traditional Chinese from 台北 and 香港), about 500 threads and 5,000 posts
spread over the last 90 days, and a 2,000-post check-in thread. The text comes from the phrase
banks in :mod:`forum.demo_text` with a seeded random generator, so it is varied but the same
on every run.

Writing goes around the posting service on purpose: the rows are inserted in batches
(:func:`bulk_insert_thread_posts`, :func:`bulk_insert_posts`) and every denormalised counter
is then set by :func:`recount` in a few set-based ``UPDATE`` statements. The benchmark
seeders reuse these three functions.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, scoped_session
from werkzeug.security import generate_password_hash

from forum.demo_text import (
    BOARDS,
    CATEGORIES,
    CONVERSATIONS,
    FRESH_SPAM,
    MEMBERS,
    MODERATOR_INDEX,
    SEED,
    SPAM_REPORTERS,
    SPAMMER,
    PlannedThread,
    plan_demo,
    to_traditional,
)
from forum.extensions import db
from forum.markup import mention_candidates, render
from forum.models import (
    Board,
    Category,
    Group,
    GroupMembership,
    Member,
    Post,
    PostLike,
    Thread,
)
from forum.models.base import utcnow
from forum.services import versions

#: The demo's admin: sign in with this username and :data:`DEMO_PASSWORD`.
DEMO_ADMIN = "laozhou"
#: The password of every demo member (the admin included).
DEMO_PASSWORD = "shequn-demo"
#: The site name the demo sets when the site still has the default one.
DEMO_SITE_NAME = "奔跑吧跑团"

BATCH_SIZE = 2000

Executor = Connection | Session | scoped_session


# --------------------------------------------------------------------------- bulk primitives


@dataclass
class SeedPost:
    """A post for :func:`bulk_insert_thread_posts`. ``html`` is rendered when left ``None``."""

    author_id: int
    source: str
    created_at: datetime
    html: str | None = None
    deleted_at: datetime | None = None
    deleted_by_id: int | None = None


@dataclass
class SeedThread:
    """A thread for :func:`bulk_insert_thread_posts`; its first post is ``posts[0]``."""

    board_id: int
    title: str
    posts: list[SeedPost] = field(default_factory=list)
    kind: str = "discussion"
    pinned: bool = False
    status: str = "open"
    view_count: int = 0


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def render_post(source: str, known_usernames: set[str] | frozenset[str]) -> str:
    """Safe HTML for ``source``; ``@name`` links where ``name`` (case-folded) is known."""
    return render(source, mention_candidates(source) & known_usernames)


def post_row(
    thread_id: int,
    number: int,
    author_id: int,
    source: str,
    created_at: datetime,
    *,
    html: str | None = None,
    known_usernames: set[str] | frozenset[str] = frozenset(),
    deleted_at: datetime | None = None,
    deleted_by_id: int | None = None,
) -> dict[str, Any]:
    """One row for :func:`bulk_insert_posts` (renders ``source`` unless ``html`` is given)."""
    return {
        "thread_id": thread_id,
        "number": number,
        "author_id": author_id,
        "source": source,
        "html": html if html is not None else render_post(source, known_usernames),
        "created_at": created_at,
        "edited_at": None,
        "edit_count": 0,
        "deleted_at": deleted_at,
        "deleted_by_id": deleted_by_id,
    }


def bulk_insert_posts(rows: Iterable[dict[str, Any]], batch_size: int = BATCH_SIZE) -> int:
    """Insert post rows (see :func:`post_row`) in batches; returns how many.

    ``rows`` may be a generator, so millions of posts never sit in memory at once. Counters
    are not touched: call :func:`recount` when done. Does not commit.
    """
    table = Post.__table__
    total = 0
    for batch in _batches(rows, batch_size):
        db.session.execute(insert(table), batch)
        total += len(batch)
    return total


def bulk_insert_threads(rows: Sequence[dict[str, Any]], batch_size: int = 1000) -> list[int]:
    """Insert thread rows (``board_id``, ``author_id``, ``title``, ``created_at`` … as in the
    model) in batches and return their ids in the same order. Does not commit."""
    table = Thread.__table__
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids: list[int] = []
    for batch in _batches(rows, batch_size):
        ids.extend(db.session.execute(stmt, batch).scalars())
    return ids


def bulk_insert_thread_posts(
    threads: Sequence[SeedThread],
    known_usernames: Iterable[str] = (),
    batch_size: int = BATCH_SIZE,
) -> list[int]:
    """Insert threads with their posts (numbered 1..n in list order) and return the thread ids.

    Threads are inserted in the order given, posts in order of ``created_at`` across all
    threads, so ids grow with time. Posts without ``html`` are rendered, with ``@mentions`` of
    ``known_usernames`` (case-folded) linked. Counters (thread, board, member) are left for
    :func:`recount`. Does not commit.
    """
    known = frozenset(known_usernames)
    thread_rows = []
    for thread in threads:
        if not thread.posts:
            raise ValueError(f"thread {thread.title!r} has no posts")
        first, last = thread.posts[0], thread.posts[-1]
        thread_rows.append(
            {
                "board_id": thread.board_id,
                "author_id": first.author_id,
                "kind": thread.kind,
                "title": thread.title,
                "status": thread.status,
                "pinned": thread.pinned,
                "deleted_at": None,
                "created_at": first.created_at,
                "last_number": len(thread.posts),
                "reply_count": len(thread.posts) - 1,
                "view_count": thread.view_count,
                "last_post_at": last.created_at,
                "last_poster_name": "",
            }
        )
    ids = bulk_insert_threads(thread_rows)
    pending = [
        (post.created_at, thread_id, number, post)
        for thread_id, thread in zip(ids, threads, strict=True)
        for number, post in enumerate(thread.posts, start=1)
    ]
    pending.sort(key=lambda item: (item[0], item[1], item[2]))
    bulk_insert_posts(
        (
            post_row(
                thread_id,
                number,
                post.author_id,
                post.source,
                post.created_at,
                html=post.html,
                known_usernames=known,
                deleted_at=post.deleted_at,
                deleted_by_id=post.deleted_by_id,
            )
            for _, thread_id, number, post in pending
        ),
        batch_size,
    )
    return ids


# --------------------------------------------------------------------------- recount


def _recount_threads(run: Executor) -> None:
    p, t, m = Post.__table__, Thread.__table__, Member.__table__
    live = p.c.deleted_at.is_(None)
    per_thread = (
        select(
            p.c.thread_id,
            func.max(p.c.number).label("last_number"),
            func.sum(case((live & (p.c.number > 1), 1), else_=0)).label("replies"),
            func.max(case((live, p.c.number))).label("live_last"),
        )
        .group_by(p.c.thread_id)
        .subquery("per_thread")
    )
    first, last, poster = p.alias("first_post"), p.alias("last_post"), m.alias("poster")
    src = (
        select(
            per_thread.c.thread_id,
            per_thread.c.last_number,
            per_thread.c.replies,
            first.c.id.label("first_id"),
            last.c.id.label("last_id"),
            last.c.created_at.label("last_at"),
            func.coalesce(func.nullif(poster.c.display_name, ""), poster.c.username).label(
                "last_name"
            ),
        )
        .select_from(
            per_thread.outerjoin(
                first, (first.c.thread_id == per_thread.c.thread_id) & (first.c.number == 1)
            )
            .outerjoin(
                last,
                (last.c.thread_id == per_thread.c.thread_id)
                & (last.c.number == per_thread.c.live_last),
            )
            .outerjoin(poster, poster.c.id == last.c.author_id)
        )
        .subquery("src")
    )
    run.execute(
        update(t)
        .where(t.c.id == src.c.thread_id)
        .values(
            last_number=src.c.last_number,
            reply_count=src.c.replies,
            first_post_id=src.c.first_id,
            last_post_id=func.coalesce(src.c.last_id, src.c.first_id),
            last_post_at=func.coalesce(src.c.last_at, t.c.last_post_at),
            last_poster_name=func.coalesce(src.c.last_name, t.c.last_poster_name),
        )
    )


def _recount_boards(run: Executor) -> None:
    p, t, b = Post.__table__, Thread.__table__, Board.__table__
    live_thread = t.c.deleted_at.is_(None)
    threads = (
        select(t.c.board_id, func.count().label("n"))
        .where(live_thread)
        .group_by(t.c.board_id)
        .subquery("threads")
    )
    posts = (
        select(t.c.board_id, func.count().label("n"))
        .select_from(p.join(t, t.c.id == p.c.thread_id))
        .where(p.c.deleted_at.is_(None), live_thread)
        .group_by(t.c.board_id)
        .subquery("posts")
    )
    ranked = (
        select(
            t.c.board_id,
            t.c.id,
            t.c.title,
            t.c.last_post_id,
            t.c.last_post_at,
            t.c.last_poster_name,
            func.row_number()
            .over(partition_by=t.c.board_id, order_by=(t.c.last_post_at.desc(), t.c.id.desc()))
            .label("rank"),
        )
        .where(live_thread)
        .subquery("ranked")
    )
    board = b.alias("b2")
    src = (
        select(
            board.c.id,
            func.coalesce(threads.c.n, 0).label("threads"),
            func.coalesce(posts.c.n, 0).label("posts"),
            ranked.c.id.label("thread_id"),
            ranked.c.title,
            ranked.c.last_post_id,
            ranked.c.last_post_at,
            ranked.c.last_poster_name,
        )
        .select_from(
            board.outerjoin(threads, threads.c.board_id == board.c.id)
            .outerjoin(posts, posts.c.board_id == board.c.id)
            .outerjoin(ranked, (ranked.c.board_id == board.c.id) & (ranked.c.rank == 1))
        )
        .subquery("src")
    )
    run.execute(
        update(b)
        .where(b.c.id == src.c.id)
        .values(
            thread_count=src.c.threads,
            post_count=src.c.posts,
            last_thread_id=src.c.thread_id,
            last_post_id=src.c.last_post_id,
            last_post_at=src.c.last_post_at,
            last_poster_name=func.coalesce(src.c.last_poster_name, ""),
            last_thread_title=func.coalesce(src.c.title, ""),
        )
    )


def _recount_members(run: Executor) -> None:
    p, t, m = Post.__table__, Thread.__table__, Member.__table__
    posts = (
        select(p.c.author_id, func.count().label("n"))
        .join(t, t.c.id == p.c.thread_id)
        .where(p.c.deleted_at.is_(None), t.c.deleted_at.is_(None))
        .group_by(p.c.author_id)
        .subquery("posts")
    )
    threads = (
        select(t.c.author_id, func.count().label("n"))
        .where(t.c.deleted_at.is_(None))
        .group_by(t.c.author_id)
        .subquery("threads")
    )
    member = m.alias("m2")
    src = (
        select(
            member.c.id,
            func.coalesce(posts.c.n, 0).label("posts"),
            func.coalesce(threads.c.n, 0).label("threads"),
        )
        .select_from(
            member.outerjoin(posts, posts.c.author_id == member.c.id).outerjoin(
                threads, threads.c.author_id == member.c.id
            )
        )
        .subquery("src")
    )
    run.execute(
        update(m)
        .where(m.c.id == src.c.id)
        .values(post_count=src.c.posts, thread_count=src.c.threads)
    )


def _recount_likes(run: Executor) -> None:
    """Post.like_count from the post's likes; Member.like_count (likes received) from the
    likes on everything the member wrote, as forum.services.likes keeps them."""
    p, m, pl = Post.__table__, Member.__table__, PostLike.__table__
    per_post = select(pl.c.post_id, func.count().label("n")).group_by(pl.c.post_id).subquery("pp")
    run.execute(update(p).values(like_count=0))
    run.execute(update(p).where(p.c.id == per_post.c.post_id).values(like_count=per_post.c.n))
    per_author = (
        select(p.c.author_id, func.count().label("n"))
        .join(pl, pl.c.post_id == p.c.id)
        .group_by(p.c.author_id)
        .subquery("pa")
    )
    run.execute(update(m).values(like_count=0))
    run.execute(update(m).where(m.c.id == per_author.c.author_id).values(like_count=per_author.c.n))


def recount(connection: Connection | None = None) -> None:
    """Recompute every denormalised counter from the post and thread tables.

    Three set-based ``UPDATE … FROM`` statements (SQLite 3.33+ and PostgreSQL), with the
    meanings the posting service keeps up:

    - thread: ``last_number`` = highest post number (deleted included); ``reply_count`` =
      live posts after the first; ``first_post_id``; ``last_post_id``/``last_post_at``/
      ``last_poster_name`` = the last live post and its author's display name (else username);
    - board: ``thread_count`` and ``post_count`` = live threads and the live posts in them;
      ``last_*`` = the live thread with the latest ``last_post_at``;
    - member: ``post_count`` = live posts in live threads, ``thread_count`` = live threads
      they started.

    Every page-cache stamp is marked for renewal at commit (through the site state stamp),
    so no cached page shows old counts. Runs on ``connection`` when given
    (a seeder's own), else on the session. Threads without any post row are left alone.
    Does not commit.
    """
    run: Executor = connection if connection is not None else db.session
    _recount_threads(run)
    _recount_boards(run)
    _recount_members(run)
    _recount_likes(run)
    if connection is None:
        db.session.expire_all()
        versions.changed("state")  # the site state stamp covers every cached page


# --------------------------------------------------------------------------- the demo


def is_seeded() -> bool:
    """True once the demo community has been written (its admin exists)."""
    from forum.services.members import username_key

    return (
        db.session.execute(
            select(Member.id).where(Member.username_key == username_key(DEMO_ADMIN))
        ).first()
        is not None
    )


def _ensure_boards() -> dict[str, Board]:
    """The demo's categories and boards, created through the board service (reused if there)."""
    from forum.services import boards as board_service
    from forum.services import permissions

    existing = {b.slug: b for b in db.session.execute(select(Board)).scalars()}
    categories = {c.name: c for c in db.session.execute(select(Category)).scalars()}
    result: dict[str, Board] = {}
    for name, demo_boards in CATEGORIES:
        category = categories.get(name) or board_service.create_category(name)
        for demo in demo_boards:
            board = existing.get(demo.slug) or board_service.create_board(
                category, demo.slug, demo.name, demo.description
            )
            if demo.members_only:
                permissions.set_board_permissions(board.id, {permissions.group_id("guest"): ()})
            result[demo.slug] = board
    db.session.commit()
    return result


def _insert_members(rng: random.Random, now: datetime) -> list[int]:
    """The demo members (one password hash for all), with their groups; ids by MEMBERS index."""
    from forum.services.members import username_key

    keys = [username_key(m.username) for m in MEMBERS]
    existing = dict(
        db.session.execute(
            select(Member.username_key, Member.id).where(Member.username_key.in_(keys))
        ).all()
    )
    password_hash = generate_password_hash(DEMO_PASSWORD)
    rows = []
    for index, member in enumerate(MEMBERS):
        if keys[index] in existing:
            continue
        local = member.username if member.username.isascii() else f"runner{index:02d}"
        joined = now - timedelta(days=1200 if index == 0 else rng.uniform(95, 900))
        rows.append(
            {
                "username": member.username,
                "username_key": keys[index],
                "email": f"{local}@example.com",
                "email_key": f"{local}@example.com".casefold(),
                "password_hash": password_hash,
                "display_name": member.display_name,
                "bio": to_traditional(member.bio, member.region)
                if member.region != "cn"
                else member.bio,
                "timezone": member.timezone,
                "locale": member.locale,
                "status": "active",
                "email_confirmed_at": joined,
                "created_at": joined.replace(microsecond=0),
                "last_seen_at": (now - timedelta(hours=rng.uniform(0.1, 72))).replace(
                    microsecond=0
                ),
                "session_token": secrets.token_hex(8),
            }
        )
    table = Member.__table__
    if rows:
        new_ids = db.session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        ).scalars()
        existing.update(zip((r["username_key"] for r in rows), new_ids, strict=True))
    ids = [existing[key] for key in keys]
    groups = dict(db.session.execute(select(Group.key, Group.id)).all())
    roles = [(ids[i], groups[m.role]) for i, m in enumerate(MEMBERS) if m.role != "member"]
    have = set(
        db.session.execute(
            select(GroupMembership.member_id, GroupMembership.group_id).where(
                GroupMembership.member_id.in_([member_id for member_id, _ in roles])
            )
        ).all()
    )
    memberships = [
        {"member_id": member_id, "group_id": group_id, "source": "admin", "created_at": now}
        for member_id, group_id in roles
        if (member_id, group_id) not in have
    ]
    if memberships:
        db.session.execute(insert(GroupMembership.__table__), memberships)
    return ids


def _seed_threads(
    plan: list[PlannedThread], boards: dict[str, Board], member_ids: list[int], now: datetime
) -> list[SeedThread]:
    moderator = member_ids[MODERATOR_INDEX]
    rng = random.Random(SEED + 2)
    threads = []
    for planned in plan:
        posts = []
        for post in planned.posts:
            deleted_at = None
            if post.deleted:
                deleted_at = min(now, post.created_at + timedelta(minutes=rng.uniform(5, 180)))
            posts.append(
                SeedPost(
                    author_id=member_ids[post.author],
                    source=post.source,
                    created_at=post.created_at,
                    deleted_at=deleted_at.replace(microsecond=0) if deleted_at else None,
                    deleted_by_id=moderator if post.deleted else None,
                )
            )
        threads.append(
            SeedThread(
                board_id=boards[planned.board].id,
                title=planned.title,
                posts=posts,
                pinned=planned.pinned,
                status="locked" if planned.locked else "open",
                view_count=planned.views,
            )
        )
    return threads


def _name_the_site() -> None:
    from forum.services import site

    if site.setting("site_name") == site.SETTING_DEFAULTS["site_name"]:
        site.update_settings(
            {
                "site_name": DEMO_SITE_NAME,
                "site_description": "跑步、约跑、装备团购和赛事报名的跑团社区（演示数据）",
            }
        )


def _seed_likes(rng: random.Random, member_ids: list[int]) -> int:
    """Likes on about a third of the published posts (one to six members each, never the
    author), written in bulk; :func:`recount` then sets the counters. Returns how many."""
    posts = db.session.execute(
        select(Post.id, Post.author_id, Post.created_at)
        .where(Post.deleted_at.is_(None))
        .order_by(Post.id)
    ).all()
    rows = []
    for post_id, author_id, created_at in posts:
        if rng.random() > 0.35:
            continue
        likers = [i for i in member_ids if i != author_id]
        for member_id in rng.sample(likers, min(len(likers), rng.choice((1, 1, 2, 2, 3, 4, 6)))):
            rows.append({"post_id": post_id, "member_id": member_id, "created_at": created_at})
    for batch in _batches(rows, BATCH_SIZE):
        db.session.execute(insert(PostLike), batch)
    return len(rows)


def _seed_conversations() -> int:
    """The demo's private conversations, written through the conversations service (so the
    recipients' unread counters and notifications are real). Returns how many."""
    from forum.services import conversations
    from forum.services.members import username_key

    by_key = {m.username_key: m for m in db.session.execute(select(Member)).scalars()}
    count = 0
    for sender, recipients, subject, lines in CONVERSATIONS:
        starter = by_key[username_key(sender)]
        others = [by_key[username_key(name)] for name in recipients]
        conversation = conversations.start(starter, others, subject, lines[0])
        for index, line in enumerate(lines[1:], start=1):
            author = others[0] if index % 2 else starter
            name, _, text = line.partition(": ") if line.startswith("@") else ("", "", line)
            if name:
                author = by_key[username_key(name[1:])]
                text = line  # the mention stays in the message
            conversations.reply(author, conversation, text)
        count += 1
    return count


def _seed_reports(boards: dict[str, Board]) -> tuple[int, int]:
    """A spammer replies in the newest threads of public boards and members report the
    posts (:data:`~forum.demo_text.FRESH_SPAM`), through the posting and moderation
    services. Returns how many spam posts were written and how many cases the queue holds."""
    from forum.services import moderation, posting
    from forum.services.members import username_key

    def member(name: str) -> Member:
        return db.session.execute(
            select(Member).where(Member.username_key == username_key(name))
        ).scalar_one()

    public = [b.id for slug, b in boards.items() if not _demo_board(slug).members_only]
    threads = (
        db.session.execute(
            select(Thread)
            .where(Thread.board_id.in_(public), Thread.deleted_at.is_(None), ~Thread.pinned)
            .order_by(Thread.last_post_at.desc())
            .limit(len(FRESH_SPAM))
        )
        .scalars()
        .all()
    )
    spammer = member(SPAMMER)
    cases, written = set(), 0
    for thread, text, reporters in zip(threads, FRESH_SPAM, SPAM_REPORTERS, strict=False):
        post = posting.reply(spammer, thread, text)
        written += 1
        for name in reporters:
            cases.add(moderation.report(member(name), "post", post.id, "spam").id)
    return written, len(cases)


def _demo_board(slug: str):
    return next(b for b in BOARDS if b.slug == slug)


def _seed_plugins(boards: dict[str, Board], progress: Callable[[str], Any]) -> None:
    """Switch every installed plugin on and let each add its sample content
    (``forum_demo_seed``). A plugin that cannot be enabled is reported, one that fails is
    logged; the demo goes on without them."""
    from forum import plugins
    from forum.services import plugin_state
    from forum.services.errors import ServiceError

    for info in plugins.manager().all():
        if info.broken or plugins.is_enabled(info.name):
            continue
        try:
            plugin_state.enable(info.name)
        except ServiceError as exc:
            progress(f"  plugin {info.name}: not enabled ({exc})")
    members = {m.username: m for m in db.session.execute(select(Member)).scalars()}
    for name, line in plugins.fire("forum_demo_seed", boards=boards, members=members):
        progress(f"  plugin {name}: {line}")


def seed_demo(
    progress: Callable[[str], Any] = print, scale: float = 1.0, *, with_plugins: bool = True
) -> dict[str, int]:
    """Write the demo community and return how many ``members``, ``boards``, ``threads`` and
    ``posts`` the core wrote. ``with_plugins``: the installed plugins are switched on and
    add their own content through ``forum_demo_seed``. ``scale`` shrinks or grows the threads and posts (1.0: about 500 threads,
    5,000 posts, a hot thread of 2,000). Commits. Call once (see :func:`is_seeded`)."""
    now = utcnow().replace(microsecond=0)
    progress(f"  boards: {len(BOARDS)} in {len(CATEGORIES)} categories")
    boards = _ensure_boards()
    progress(f"  members: {len(MEMBERS)}")
    member_ids = _insert_members(random.Random(SEED + 1), now)
    plan = plan_demo(scale, now=now)
    known = set(db.session.execute(select(Member.username_key)).scalars())
    post_count = sum(len(t.posts) for t in plan)
    progress(f"  threads: {len(plan)}, posts: {post_count} (rendering Markdown)")
    bulk_insert_thread_posts(_seed_threads(plan, boards, member_ids, now), known)
    progress(f"  likes: {_seed_likes(random.Random(SEED + 2), member_ids)}")
    progress("  counters")
    recount()
    db.session.commit()
    _name_the_site()
    progress(f"  private conversations: {_seed_conversations()}")
    spam, cases = _seed_reports(boards)
    progress(f"  spam posts reported by members: {spam}, cases in the moderation queue: {cases}")
    if with_plugins:
        _seed_plugins(boards, progress)
    return {
        "members": len(MEMBERS),
        "boards": len(BOARDS),
        "threads": len(plan),
        "posts": post_count + spam,
    }


__all__ = [
    "DEMO_ADMIN",
    "DEMO_PASSWORD",
    "SeedPost",
    "SeedThread",
    "bulk_insert_posts",
    "bulk_insert_thread_posts",
    "bulk_insert_threads",
    "is_seeded",
    "post_row",
    "recount",
    "render_post",
    "seed_demo",
]
