"""In a real browser, on a phone (and a desktop): a seller posts a camera with two photos and
typed fields (brand, shutter count) → another member filters the market by category,
brand, price and city and finds it → contacts the seller by private message (pre-filled
with the listing) → the seller marks it sold to that member → the buyer confirms → both
rate the trade → the seller's trust card on the listing page and their ratings page show
the trade and the positive rating. And a scam: the buyer of another trade reports it with
evidence and two screenshots; a moderator finds it in the queue and on the scam reports
page, verifies the negative rating, freezes the seller (their other listing leaves the
market) and upholds the report.

Uses the core's browser fixtures (``tests/e2e/conftest.py``: a live forum on SQLite with
CSRF on, Debian's chromium); the plugin is switched on for this test and off at the end.
The category and its fields are seeded (the admin pages have their own tests).
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from tests.e2e.conftest import *  # noqa: F403 (live_server, browser, viewport, new_context, shot)
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_journeys import _sign_in, _submit

pytestmark = pytest.mark.e2e


def _open_market(viewport: str, roles: dict[str, tuple], slug: str, name: str) -> tuple:
    """Inside an app context: the plugin on, a member per role (``{role: groups}``, named
    ``<viewport>-<role>``) and a listings board ``<slug>-<viewport>``. → (members, board)."""
    from forum.services import boards, plugin_state
    from forum.services.members import create_member

    plugin_state.enable("classifieds")
    plugin_state.save_settings("classifieds", {"daily_limit": "20"})
    made = {}
    for role, groups in roles.items():
        username = f"{viewport}-{role}"
        made[role] = create_member(username, f"{username}@example.com", PASSWORD, groups=groups)
    category = boards.create_category(f"{name} {viewport}")
    board = boards.create_board(
        category, f"{slug}-{viewport}", f"{name} {viewport}", thread_kinds="listing"
    )
    return made, board


def _setup(live_server, viewport: str) -> dict:
    from forum_plugins.classifieds import services

    from forum.extensions import db

    roles = {"seller": (), "buyer": (), "admin": ("admin",)}
    names = {role: f"{viewport}-{role}" for role in roles}
    with live_server.app.app_context():
        made, board = _open_market(viewport, roles, "market", "二手交易")
        seller, admin = made["seller"], made["admin"]
        cameras = services.save_category(admin, name=f"相机 {viewport}", position=1)
        services.save_field(
            admin, cameras, key="brand", label="品牌", type="select", required=True,
            in_list=True, options_text="Fuji\nSony\nCanon", position=1,
        )  # fmt: skip
        services.save_field(
            admin, cameras, key="shots", label="快门次数", type="number", unit="次",
            in_list=True, position=2,
        )  # fmt: skip
        # another seller's camera the filters must leave out (another brand, too dear)
        other = services.ListingInput(
            title=f"Sony A7 III {viewport}", body="全画幅，成色一般。", category_id=cameras.id,
            price="9000", condition="good", city="上海", pickup=True, shipping=True,
            values={"brand": "Sony", "shots": "40000"}, image_ids=[],
        )  # fmt: skip
        services.create_listing(admin, board, other)
        scene = {
            "names": names,
            "board": board.slug,
            "category_id": cameras.id,
            "seller_id": seller.id,
        }
        db.session.remove()
    return scene


def _press(page, selector: str) -> None:
    """Click the button ``selector`` and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator(selector).click()


def _photo(color) -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (400, 300), color).save(data, "PNG")
    return data.getvalue()


