"""Search on both backends: Chinese segmentation, Simplified/Traditional folding, stemming,
permissions (guests, members, gated boards), incremental indexing (edit, delete, move,
hide, restore), filters, paging, bad queries, the /search page and its query count."""

from __future__ import annotations

from datetime import timedelta

import pytest

from forum import search
from forum.models.base import utcnow
from forum.search import text
from forum.services import groups, moderation, permissions, posting

# Every query here must give a friendly answer on both backends, never a 500.
BAD_QUERIES = [
    "",
    "   ",
    '"',
    '"unbalanced',
    '团购"',
    "AND OR",
    "AND",
    "NOT",
    "*",
    "**",
    "?",
    "团*",
    "(",
    ")",
    "((团购",
    "title:团购",
    "body:x OR 1=1",
    "'; DROP TABLE post; --",
    "1' OR '1'='1",
    "\\",
    "\\'",
    "a:b:c",
    "!团购",
    "& | ! :*",
    "<script>alert(1)</script>",
    "-",
    "--",
    "-团购",
    "~团购^2",
    "团购" * 150,
    "x" * 5000,
    "\x00",
    "😀",
    "％＆＊",
    "[TO]",
    "{a TO b}",
    "团购 " * 40,
]


@pytest.fixture(params=["whoosh", "postgres"])
def backend_name(request, database_kind) -> str:
    if request.param == "postgres" and database_kind != "postgres":
        pytest.skip("the postgres search backend needs FORUM_TEST_DATABASE_URL")
    return request.param


@pytest.fixture
def app_config(backend_name) -> dict:
    return {"SEARCH_BACKEND": backend_name}


@pytest.fixture
def board(make_board):
    return make_board("talk", "闲聊区")


@pytest.fixture
def author(make_member):
    return make_member("writer")


def find(viewer, q: str, **filters) -> list[int]:
    """Post ids ``viewer`` finds for ``q`` (best first)."""
    sort = filters.pop("sort", "relevance")
    page = search.search_posts(viewer, q, search.make_filters(viewer, **filters), sort=sort)
    return [r.post_id for r in page.results]


def total(viewer, q: str, **filters) -> int:
    return search.search_posts(viewer, q, search.make_filters(viewer, **filters)).total


def test_word_inside_a_sentence(app, board, author):
    thread = posting.create_thread(
        author, board, "周末活动", "我们这个周末在上海组织团购活动，欢迎大家报名参加。"
    )
    other = posting.create_thread(author, board, "闲聊", "今天天气很好")
    assert find(None, "团购") == [thread.first_post_id]
    assert find(None, "上海") == [thread.first_post_id]
    assert find(None, "报名") == [thread.first_post_id]
    assert find(None, "天气") == [other.first_post_id]
    assert find(None, "团购 上海") == [thread.first_post_id]  # every word must match
    assert find(None, "团购 天气") == []
    assert find(None, "活动 -团购") == []  # "-word" leaves out
    assert find(None, "周末", titles_only=True) == [thread.first_post_id]


def test_simplified_finds_traditional_and_back(app, board, author):
    trad = posting.create_thread(author, board, "團購帖", "這週末我們組織團購，歡迎參加")
    simp = posting.create_thread(author, board, "团购帖", "这个周末我们组织团购，欢迎参加")
    both = {trad.first_post_id, simp.first_post_id}
    assert set(find(None, "团购")) == both
    assert set(find(None, "團購")) == both
    assert set(find(None, "組織")) == both


def test_english_is_stemmed(app, board, author):
    thread = posting.create_thread(author, board, "Running club", "We are running tests daily")
    assert find(None, "run") == [thread.first_post_id]
    assert find(None, "TESTED") == [thread.first_post_id]
    assert find(None, "ＲＵＮ") == [thread.first_post_id]  # full-width letters fold


def test_members_only_board(app, make_board, make_member, author):
    vip = groups.create_group("VIP")
    hidden = make_board("vip", "会员区", grants={"guest": (), "member": ()})
    permissions.set_board_permissions(hidden.id, {vip.id: ("view", "read", "start_thread")})
    search.db.session.commit()
    _add_to_group(author, vip)
    secret = posting.create_thread(author, hidden, "秘密团购", "会员专享的团购价格")
    stranger = make_member("stranger")
    insider = make_member("insider")
    _add_to_group(insider, vip)
    assert find(None, "团购") == []
    assert total(None, "团购") == 0
    assert find(stranger, "团购") == []
    assert total(stranger, "团购") == 0
    assert find(insider, "团购") == [secret.first_post_id]
    # asking for the board by name gives the same answer as a board that does not exist
    with pytest.raises(search.QueryError):
        find(stranger, "团购", board="vip")
    assert find(insider, "团购", board="vip") == [secret.first_post_id]


