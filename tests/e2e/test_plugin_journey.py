"""An owner switches a plugin on in the browser, allows its kind of thread on a board, a
member posts one; the owner switches the plugin off again and its parts leave the pages.
On a phone and on a desktop, against the live server with the sample plugin installed."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import PASSWORD
from tests.e2e.test_journeys import _sign_in, _submit

pytestmark = pytest.mark.e2e


def _setup(live_server, viewport: str) -> tuple[str, str, str, int]:
    from forum.extensions import db
    from forum.services import boards
    from forum.services.members import create_member

    owner, member, slug = f"{viewport}-owner", f"{viewport}-trader", f"notes-{viewport}"
    with live_server.app.app_context():
        create_member(owner, f"{owner}@example.com", PASSWORD, groups=("admin",))
        create_member(member, f"{member}@example.com", PASSWORD)
        category = boards.create_category(f"交换 {viewport}")
        board = boards.create_board(category, slug, "便签交换")
        board_id = board.id
        db.session.remove()
    return owner, member, slug, board_id


def test_owner_enables_a_plugin_and_a_member_posts_its_kind(
    new_context, live_server, viewport, shot
):
    owner, member, slug, board_id = _setup(live_server, viewport)
    admin = new_context().new_page()
    shot.watch(admin)
    admin.on("dialog", lambda dialog: dialog.accept())  # "Disable this plugin?"
    try:
        _sign_in(admin, owner)
        admin.goto("/admin/plugins")
        assert admin.goto("/sample/").status == 404
        admin.goto("/admin/plugins")
        shot(admin, "plugins-disabled")
        _submit(admin, "form[action^='/admin/plugins/sample/enable']")
        assert admin.locator("form[action^='/admin/plugins/sample/disable']").count() == 1
        shot(admin, "plugins-enabled")
        assert admin.goto("/sample/").status == 200
        assert admin.locator(".sample-greeting").inner_text() == "你好"

        # allow the plugin's kind of thread on the board
        admin.goto(f"/admin/boards/{board_id}")
        admin.check("input[name=thread_kinds][value=note]")
        shot(admin, "board-kinds")
        _submit(admin, "form:has(input[name=thread_kinds])")

        # a member starts a thread of that kind, with its own fields
        page = new_context().new_page()
        shot.watch(page)
        _sign_in(page, member)
        page.goto(f"/b/{slug}/new")
        page.click("a[href$='kind=note']")
        page.fill("input[name=title]", f"出一张红色便签（{viewport}）")
        page.select_option("select[name=kind_colour]", "red")
        page.fill("input[name=kind_price]", "12.5")
        page.fill("textarea[name=body]", "九成新，周末可以面交。")
        shot(page, "composer-note")
        _submit(page)
        assert "/t/" in page.url
        assert "12.50" in page.locator(".kind-head").inner_text()
        assert page.locator("#p1 .sample-footer").count() == 1
        shot(page, "thread-note")
        thread_url = page.url

        # the owner switches it off: the thread reads as a plain discussion, data kept
        admin.goto("/admin/plugins")
        _submit(admin, "form[action^='/admin/plugins/sample/disable']")
        assert admin.locator("form[action^='/admin/plugins/sample/enable']").count() == 1
        page.goto(thread_url)
        assert page.locator(".kind-head").count() == 0
        assert page.locator(".sample-footer").count() == 0
        assert "九成新" in page.locator("#p1 .post-body").inner_text()
        shot(page, "thread-plugin-off")
        assert page.goto("/sample/").status == 404
    finally:
        from forum.extensions import db
        from forum.services import plugin_state

        with live_server.app.app_context():
            plugin_state.disable("sample")
            db.session.remove()
