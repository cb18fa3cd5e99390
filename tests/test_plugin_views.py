"""The member-facing side of the plugin platform, through the test client: template slots,
nav items, thread kinds in the composer and on the thread page, trust facts, and pages that
survive a plugin whose render hooks raise. Uses ``tests/sample_plugin``."""

from __future__ import annotations

import dataclasses
import logging
import re

import pytest
from sqlalchemy import func, select

from forum import plugins
from forum.models import Post, Thread
from forum.services import boards, posting
from tests import sample_plugin
from tests.sample_plugin import SampleNote


@pytest.fixture
def app_config() -> dict:
    return {"EXTRA_PLUGINS": {"sample": "tests.sample_plugin"}}


@pytest.fixture(autouse=True)
def _sample_behaves():
    sample_plugin.SAMPLE_RAISE["on"] = False
    yield
    sample_plugin.SAMPLE_RAISE["on"] = False


@pytest.fixture
def notes_board(make_board, enable_plugin):
    """A board that allows discussions and the sample plugin's notes (the plugin is left
    switched off: a board keeps a kind while its plugin is disabled)."""
    enable_plugin("sample")
    board = boards.update_board(make_board("notes", "便签"), thread_kinds="discussion,note")
    enable_plugin("sample", disable=True)
    return board


def _html(response) -> str:
    return response.get_data(as_text=True)


def _field_block(html: str, name: str) -> str:
    """The ``<div class="field …">`` of the input called ``name``."""
    for block in re.findall(r'<div class="field[^"]*">.*?</div>', html, re.S):
        if f'name="{name}"' in block:
            return block
    raise AssertionError(f"no field {name} in the page")


def _counts(db) -> tuple[int, int, int]:
    return (
        db.session.execute(select(func.count()).select_from(Thread)).scalar_one(),
        db.session.execute(select(func.count()).select_from(Post)).scalar_one(),
        db.session.execute(select(func.count()).select_from(SampleNote)).scalar_one(),
    )


def _note(member, board, title="一张红色便签", colour="red", price="12.50"):
    return posting.create_thread(
        member, board, title, "正文", kind="note", fields={"colour": colour, "price": price}
    )


def test_slots_and_nav_render_only_while_the_plugin_is_enabled(
    client, make_member, notes_board, enable_plugin
):
    author = make_member("slotter")
    thread = posting.create_thread(author, notes_board, "插槽测试", "第一帖")
    posting.reply(author, thread, "第二帖")

    def pages() -> dict[str, str]:
        return {
            "thread": _html(client.get(f"/t/{thread.id}")),
            "profile": _html(client.get("/u/slotter")),
            "index": _html(client.get("/")),
        }

    off = pages()
    assert "sample" not in off["thread"].lower()
    assert "Sample fact" not in off["profile"] and "trust-card" in off["profile"]  # core facts
    for html in off.values():  # an empty slot adds no markup
        assert 'class="sitenav"' not in html and "post-author-card" not in html
        assert "with-sidebar" not in html
    assert client.get("/sample/").status_code == 404

    enable_plugin("sample")
    on = pages()
    assert '<p class="sample-thread-header">sample header</p>' in on["thread"]
    assert '<span class="sample-footer">sample #1</span>' in on["thread"]
    assert '<span class="sample-footer">sample #2</span>' in on["thread"]
    assert "post-author-card" not in on["thread"]  # the plugin returns nothing there
    assert re.search(r'<nav class="sitenav"[^>]*>\s*<a href="/sample/">Sample</a>', on["index"])
    assert re.search(r"<dt>Sample fact</dt><dd>2</dd>", on["profile"])
    assert client.get("/sample/").status_code == 200

    enable_plugin("sample", disable=True)
    again = pages()
    assert "sample" not in again["thread"].lower() and "Sample fact" not in again["profile"]
    assert 'class="sitenav"' not in again["index"]
    assert client.get("/sample/").status_code == 404


