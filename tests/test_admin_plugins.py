"""The admin side of the plugin platform: the plugin list, switching plugins on and off,
broken plugins, the generic settings form, thread kinds per board and plugin permissions in
the matrix."""

from __future__ import annotations

import logging
import re
from html import unescape

import pytest
from sqlalchemy import select

from forum import plugins
from forum.models import Board, BoardPermission
from forum.plugin_api import AdminPage
from forum.services import boards, groups, permissions, plugin_state
from forum.services.errors import ServiceError

SAMPLE_SETTINGS = {"greeting": "你好", "limit": 5, "fee": 1250, "mode": "a", "loud": False}


@pytest.fixture
def app_config():
    return {"EXTRA_PLUGINS": {"sample": "tests.sample_plugin", "ghost": "tests.no_such_module"}}


@pytest.fixture
def admin(make_member):
    return make_member("boss", groups=("admin",), locale="en")


@pytest.fixture
def admin_client(client, login, admin):
    return login(client, admin)


def text(response) -> str:
    """The page's HTML with entities turned back into characters."""
    return unescape(response.get_data(as_text=True))


def plugin_row(page: str, name: str) -> str:
    """The list item of plugin ``name`` on /admin/plugins."""
    match = re.search(rf'<li class="admin-row" id="plugin-{name}">(.*?)</li>', page, re.S)
    assert match, f"no row for {name}"
    return match.group(1)


def stored_settings() -> dict:
    """The sample plugin's settings as the plugin reads them."""
    return dict(plugin_state.plugin_settings("sample"))


# -- the list, enabling and disabling -----------------------------------------------------------


def test_list_shows_the_sample_plugin_disabled(admin_client):
    response = admin_client.get("/admin/plugins")
    assert response.status_code == 200
    page = text(response)
    row = plugin_row(page, "sample")
    assert "Sample" in row and "A plugin for the core's tests." in row
    assert "version 1.0" in row and "Shequn" in row
    assert 'href="https://example.com/sample"' in row
    assert ">disabled<" in row
    assert 'action="/admin/plugins/sample/enable"' in row
    assert 'href="/admin/plugins/sample"' in row  # its settings
    assert '<a href="/admin/plugins" aria-current="page">Plugins</a>' in page


def test_enable_then_disable_switches_the_plugin_routes(admin_client, app):
    client = app.test_client()  # a guest
    assert client.get("/sample/").status_code == 404

    response = admin_client.post("/admin/plugins/sample/enable")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/plugins"
    assert plugins.is_enabled("sample")
    assert client.get("/sample/").status_code == 200
    page = text(admin_client.get("/admin/plugins"))
    assert "The plugin Sample is enabled." in page
    row = plugin_row(page, "sample")
    assert ">enabled<" in row and 'action="/admin/plugins/sample/disable"' in row
    # Its admin page joins the admin navigation.
    assert '<a href="/sample/">Sample page</a>' in page

    response = admin_client.post("/admin/plugins/sample/disable")
    assert response.status_code == 302
    assert not plugins.is_enabled("sample")
    assert client.get("/sample/").status_code == 404
    page = text(admin_client.get("/admin/plugins"))
    assert "The plugin Sample is disabled; its data is kept." in page
    assert ">disabled<" in plugin_row(page, "sample")
    assert "Sample page" not in page


def test_switch_from_the_plugin_page_comes_back_to_it(admin_client):
    response = admin_client.post("/admin/plugins/sample/enable?next=/admin/plugins/sample")
    assert response.headers["Location"] == "/admin/plugins/sample"
    response = admin_client.post("/admin/plugins/sample/disable?next=https://evil.example/")
    assert response.headers["Location"] == "/admin/plugins"


def test_a_refused_enable_is_shown_and_changes_nothing(admin_client, monkeypatch):
    monkeypatch.setattr(plugin_state, "pending_migrations", lambda name: True)
    response = admin_client.post("/admin/plugins/sample/enable", follow_redirects=True)
    page = text(response)
    assert "needs database changes first: run `forum db upgrade`" in page
    assert 'class="flash flash-error"' in page
    assert not plugin_state.is_enabled_in_db("sample")
    assert ">disabled<" in plugin_row(page, "sample")