def _add_to_group(member, group, expires_at=None):
    from forum.extensions import db
    from forum.models import GroupMembership

    db.session.add(
        GroupMembership(
            member_id=member.id, group_id=group.id, expires_at=expires_at, source="admin"
        )
    )
    db.session.commit()


def test_expired_paid_membership_hides_results(app, make_board, make_member, author):
    paid = groups.create_group("Paid")
    gated = make_board("paid", "付费区", grants={"guest": (), "member": ()})
    permissions.set_board_permissions(gated.id, {paid.id: ("view", "read", "start_thread")})
    search.db.session.commit()
    _add_to_group(author, paid)
    thread = posting.create_thread(author, gated, "付费内容", "付费会员才能看的团购")
    lapsed = make_member("lapsed")
    _add_to_group(lapsed, paid, expires_at=utcnow() - timedelta(minutes=1))
    assert find(lapsed, "团购") == []
    fresh = make_member("fresh")
    _add_to_group(fresh, paid, expires_at=utcnow() + timedelta(days=1))
    assert find(fresh, "团购") == [thread.first_post_id]


def test_edit_delete_move_hide_restore(app, make_board, board, author, make_member):
    moderator = make_member("modder", groups=("moderator",))
    thread = posting.create_thread(author, board, "旧标题", "原来的内容：苹果")
    reply = posting.reply(author, thread, "回复：香蕉")
    first = thread.first_post_id
    assert find(None, "苹果") == [first]
    assert find(None, "香蕉") == [reply.id]

    posting.edit_post(author, reply, "回复：橘子")
    assert find(None, "橘子") == [reply.id]
    assert find(None, "香蕉") == []
    posting.edit_post(author, search.db.session.get(type(reply), first), "新的内容：葡萄", "新标题")
    assert find(None, "新标题", titles_only=True) == [first]
    assert find(None, "旧标题") == []
    assert find(None, "苹果") == []

    posting.delete_post(author, reply)
    assert find(None, "橘子") == []
    posting.restore_post(moderator, reply)
    assert find(None, "橘子") == [reply.id]

    # moving to a board guests may not read takes the thread out of their results
    closed = make_board("closed", "内部", grants={"guest": ()})
    posting.move_thread(moderator, thread, closed)
    assert find(None, "葡萄") == []
    assert find(author, "葡萄") == [first]
    assert find(author, "葡萄", board="closed") == [first]
    assert find(author, "葡萄", board="talk") == []

    posting.delete_thread(moderator, thread)
    assert find(author, "葡萄") == []
    assert find(author, "橘子") == []
    posting.restore_thread(moderator, thread)
    assert find(author, "葡萄") == [first]
    assert find(author, "橘子") == [reply.id]
    assert find(author, "葡萄 橘子") == []  # every word in the same post


def test_hidden_post_leaves_results(app, board, author, make_member, english):
    moderator = make_member("modder", groups=("moderator",))
    reporter = make_member("reporter")
    thread = posting.create_thread(author, board, "标题", "正文")
    reply = posting.reply(author, thread, "不当言论：广告链接")
    assert find(None, "广告") == [reply.id]
    case = moderation.report(reporter, "post", reply.id, "spam", "")
    moderation.act(moderator, case.id, "hide", "spam")
    assert find(None, "广告") == []
    assert total(None, "广告") == 0


