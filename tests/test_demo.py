"""The demo community (forum.demo): what it seeds, that its counters are right, and recount()."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from forum.demo import (
    DEMO_ADMIN,
    DEMO_PASSWORD,
    SeedPost,
    SeedThread,
    bulk_insert_thread_posts,
    is_seeded,
    recount,
    seed_demo,
)
from forum.demo_text import BOARDS, FRESH_SPAM, HOT_TITLE, MEMBERS, demo_size, plan_demo
from forum.models import Board, Category, Member, Post, Thread
from forum.models.base import utcnow
from forum.services import members as member_service
from forum.services import permissions, posting

TRADITIONAL_ONLY = set("們這說個國時來對會後開過還進動樣機讀練習體長與應點區價馬鞋跑團購")


def counters(db) -> dict:
    """Every denormalised counter in the database, keyed by table and id."""
    return {
        "thread": {
            row.id: tuple(row[1:])
            for row in db.session.execute(
                select(
                    Thread.id,
                    Thread.last_number,
                    Thread.reply_count,
                    Thread.first_post_id,
                    Thread.last_post_id,
                    Thread.last_post_at,
                    Thread.last_poster_name,
                )
            )
        },
        "board": {
            row.id: tuple(row[1:])
            for row in db.session.execute(
                select(
                    Board.id,
                    Board.thread_count,
                    Board.post_count,
                    Board.last_thread_id,
                    Board.last_post_id,
                    Board.last_post_at,
                    Board.last_poster_name,
                    Board.last_thread_title,
                )
            )
        },
        "member": {
            row.id: (row.post_count, row.thread_count)
            for row in db.session.execute(select(Member.id, Member.post_count, Member.thread_count))
        },
    }


def expected_counters(db) -> dict:
    """The same counters, computed in Python from the posts and threads (no recount())."""
    posts = db.session.execute(select(Post)).scalars().all()
    threads = db.session.execute(select(Thread)).scalars().all()
    members = {m.id: m for m in db.session.execute(select(Member)).scalars()}
    by_thread: dict[int, list[Post]] = defaultdict(list)
    for post in sorted(posts, key=lambda p: p.number):
        by_thread[post.thread_id].append(post)
    result: dict = {"thread": {}, "board": {}, "member": {}}
    live_threads = {t.id for t in threads if t.deleted_at is None}
    for t in threads:
        live = [p for p in by_thread[t.id] if p.deleted_at is None]
        last = members[live[-1].author_id]
        result["thread"][t.id] = (
            by_thread[t.id][-1].number,
            len(live) - 1,
            by_thread[t.id][0].id,
            live[-1].id,
            live[-1].created_at,
            last.display_name or last.username,
        )
    for board in db.session.execute(select(Board)).scalars():
        mine = [t for t in threads if t.board_id == board.id and t.deleted_at is None]
        newest = max(mine, key=lambda t: (t.last_post_at, t.id), default=None)
        result["board"][board.id] = (
            len(mine),
            sum(1 for t in mine for p in by_thread[t.id] if p.deleted_at is None),
            newest and newest.id,
            newest and result["thread"][newest.id][3],
            newest and result["thread"][newest.id][4],
            newest.last_poster_name if newest else "",
            newest.title if newest else "",
        )
    for member_id in members:
        result["member"][member_id] = (
            sum(
                1
                for p in posts
                if p.author_id == member_id and p.deleted_at is None and p.thread_id in live_threads
            ),
            sum(1 for t in threads if t.author_id == member_id and t.deleted_at is None),
        )
    return result


@pytest.fixture
def seeded(app, db):
    """A demo community at a tenth of full size (50 threads, 500 posts, hot thread of 200)."""
    messages: list[str] = []
    stats = seed_demo(progress=messages.append, scale=0.1, with_plugins=False)
    return stats, messages


def test_demo_size_is_proportional():
    assert demo_size(1.0) == (500, 5000, 2000)
    assert demo_size(0.1) == (50, 500, 200)
    tiny = demo_size(0.001)  # never below what every board and pinned thread need
    assert tiny.threads >= len(BOARDS) + 3 and tiny.posts >= tiny.hot_posts + tiny.threads - 1


def test_plan_is_deterministic_and_ordered():
    now = datetime(2025, 3, 1, 12, 0)
    first, again = plan_demo(0.05, now=now), plan_demo(0.05, now=now)
    as_text = [(t.title, [(p.author, p.source, p.created_at) for p in t.posts]) for t in first]
    assert as_text == [
        (t.title, [(p.author, p.source, p.created_at) for p in t.posts]) for t in again
    ]
    assert as_text != [
        (t.title, [(p.author, p.source) for p in t.posts]) for t in plan_demo(0.05, now, seed=7)
    ]
    assert [t.created_at for t in first] == sorted(t.created_at for t in first)
    for thread in first:
        times = [p.created_at for p in thread.posts]
        assert times == sorted(times)
        assert now - timedelta(days=91) < times[0] and times[-1] <= now


def test_demo_usernames_are_valid(app):
    names = [m.username for m in MEMBERS]
    assert len(MEMBERS) == 50 and len(set(names)) == 50
    for name in names:
        assert member_service.validate_username(name) == name
    assert any(not n.isascii() for n in names) and any(n.isascii() for n in names)


def test_seed_demo_writes_the_community(app, db, seeded):
    stats, messages = seeded
    size = demo_size(0.1)
    spam = len(FRESH_SPAM)  # posted (and reported) after the plan's posts
    assert stats == {
        "members": 50,
        "boards": 6,
        "threads": size.threads,
        "posts": size.posts + spam,
    }
    assert messages and is_seeded()
    assert db.session.query(Thread).count() == size.threads
    assert db.session.query(Post).count() == size.posts + spam
    assert db.session.query(Member).count() == 50
    assert db.session.query(Category).count() == 3
    assert {b.slug for b in db.session.execute(select(Board)).scalars()} == {b.slug for b in BOARDS}
    hot = db.session.execute(select(Thread).where(Thread.title == HOT_TITLE)).scalar_one()
    assert hot.last_number == size.hot_posts and hot.pinned
    assert db.session.query(Post).filter(Post.thread_id == hot.id).count() == size.hot_posts
    assert (
        max(t.last_number for t in db.session.execute(select(Thread)).scalars()) == size.hot_posts
    )


def test_seeded_counters_match_a_recount_by_hand(app, db, seeded):
    assert counters(db) == expected_counters(db)
    deleted = db.session.query(Post).filter(Post.deleted_at.is_not(None)).count()
    assert deleted >= 1  # counters visibly skip deleted posts


def test_posts_are_numbered_and_in_time_order(app, db, seeded):
    now = utcnow()
    rows = db.session.execute(
        select(Post.id, Post.thread_id, Post.number, Post.created_at).order_by(Post.id)
    ).all()
    by_thread = defaultdict(list)
    for row in rows:
        by_thread[row.thread_id].append(row)
        assert now - timedelta(days=91) < row.created_at <= now
    assert [r.created_at for r in rows] == sorted(r.created_at for r in rows)  # ids follow time
    for posts in by_thread.values():
        posts.sort(key=lambda r: r.number)
        assert [r.number for r in posts] == list(range(1, len(posts) + 1))
        assert [r.created_at for r in posts] == sorted(r.created_at for r in posts)


def test_demo_roles_and_members_only_board(app, db, seeded, client, login):
    admin = member_service.get_by_username(DEMO_ADMIN)
    moderator = member_service.get_by_username(MEMBERS[1].username)
    core = db.session.execute(select(Board).where(Board.slug == "core")).scalar_one()
    assert permissions.is_admin(admin)
    assert permissions.is_moderator(moderator, core.id) and not permissions.is_admin(moderator)
    assert not permissions.can(None, "view", core.id)
    assert not permissions.can(None, "read", core.id)
    member = member_service.get_by_username("kiki_run")
    assert permissions.can(member, "read", core.id)
    assert client.get("/b/core").status_code == 404
    assert client.get("/b/yuepao").status_code == 200
    login(client, member, DEMO_PASSWORD)
    assert client.get("/b/core").status_code == 200


def test_demo_text_is_markdown_with_mentions_quotes_and_traditional(app, db, seeded):
    posts = db.session.execute(select(Post.source, Post.html, Post.author_id)).all()
    authors = {m.id: m for m in db.session.execute(select(Member)).scalars()}
    usernames = {m.username for m in authors.values()}
    mentions = [
        name for p in posts for name in re.findall(r'class="mention"[^>]*>@([^<]+)<', p.html)
    ]
    assert mentions and set(mentions) <= usernames
    assert sum("<blockquote>" in p.html for p in posts) >= 10
    assert sum("<li>" in p.html for p in posts) >= 10
    assert not any("lorem" in p.source.lower() for p in posts)
    traditional = [p for p in posts if authors[p.author_id].locale == "zh_Hant"]
    assert traditional
    assert any(TRADITIONAL_ONLY & set(p.source) for p in traditional)
    simplified = [p.source for p in posts if authors[p.author_id].locale == "zh_Hans"]
    assert len(set(simplified)) > len(simplified) * 0.6  # varied, not one line repeated
    bios = [m.bio for m in authors.values() if m.bio]
    assert 10 <= len(bios) < 50


def test_recount_matches_the_posting_service(app, db, seeded):
    """After real service writes, recount() changes nothing: same meaning of every counter."""
    moderator = member_service.get_by_username(MEMBERS[1].username)
    author = member_service.get_by_username("kiki_run")
    threads = db.session.execute(select(Thread).order_by(Thread.id)).scalars().all()
    busy = [t for t in threads if t.last_number > 3 and t.title != HOT_TITLE]
    posting.reply(author, busy[0], "补充一下：@laozhou 说的对，循序渐进。")
    last = db.session.execute(
        select(Post).where(Post.thread_id == busy[1].id).order_by(Post.number.desc()).limit(1)
    ).scalar_one()
    posting.delete_post(moderator, last)
    posting.delete_thread(moderator, busy[2])
    before = counters(db)
    recount()
    db.session.commit()
    assert counters(db) == before == expected_counters(db)


def test_recount_repairs_broken_counters(app, db, seeded):
    right = counters(db)
    db.session.execute(update(Thread).values(reply_count=0, last_number=1, last_poster_name="x"))
    db.session.execute(update(Board).values(post_count=0, thread_count=0, last_thread_title=""))
    db.session.execute(update(Member).values(post_count=0, thread_count=7))
    db.session.commit()
    assert counters(db) != right
    recount()
    db.session.commit()
    assert counters(db) == right


def test_bulk_insert_primitives(app, db, make_member, make_board):
    board = make_board("bench")
    alice, bob = make_member("alice"), make_member("bob", display_name="Bob 张")
    start = utcnow().replace(microsecond=0) - timedelta(hours=5)
    threads = [
        SeedThread(
            board.id,
            "第一帖",
            [
                SeedPost(alice.id, "hello @Bob", start),
                SeedPost(bob.id, "hi", start + timedelta(minutes=1)),
                SeedPost(alice.id, "spam", start + timedelta(minutes=2), deleted_at=start),
            ],
        ),
        SeedThread(board.id, "第二帖", [SeedPost(bob.id, "**bold**", start + timedelta(hours=1))]),
    ]
    ids = bulk_insert_thread_posts(threads, known_usernames={"alice", "bob"})
    recount()
    db.session.commit()
    assert counters(db) == expected_counters(db)
    first, second = (db.session.get(Thread, i) for i in ids)
    assert (first.last_number, first.reply_count, first.last_poster_name) == (3, 1, "Bob 张")
    assert db.session.get(Post, first.first_post_id).html.count('class="mention"') == 1
    board = db.session.get(Board, board.id)
    assert (board.thread_count, board.post_count, board.last_thread_id) == (2, 3, second.id)
    assert (db.session.get(Member, alice.id).post_count, alice.thread_count) == (1, 1)
    # a thread removed outright leaves the board counted right after recount()
    db.session.execute(update(Board).values(last_thread_id=None, last_post_id=None))
    db.session.execute(update(Thread).values(first_post_id=None, last_post_id=None))
    db.session.execute(delete(Post).where(Post.thread_id == second.id))
    db.session.execute(delete(Thread).where(Thread.id == second.id))
    recount()
    db.session.commit()
    board = db.session.get(Board, board.id)
    assert (board.thread_count, board.post_count, board.last_thread_id) == (1, 2, first.id)


def test_full_scale_demo(app, db):
    """Scale 1.0: 500 threads, 5,000 posts, the hot thread has exactly 2,000 posts."""
    stats = seed_demo(progress=lambda _: None, with_plugins=False)
    assert stats == {"members": 50, "boards": 6, "threads": 500, "posts": 5000 + len(FRESH_SPAM)}
    hot = db.session.execute(select(Thread).where(Thread.title == HOT_TITLE)).scalar_one()
    assert db.session.query(Post).filter(Post.thread_id == hot.id).count() == 2000
    assert hot.last_number == 2000 and hot.reply_count == 1999
    per_board = Counter(t.board_id for t in db.session.execute(select(Thread)).scalars())
    assert len(per_board) == 6
    assert counters(db) == expected_counters(db)


def test_demo_switches_the_plugins_on_and_each_adds_its_content(app, db, caplog):
    from forum import plugins

    messages: list[str] = []
    seed_demo(progress=messages.append, scale=0.02)
    installed = [info for info in plugins.manager().all() if not info.broken]
    assert installed and all(plugins.is_enabled(info.name) for info in installed)
    seeding = {name for name, _impl in plugins.manager().impls("forum_demo_seed", frozenset(
        info.name for info in installed))}  # fmt: skip
    assert {"qa", "checkin"} <= seeding
    for name in seeding:
        assert any(m.startswith(f"  plugin {name}: ") for m in messages), (name, messages)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_demo_has_private_conversations_and_reported_spam(app, db, seeded):
    from forum.demo_text import CONVERSATIONS
    from forum.models import Conversation, ReportCase

    admin = db.session.execute(select(Member).where(Member.username == DEMO_ADMIN)).scalar_one()
    assert db.session.query(Conversation).count() == len(CONVERSATIONS)
    # kiki's last line and the group's two later messages wait for the admin
    assert admin.unread_messages == 2
    cases = db.session.execute(select(ReportCase)).scalars().all()
    assert cases and all(c.status == "open" and c.target_type == "post" for c in cases)
    assert max(c.report_count for c in cases) == 2  # two reporters, one grouped case
    spam = [db.session.get(Post, c.target_id).source for c in cases]
    assert len(cases) == 2 and all("正品保证" in s or "刷单日结" in s for s in spam)


def test_demo_likes_are_counted_and_never_on_ones_own_post(app, db, seeded):
    from forum.models import PostLike

    likes = db.session.execute(
        select(PostLike.post_id, PostLike.member_id, Post.author_id).join(
            Post, Post.id == PostLike.post_id
        )
    ).all()
    assert len(likes) > 50 and all(member != author for _, member, author in likes)
    per_post, per_author = Counter(p for p, _, _ in likes), Counter(a for _, _, a in likes)
    posts = db.session.execute(select(Post.id, Post.like_count)).all()
    assert {i: n for i, n in posts if n} == dict(per_post)
    authors = db.session.execute(select(Member.id, Member.like_count)).all()
    assert {i: n for i, n in authors if n} == dict(per_author)
    # recount() keeps them: break them, recount, compare
    db.session.execute(update(Post).values(like_count=7))
    db.session.execute(update(Member).values(like_count=7))
    recount()
    assert dict(db.session.execute(select(Post.id, Post.like_count)).all()) == dict(posts)