def test_post_find_contact_sell_confirm_rate_trust(new_context, live_server, viewport, shot):
    scene = _setup(live_server, viewport)
    names = scene["names"]
    title = f"富士 X100V 银色 {viewport}"
    try:
        # -- the seller posts a listing with two photos and typed fields --------------------
        seller = new_context().new_page()
        shot.watch(seller)
        _sign_in(seller, names["seller"])
        seller.goto(f"/market/new?board={scene['board']}&category={scene['category_id']}")
        form = seller.locator("form#listing-form")
        form.locator("input[name=title]").fill(title)
        form.locator("textarea[name=body]").fill("2023 年购入，快门 3000 次，盒说全。")
        form.locator("input[name=price]").fill("6800")
        form.locator("select[name=condition]").select_option("like_new")
        form.locator("input[name=city]").fill("上海")
        form.locator("select[name=f_brand]").select_option("Fuji")
        form.locator("input[name=f_shots]").fill("3000")
        form.locator("input[name=images]").set_input_files(
            files=[
                {"name": "front.png", "mimeType": "image/png", "buffer": _photo((200, 200, 210))},
                {"name": "back.png", "mimeType": "image/png", "buffer": _photo((60, 60, 70))},
            ]
        )
        shot(seller, "classifieds-listing-form-filled")
        _press(seller, "form#listing-form button.btn-primary")
        match = re.search(r"/t/(\d+)", seller.url)
        assert match, (seller.url, seller.locator(".error, .flash").all_inner_texts())
        thread_id = int(match.group(1))
        head = seller.locator("main")
        assert head.locator("img[src*='/uploads/']").count() >= 2
        assert "6,800" in head.inner_text()
        shot(seller, "classifieds-listing-posted")

        # -- another member filters the market and finds it -------------------------------
        buyer = new_context().new_page()
        shot.watch(buyer)
        _sign_in(buyer, names["buyer"])
        buyer.goto("/market")
        # the category's tab, then its own fields in the filters
        _press(buyer, f".mk-tabs a[href='/market?category={scene['category_id']}']")
        filters = buyer.locator("form.mk-filters")
        if filters.locator("details.mk-more").get_attribute("open") is None:
            filters.locator("details.mk-more > summary").click()
        filters.locator("select[name=f_brand]").select_option("Fuji")
        filters.locator("input[name=price_min]").fill("5000")
        filters.locator("input[name=price_max]").fill("8000")
        filters.locator("input[name=city]").fill("上海")
        shot(buyer, "classifieds-market-filters")
        _press(buyer, "form.mk-filters .mk-more button[type=submit]")
        assert "f_brand=Fuji" in buyer.url
        cards = buyer.locator(f"a[href='/t/{thread_id}']")
        assert cards.count() >= 1
        assert buyer.locator(f"text=Sony A7 III {viewport}").count() == 0
        shot(buyer, "classifieds-market-filtered")
        with buyer.expect_navigation():
            cards.first.click()
        assert f"/t/{thread_id}" in buyer.url

        # -- contacts the seller by private message -----------------------------------------
        with buyer.expect_navigation():
            buyer.locator(f"a[href='/market/{thread_id}/contact']").first.click()
        body = buyer.locator("textarea[name=body]")
        assert title in body.input_value()
        body.fill(body.input_value() + "\n周六下午可以在人民广场面交吗？")
        shot(buyer, "classifieds-contact")
        _submit(buyer, "form:has(textarea[name=body])")
        assert "/messages/" in buyer.url
        assert "人民广场" in buyer.locator("main").inner_text()

        # -- the seller marks it sold to that member ---------------------------------------
        seller.goto(f"/t/{thread_id}")
        with seller.expect_navigation():
            seller.locator(f"a[href='/market/{thread_id}/sold']").first.click()
        seller.locator("input[name=buyer]").fill(names["buyer"])
        _submit(seller, "form:has(input[name=buyer])")
        match = re.search(r"/market/trades/(\d+)", seller.url)
        assert match, seller.url
        trade_id = int(match.group(1))
        assert seller.locator(".ct-wait").count() == 1
        shot(seller, "classifieds-trade-waiting")

        # -- the buyer confirms (from their market page) -----------------------------------
        buyer.goto("/market/mine")
        assert buyer.locator("#to-confirm").count() == 1
        shot(buyer, "classifieds-mine-to-confirm")
        with buyer.expect_navigation():
            buyer.locator(f"#to-confirm a[href='/market/trades/{trade_id}']").click()
        question = buyer.locator(".ct-question").inner_text()
        assert title in question and "6,800" in question
        shot(buyer, "classifieds-trade-confirm")
        _submit(buyer, f"form[action='/market/trades/{trade_id}/confirm']")
        assert buyer.locator(".ct-rate-form").count() == 1

        # -- both rate -------------------------------------------------------------------
        buyer.locator(".ct-rate-form input[name=score][value='1']").check()
        buyer.locator(".ct-rate-form textarea[name=comment]").fill("东西和描述一致，卖家很爽快。")
        shot(buyer, "classifieds-rate-form")
        _submit(buyer, ".ct-rate-form")
        assert buyer.locator(".ct-rate-form").count() == 0
        assert "卖家很爽快" in buyer.locator("#ratings").inner_text()

        seller.reload()
        seller.locator(".ct-rate-form input[name=score][value='1']").check()
        seller.locator(".ct-rate-form textarea[name=comment]").fill("准时付款，沟通顺畅。")
        _submit(seller, ".ct-rate-form")
        assert seller.locator("#ratings .ct-rating").count() == 2
        # the seller answers the buyer's rating
        reply = seller.locator(".ct-reply-form")
        reply.locator("textarea[name=reply]").fill("谢谢，用得开心！")
        _submit(seller, ".ct-reply-form")
        assert "用得开心" in seller.locator("#ratings").inner_text()
        shot(seller, "classifieds-trade-rated")

        # -- the seller's trust card shows the trade and the positive rating ---------------
        buyer.goto(f"/t/{thread_id}")
        fact = buyer.locator(".mk-head .trust-fact, .trust-card .trust-fact", has_text="100%").first
        assert re.search(r"\b1\b.*100%", fact.inner_text()), fact.inner_text()
        shot(buyer, "classifieds-listing-trust-card")
        buyer.goto(f"/market/u/{names['seller']}")
        summary = buyer.locator(".ct-summary-line").inner_text()
        assert "1" in summary and "100%" in summary
        assert "卖家很爽快" in buyer.locator("#ratings").inner_text()
        shot(buyer, "classifieds-seller-ratings")
    finally:
        from forum.services import plugin_state

        with live_server.app.app_context():
            plugin_state.disable("classifieds")


