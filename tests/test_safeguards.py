"""New-member safeguards: the first N posts held for approval, link and image limits, the
word filter (replace, hold, block) and per-group posting rates."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forum.models import Board, Member, Post, ReportCase, Thread
from forum.services import groups, members, moderation, posting, safeguards, site
from forum.services.errors import ServiceError


@pytest.fixture
def board(make_board):
    return make_board("talk", "闲聊区")


@pytest.fixture
def newbie(make_member):
    return make_member("xiaoxin", locale="en")


@pytest.fixture
def mod(make_member):
    return make_member("banzhu", groups=("moderator",))


def _settings(db, **values) -> None:
    site.update_settings(values)
    db.session.commit()


def _posts(db) -> int:
    return db.session.execute(select(func.count(Post.id))).scalar_one()


# -- first N posts held -------------------------------------------------------------------------


def test_the_first_posts_of_a_new_member_wait_for_approval(db, board, newbie, mod):
    _settings(db, new_member_hold_posts=2)
    thread = posting.create_thread(newbie, board, "新人报到", "大家好")
    assert thread.held
    case = moderation.open_case_of("post", thread.first_post_id)
    assert case.kind == "held"
    moderation.act(mod, case.id, "approve")
    second = posting.reply(newbie, thread, "第二帖")
    assert second.state == "held"
    moderation.approve_post(mod, second)
    db.session.expire_all()
    assert db.session.get(Member, newbie.id).post_count == 2
    third = posting.reply(newbie, thread, "第三帖")
    assert third.state == "published"  # two published posts: no longer held


def test_hold_is_off_by_default_and_moderators_are_never_held(db, board, newbie, mod, make_member):
    assert not posting.create_thread(newbie, board, "默认不审核", "内容").held
    _settings(db, new_member_hold_posts=5)
    assert not posting.create_thread(mod, board, "版主发帖", "内容").held
    admin = make_member("zhanzhang", groups=("admin",))
    assert not posting.create_thread(admin, board, "站长发帖", "内容").held


def test_a_held_thread_counts_nowhere_and_takes_no_replies(db, board, newbie, make_member, english):
    _settings(db, new_member_hold_posts=1)
    thread = posting.create_thread(newbie, board, "待审核", "内容")
    db.session.expire_all()
    b = db.session.get(Board, board.id)
    assert (b.thread_count, b.post_count, b.last_thread_id) == (0, 0, None)
    other = make_member("laoyonghu", post_count=10)
    with pytest.raises(ServiceError, match="waiting for approval"):
        posting.reply(other, db.session.get(Thread, thread.id), "抢沙发")
    # only the author (and moderators) may open it
    from forum.services.errors import NotFound

    with pytest.raises(NotFound):
        posting.get_thread(thread.id, other)
    assert posting.get_thread(thread.id, newbie).id == thread.id


def test_a_held_reply_keeps_its_number_and_counts_after_approval(db, board, newbie, mod):
    thread = posting.create_thread(mod, board, "公告", "内容")
    _settings(db, new_member_hold_posts=1)
    held = posting.reply(newbie, thread, "我是新人")
    after = posting.reply(mod, thread, "版主回复")
    assert (held.number, after.number) == (2, 3)
    db.session.expire_all()
    t = db.session.get(Thread, thread.id)
    assert t.reply_count == 1 and t.last_post_id == after.id
    moderation.approve_post(mod, db.session.get(Post, held.id))
    db.session.expire_all()
    t = db.session.get(Thread, thread.id)
    assert t.reply_count == 2
    assert db.session.get(Board, board.id).post_count == 3


# -- link and image limits ----------------------------------------------------------------------


LINKS = "看这里 https://a.example/1 和 https://b.example/2 还有 https://c.example/3"
IMAGES = "![一](/uploads/a.png) ![二](/uploads/b.png)"


def test_new_members_links_and_images_are_limited(db, board, newbie, english):
    _settings(db, new_member_max_links=2, new_member_max_images=1, new_member_posts_threshold=3)
    before = _posts(db)
    with pytest.raises(ServiceError, match="at most 2 links") as refused:
        posting.create_thread(newbie, board, "链接太多", LINKS)
    assert refused.value.field == "body"
    with pytest.raises(ServiceError, match="at most 1 images"):
        posting.create_thread(newbie, board, "图片太多", IMAGES)
    assert _posts(db) == before
    # two links are fine
    posting.create_thread(newbie, board, "两个链接", "https://a.example/1 https://b.example/2")


def test_limits_end_with_enough_published_posts(db, board, make_member):
    _settings(db, new_member_max_links=0, new_member_posts_threshold=3)
    veteran = make_member("laoyonghu", post_count=3)
    posting.create_thread(veteran, board, "老用户", LINKS)
    newbie = make_member("xinren", post_count=2)
    with pytest.raises(ServiceError):
        posting.create_thread(newbie, board, "新人", LINKS)
    _settings(db, new_member_posts_threshold=0)  # 0: no limits
    posting.create_thread(newbie, board, "新人", LINKS)


def test_an_edit_cannot_add_links_beyond_the_limit(db, board, newbie, english):
    _settings(db, new_member_max_links=1, new_member_posts_threshold=3)
    thread = posting.create_thread(newbie, board, "编辑", "一个链接 https://a.example/1")
    post = db.session.get(Post, thread.first_post_id)
    with pytest.raises(ServiceError, match="at most 1 links"):
        posting.edit_post(newbie, post, LINKS)
    db.session.expire_all()
    assert db.session.get(Post, post.id).edit_count == 0
    posting.edit_post(newbie, db.session.get(Post, post.id), "改了文字 https://a.example/1")


# -- the word filter ------------------------------------------------------------------------------


def test_replace_is_case_insensitive_and_applies_to_everybody(db, board, newbie, mod):
    safeguards.add_word_filter("WeChat", "replace", "***")
    thread = posting.create_thread(newbie, board, "加我 wechat", "我的 WECHAT 是 abc")
    assert thread.title == "加我 ***"
    assert db.session.get(Post, thread.first_post_id).source == "我的 *** 是 abc"
    by_mod = posting.reply(mod, thread, "不要留 WeChat")
    assert by_mod.source == "不要留 ***"


def test_hold_phrase_sends_the_post_for_approval(db, board, newbie, mod):
    safeguards.add_word_filter("代购", "hold")
    safeguards.add_word_filter("海淘", "hold")
    thread = posting.create_thread(newbie, board, "海淘推荐", "可以代购")
    assert thread.held
    cases, _pages = moderation.queue(mod)
    assert cases[0].hold_reasons == ["word:海淘", "word:代购"]
    # moderators' posts are never held for a phrase
    assert posting.reply(
        mod, posting.create_thread(mod, board, "代购规则", "内容"), "代购"
    ).state == ("published")


def test_block_phrase_refuses_the_post_and_stores_nothing(db, board, newbie, english):
    safeguards.add_word_filter("赌博", "block")
    before = _posts(db)
    with pytest.raises(ServiceError, match="is not allowed") as refused:
        posting.create_thread(newbie, board, "正常标题", "来赌博吧")
    assert refused.value.field == "body"
    with pytest.raises(ServiceError) as in_title:
        posting.create_thread(newbie, board, "赌博网站", "内容")
    assert in_title.value.field == "title"
    assert _posts(db) == before
    assert db.session.execute(select(func.count(ReportCase.id))).scalar_one() == 0


def test_an_edit_cannot_bring_in_a_hold_phrase(db, board, newbie, mod, english):
    safeguards.add_word_filter("代购", "hold")
    thread = posting.create_thread(newbie, board, "普通", "普通内容")
    post = db.session.get(Post, thread.first_post_id)
    with pytest.raises(ServiceError, match="needs a moderator's approval"):
        posting.edit_post(newbie, post, "现在可以代购了")
    db.session.expire_all()
    assert db.session.get(Post, post.id).source == "普通内容"
    # an approved post that had the phrase may still be edited
    held = posting.create_thread(newbie, board, "代购说明", "代购须知")
    moderation.approve_post(mod, db.session.get(Post, held.first_post_id))
    edited = posting.edit_post(newbie, db.session.get(Post, held.first_post_id), "代购须知（更新）")
    assert edited.source == "代购须知（更新）"


def test_filter_words_for_other_text(db):
    safeguards.add_word_filter("傻瓜", "replace", "**")
    safeguards.add_word_filter("加群", "hold")
    assert safeguards.filter_words("你是傻瓜，快加群") == ("你是**，快加群", ["加群"])
    assert safeguards.filter_words("快加群", allow_hold=False) == ("快加群", [])


def test_word_filter_changes_take_effect_at_once(db, board, newbie):
    row = safeguards.add_word_filter("优惠", "replace", "[优]")
    assert posting.create_thread(newbie, board, "标题一", "优惠").title == "标题一"
    safeguards.update_word_filter(row, "优惠", "block")
    with pytest.raises(ServiceError):
        posting.create_thread(newbie, board, "标题二", "优惠")
    safeguards.delete_word_filter(row)
    posting.create_thread(newbie, board, "标题三", "优惠")


def test_word_filter_rows_are_checked(db, english):
    with pytest.raises(ServiceError, match="enter a word"):
        safeguards.add_word_filter("   ", "block")
    with pytest.raises(ServiceError, match="at most 100"):
        safeguards.add_word_filter("长" * 101, "block")
    with pytest.raises(ServiceError, match="what the filter does"):
        safeguards.add_word_filter("词", "explode")
    with pytest.raises(ServiceError, match="replacement text"):
        safeguards.add_word_filter("词", "replace", "  ")
    row = safeguards.add_word_filter("Spam", "block", "ignored")
    assert row.replacement == ""  # only replace keeps one
    with pytest.raises(ServiceError, match="in the filter already"):
        safeguards.add_word_filter("SPAM", "hold")
    other = safeguards.add_word_filter("广告", "hold")
    with pytest.raises(ServiceError, match="in the filter already"):
        safeguards.update_word_filter(other, "spam", "hold")
    safeguards.update_word_filter(row, "spam", "hold")  # its own phrase, other case: fine
    assert [r.phrase for r in safeguards.word_filters()] == ["spam", "广告"]


# -- posting rates ---------------------------------------------------------------------------------


def test_validate_rate(english):
    assert safeguards.validate_rate("  10   per hour ") == "10 per hour"
    assert safeguards.validate_rate("5/minute;100/day") == "5/minute;100/day"
    assert safeguards.validate_rate("") == ""
    for bad in ("lots", "0 per hour", "10 per fortnight", "1/minute;" * 10):
        with pytest.raises(ServiceError, match="Write a rate"):
            safeguards.validate_rate(bad)


def test_the_most_generous_group_rate_wins(app, db, make_member):
    slow = groups.create_group("慢速组", "slow")
    fast = groups.create_group("快速组", "fast")
    safeguards.set_post_rate(slow, "2 per minute")
    safeguards.set_post_rate(fast, "30 per hour")  # 0.5/min: less generous than 2/minute
    nobody = make_member("putong")
    assert safeguards.posting_rate(nobody) == app.config["RATELIMIT_POSTING"]
    both = make_member("liangge")
    members.set_membership(both, slow)
    members.set_membership(both, fast)
    site.clear_request_cache()
    assert safeguards.posting_rate(both) == "2 per minute"
    # the tightest limit of a rate decides how generous it is
    safeguards.set_post_rate(fast, "100 per minute;3 per hour")
    site.clear_request_cache()
    assert safeguards.posting_rate(both) == "2 per minute"
    safeguards.set_post_rate(slow, "")
    site.clear_request_cache()
    assert safeguards.posting_rate(both) == "100 per minute;3 per hour"
    with pytest.raises(ServiceError):
        safeguards.set_post_rate(slow, "nonsense")
    db.session.rollback()


class TestRateLimiter:
    """The route's limiter uses the member's most generous group rate."""

    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_POSTING": "1 per minute"}

    def test_group_rate_replaces_the_default(self, app, db, board, make_member, login):
        regulars = groups.create_group("常客", "regulars")
        safeguards.set_post_rate(regulars, "3 per minute")
        tight = groups.create_group("受限", "limited")
        safeguards.set_post_rate(tight, "1 per hour")
        regular = make_member("changke")
        members.set_membership(regular, regulars)
        members.set_membership(regular, tight)
        plain = make_member("putong")

        def codes(member) -> list[int]:
            c = login(app.test_client(), member)
            return [
                c.post("/b/talk/new", data={"title": f"主题 {i}", "body": "内容"}).status_code
                for i in range(4)
            ]

        assert codes(regular) == [302, 302, 302, 429]
        assert codes(plain) == [302, 429, 429, 429]
