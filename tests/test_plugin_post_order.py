"""Two platform hooks the Q&A plugin needed, tested with the sample plugin:

- ``ThreadKind.post_order``: a kind orders its thread's posts (``?order=``), the links to one
  post keep the order by number, a failing function falls back to it;
- ``forum_board_filters``: tabs above a board's thread list that narrow it and its pages;
- ``ThreadKind.compose_url``: a kind with its own composer page takes the core's place.
"""

from __future__ import annotations

import re

import pytest

import tests.sample_plugin as sample
from forum.services import boards, posting


@pytest.fixture
def app_config():
    return {"EXTRA_PLUGINS": {"sample": "tests.sample_plugin"}, "POSTS_PER_PAGE": 3}


@pytest.fixture
def note_board(enable_plugin, make_board):
    enable_plugin("sample")
    board = make_board(
        "notes",
        grants={"guest": ("view", "read"), "member": ("view", "read", "start_thread", "reply")},
    )
    yield boards.update_board(board, thread_kinds="discussion,note")
    sample.SAMPLE_RAISE.pop("order", None)


def _numbers(response) -> list[int]:
    html = response.get_data(as_text=True)
    return [int(n) for n in re.findall(r'<article class="card post[^"]*" id="p(\d+)"', html)]


@pytest.fixture
def note(note_board, make_member):
    ada = make_member("ada")
    thread = posting.create_thread(
        ada, note_board, "Notes", "One", kind="note", fields={"colour": "red"}
    )
    for text in ("Two", "Three", "Four", "Five"):
        posting.reply(ada, thread, text)
    return thread


def test_a_kind_orders_its_posts_page_by_page(client, note):
    assert _numbers(client.get(f"/t/{note.id}")) == [1, 2, 3]
    assert _numbers(client.get(f"/t/{note.id}?order=reverse")) == [5, 4, 3]
    assert _numbers(client.get(f"/t/{note.id}?order=reverse&page=2")) == [2, 1]
    assert _numbers(client.get(f"/t/{note.id}?order=number&page=2")) == [4, 5]
    assert _numbers(client.get(f"/t/{note.id}?order=BAD%20VALUE")) == [1, 2, 3]


def test_links_to_one_post_ask_for_the_order_by_number(client, note, db):
    from forum.models import Post

    fourth = db.session.execute(
        db.select(Post).where(Post.thread_id == note.id, Post.number == 4)
    ).scalar_one()
    assert (
        client.get(f"/p/{fourth.id}")
        .headers["Location"]
        .endswith(f"/t/{note.id}?page=2&order=number#p4")
    )
    assert (
        client.get(f"/t/{note.id}/last")
        .headers["Location"]
        .endswith(f"/t/{note.id}?page=2&order=number#p5")
    )


def test_discussions_and_disabled_plugins_keep_plain_links(
    client, note, note_board, make_member, enable_plugin
):
    talk = posting.create_thread(make_member("bob"), note_board, "Talk", "Hi")
    assert client.get(f"/t/{talk.id}/last").headers["Location"].endswith(f"/t/{talk.id}?page=1#p1")
    enable_plugin("sample", disable=True)
    assert _numbers(client.get(f"/t/{note.id}?order=reverse")) == [1, 2, 3]
    assert "order=number" not in client.get(f"/t/{note.id}/last").headers["Location"]


def test_a_failing_post_order_falls_back_to_numbers(client, note, caplog):
    sample.SAMPLE_RAISE["order"] = True
    response = client.get(f"/t/{note.id}?order=reverse")
    assert response.status_code == 200 and _numbers(response) == [1, 2, 3]
    assert "post_order of kind note failed" in caplog.text


def test_board_filters_narrow_the_list_and_its_pages(
    client, note, note_board, make_member, app, caplog
):
    talk = posting.create_thread(make_member("bob"), note_board, "Just talk", "Hi")
    page = client.get(f"/b/{note_board.slug}").get_data(as_text=True)
    assert "Notes only" in page and "not a filter" not in page
    assert "forum_board_filters returned 'not a filter'" in caplog.text
    assert talk.title in page
    notes = client.get(f"/b/{note_board.slug}?filter=sample_notes").get_data(as_text=True)
    assert note.title in notes and talk.title not in notes
    assert 'aria-current="page">Notes only' in notes
    assert client.get(f"/b/{note_board.slug}?filter=unknown").status_code == 404
    app.config["THREADS_PER_PAGE"] = 1
    assert client.get(f"/b/{note_board.slug}?filter=sample_notes&page=2").status_code == 404
    assert client.get(f"/b/{note_board.slug}?page=2").status_code == 200


def test_boards_without_the_kind_show_no_filters(client, enable_plugin, make_board):
    enable_plugin("sample")
    board = make_board("plain", grants={"guest": ("view", "read")})
    page = client.get(f"/b/{board.slug}").get_data(as_text=True)
    assert "board-filters" not in page
    assert client.get(f"/b/{board.slug}?filter=sample_notes").status_code == 404


def test_a_kind_with_its_own_composer_takes_the_cores_place(
    client, login, make_member, make_board, enable_plugin
):
    enable_plugin("sample")
    board = make_board(
        "memos",
        grants={"member": ("view", "read", "start_thread", "reply")},
    )
    boards.update_board(board, thread_kinds="discussion,memo")
    login(client, make_member("ada"))
    assert client.get("/b/memos/new?kind=note").status_code == 400  # not allowed here
    memo = client.get("/b/memos/new?kind=memo")
    assert memo.status_code == 302 and memo.headers["Location"] == "/sample/memo?board=memos"
    posted = client.post("/b/memos/new", data={"kind": "memo", "title": "x", "body": "y"})
    assert posted.status_code == 302 and posted.headers["Location"].startswith("/sample/memo")
    assert client.get("/b/memos/new").status_code == 200  # a discussion: the core's composer