def test_filters_and_sort(app, make_board, board, author, make_member):
    other_board = make_board("trade", "交易区")
    someone = make_member("someone")
    t1 = posting.create_thread(author, board, "团购第一帖", "团购 牛奶")
    t2 = posting.create_thread(someone, other_board, "团购第二帖", "团购 面包")
    r2 = posting.reply(author, t2, "我也想团购面包")
    assert set(find(None, "团购")) == {t1.first_post_id, t2.first_post_id, r2.id}
    assert set(find(None, "团购", board="trade")) == {t2.first_post_id, r2.id}
    assert set(find(None, "团购", author="WRITER")) == {t1.first_post_id, r2.id}
    assert find(None, "团购", author="someone", board="trade") == [t2.first_post_id]
    assert set(find(None, "团购", titles_only=True)) == {t1.first_post_id, t2.first_post_id}
    assert find(None, "团购", sort="newest") == [r2.id, t2.first_post_id, t1.first_post_id]
    assert find(None, "团购", kind="discussion", sort="newest")[0] == r2.id
    assert find(None, "团购", kind="listing") == []
    now = utcnow()
    assert len(find(None, "团购", since=now - timedelta(hours=1))) == 3
    assert find(None, "团购", since=now + timedelta(hours=1)) == []
    assert find(None, "团购", until=now - timedelta(hours=1)) == []
    # a blank query with a narrowing filter lists that author's posts, newest first
    assert find(None, "", author="writer") == [r2.id, t1.first_post_id]
    with pytest.raises(search.QueryError):
        find(None, "团购", author="nobody-here")
    with pytest.raises(search.QueryError):
        find(None, "团购", since=now, until=now - timedelta(days=1))


def test_paging_and_counts(app, board, author):
    thread = posting.create_thread(author, board, "分页", "分页测试 第0条")
    for i in range(1, 25):
        posting.reply(author, thread, f"分页测试 第{i}条")
    f = search.make_filters(None)
    first = search.search_posts(None, "分页测试", f, sort="newest", per_page=10)
    assert first.total == 25 and first.pages == 3 and len(first.results) == 10
    third = search.search_posts(None, "分页测试", f, sort="newest", page=3, per_page=10)
    assert len(third.results) == 5
    seen = {r.post_id for r in first.results} | {r.post_id for r in third.results}
    assert len(seen) == 15
    assert search.count_posts(None, "分页测试", f) == 25
    with pytest.raises(search.QueryError):
        search.search_posts(None, "分页测试", f, page=search.MAX_PAGE + 1)


def test_bad_queries_never_fail(app, board, author):
    posting.create_thread(author, board, "团购", "团购 title body AND OR")
    for q in BAD_QUERIES:  # one app for the whole list: the list is long
        for titles_only in (False, True):
            filters = search.make_filters(None, titles_only=titles_only)
            try:
                page = search.search_posts(None, q, filters)
            except search.QueryError as exc:
                assert exc.message, q
            else:
                assert page.total >= 0, q


def test_bad_queries_on_the_page(app, client, board, author):
    posting.create_thread(author, board, "团购", "团购 <b>粗体</b>")
    for q in BAD_QUERIES:
        response = client.get("/search", query_string={"q": q})
        assert response.status_code == 200, q
    response = client.get("/search", query_string={"q": "x" * 5000})
    assert "at most" in response.get_data(as_text=True)
    for args in (
        {"q": "团购", "sort": "nonsense"},
        {"q": "团购", "page": "-1"},
        {"q": "团购", "page": "999999999999"},
        {"q": "团购", "since": "2024-13-45"},
        {"q": "团购", "board": "no-such-board"},
        {"q": "团购", "author": "x" * 300},
        {"q": "团购", "kind": "<script>"},
        {"q": "团购", "titles": "maybe"},
    ):
        assert client.get("/search", query_string=args).status_code == 200, args


def test_snippets_are_escaped_and_highlighted(app, client, board, author):
    posting.create_thread(
        author, board, "<i>团购</i> 标题", "前面的话。`<script>alert(1)</script>` 然后团购开始"
    )
    page = client.get("/search", query_string={"q": "团购"}).get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;" in page
    assert "<mark>团购</mark>" in page
    assert "<i>团购</i>" not in page
    assert "&lt;i&gt;<mark>团购</mark>&lt;/i&gt;" in page


def test_search_page_query_count_does_not_grow(app, client, board, author, count_queries):
    thread = posting.create_thread(author, board, "计数", "查询计数 测试")
    client.get("/search", query_string={"q": "查询计数"})  # warm caches
    with count_queries() as few:
        response = client.get("/search", query_string={"q": "查询计数"})
    assert response.status_code == 200
    for i in range(30):
        posting.reply(author, thread, f"查询计数 第{i}条")
    with count_queries() as many:
        response = client.get("/search", query_string={"q": "查询计数"})
    assert "查询计数" in response.get_data(as_text=True)
    assert many.count == few.count, many.statements


