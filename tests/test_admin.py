"""The admin area: access, boards and categories, the permission matrix, groups, members,
bans, approval and site settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from forum.models import Board, BoardPermission, Category, Group, GroupMembership, Member
from forum.models.base import utcnow
from forum.services import boards, groups, members, permissions, site
from forum.services.errors import ServiceError
from forum.testing import PASSWORD
from forum.web.admin_forms import site_time, to_utc

ADMIN_PAGES = [
    "/admin/",
    "/admin/boards",
    "/admin/boards/new",
    "/admin/boards/{board}",
    "/admin/boards/{board}/permissions",
    "/admin/categories/{category}",
    "/admin/groups",
    "/admin/groups/{group}",
    "/admin/members",
    "/admin/members/{member}",
    "/admin/settings",
]
ADMIN_POSTS = [
    "/admin/boards/order",
    "/admin/boards/{board}/delete",
    "/admin/boards/{board}/permissions",
    "/admin/boards/{board}/permissions/reset",
    "/admin/categories/{category}/delete",
    "/admin/groups/defaults",
    "/admin/groups/{group}/delete",
    "/admin/members/{member}/groups",
    "/admin/members/{member}/ban",
    "/admin/members/{member}/unban",
    "/admin/members/{member}/approve",
]


@pytest.fixture
def admin(make_member):
    return make_member("boss", groups=("admin",), locale="en")


def english_client(app):
    """A visitor's test client whose browser asks for English pages."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def fresh(db, model, ident):
    """The row as the database has it now (requests run in sessions of their own)."""
    db.session.expire_all()
    return db.session.get(model, ident)


@pytest.fixture
def admin_client(client, login, admin):
    return login(client, admin)


@pytest.fixture
def urls(make_board, make_member):
    """The admin URLs (GET pages and POST actions) filled in with a real board, member …"""
    board = make_board("general")
    target = make_member("target")
    ids = {
        "board": board.id,
        "category": board.category_id,
        "group": permissions.group_id("moderator"),
        "member": target.id,
    }
    return {
        "get": [t.format(**ids) for t in ADMIN_PAGES],
        "post": [t.format(**ids) for t in ADMIN_POSTS],
    }


def test_guests_are_sent_to_sign_in(client, urls):
    for url in urls["get"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]


def test_guest_posts_are_refused(client, urls, db):
    for url in urls["post"]:
        response = client.post(url, data={})
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]
    assert db.session.execute(select(Board)).scalars().all()  # nothing deleted


@pytest.mark.parametrize("group_keys", [(), ("moderator",)])
def test_non_admins_get_403(client, login, make_member, urls, group_keys):
    login(client, make_member("plain", groups=group_keys))
    for url in urls["get"]:
        assert client.get(url).status_code == 403, url
    for url in urls["post"]:
        assert client.post(url, data={"reason": "x"}).status_code == 403, url


def test_expired_admin_membership_loses_the_admin_area(client, login, make_member, db):
    member = make_member("former")
    members.set_membership(
        member,
        db.session.get(Group, permissions.group_id("admin")),
        expires_at=utcnow() - timedelta(minutes=1),
    )
    login(client, member)
    assert client.get("/admin/").status_code == 403


def test_every_admin_page_renders(admin_client, urls):
    for url in urls["get"]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert 'class="admin-nav"' in response.get_data(as_text=True)


# -- boards, categories and the permission matrix ---------------------------------------------


