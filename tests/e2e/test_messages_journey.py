"""Two members talk privately, in a real browser, on a phone and on a desktop: one writes
from the other's profile, the other sees the unread envelope, reads and replies; then the
second blocks the first, whose next message is refused with a clear message."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import PASSWORD
from tests.e2e.test_journeys import _sign_in, _submit

pytestmark = pytest.mark.e2e

NAMES = {"phone": ("买家小陈", "卖家阿花"), "desktop": ("买家老赵", "卖家小美")}


def _make_veterans(live_server, names: tuple[str, ...]) -> None:
    """Members who are no longer new (the new-member message limits do not apply)."""
    from datetime import timedelta

    from forum.extensions import db
    from forum.models import Member
    from forum.models.base import utcnow
    from forum.services.members import create_member

    with live_server.app.app_context():
        for name in names:
            member = create_member(name, f"{abs(hash(name))}@example.com", PASSWORD)
            member = db.session.get(Member, member.id)
            member.post_count, member.created_at = 10, utcnow() - timedelta(days=30)
        db.session.commit()
        db.session.remove()


def test_two_members_talk_privately_and_one_blocks_the_other(
    new_context, live_server, viewport, shot
):
    buyer, seller = NAMES[viewport]
    _make_veterans(live_server, (buyer, seller))
    subject = f"二手跑鞋还在吗（{viewport}）"

    a = new_context().new_page()
    shot.watch(a)
    _sign_in(a, buyer)
    a.goto(f"/u/{seller}")
    shot(a, "profile-with-message-button")
    with a.expect_navigation():
        a.locator(".profile-actions a.btn-primary").click()
    assert a.input_value("input[name=recipients]") == seller
    a.fill("input[name=subject]", subject)
    a.fill("textarea[name=body]", "你好，42 码的那双还在吗？可以小区门口面交。")
    shot(a, "compose")
    _submit(a, "main form.composer")
    assert subject in a.inner_text("main")
    shot(a, "conversation-sent")

    b = new_context().new_page()
    shot.watch(b)
    _sign_in(b, seller)
    envelope = b.locator("a.topicon[href='/messages'] .count")
    assert envelope.inner_text() == "1"
    b.goto("/messages")
    shot(b, "inbox-unread")
    with b.expect_navigation():
        b.locator("main a", has_text=subject).first.click()
    assert "42 码" in b.inner_text("main")
    b.fill("textarea[name=body]", "还在的，周六上午可以。")
    _submit(b, "section.reply-box form")
    assert "周六上午" in b.inner_text("main")
    assert b.locator("a.topicon[href='/messages'] .count").count() == 0  # read now
    shot(b, "conversation-replied")

    a.goto("/messages")
    assert "周六上午" in a.inner_text("main") or a.locator("a.topicon .count").count() == 1
    shot(a, "inbox-reply-arrived")

    # the seller blocks the buyer from the buyer's profile
    b.on("dialog", lambda dialog: dialog.accept())  # "Block …?"
    b.goto(f"/u/{buyer}")
    with b.expect_navigation():
        b.locator(".profile-actions form button[type=submit]").click()
    b.goto("/messages/blocked")
    assert buyer in b.inner_text("main")
    shot(b, "blocked-list")

    # the buyer's next new message is refused, and nothing is sent
    a.goto(f"/messages/new?to={seller}")
    a.fill("input[name=subject]", "再问一下")
    a.fill("textarea[name=body]", "还能便宜点吗？")
    _submit(a, "main form.composer")
    assert a.url.endswith("/messages/new")
    assert a.locator(".field-error, .error, .flash").count() >= 1
    shot(a, "refused-blocked")
    b.goto("/messages")
    assert "便宜" not in b.inner_text("main")
