"""Login, registration and posting are rate-limited (Flask-Limiter)."""

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
