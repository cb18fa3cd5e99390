"""The group-buy plugin's sample content in ``forum demo``."""

from __future__ import annotations

from forum_plugins.groupbuy import demo, services
from forum_plugins.groupbuy.models import Campaign, GroupOrder
from sqlalchemy import func, select

from forum.demo import seed_demo
from forum.models import Board, Member, PaymentOrder


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_demo_has_open_campaigns_with_paid_orders(app, db, enable_plugin, english):
    from forum.services import payments

    enable_plugin("groupbuy")
    payments.enable_provider("sandbox")
    messages: list[str] = []
    seed_demo(progress=messages.append, scale=0.02)
    line = next(m for m in messages if m.startswith("  plugin groupbuy: "))
    joins = sum(len(spec["joins"]) for spec in demo.CAMPAIGNS)
    assert line == (
        f"  plugin groupbuy: 1 group-buy board, {len(demo.CAMPAIGNS)} open campaigns, "
        f"{joins} paid orders (sandbox)"
    )
    board = db.session.execute(select(Board).where(Board.slug == demo.BOARD_SLUG)).scalar_one()
    assert board.thread_kinds == services.KIND and board.name == demo.BOARD_NAME
    campaigns = db.session.execute(select(Campaign).order_by(Campaign.id)).scalars().all()
    assert [c.title for c in campaigns] == [spec["title"] for spec in demo.CAMPAIGNS]
    assert {c.status for c in campaigns} == {"open"}
    leader = db.session.execute(select(Member).where(Member.username == demo.LEADER)).scalar_one()
    assert all(c.thread_id and c.leader_id == leader.id for c in campaigns)
    assert _count(db, GroupOrder, GroupOrder.status == "paid") == joins
    assert _count(db, PaymentOrder, PaymentOrder.status == "paid") >= joins
    rice, berries, gels = campaigns
    # the rice reached its second tier (6 paid): ¥89 now, 4 more for ¥79
    progress = services.progress(rice)
    assert progress.participants == 6 and progress.reached
    assert progress.current_price_cents == 8900 and progress.people_to_next == 4
    assert len(services.tiers_of(rice)) == 3 and len(services.photos_of(rice)) == 2
    # the strawberries: three pickup points, one more person to reach the minimum
    assert len(services.pickup_points_of(berries)) == 3
    assert not services.progress(berries).reached
    # the gels: nearly sold out
    assert gels.stock_left == 2 and gels.stock_total == 10
    client = app.test_client()
    client.set_cookie("lang", "en")
    index = client.get("/groupbuy/")
    assert index.status_code == 200
    text = index.get_data(as_text=True)
    assert all(c.title in text for c in campaigns)
    for campaign in campaigns:
        page = client.get(f"/t/{campaign.thread_id}")
        assert page.status_code == 200
        assert campaign.title in page.get_data(as_text=True)
    page = client.get(f"/t/{rice.thread_id}").get_data(as_text=True)
    assert "groupbuy.css" in page and "¥89.00" in page
