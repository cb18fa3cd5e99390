"""Moderation services without HTTP: reports grouped per target, the queue, actions on cases
(approve, dismiss, hide, delete, warn, suspend), who may act, handled cases, notifications
and the append-only moderation log."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from forum.models import Board, Member, ModerationLog, Notification, Post, Report, ReportCase
from forum.models.base import utcnow
from forum.services import (
    conversations,
    events,
    groups,
    members,
    moderation,
    permissions,
    posting,
    site,
)
from forum.services.errors import NotFound, PermissionDenied, ServiceError


@pytest.fixture
def board(make_board):
    return make_board("talk", "闲聊区")


@pytest.fixture
def people(make_member):
    """alice writes, bob and carol report, mod is a site moderator, boss an administrator."""
    return {
        "alice": make_member("alice", locale="en"),
        "bob": make_member("bob", locale="en"),
        "carol": make_member("carol", locale="en"),
        "mod": make_member("banzhu", groups=("moderator",)),
        "boss": make_member("boss", groups=("admin",)),
    }


@pytest.fixture
def thread(board, people):
    thread = posting.create_thread(people["alice"], board, "团购讨论", "第一楼")
    posting.reply(people["alice"], thread, "第二楼：加我微信买便宜货")
    return thread


def _post(db, thread, number: int) -> Post:
    return db.session.execute(
        select(Post).where(Post.thread_id == thread.id, Post.number == number)
    ).scalar_one()


def _board_moderator(make_member, board: Board, username: str) -> Member:
    """A member who moderates ``board`` only (a custom group with its own row there)."""
    group = groups.create_group(f"{board.slug} 版主", f"mods-{board.slug}")
    permissions.set_board_permissions(board.id, {group.id: permissions.BOARD_PERMISSIONS})
    site.bump_version()
    member = make_member(username)
    members.set_membership(member, group)
    return member


def _notifications(db, member: Member) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.execute(
            select(Notification)
            .where(Notification.member_id == member.id)
            .order_by(Notification.id)
        ).scalars()
    )


def _log_count(db) -> int:
    return db.session.execute(select(func.count(ModerationLog.id))).scalar_one()


# -- reporting ------------------------------------------------------------------------------


def test_reports_on_one_post_are_grouped_with_their_reasons(db, people, thread):
    post = _post(db, thread, 2)
    first = moderation.report(people["bob"], "post", post.id, "spam", "广告")
    second = moderation.report(people["carol"], "post", post.id, "abuse")
    third = moderation.report(people["mod"], "post", post.id, "spam", "又是广告")
    assert first.id == second.id == third.id
    assert third.report_count == 3 and third.kind == "report" and third.status == "open"
    assert third.board_id == thread.board_id and third.subject_id == people["alice"].id

    cases, pages = moderation.queue(people["mod"])
    assert pages == 1 and len(cases) == 1
    case = cases[0]
    assert case.report_count == 3
    assert case.reasons == [("spam", 2), ("abuse", 1)]
    assert [note for _name, note in case.notes] == ["又是广告", "广告"]  # newest first
    assert case.target["thread_id"] == thread.id and case.target["number"] == 2
    assert "微信" in case.target["excerpt"]
    assert case.subject.id == people["alice"].id
    assert case.actions() == ["dismiss", "hide", "delete", "warn", "suspend"]
    assert moderation.queue_size(people["mod"]) == 1


def test_reporting_twice_is_refused_and_changes_nothing(db, people, thread, english):
    post = _post(db, thread, 2)
    moderation.report(people["bob"], "post", post.id, "spam", "第一次")
    with pytest.raises(ServiceError, match="already reported"):
        moderation.report(people["bob"], "post", post.id, "abuse", "第二次")
    case = db.session.execute(select(ReportCase)).scalar_one()
    assert case.report_count == 1
    reports = db.session.execute(select(Report)).scalars().all()
    assert [(r.reason, r.note) for r in reports] == [("spam", "第一次")]


def test_a_report_after_the_case_was_handled_opens_a_new_case(db, people, thread):
    post = _post(db, thread, 2)
    case = moderation.report(people["bob"], "post", post.id, "spam")
    moderation.act(people["mod"], case.id, "dismiss")
    again = moderation.report(people["bob"], "post", post.id, "spam", "还在发广告")
    assert again.id != case.id and again.report_count == 1 and again.status == "open"


def test_what_cannot_be_reported(db, people, thread, make_board, english):
    own = _post(db, thread, 2)
    with pytest.raises(ServiceError, match="your own post"):
        moderation.report(people["alice"], "post", own.id, "spam")
    with pytest.raises(ServiceError, match="yourself"):
        moderation.report(people["alice"], "member", people["alice"].id, "spam")
    with pytest.raises(ServiceError, match="choose a reason"):
        moderation.report(people["bob"], "post", own.id, "because")
    with pytest.raises(ServiceError, match="at most 1000"):
        moderation.report(people["bob"], "post", own.id, "other", "字" * 1001)
    with pytest.raises(ServiceError, match="cannot be reported"):
        moderation.report(people["bob"], "thread", thread.id, "spam")
    with pytest.raises(PermissionDenied):
        moderation.report(None, "post", own.id, "spam")
    with pytest.raises(NotFound):
        moderation.report(people["bob"], "post", 999_999, "spam")
    # a post in a board the reporter may not read does not exist for them
    hidden = make_board("staff", grants={"guest": (), "member": ()})
    staff_thread = posting.create_thread(people["mod"], hidden, "内部讨论", "只给版主看")
    with pytest.raises(NotFound):
        moderation.report(people["bob"], "post", staff_thread.first_post_id, "spam")
    # a post a moderator hid already
    case = moderation.report(people["bob"], "post", own.id, "spam")
    moderation.act(people["mod"], case.id, "hide")
    with pytest.raises(ServiceError, match="hidden this post already"):
        moderation.report(people["carol"], "post", own.id, "spam")
    assert db.session.execute(select(func.count(Report.id))).scalar_one() == 1


def test_members_and_messages_are_reported_to_site_moderators(
    db, people, make_member, make_board, thread
):
    other = make_board("other")
    board_mod = _board_moderator(make_member, other, "kim")
    member_case = moderation.report(people["bob"], "member", people["alice"].id, "abuse", "骂人")
    conversation = conversations.start(people["alice"], "bob", "你好", "买不买？便宜卖")
    message_id = conversation.last_message_id
    message_case = moderation.report(people["bob"], "message", message_id, "spam")
    assert member_case.board_id is None and message_case.board_id is None
    assert message_case.subject_id == people["alice"].id
    # carol is not in the conversation: the message does not exist for her
    with pytest.raises(NotFound):
        moderation.report(people["carol"], "message", message_id, "spam")

    cases, _pages = moderation.queue(people["mod"])
    assert {c.target_type for c in cases} == {"member", "message"}
    message_view = next(c for c in cases if c.target_type == "message")
    assert "便宜卖" in message_view.target["excerpt"]
    assert message_view.actions() == ["dismiss", "hide", "warn", "suspend"]
    # a board moderator does not see cases without a board
    assert moderation.queue(board_mod) == ([], 1)
    assert moderation.queue_size(board_mod) == 0
    with pytest.raises(PermissionDenied):
        moderation.act(board_mod, member_case.id, "warn", "注意言辞")

    moderation.act(people["mod"], message_case.id, "hide", "广告")
    db.session.expire_all()
    from forum.models import Message

    assert db.session.get(Message, message_id).hidden_at is not None
    moderation.act(people["mod"], member_case.id, "warn", "注意言辞")
    assert db.session.get(Member, people["alice"].id).warning_count == 1
    outcome = _notifications(db, people["bob"])[-1]
    assert outcome.kind == "moderation" and outcome.data["role"] == "reporter"
    assert outcome.title == "alice"


# -- held posts -----------------------------------------------------------------------------


def test_approving_a_held_thread_publishes_it_and_emits_its_events(db, people, board, monkeypatch):
    site.update_settings({"new_member_hold_posts": 2})
    db.session.commit()
    emitted: list[tuple[str, int]] = []
    real_emit = events.emit

    def record(name, **kwargs):
        emitted.append((name, kwargs["post"].id))
        real_emit(name, **kwargs)

    monkeypatch.setattr(events, "emit", record)
    thread = posting.create_thread(people["alice"], board, "新人报到", "大家好")
    assert thread.held and emitted == []
    db.session.expire_all()
    assert db.session.get(Board, board.id).thread_count == 0
    assert db.session.get(Member, people["alice"].id).post_count == 0

    cases, _pages = moderation.queue(people["mod"])
    assert len(cases) == 1 and cases[0].held and cases[0].hold_reasons == ["new_member"]
    assert cases[0].actions() == ["approve", "delete", "suspend"]
    hold_row = db.session.execute(
        select(ModerationLog).where(ModerationLog.action == "hold")
    ).scalar_one()
    assert hold_row.actor_id is None and hold_row.case_id == cases[0].id

    moderation.act(people["mod"], cases[0].id, "approve", "欢迎")
    db.session.expire_all()
    thread = db.session.get(type(thread), thread.id)
    assert not thread.held
    first = db.session.get(Post, thread.first_post_id)
    assert first.state == "published"
    assert emitted == [("thread_created", first.id), ("post_created", first.id)]
    b = db.session.get(Board, board.id)
    assert (b.thread_count, b.post_count, b.last_thread_id) == (1, 1, thread.id)
    assert db.session.get(Member, people["alice"].id).post_count == 1
    note = _notifications(db, people["alice"])[-1]
    assert note.kind == "moderation" and note.data == {
        "action": "approve",
        "role": "subject",
        "reason": "欢迎",
    }
    assert moderation.queue_size(people["mod"]) == 0

    # the second post is still held (one published post < 2); approving it emits post_created
    emitted.clear()
    held = posting.reply(people["alice"], thread, "第二个帖子")
    assert held.state == "held" and emitted == []
    moderation.approve_post(people["mod"], held)
    assert emitted == [("post_created", held.id)]
    db.session.expire_all()
    thread = db.session.get(type(thread), thread.id)
    assert thread.reply_count == 1 and thread.last_post_id == held.id
    # two published posts: the third goes straight out
    third = posting.reply(people["alice"], thread, "第三个帖子")
    assert third.state == "published"


def test_approve_post_refuses_a_post_that_is_not_waiting(db, people, thread, english):
    post = _post(db, thread, 2)
    with pytest.raises(ServiceError, match="not waiting"):
        moderation.approve_post(people["mod"], post)
    with pytest.raises(PermissionDenied):
        moderation.approve_post(people["bob"], post)


def test_deleting_a_held_post_counts_nothing(db, people, board):
    site.update_settings({"new_member_hold_posts": 1})
    db.session.commit()
    thread = posting.create_thread(people["alice"], board, "新人报到", "大家好")
    case = moderation.open_case_of("post", thread.first_post_id)
    moderation.act(people["mod"], case.id, "delete", "广告")
    db.session.expire_all()
    assert db.session.get(type(thread), thread.id).deleted_at is not None
    b = db.session.get(Board, board.id)
    assert (b.thread_count, b.post_count) == (0, 0)
    assert db.session.get(Member, people["alice"].id).post_count == 0


def test_suspending_the_author_of_a_held_post_deletes_the_post(db, people, board):
    site.update_settings({"new_member_hold_posts": 1})
    db.session.commit()
    thread = posting.create_thread(people["alice"], board, "广告", "低价代购")
    case = moderation.open_case_of("post", thread.first_post_id)
    moderation.act(people["mod"], case.id, "suspend", "广告机器人", days=30)
    db.session.expire_all()
    assert db.session.get(Member, people["alice"].id).is_banned
    assert db.session.get(type(thread), thread.id).deleted_at is not None
    assert moderation.open_case_of("post", thread.first_post_id) is None
    row = db.session.execute(
        select(ModerationLog).where(ModerationLog.action == "suspend")
    ).scalar_one()
    assert row.details["post_deleted"] is True


# -- actions on reports -----------------------------------------------------------------------


def test_hide_notifies_reporters_and_author_and_is_logged(db, people, thread):
    post = _post(db, thread, 2)
    case = moderation.report(people["bob"], "post", post.id, "spam")
    moderation.report(people["carol"], "post", post.id, "spam")
    resolved = moderation.act(people["mod"], case.id, "hide", "广告")
    assert resolved.status == "resolved" and resolved.resolution == "hidden"
    assert resolved.resolved_by_id == people["mod"].id
    db.session.expire_all()
    assert db.session.get(Post, post.id).state == "hidden"
    for reporter in ("bob", "carol"):
        note = _notifications(db, people[reporter])[-1]
        assert note.kind == "moderation"
        assert note.data == {"action": "hide", "role": "reporter", "reason": "广告"}
        assert note.thread_id == thread.id and note.post_id == post.id
        assert db.session.get(Member, people[reporter].id).unread_notifications >= 1
    subject_note = _notifications(db, people["alice"])[-1]
    assert subject_note.data["role"] == "subject" and subject_note.data["action"] == "hide"
    row = db.session.execute(
        select(ModerationLog).where(ModerationLog.action == "hide")
    ).scalar_one()
    assert (row.actor_id, row.target_type, row.target_id, row.case_id) == (
        people["mod"].id,
        "post",
        post.id,
        case.id,
    )
    assert row.board_id == thread.board_id and row.subject_id == people["alice"].id
    assert row.reason == "广告" and row.details["reports"] == 2

    moderation.unhide_post(people["mod"], db.session.get(Post, post.id), "误判")
    assert db.session.get(Post, post.id).state == "published"
    assert _log_count(db) == 2


def test_dismiss_leaves_the_post_and_tells_only_reporters(db, people, thread):
    post = _post(db, thread, 2)
    case = moderation.report(people["bob"], "post", post.id, "off_topic")
    before = len(_notifications(db, people["alice"]))
    moderation.act(people["mod"], case.id, "approve")  # approving a report dismisses it
    db.session.expire_all()
    assert db.session.get(ReportCase, case.id).resolution == "dismissed"
    assert db.session.get(Post, post.id).state == "published"
    assert _notifications(db, people["bob"])[-1].data["action"] == "dismiss"
    assert len(_notifications(db, people["alice"])) == before


def test_delete_removes_the_post_and_its_counts(db, people, thread):
    post = _post(db, thread, 2)
    case = moderation.report(people["bob"], "post", post.id, "spam")
    moderation.act(people["mod"], case.id, "delete", "广告")
    db.session.expire_all()
    assert db.session.get(Post, post.id).deleted_at is not None
    assert db.session.get(type(thread), thread.id).reply_count == 0
    assert db.session.get(Member, people["alice"].id).post_count == 1
    row = db.session.execute(
        select(ModerationLog).where(ModerationLog.action == "delete")
    ).scalar_one()
    assert row.details["number"] == 2
    # delete_post did not write a second log row for the same deletion
    assert _log_count(db) == 1


def test_warn_counts_a_warning(db, people, thread):
    case = moderation.report(people["bob"], "post", _post(db, thread, 2).id, "abuse")
    moderation.act(people["mod"], case.id, "warn", "注意")
    db.session.expire_all()
    assert db.session.get(Member, people["alice"].id).warning_count == 1
    assert _notifications(db, people["alice"])[-1].data["action"] == "warn"


def test_suspend_bans_the_author_for_the_chosen_days(db, people, thread, english):
    case = moderation.report(people["bob"], "post", _post(db, thread, 2).id, "spam")
    with pytest.raises(ServiceError, match="how long"):
        moderation.act(people["mod"], case.id, "suspend", "广告", days=5)
    with pytest.raises(ServiceError, match="reason"):
        moderation.act(people["mod"], case.id, "suspend", "  ", days=3)
    assert _log_count(db) == 0
    moderation.act(people["mod"], case.id, "suspend", "屡次发广告", days=3)
    db.session.expire_all()
    alice = db.session.get(Member, people["alice"].id)
    assert alice.is_banned and alice.ban_reason == "屡次发广告"
    assert abs(alice.banned_until - (utcnow() + timedelta(days=3))) < timedelta(minutes=1)
    row = db.session.execute(select(ModerationLog)).scalar_one()
    assert row.action == "suspend" and row.details["days"] == 3
    assert _notifications(db, people["alice"])[-1].data["action"] == "suspend"


def test_board_moderators_may_not_suspend(db, people, thread, make_member, english):
    board_mod = _board_moderator(make_member, db.session.get(Board, thread.board_id), "kim")
    case = moderation.report(people["bob"], "post", _post(db, thread, 2).id, "spam")
    with pytest.raises(PermissionDenied, match="site moderators"):
        moderation.act(board_mod, case.id, "suspend", "广告", days=7)
    assert db.session.get(ReportCase, case.id).status == "open"
    moderation.act(board_mod, case.id, "hide", "广告")  # but they may hide it


def test_suspending_an_administrator_needs_an_administrator(db, people, board, english):
    thread = posting.create_thread(people["boss"], board, "站长公告", "公告内容")
    case = moderation.report(people["bob"], "post", thread.first_post_id, "abuse")
    with pytest.raises(PermissionDenied, match="administrator"):
        moderation.act(people["mod"], case.id, "suspend", "滥用", days=1)
    assert not db.session.get(Member, people["boss"].id).is_banned


def test_an_action_that_does_not_fit_the_case_is_refused(db, people, thread, english):
    member_case = moderation.report(people["bob"], "member", people["alice"].id, "abuse")
    with pytest.raises(ServiceError, match="does not apply"):
        moderation.act(people["mod"], member_case.id, "hide")
    with pytest.raises(ServiceError, match="Unknown action"):
        moderation.act(people["mod"], member_case.id, "explode")
    assert db.session.get(ReportCase, member_case.id).status == "open"
    assert _log_count(db) == 0


def test_acting_on_a_handled_case_is_refused_and_changes_nothing(db, people, thread, english):
    post = _post(db, thread, 2)
    case = moderation.report(people["bob"], "post", post.id, "spam")
    moderation.act(people["mod"], case.id, "dismiss")
    notes = len(_notifications(db, people["bob"]))
    for action in ("hide", "dismiss", "delete", "warn"):
        with pytest.raises(ServiceError, match="already been handled"):
            moderation.act(people["boss"], case.id, action, "晚了")
    db.session.expire_all()
    handled = db.session.get(ReportCase, case.id)
    assert handled.resolution == "dismissed" and handled.resolved_by_id == people["mod"].id
    assert db.session.get(Post, post.id).state == "published"
    assert db.session.get(Member, people["alice"].id).warning_count == 0
    assert _log_count(db) == 1
    assert len(_notifications(db, people["bob"])) == notes


def test_a_board_moderator_cannot_act_on_another_boards_case(
    db, people, make_member, make_board, english
):
    board_a, board_b = make_board("board-a"), make_board("board-b")
    mod_a = _board_moderator(make_member, board_a, "kim")
    in_a = posting.create_thread(people["alice"], board_a, "A 版的主题", "内容")
    in_b = posting.create_thread(people["alice"], board_b, "B 版的主题", "内容")
    case_a = moderation.report(people["bob"], "post", in_a.first_post_id, "spam")
    case_b = moderation.report(people["bob"], "post", in_b.first_post_id, "spam")

    cases, _pages = moderation.queue(mod_a)
    assert [c.id for c in cases] == [case_a.id]
    assert moderation.queue_size(mod_a) == 1
    assert moderation.queue(mod_a, board_id=board_b.id) == ([], 1)
    assert moderation.queue_size(mod_a, board_id=board_b.id) == 0
    with pytest.raises(PermissionDenied):
        moderation.act(mod_a, case_b.id, "hide", "越权")
    with pytest.raises(PermissionDenied):
        moderation.get_case(case_b.id, mod_a)
    db.session.expire_all()
    assert db.session.get(ReportCase, case_b.id).status == "open"
    assert db.session.get(Post, in_b.first_post_id).state == "published"
    assert _log_count(db) == 0
    # ordinary members act on nothing
    with pytest.raises(PermissionDenied):
        moderation.act(people["carol"], case_a.id, "dismiss")
    with pytest.raises(NotFound):
        moderation.get_case(999_999, people["mod"])


def test_a_moved_threads_case_follows_it(db, people, make_member, make_board):
    board_a, board_b = make_board("board-a"), make_board("board-b")
    mod_a = _board_moderator(make_member, board_a, "kim")
    thread = posting.create_thread(people["alice"], board_a, "放错版了", "内容")
    case = moderation.report(people["bob"], "post", thread.first_post_id, "off_topic")
    posting.move_thread(people["boss"], thread, board_b)
    db.session.expire_all()
    assert db.session.get(ReportCase, case.id).board_id == board_b.id
    assert moderation.queue_size(mod_a) == 0


def test_only_one_of_two_simultaneous_actions_wins(app, db, people, thread, database_kind):
    """Two moderators act on the same case at the same moment, on two connections."""
    if database_kind != "postgres":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL's row locks")
    case = moderation.report(people["bob"], "post", _post(db, thread, 2).id, "spam")
    actors = {"hide": people["mod"].id, "delete": people["boss"].id}
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def run(action: str) -> None:
        with app.app_context():
            actor = db.session.get(Member, actors[action])
            moderation.get_case(case.id, actor)  # warm: both read the open case first
            barrier.wait(timeout=10)
            try:
                moderation.act(actor, case.id, action, "并发")
                outcomes[action] = "ok"
            except ServiceError as exc:
                outcomes[action] = exc.message
            finally:
                db.session.remove()

    workers = [threading.Thread(target=run, args=(a,)) for a in actors]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert sorted(outcomes.values()).count("ok") == 1, outcomes
    db.session.expire_all()
    assert _log_count(db) == 1
    resolved = db.session.get(ReportCase, case.id)
    winner = next(a for a, o in outcomes.items() if o == "ok")
    assert resolved.resolution == moderation.ACTIONS[winner]


# -- the log --------------------------------------------------------------------------------


def test_the_log_is_append_only(db, people, thread):
    case = moderation.report(people["bob"], "post", _post(db, thread, 2).id, "spam")
    moderation.act(people["mod"], case.id, "warn", "第一次警告")
    row = db.session.execute(select(ModerationLog)).scalar_one()
    row.reason = "改写历史"
    with pytest.raises(ServiceError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    row = db.session.execute(select(ModerationLog)).scalar_one()
    db.session.delete(row)
    with pytest.raises(ServiceError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.execute(select(ModerationLog.reason)).scalar_one() == "第一次警告"


def test_log_entries_filters_and_visibility(db, people, make_member, make_board, english):
    board_a, board_b = make_board("board-a"), make_board("board-b")
    mod_a = _board_moderator(make_member, board_a, "kim")
    in_a = posting.create_thread(people["alice"], board_a, "A 版", "内容")
    in_b = posting.create_thread(people["bob"], board_b, "B 版", "内容")
    moderation.act(
        people["mod"],
        moderation.report(people["bob"], "post", in_a.first_post_id, "spam").id,
        "hide",
        "广告",
    )
    moderation.act(
        people["mod"],
        moderation.report(people["alice"], "post", in_b.first_post_id, "spam").id,
        "warn",
    )
    moderation.act(
        people["mod"],
        moderation.report(people["carol"], "member", people["alice"].id, "abuse").id,
        "warn",
    )
    members.ban(people["carol"], "测试", actor=people["boss"])

    everything, pages = moderation.log_entries(people["boss"])
    assert pages == 1 and [e.row.action for e in everything] == ["ban", "warn", "warn", "hide"]
    assert everything[-1].actor_username == "banzhu" and everything[-1].board_slug == "board-a"
    assert everything[0].subject_username == "carol"
    warns, _ = moderation.log_entries(people["boss"], action="warn")
    assert [e.row.action for e in warns] == ["warn", "warn"]
    about_bob, _ = moderation.log_entries(people["boss"], who="BOB")
    assert [e.row.action for e in about_bob] == ["warn"]
    assert moderation.log_entries(people["boss"], who="nobody") == ([], 1)

    mine, _ = moderation.log_entries(mod_a)
    assert [e.row.board_id for e in mine] == [board_a.id]
    site_mod, _ = moderation.log_entries(people["mod"])
    # the site moderator reads the boards' entries and the member case, not admin bans
    assert [e.row.action for e in site_mod] == ["warn", "warn", "hide"]
    with pytest.raises(PermissionDenied):
        moderation.log_entries(people["carol"])


def test_members_service_writes_its_changes_to_the_same_log(db, people):
    members.ban(people["carol"], "广告机器人", utcnow() + timedelta(days=1), actor=people["boss"])
    members.unban(people["carol"], actor=people["boss"])
    rows = db.session.execute(select(ModerationLog).order_by(ModerationLog.id)).scalars().all()
    assert [(r.action, r.target_type, r.subject_id) for r in rows] == [
        ("ban", "member", people["carol"].id),
        ("unban", "member", people["carol"].id),
    ]
    assert isinstance(rows[0].details["until"], str)
