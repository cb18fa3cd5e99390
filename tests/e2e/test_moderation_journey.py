"""Issue 5's acceptance journey, in a real browser on a phone and on a desktop: a member
reports a post; a moderator finds it in the queue, hides it; the reporter is notified (bell
and notifications page); the moderation log shows the action.

Selectors use form field names, URLs and the theme's class names, never the visible words,
so the journey holds in every language the theme is translated into.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e

#: Per viewport, so both runs can share one server: (author, reporter, moderator).
NAMES = {
    "phone": ("卖货小张", "热心群友", "巡逻版主"),
    "desktop": ("卖货老赵", "认真群友", "值班版主"),
}


def _setup(live_server, viewport: str) -> tuple[int, int, str]:
    """The author's thread with a spam reply, the reporter and a site moderator.
    Returns (thread id, the reply's post id, the thread's title)."""
    from sqlalchemy import select

    from forum.extensions import db
    from forum.models import Board
    from forum.services import posting
    from forum.services.members import create_member

    author, reporter, moderator = NAMES[viewport]
    title = f"周末约跑，顺便团购跑鞋（{viewport}）"
    with live_server.app.app_context():
        board = db.session.execute(
            select(Board).where(Board.slug == live_server.public_slug)
        ).scalar_one()
        seller = create_member(author, f"{viewport}-seller@example.com", PASSWORD)
        create_member(reporter, f"{viewport}-reporter@example.com", PASSWORD)
        create_member(moderator, f"{viewport}-mod@example.com", PASSWORD, groups=("moderator",))
        thread = posting.create_thread(seller, board, title, "周六早上七点，公园东门集合。")
        spam = posting.reply(seller, thread, "低价代购名牌跑鞋，加微信 xx123，先付款后发货！")
        ids = thread.id, spam.id
        db.session.remove()
    return ids[0], ids[1], title


def _submit(page, form) -> None:
    with page.expect_navigation():
        form.locator("button[type=submit]").first.click()


def _sign_in(page, login: str) -> None:
    page.goto("/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    _submit(page, page.locator("main form"))
    assert page.locator("details.menu").count() == 1, page.content()[:2000]


def test_report_hide_notify_log(new_context, live_server, viewport, shot):
    author, reporter_name, moderator_name = NAMES[viewport]
    thread_id, post_id, title = _setup(live_server, viewport)
    note = "这是广告，还要先付款，像骗子"
    reason = "广告，已隐藏"

    # the member reports the reply
    reporter = new_context().new_page()
    shot.watch(reporter)
    _sign_in(reporter, reporter_name)
    reporter.goto(f"/t/{thread_id}")
    report_link = reporter.locator(f'#p2 a[href="/p/{post_id}/report"]')
    assert report_link.count() == 1
    assert reporter.locator('#p1 a[href$="/report"]').count() == 1  # every post has one
    with reporter.expect_navigation():
        report_link.click()
    shot(reporter, "report-form")
    reporter.check("input[name=reason][value=spam]")
    reporter.fill("textarea[name=note]", note)
    _submit(reporter, reporter.locator("main form"))
    assert reporter.url.endswith(f"/t/{thread_id}") or f"/t/{thread_id}" in reporter.url
    assert reporter.locator(".flash-success").count() == 1
    assert reporter.locator(".topicon.has-unread").count() == 0  # nothing to tell yet

    # the moderator finds it in the queue and hides it
    moderator = new_context().new_page()
    shot.watch(moderator)
    _sign_in(moderator, moderator_name)
    moderator.goto("/admin/queue")
    case = moderator.locator("article.case").filter(
        has=moderator.locator(f'a[href="/p/{post_id}"]')
    )
    assert case.count() == 1
    assert note in case.inner_text()
    assert "微信" in case.locator(".case-excerpt").inner_text()
    assert case.locator("button[name=action][value=hide]").is_visible()
    assert case.locator("select[name=days]").count() == 1  # a site moderator may suspend
    shot(moderator, "queue")
    case.locator("input[name=reason]").fill(reason)
    with moderator.expect_navigation():
        case.locator("button[name=action][value=hide]").click()
    assert moderator.locator(".flash-success").count() == 1
    assert moderator.locator(f'article.case a[href="/p/{post_id}"]').count() == 0
    shot(moderator, "queue-after-hide")

    # the reporter is told: the bell counts it, the notifications page links to the post
    reporter.goto("/")
    bell = reporter.locator('a.topicon.has-unread[href="/notifications"] .count')
    assert bell.inner_text().strip() == "1"
    reporter.goto("/notifications")
    outcome = reporter.locator(f'li.note-row.is-unread a.note-text[href="/p/{post_id}"]')
    assert outcome.count() == 1
    assert title in outcome.inner_text() and reason in outcome.inner_text()
    shot(reporter, "notified")

    # readers see a placeholder (opening the thread marks its notifications read);
    # the moderator can show the post again
    reporter.goto(f"/t/{thread_id}")
    assert "xx123" not in reporter.locator("#p2").inner_text()
    moderator.goto(f"/t/{thread_id}")
    assert moderator.locator("#p2.is-hidden button[name=action][value=unhide]").count() == 1

    # the log shows who hid what, and why
    moderator.goto("/admin/log?action=hide")
    entry = moderator.locator("li.log-entry").filter(
        has=moderator.locator(f'a[href="/p/{post_id}"]')
    )
    assert entry.count() == 1
    text = entry.inner_text()
    assert moderator_name in text and author in text and reason in text
    shot(moderator, "log")
