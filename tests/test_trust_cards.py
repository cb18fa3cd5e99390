"""Trust cards: the core's facts from the counters already loaded (no query), plugins' facts
through the batched ``forum_trust_facts(members)`` hook (one call per page), shown next to
every post author and on the profile; a failing plugin leaves only its own facts out; the
thread page's SQL count does not grow with posts, authors or likes. Uses tests/sample_plugin.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

import pytest
from sqlalchemy import update

from forum import plugins
from forum.models import Member
from forum.plugin_api import TrustFact
from forum.services import likes, posting, reading, trust
from tests import sample_plugin

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def app_config() -> dict:
    return {"EXTRA_PLUGINS": {"sample": "tests.sample_plugin"}}


@pytest.fixture(autouse=True)
def _sample_behaves():
    sample_plugin.SAMPLE_RAISE.update(on=False, trust="")
    sample_plugin.TRUST_CALLS.clear()
    yield
    sample_plugin.SAMPLE_RAISE.update(on=False, trust="")


@pytest.fixture
def board(make_board):
    return make_board("trust")


def _html(response) -> str:
    return response.get_data(as_text=True)


def _facts(html: str) -> list[tuple[str, str]]:
    return re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", html)


def _cards(html: str) -> list[str]:
    return re.findall(r'<dl class="trust-card[^"]*">.*?</dl>', html, re.S)


# -- the service -------------------------------------------------------------------------------


def _author(**counters) -> reading.AuthorView:
    values = {"post_count": 12, "thread_count": 3, "like_count": 7, "warning_count": 0}
    values.update(counters)
    return reading.AuthorView(5, "lin", "", None, created_at=datetime(2024, 3, 9, 8, 0), **values)


def test_core_facts_come_from_the_loaded_counters(count_queries):
    with count_queries() as q:
        facts = trust.core_facts(_author())
    assert q.count == 0
    assert [(str(f.label), f.value) for f in facts] == [
        ("Joined", "2024-03"),
        ("Posts", 12),
        ("Threads", 3),
        ("Likes", 7),
    ]
    assert facts[0].hint == "Member since 2024-03-09"
    assert [f.order for f in facts] == sorted(f.order for f in facts)


def test_warnings_show_only_when_there_are_some():
    warned = trust.core_facts(_author(warning_count=2))
    assert (str(warned[-1].label), warned[-1].value, warned[-1].tone) == (
        "Warnings",
        2,
        "negative",
    )
    assert "Warnings" not in [str(f.label) for f in trust.core_facts(_author())]


def test_cards_build_each_distinct_author_once_and_call_plugins_once(
    make_member, enable_plugin, count_queries
):
    enable_plugin("sample")
    a, b = make_member("ann"), make_member("bo")
    views = [reading.AuthorView(m.id, m.username, "", None, m.created_at) for m in (a, b, a, a)]
    trust.cards(views)  # warm the per-worker caches (the enabled plugins), as a site has them
    sample_plugin.TRUST_CALLS.clear()
    with count_queries() as q:
        cards = trust.cards(views)
    assert set(cards) == {a.id, b.id}
    assert [(a.id, b.id)] == sample_plugin.TRUST_CALLS  # one call, distinct members
    assert q.count == 1  # the sample plugin's one batched query; the core's facts need none
    assert [str(f.label) for f in cards[a.id]][-1] == "Sample fact"


def test_plugin_facts_are_merged_and_ordered(make_member, board, enable_plugin):
    enable_plugin("sample")
    writer = make_member("writer")
    posting.create_thread(
        writer, board, "便签", "正文", kind="discussion"
    )  # no note yet: no notes fact
    facts = trust.card(writer)
    assert [str(f.label) for f in facts] == ["Joined", "Posts", "Threads", "Likes", "Sample fact"]
    merged = plugins.trust_facts([writer])
    assert list(merged) == [writer.id]  # the fact for an unknown id (-1) is dropped


def test_no_plugin_means_no_hook_call(make_member, count_queries):
    member = make_member("quiet")
    trust.card(member)  # warm the per-worker caches and load the member, as a page has them
    with count_queries() as q:
        assert plugins.trust_facts([member]) == {}
        facts = trust.card(member)
    assert q.count == 0 and sample_plugin.TRUST_CALLS == [], q.statements
    assert [str(f.label) for f in facts] == ["Joined", "Posts", "Threads", "Likes"]


def test_a_plugin_returning_the_old_list_shape_is_logged_and_skipped(
    make_member, enable_plugin, caplog
):
    enable_plugin("sample")
    member = make_member("shape")
    sample_plugin.SAMPLE_RAISE["trust"] = "list"
    with caplog.at_level(logging.ERROR, logger="forum.plugins"):
        assert plugins.trust_facts([member]) == {}
        assert [str(f.label) for f in trust.card(member)][-1] == "Likes"
    assert "plugin sample: forum_trust_facts failed: returned list" in caplog.text


def test_a_wrong_item_type_is_refused(monkeypatch, make_member):
    with pytest.raises(TypeError, match="not a TrustFact"):
        plugins._trust_result({1: ["a string"]}, {1})
    assert plugins._trust_result({1: TrustFact("x", 1), 2: []}, {1, 2}) == {1: [TrustFact("x", 1)]}


# -- the pages ---------------------------------------------------------------------------------


def test_thread_and_profile_show_core_and_plugin_facts(
    client, make_member, board, enable_plugin, db
):
    enable_plugin("sample")
    writer, other = make_member("writer"), make_member("other")
    thread = posting.create_thread(writer, board, "信任卡", "第一帖")
    reply = posting.reply(other, thread, "第二帖")
    posting.reply(writer, thread, "第三帖")
    likes.like(writer, reply.id)
    db.session.execute(update(Member).where(Member.id == other.id).values(warning_count=1))
    db.session.commit()
    html = _html(client.get(f"/t/{thread.id}"))
    cards = _cards(html)
    assert len(cards) == 3  # one per post
    joined = f"{writer.created_at:%Y-%m}"
    assert _facts(cards[0]) == [
        ("Joined", joined),
        ("Posts", "2"),
        ("Threads", "1"),
        ("Likes", "0"),
        ("Sample fact", "2"),
    ]
    assert ("Likes", "1") in _facts(cards[1]) and ("Warnings", "1") in _facts(cards[1])
    assert 'class="trust-fact is-negative" title="Warnings from moderators"' in cards[1]
    assert cards[2] == cards[0]
    assert len(sample_plugin.TRUST_CALLS) == 1  # one hook call for the page
    assert sorted(sample_plugin.TRUST_CALLS[0]) == sorted([writer.id, other.id])

    profile = _html(client.get("/u/other"))
    card = _cards(profile)
    assert len(card) == 1 and 'class="trust-card trust-full"' in card[0]
    assert ("Likes", "1") in _facts(card[0]) and ("Sample fact", "1") in _facts(card[0])


def test_a_raising_plugin_leaves_the_core_facts(
    client, login, make_member, board, enable_plugin, caplog
):
    enable_plugin("sample")
    writer = make_member("fragile")
    thread = posting.create_thread(writer, board, "脆弱", "第一帖")
    sample_plugin.SAMPLE_RAISE["on"] = True
    reader = login(client, make_member("reader"))
    with caplog.at_level(logging.ERROR, logger="forum.plugins"):
        for url in (f"/t/{thread.id}", "/u/fragile"):
            response = reader.get(url)
            assert response.status_code == 200, url
            html = _html(response)
            assert "Sample fact" not in html
            assert ("Posts", "1") in _facts(_cards(html)[0])
    assert "plugin sample: forum_trust_facts failed" in caplog.text


def test_a_plugin_whose_query_fails_leaves_the_page_working(
    client, login, make_member, board, enable_plugin, caplog
):
    enable_plugin("sample")
    writer = make_member("sqlfail")
    thread = posting.create_thread(writer, board, "查询失败", "第一帖")
    posting.reply(writer, thread, "第二帖")
    sample_plugin.SAMPLE_RAISE["trust"] = "sql"
    reader = login(client, make_member("reader"))
    with caplog.at_level(logging.ERROR, logger="forum.plugins"):
        for url in (f"/t/{thread.id}", "/u/sqlfail"):
            response = reader.get(url)
            assert response.status_code == 200, url
            html = _html(response)
            assert "Sample fact" not in html and ("Posts", "2") in _facts(_cards(html)[0])
    assert "第二帖" in _html(reader.get(f"/t/{thread.id}"))  # the page queried on afterwards
    assert "plugin sample: forum_trust_facts failed" in caplog.text


def test_a_disabled_plugin_adds_nothing(client, make_member, board, enable_plugin):
    enable_plugin("sample")
    enable_plugin("sample", disable=True)
    writer = make_member("plain")
    thread = posting.create_thread(writer, board, "普通", "第一帖")
    html = _html(client.get(f"/t/{thread.id}"))
    assert "Sample fact" not in html and _cards(html)
    assert sample_plugin.TRUST_CALLS == []


# -- query counts ------------------------------------------------------------------------------


def _count(client, count_queries, url: str) -> int:
    client.get(url)  # warm the per-worker caches, as a running site has them
    with count_queries() as q:
        response = client.get(url)
    assert response.status_code == 200, url
    return q.count


@pytest.mark.parametrize("signed_in", [False, True], ids=["guest", "member"])
def test_thread_page_sql_count_is_fixed_with_trust_cards_and_likes(
    app, client, login, make_member, board, enable_plugin, count_queries, signed_in
):
    app.config["PAGE_CACHE_ENTRIES"] = 0  # count the guest's render, not the page cache
    enable_plugin("sample")
    reader = make_member("reader")
    if signed_in:
        login(client, reader)
    solo = make_member("solo")
    small = posting.create_thread(solo, board, "两帖", "第一帖")
    posting.reply(solo, small, "第二帖")
    before = _count(client, count_queries, f"/t/{small.id}")

    authors = [make_member(f"author{i}") for i in range(20)]
    fans = [make_member(f"fan{i}") for i in range(3)]
    big = posting.create_thread(authors[0], board, "二十帖", "第一帖")
    posts = [reading.thread_posts(big, 1)[0].id]
    for author in authors[1:]:
        posts.append(posting.reply(author, big, f"{author.username} 的回复").id)
    for post_id in posts:
        for fan in fans:
            likes.like(fan, post_id)
    for post_id in posts[::2]:
        likes.like(reader, post_id)
    after = _count(client, count_queries, f"/t/{big.id}")
    html = _html(client.get(f"/t/{big.id}"))
    assert len(_cards(html)) == 20 and html.count("Sample fact") == 20
    if signed_in:
        assert html.count('aria-pressed="true"') == 10
        assert html.count('<span class="like-count">4</span>') == 10
    assert after == before, (before, after)
