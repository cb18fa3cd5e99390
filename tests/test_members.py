"""Members service: registration rules, sign-in, tokens by mail, profile changes."""

from __future__ import annotations

import re

import pytest

from forum.models import Member
from forum.services import members, site
from forum.services.errors import ServiceError
from forum.testing import PASSWORD

pytestmark = pytest.mark.usefixtures("english")


def _last_link(app) -> str:
    body = app.extensions["forum_outbox"][-1].get_content()
    return re.search(r"http://localhost(/\S+)", body).group(1)


def test_register_chinese_username_and_confirm(app):
    member = members.register("跑者小王", "wang@example.com", PASSWORD)
    assert member.status == "active" and member.email_confirmed_at is None
    with pytest.raises(ServiceError) as exc:
        members.authenticate("跑者小王", PASSWORD)
    assert exc.value.field == "unconfirmed"
    token = _last_link(app).rsplit("/", 1)[1]
    members.confirm_email(token)
    assert members.authenticate("跑者小王", PASSWORD).id == member.id
    assert members.authenticate("WANG@example.com", PASSWORD).id == member.id


@pytest.mark.parametrize(
    "name, message",
    [
        ("a", "2 to 20"),
        ("x" * 21, "2 to 20"),
        ("有 空格", "letters"),
        ("bad!name", "letters"),
        ("Admin", "reserved"),
        ("管理员", "reserved"),
    ],
)
def test_bad_usernames(app, name, message):
    with pytest.raises(ServiceError) as exc:
        members.register(name, "x@example.com", PASSWORD)
    assert message in exc.value.message and exc.value.field == "username"


def test_username_unique_case_insensitively(app, make_member):
    make_member("Runner")
    with pytest.raises(ServiceError) as exc:
        members.register("rUNNER", "other@example.com", PASSWORD)
    assert exc.value.field == "username"
    with pytest.raises(ServiceError):  # full-width letters fold to the same name
        members.register("ＲＵＮＮＥＲ", "other2@example.com", PASSWORD)


def test_email_unique_and_valid(app, make_member):
    make_member("first", email="same@example.com")
    with pytest.raises(ServiceError) as exc:
        members.register("second", "SAME@example.com", PASSWORD)
    assert exc.value.field == "email"
    with pytest.raises(ServiceError) as exc:
        members.register("third", "not-an-email", PASSWORD)
    assert exc.value.field == "email"


def test_short_password_refused(app):
    with pytest.raises(ServiceError) as exc:
        members.register("shorty", "s@example.com", "1234567")
    assert exc.value.field == "password"


def test_registration_modes(app):
    site.update_settings({"registration_mode": "closed"})
    with pytest.raises(ServiceError):
        members.register("closed1", "c@example.com", PASSWORD)
    site.update_settings({"registration_mode": "approval", "require_email_confirmation": False})
    member = members.register("waiting", "w@example.com", PASSWORD)
    assert member.status == "pending"
    with pytest.raises(ServiceError) as exc:
        members.authenticate("waiting", PASSWORD)
    assert "approval" in exc.value.message
    members.approve(member)
    assert members.authenticate("waiting", PASSWORD).id == member.id


def test_wrong_password_same_message_as_unknown_user(app, make_member):
    make_member("known")
    with pytest.raises(ServiceError) as a:
        members.authenticate("known", "wrong-password")
    with pytest.raises(ServiceError) as b:
        members.authenticate("unknown", "wrong-password")
    assert a.value.message == b.value.message


def test_password_reset_token_works_once(app, make_member):
    member = make_member("forgetful", email="f@example.com")
    members.request_password_reset("f@example.com")
    token = _last_link(app).rsplit("/", 1)[1]
    old_session = member.session_token
    members.reset_password(token, "a-new-password")
    assert member.session_token != old_session
    assert members.authenticate("forgetful", "a-new-password")
    with pytest.raises(ServiceError):
        members.reset_password(token, "another-password")


def test_expired_token_refused(app, make_member):
    member = make_member("late")
    token = members.make_token("confirm-email", {"id": member.id, "email": member.email})
    app.config["TOKEN_MAX_AGE"] = -1
    with pytest.raises(ServiceError) as exc:
        members.confirm_email(token)
    assert "expired" in exc.value.message


def test_forged_token_refused(app, make_member):
    with pytest.raises(ServiceError):
        members.confirm_email("not-a-token")


def test_email_change_waits_for_confirmation(app, make_member):
    member = make_member("mover", email="old@example.com")
    members.request_email_change(member, PASSWORD, "new@example.com")
    assert member.email == "old@example.com"
    token = _last_link(app).rsplit("/", 1)[1]
    members.confirm_email(token)
    assert member.email == "new@example.com"


def test_ban_with_end_date(app, make_member):
    from datetime import timedelta

    from forum.models.base import utcnow

    member = make_member("troll")
    members.ban(member, "spam", utcnow() + timedelta(days=1))
    with pytest.raises(ServiceError) as exc:
        members.authenticate("troll", PASSWORD)
    assert "spam" in exc.value.message
    member.banned_until = utcnow() - timedelta(seconds=1)
    assert not member.is_banned  # a ban with an end date lapses by itself
    assert members.authenticate("troll", PASSWORD).id == member.id


def test_profile_validation(app, make_member):
    member = make_member("profiled")
    with pytest.raises(ServiceError):
        members.update_profile(member, timezone="Mars/Olympus")
    with pytest.raises(ServiceError):
        members.update_profile(member, locale="xx")
    members.update_profile(member, display_name="小王", timezone="Asia/Taipei", locale="zh_Hant")
    assert (member.display_name, member.timezone, member.locale) == (
        "小王",
        "Asia/Taipei",
        "zh_Hant",
    )
    assert isinstance(member, Member)


def test_the_last_admin_cannot_be_banned_or_removed(app, db, make_member):
    from forum.models import Group

    admin = make_member("onlyadmin", groups=("admin",))
    admin_group = db.session.query(Group).filter_by(key="admin").one()
    with pytest.raises(ServiceError):
        members.ban(admin, "oops")
    with pytest.raises(ServiceError):
        members.remove_membership(admin, admin_group)
    make_member("secondadmin", groups=("admin",))
    members.remove_membership(admin, admin_group)  # another admin remains
