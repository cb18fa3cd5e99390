"""Moderation pages with the test client: the report forms, the queue (site and board), the
case actions by direct POST (permissions, handled cases, bad input), thread-page actions on
held and hidden posts, the log, the word filter admin, CSRF, and fixed query counts."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from forum.models import Member, ModerationLog, Post, Report, ReportCase, WordFilter
from forum.services import groups, members, moderation, permissions, posting, site


@pytest.fixture
def board(make_board):
    return make_board("talk", "闲聊区")


@pytest.fixture
def people(make_member):
    return {
        "alice": make_member("alice"),
        "bob": make_member("bob"),
        "carol": make_member("carol"),
        "mod": make_member("banzhu", groups=("moderator",)),
        "boss": make_member("boss", groups=("admin",)),
    }


@pytest.fixture
def thread(board, people):
    thread = posting.create_thread(people["alice"], board, "团购讨论", "第一楼")
    posting.reply(people["alice"], thread, "第二楼：加我微信买便宜货")
    return thread


def _reply_id(db, thread) -> int:
    return db.session.execute(
        select(Post.id).where(Post.thread_id == thread.id, Post.number == 2)
    ).scalar_one()


def _board_moderator(make_member, board, username: str) -> Member:
    group = groups.create_group(f"{board.slug} 版主", f"mods-{board.slug}")
    permissions.set_board_permissions(board.id, {group.id: permissions.BOARD_PERMISSIONS})
    site.bump_version()
    member = make_member(username)
    members.set_membership(member, group)
    return member


def _client(app, login, member):
    return login(app.test_client(), member)


def _count(db, model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count(model.id))).scalar_one()


# -- reporting --------------------------------------------------------------------------------


def test_report_a_post_through_the_form(app, db, login, people, thread):
    post_id = _reply_id(db, thread)
    c = _client(app, login, people["bob"])
    page = c.get(f"/t/{thread.id}")
    assert f'href="/p/{post_id}/report"' in page.get_data(as_text=True)
    form = c.get(f"/p/{post_id}/report")
    html = form.get_data(as_text=True)
    assert form.status_code == 200
    for reason in ("spam", "abuse", "off_topic", "illegal", "other"):
        assert f'value="{reason}"' in html
    assert "微信" in html  # the post is shown
    sent = c.post(f"/p/{post_id}/report", data={"reason": "spam", "note": "广告"})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/p/{post_id}")
    assert "Thank you" in c.get(sent.headers["Location"], follow_redirects=True).get_data(
        as_text=True
    )
    case = db.session.execute(select(ReportCase)).scalar_one()
    assert case.report_count == 1

    again = c.post(
        f"/p/{post_id}/report", data={"reason": "abuse"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "already reported" in again
    assert _count(db, Report) == 1


def test_report_form_bad_input_changes_nothing(app, db, login, people, thread):
    post_id = _reply_id(db, thread)
    c = _client(app, login, people["bob"])
    no_reason = c.post(f"/p/{post_id}/report", data={"note": "广告"})
    assert no_reason.status_code == 400
    assert "choose a reason" in no_reason.get_data(as_text=True)
    bad_reason = c.post(f"/p/{post_id}/report", data={"reason": "because"})
    assert bad_reason.status_code == 400
    long_note = c.post(f"/p/{post_id}/report", data={"reason": "spam", "note": "字" * 1001})
    assert long_note.status_code == 400
    assert c.post("/p/999999/report", data={"reason": "spam"}).status_code == 404
    assert _count(db, ReportCase) == 0


def test_own_post_and_own_profile_are_not_reportable(app, db, login, people, thread):
    post_id = _reply_id(db, thread)
    c = _client(app, login, people["alice"])
    assert f"/p/{post_id}/report" not in c.get(f"/t/{thread.id}").get_data(as_text=True)
    own = c.post(f"/p/{post_id}/report", data={"reason": "spam"}, follow_redirects=True)
    assert "cannot report your own post" in own.get_data(as_text=True)
    assert "/u/alice/report" not in c.get("/u/alice").get_data(as_text=True)
    me = c.post("/u/alice/report", data={"reason": "spam"}, follow_redirects=True)
    assert "cannot report yourself" in me.get_data(as_text=True)
    assert _count(db, ReportCase) == 0


def test_guests_are_sent_to_sign_in(client, db, thread):
    response = client.get(f"/p/{_reply_id(db, thread)}/report")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_report_a_member_from_the_profile(app, db, login, people):
    c = _client(app, login, people["bob"])
    assert 'href="/u/alice/report"' in c.get("/u/alice").get_data(as_text=True)
    assert c.get("/u/alice/report").status_code == 200
    sent = c.post("/u/alice/report", data={"reason": "abuse", "note": "骂人"})
    assert sent.status_code == 302
    case = db.session.execute(select(ReportCase)).scalar_one()
    assert (case.target_type, case.target_id, case.board_id) == ("member", people["alice"].id, None)
    assert c.get("/u/nobody-here/report").status_code == 404


def test_forms_have_a_csrf_token_and_refuse_without_it(app, db, people, thread):
    post_id = _reply_id(db, thread)
    case = moderation.report(people["carol"], "post", post_id, "spam")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        for who, url in (("bob", f"/p/{post_id}/report"), ("mod", "/admin/queue")):
            c = app.test_client()
            page = c.get("/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            c.post(
                "/login",
                data={
                    "login": people[who].username,
                    "password": "correct-horse-9",
                    "csrf_token": token,
                },
            )
            assert 'name="csrf_token"' in c.get(url).get_data(as_text=True)
            if who == "bob":
                assert c.post(url, data={"reason": "spam"}).status_code == 400
            else:
                assert c.post(f"/admin/queue/{case.id}", data={"action": "hide"}).status_code == 400
                assert (
                    c.post(f"/p/{post_id}/moderation", data={"action": "unhide"}).status_code == 400
                )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    db.session.expire_all()
    assert db.session.get(ReportCase, case.id).report_count == 1
    assert db.session.get(ReportCase, case.id).status == "open"


# -- the queue ----------------------------------------------------------------------------------


def test_queue_shows_grouped_reports_with_action_forms(app, db, login, people, thread):
    post_id = _reply_id(db, thread)
    moderation.report(people["bob"], "post", post_id, "spam", "广告")
    moderation.report(people["carol"], "post", post_id, "spam")
    moderation.report(people["bob"], "member", people["alice"].id, "abuse")
    c = _client(app, login, people["mod"])
    page = c.get("/admin/queue")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('class="card case') == 2
    assert "2 reports" in html and "×2" in html and "广告" in html
    assert f'href="/p/{post_id}"' in html and "团购讨论" in html
    assert 'name="csrf_token"' in html and 'name="days"' in html
    for action in ("dismiss", "hide", "delete", "warn", "suspend"):
        assert f'value="{action}"' in html


def test_queue_is_for_moderators_only(app, client, login, people, thread):
    assert client.get("/admin/queue").status_code == 302  # sign in first
    c = _client(app, login, people["bob"])
    assert c.get("/admin/queue").status_code == 403
    assert c.get("/b/talk/queue").status_code == 403
    assert c.get("/admin/log").status_code == 403
    assert c.get("/admin/word-filters").status_code == 403


def test_empty_queue_says_so(app, login, people):
    html = _client(app, login, people["mod"]).get("/admin/queue").get_data(as_text=True)
    assert "Nothing waits for you here" in html


def test_board_queue_shows_one_board(app, db, login, people, make_member, make_board):
    board_a, board_b = make_board("board-a"), make_board("board-b")
    mod_a = _board_moderator(make_member, board_a, "kim")
    in_a = posting.create_thread(people["alice"], board_a, "A 版主题", "内容 A")
    in_b = posting.create_thread(people["alice"], board_b, "B 版主题", "内容 B")
    moderation.report(people["bob"], "post", in_a.first_post_id, "spam")
    moderation.report(people["bob"], "post", in_b.first_post_id, "spam")
    c = _client(app, login, mod_a)
    html = c.get("/b/board-a/queue").get_data(as_text=True)
    assert "A 版主题" in html and "B 版主题" not in html
    assert 'value="suspend"' not in html  # board moderators do not suspend
    assert c.get("/b/board-b/queue").status_code == 403
    assert c.get("/b/no-such-board/queue").status_code == 404
    everything = c.get("/admin/queue").get_data(as_text=True)
    assert "A 版主题" in everything and "B 版主题" not in everything
    admin = _client(app, login, people["boss"]).get("/b/board-b/queue").get_data(as_text=True)
    assert "B 版主题" in admin and "A 版主题" not in admin


def test_queue_pages(app, db, login, people, board):
    for i in range(moderation.PER_PAGE + 1):
        t = posting.create_thread(people["alice"], board, f"主题 {i}", f"内容 {i}")
        moderation.report(people["bob"], "post", t.first_post_id, "spam")
    c = _client(app, login, people["mod"])
    first = c.get("/admin/queue").get_data(as_text=True)
    assert first.count('class="card case') == moderation.PER_PAGE
    assert 'rel="next"' in first
    second = c.get("/admin/queue?page=2").get_data(as_text=True)
    assert second.count('class="card case') == 1
    # a page that emptied (its last case handled) leads to the last page there is
    gone = c.get("/admin/queue?page=3")
    assert gone.status_code == 302 and gone.headers["Location"].endswith("/admin/queue?page=2")
    assert c.get("/admin/queue?page=abc").status_code == 404


# -- acting on cases by POST ---------------------------------------------------------------------


def test_hide_through_the_queue(app, db, login, people, thread):
    post_id = _reply_id(db, thread)
    case = moderation.report(people["bob"], "post", post_id, "spam")
    c = _client(app, login, people["mod"])
    response = c.post(
        f"/admin/queue/{case.id}?next=/admin/queue",
        data={"action": "hide", "reason": "广告", "days": "7"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/queue")
    db.session.expire_all()
    assert db.session.get(Post, post_id).state == "hidden"
    assert db.session.get(ReportCase, case.id).resolution == "hidden"
    # the thread page: hidden for readers, marked for the moderator with "show again"
    reader = _client(app, login, people["carol"]).get(f"/t/{thread.id}").get_data(as_text=True)
    assert "hidden by a moderator" in reader and "加我微信" not in reader
    mod_page = c.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "加我微信" in mod_page and 'value="unhide"' in mod_page
    shown = c.post(f"/p/{post_id}/moderation", data={"action": "unhide"})
    assert shown.status_code == 302
    db.session.expire_all()
    assert db.session.get(Post, post_id).state == "published"


def test_board_a_moderator_posting_to_a_board_b_case_is_refused(
    app, db, login, people, make_member, make_board
):
    board_a, board_b = make_board("board-a"), make_board("board-b")
    mod_a = _board_moderator(make_member, board_a, "kim")
    in_b = posting.create_thread(people["alice"], board_b, "B 版主题", "内容 B")
    case = moderation.report(people["bob"], "post", in_b.first_post_id, "spam")
    c = _client(app, login, mod_a)
    for action in ("hide", "delete", "dismiss", "warn"):
        response = c.post(f"/admin/queue/{case.id}", data={"action": action, "reason": "越权"})
        assert response.status_code == 403
        assert "You may not act on this report" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ReportCase, case.id).status == "open"
    assert db.session.get(Post, in_b.first_post_id).state == "published"
    assert db.session.get(Post, in_b.first_post_id).deleted_at is None
    assert _count(db, ModerationLog) == 0
    # and the site moderator's member cases are out of reach too
    member_case = moderation.report(people["bob"], "member", people["alice"].id, "abuse")
    assert c.post(f"/admin/queue/{member_case.id}", data={"action": "warn"}).status_code == 403
    assert db.session.get(Member, people["alice"].id).warning_count == 0


def test_acting_on_a_handled_case_says_so_and_changes_nothing(app, db, login, people, thread):
    post_id = _reply_id(db, thread)
    case = moderation.report(people["bob"], "post", post_id, "spam")
    mod = _client(app, login, people["mod"])
    boss = _client(app, login, people["boss"])
    assert mod.post(f"/admin/queue/{case.id}", data={"action": "dismiss"}).status_code == 302
    late = boss.post(
        f"/admin/queue/{case.id}", data={"action": "delete"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "already been handled" in late
    db.session.expire_all()
    assert db.session.get(Post, post_id).deleted_at is None
    assert db.session.get(ReportCase, case.id).resolution == "dismissed"
    assert _count(db, ModerationLog) == 1


def test_case_action_bad_input(app, db, login, people, thread):
    case = moderation.report(people["bob"], "post", _reply_id(db, thread), "spam")
    c = _client(app, login, people["mod"])

    def flashed(data) -> str:
        return c.post(f"/admin/queue/{case.id}", data=data, follow_redirects=True).get_data(
            as_text=True
        )

    assert "Please choose an action" in flashed({})
    assert "Unknown action" in flashed({"action": "explode"})
    assert "how long the suspension lasts" in flashed(
        {"action": "suspend", "reason": "广告", "days": "5"}
    )
    assert "give a reason" in flashed({"action": "suspend", "days": "7"})
    assert c.post("/admin/queue/999999", data={"action": "hide"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(ReportCase, case.id).status == "open"
    assert not db.session.get(Member, people["alice"].id).is_banned
    # an off-site next= is not followed
    away = c.post(f"/admin/queue/{case.id}?next=https://evil.example/", data={"action": "dismiss"})
    assert away.headers["Location"].endswith("/admin/queue")


def test_suspend_through_the_queue(app, db, login, people, thread):
    case = moderation.report(people["bob"], "post", _reply_id(db, thread), "spam")
    c = _client(app, login, people["mod"])
    c.post(f"/admin/queue/{case.id}", data={"action": "suspend", "reason": "广告", "days": ""})
    db.session.expire_all()
    alice = db.session.get(Member, people["alice"].id)
    assert alice.is_banned and alice.banned_until is None  # permanently


def test_approving_a_held_post_from_the_thread_page(app, db, login, people, board):
    site.update_settings({"new_member_hold_posts": 1})
    db.session.commit()
    thread = posting.create_thread(people["alice"], board, "新人报到", "大家好，我是新人")
    author = _client(app, login, people["alice"])
    own = author.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "Waiting for approval" in own and "大家好" in own
    assert _client(app, login, people["bob"]).get(f"/t/{thread.id}").status_code == 404
    assert "新人报到" not in _client(app, login, people["bob"]).get("/b/talk").get_data(
        as_text=True
    )
    c = _client(app, login, people["mod"])
    queue = c.get("/admin/queue").get_data(as_text=True)
    assert "New member" in queue and 'value="approve"' in queue
    page = c.get(f"/t/{thread.id}").get_data(as_text=True)
    assert 'value="approve"' in page
    assert (
        author.post(f"/p/{thread.first_post_id}/moderation", data={"action": "approve"}).status_code
        == 403
    )
    assert (
        c.post(f"/p/{thread.first_post_id}/moderation", data={"action": "approve"}).status_code
        == 302
    )
    assert (
        c.post(f"/p/{thread.first_post_id}/moderation", data={"action": "nonsense"}).status_code
        == 400
    )
    assert _client(app, login, people["bob"]).get(f"/t/{thread.id}").status_code == 200
    again = c.post(
        f"/p/{thread.first_post_id}/moderation", data={"action": "approve"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "not waiting for approval" in again


# -- the log --------------------------------------------------------------------------------------


def test_log_page_lists_filters_and_pages(app, db, login, people, thread):
    post_id = _reply_id(db, thread)
    moderation.act(
        people["mod"],
        moderation.report(people["bob"], "post", post_id, "spam").id,
        "hide",
        "广告帖",
    )
    members.ban(people["carol"], "机器人", actor=people["boss"])
    c = _client(app, login, people["boss"])
    html = c.get("/admin/log").get_data(as_text=True)
    assert "广告帖" in html and "机器人" in html and "Hidden" in html and "Banned" in html
    only_hide = c.get("/admin/log?action=hide").get_data(as_text=True)
    assert "广告帖" in only_hide and "机器人" not in only_hide
    about_carol = c.get("/admin/log?who=carol").get_data(as_text=True)
    assert "机器人" in about_carol and "广告帖" not in about_carol
    assert "No entries match" in c.get("/admin/log?who=nobody").get_data(as_text=True)
    assert c.get("/admin/log?action=<script>").status_code == 200  # unknown: ignored
    assert c.get("/admin/log?page=2").status_code == 404
    # the site moderator sees the board's entry, not the administrator's ban
    mod = _client(app, login, people["mod"]).get("/admin/log").get_data(as_text=True)
    assert "广告帖" in mod and "机器人" not in mod


def test_dashboard_links_to_queue_and_log(app, login, people):
    html = _client(app, login, people["boss"]).get("/admin/").get_data(as_text=True)
    assert 'href="/admin/queue"' in html and 'href="/admin/log"' in html


# -- the word filter -----------------------------------------------------------------------------


def test_word_filter_admin(app, db, login, people):
    c = _client(app, login, people["boss"])
    assert c.get("/admin/word-filters").status_code == 200
    assert _client(app, login, people["mod"]).get("/admin/word-filters").status_code == 403
    added = c.post(
        "/admin/word-filters", data={"phrase": "加微信", "action": "replace", "replacement": "***"}
    )
    assert added.status_code == 302
    html = c.get("/admin/word-filters").get_data(as_text=True)
    assert "加微信" in html and "***" in html
    row = db.session.execute(select(WordFilter)).scalar_one()

    duplicate = c.post("/admin/word-filters", data={"phrase": "加微信", "action": "block"})
    assert duplicate.status_code == 400 and "in the filter already" in duplicate.get_data(
        as_text=True
    )
    no_replacement = c.post("/admin/word-filters", data={"phrase": "代购", "action": "replace"})
    assert no_replacement.status_code == 400
    assert "replacement text" in no_replacement.get_data(as_text=True)
    assert c.post("/admin/word-filters", data={"phrase": "x", "action": "zap"}).status_code == 400
    assert _count(db, WordFilter) == 1

    assert c.get(f"/admin/word-filters/{row.id}").status_code == 200
    edited = c.post(f"/admin/word-filters/{row.id}", data={"phrase": "加微信", "action": "hold"})
    assert edited.status_code == 302
    db.session.expire_all()
    row = db.session.get(WordFilter, row.id)
    assert (row.action, row.replacement) == ("hold", "")
    assert c.get("/admin/word-filters/999999").status_code == 404
    assert c.post(f"/admin/word-filters/{row.id}/delete").status_code == 302
    assert _count(db, WordFilter) == 0


# -- fixed query counts ---------------------------------------------------------------------------


def _make_cases(db, people, board, n: int, *, member_case: bool = False) -> None:
    for i in range(n):
        t = posting.create_thread(people["alice"], board, f"主题 {i}", f"内容 {i} " * 20)
        moderation.report(people["bob"], "post", t.first_post_id, "spam", f"说明 {i}")
        moderation.report(people["carol"], "post", t.first_post_id, "abuse")
    if member_case:
        moderation.report(people["bob"], "member", people["alice"].id, "abuse", "骂人")


def _queries(app, login, count_queries, member, url: str) -> int:
    c = _client(app, login, member)
    assert c.get(url).status_code == 200  # warm the worker caches
    with count_queries() as q:
        assert c.get(url).status_code == 200
    return q.count


def test_queue_and_log_query_counts_do_not_grow(app, db, login, people, board, count_queries):
    _make_cases(db, people, board, 2, member_case=True)
    for case in db.session.execute(select(ReportCase)).scalars().all()[:1]:
        moderation.act(people["mod"], case.id, "warn", "第一次")
    small_queue = _queries(app, login, count_queries, people["mod"], "/admin/queue")
    small_log = _queries(app, login, count_queries, people["boss"], "/admin/log")
    _make_cases(db, people, board, 12)
    for case in (
        db.session.execute(
            select(ReportCase).where(ReportCase.status == "open", ReportCase.target_type == "post")
        )
        .scalars()
        .all()[:8]
    ):
        moderation.act(people["mod"], case.id, "hide", "广告")
    big_queue = _queries(app, login, count_queries, people["mod"], "/admin/queue")
    big_log = _queries(app, login, count_queries, people["boss"], "/admin/log")
    assert big_queue == small_queue, (small_queue, big_queue)
    assert big_log == small_log, (small_log, big_log)
    assert big_queue <= 10 and big_log <= 6


def test_no_extra_markup_leaks_from_notes(app, db, login, people, thread):
    moderation.report(people["bob"], "post", _reply_id(db, thread), "other", "<b>粗体</b>")
    html = _client(app, login, people["mod"]).get("/admin/queue").get_data(as_text=True)
    assert "&lt;b&gt;粗体" in html and not re.search(r"<b>粗体", html)


class TestReportRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_REPORTS": "2 per minute"}

    def test_reports_are_rate_limited_per_member(self, app, db, login, people, board):
        threads = [
            posting.create_thread(people["alice"], board, f"主题 {i}", "内容") for i in range(3)
        ]
        c = _client(app, login, people["bob"])
        codes = [
            c.post(f"/p/{t.first_post_id}/report", data={"reason": "spam"}).status_code
            for t in threads
        ]
        assert codes == [302, 302, 429]
        assert c.get(f"/p/{threads[2].first_post_id}/report").status_code == 200  # reading is free
        assert _count(db, ReportCase) == 2
        other = _client(app, login, people["carol"])
        assert (
            other.post(f"/p/{threads[2].first_post_id}/report", data={"reason": "spam"}).status_code
            == 302
        )


def test_the_header_leads_moderators_to_their_queue(
    app, login, db, make_member, board, thread, people
):
    moderation.report(people["bob"], "post", _reply_id(db, thread), "spam")
    board_mod = _board_moderator(make_member, board, "talkmod")
    for member, expected in ((board_mod, 1), (people["boss"], 1), (people["carol"], 0)):
        page = _client(app, login, member).get("/").get_data(as_text=True)
        links = re.findall(
            r'href="/admin/queue">[^<]*(?:<span class="badge badge-count">(\d+))?', page
        )
        if expected:
            assert links and all(n == str(expected) for n in links), (member.username, links)
        else:
            assert not links, member.username
