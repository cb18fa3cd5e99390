"""In a real browser, on a phone (and a desktop): a member finds a camp with a deposit,
confirms joining, checks in with a photo and a distance, sees "checked in today", the
streak and the heatmap, finds themselves on the leaderboard (by streak and by km), and likes
a fellow runner's check-in without the page reloading.

Uses the core's browser fixtures (``tests/e2e/conftest.py``: a live forum on SQLite with
CSRF on, Debian's chromium); the plugin is switched on for this test and off at the end.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from PIL import Image

from tests.e2e.conftest import *  # noqa: F403 (live_server, browser, viewport, new_context, shot)
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_journeys import _sign_in, _submit

pytestmark = pytest.mark.e2e


def _setup(live_server, viewport: str) -> dict:
    from forum_plugins.checkin import services

    from forum.extensions import db
    from forum.services import plugin_state, points
    from forum.services.members import create_member

    names = {role: f"{viewport}-{role}" for role in ("runner", "friend", "coach")}
    with live_server.app.app_context():
        plugin_state.enable("checkin")
        runner = create_member(names["runner"], f"{names['runner']}@example.com", PASSWORD)
        friend = create_member(names["friend"], f"{names['friend']}@example.com", PASSWORD)
        coach = create_member(
            names["coach"], f"{names['coach']}@example.com", PASSWORD, groups=("moderator",)
        )
        points.award(runner, 100, "test_gift", f"e2e:checkin:gift:{viewport}")
        points.award(friend, 100, "test_gift", f"e2e:checkin:gift2:{viewport}")
        camp = services.create_camp(
            coach,
            title=f"21 天晨跑 {viewport}",
            description="每天跑一点。",
            starts_on=date.today() - timedelta(days=1),
            ends_on=date.today() + timedelta(days=30),
            deposit=30,
            metrics=[
                {"key": "km", "label": "距离", "unit": "km", "min": 0, "max": 100,
                 "decimals": 1, "required": True},
            ],
        )  # fmt: skip
        services.join(friend, camp)
        services.check_in(friend, camp, note="轻松跑", metrics={"km": "3.5"})
        camp_id = camp.id
        db.session.remove()
    return {"names": names, "camp_id": camp_id}


def _photo() -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (320, 240), (230, 120, 60)).save(data, "PNG")
    return data.getvalue()


def test_join_check_in_with_a_photo_see_streak_and_leaderboard(
    new_context, live_server, viewport, shot
):
    scene = _setup(live_server, viewport)
    names, camp_id = scene["names"], scene["camp_id"]
    try:
        page = new_context().new_page()
        shot.watch(page)
        _sign_in(page, names["runner"])
        page.goto("/checkin/")
        shot(page, "checkin-camps")
        with page.expect_navigation():
            page.locator(f"a[href='/checkin/c/{camp_id}']").first.click()
        assert page.locator(".ck-chip-deposit").count() == 1
        shot(page, "checkin-camp-before-joining")

        # joining with a deposit goes through a confirm step that says what it costs
        with page.expect_navigation():
            page.locator(f"a[href='/checkin/c/{camp_id}/join']").click()
        assert "30" in page.locator(".ck-total").inner_text()
        shot(page, "checkin-join-confirm")
        _submit(page, ".ck-confirm form")
        assert page.locator(".flash-success").count() == 1
        assert page.locator("form#check-in").count() == 1

        # check in with a distance, a note and a photo
        page.fill("form#check-in input[name=metric_km]", "5.2")
        page.fill("form#check-in textarea[name=note]", "第一天，配速 6:00")
        page.set_input_files(
            "form#check-in input[name=photo]",
            files=[{"name": "run.png", "mimeType": "image/png", "buffer": _photo()}],
        )
        shot(page, "checkin-form-filled")
        _submit(page, "form#check-in")
        assert page.locator(".ck-done").count() == 1  # "checked in today ✓"
        assert page.locator("form#check-in").count() == 0
        assert page.locator(".ck-mine .ck-streak").inner_text() == "1"
        assert page.locator(".ck-mine .ck-cell.ck-today.ck-l3").count() == 1
        mine = page.locator(".ck-item", has_text="5.2").first
        assert mine.locator(".ck-photo img").count() == 1
        natural = mine.locator(".ck-photo img").evaluate("img => img.naturalWidth")
        assert natural == 320  # the stored, re-encoded photo is served
        board = page.locator("#board .ck-board")
        assert names["runner"] in board.inner_text() and names["friend"] in board.inner_text()
        shot(page, "checkin-done-streak-board")

        # like the friend's check-in: the button changes without a reload
        friends = page.locator(".ck-item", has_text="3.5").first
        button = friends.locator(".like-button")
        assert button.get_attribute("aria-pressed") == "false"
        page.evaluate("() => { window.__same_page = true; }")
        button.click()
        page.wait_for_function(
            "() => document.querySelector('.ck-item .like-button[aria-pressed=true]') !== null"
        )
        assert page.evaluate("() => window.__same_page === true")
        assert friends.locator(".like-count").inner_text() == "1"

        # the leaderboard by km this month
        with page.expect_navigation():
            page.locator("#board .ck-tabs a", has_text="距离").click()
        first = page.locator("#board .ck-rank").first
        assert names["runner"] in first.inner_text() and "5.2" in first.inner_text()
        with page.expect_navigation():
            page.locator("#board a[href*='/leaderboard']").first.click()
        assert page.locator(".ck-rank").count() == 2
        shot(page, "checkin-leaderboard-km")

        # the profile shows the overall streak and heatmap
        page.goto(f"/u/{names['runner']}")
        assert page.locator(".ck-profile .ck-streak").inner_text() == "1"
        shot(page, "checkin-profile-card")
    finally:
        from forum.services import plugin_state

        with live_server.app.app_context():
            plugin_state.disable("checkin")
