"""Posting service: counters, numbering, edit history, soft delete, lock, pin, move."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forum.models import Board, Member, Post, Thread
from forum.services import posting, reading
from forum.services.errors import NotFound, PermissionDenied, ServiceError

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def setup(app, make_member, make_board):
    board = make_board("talk", "闲聊")
    alice = make_member("alice")
    bob = make_member("bob")
    mod = make_member("moddy", groups=("moderator",))
    return board, alice, bob, mod


def _reload(db, obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def test_thread_and_replies_keep_counters(db, setup):
    board, alice, bob, _ = setup
    thread = posting.create_thread(alice, board, "  周末约跑  ", "有人一起吗？")
    assert thread.title == "周末约跑"
    p2 = posting.reply(bob, thread, "我去！")
    p3 = posting.reply(alice, thread, "好的 @bob")
    assert [p2.number, p3.number] == [2, 3]
    assert '<a href="/u/bob" class="mention"' in p3.html
    board, thread, alice = _reload(db, board), _reload(db, thread), _reload(db, alice)
    assert (board.thread_count, board.post_count) == (1, 3)
    assert board.last_post_id == p3.id and board.last_thread_title == "周末约跑"
    assert (thread.reply_count, thread.last_number, thread.last_post_id) == (2, 3, p3.id)
    assert (alice.post_count, alice.thread_count) == (2, 1)


def test_validation_errors_name_the_field(setup):
    board, alice, *_ = setup
    with pytest.raises(ServiceError) as exc:
        posting.create_thread(alice, board, "x", "body")
    assert exc.value.field == "title"
    with pytest.raises(ServiceError) as exc:
        posting.create_thread(alice, board, "good title", "   ")
    assert exc.value.field == "body"
    with pytest.raises(ServiceError) as exc:
        posting.create_thread(alice, board, "good title", "x" * 50_001)
    assert exc.value.field == "body"


def test_guest_and_banned_cannot_post(setup):
    from forum.services import members

    board, alice, bob, _ = setup
    with pytest.raises(PermissionDenied):
        posting.create_thread(None, board, "title here", "body")
    with pytest.raises(NotFound):
        posting.get_board("no-such-board", None)
    members.ban(bob, "spam")
    with pytest.raises(PermissionDenied):
        posting.create_thread(bob, board, "title here", "body")


def test_edit_keeps_revisions(db, setup):
    board, alice, bob, mod = setup
    thread = posting.create_thread(alice, board, "原标题", "原文")
    first = db.session.get(Post, thread.first_post_id)
    posting.edit_post(alice, first, "改过的正文", title="新标题")
    revs = posting.revisions(first)
    assert [(r.revision, r.source, r.title) for r in revs] == [
        (1, "原文", "原标题"),
        (2, "改过的正文", "新标题"),
    ]
    assert first.edit_count == 1 and _reload(db, thread).title == "新标题"
    with pytest.raises(PermissionDenied):
        posting.edit_post(bob, first, "hijack")
    posting.edit_post(mod, first, "版主修改")
    assert len(posting.revisions(first)) == 3


def test_soft_delete_keeps_numbers_and_counters(db, setup):
    board, alice, bob, mod = setup
    thread = posting.create_thread(alice, board, "删帖测试", "一楼")
    p2 = posting.reply(bob, thread, "二楼")
    p3 = posting.reply(bob, thread, "三楼")
    with pytest.raises(PermissionDenied):
        posting.delete_post(alice, p2)  # not hers
    posting.delete_post(bob, p3)  # own reply
    thread, board = _reload(db, thread), _reload(db, board)
    assert thread.reply_count == 1 and thread.last_post_id == p2.id and board.post_count == 2
    p4 = posting.reply(alice, thread, "四楼")
    assert p4.number == 4  # numbers are never reused
    with pytest.raises(PermissionDenied):
        posting.restore_post(bob, p3)
    posting.restore_post(mod, p3)
    assert _reload(db, board).post_count == 4
    assert _reload(db, bob).post_count == 2


def test_deleting_first_post_deletes_thread(db, setup, client):
    board, alice, bob, mod = setup
    thread = posting.create_thread(alice, board, "整帖删除", "一楼")
    posting.reply(bob, thread, "二楼")
    first = db.session.get(Post, thread.first_post_id)
    with pytest.raises(PermissionDenied):
        posting.delete_post(alice, first)
    posting.delete_post(mod, first)
    board = _reload(db, board)
    assert (board.thread_count, board.post_count, board.last_thread_id) == (0, 0, None)
    with pytest.raises(NotFound):
        posting.get_thread(thread.id, alice)
    assert posting.get_thread(thread.id, mod).id == thread.id
    posting.restore_thread(mod, _reload(db, thread))
    assert _reload(db, board).post_count == 2


def test_lock_and_pin(db, setup):
    board, alice, bob, mod = setup
    thread = posting.create_thread(alice, board, "锁帖", "内容")
    with pytest.raises(PermissionDenied):
        posting.set_locked(alice, thread, True)
    posting.set_locked(mod, thread, True)
    with pytest.raises(PermissionDenied):
        posting.reply(bob, thread, "还能回吗")
    posting.reply(mod, thread, "版主可以")
    posting.set_pinned(mod, thread, True)
    later = posting.create_thread(bob, board, "新主题", "内容")
    threads, _pages = reading.board_threads(board, 1)
    assert [t.id for t in threads] == [thread.id, later.id]


def test_move_thread_moves_counters(db, setup, make_board):
    board, alice, bob, mod = setup
    other = make_board("other")
    thread = posting.create_thread(alice, board, "搬家", "内容")
    posting.reply(bob, thread, "回复")
    with pytest.raises(PermissionDenied):
        posting.move_thread(alice, thread, other)
    posting.move_thread(mod, thread, other)
    board, other = _reload(db, board), _reload(db, other)
    assert (board.thread_count, board.post_count) == (0, 0)
    assert (other.thread_count, other.post_count, other.last_thread_id) == (1, 2, thread.id)


def test_pages_are_number_ranges(app, db, setup):
    board, alice, bob, _ = setup
    app.config["POSTS_PER_PAGE"] = 5
    thread = posting.create_thread(alice, board, "长帖", "1")
    for i in range(2, 13):
        posting.reply(bob, thread, str(i))
    thread = _reload(db, thread)
    assert reading.thread_pages(thread) == 3
    assert [p.number for p in reading.thread_posts(thread, 3)] == [11, 12]
    assert reading.page_of_number(6) == 2


def test_concurrent_style_numbering_is_unique(db, setup):
    board, alice, bob, _ = setup
    thread = posting.create_thread(alice, board, "编号", "1")
    stale = db.session.get(Thread, thread.id)
    for _ in range(5):
        posting.reply(bob, stale, "x")  # a stale object must not reuse numbers
    numbers = (
        db.session.execute(
            select(Post.number).where(Post.thread_id == thread.id).order_by(Post.number)
        )
        .scalars()
        .all()
    )
    assert numbers == [1, 2, 3, 4, 5, 6]
    total = db.session.execute(select(func.count()).select_from(Post)).scalar_one()
    assert total == db.session.get(Board, board.id).post_count
    assert db.session.get(Member, bob.id).post_count == 5


def test_mark_read(db, setup):
    board, alice, bob, _ = setup
    thread = posting.create_thread(alice, board, "已读", "1")
    posting.mark_read(bob, thread, 1)
    posting.reply(alice, thread, "2")
    assert reading.read_marks(bob, [thread.id]) == {thread.id: 1}
    posting.mark_read(bob, thread, 2)
    posting.mark_read(bob, thread, 1)  # never goes back
    assert reading.read_marks(bob, [thread.id]) == {thread.id: 2}


def test_deleting_a_thread_takes_its_posts_from_member_counts(db, setup):
    board, alice, bob, mod = setup
    thread = posting.create_thread(alice, board, "会被删除", "一楼")
    posting.reply(bob, thread, "二楼")
    posting.reply(bob, thread, "三楼")
    posting.delete_thread(mod, thread)
    assert (_reload(db, alice).post_count, _reload(db, bob).post_count) == (0, 0)
    posting.restore_thread(mod, _reload(db, thread))
    assert (_reload(db, alice).post_count, _reload(db, bob).post_count) == (1, 2)