def test_unknown_plugins_are_not_found(admin_client):
    assert admin_client.get("/admin/plugins/nope").status_code == 404
    assert admin_client.post("/admin/plugins/nope/enable").status_code == 404
    assert admin_client.post("/admin/plugins/nope/disable").status_code == 404


def test_a_broken_plugin_is_listed_with_its_error_and_the_forum_works(
    admin_client, app, make_board
):
    make_board("general")
    page = text(admin_client.get("/admin/plugins"))
    row = plugin_row(page, "ghost")
    assert ">broken<" in row
    assert "No module named 'tests.no_such_module'" in row
    assert "/admin/plugins/ghost/enable" not in row

    detail = text(admin_client.get("/admin/plugins/ghost"))
    assert "This plugin is broken" in detail
    assert "No module named 'tests.no_such_module'" in detail
    assert 'id="settings"' not in detail
    assert admin_client.post("/admin/plugins/ghost", data={}).status_code == 400

    # Enabling it is refused with the reason; nothing is stored.
    page = text(admin_client.post("/admin/plugins/ghost/enable", follow_redirects=True))
    assert "The plugin ghost cannot be enabled" in page
    assert not plugin_state.is_enabled_in_db("ghost")

    # The rest of the forum goes on.
    for url in ("/", "/b/general", "/admin/", "/admin/boards", "/admin/groups"):
        assert admin_client.get(url).status_code == 200, url
    assert app.test_client().get("/").status_code == 200


def test_a_broken_plugin_still_switched_on_can_be_switched_off(admin_client, db):
    from forum.models import PluginState
    from forum.models.base import utcnow

    db.session.add(PluginState(name="ghost", enabled=True, changed_at=utcnow()))
    db.session.commit()
    row = plugin_row(text(admin_client.get("/admin/plugins")), "ghost")
    assert "It is switched on and runs again once it loads." in row
    assert 'action="/admin/plugins/ghost/disable"' in row
    assert admin_client.post("/admin/plugins/ghost/disable").status_code == 302
    assert not plugin_state.is_enabled_in_db("ghost")


def test_an_admin_page_that_does_not_build_is_left_out_and_logged(
    admin_client, enable_plugin, monkeypatch, caplog
):
    enable_plugin("sample")
    info = plugins.manager().get("sample")
    monkeypatch.setattr(
        info, "admin_pages", [AdminPage("sample.nowhere", "Lost"), *info.admin_pages]
    )
    with caplog.at_level(logging.WARNING, logger="forum.admin"):
        page = text(admin_client.get("/admin/plugins"))
    assert "Lost" not in page and '<a href="/sample/">Sample page</a>' in page
    assert "sample.nowhere" in caplog.text


# -- access -------------------------------------------------------------------------------------

PAGES = ["/admin/plugins", "/admin/plugins/sample", "/admin/plugins/ghost"]
POSTS = ["/admin/plugins/sample", "/admin/plugins/sample/enable", "/admin/plugins/sample/disable"]


@pytest.mark.parametrize("group_keys", [(), ("moderator",)])
def test_non_admins_get_403(client, login, make_member, group_keys):
    login(client, make_member("plain", groups=group_keys))
    for url in PAGES:
        assert client.get(url).status_code == 403, url
    for url in POSTS:
        assert client.post(url, data={"limit": "9"}).status_code == 403, url
    assert not plugin_state.is_enabled_in_db("sample")
    assert stored_settings() == SAMPLE_SETTINGS


def test_guests_are_sent_to_sign_in(client):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    for url in POSTS:
        response = client.post(url, data={"limit": "9"})
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert not plugin_state.is_enabled_in_db("sample")
    assert stored_settings() == SAMPLE_SETTINGS


# -- settings -----------------------------------------------------------------------------------


def test_settings_form_shows_each_type_with_its_current_value(admin_client):
    page = text(admin_client.get("/admin/plugins/sample"))
    assert "A plugin for the core's tests." in page
    assert re.search(r'<input[^>]*name="greeting"[^>]*value="你好"', page)
    assert "Shown on /sample/" in page  # help text
    limit = re.search(r'<input[^>]*name="limit"[^>]*>', page).group(0)
    assert 'inputmode="numeric"' in limit and 'value="5"' in limit
    assert "From 1 to 100." in page
    fee = re.search(r'<input[^>]*name="fee"[^>]*>', page).group(0)
    assert 'inputmode="decimal"' in fee and 'value="12.50"' in fee
    assert re.search(r'<select[^>]*name="mode"', page)
    assert re.search(r'<option selected value="a">A</option>|<option value="a" selected>', page)
    loud = re.search(r'<input[^>]*name="loud"[^>]*>', page).group(0)
    assert 'type="checkbox"' in loud and "checked" not in loud
    assert '<label for="setting-limit">Limit</label>' in page


