"""In a real browser, on a phone: a leader starts a three-tier group-buy through the composer
form (2+ ¥99, 3+ ¥89, 6+ ¥79), saves the draft and opens it; three members join and pay
with the sandbox through the pages; the deadline passes (moved into the past in the
database) and the settlement runs: the group-buy succeeds at the second tier (¥89), the
two who paid ¥99 see the ¥10 difference refunded on their receipts page, the third paid
¥89 and gets nothing back. A second group-buy that one member joins does not reach its
minimum of three: it fails and that member is refunded in full.

Uses the core's browser fixtures (``tests/e2e/conftest.py``: a live forum on SQLite with
CSRF on, Debian's chromium, PAYMENTS_SANDBOX on), on the phone viewport only; the plugin is
switched on for this test and off at the end.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.e2e.conftest import *  # noqa: F403 (live_server, browser, new_context, shot)
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_journeys import _sign_in, _submit

pytestmark = pytest.mark.e2e

TITLE = "五常有机大米 5kg（拼团）"
FAILING = "丹东冬季草莓 3 斤"
BUYERS = ("gb-小林", "gb-kiki", "gb-大伟")


@pytest.fixture
def viewport() -> str:
    """This journey runs on the phone only."""
    return "phone"


def _setup(live_server) -> dict:
    from forum_plugins.groupbuy import services

    from forum.extensions import db
    from forum.models.base import utcnow
    from forum.services import boards, payments, plugin_state
    from forum.services.members import create_member

    with live_server.app.app_context():
        plugin_state.enable("groupbuy")
        payments.enable_provider("sandbox", {"secret": "e2e-sandbox-secret"})
        leader = create_member("gb-团长", "gb-leader@example.com", PASSWORD, groups=("moderator",))
        for i, name in enumerate(BUYERS):
            create_member(name, f"gb-buyer{i}@example.com", PASSWORD)
        category = boards.create_category("社区团购")
        board = boards.create_board(
            category, "gb-tuangou", "跑团团购", "人越多越便宜，不成团全额退款。",
            thread_kinds="discussion,groupbuy",
        )  # fmt: skip
        failing = services.create_campaign(
            leader,
            board,
            services.CampaignInput(
                title=FAILING,
                description="当天采摘，冷链到自提点。",
                original_price="88",
                tiers=[("3", "69")],
                min_participants="3",
                stock="30",
                per_member_limit="2",
                deadline=utcnow() + timedelta(days=2),
                pickup=True,
                pickup_points=[("世纪公园 3 号门", "锦绣路 1001 号")],
            ),
        )
        failing = services.open_campaign(leader, failing)
        scene = {"board_id": board.id, "failing_thread": failing.thread_id}
        db.session.remove()
    return scene


def _settle_now(live_server, thread_ids: list[int]) -> None:
    """Move the campaigns' deadlines into the past and run the every-minute job."""
    from forum_plugins.groupbuy.models import Campaign

    from forum.extensions import db
    from forum.jobs import run_periodic_now
    from forum.models.base import utcnow

    with live_server.app.app_context():
        db.session.execute(
            db.update(Campaign)
            .where(Campaign.thread_id.in_(thread_ids))
            .values(deadline=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
        assert run_periodic_now("groupbuy-settle") == "ran"
        db.session.remove()


def _campaign_of(live_server, thread_id: int) -> dict:
    from forum_plugins.groupbuy.models import Campaign, GroupOrder

    from forum.extensions import db

    with live_server.app.app_context():
        c = db.session.execute(db.select(Campaign).filter_by(thread_id=thread_id)).scalar_one()
        orders = db.session.execute(db.select(GroupOrder).filter_by(campaign_id=c.id)).scalars()
        found = {
            "status": c.status,
            "final": c.final_price_cents,
            "refunds": sorted((o.amount_cents, o.refunded_cents) for o in orders),
        }
        db.session.remove()
    return found


def _teardown(live_server) -> None:
    from forum.extensions import db
    from forum.services import plugin_state

    with live_server.app.app_context():
        plugin_state.disable("groupbuy")
        db.session.remove()


def _join_and_pay(page, thread_url: str, shot=None) -> None:
    """On the campaign's page: quantity 1 at the first pickup point → checkout → sandbox."""
    page.goto(thread_url)
    form = page.locator("form.gb-join-form")
    form.locator("input[name=quantity]").fill("1")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert re.search(r"/pay/[\w-]{20}$", page.url), page.url
    page.check("input[name=provider][value=sandbox]")
    _submit(page, "form.payment-choose")
    assert page.url.endswith("/sandbox")
    with page.expect_navigation():
        page.locator("form.payment-sandbox button[value=pay]").click()
    assert page.url.endswith("/done")
    if shot is not None:
        shot(page, "groupbuy-paid")


def _fill_composer(page) -> None:
    page.fill("input[name=title]", TITLE)
    page.fill(
        "textarea[name=description]", "今年新米，产地直发。2 人成团 ¥99，3 人 ¥89，6 人 ¥79。"
    )
    page.fill("input[name=original_price]", "129")
    page.fill("input[name=stock]", "30")
    page.fill("input[name=min_participants]", "2")
    page.fill("input[name=per_member_limit]", "3")
    for i, (people, price) in enumerate((("2", "99"), ("3", "89"), ("6", "79"))):
        page.fill(f"input[name=tier_people_{i}]", people)
        page.fill(f"input[name=tier_price_{i}]", price)
    deadline = page.evaluate(
        "() => { const d = new Date(Date.now() + 3 * 86400000);"
        " return d.toISOString().slice(0, 10) + 'T20:00'; }"
    )
    page.fill("input[name=deadline]", deadline)
    page.check("input[name=pickup]")
    page.fill("input[name=point_name_0]", "奥森南门")
    page.fill("input[name=point_address_0]", "科荟路 奥林匹克森林公园南门")
    page.fill("input[name=commission_percent]", "5")


def test_three_tier_group_buy_succeeds_at_tier_two_and_refunds(
    new_context, live_server, viewport, shot
):
    scene = _setup(live_server)
    try:
        leader = new_context().new_page()
        shot.watch(leader)
        _sign_in(leader, "gb-团长")

        # the composer: three tiers, a pickup point → a draft → opened
        leader.goto(f"/groupbuy/new?board={scene['board_id']}")
        _fill_composer(leader)
        shot(leader, "groupbuy-composer")
        _submit(leader, "form#campaign-form")
        assert re.search(r"/groupbuy/c/\d+/manage$", leader.url), leader.url
        shot(leader, "groupbuy-draft-dashboard")
        with leader.expect_navigation():
            leader.locator("form[action$='/open'] button[type=submit]").click()
        match = re.search(r"/t/(\d+)", leader.url)
        assert match, leader.url
        thread_url = f"/t/{match.group(1)}"
        head = leader.locator(".gb-head")
        assert TITLE in leader.locator("main").inner_text()
        assert head.locator(".gb-tiers tbody tr").count() == 3
        assert "¥129.00" in head.locator(".gb-original").inner_text()

        # three members join and pay with the sandbox
        buyers = []
        for n, name in enumerate(BUYERS):
            page = new_context().new_page()
            shot.watch(page)
            _sign_in(page, name)
            if n == 0:
                page.goto(thread_url)
                shot(page, "groupbuy-campaign-before-join")
            _join_and_pay(page, thread_url, shot if n == 0 else None)
            buyers.append(page)
        page = buyers[-1]
        page.goto(thread_url)
        progress = page.locator(".gb-progress-text").inner_text()
        assert "3" in progress and "¥79.00" in progress  # 3 joined; 3 more for ¥79
        assert page.locator(".gb-tiers tr.is-current").inner_text().startswith("3")
        assert "¥89.00" in page.locator(".gb-mine").inner_text()
        shot(page, "groupbuy-campaign-three-joined")
        page.goto("/groupbuy/")
        cards = page.locator(".gb-grid .gb-card")
        assert cards.count() == 2 and cards.filter(has_text=TITLE).count() == 1
        shot(page, "groupbuy-list")

        # the first buyer also joins the strawberries, which nobody else does
        failing_url = f"/t/{scene['failing_thread']}"
        _join_and_pay(buyers[0], failing_url)

        # the deadline passes: the settlement runs
        _settle_now(live_server, [int(match.group(1)), scene["failing_thread"]])
        won = _campaign_of(live_server, int(match.group(1)))
        assert won["status"] == "succeeded" and won["final"] == 8900
        assert won["refunds"] == [(8900, 0), (9900, 1000), (9900, 1000)]
        lost = _campaign_of(live_server, scene["failing_thread"])
        assert lost["status"] == "failed" and lost["refunds"] == [(6900, 6900)]

        # the campaign page: succeeded at ¥89, the member's refund of the difference
        first = buyers[0]
        first.goto(thread_url)
        head = first.locator(".gb-head")
        assert "¥89.00" in head.locator(".gb-price-big").inner_text()
        assert "¥10.00" in head.locator(".gb-refund").inner_text()
        shot(first, "groupbuy-campaign-succeeded")

        # every member's receipts: ¥10 back for the two who paid ¥99, nothing for the ¥89
        for n, page in enumerate(buyers):
            page.goto("/settings/receipts")
            rows = page.locator(".payment-receipts li.admin-row", has_text=TITLE)
            assert rows.count() == 1
            text = rows.inner_text()
            if n < 2:
                assert "¥99.00" in text and "¥10.00" in text, text
            else:
                assert "¥89.00" in text and "¥10.00" not in text, text
        # the failed one, refunded in full
        first.goto("/settings/receipts")
        failed = first.locator(".payment-receipts li.admin-row", has_text=FAILING)
        assert failed.count() == 1 and failed.inner_text().count("¥69.00") == 2
        shot(first, "groupbuy-receipts")
        first.goto(failing_url)
        assert first.locator(".gb-status-failed").count() == 1
        shot(first, "groupbuy-campaign-failed")

        # the leader's dashboard after the deal
        leader.goto(leader.url.split("/t/")[0] + thread_url)
        with leader.expect_navigation():
            leader.locator(".gb-manage a.btn").click()
        assert leader.locator(".gb-stats").count() == 1
        shot(leader, "groupbuy-leader-dashboard")
    finally:
        _teardown(live_server)
