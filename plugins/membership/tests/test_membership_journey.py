"""In a real browser, on a phone (and a desktop): a guest opens a thread on a gated board and
sees only its teaser with the join call to action, registers, confirms the e-mail, signs in,
buys the tier with the sandbox provider and reads the thread in full; then a second member
pays by transfer, an admin confirms it in the manual queue, and that member reads too.

Uses the core's browser fixtures (``tests/e2e/conftest.py``: a live forum on SQLite with
CSRF on, Debian's chromium, PAYMENTS_SANDBOX on); the plugin is switched on for this test
and off at the end (its tier taken off sale, so the other viewport's run sees only its own).
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import *  # noqa: F403 (live_server, browser, viewport, new_context, shot)
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_journeys import _sign_in, _submit

pytestmark = pytest.mark.e2e

SECRET = "集合地点和暗号：周六早上六点，西湖断桥，口令“橙色海豚”。"
OPENING = (
    "本月团购清单第一批：有机大米、云南咖啡豆、手工挂面，都是群友推荐的好东西，价格只对会员公开。"
)


def _setup(live_server, viewport: str) -> dict:
    from forum_plugins.membership import services

    from forum.extensions import db
    from forum.services import boards, groups, payments, permissions, plugin_state, posting
    from forum.services.members import create_member

    names = {role: f"{viewport}-{role}" for role in ("owner", "transfer", "newbie")}
    with live_server.app.app_context():
        plugin_state.enable("membership")
        payments.enable_provider("sandbox", {"secret": "e2e-sandbox-secret"})
        payments.enable_provider(
            "manual", {"instructions": "请转账到微信：shequn-owner，备注订单号。"}
        )
        owner = create_member(
            names["owner"], f"{names['owner']}@example.com", PASSWORD, groups=("admin",)
        )
        create_member(names["transfer"], f"{names['transfer']}@example.com", PASSWORD)
        core = groups.create_group(f"核心会员 {viewport}", key=f"core-{viewport}")
        category = boards.create_category(f"会员专区 {viewport}")
        board = boards.create_board(
            category, f"vip-{viewport}", "核心会员区", "会员专属的团购与活动。"
        )
        permissions.set_board_permissions(
            board.id,
            {
                permissions.group_id("guest"): ("view",),
                permissions.group_id("member"): ("view",),
                core.id: ("view", "read", "start_thread", "reply"),
            },
        )
        db.session.commit()
        tier = services.save_tier(
            owner,
            name="核心会员",
            slug=f"core-{viewport}",
            perks="- 会员区全文与团购价\n- 每月线下跑活动\n- 新品优先试用",
            price_cents=9900,
            period_unit="year",
            period_count=1,
            seats=100,
            group_ids=[core.id],
        )
        lifetime = services.save_tier(
            owner,
            name="终身会员",
            slug=f"life-{viewport}",
            perks="- 核心会员的一切\n- 年会免费",
            price_cents=69900,
            period_unit="lifetime",
            period_count=1,
            group_ids=[core.id],
        )
        thread = posting.create_thread(
            owner, board, f"会员专属：本月团购清单（{viewport}）", OPENING * 3 + "\n\n" + SECRET
        )
        posting.reply(owner, thread, "回复：大米已经到货，今晚开始分。")
        scene = {
            "names": names,
            "thread_id": thread.id,
            "tier_ids": [tier.id, lifetime.id],
            "tier_slug": tier.slug,
            "title": thread.title,
        }
        db.session.remove()
    return scene


def _teardown(live_server, scene: dict) -> None:
    from forum_plugins.membership import services

    from forum.extensions import db
    from forum.models import Member
    from forum.services import plugin_state

    with live_server.app.app_context():
        owner = db.session.query(Member).filter_by(username=scene["names"]["owner"]).one()
        for tier_id in scene["tier_ids"]:
            services.save_tier(owner, services.get_tier(tier_id), active=False)
        plugin_state.disable("membership")
        db.session.remove()


def _buy(page, scene: dict) -> str:
    """From the tiers page: the tier's Join button → the checkout; its public id."""
    card = page.locator(f"#tier-{scene['tier_slug']}")
    with page.expect_navigation():
        card.locator("button[type=submit]").first.click()
    match = re.search(r"/pay/([\w-]{20})$", page.url)
    assert match, page.url
    return match.group(1)


