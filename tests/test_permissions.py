"""Permissions: groups, expiry, per-board matrix, hidden boards everywhere."""

from __future__ import annotations

from datetime import timedelta

import pytest

from forum.models import Group
from forum.models.base import utcnow
from forum.services import members, permissions, posting, reading
from forum.services.errors import NotFound, PermissionDenied


def _group(db, key):
    return db.session.query(Group).filter_by(key=key).one()


def test_defaults(app, make_member, make_board):
    board = make_board("open")
    member = make_member("plain")
    assert permissions.can(None, "read", board.id)
    assert not permissions.can(None, "reply", board.id)
    assert permissions.can(member, "reply", board.id)
    assert not permissions.can(member, "moderate", board.id)


def test_membership_that_expired_one_second_ago_grants_nothing(app, db, make_member, make_board):
    board = make_board("vip", grants={"guest": (), "member": ()})
    group = Group(key="vip", name="VIP")
    db.session.add(group)
    db.session.commit()
    permissions.set_board_permissions(board.id, {group.id: ("view", "read", "reply")})
    db.session.commit()
    member = make_member("payer")
    members.set_membership(
        member, group, expires_at=utcnow() + timedelta(hours=1), source="payment"
    )
    assert permissions.can(member, "reply", board.id)
    members.set_membership(
        member, group, expires_at=utcnow() - timedelta(seconds=1), source="payment"
    )
    assert not permissions.can(member, "view", board.id)
    assert not permissions.can(member, "read", board.id)
    assert board.id not in permissions.visible_board_ids(member)


def test_admin_may_do_everything(app, db, make_member, make_board):
    board = make_board("locked-down", grants={"guest": (), "member": (), "moderator": ()})
    admin = make_member("boss", groups=("admin",))
    assert permissions.is_admin(admin)
    assert permissions.can(admin, "moderate", board.id)


def test_moderator_group_moderates(app, make_member, make_board):
    board = make_board("modded")
    mod = make_member("modder", groups=("moderator",))
    assert permissions.is_moderator(mod, board.id)


def test_banned_member_is_a_guest(app, make_member, make_board):
    board = make_board("b")
    member = make_member("banned")
    members.ban(member, "spam")
    assert not permissions.can(member, "reply", board.id)
    assert permissions.can(member, "read", board.id)


def test_hidden_board_never_appears(app, make_member, make_board, client):
    public = make_board("public")
    hidden = make_board("hidden", "会员专区", grants={"guest": ()})
    author = make_member("author")
    posting.create_thread(author, public, "公开主题", "大家好")
    secret = posting.create_thread(author, hidden, "秘密主题", "只给会员看")

    # services
    names = [b.slug for row in reading.board_index(None) for b in row.boards]
    assert "hidden" not in names and "public" in names
    with pytest.raises(NotFound):
        posting.get_board("hidden", None)
    with pytest.raises(NotFound):
        posting.get_thread(secret.id, None)
    assert [t.title for t in reading.recent_threads(author, None)] == ["公开主题"]
    assert len(reading.recent_threads(author, author)) == 2

    # pages
    assert "会员专区" not in client.get("/").get_data(as_text=True)
    assert client.get("/b/hidden").status_code == 404
    assert client.get(f"/t/{secret.id}").status_code == 404
    assert client.get(f"/t/{secret.id}/last").status_code == 404
    assert client.get(f"/p/{secret.first_post_id}").status_code == 404
    profile = client.get("/u/author").get_data(as_text=True)
    assert "公开主题" in profile and "秘密主题" not in profile


def test_view_without_read_is_forbidden(app, make_member, make_board):
    board = make_board("teaser", grants={"guest": ("view",)})
    author = make_member("writer")
    thread = posting.create_thread(author, board, "预告", "内容")
    with pytest.raises(PermissionDenied):
        posting.get_thread(thread.id, None)


def test_board_row_overrides_group_default(app, make_member, make_board):
    board = make_board("readonly", grants={"member": ("view", "read")})
    member = make_member("reader")
    assert permissions.can(member, "read", board.id)
    assert not permissions.can(member, "start_thread", board.id)
    permissions.clear_board_permissions(board.id)
    assert permissions.can(member, "start_thread", board.id)


def test_change_is_seen_by_another_app_on_same_database(app, make_board, tmp_path):
    """The site state version makes a second worker drop its cached matrix."""
    from forum.app import create_app

    board = make_board("shared")
    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": app.config["DATABASE_URL"],
            "INSTANCE_PATH": app.instance_path,  # a second worker of the same site
        }
    )
    with other.app_context():
        assert permissions.can(None, "read", board.id)
    permissions.set_board_permissions(board.id, {permissions.group_id("guest"): ()})
    from forum.extensions import db

    db.session.commit()
    with other.app_context():
        assert not permissions.can(None, "read", board.id)