def test_valid_settings_are_saved(admin_client, app, enable_plugin):
    response = admin_client.post(
        "/admin/plugins/sample",
        data={"greeting": " Hello ", "limit": "7", "fee": "3.5", "mode": "b", "loud": "y"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/plugins/sample"
    assert stored_settings() == {
        "greeting": "Hello",
        "limit": 7,
        "fee": 350,
        "mode": "b",
        "loud": True,
    }
    page = text(admin_client.get("/admin/plugins/sample"))
    assert "Settings saved." in page
    assert re.search(r'<input[^>]*name="fee"[^>]*value="3.50"', page)
    assert re.search(r'<input[^>]*checked[^>]*name="loud"|<input[^>]*name="loud"[^>]*checked', page)
    # The plugin reads the new value at once.
    enable_plugin("sample")
    assert "Hello" in text(app.test_client().get("/sample/"))

    # Unticking the checkbox turns the setting off.
    admin_client.post(
        "/admin/plugins/sample",
        data={"greeting": "Hello", "limit": "7", "fee": "3.50", "mode": "b"},
    )
    assert stored_settings()["loud"] is False


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("limit", "abc", "Enter a whole number."),
        ("limit", "0", "At least 1."),
        ("limit", "101", "At most 100."),
        ("fee", "12.345", "Enter an amount such as 12.50."),
        ("mode", "zzz", "Please choose one of the options."),
        ("greeting", "x" * 501, "At most 500 characters."),
    ],
)
def test_an_invalid_value_shows_its_error_and_saves_nothing(admin_client, name, value, message):
    data = {"greeting": "Changed", "limit": "9", "fee": "1.00", "mode": "b", "loud": "y"}
    data[name] = value
    response = admin_client.post("/admin/plugins/sample", data=data)
    assert response.status_code == 200
    page = text(response)
    assert "Nothing was saved" in page
    # The error sits in the field of that setting, and only there.
    fields = re.findall(r'<div class="field( has-error)?">(.*?)</div>', page, re.S)
    errors = [body for bad, body in fields if bad]
    assert len(errors) == 1 and f'name="{name}"' in errors[0] and message in errors[0]
    # Every input keeps what was typed (a select can only show one of its options).
    for key in ("greeting", "limit", "fee"):
        typed = re.escape(data[key])
        assert re.search(rf'<input[^>]*name="{key}"[^>]*value="{typed}"', page), key
    if name != "mode":
        assert re.search(r'<option selected value="b">', page)
    assert "checked" in re.search(r'<input[^>]*name="loud"[^>]*>', page).group(0)
    # Nothing changed, not even the valid fields.
    assert stored_settings() == SAMPLE_SETTINGS


def test_several_invalid_values_show_every_error(admin_client):
    response = admin_client.post(
        "/admin/plugins/sample",
        data={"greeting": "ok", "limit": "abc", "fee": "12.345", "mode": "zzz"},
    )
    page = text(response)
    for message in (
        "Enter a whole number.",
        "Enter an amount such as 12.50.",
        "Please choose one of the options.",
    ):
        assert message in page
    assert page.count('class="field has-error"') == 3
    assert stored_settings() == SAMPLE_SETTINGS


def test_settings_page_has_a_csrf_token_and_checks_it(app, admin, login):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post(
            "/login",
            data={"login": admin.username, "password": "correct-horse-9", "csrf_token": token},
        )
        page = text(client.get("/admin/plugins/sample"))
        assert 'name="csrf_token"' in page
        assert client.post("/admin/plugins/sample", data={"limit": "9"}).status_code == 400
        assert client.post("/admin/plugins/sample/enable").status_code == 400
        assert stored_settings() == SAMPLE_SETTINGS
        assert not plugin_state.is_enabled_in_db("sample")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# -- thread kinds per board ---------------------------------------------------------------------


