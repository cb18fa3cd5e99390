"""Gated boards: a board the viewer may ``view`` but not ``read`` lists its threads' titles,
and a thread there shows a teaser (title, author, date, the first lines of the first post as
plain text, the ``gate`` slot) with status 200 — never the post's full text, its images or a
reply. Boards without ``view`` stay hidden; search never finds a gated post's words."""

from __future__ import annotations

import pytest

from forum.extensions import db
from forum.models import GroupMembership
from forum.services import groups, permissions, posting

SECRET_TAIL = "只有会员才能看到的结尾暗号：紫色长颈鹿。"
FIRST_LINES = "本月团购清单第一批：有机大米、云南咖啡豆、手工挂面，都是群友推荐的好东西。"
BODY = (
    FIRST_LINES * 4
    + "\n\n![菜单](/uploads/secret-menu.png)\n\n"
    + "**价格表**在这里："
    + SECRET_TAIL
)
REPLY = "我要两袋大米，回复里的秘密：蓝色火烈鸟。"


@pytest.fixture
def core(app):
    """The paid group 核心会员."""
    return groups.create_group("核心会员", key="core")


@pytest.fixture
def gated(make_board, core):
    """A board everyone may see but only 核心会员 may read."""
    board = make_board("inner", "核心会员区", grants={"guest": ("view",), "member": ("view",)})
    permissions.set_board_permissions(
        board.id, {core.id: ("view", "read", "start_thread", "reply")}
    )
    db.session.commit()
    return board


@pytest.fixture
def insider(make_member, core):
    member = make_member("insider")
    db.session.add(GroupMembership(member_id=member.id, group_id=core.id, source="admin"))
    db.session.commit()
    return member


@pytest.fixture
def secret(gated, insider):
    thread = posting.create_thread(insider, gated, "会员专属：本月团购清单", BODY)
    posting.reply(insider, thread, REPLY)
    return thread


def _page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def _assert_teaser_only(html: str) -> None:
    assert "紫色长颈鹿" not in html  # past the first lines
    assert "secret-menu.png" not in html  # no image
    assert "<strong>" not in html and "价格表" not in html
    assert "蓝色火烈鸟" not in html  # no reply
    assert 'class="post-body"' not in html


def test_guest_sees_a_teaser_with_status_200(client, secret, english):
    html = _page(client, f"/t/{secret.id}")
    assert "会员专属：本月团购清单" in html  # the title
    assert "insider" in html  # the author
    assert "<time" in html  # the date
    assert FIRST_LINES[:60] in html  # the first lines, as text
    assert "…" in html
    _assert_teaser_only(html)
    # without a plugin in the gate slot: who may read it, and the ways in for a guest
    assert "Only members of 核心会员 can read this board." in html
    assert 'href="/register"' in html
    assert 'href="/login?next=' in html
    assert f'action="/t/{secret.id}/reply"' not in html


def test_signed_in_non_member_sees_the_teaser_without_sign_in_links(
    client, login, make_member, secret, english
):
    login(client, make_member("outsider"))
    html = _page(client, f"/t/{secret.id}")
    assert FIRST_LINES[:60] in html
    _assert_teaser_only(html)
    assert "Only members of 核心会员 can read this board." in html
    assert "/login?next=" not in html
    assert _page(client, f"/t/{secret.id}/reply", 403)


def test_members_of_the_group_read_the_whole_thread(client, login, insider, secret):
    login(client, insider)
    html = _page(client, f"/t/{secret.id}")
    assert "紫色长颈鹿" in html and "蓝色火烈鸟" in html
    assert "secret-menu.png" in html


def test_the_board_lists_titles_only(client, secret, english):
    html = _page(client, "/b/inner")
    assert "核心会员区" in html
    assert f'href="/t/{secret.id}"' in html
    assert "会员专属：本月团购清单" in html
    assert "团购清单第一批" not in html  # no excerpts in the listing
    assert f"/t/{secret.id}/last" not in html
    assert "Only members of 核心会员 can read this board." in html
    assert _page(client, "/b/inner?filter=open", 404)


def test_links_into_a_gated_thread_lead_to_its_teaser(client, secret):
    from forum.models import Post

    reply = db.session.query(Post).filter_by(thread_id=secret.id, number=2).one()
    for url in (
        f"/t/{secret.id}/last",
        f"/t/{secret.id}/unread",
        f"/p/{secret.first_post_id}",
        f"/p/{reply.id}",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"] == f"/t/{secret.id}", url


def test_boards_without_view_stay_hidden(client, make_board, make_member, english):
    hidden = make_board("hidden", "隐藏区", grants={"guest": (), "member": ()})
    thread = posting.create_thread(make_member("owner", groups=("admin",)), hidden, "秘密", "正文")
    assert "秘密" not in _page(client, f"/t/{thread.id}", 404)
    _page(client, "/b/hidden", 404)
    _page(client, f"/p/{thread.first_post_id}", 404)
    _page(client, f"/t/{thread.id}/last", 404)


def test_deleted_and_held_threads_are_not_teased(client, gated, insider, make_member, secret):
    posting.delete_thread(make_member("boss", groups=("admin",)), secret)
    assert "会员专属" not in _page(client, f"/t/{secret.id}", 404)


def test_a_hidden_first_post_shows_no_excerpt(client, secret, english):
    from forum.models import Post

    first = db.session.get(Post, secret.first_post_id)
    first.state = "hidden"
    db.session.commit()
    html = _page(client, f"/t/{secret.id}")
    assert "会员专属：本月团购清单" in html
    assert "团购清单第一批" not in html


def test_a_board_members_may_read_asks_guests_to_sign_in(client, make_board, make_member, english):
    board = make_board("members", "会员区", grants={"guest": ("view",)})
    thread = posting.create_thread(make_member("writer"), board, "登录可见", "登录后可以看到全文。")
    html = _page(client, f"/t/{thread.id}")
    assert "Only signed-in members can read this board." in html
    assert "登录后可以看到全文" in html  # shorter than the teaser's length: all of it


def test_search_never_shows_a_gated_post(app, client, login, make_member, insider, secret, english):
    """Neither a guest nor a signed-in non-member finds the post, its reply or a count."""
    outsider = make_member("outsider")
    for who in (None, outsider):
        if who is not None:
            login(client, who)
        for words, other in (
            ("紫色长颈鹿", "有机大米"),
            ("团购清单", "紫色长颈鹿"),
            ("蓝色火烈鸟", "大米"),
        ):
            html = _page(client, f"/search?q={words}")
            assert other not in html  # the query is echoed in the box; nothing else is
            assert "Nothing found." in html  # no count either
            assert f"/p/{secret.first_post_id}" not in html
            assert f'href="/t/{secret.id}' not in html
    reader = login(app.test_client(), insider)
    html = _page(reader, "/search?q=紫色长颈鹿")
    assert "1 post found." in html
    assert f"/p/{secret.first_post_id}" in html


def test_teaser_query_count_does_not_grow(client, count_queries, secret, insider):
    def count() -> int:
        client.get(f"/t/{secret.id}")
        with count_queries() as q:
            assert client.get(f"/t/{secret.id}").status_code == 200
        return q.count

    before = count()
    for i in range(15):
        posting.reply(insider, secret, f"第 {i} 条")
    assert count() == before
    assert before <= 4, before


def test_gate_slot_is_documented(app):
    from forum import hookspecs, plugin_docs

    assert "gate" in hookspecs.SLOTS
    contexts = plugin_docs.slot_contexts()
    assert contexts["gate"]["keys"] == {"board", "thread", "viewer"}
    assert not [p for p in plugin_docs.problems() if "gate" in p]