def test_create_category_and_board_then_hide_it_from_guests(admin_client, client, app, db):
    response = admin_client.post("/admin/boards", data={"c-name": "交流区", "c-position": "2"})
    assert response.status_code == 302
    category = db.session.execute(select(Category)).scalar_one()
    assert (category.name, category.position) == ("交流区", 2)

    response = admin_client.post(
        "/admin/boards/new",
        data={"category": category.id, "name": "闲聊", "slug": "chat", "description": "随便聊"},
    )
    assert response.status_code == 302
    board = db.session.execute(select(Board).where(Board.slug == "chat")).scalar_one()
    assert board.category_id == category.id and board.description == "随便聊"

    guest = app.test_client()
    assert guest.get("/b/chat").status_code == 200
    assert "闲聊" in guest.get("/").get_data(as_text=True)

    # Take view and read away from guests on this board; the others keep their defaults.
    gid = permissions.group_id("guest")
    mid = permissions.group_id("member")
    data = {
        f"p-{g}-{p}": "1"
        for g, perms in groups.effective_grants(None).items()
        if g != gid
        for p in perms
    }
    response = admin_client.post(f"/admin/boards/{board.id}/permissions", data=data)
    assert response.status_code == 302
    assert guest.get("/b/chat").status_code == 404
    assert "闲聊" not in guest.get("/").get_data(as_text=True)
    # Only the group that differs from its defaults got rows of its own.
    assert groups.groups_with_own_rows(board.id) == {gid}

    page = admin_client.get(f"/admin/boards/{board.id}/permissions").get_data(as_text=True)
    assert f'name="p-{gid}-view" value="1" checked' not in page
    assert f'name="p-{mid}-view" value="1" checked' in page

    # "Use group defaults" brings the guests back.
    response = admin_client.post(f"/admin/boards/{board.id}/permissions/reset")
    assert response.status_code == 302
    assert not groups.groups_with_own_rows(board.id)
    assert guest.get("/b/chat").status_code == 200


def test_board_form_errors_from_the_service(admin_client, make_board, db):
    existing = make_board("taken")
    response = admin_client.post(
        "/admin/boards/new",
        data={"category": existing.category_id, "name": "Again", "slug": "taken"},
    )
    assert response.status_code == 200
    assert "Another board uses this address name." in response.get_data(as_text=True)
    response = admin_client.post(
        "/admin/boards/new",
        data={"category": existing.category_id, "name": "X", "slug": "Bad Slug"},
    )
    assert "lower-case letters" in response.get_data(as_text=True)
    assert db.session.execute(select(Board)).scalars().all() == [existing]