def test_nav_item_is_marked_on_its_own_page(client, app, enable_plugin):
    enable_plugin("sample")
    html = _html(client.get("/sample/"))
    assert '<a href="/sample/" aria-current="page">Sample</a>' in html


def test_raising_render_hooks_do_not_break_any_page(
    client, login, make_member, notes_board, enable_plugin, caplog
):
    enable_plugin("sample")
    author = make_member("fragile")
    thread = _note(author, notes_board)
    posting.reply(author, thread, "回复")
    sample_plugin.SAMPLE_RAISE["on"] = True
    reader = login(client, make_member("reader"))
    with caplog.at_level(logging.ERROR, logger="forum.plugins"):
        for url in (f"/t/{thread.id}", "/b/notes", "/u/fragile", "/", "/b/notes/new?kind=note"):
            response = reader.get(url)
            assert response.status_code == 200, url
            html = _html(response)
            assert "sample-footer" not in html and "sample-thread-header" not in html
            assert "Sample fact" not in html
    failures = {r.getMessage() for r in caplog.records if r.name == "forum.plugins"}
    assert "plugin sample: forum_template_slot failed" in failures
    assert "plugin sample: forum_trust_facts failed" in failures
    thread_page = _html(reader.get(f"/t/{thread.id}"))
    assert "回复" in thread_page and 'class="sample-note"' in thread_page  # the rest renders


def test_a_failing_kind_loader_leaves_out_only_the_kind_header(
    client, make_member, notes_board, enable_plugin, monkeypatch, caplog
):
    enable_plugin("sample")
    thread = _note(make_member("loader"), notes_board)
    plugin, kind = plugins.thread_kinds()["note"]

    def boom(thread):
        raise RuntimeError("loader failed on purpose")

    broken = {"note": (plugin, dataclasses.replace(kind, load=boom))}
    monkeypatch.setattr(plugins, "thread_kinds", lambda: broken)
    with caplog.at_level(logging.ERROR, logger="forum.plugins"):
        r = client.get(f"/t/{thread.id}")
    html = _html(r)
    assert r.status_code == 200 and "kind-head" not in html and "正文" in html
    assert "sample-thread-header" in html  # the plugin's other parts still render
    assert "plugin sample: thread kind note failed" in caplog.messages


def test_composer_offers_the_boards_kinds(client, login, make_member, notes_board, enable_plugin):
    c = login(client, make_member("chooser"))
    html = _html(c.get("/b/notes/new"))
    assert "kind-tabs" not in html and 'name="kind_colour"' not in html  # plugin off: one kind

    enable_plugin("sample")
    html = _html(c.get("/b/notes/new"))
    assert '<a href="/b/notes/new?kind=discussion" aria-current="page">Discussion</a>' in html
    assert '<a href="/b/notes/new?kind=note">Note</a>' in html
    assert 'name="kind_colour"' not in html

    html = _html(c.get("/b/notes/new?kind=note"))
    assert '<a href="/b/notes/new?kind=note" aria-current="page">Note</a>' in html
    assert re.search(r'<input[^>]*name="kind"[^>]*value="note"', html)
    colour = _field_block(html, "kind_colour")
    assert "<select" in colour and "required" in colour and ">Colour</label>" in colour
    assert '<option value="red">Red</option>' in colour
    price = _field_block(html, "kind_price")
    assert 'inputmode="decimal"' in price and ">Price</label>" in price


def test_board_with_one_kind_shows_no_chooser(
    client, login, make_member, make_board, enable_plugin
):
    make_board("plain")
    enable_plugin("sample")
    html = _html(login(client, make_member("plain")).get("/b/plain/new"))
    assert "kind-tabs" not in html and 'name="kind_colour"' not in html
    assert re.search(r'<input[^>]*name="kind"[^>]*value="discussion"', html)