def _scam_setup(live_server, viewport: str) -> dict:
    from forum_plugins.classifieds import services
    from forum_plugins.classifieds.models import Listing

    from forum.extensions import db

    roles = {"shady": (), "victim": (), "warden": ("moderator",)}
    names = {role: f"{viewport}-{role}" for role in roles}
    with live_server.app.app_context():
        made, board = _open_market(viewport, roles, "flea", "闲置")
        seller, buyer = made["shady"], made["victim"]

        def listing(title: str, price: str):
            data = services.ListingInput(
                title=title, body="全新未拆封，顺丰包邮。", category_id=None, price=price,
                condition="new", city="深圳", pickup=False, shipping=True, values={},
                image_ids=[],
            )  # fmt: skip
            thread = services.create_listing(seller, board, data)
            return db.session.get(Listing, thread.id)

        sold = listing(f"AirPods Pro 2 {viewport}", "999")
        still = listing(f"iPad mini 6 {viewport}", "2600")
        trade = services.mark_sold(seller, sold, buyer.username)
        services.confirm_trade(buyer, trade)
        rating = services.rate(buyer, trade, -1, "付款后一直不发货，也不回消息。")
        scene = {
            "names": names,
            "trade_id": trade.id,
            "rating_id": rating.id,
            "still_id": still.thread_id,
        }
        db.session.remove()
    return scene


def test_scam_report_with_photos_then_moderators_freeze_and_verify(
    new_context, live_server, viewport, shot
):
    scene = _scam_setup(live_server, viewport)
    names, trade_id = scene["names"], scene["trade_id"]
    try:
        # -- the buyer reports the trade with evidence and two screenshots -----------------
        buyer = new_context().new_page()
        shot.watch(buyer)
        _sign_in(buyer, names["victim"])
        buyer.goto(f"/market/trades/{trade_id}")
        with buyer.expect_navigation():
            buyer.locator(".ct-scam-link").click()
        form = buyer.locator("form.ct-scam-form")
        form.locator("textarea[name=evidence]").fill(
            "5 月 3 日付款 999 元，卖家至今未发货，已拉黑我。"
        )
        form.locator("input[name=images]").set_input_files(
            files=[
                {"name": "chat.png", "mimeType": "image/png", "buffer": _photo((240, 240, 240))},
                {"name": "pay.png", "mimeType": "image/png", "buffer": _photo((20, 160, 90))},
            ]
        )
        shot(buyer, "classifieds-scam-form")
        _press(buyer, "form.ct-scam-form button[type=submit]")
        assert buyer.locator(".ct-reported").count() == 1
        assert buyer.locator(".ct-scam-link").count() == 0
        buyer.goto("/market")
        assert buyer.locator(f"a[href='/t/{scene['still_id']}']").count() >= 1

        from forum_plugins.classifieds.models import ScamReport
        from sqlalchemy import select

        from forum.extensions import db

        with live_server.app.app_context():
            report = db.session.execute(
                select(ScamReport).where(ScamReport.trade_id == trade_id)
            ).scalar_one()
            case_id, report_id = report.case_id, report.id
            db.session.remove()

        # -- a moderator sees it in the queue and on the scam reports page -----------------
        mod = new_context().new_page()
        shot.watch(mod)
        _sign_in(mod, names["warden"])
        mod.goto("/admin/queue")
        assert mod.locator(f"#case-{case_id}").count() == 1
        mod.goto("/market/admin/scams")
        card = mod.locator(f"#scam-{report_id}")
        assert "未发货" in card.locator(".ct-evidence").inner_text()
        photos = card.locator(".ct-thumbs img")
        assert photos.count() == 2
        photos.first.scroll_into_view_if_needed()
        assert photos.first.evaluate("img => img.complete && img.naturalWidth") == 400
        shot(mod, "classifieds-admin-scams")

        # verify the buyer's negative rating, freeze the seller
        _press(mod, f"#rating-{scene['rating_id']} button[value=verify]")
        card = mod.locator(f"#scam-{report_id}")
        assert card.locator(f"#rating-{scene['rating_id']} .ct-verified").count() == 1
        card.locator("input[name=reason]").fill("付款截图与聊天记录一致")
        _press(mod, f"#scam-{report_id} button[value=freeze]")
        assert mod.locator(f"#scam-{report_id} .ct-frozen").count() == 1
        _press(mod, f"#scam-{report_id} button[value=uphold]")
        assert mod.locator(f"#scam-{report_id}").count() == 0  # no longer open
        shot(mod, "classifieds-admin-scams-handled")

        # the seller's other listing has left the market; the verified rating shows
        buyer.goto("/market")
        assert buyer.locator(f"a[href='/t/{scene['still_id']}']").count() == 0
        buyer.goto(f"/market/u/{names['shady']}")
        assert buyer.locator(".ct-rating .ct-verified").count() == 1
        shot(buyer, "classifieds-ratings-verified")
    finally:
        from forum.services import plugin_state

        with live_server.app.app_context():
            plugin_state.disable("classifieds")
