"""The guest page cache never serves a stale or forbidden page."""

from __future__ import annotations

from forum.models import Post
from forum.services import members, permissions, posting


def test_guest_sees_new_reply_and_edit_at_once(app, client, make_member, make_board, db):
    board = make_board("cache")
    author = make_member("cacher")
    thread = posting.create_thread(author, board, "缓存测试", "第一版")
    assert "第一版" in client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "第一版" in client.get(f"/t/{thread.id}").get_data(as_text=True)  # from the cache
    posting.reply(author, thread, "新回复")
    assert "新回复" in client.get(f"/t/{thread.id}").get_data(as_text=True)
    first = db.session.get(Post, thread.first_post_id)
    posting.edit_post(author, first, "第二版")
    html = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "第二版" in html and "第一版" not in html
    assert "缓存测试" in client.get("/b/cache").get_data(as_text=True)


def test_permission_change_applies_to_cached_pages(app, client, make_member, make_board):
    board = make_board("soon-hidden", "马上隐藏")
    thread = posting.create_thread(make_member("hider"), board, "要隐藏的主题", "内容")
    assert client.get(f"/t/{thread.id}").status_code == 200
    assert "马上隐藏" in client.get("/").get_data(as_text=True)
    permissions.set_board_permissions(board.id, {permissions.group_id("guest"): ()})
    from forum.extensions import db

    db.session.commit()
    assert client.get(f"/t/{thread.id}").status_code == 404
    assert client.get("/b/soon-hidden").status_code == 404
    assert "马上隐藏" not in client.get("/").get_data(as_text=True)


def test_display_name_change_shows_on_cached_pages(app, client, make_member, make_board):
    board = make_board("names")
    author = make_member("renamer")
    thread = posting.create_thread(author, board, "改名测试", "内容")
    client.get(f"/t/{thread.id}")
    members.update_profile(author, display_name="新名字")
    assert "新名字" in client.get(f"/t/{thread.id}").get_data(as_text=True)


def test_language_is_part_of_the_key(app, client, make_board):
    make_board("lang")
    en = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    zh = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en"' in en and '<html lang="zh-Hans"' in zh


def test_signed_in_pages_are_never_from_the_guest_cache(
    app, client, login, make_member, make_board
):
    board = make_board("personal")
    thread = posting.create_thread(make_member("poster"), board, "个人页面", "内容")
    assert 'name="body"' not in client.get(f"/t/{thread.id}").get_data(as_text=True)
    c = login(app.test_client(), make_member("reader"))
    assert 'name="body"' in c.get(f"/t/{thread.id}").get_data(as_text=True)
