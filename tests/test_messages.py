"""Private conversations: rules, counters, blocks, new-member limits, views, query counts.

The concurrency test runs real threads against PostgreSQL (each with its own app context,
session and connection); it is skipped on SQLite, which runs one writer at a time.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from forum.models import Conversation, ConversationMember, Member, MemberBlock, Message
from forum.models.base import utcnow
from forum.services import blocks, conversations, site
from forum.services.errors import NotFound, PermissionDenied, ServiceError

pytestmark = pytest.mark.usefixtures("english")

OLD = {"post_count": 10}  # plus created_at, set in the fixture: not a new member


@pytest.fixture
def app_config(database_kind):
    if database_kind == "postgres":  # the concurrency test opens one connection per thread
        return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 5}}
    return {}


@pytest.fixture
def veteran(make_member):
    """A member who is not new (posts and an old account): no daily limit."""

    def factory(name: str, **fields):
        return make_member(name, post_count=10, created_at=utcnow() - timedelta(days=30), **fields)

    return factory


@pytest.fixture
def alice(veteran):
    return veteran("alice")


@pytest.fixture
def bob(veteran):
    return veteran("bob")


@pytest.fixture
def carol(veteran):
    return veteran("carol")


def _counts(db, *members: Member) -> list[int]:
    db.session.expire_all()
    return [db.session.get(Member, m.id).unread_messages for m in members]


def _unread(db, conversation_id: int, member: Member) -> int:
    db.session.expire_all()
    return db.session.get(ConversationMember, (conversation_id, member.id)).unread_count


def _totals(db) -> tuple[int, int, int]:
    return tuple(
        db.session.execute(select(func.count()).select_from(t)).scalar_one()
        for t in (Conversation, ConversationMember, Message)
    )


# -- starting ------------------------------------------------------------------------------


def test_start_one_to_one(db, alice, bob):
    c = conversations.start(alice, ["bob"], "你好", "**第一条**消息")
    assert c.subject == "你好" and c.message_count == 1 and c.created_by_id == alice.id
    msg = db.session.get(Message, c.last_message_id)
    assert msg.author_id == alice.id and "<strong>第一条</strong>" in msg.html
    assert _counts(db, alice, bob) == [0, 1]
    assert _unread(db, c.id, bob) == 1 and _unread(db, c.id, alice) == 0


def test_start_group_with_separators_and_members(db, alice, bob, carol, veteran):
    dave = veteran("dave")
    c = conversations.start(alice, "bob，CAROL、 @dave bob", "", "大家好，周末一起跑步吧")
    rows = db.session.execute(
        select(ConversationMember.member_id).where(ConversationMember.conversation_id == c.id)
    ).scalars()
    assert set(rows) == {alice.id, bob.id, carol.id, dave.id}
    assert c.subject == "大家好，周末一起跑步吧"  # made from the body when empty
    assert _counts(db, bob, carol, dave, alice) == [1, 1, 1, 0]
    # Members and usernames mixed, duplicates dropped
    c2 = conversations.start(alice, [bob, "Bob", carol], "again", "hi")
    assert c2.id != c.id and _counts(db, bob, carol) == [2, 2]


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("", "Add at least one recipient."),
        ("  ,、 ", "Add at least one recipient."),
        ("alice", "You cannot send a message to yourself."),
        ("bob, Alice", "You cannot send a message to yourself."),
        ("nobody", "There is no member called nobody."),
        ("bob nobody ghost", "There are no members called nobody、ghost."),
    ],
)
def test_start_refuses_bad_recipients(db, alice, bob, to, message):
    before = _totals(db)
    with pytest.raises(ServiceError) as exc:
        conversations.start(alice, to, "subject", "body")
    assert exc.value.message == message and exc.value.field == "recipients"
    assert _totals(db) == before and _counts(db, bob) == [0]


def test_start_refuses_too_many_recipients(db, alice, veteran):
    names = [veteran(f"m{i}").username for i in range(10)]
    with pytest.raises(ServiceError, match="at most 9 recipients"):
        conversations.start(alice, names, "s", "b")
    assert _totals(db) == (0, 0, 0)
    conversations.start(alice, names[:9], "s", "b")  # a group of 10 is fine
    site.update_settings({"messages_max_recipients": 2})
    with pytest.raises(ServiceError, match="at most 2 recipients"):
        conversations.start(alice, names[:3], "s", "b")


def test_start_refuses_inactive_recipients(db, alice, veteran):
    veteran("banned1", status="banned")
    veteran("pending1", status="pending")
    for name in ("banned1", "pending1"):
        with pytest.raises(ServiceError, match=f"{name} cannot receive messages"):
            conversations.start(alice, name, "s", "b")
    assert _totals(db) == (0, 0, 0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "The message is empty."),
        ("  \n\t", "The message is empty."),
        ("x" * 50_001, "A message has at most 50000 characters."),
    ],
)
def test_start_refuses_bad_bodies(db, alice, bob, body, message):
    with pytest.raises(ServiceError) as exc:
        conversations.start(alice, "bob", "s", body)
    assert exc.value.message == message and exc.value.field == "body"
    assert _totals(db) == (0, 0, 0) and _counts(db, bob) == [0]


def test_start_refuses_long_subject(db, alice, bob):
    with pytest.raises(ServiceError, match="at most 120"):
        conversations.start(alice, "bob", "题" * 121, "b")
    assert _totals(db) == (0, 0, 0)


def test_pending_member_cannot_send(db, veteran, bob):
    waiting = veteran("waiting", status="pending")
    with pytest.raises(PermissionDenied):
        conversations.start(waiting, "bob", "s", "b")


# -- blocks --------------------------------------------------------------------------------


def test_blocked_sender_cannot_start(db, alice, bob, carol):
    blocks.block(bob, alice)
    assert blocks.is_blocked(bob, alice) and not blocks.is_blocked(alice, bob)
    before = _totals(db)
    with pytest.raises(ServiceError) as exc:
        conversations.start(alice, "carol, bob", "s", "b")
    assert exc.value.message == "bob does not accept messages from you."
    assert _totals(db) == before and _counts(db, bob, carol) == [0, 0]
    # The blocker may still write to the blocked member, and others may write to bob
    conversations.start(bob, "alice", "s", "b")
    conversations.start(carol, "bob", "s", "b")


def test_blocked_member_cannot_reply_one_to_one(db, alice, bob):
    c = conversations.start(alice, "bob", "s", "hello")
    blocks.block(bob, alice)
    with pytest.raises(ServiceError, match="bob does not accept messages from you"):
        conversations.reply(alice, c, "still there?")
    db.session.expire_all()
    assert db.session.get(Conversation, c.id).message_count == 1
    assert _counts(db, bob) == [1]
    conversations.reply(bob, c, "bob may still answer")
    blocks.unblock(bob, alice)
    conversations.reply(alice, db.session.get(Conversation, c.id), "thanks")
    assert db.session.get(Conversation, c.id).message_count == 3


def test_blocked_member_still_writes_in_groups(db, alice, bob, carol):
    c = conversations.start(alice, "bob carol", "group", "hello")
    blocks.block(bob, alice)
    msg = conversations.reply(alice, c, "group replies still work")
    c = db.session.get(Conversation, c.id)
    assert [m.id for m in conversations.messages(c, bob)][-1] == msg.id


def test_block_rules(db, alice, bob):
    with pytest.raises(ServiceError, match="cannot block yourself"):
        blocks.block(alice, alice)
    blocks.block(alice, bob)
    with pytest.raises(ServiceError, match="already blocked bob"):
        blocks.block(alice, bob)
    rows, pages = blocks.blocked_members(alice)
    assert [r.member.id for r in rows] == [bob.id] and pages == 1
    blocks.unblock(alice, bob)
    with pytest.raises(ServiceError, match="bob is not blocked"):
        blocks.unblock(alice, bob)
    assert db.session.execute(select(func.count()).select_from(MemberBlock)).scalar_one() == 0


# -- replies, reading, leaving, counters -----------------------------------------------------


def test_unread_counters_up_and_down(db, alice, bob, carol):
    c1 = conversations.start(alice, "bob carol", "one", "1")
    c2 = conversations.start(alice, "bob", "two", "2")
    assert _counts(db, bob, carol) == [2, 1]
    conversations.reply(alice, c1, "more")  # already unread: conversations count stays
    assert _counts(db, bob, carol) == [2, 1] and _unread(db, c1.id, bob) == 2
    assert conversations.mark_read(bob, c1) is True
    assert conversations.mark_read(bob, c1) is False  # nothing to do the second time
    assert _counts(db, bob, carol) == [1, 1] and _unread(db, c1.id, bob) == 0
    row = db.session.get(ConversationMember, (c1.id, bob.id))
    assert row.last_read_message_id == db.session.get(Conversation, c1.id).last_message_id
    # carol replies: alice and bob get it as unread, carol's own unread is cleared
    conversations.reply(carol, db.session.get(Conversation, c1.id), "me too")
    assert _counts(db, alice, bob, carol) == [1, 2, 0]
    assert _unread(db, c1.id, alice) == 1 and _unread(db, c1.id, bob) == 1
    conversations.mark_read(bob, db.session.get(Conversation, c2.id))
    conversations.mark_read(bob, db.session.get(Conversation, c1.id))
    conversations.mark_read(alice, db.session.get(Conversation, c1.id))
    assert _counts(db, alice, bob, carol) == [0, 0, 0]


def test_counter_never_goes_below_zero(db, alice, bob):
    c = conversations.start(alice, "bob", "s", "b")
    db.session.execute(
        Member.__table__.update().where(Member.id == bob.id).values(unread_messages=0)
    )
    db.session.commit()
    assert conversations.mark_read(bob, c) is True
    assert _counts(db, bob) == [0]


def test_reply_rules(db, alice, bob, carol):
    c = conversations.start(alice, "bob", "s", "b")
    with pytest.raises(NotFound):
        conversations.reply(carol, c, "let me in")
    with pytest.raises(ServiceError, match="The message is empty"):
        conversations.reply(bob, c, "   ")
    db.session.expire_all()
    assert db.session.get(Conversation, c.id).message_count == 1
    conversations.leave(bob, db.session.get(Conversation, c.id))
    with pytest.raises(NotFound):
        conversations.reply(bob, db.session.get(Conversation, c.id), "back")
    with pytest.raises(ServiceError, match="Everyone else has left"):
        conversations.reply(alice, db.session.get(Conversation, c.id), "hello?")
    assert db.session.get(Conversation, c.id).message_count == 1


def test_leave(db, alice, bob, carol):
    c = conversations.start(alice, "bob carol", "s", "b")
    assert _counts(db, bob) == [1]
    conversations.leave(bob, c)
    assert _counts(db, bob) == [0]  # the unread conversation went with him
    assert conversations.inbox(bob)[0] == []
    with pytest.raises(NotFound):
        conversations.get(c.id, bob)
    with pytest.raises(NotFound):
        conversations.leave(bob, db.session.get(Conversation, c.id))
    conversations.reply(carol, db.session.get(Conversation, c.id), "bob left")
    assert _counts(db, alice, bob) == [1, 0]


def test_inbox_rows(db, alice, bob, carol):
    c1 = conversations.start(alice, "bob", "first", "hello bob")
    c2 = conversations.start(carol, "alice bob", "second", "group hello")
    conversations.reply(bob, c1, "**reply** " + "长" * 100)
    rows, pages = conversations.inbox(alice)
    assert [r.id for r in rows] == [c1.id, c2.id] and pages == 1
    first, second = rows
    assert first.subject == "first" and [m.username for m in first.others] == ["bob"]
    assert first.unread_count == 1 and first.last_author == "bob" and not first.last_by_me
    assert first.last_excerpt.startswith("reply 长") and first.last_excerpt.endswith("…")
    assert len(first.last_excerpt) == conversations.EXCERPT_CHARS + 1
    assert second.is_group and {m.username for m in second.others} == {"carol", "bob"}
    rows, _ = conversations.inbox(bob)
    assert [r.id for r in rows] == [c1.id, c2.id]  # bob's reply is the latest activity
    assert rows[0].last_by_me and rows[0].unread_count == 0 and rows[1].unread_count == 1


def test_inbox_pages(db, alice, bob):
    for i in range(5):
        conversations.start(alice, "bob", f"s{i}", "b")
    rows, pages = conversations.inbox(bob, 2, per_page=2)
    assert pages == 3 and [r.subject for r in rows] == ["s2", "s1"]


def test_parse_usernames():
    assert conversations.parse_usernames(" 小明,lily，@Bob、 bob;x\n y ") == [
        "小明",
        "lily",
        "Bob",
        "x",
        "y",
    ]


# -- new-member limits ---------------------------------------------------------------------


def test_new_members_start_few_conversations_a_day(db, make_member, bob):
    newbie = make_member("newbie")  # no posts, joined today
    for i in range(3):
        conversations.start(newbie, "bob", f"s{i}", "b")
    before = _totals(db)
    with pytest.raises(PermissionDenied, match="New members can start 3 conversations a day"):
        conversations.start(newbie, "bob", "one more", "b")
    assert _totals(db) == before
    # Replies are not limited, and yesterday's conversations do not count
    c = db.session.execute(select(Conversation).order_by(Conversation.id)).scalars().first()
    conversations.reply(newbie, c, "a reply is fine")
    db.session.execute(
        Conversation.__table__.update().values(created_at=utcnow() - timedelta(days=2))
    )
    db.session.commit()
    conversations.start(newbie, "bob", "next day", "b")


def test_new_member_rules_follow_settings(db, make_member, bob):
    posted = make_member("posted", post_count=10)  # many posts but joined today: still new
    young_days = make_member("oldie", post_count=10, created_at=utcnow() - timedelta(days=3))
    assert conversations.is_new_member(posted) and not conversations.is_new_member(young_days)
    site.update_settings({"messages_new_member_per_day": 1, "messages_new_member_days": 0})
    assert not conversations.is_new_member(db.session.get(Member, posted.id))
    few = make_member("few", post_count=1, created_at=utcnow() - timedelta(days=30))
    conversations.start(few, "bob", "s", "b")
    with pytest.raises(PermissionDenied, match="1 conversation a day"):
        conversations.start(few, "bob", "s", "b")


def test_staff_are_not_limited(db, make_member, bob):
    mod = make_member("newmod", groups=("moderator",))
    admin = make_member("newadmin", groups=("admin",))
    for member in (mod, admin):
        for i in range(4):
            conversations.start(member, "bob", f"s{i}", "b")


# -- views ---------------------------------------------------------------------------------


def test_guests_are_sent_to_sign_in(client, alice, bob):
    c = conversations.start(alice, "bob", "s", "b")
    for url in ("/messages", "/messages/new", f"/messages/{c.id}", "/messages/blocked"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location
    response = client.post(f"/messages/{c.id}/reply", data={"body": "x"})
    assert response.status_code == 302 and "/login" in response.location


def test_compose_and_read_views(client, login, db, alice, bob):
    c = login(client, alice)
    page = c.get("/messages/new?to=bob")
    assert page.status_code == 200 and 'value="bob"' in page.get_data(as_text=True)
    response = c.post(
        "/messages/new", data={"recipients": "bob", "subject": "约跑", "body": "周六早上？"}
    )
    assert response.status_code == 302
    conversation_id = int(re.search(r"/messages/(\d+)", response.location).group(1))
    page = c.get(response.location).get_data(as_text=True)
    assert (
        "约跑" in page
        and "周六早上？" in page
        and f'action="/messages/{conversation_id}/reply"' in page
    )

    bobc = login(client.application.test_client(), bob)
    inbox = bobc.get("/messages").get_data(as_text=True)
    assert "约跑" in inbox and "周六早上？" in inbox and "is-unread" in inbox
    assert _counts(db, bob) == [1]
    page = bobc.get(f"/messages/{conversation_id}").get_data(as_text=True)
    assert "msg-new" in page  # marked as new on this visit …
    assert _counts(db, bob) == [0]  # … and read from now on
    assert "msg-new" not in bobc.get(f"/messages/{conversation_id}").get_data(as_text=True)
    response = bobc.post(f"/messages/{conversation_id}/reply", data={"body": "好的 👍"})
    assert response.status_code == 302 and "#m" in response.location
    assert _counts(db, alice) == [1]
    assert "好的 👍" in c.get(f"/messages/{conversation_id}").get_data(as_text=True)


def test_compose_errors_are_shown(client, login, db, alice, bob):
    blocks.block(bob, alice)
    c = login(client, alice)
    response = c.post("/messages/new", data={"recipients": "bob", "subject": "", "body": "hi"})
    assert response.status_code == 400
    assert "bob does not accept messages from you." in response.get_data(as_text=True)
    response = c.post("/messages/new", data={"recipients": "ghost", "body": "hi"})
    assert "There is no member called ghost." in response.get_data(as_text=True)
    response = c.post("/messages/new", data={"recipients": "alice", "body": "hi"})
    assert "You cannot send a message to yourself." in response.get_data(as_text=True)
    assert _totals(db) == (0, 0, 0)


def test_reply_errors_are_shown(client, login, db, alice, bob):
    conv = conversations.start(alice, "bob", "s", "b")
    blocks.block(bob, alice)
    c = login(client, alice)
    page = c.get(f"/messages/{conv.id}").get_data(as_text=True)
    assert "bob does not accept messages from you." in page and "reply-box" not in page
    response = c.post(f"/messages/{conv.id}/reply", data={"body": "direct POST"})
    assert response.status_code == 400
    assert "bob does not accept messages from you." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Conversation, conv.id).message_count == 1


def test_outsiders_get_404(client, login, db, alice, bob, carol):
    conv = conversations.start(alice, "bob", "s", "secret")
    message_id = conv.last_message_id
    c = login(client, carol)
    assert c.get(f"/messages/{conv.id}").status_code == 404
    assert c.get("/messages/999999").status_code == 404
    assert c.post(f"/messages/{conv.id}/reply", data={"body": "hi"}).status_code == 404
    assert c.post(f"/messages/{conv.id}/leave").status_code == 404
    assert c.get(f"/messages/m/{message_id}/report").status_code == 404
    assert "secret" not in c.get("/messages").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Conversation, conv.id).message_count == 1


def test_leave_view(client, login, db, alice, bob):
    conv = conversations.start(alice, "bob", "s", "b")
    c = login(client, bob)
    response = c.post(f"/messages/{conv.id}/leave")
    assert response.status_code == 302 and response.location.endswith("/messages")
    assert c.get(f"/messages/{conv.id}").status_code == 404
    assert _counts(db, bob) == [0]


def test_hidden_messages_show_a_note(client, login, db, alice, bob):
    conv = conversations.start(alice, "bob", "s", "rude words here")
    msg = db.session.get(Message, conv.last_message_id)
    msg.hidden_at = utcnow()
    db.session.commit()
    c = login(client, bob)
    page = c.get(f"/messages/{conv.id}").get_data(as_text=True)
    assert "This message was hidden by a moderator." in page and "rude words" not in page
    inbox = c.get("/messages").get_data(as_text=True)
    assert "This message was hidden by a moderator." in inbox and "rude words" not in inbox


def test_block_views(client, login, db, alice, bob):
    c = login(client, alice)
    profile = c.get("/u/bob").get_data(as_text=True)
    assert "Send a message" in profile and 'action="/messages/block/bob' in profile
    response = c.post("/messages/block/bob?next=/u/bob")
    assert response.status_code == 302 and response.location.endswith("/u/bob")
    assert blocks.is_blocked(alice, bob)
    assert 'action="/messages/unblock/bob' in c.get("/u/bob").get_data(as_text=True)
    page = c.get("/messages/blocked").get_data(as_text=True)
    assert "bob" in page and "Unblock" in page
    c.post("/messages/block/bob")  # twice: a message, nothing changes
    assert db.session.execute(select(func.count()).select_from(MemberBlock)).scalar_one() == 1
    assert c.post("/messages/block/ghost").status_code == 404
    c.post("/messages/unblock/bob")
    assert not blocks.is_blocked(alice, bob)
    own = c.get("/u/alice").get_data(as_text=True)
    assert "Send a message" not in own and "/messages/block/" not in own


def test_report_message(client, login, db, alice, bob):
    from forum.models import Report, ReportCase

    conv = conversations.start(alice, "bob", "s", "buy my stuff")
    message_id = conv.last_message_id
    c = login(client, bob)
    form = c.get(f"/messages/m/{message_id}/report")
    assert form.status_code == 200 and "buy my stuff" in form.get_data(as_text=True)
    response = c.post(f"/messages/m/{message_id}/report", data={"reason": "spam", "note": "广告"})
    assert response.status_code == 302 and f"#m{message_id}" in response.location
    case = db.session.execute(select(ReportCase)).scalar_one()
    assert (case.target_type, case.target_id, case.subject_id) == ("message", message_id, alice.id)
    assert db.session.execute(select(Report.reason)).scalar_one() == "spam"
    again = c.post(f"/messages/m/{message_id}/report", data={"reason": "spam"})
    assert again.status_code == 400
    assert db.session.execute(select(func.count()).select_from(Report)).scalar_one() == 1


# -- query counts ----------------------------------------------------------------------------


def _count(client, count_queries, url: str) -> int:
    client.get(url)  # warm the per-worker caches (and mark read)
    with count_queries() as q:
        response = client.get(url)
    assert response.status_code == 200, url
    return q.count


def test_query_counts_do_not_grow(app, client, login, count_queries, db, alice, veteran):
    others = [veteran(f"q{i}") for i in range(4)]
    c = login(client, alice)

    def grow(n_conversations: int, n_messages: int) -> int:
        """Conversations between alice and one or two others, then a long exchange in
        the last one (alice and its first other member take turns)."""
        last = other = None
        for i in range(n_conversations):
            other = others[i % 4]
            group = [others[(i + 1) % 4]] if i % 2 else []
            if i % 3:
                last = conversations.start(other, [alice, *group], f"话题 {i}", "内容")
            else:
                last = conversations.start(alice, [other, *group], f"话题 {i}", "内容")
        for j in range(n_messages):
            author = alice if j % 2 else other
            conversations.reply(author, db.session.get(Conversation, last.id), f"消息 {j}")
        return last.id

    small = grow(2, 2)
    before = (
        _count(c, count_queries, "/messages"),
        _count(c, count_queries, f"/messages/{small}"),
        _count(c, count_queries, f"/messages/{small}?page=1"),
    )
    big = grow(30, 40)
    after = (
        _count(c, count_queries, "/messages"),
        _count(c, count_queries, f"/messages/{big}"),
        _count(c, count_queries, f"/messages/{big}?page=1"),
    )
    assert after == before, (before, after)
    assert after[0] <= 6 and after[1] <= 6, after


# -- concurrency (PostgreSQL) ----------------------------------------------------------------


def test_concurrent_replies_keep_exact_counts(app, db, database_kind, alice, bob, carol):
    if database_kind != "postgres":
        pytest.skip("concurrency is tested against PostgreSQL (FORUM_TEST_DATABASE_URL)")
    group = conversations.start(alice, "bob carol", "group", "start")
    pair = conversations.start(bob, "carol", "pair", "start")
    ids = {"alice": alice.id, "bob": bob.id, "carol": carol.id}
    group_id, pair_id = group.id, pair.id
    conversations.mark_read(bob, group)
    db.session.close()
    rounds = 10
    writers = [("alice", group_id), ("bob", group_id), ("carol", pair_id), ("bob", pair_id)]
    barrier = threading.Barrier(len(writers))
    errors: list[BaseException] = []

    def run(name: str, conversation_id: int) -> None:
        from forum.extensions import db as _db

        with app.app_context():
            try:
                barrier.wait(timeout=30)
                for i in range(rounds):
                    member = _db.session.get(Member, ids[name])
                    conversation = _db.session.get(Conversation, conversation_id)
                    conversations.reply(member, conversation, f"{name} {i}")
                    if name == "carol" and i % 3 == 0:  # reading while the others write
                        conversations.mark_read(
                            _db.session.get(Member, ids["carol"]),
                            _db.session.get(Conversation, group_id),
                        )
            except BaseException as exc:  # noqa: BLE001 (reported by the test)
                errors.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=w) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads) and not errors, errors
    db.session.expire_all()
    assert db.session.get(Conversation, group_id).message_count == 1 + 2 * rounds
    assert db.session.get(Conversation, pair_id).message_count == 1 + 2 * rounds
    # Every member's counters match what their rows say
    for member_id in ids.values():
        rows = (
            db.session.execute(
                select(ConversationMember).where(ConversationMember.member_id == member_id)
            )
            .scalars()
            .all()
        )
        for row in rows:
            last_read = row.last_read_message_id
            unread = db.session.execute(
                select(func.count())
                .select_from(Message)
                .where(
                    Message.conversation_id == row.conversation_id,
                    Message.id > last_read,
                    Message.author_id != member_id,
                )
            ).scalar_one()
            assert row.unread_count == unread, (member_id, row.conversation_id)
        expected = sum(1 for row in rows if row.unread_count > 0)
        assert db.session.get(Member, member_id).unread_messages == expected, member_id


# -- word filter ---------------------------------------------------------------------------


def test_the_word_filter_applies_to_messages(db, alice, bob, make_member):
    from forum.services import safeguards

    safeguards.add_word_filter("傻瓜", "replace", "**")
    safeguards.add_word_filter("加微信", "block")
    safeguards.add_word_filter("转账", "hold")  # no approval queue for messages: passes
    c = conversations.start(alice, "bob", "你这个傻瓜", "傻瓜，转账给你")
    assert c.subject == "你这个**"
    first = db.session.execute(select(Message).where(Message.conversation_id == c.id)).scalar_one()
    assert first.source == "**，转账给你"
    with pytest.raises(ServiceError) as refused:
        conversations.reply(bob, db.session.get(Conversation, c.id), "加微信聊")
    assert refused.value.field == "body" and "加微信" in refused.value.message
    with pytest.raises(ServiceError) as refused:
        conversations.start(alice, "bob", "加微信", "hi")
    assert refused.value.field == "subject"
    assert db.session.get(Conversation, c.id).message_count == 1  # nothing was written
    moderator = make_member("filtermod", groups=("moderator",))
    with pytest.raises(ServiceError):  # staff are filtered too, as in posts
        conversations.start(moderator, "bob", "通知", "加微信的广告已删除")