def test_edit_and_reorder_boards(admin_client, make_board, db):
    a = make_board("alpha")
    b = make_board("beta", category=db.session.get(Category, a.category_id))
    response = admin_client.post(
        f"/admin/boards/{a.id}",
        data={"category": a.category_id, "name": "Alpha 2", "slug": "alpha-2", "position": "5"},
    )
    assert response.status_code == 302
    a = fresh(db, Board, a.id)
    assert (a.name, a.slug, a.position) == ("Alpha 2", "alpha-2", 5)

    response = admin_client.post(
        "/admin/boards/order",
        data={f"b-{a.id}": "9", f"b-{b.id}": "1", f"c-{a.category_id}": "7", "b-x": "3"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (db.session.get(Board, a.id).position, db.session.get(Board, b.id).position) == (9, 1)
    assert db.session.get(Category, a.category_id).position == 7
    listing = admin_client.get("/admin/boards").get_data(as_text=True)
    assert listing.index("Beta") < listing.index("Alpha 2")


def test_delete_only_empty_boards_and_categories(admin_client, make_board, make_member, db, admin):
    from forum.services import posting

    full = make_board("full")
    posting.create_thread(admin, full, "A thread", "Some text here.")
    response = admin_client.post(f"/admin/boards/{full.id}/delete", follow_redirects=True)
    assert "Only an empty board can be deleted." in response.get_data(as_text=True)
    assert fresh(db, Board, full.id) is not None

    response = admin_client.post(f"/admin/categories/{full.category_id}/delete")
    assert fresh(db, Category, full.category_id) is not None

    empty = make_board("empty")
    category_id = empty.category_id
    assert admin_client.post(f"/admin/boards/{empty.id}/delete").status_code == 302
    assert fresh(db, Board, empty.id) is None
    assert admin_client.post(f"/admin/categories/{category_id}/delete").status_code == 302
    assert fresh(db, Category, category_id) is None


def test_edit_category(admin_client, make_board, db):
    board = make_board("general")
    response = admin_client.post(
        f"/admin/categories/{board.category_id}", data={"name": "新名字", "position": "3"}
    )
    assert response.status_code == 302
    category = fresh(db, Category, board.category_id)
    assert (category.name, category.position) == ("新名字", 3)


# -- groups -----------------------------------------------------------------------------------


def test_create_rename_and_delete_a_group(admin_client, db, make_member):
    response = admin_client.post("/admin/groups", data={"name": "跑步团", "key": "runners"})
    assert response.status_code == 302
    group = db.session.execute(select(Group).where(Group.key == "runners")).scalar_one()
    member = make_member("runner")
    members.set_membership(member, group)

    response = admin_client.post(f"/admin/groups/{group.id}", data={"name": "跑团"})
    assert response.status_code == 302
    assert fresh(db, Group, group.id).name == "跑团"
    assert "跑团" in admin_client.get("/admin/groups").get_data(as_text=True)

    assert admin_client.post(f"/admin/groups/{group.id}/delete").status_code == 302
    assert fresh(db, Group, group.id) is None
    assert not db.session.execute(
        select(GroupMembership).where(GroupMembership.member_id == member.id)
    ).all()


def test_group_key_is_made_up_or_validated(admin_client, db):
    admin_client.post("/admin/groups", data={"name": "VIP"})
    assert db.session.execute(select(Group.key).where(Group.name == "VIP")).scalar() == "group1"
    response = admin_client.post("/admin/groups", data={"name": "Dup", "key": "admin"})
    assert "Another group uses this key." in response.get_data(as_text=True)
    response = admin_client.post("/admin/groups", data={"name": "Bad", "key": "不行"})
    assert "A key has" in response.get_data(as_text=True)


@pytest.mark.parametrize("key", ["guest", "member", "moderator", "admin"])
def test_builtin_groups_cannot_be_deleted(admin_client, db, key):
    gid = permissions.group_id(key)
    response = admin_client.post(f"/admin/groups/{gid}/delete", follow_redirects=True)
    assert "Built-in groups cannot be deleted." in response.get_data(as_text=True)
    assert db.session.get(Group, gid) is not None
    with pytest.raises(ServiceError):
        groups.delete_group(db.session.get(Group, gid))


def test_defaults_matrix(admin_client, app, make_board, db):
    board = make_board("open")
    guest = app.test_client()
    assert guest.get("/b/open").status_code == 200
    gid = permissions.group_id("guest")
    mid = permissions.group_id("member")
    data = {f"p-{mid}-{p}": "1" for p in ("view", "read", "reply")}
    data[f"p-{gid}-view"] = "1"  # guests may see that the board exists, not read it
    assert admin_client.post("/admin/groups/defaults", data=data).status_code == 302
    gated = guest.get("/b/open")  # the board's titles and a call to sign in, no posts
    assert gated.status_code == 200 and "Only signed-in members" in gated.get_data(as_text=True)
    defaults = groups.effective_grants(None)
    assert defaults[gid] == {"view"}
    assert defaults[mid] == {"view", "read", "reply"}
    # The admin group is not in the matrix and keeps everything.
    assert permissions.group_id("admin") not in defaults
    assert permissions.can(
        db.session.execute(select(Member).where(Member.username == "boss")).scalar_one(),
        "moderate",
        board.id,
    )


def test_new_group_gets_board_permissions_through_the_matrix(
    admin_client, client, login, make_member, make_board, db
):
    board = make_board("vip", grants={"guest": (), "member": ()})
    vip = groups.create_group("VIP", "vip")
    member = make_member("paid")
    members.set_membership(member, vip)
    assert not permissions.can(member, "read", board.id)
    admin_client.post(
        f"/admin/boards/{board.id}/permissions",
        data={f"p-{vip.id}-view": "1", f"p-{vip.id}-read": "1"},
    )
    site.clear_request_cache()
    assert permissions.can(member, "read", board.id)
    assert not permissions.can(member, "reply", board.id)


# -- members ----------------------------------------------------------------------------------


def test_member_search_and_pagination(admin_client, make_member):
    for n in range(55):
        make_member(f"runner{n:02d}")
    make_member("walker")
    page = admin_client.get("/admin/members?q=runner").get_data(as_text=True)
    assert "55 members match" in page
    assert "runner54" in page and "walker" not in page
    assert 'rel="next"' in page
    page2 = admin_client.get("/admin/members?q=runner&page=2").get_data(as_text=True)
    assert "runner00" in page2 and "runner54" not in page2
    assert admin_client.get("/admin/members?q=runner&page=9").status_code == 404


def test_group_with_expiry_in_the_past_grants_nothing(admin_client, make_member, make_board, db):
    board = make_board("mods-only", grants={"member": ("view", "read")})
    member = make_member("temp")
    moderator_id = permissions.group_id("moderator")
    response = admin_client.post(
        f"/admin/members/{member.id}/groups",
        data={"m-group": moderator_id, "m-expires_at": "2020-01-01T12:00"},
    )
    assert response.status_code == 302
    row = db.session.execute(
        select(GroupMembership).where(GroupMembership.member_id == member.id)
    ).scalar_one()
    # Entered in the site's zone (Asia/Shanghai, UTC+8), stored as naive UTC.
    assert row.expires_at.isoformat() == "2020-01-01T04:00:00"
    assert row.source == "admin"
    site.clear_request_cache()
    assert moderator_id not in permissions.group_ids(member)
    assert not permissions.is_moderator(member, board.id)
    page = admin_client.get(f"/admin/members/{member.id}").get_data(as_text=True)
    assert "expired" in page and "2020-01-01 12:00" in page

    # Extending it into the future makes it count.
    future = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    admin_client.post(
        f"/admin/members/{member.id}/groups",
        data={"m-group": moderator_id, "m-expires_at": future},
    )
    site.clear_request_cache()
    assert permissions.is_moderator(member, board.id)

    assert (
        admin_client.post(f"/admin/members/{member.id}/groups/{moderator_id}/remove").status_code
        == 302
    )
    site.clear_request_cache()
    assert not permissions.is_moderator(member, board.id)


def test_guest_and_member_groups_cannot_be_assigned(admin_client, make_member, db):
    member = make_member("someone")
    response = admin_client.post(
        f"/admin/members/{member.id}/groups", data={"m-group": permissions.group_id("member")}
    )
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert not db.session.execute(
        select(GroupMembership).where(GroupMembership.member_id == member.id)
    ).all()


def test_ban_with_end_date_blocks_sign_in_with_the_reason(
    admin_client, app, make_member, db, login
):
    member = make_member("troll")
    victim = login(english_client(app), member)
    until = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    local = site_time(until).replace(" ", "T")
    response = admin_client.post(
        f"/admin/members/{member.id}/ban", data={"b-reason": "刷广告", "b-until": local}
    )
    assert response.status_code == 302
    member = fresh(db, Member, member.id)
    assert member.is_banned and member.banned_until == until and member.ban_reason == "刷广告"

    # The ban signs the member out and keeps them out, saying why.
    assert victim.get("/new").status_code == 302
    response = english_client(app).post(
        "/login", data={"login": "troll", "password": PASSWORD}, follow_redirects=True
    )
    text = response.get_data(as_text=True)
    assert "刷广告" in text and "suspended until" in text

    assert admin_client.post(f"/admin/members/{member.id}/unban").status_code == 302
    assert not fresh(db, Member, member.id).is_banned
    login(app.test_client(), member)


def test_ban_needs_a_reason_and_a_future_end(admin_client, make_member, db):
    member = make_member("spammer")
    response = admin_client.post(f"/admin/members/{member.id}/ban", data={"b-reason": ""})
    assert response.status_code == 200
    assert 'class="error"' in response.get_data(as_text=True)
    response = admin_client.post(
        f"/admin/members/{member.id}/ban",
        data={"b-reason": "spam", "b-until": "2020-01-01T00:00"},
    )
    assert "must be in the future" in response.get_data(as_text=True)
    assert fresh(db, Member, member.id).status == "active"

    # Without an end date the ban is for good.
    admin_client.post(f"/admin/members/{member.id}/ban", data={"b-reason": "spam"})
    member = fresh(db, Member, member.id)
    assert member.is_banned and member.banned_until is None


def test_approval_flow(admin_client, app, db):
    site.update_settings({"registration_mode": "approval", "require_email_confirmation": False})
    visitor = english_client(app)
    response = visitor.post(
        "/register",
        data={
            "username": "newbie",
            "email": "newbie@example.com",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert response.status_code == 200
    newbie = members.get_by_username("newbie")
    assert newbie.status == "pending"
    response = visitor.post(
        "/login", data={"login": "newbie", "password": PASSWORD}, follow_redirects=True
    )
    assert "waiting for approval" in response.get_data(as_text=True)

    dashboard = admin_client.get("/admin/").get_data(as_text=True)
    assert "newbie" in dashboard
    assert f"/admin/members/{newbie.id}/approve" in dashboard
    response = admin_client.post(f"/admin/members/{newbie.id}/approve?next=/admin/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    assert fresh(db, Member, newbie.id).status == "active"
    assert f"/admin/members/{newbie.id}/approve" not in admin_client.get("/admin/").get_data(
        as_text=True
    )
    response = visitor.post("/login", data={"login": "newbie", "password": PASSWORD})
    assert response.status_code == 302

    # Approving twice says so.
    response = admin_client.post(f"/admin/members/{newbie.id}/approve", follow_redirects=True)
    assert "not waiting for approval" in response.get_data(as_text=True)


# -- settings ---------------------------------------------------------------------------------

VALID_SETTINGS = {
    "site_name": "跑步社",
    "site_description": "一起跑",
    "registration_mode": "approval",
    "default_timezone": "Asia/Taipei",
    "default_locale": "zh_Hant",
    "messages_max_recipients": 4,
    "messages_new_member_posts": 5,
    "messages_new_member_days": 2,
    "messages_new_member_per_day": 1,
    "new_member_hold_posts": 2,
    "new_member_posts_threshold": 10,
    "new_member_max_links": 0,
    "new_member_max_images": 1,
}


def test_settings_are_saved(admin_client):
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert 'value="社群"' in page
    response = admin_client.post("/admin/settings", data=VALID_SETTINGS)
    assert response.status_code == 302
    assert site.settings() == {**VALID_SETTINGS, "require_email_confirmation": False}
    assert "跑步社" in admin_client.get("/").get_data(as_text=True)


def test_an_emptied_number_setting_is_refused_not_zeroed(admin_client):
    before = dict(site.settings())
    response = admin_client.post(
        "/admin/settings", data={**VALID_SETTINGS, "new_member_hold_posts": ""}
    )
    assert response.status_code == 200 and 'class="error"' in response.get_data(as_text=True)
    assert site.settings() == before


def test_settings_reject_an_invalid_registration_mode(admin_client):
    before = dict(site.settings())
    response = admin_client.post(
        "/admin/settings",
        data={**VALID_SETTINGS, "registration_mode": "everyone", "require_email_confirmation": "y"},
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'class="field has-error"' in text and "Not a valid choice" in text
    site.bump_version()  # read the settings from the database again
    assert site.settings() == before


def test_times_are_entered_in_the_site_zone(app):
    from datetime import datetime

    site.update_settings({"default_timezone": "UTC"})
    assert to_utc(datetime(2030, 1, 1, 8, 0)) == datetime(2030, 1, 1, 8, 0)
    site.update_settings({"default_timezone": "Asia/Shanghai"})
    assert to_utc(datetime(2030, 1, 1, 8, 0)) == datetime(2030, 1, 1, 0, 0)
    assert site_time(datetime(2030, 1, 1, 0, 0)) == "2030-01-01 08:00"


def test_board_reordering_service_ignores_unknown_ids(app, make_board, db):
    board = make_board("one")
    boards.set_positions({999: 1}, {board.id: 4, 12345: 2})
    assert db.session.get(Board, board.id).position == 4
    assert db.session.execute(select(BoardPermission)).scalars().all()  # defaults untouched


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_admin_writes_need_the_csrf_token(self, client, admin, make_board, db):
        board = make_board("kept")
        with client.session_transaction() as sess:
            sess["_user_id"] = admin.get_id()
            sess["_fresh"] = True
        assert client.get("/admin/").status_code == 200
        assert client.post(f"/admin/boards/{board.id}/delete").status_code == 400
        assert client.post("/admin/settings", data=VALID_SETTINGS).status_code == 400
        assert db.session.get(Board, board.id) is not None
        assert site.setting("site_name") == "社群"
