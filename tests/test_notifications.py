"""Notifications: who is told of what, the counters, the pages, watching, the digest and
plugin kinds."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from forum import jobs
from forum.markup import quote_source
from forum.models import Member, Notification, Watch
from forum.models.base import utcnow
from forum.services import notifications, posting, watches


@pytest.fixture
def app_config() -> dict:
    return {"EXTRA_PLUGINS": {"sample": "tests.sample_plugin"}}


@pytest.fixture
def board(make_board):
    return make_board("talk", "闲聊区")


def _kinds(db, member) -> list[tuple[str, int | None]]:
    """(kind, post id) of a member's notifications, oldest first."""
    db.session.expire_all()
    return [
        (n.kind, n.post_id)
        for n in db.session.execute(
            select(Notification)
            .where(Notification.member_id == member.id)
            .order_by(Notification.id)
        ).scalars()
    ]


def _unread(db, member) -> int:
    db.session.expire_all()
    return db.session.get(Member, member.id).unread_notifications


def _actual_unread(db, member) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(Notification)
        .where(Notification.member_id == member.id, Notification.read_at.is_(None))
    ).scalar_one()


# -- notify ---------------------------------------------------------------------------------


def test_notify_adds_a_row_and_counts_it_in_the_callers_transaction(db, make_member):
    alice, bob = make_member("alice"), make_member("bob")
    n = notifications.notify(alice.id, "like", actor_id=bob.id, title="T", url="/p/1")
    assert n is not None and n.id is not None
    db.session.rollback()  # the caller decides: nothing stays without its commit
    assert _kinds(db, alice) == [] and _unread(db, alice) == 0
    notifications.notify(alice.id, "like", actor_id=bob.id, title="T", url="/p/1")
    db.session.commit()
    assert _kinds(db, alice) == [("like", None)] and _unread(db, alice) == 1


def test_nobody_is_notified_of_their_own_action(db, make_member):
    alice = make_member("alice")
    assert notifications.notify(alice.id, "like", actor_id=alice.id) is None
    assert notifications.notify_many([alice.id], "reply", actor_id=alice.id) == []
    db.session.commit()
    assert _kinds(db, alice) == [] and _unread(db, alice) == 0


def test_notify_many_drops_duplicates_and_counts_each_once(db, make_member):
    alice, bob, carol = make_member("alice"), make_member("bob"), make_member("carol")
    added = notifications.notify_many(
        [alice.id, bob.id, alice.id, carol.id], "notice", actor_id=carol.id
    )
    db.session.commit()
    assert sorted(added) == sorted([alice.id, bob.id])
    assert _unread(db, alice) == 1 and _unread(db, bob) == 1 and _unread(db, carol) == 0


def test_muted_thread_skips_thread_kinds_but_not_moderation(db, make_member, board):
    alice, bob = make_member("alice"), make_member("bob")
    thread = posting.create_thread(alice, board, "静音的主题", "正文")
    watches.set_level(alice, "thread", thread.id, "muted")
    assert notifications.notify(alice.id, "like", actor_id=bob.id, thread_id=thread.id) is None
    moderation = notifications.notify(
        alice.id,
        "moderation",
        thread_id=thread.id,
        title=thread.title,
        data={"action": "hide", "role": "subject", "reason": "spam"},
    )
    db.session.commit()
    assert moderation is not None
    assert _kinds(db, alice) == [("moderation", None)] and _unread(db, alice) == 1


# -- the fan-out of new posts -----------------------------------------------------------------


def test_reply_notifies_the_watchers_and_posting_watches(db, make_member, board):
    alice, bob, carol = make_member("alice"), make_member("bob"), make_member("carol")
    thread = posting.create_thread(alice, board, "主题", "正文")
    assert watches.level(alice, "thread", thread.id) == "watching"  # starting watches
    first = posting.reply(bob, thread, "第一条回复")
    assert watches.level(bob, "thread", thread.id) == "watching"  # replying watches
    assert _kinds(db, alice) == [("reply", first.id)]
    assert _kinds(db, bob) == []  # never the author
    second = posting.reply(carol, thread, "第二条回复")
    assert _kinds(db, alice) == [("reply", first.id), ("reply", second.id)]
    assert _kinds(db, bob) == [("reply", second.id)]
    assert _unread(db, alice) == 2 and _unread(db, bob) == 1 and _unread(db, carol) == 0
    n = db.session.execute(select(Notification).where(Notification.post_id == second.id)).scalar()
    assert n.actor_id == carol.id and n.thread_id == thread.id and n.url == f"/p/{second.id}"
    assert n.title == "主题"