def test_header_has_a_search_box(app, client, board):
    page = client.get("/").get_data(as_text=True)
    assert 'action="/search"' in page


def test_plugin_fields_filter(app, board, author, monkeypatch):
    from forum.search import documents

    # two plugins answer forum_search_document; one returns names and types that are dropped
    def collect(hook, thread):
        assert hook == "forum_search_document"
        return [
            ("demo", {"demo_price": 100 * thread.id, "demo_city": "上海"}),
            ("sloppy", {"Bad Name": 1, "sloppy_list": [1, 2], "sloppy_none": None}),
        ]

    monkeypatch.setattr(documents.plugins, "has_impls", lambda hook: True)
    monkeypatch.setattr(documents.plugins, "collect", collect)
    a = posting.create_thread(author, board, "出售自行车", "二手自行车")
    b = posting.create_thread(author, board, "出售自行车", "九成新自行车")
    assert set(find(None, "自行车")) == {a.first_post_id, b.first_post_id}
    price_a = 100 * a.id
    got = find(None, "自行车", extra={"demo_price": (None, price_a)})
    assert got == [a.first_post_id]
    assert find(None, "自行车", extra={"demo_price": price_a + 100}) == [b.first_post_id]
    assert len(find(None, "自行车", extra={"demo_city": "上海"})) == 2
    assert find(None, "自行车", extra={"demo_city": "北京"}) == []
    with pytest.raises(search.QueryError):
        find(None, "自行车", extra={"Bad Name": 1})
    assert documents.for_post(a.first_post_id).extra == {"demo_price": price_a, "demo_city": "上海"}


def test_rebuild_matches_incremental_index(app, board, author, make_member):
    moderator = make_member("modder", groups=("moderator",))
    thread = posting.create_thread(author, board, "重建", "重建索引 测试")
    posting.reply(author, thread, "第二条 重建")
    gone = posting.reply(author, thread, "第三条 会被删掉")
    posting.delete_post(author, gone)
    t2 = posting.create_thread(author, board, "第二个主题", "内容")
    posting.delete_thread(moderator, t2)
    backend = search.get_backend()
    incremental = backend.all_documents()
    assert len(incremental) == 2
    seen = []
    assert search.rebuild(seen.append) == 2
    assert sum(seen) == 2
    assert backend.all_documents() == incremental
    assert set(find(None, "重建")) == {d[0] for d in incremental}
    backend.clear()
    assert find(None, "重建") == []
    assert search.rebuild() == 2
    assert len(find(None, "重建")) == 2


def test_query_parsing(app):
    assert text.fold("團購ＡＢＣ") == "团购ABC"
    assert len(text.fold("乾隆年間")) == 4  # same length: offsets stay right
    with pytest.raises(text.QueryError):
        text.parse_query("x" * (text.QUERY_MAX + 1))
    assert text.parse_query("", allow_empty=True).empty
    parsed = text.parse_query("团购 -广告 AND")
    assert parsed.required == ("团购",)
    assert parsed.excluded == (("广告",),)


def test_writes_during_a_rebuild_are_kept(app, board, author, make_member):
    """A post edited, one deleted and one written while the rebuild runs (after the rebuild
    read them) all end up right in the new index."""
    from forum.search import documents

    moderator = make_member("modder", groups=("moderator",))
    thread = posting.create_thread(author, board, "重建中", "重建中 原文：西瓜")
    doomed = posting.reply(author, thread, "重建中 要删的：草莓")
    first_post = search.db.session.get(type(doomed), thread.first_post_id)

    def batches():
        stale = list(documents.batches())  # read before the writes below
        posting.edit_post(author, first_post, "重建中 新文：哈密瓜")
        posting.delete_post(moderator, doomed)
        posting.reply(author, thread, "重建中 新写的：荔枝")
        yield from stale

    backend = search.get_backend()
    backend.rebuild(batches, search._refresh_thread)
    assert find(None, "哈密瓜") == [thread.first_post_id]
    assert find(None, "西瓜") == []
    assert find(None, "草莓") == []
    assert len(find(None, "荔枝")) == 1
    assert total(None, "重建中") == 2