@pytest.mark.parametrize(
    ("colour", "price", "field", "message"),
    [
        ("", "3", "kind_colour", "This field is required."),
        ("black", "3", "kind_colour", "No black notes."),  # refused by the kind's validate
        ("blue", "1.234", "kind_price", "Enter an amount such as 12.50."),
    ],
    ids=["missing-colour", "black", "bad-price"],
)
def test_note_errors_show_beside_the_field_and_keep_the_input(
    client, login, make_member, notes_board, enable_plugin, db, colour, price, field, message
):
    enable_plugin("sample")
    c = login(client, make_member("noter"))
    before = _counts(db)
    r = c.post(
        "/b/notes/new",
        data={
            "kind": "note",
            "title": "我的便签标题",
            "body": "便签正文 <keep>",
            "kind_colour": colour,
            "kind_price": price,
        },
    )
    html = _html(r)
    assert r.status_code == 200
    block = _field_block(html, field)
    assert "has-error" in block and f'<p class="error" role="alert">{message}</p>' in block
    assert html.count('class="error"') == 1
    assert 'value="我的便签标题"' in html and "便签正文 &lt;keep&gt;" in html
    assert f'value="{price}"' in _field_block(html, "kind_price")
    if colour:
        assert f'<option selected value="{colour}">' in _field_block(html, "kind_colour")
    assert re.search(r'<input[^>]*name="kind"[^>]*value="note"', html)
    assert _counts(db) == before


def test_title_and_kind_field_errors_show_together(
    client, login, make_member, notes_board, enable_plugin, db
):
    enable_plugin("sample")
    c = login(client, make_member("hasty"))
    r = c.post("/b/notes/new", data={"kind": "note", "title": "x", "body": "正文"})
    html = _html(r)
    assert "has-error" in _field_block(html, "title")
    assert "has-error" in _field_block(html, "kind_colour")
    assert _counts(db) == (0, 0, 0)


def test_valid_note_is_saved_and_shown(client, login, make_member, notes_board, enable_plugin, db):
    enable_plugin("sample")
    c = login(client, make_member("saver"))
    r = c.post(
        "/b/notes/new",
        data={
            "kind": "note",
            "title": "红色便签",
            "body": "便签正文",
            "kind_colour": "red",
            "kind_price": "12.50",
        },
    )
    assert r.status_code == 302
    thread_id = int(r.headers["Location"].rsplit("/", 1)[1])
    thread = db.session.get(Thread, thread_id)
    assert thread.kind == "note"
    note = db.session.execute(
        select(SampleNote).where(SampleNote.thread_id == thread_id)
    ).scalar_one()
    assert (note.colour, note.price_cents) == ("red", 1250)

    page = _html(c.get(f"/t/{thread_id}"))
    assert '<section class="card kind-head kind-note"><p class="sample-note">' in page
    head = page.index('<p class="sample-note">red · ¥12.50</p>')
    assert head < page.index('id="p1"')  # above the first post
    assert re.search(r'<span class="badge badge-kind">Note</span>\s*红色便签', page)
    listing = _html(c.get("/b/notes"))
    assert re.search(r'<span class="badge badge-kind">Note</span>\s*红色便签', listing)

    enable_plugin("sample", disable=True)  # the thread shows as a plain discussion
    page = _html(c.get(f"/t/{thread_id}"))
    assert "sample-note" not in page and "badge-kind" not in page and "便签正文" in page
    assert "badge-kind" not in _html(c.get("/b/notes"))


def test_discussion_threads_get_no_kind_badge(client, make_member, notes_board, enable_plugin):
    enable_plugin("sample")
    thread = posting.create_thread(make_member("talker"), notes_board, "普通讨论", "正文")
    assert "badge-kind" not in _html(client.get(f"/t/{thread.id}"))
    assert "badge-kind" not in _html(client.get("/b/notes"))


