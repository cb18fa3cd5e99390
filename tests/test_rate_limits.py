"""Login, registration, posting, private messages and likes are rate-limited (Flask-Limiter)."""

from __future__ import annotations

import pytest

from forum.testing import PASSWORD


@pytest.fixture
def app_config():
    return {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_LOGIN": "3 per minute",
        "RATELIMIT_REGISTER": "2 per minute",
        "RATELIMIT_POSTING": "2 per minute",
        "RATELIMIT_MESSAGES": "2 per minute",
        "RATELIMIT_LIKES": "2 per minute",
    }


def test_login_attempts_are_limited(client):
    codes = [
        client.post("/login", data={"login": "nobody", "password": "wrong-password"}).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    assert client.get("/login").status_code == 200  # reading the form is not limited


def test_registrations_are_limited(client):
    codes = [
        client.post(
            "/register",
            data={
                "username": f"new{i}",
                "email": f"n{i}@example.com",
                "password": PASSWORD,
                "confirm": PASSWORD,
            },
        ).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]


def test_posting_is_limited_per_member(client, make_member, make_board, login):
    make_board("fast")
    c = login(client, make_member("speedy"))
    codes = [
        c.post("/b/fast/new", data={"title": f"第{i}个主题", "body": "内容"}).status_code
        for i in range(3)
    ]
    assert codes == [302, 302, 429]


def test_private_messages_are_limited_per_member(client, make_member, login):
    from datetime import timedelta

    from forum.models.base import utcnow

    make_member("friend")
    sender = make_member("chatty", post_count=10, created_at=utcnow() - timedelta(days=30))
    c = login(client, sender)
    codes = [
        c.post(
            "/messages/new", data={"recipients": "friend", "subject": f"s{i}", "body": "在吗"}
        ).status_code
        for i in range(3)
    ]
    assert codes == [302, 302, 429]
    assert c.get("/messages/new").status_code == 200  # reading the form is not limited


def test_likes_are_limited_per_member(client, make_member, make_board, login):
    from forum.services import posting

    author, fan = make_member("writer"), make_member("fan")
    thread = posting.create_thread(author, make_board("likes"), "题目", "第一楼")
    post_id = thread.first_post_id
    c = login(client, fan)
    actions = ("like", "unlike", "like", "unlike", "like")
    codes = [c.post(f"/p/{post_id}/{action}").status_code for action in actions]
    assert codes == [302, 302, 302, 302, 429]  # the third like in a minute (each view counts)