def board_data(board: Board, kinds) -> dict:
    return {
        "category": board.category_id,
        "name": board.name,
        "slug": board.slug,
        "thread_kinds": ["", *kinds],  # the form's empty marker, then the ticked boxes
    }


def kind_box(page: str, kind: str) -> str | None:
    match = re.search(
        rf'<label class="check">(<input[^>]*value="{kind}"[^>]*>)([^<]*)</label>', page
    )
    return match.group(0) if match else None


def fresh_kinds(db, board_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Board, board_id).thread_kinds


def test_board_kinds_follow_the_enabled_plugins(admin_client, make_board, enable_plugin, db):
    board = make_board("general")
    page = text(admin_client.get(f"/admin/boards/{board.id}"))
    assert "checked" in kind_box(page, "discussion") and "Discussion" in kind_box(
        page, "discussion"
    )
    assert kind_box(page, "note") is None

    enable_plugin("sample")
    page = text(admin_client.get(f"/admin/boards/{board.id}"))
    note = kind_box(page, "note")
    assert note is not None and "Note" in note and "checked" not in note

    response = admin_client.post(
        f"/admin/boards/{board.id}", data=board_data(board, ["discussion", "note"])
    )
    assert response.status_code == 302
    assert fresh_kinds(db, board.id) == "discussion,note"

    # Disabled: the kind stays stored, shown as such, and kept while ticked.
    enable_plugin("sample", disable=True)
    page = text(admin_client.get(f"/admin/boards/{board.id}"))
    note = kind_box(page, "note")
    assert "checked" in note and "Note (plugin disabled)" in note
    response = admin_client.post(
        f"/admin/boards/{board.id}", data=board_data(board, ["discussion", "note"])
    )
    assert response.status_code == 302
    assert fresh_kinds(db, board.id) == "discussion,note"

    # Unticked, it goes, and cannot come back while its plugin is off.
    admin_client.post(f"/admin/boards/{board.id}", data=board_data(board, ["discussion"]))
    assert fresh_kinds(db, board.id) == "discussion"
    assert kind_box(text(admin_client.get(f"/admin/boards/{board.id}")), "note") is None
    response = admin_client.post(
        f"/admin/boards/{board.id}", data=board_data(board, ["discussion", "note"])
    )
    assert response.status_code == 200
    assert "Unknown kind of thread: note." in text(response)
    assert fresh_kinds(db, board.id) == "discussion"


def test_a_board_keeps_at_least_one_kind(admin_client, make_board, enable_plugin, db):
    board = make_board("general")
    response = admin_client.post(f"/admin/boards/{board.id}", data=board_data(board, []))
    assert response.status_code == 200
    page = text(response)
    assert "Allow at least one kind of thread." in page
    assert 'class="field has-error" role="group"' in page
    assert fresh_kinds(db, board.id) == "discussion"

    # Only a disabled plugin's kind left: nobody could start a thread there.
    enable_plugin("sample")
    admin_client.post(f"/admin/boards/{board.id}", data=board_data(board, ["note"]))
    assert fresh_kinds(db, board.id) == "note"
    enable_plugin("sample", disable=True)
    response = admin_client.post(f"/admin/boards/{board.id}", data=board_data(board, ["note"]))
    assert "Allow at least one kind of thread that members can start now." in text(response)
    assert fresh_kinds(db, board.id) == "note"


def test_new_board_with_a_plugin_kind(admin_client, make_board, enable_plugin, db):
    existing = make_board("general")
    page = text(admin_client.get("/admin/boards/new"))
    assert "checked" in kind_box(page, "discussion")
    enable_plugin("sample")
    response = admin_client.post(
        "/admin/boards/new",
        data={
            "category": existing.category_id,
            "name": "Notes",
            "slug": "notes",
            "thread_kinds": ["", "note"],
        },
    )
    assert response.status_code == 302
    board = db.session.execute(select(Board).where(Board.slug == "notes")).scalar_one()
    assert board.thread_kinds == "note"


def test_thread_kinds_service_checks(app, make_board, enable_plugin, english):
    board = make_board("general")
    with pytest.raises(ServiceError, match="only once"):
        boards.update_board(board, thread_kinds=["discussion", "discussion"])
    with pytest.raises(ServiceError, match="Unknown kind"):
        boards.update_board(board, thread_kinds="discussion,nope")
    enable_plugin("sample")
    assert boards.update_board(board, thread_kinds=" note , discussion").thread_kinds == (
        "note,discussion"
    )