def test_guest_teaser_register_buy_with_sandbox_read(new_context, live_server, viewport, shot):
    scene = _setup(live_server, viewport)
    thread_url = f"/t/{scene['thread_id']}"
    newbie = scene["names"]["newbie"]
    email = f"{newbie}@example.com"
    try:
        page = new_context().new_page()
        shot.watch(page)

        # a guest sees the gated board's titles, and a thread's teaser: title, author, the
        # first lines — not the rest, no replies
        page.goto(f"/b/vip-{viewport}")
        assert page.locator(f"a[href='{thread_url}']").count() == 1
        assert page.locator(".ms-gate").count() == 1
        shot(page, "membership-gated-board-guest")
        page.goto(thread_url)
        main = page.locator("main")
        assert scene["title"] in main.inner_text()
        assert OPENING[:40] in page.locator(".teaser-excerpt").inner_text()
        assert "橙色海豚" not in page.content()
        assert "大米已经到货" not in page.content()
        gate = page.locator(".ms-gate")
        assert "核心会员" in gate.inner_text() and "¥99.00" in gate.inner_text()
        shot(page, "membership-teaser-guest")

        # register from the call to action, confirm the e-mail, sign in
        with page.expect_navigation():
            gate.locator("a.btn-primary").click()
        assert page.url.endswith("/register")
        page.fill("input[name=username]", newbie)
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=confirm]", PASSWORD)
        _submit(page)
        page.goto(live_server.link_in_mail_to(email))
        _sign_in(page, newbie)

        # signed in: the teaser's button leads to the tier on the pricing table
        page.goto(thread_url)
        assert "橙色海豚" not in page.content()
        with page.expect_navigation():
            page.locator(".ms-gate a.btn-primary").click()
        assert "/membership/" in page.url
        card = page.locator(f"#tier-{scene['tier_slug']}")
        price = card.inner_text()
        assert any(s in price for s in ("¥99.00 / year", "¥99.00 / 1 年", "¥99.00 / 年"))
        assert card.locator("li").count() == 3  # the perks
        shot(page, "membership-tiers")

        # buy: checkout → the sandbox → paid
        _buy(page, scene)
        page.check("input[name=provider][value=sandbox]")
        shot(page, "membership-checkout")
        _submit(page, "form.payment-choose")
        assert page.url.endswith("/sandbox")
        shot(page, "membership-sandbox")
        with page.expect_navigation():
            page.locator("form.payment-sandbox button[value=pay]").click()
        assert page.url.endswith("/done")
        shot(page, "membership-paid")

        # the gated thread in full, with its reply
        page.goto(thread_url)
        assert "橙色海豚" in page.locator("#p1 .post-body").inner_text()
        assert page.locator("#p2").count() == 1
        assert page.locator(".ms-gate").count() == 0
        shot(page, "membership-thread-read")

        page.goto("/membership/mine")
        assert page.locator(".ms-sub.is-active").count() == 1
        assert page.locator("a[href='/settings/receipts']").count() == 1
        shot(page, "membership-mine")

        # a second member pays by transfer; the admin confirms it in the manual queue
        other = new_context().new_page()
        shot.watch(other)
        _sign_in(other, scene["names"]["transfer"])
        other.goto("/membership/")
        public_id = _buy(other, scene)
        other.check("input[name=provider][value=manual]")
        _submit(other, "form.payment-choose")
        assert other.url.endswith("/manual")
        assert "shequn-owner" in other.locator("main").inner_text()
        other.fill("textarea[name=note]", "微信转账 99 元，备注了订单号")
        shot(other, "membership-manual-transfer")
        _submit(other, "form[enctype='multipart/form-data']")
        other.goto(thread_url)
        assert "橙色海豚" not in other.content()  # not yet

        admin = new_context().new_page()
        shot.watch(admin)
        _sign_in(admin, scene["names"]["owner"])
        admin.goto("/admin/payments/manual")
        item = admin.locator("li.admin-row", has_text=public_id)
        assert item.count() == 1
        shot(admin, "membership-manual-queue")
        with admin.expect_navigation():
            item.locator("form.inline button[type=submit]").click()
        assert admin.locator("li.admin-row", has_text=public_id).count() == 0

        other.goto(thread_url)
        assert "橙色海豚" in other.locator("#p1 .post-body").inner_text()
        shot(other, "membership-transfer-member-reads")

        # the owner's membership pages, in the admin area
        admin.goto("/membership/admin/tiers")
        assert admin.locator(".admin-row", has_text="核心会员").count() >= 1
        assert admin.locator(".admin-nav a[aria-current=page]").count() == 1
        shot(admin, "membership-admin-tiers")
        admin.goto("/membership/admin/rules")
        assert admin.locator("#dry-run").count() == 1
        shot(admin, "membership-admin-rules")
    finally:
        _teardown(live_server, scene)
