"""In a real browser, on a phone (and a desktop): a member asks with a bounty (similar
questions show while the title is typed), two members answer, a third votes, the asker
accepts, and the bounty lands in the answerer's points history.

Uses the core's browser fixtures (``tests/e2e/conftest.py``: a live forum on SQLite, Debian's
chromium); the Q&A plugin is installed there, switched off, and this test switches it on for
its own board and off again at the end.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import *  # noqa: F403 (live_server, browser, viewport, new_context, shot)
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_journeys import _sign_in, _submit

pytestmark = pytest.mark.e2e


def _setup(live_server, viewport: str) -> dict:
    from forum.extensions import db
    from forum.services import boards, permissions, plugin_state, points, posting
    from forum.services.members import create_member

    names = {role: f"{viewport}-{role}" for role in ("asker", "runner", "coach", "voter", "elder")}
    with live_server.app.app_context():
        plugin_state.enable("qa")
        members = {
            role: create_member(n, f"{n}@example.com", PASSWORD) for role, n in names.items()
        }
        points.award(members["asker"], 100, "test_gift", f"e2e:qa:gift:{viewport}")
        category = boards.create_category(f"问答 {viewport}")
        board = boards.create_board(category, f"qa-{viewport}", "装备问答", "问装备，答装备。")
        boards.update_board(board, thread_kinds="discussion,question")
        member_rights = ("view", "read", "start_thread", "reply", "qa_vote")
        permissions.set_board_permissions(
            board.id,
            {
                permissions.group_id("guest"): ("view", "read"),
                permissions.group_id("member"): member_rights,
            },
        )
        db.session.commit()
        posting.create_thread(
            members["elder"],
            board,
            "Trail shoes keep coming untied",
            "Every long run they come loose.",
            kind="question",
        )
        slug = board.slug
        db.session.remove()
    return {"names": names, "slug": slug}


def _post_id(page, number: int) -> int:
    href = page.locator(f"#p{number} a.post-number").get_attribute("href")
    return int(re.search(r"/p/(\d+)", href).group(1))


def test_ask_with_bounty_answer_vote_accept_and_get_paid(new_context, live_server, viewport, shot):
    scene = _setup(live_server, viewport)
    names, slug = scene["names"], scene["slug"]
    try:
        asker = new_context().new_page()
        shot.watch(asker)
        _sign_in(asker, names["asker"])
        asker.goto(f"/b/{slug}/new?kind=question")
        asker.fill("input[name=title]", "trail shoes untied")  # a similar question exists
        asker.locator(".qa-similar li a").first.wait_for()
        assert "Trail shoes keep coming untied" in asker.locator(".qa-similar").inner_text()
        shot(asker, "qa-similar-questions")
        asker.fill("input[name=title]", "Which laces for trail shoes that never come untied?")
        asker.fill("textarea[name=body]", "Mine open up after 10 km, every time.")
        asker.fill("input[name=kind_bounty]", "30")
        _submit(asker, "form.composer")
        thread_url = asker.url
        assert "/t/" in thread_url
        assert "30" in asker.locator(".qa-bounty").inner_text()
        shot(asker, "qa-question-with-bounty")

        # two members answer
        for role, text in (
            ("runner", "Use a heel-lock knot."),
            ("coach", "Get elastic lace locks."),
        ):
            page = new_context().new_page()
            shot.watch(page)
            _sign_in(page, names[role])
            page.goto(thread_url)
            page.fill(".reply-box textarea[name=body]", text)
            _submit(page, ".reply-box form")
            page.close()

        # a third member votes the coach's answer up: it moves above the runner's
        voter = new_context().new_page()
        shot.watch(voter)
        _sign_in(voter, names["voter"])
        voter.goto(thread_url)
        with voter.expect_navigation():
            voter.locator("#p3 form.qa-votes button.qa-up").click()
        assert voter.locator("#p3 .qa-score").inner_text() == "1"
        assert voter.locator("#p3 button.qa-up").get_attribute("aria-pressed") == "true"
        numbers = voter.locator("article.post").evaluate_all("els => els.map(e => e.id)")
        assert numbers == ["p1", "p3", "p2"]
        shot(voter, "qa-voted")

        # the asker accepts the coach's answer: the bounty is paid
        asker.goto(thread_url)
        coach_post = _post_id(asker, 3)
        _submit(asker, f"form[action='/qa/accept/{coach_post}']")
        assert asker.locator("#p3 .qa-accepted").count() == 1
        assert asker.locator(".qa-solved").count() == 1
        assert asker.locator(".flash-success").count() == 1
        shot(asker, "qa-accepted")

        coach = new_context().new_page()
        shot.watch(coach)
        _sign_in(coach, names["coach"])
        coach.goto(f"/u/{names['coach']}/points")
        history = coach.locator("main").inner_text()
        assert "+30" in history or "30" in history
        assert "悬赏" in history  # "Bounty on a question", in the member's language
        shot(coach, "qa-points-history")
    finally:
        from forum.services import plugin_state

        with live_server.app.app_context():
            plugin_state.disable("qa")