def test_one_notification_per_recipient_mention_before_quote_before_reply(db, make_member, board):
    alice, bob, carol = make_member("alice"), make_member("bob"), make_member("carol")
    dave = make_member("dave")
    thread = posting.create_thread(alice, board, "主题", "正文")
    quoted = posting.reply(bob, thread, "bob 的话")
    body = quote_source("bob", quoted.source) + "同意 @alice @Alice 和 @dave，还有 @nobody"
    post = posting.reply(carol, thread, body)
    # alice watches and is mentioned (twice): one mention; bob watches and is quoted: quote
    assert _kinds(db, alice) == [("reply", quoted.id), ("mention", post.id)]
    assert _kinds(db, bob) == [("quote", post.id)]
    assert _kinds(db, dave) == [("mention", post.id)]
    assert _unread(db, alice) == 2 and _unread(db, bob) == 1 and _unread(db, dave) == 1


def test_mentions_inside_quotes_and_code_are_not_mentions(db, make_member, board):
    alice, bob, carol = make_member("alice"), make_member("bob"), make_member("carol")
    thread = posting.create_thread(alice, board, "主题", "正文")
    quoted = posting.reply(bob, thread, "你好 @carol")
    assert _kinds(db, carol) == [("mention", quoted.id)]
    dave = make_member("dave")
    body = quote_source("bob", quoted.source) + "回复一下 `@dave`"
    posting.reply(make_member("erin"), thread, body)
    assert _kinds(db, carol) == [("mention", quoted.id)]  # the quoted mention is bob's
    assert _kinds(db, dave) == []


def test_a_mention_in_a_new_thread_and_board_watchers(db, make_member, board, make_board):
    alice, bob, carol = make_member("alice"), make_member("bob"), make_member("carol")
    watches.set_level(bob, "board", board.id, "watching")
    watches.set_level(carol, "board", board.id, "watching")
    other = make_board("other")
    posting.create_thread(alice, other, "别处的主题", "正文")
    assert _kinds(db, bob) == []  # another board
    thread = posting.create_thread(alice, board, "新主题", "你看 @carol")
    first = thread.first_post_id
    assert _kinds(db, bob) == [("thread", first)]
    assert _kinds(db, carol) == [("mention", first)]  # mention wins over the board watch
    row = db.session.execute(
        select(Notification).where(Notification.member_id == bob.id)
    ).scalar_one()
    assert row.data == {"board": "闲聊区"}
    posting.reply(alice, thread, "补充")
    assert _kinds(db, bob) == [("thread", first)]  # a board watch is for new threads only


def test_muted_thread_or_board_gets_nothing_and_posting_keeps_the_mute(db, make_member, board):
    alice, bob, carol = make_member("alice"), make_member("bob"), make_member("carol")
    thread = posting.create_thread(alice, board, "主题", "正文")
    watches.set_level(alice, "thread", thread.id, "muted")
    posting.reply(bob, thread, "回复 @alice")
    assert _kinds(db, alice) == []
    posting.reply(alice, thread, "我自己回复")
    assert watches.level(alice, "thread", thread.id) == "muted"  # posting does not unmute
    watches.set_level(carol, "board", board.id, "muted")
    posting.reply(bob, thread, "叫一下 @carol")
    posting.create_thread(bob, board, "另一个主题", "@carol 看看")
    assert _kinds(db, carol) == []


def test_members_who_may_not_read_the_board_are_not_notified(db, make_member, make_board):
    secret = make_board("secret", grants={"guest": (), "member": ()})
    mod, mod2 = (
        make_member("boss", groups=("moderator",)),
        make_member("boss2", groups=("moderator",)),
    )
    plain = make_member("plain")
    watches.set_level(plain, "board", secret.id, "watching")  # from before it was closed
    thread = posting.create_thread(mod, secret, "版主的主题", "@plain @boss2 看一下")
    assert _kinds(db, mod2) == [("mention", thread.first_post_id)]
    assert _kinds(db, plain) == [] and _unread(db, plain) == 0


def test_banned_members_are_not_notified(db, make_member, board):
    alice, bob = make_member("alice"), make_member("bob", status="banned")
    posting.create_thread(alice, board, "主题", "@bob 你好")
    assert _kinds(db, bob) == []