# -- plugin permissions in the matrix -----------------------------------------------------------


def test_matrix_shows_plugin_permissions_only_while_enabled(
    admin_client, make_board, enable_plugin, db
):
    board = make_board("general")
    assert "Stamp notes" not in text(admin_client.get("/admin/groups"))
    assert "Stamp notes" not in text(admin_client.get(f"/admin/boards/{board.id}/permissions"))

    enable_plugin("sample")
    member_id = permissions.group_id("member")
    guest_id = permissions.group_id("guest")
    page = text(admin_client.get("/admin/groups"))
    assert '<th scope="col">Stamp notes</th>' in page
    assert f'name="p-{member_id}-sample_stamp" value="1" checked' in page  # its default
    assert f'name="p-{guest_id}-sample_stamp" value="1" aria-label' in page

    # Guests get it on this board: saved through the matrix.
    grants = {g: set(p) for g, p in groups.effective_grants(board.id).items()}
    grants[guest_id].add("sample_stamp")
    data = {f"p-{g}-{p}": "1" for g, perms in grants.items() for p in perms}
    assert admin_client.post(f"/admin/boards/{board.id}/permissions", data=data).status_code == 302
    assert groups.effective_grants(board.id)[guest_id] >= {"sample_stamp"}
    page = text(admin_client.get(f"/admin/boards/{board.id}/permissions"))
    assert f'name="p-{guest_id}-sample_stamp" value="1" checked' in page

    # Disabled: the column goes, the rows stay, and saving the matrix leaves them alone.
    enable_plugin("sample", disable=True)
    page = text(admin_client.get(f"/admin/boards/{board.id}/permissions"))
    assert "Stamp notes" not in page and "sample_stamp" not in page
    assert "Stamp notes" not in text(admin_client.get("/admin/groups"))
    data = {
        f"p-{g}-{p}": "1"
        for g, perms in groups.effective_grants(board.id).items()
        for p in perms
        if p != "upload" and (g, p) != (guest_id, "read")
    }
    assert admin_client.post(f"/admin/boards/{board.id}/permissions", data=data).status_code == 302
    defaults = {
        f"p-{g}-{p}": "1" for g, perms in groups.effective_grants(None).items() for p in perms
    }
    assert admin_client.post("/admin/groups/defaults", data=defaults).status_code == 302

    def stamp_rows():
        db.session.expire_all()
        return set(
            db.session.execute(
                select(
                    BoardPermission.board_id, BoardPermission.group_id, BoardPermission.allowed
                ).where(BoardPermission.permission == "sample_stamp")
            ).all()
        )

    assert (board.id, guest_id, True) in stamp_rows()
    assert (None, member_id, True) in stamp_rows()

    # Back on: the column and the owner's choices return.
    enable_plugin("sample")
    page = text(admin_client.get(f"/admin/boards/{board.id}/permissions"))
    assert f'name="p-{guest_id}-sample_stamp" value="1" checked' in page
    assert f'name="p-{member_id}-upload" value="1" checked' not in page


def test_saving_a_board_back_to_its_defaults_keeps_a_disabled_plugins_rows(
    admin_client, make_board, enable_plugin, db
):
    """A group whose visible ticks equal its defaults loses its own rows on the board; the
    rows of a disabled plugin's permissions must not go with them."""
    board = make_board("general")
    enable_plugin("sample")
    guest_id = permissions.group_id("guest")
    grants = {g: set(p) for g, p in groups.effective_grants(board.id).items()}
    grants[guest_id].add("sample_stamp")
    data = {f"p-{g}-{p}": "1" for g, perms in grants.items() for p in perms}
    admin_client.post(f"/admin/boards/{board.id}/permissions", data=data)
    enable_plugin("sample", disable=True)

    # Save the (now core-only) matrix unchanged: the guests' core ticks equal the defaults.
    data = {
        f"p-{g}-{p}": "1" for g, perms in groups.effective_grants(board.id).items() for p in perms
    }
    admin_client.post(f"/admin/boards/{board.id}/permissions", data=data)
    enable_plugin("sample")
    assert "sample_stamp" in groups.effective_grants(board.id)[guest_id]