def test_before_hook_refusal_is_a_form_error(
    client, login, make_member, notes_board, enable_plugin, db
):
    author = make_member("refused")
    thread = posting.create_thread(author, notes_board, "已有主题", "正文")
    enable_plugin("sample")
    c = login(client, author)
    before = _counts(db)

    r = c.post("/b/notes/new", data={"title": "新主题标题", "body": "有 forbidden-word 的正文"})
    html = _html(r)
    assert r.status_code == 200 and "The sample plugin refuses this word." in html
    assert 'value="新主题标题"' in html and "有 forbidden-word 的正文" in html

    r = c.post(
        "/b/notes/new",
        data={
            "kind": "note",
            "title": "便签主题",
            "body": "forbidden-word",
            "kind_colour": "red",
            "kind_price": "1",
        },
    )
    assert r.status_code == 200 and "The sample plugin refuses this word." in _html(r)

    r = c.post(f"/t/{thread.id}/reply", data={"body": "回复 forbidden-word"})
    html = _html(r)
    assert r.status_code == 200 and "The sample plugin refuses this word." in html
    assert "回复 forbidden-word" in html
    assert _counts(db) == before
    db.session.refresh(thread)
    assert thread.reply_count == 0


@pytest.mark.parametrize("kind", ["note", "bogus"])
def test_kind_not_allowed_is_a_clear_error(
    client, login, make_member, make_board, db, kind, enable_plugin
):
    make_board("plain")
    enable_plugin("sample")
    c = login(client, make_member("wrongkind"))
    r = c.get(f"/b/plain/new?kind={kind}")
    assert r.status_code == 400
    assert "This board does not allow this kind of thread." in _html(r)
    r = c.post(
        "/b/plain/new",
        data={"kind": kind, "title": "不允许的类型", "body": "正文", "kind_colour": "red"},
    )
    html = _html(r)
    assert r.status_code == 400 and "This board does not allow this kind of thread." in html
    assert 'value="不允许的类型"' in html
    assert re.search(r'<input[^>]*name="kind"[^>]*value="discussion"', html)
    assert _counts(db) == (0, 0, 0)


def test_kind_of_a_disabled_plugin_is_refused(client, login, make_member, notes_board, db):
    c = login(client, make_member("early"))
    r = c.post(
        "/b/notes/new",
        data={"kind": "note", "title": "便签主题", "body": "正文", "kind_colour": "red"},
    )
    assert r.status_code == 400 and "This board does not allow this kind of thread." in _html(r)
    assert _counts(db) == (0, 0, 0)


def _count(client, count_queries, url: str) -> int:
    client.get(url)  # warm the per-worker caches, as a running site has them
    with count_queries() as q:
        response = client.get(url)
    assert response.status_code == 200, url
    return q.count


@pytest.mark.parametrize("signed_in", [False, True], ids=["guest", "member"])
def test_query_counts_with_the_plugin_do_not_grow(
    client, login, make_member, notes_board, enable_plugin, count_queries, signed_in
):
    enable_plugin("sample")
    members = [make_member(f"q{i}") for i in range(3)]
    if signed_in:
        login(client, make_member("qreader"))

    def grow(n_replies: int) -> Thread:
        thread = _note(members[0], notes_board, title=f"便签 {n_replies}")
        for r in range(n_replies):
            posting.reply(members[r % 3], thread, f"回复 {r} @{members[0].username}")
        return thread

    small = grow(2)
    before = {
        "thread": _count(client, count_queries, f"/t/{small.id}"),
        "board": _count(client, count_queries, "/b/notes"),
    }
    big = grow(30)
    for _ in range(5):
        grow(0)
    after = {
        "thread": _count(client, count_queries, f"/t/{big.id}"),
        "board": _count(client, count_queries, "/b/notes"),
    }
    assert after == before, (before, after)


def test_choose_board_links_to_each_kind(
    client, login, make_member, make_board, notes_board, enable_plugin
):
    make_board("plain")
    c = login(client, make_member("picker"))
    assert "kind-links" not in _html(c.get("/new"))
    enable_plugin("sample")
    html = _html(c.get("/new"))
    assert '<a href="/b/notes/new?kind=note">Note</a>' in html
    assert "/b/plain/new?kind=" not in html  # one kind: no chooser
