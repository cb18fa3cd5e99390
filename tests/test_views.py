"""Views through Flask's test client: forms, redirects, errors, headers, uploads."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import pytest
from PIL import Image

from forum.models import Post, Upload
from forum.services import posting
from forum.testing import PASSWORD


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 80, 20))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N"}  # GPS IFD
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def board(make_board):
    return make_board("talk", "闲聊区")


def test_register_confirm_login_flow(app, client):
    page = client.get("/register")
    assert page.status_code == 200
    r = client.post(
        "/register",
        data={
            "username": "新人",
            "email": "n@example.com",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert r.status_code == 200 and "n@example.com" in r.get_data(as_text=True)
    link = re.search(
        r"http://localhost(/confirm/\S+)", app.extensions["forum_outbox"][-1].get_content()
    ).group(1)
    r = client.post("/login", data={"login": "新人", "password": PASSWORD})
    assert r.status_code == 200  # refused until confirmed, form shown again
    assert client.get(link).status_code == 302
    r = client.post("/login", data={"login": "新人", "password": PASSWORD, "next": "/u/新人"})
    assert r.status_code == 302 and unquote(r.headers["Location"]) == "/u/新人"


def test_register_form_keeps_input_and_shows_field_error(client, make_member):
    make_member("taken")
    r = client.post(
        "/register",
        data={
            "username": "taken",
            "email": "t@example.com",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'value="t@example.com"' in html and 'class="error"' in html


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil", "javascript:x"]
)
def test_next_only_redirects_inside_the_site(client, make_member, target):
    member = make_member("safe")
    r = client.post("/login", data={"login": member.username, "password": PASSWORD, "next": target})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_post_thread_reply_quote_edit_via_forms(client, login, make_member, board, db):
    alice = login(client, make_member("alice"))
    r = alice.post("/b/talk/new", data={"title": "第一次约跑", "body": "周六早上 **七点**"})
    assert r.status_code == 302
    thread_id = int(r.headers["Location"].rsplit("/", 1)[1])
    page = alice.get(f"/t/{thread_id}").get_data(as_text=True)
    assert "<strong>七点</strong>" in page and "第一次约跑" in page
    first = db.session.get(
        Post, db.session.query(Post.id).filter_by(thread_id=thread_id, number=1).scalar()
    )
    quote = alice.get(f"/t/{thread_id}/reply?quote={first.id}").get_data(as_text=True)
    assert "&gt; **@alice**" in quote
    r = alice.post(f"/t/{thread_id}/reply", data={"body": "> 引用\n\n回复内容"})
    assert r.status_code == 302
    r = alice.post(f"/p/{first.id}/edit", data={"title": "改名了", "body": "新的正文"})
    assert r.status_code == 302
    history = alice.get(f"/p/{first.id}/revisions").get_data(as_text=True)
    assert "周六早上 **七点**" in history and "新的正文" in history


def test_empty_post_keeps_title_and_shows_error(client, login, make_member, board):
    c = login(client, make_member("typist"))
    r = c.post("/b/talk/new", data={"title": "一个很长的标题", "body": "   "})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'value="一个很长的标题"' in html and 'class="error"' in html


def test_guest_gets_login_redirect_for_composer(client, board):
    r = client.get("/b/talk/new")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_writes_need_post(client, login, make_member, board):
    c = login(client, make_member("getter"))
    thread = posting.create_thread(make_member("owner"), board, "标题标题", "内容")
    assert c.get(f"/p/{thread.first_post_id}/delete").status_code == 405
    assert c.get("/logout").status_code == 405


def test_themed_404_and_403(client, login, make_member, board):
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "<html" in r.get_data(as_text=True)
    c = login(client, make_member("nosy"))
    assert c.get("/admin/").status_code == 403


def test_security_headers_and_cookie_flags(client, make_member):
    r = client.get("/")
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    member = make_member("cookie")
    r = client.post("/login", data={"login": member.username, "password": PASSWORD})
    cookies = r.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie


def test_csrf_is_enforced(app, make_member):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    member = make_member("csrf")
    r = client.post("/login", data={"login": member.username, "password": PASSWORD})
    assert r.status_code == 400


def test_image_upload_is_reencoded_without_exif(client, login, make_member, board, db, app):
    c = login(client, make_member("photog"))
    r = c.post(
        "/b/talk/new",
        data={"title": "晒图", "body": "看图", "image": (io.BytesIO(_jpeg_with_exif()), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    upload = db.session.query(Upload).one()
    stored = Image.open(app.instance_path + "/uploads/" + upload.path)
    assert stored.format == "JPEG" and not stored.getexif()
    served = c.get("/uploads/" + upload.path)
    assert served.status_code == 200 and b"SecretCam" not in served.data
    thread_page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert f'src="/uploads/{upload.path}"' in thread_page


def test_not_an_image_is_refused_and_text_kept(client, login, make_member, board):
    c = login(client, make_member("faker"))
    r = c.post(
        "/b/talk/new",
        data={
            "title": "假图片",
            "body": "我的长文",
            "image": (io.BytesIO(b"<?php evil(); ?>"), "x.jpg"),
        },
        content_type="multipart/form-data",
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "我的长文" in html and 'class="error"' in html


def test_oversized_upload_is_413(app, client, login, make_member, board):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    c = login(client, make_member("big"))
    r = c.post(
        "/b/talk/new",
        data={"title": "大图", "body": "x", "image": (io.BytesIO(b"0" * 4096), "x.jpg")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 413 and "<html" in r.get_data(as_text=True)


def test_post_permalink_redirects_to_page_and_anchor(app, client, make_member, board):
    app.config["POSTS_PER_PAGE"] = 2
    author = make_member("paged")
    thread = posting.create_thread(author, board, "分页测试", "1")
    posts = [posting.reply(author, thread, str(i)) for i in range(2, 6)]
    r = client.get(f"/p/{posts[-1].id}")
    assert r.headers["Location"] == f"/t/{thread.id}?page=3#p5"
    r = client.get(f"/t/{thread.id}/last")
    assert r.headers["Location"] == f"/t/{thread.id}?page=3#p5"
    assert client.get(f"/t/{thread.id}?page=4").status_code == 404
    assert client.get(f"/t/{thread.id}?page=abc").status_code == 404


def test_language_from_browser_and_member_setting(client, login, make_member, board):
    r = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en"' in r.get_data(as_text=True)
    r = client.get("/", headers={"Accept-Language": "zh-TW"})
    assert '<html lang="zh-Hant"' in r.get_data(as_text=True)
    member = make_member("polyglot", locale="en")
    c = login(client, member)
    r = c.get("/", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en"' in r.get_data(as_text=True)


def test_settings_change_password_keeps_session(client, login, make_member):
    member = make_member("changer")
    c = login(client, member)
    r = c.post(
        "/settings",
        data={
            "section": "password",
            "w-current_password": PASSWORD,
            "w-password": "brand-new-pass",
            "w-confirm": "brand-new-pass",
        },
    )
    assert r.status_code == 302
    assert c.get("/settings").status_code == 200
    r = c.post(
        "/settings",
        data={
            "section": "password",
            "w-current_password": "wrong",
            "w-password": "brand-new-pass2",
            "w-confirm": "brand-new-pass2",
        },
    )
    assert r.status_code == 200 and 'class="error"' in r.get_data(as_text=True)


def test_several_images_are_stored_all_or_none(app, db, make_member):
    from forum.services import uploads
    from forum.services.errors import ServiceError

    ada = make_member("ada")

    def png(colour: str) -> io.BytesIO:
        out = io.BytesIO()
        Image.new("RGB", (40, 30), colour).save(out, "PNG")
        out.seek(0)
        return out

    with pytest.raises(ServiceError):
        uploads.save_images(ada, [png("red"), io.BytesIO(b"GIF89a not really"), png("blue")])
    assert db.session.query(Upload).count() == 0
    stored = uploads.save_images(ada, [png("red"), png("blue")])
    assert [(u.width, u.height) for u in stored] == [(40, 30), (40, 30)]
    assert db.session.query(Upload).count() == 2