def test_posts_not_published_notify_nobody(db, make_member, board):
    alice, bob = make_member("alice"), make_member("bob")
    thread = posting.create_thread(alice, board, "主题", "正文")
    post = posting.reply(bob, thread, "@alice 待审核")
    db.session.execute(select(Notification)).all()
    before = _kinds(db, alice)
    post.state = "held"
    db.session.commit()
    notifications.on_post_created(post=post, thread=thread, member=bob)
    assert _kinds(db, alice) == before
    post.state = "published"
    db.session.commit()
    notifications.on_post_created(post=post, thread=thread, member=bob)  # approved
    assert _kinds(db, alice) == [*before, ("mention", post.id)]


def test_fan_out_queries_do_not_grow_with_recipients(db, make_member, board, count_queries):
    author = make_member("author")

    def measure(n: int, tag: str) -> int:
        readers = [make_member(f"{tag}{i}") for i in range(n)]
        thread = posting.create_thread(author, board, f"主题 {tag}", "正文")
        for m in readers:
            watches.set_level(m, "thread", thread.id, "watching")
        mentions = " ".join(f"@{m.username}" for m in readers[: n // 2])
        with count_queries() as q:
            posting.reply(author, thread, f"大家好 {mentions}")
        assert len(_kinds(db, readers[-1])) == 1
        return q.count

    assert measure(2, "s") == measure(20, "l")


# -- wording ------------------------------------------------------------------------------------


def _view(**fields) -> notifications.NotificationView:
    base = dict(
        id=1,
        kind="reply",
        actor_id=2,
        actor_name="小明",
        actor_username="xm",
        thread_id=3,
        post_id=4,
        title="一个主题",
        url="/p/4",
    )
    base.update(fields)
    return notifications.NotificationView(**base)


def test_every_kind_is_worded(english):
    d = notifications.describe
    assert d(_view(kind="reply")) == "小明 replied in “一个主题”"
    assert d(_view(kind="mention")) == "小明 mentioned you in “一个主题”"
    assert d(_view(kind="quote")) == "小明 quoted your post in “一个主题”"
    assert d(_view(kind="like")) == "小明 liked your post in “一个主题”"
    assert d(_view(kind="thread", data={"board": "闲聊区"})) == "小明 started “一个主题” in 闲聊区"
    assert d(_view(kind="notice", data={"text": "欢迎"})) == "欢迎"
    assert d(_view(kind="reply", actor_name="")) == "Someone replied in “一个主题”"
    for action in ("approve", "hide", "delete", "warn", "suspend", "dismiss"):
        for role in ("reporter", "subject"):
            text = d(_view(kind="moderation", data={"action": action, "role": role}))
            assert text and "%(" not in text, (action, role)
    hidden = d(
        _view(kind="moderation", data={"action": "hide", "role": "subject", "reason": "广告"})
    )
    assert hidden == "A moderator hid your post in “一个主题”. Reason: 广告"
    upheld = d(_view(kind="moderation", data={"action": "warn", "role": "reporter"}))
    assert upheld == "Your report about “一个主题” was upheld: the author was warned."
    assert d(_view(kind="gone.plugin", title="")) == "You have a notification."
    assert d(_view(kind="gone.plugin")) == "一个主题"


def test_text_is_made_when_shown_not_when_stored(db, client, login, make_member, board):
    alice, bob = make_member("alice"), make_member("bob")
    thread = posting.create_thread(alice, board, "主题", "正文")
    posting.reply(bob, thread, "回复")
    row = db.session.execute(select(Notification)).scalar_one()
    assert (row.kind, row.title, row.data) == ("reply", "主题", {})  # values, no sentence
    db.session.get(Member, bob.id).display_name = "新名字"
    db.session.commit()
    login(client, alice)
    page = client.get("/notifications").get_data(as_text=True)
    assert "新名字 replied in “主题”" in page  # the actor's name of today


# -- counters and marking read ------------------------------------------------------------------


def test_mark_one_and_all_read_keep_the_counter_right(db, client, login, make_member, board):
    alice, bob = make_member("alice"), make_member("bob")
    thread = posting.create_thread(alice, board, "主题", "正文")
    posts = [posting.reply(bob, thread, f"回复 {i}") for i in range(3)]
    assert _unread(db, alice) == 3
    login(client, alice)
    first = db.session.execute(
        select(Notification.id).where(Notification.post_id == posts[0].id)
    ).scalar_one()
    r = client.post(f"/notifications/{first}/read")
    assert r.status_code == 302
    assert _unread(db, alice) == 2 == _actual_unread(db, alice)
    client.post(f"/notifications/{first}/read")  # again: nothing changes
    assert _unread(db, alice) == 2
    bobs = notifications.notify(bob.id, "notice", data={"text": "x"})
    db.session.commit()
    assert client.post(f"/notifications/{bobs.id}/read").status_code == 404  # not hers
    assert _unread(db, bob) == 1
    assert client.get("/notifications/1/read").status_code == 405  # writes are POSTs
    r = client.post("/notifications/read-all")
    assert r.status_code == 302
    assert _unread(db, alice) == 0 == _actual_unread(db, alice)
    assert _unread(db, bob) == 1


def test_reading_the_thread_marks_its_notifications_read(db, client, login, make_member, board):
    alice, bob = make_member("alice"), make_member("bob")
    one = posting.create_thread(alice, board, "第一个", "正文")
    two = posting.create_thread(alice, board, "第二个", "正文")
    posting.reply(bob, one, "回复一")
    posting.reply(bob, one, "回复二")
    posting.reply(bob, two, "回复三")
    assert _unread(db, alice) == 3
    login(client, alice)
    page = client.get(f"/t/{one.id}").get_data(as_text=True)
    assert _unread(db, alice) == 1 == _actual_unread(db, alice)
    assert re.search(r'href="/notifications"[^>]*>.*?<span class="count">1</span>', page)


def test_signed_out_users_are_sent_to_sign_in(client):
    r = client.get("/notifications")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.post("/notifications/read-all").status_code == 302


def test_mark_read_needs_the_csrf_token(app, db, client, login, make_member):
    alice = make_member("alice")
    n = notifications.notify(alice.id, "notice", data={"text": "x"})
    db.session.commit()
    login(client, alice)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/notifications/{n.id}/read").status_code == 400
        assert client.post("/notifications/read-all").status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert _unread(db, alice) == 1


# -- pages --------------------------------------------------------------------------------------


def test_notifications_page_lists_newest_first_with_unread_marked(
    db, client, login, make_member, board
):
    alice, bob = make_member("alice"), make_member("bob", display_name="鲍勃")
    thread = posting.create_thread(alice, board, "我的主题", "正文")
    posts = [posting.reply(bob, thread, f"回复 {i}") for i in range(2)]
    first = db.session.execute(
        select(Notification.id).where(Notification.post_id == posts[0].id)
    ).scalar_one()
    notifications.mark_read(db.session.get(Member, alice.id), first)
    login(client, alice)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.index(f'href="/p/{posts[1].id}"') < page.index(f'href="/p/{posts[0].id}"')
    assert page.count("note-row is-unread") == 1
    assert "鲍勃 replied in “我的主题”" in page
    assert 'action="/notifications/read-all"' in page


def test_notifications_page_is_paginated(db, client, login, make_member):
    alice = make_member("alice")
    notifications.notify_many([alice.id], "notice", data={"text": "old"})
    for i in range(notifications.PER_PAGE):
        notifications.notify(alice.id, "notice", data={"text": f"n{i}"})
    db.session.commit()
    login(client, alice)
    first = client.get("/notifications").get_data(as_text=True)
    assert ">old<" not in first and 'rel="next"' in first
    second = client.get("/notifications?page=2").get_data(as_text=True)
    assert ">old<" in second
    assert client.get("/notifications?page=3").status_code == 404


def test_notifications_page_queries_do_not_grow(db, client, login, make_member, count_queries):
    alice, bob = make_member("alice"), make_member("bob")
    login(client, alice)

    def measure(n: int) -> int:
        for i in range(n):
            notifications.notify(alice.id, "like", actor_id=bob.id, title=f"T{i}", url="/p/1")
        db.session.commit()
        client.get("/notifications")
        with count_queries() as q:
            assert client.get("/notifications").status_code == 200
        return q.count

    assert measure(3) == measure(60)


def test_thread_page_queries_stay_fixed_with_unread_notifications(
    db, client, login, make_member, board, count_queries
):
    alice, bob = make_member("alice"), make_member("bob")
    elsewhere = posting.create_thread(bob, board, "别处", "正文")
    thread = posting.create_thread(bob, board, "主题", "正文")
    login(client, alice)
    client.get(f"/t/{thread.id}")  # warm the per-worker caches

    def measure(n: int) -> int:
        for _i in range(n):
            notifications.notify(alice.id, "like", actor_id=bob.id, thread_id=elsewhere.id)
            notifications.notify(alice.id, "like", actor_id=bob.id, thread_id=thread.id)
        db.session.commit()
        with count_queries() as q:
            assert client.get(f"/t/{thread.id}").status_code == 200
        return q.count

    assert measure(3) == measure(60)
    assert _unread(db, alice) == 63 == _actual_unread(db, alice)


def test_top_bar_shows_the_counters_to_members_only(db, client, login, make_member, board):
    alice = make_member("alice")
    guest_page = client.get("/").get_data(as_text=True)
    assert 'href="/notifications"' not in guest_page and 'href="/messages"' not in guest_page
    login(client, alice)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/notifications"' in page and 'href="/messages"' in page
    assert '<span class="count">' not in page
    db.session.get(Member, alice.id).unread_messages = 2
    notifications.notify(alice.id, "notice", data={"text": "x"})
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'href="/notifications"[^>]*>.*?<span class="count">1</span>', page)
    assert re.search(r'href="/messages"[^>]*>.*?<span class="count">2</span>', page)


# -- watching -----------------------------------------------------------------------------------


def test_watch_mute_and_unwatch_buttons(db, client, login, make_member, board):
    alice, bob = make_member("alice"), make_member("bob")
    thread = posting.create_thread(bob, board, "主题", "正文")
    guest = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "/watch" not in guest
    login(client, alice)
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "Not watching" in page and 'name="level" value="watching"' in page
    r = client.post(f"/t/{thread.id}/watch", data={"level": "watching"})
    assert r.status_code == 302
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "Watching" in page and 'name="level" value="watching"' not in page
    posting.reply(bob, thread, "新回复")
    assert [k for k, _ in _kinds(db, alice)] == ["reply"]
    client.post(f"/t/{thread.id}/watch", data={"level": "muted"})
    assert watches.level(alice, "thread", thread.id) == "muted"
    client.post(f"/t/{thread.id}/watch", data={"level": ""})
    assert watches.level(alice, "thread", thread.id) is None
    assert client.post(f"/t/{thread.id}/watch", data={"level": "loud"}).status_code == 400
    r = client.post(f"/b/{board.slug}/watch", data={"level": "watching"})
    assert r.status_code == 302 and watches.level(alice, "board", board.id) == "watching"
    page = client.get(f"/b/{board.slug}").get_data(as_text=True)
    assert "Watching" in page and "Stop watching" in page
    rows = db.session.execute(select(func.count()).select_from(Watch)).scalar_one()
    assert rows == 2  # bob's own thread, alice's board


def test_cannot_watch_what_one_may_not_read(db, client, login, make_member, make_board):
    secret = make_board("secret", grants={"guest": (), "member": ()})
    mod, alice = make_member("boss", groups=("moderator",)), make_member("alice")
    thread = posting.create_thread(mod, secret, "版主的主题", "正文")
    login(client, alice)
    assert client.post(f"/t/{thread.id}/watch", data={"level": "watching"}).status_code == 404
    assert client.post("/b/secret/watch", data={"level": "watching"}).status_code == 404
    assert db.session.execute(select(func.count()).select_from(Watch)).scalar_one() == 1


def test_board_and_thread_pages_cost_one_query_for_the_watch_level(
    client, login, make_member, board, count_queries
):
    alice, bob = make_member("alice"), make_member("bob")
    thread = posting.create_thread(bob, board, "主题", "正文")
    login(client, alice)
    for url in (f"/t/{thread.id}", f"/b/{board.slug}"):
        client.get(url)
        with count_queries() as q:
            client.get(url)
        assert sum("FROM watch" in s for s in q.statements) == 1, url


# -- digest -------------------------------------------------------------------------------------


def test_digest_setting_in_settings(db, client, login, make_member):
    alice = make_member("alice")
    login(client, alice)
    page = client.get("/settings").get_data(as_text=True)
    assert 'id="notifications"' in page and 'name="n-digest"' in page
    r = client.post("/settings", data={"section": "digest", "n-digest": "weekly"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Member, alice.id).digest == "weekly"
    r = client.post("/settings", data={"section": "digest", "n-digest": "hourly"})
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.get(Member, alice.id).digest == "weekly"


def test_digest_mails_unread_notifications_once_per_period(app, db, make_member, board):
    alice = make_member("alice", digest="daily", locale="en")
    weekly = make_member("weekly", digest="weekly")
    off = make_member("off")
    bob = make_member("bob", display_name="鲍勃")
    thread = posting.create_thread(alice, board, "每日主题", "正文")
    for m in (weekly, off):
        watches.set_level(m, "thread", thread.id, "watching")
    posting.reply(bob, thread, "回复一")
    read_one = posting.reply(bob, thread, "回复二")
    nid = db.session.execute(
        select(Notification.id).where(
            Notification.post_id == read_one.id, Notification.member_id == alice.id
        )
    ).scalar_one()
    notifications.mark_read(db.session.get(Member, alice.id), nid)
    outbox = app.extensions.setdefault("forum_outbox", [])
    outbox.clear()

    assert jobs.run_periodic_now(notifications.DIGEST_JOB) == "ran"
    assert sorted(m["To"] for m in outbox) == sorted([alice.email, weekly.email])
    mail = next(m for m in outbox if m["To"] == alice.email)
    text = mail.get_content()
    assert "鲍勃 replied in “每日主题”" in text and "http://localhost/p/" in text
    assert text.count("replied in") == 1  # the read one is not sent
    log_text = Path(app.instance_path, "mail.log").read_text(encoding="utf-8")
    assert "每日主题" in log_text  # no SMTP: the mail is in instance/mail.log
    db.session.expire_all()
    assert db.session.get(Member, alice.id).digest_sent_at is not None
    pending = select(func.count()).where(
        Notification.member_id == alice.id, Notification.emailed_at.is_(None)
    )
    assert db.session.execute(pending).scalar_one() == 1  # the read one

    outbox.clear()
    posting.reply(bob, thread, "回复三")
    assert jobs.run_periodic_now(notifications.DIGEST_JOB) == "ran"
    assert outbox == []  # not due again yet, and nothing is sent twice

    later = utcnow() + timedelta(days=1, minutes=1)
    assert notifications.due_digest_member_ids(later) == [alice.id]
    assert notifications.due_digest_member_ids(utcnow() + timedelta(days=7)) == [
        alice.id,
        weekly.id,
    ]


def test_digest_is_in_the_members_language_and_batched(app, db, make_member, monkeypatch):
    bob = make_member("bob")
    members = [make_member(f"m{i}", digest="daily", locale="en") for i in range(5)]
    notifications.notify_many([m.id for m in members], "like", actor_id=bob.id, title="T")
    db.session.commit()
    outbox = app.extensions.setdefault("forum_outbox", [])
    outbox.clear()
    assert notifications.send_due_digests(limit=2) == 2
    assert notifications.send_due_digests(limit=2) == 2
    assert notifications.send_due_digests(limit=2) == 1
    assert notifications.send_due_digests(limit=2) == 0
    assert len(outbox) == 5 and len({m["To"] for m in outbox}) == 5
    assert "bob liked your post in “T”" in outbox[0].get_content()
    assert "new notifications" in outbox[0]["Subject"]


def test_digest_skips_members_without_a_confirmed_address(app, db, make_member):
    bob = make_member("bob")
    alice = make_member("alice", digest="daily", email_confirmed_at=None)
    notifications.notify(alice.id, "like", actor_id=bob.id, title="T")
    db.session.commit()
    assert notifications.due_digest_member_ids() == []


# -- plugin kinds -------------------------------------------------------------------------------


def test_plugin_kind_is_worded_by_its_plugin_and_plainly_when_disabled(
    db, client, login, make_member, enable_plugin
):
    from tests.sample_plugin import poke

    alice, bob = make_member("alice"), make_member("bob")
    enable_plugin("sample")
    poke(alice.id, bob.id, times=3)
    db.session.commit()
    assert _unread(db, alice) == 1
    login(client, alice)
    page = client.get("/notifications").get_data(as_text=True)
    assert "bob poked you 3 times" in page
    enable_plugin("sample", disable=True)
    page = client.get("/notifications").get_data(as_text=True)
    assert "bob poked you" not in page and "A poke" in page


def test_plugin_kinds_are_registered_with_their_plugin(app):
    from forum import plugins

    plugin, kind = plugins.notification_kinds()["sample.poke"]
    assert plugin == "sample" and kind.label == "Poke"


def test_a_plugin_kind_must_carry_the_plugins_name(app):
    from forum.plugin_api import NotificationKind, hookimpl
    from forum.plugins import PluginManager

    class Bad:
        @staticmethod
        @hookimpl
        def forum_notification_kinds():
            return [NotificationKind("other.thing", "Thing", lambda n: "")]

    manager = PluginManager()
    manager.load_all({"badkind": Bad})
    assert "must be named 'badkind.<event>'" in manager.plugins["badkind"].error
