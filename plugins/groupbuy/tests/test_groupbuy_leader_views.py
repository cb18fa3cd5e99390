"""The leader's pages through the test client: the dashboard (orders with their pickup
point, the status filter), the CSV export, marking orders picked up, the message to all,
the commission statement, cancelling, and who may see them (leader and admins only)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from forum.services.spreadsheets import BOM


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def sold(make_campaign, make_member, point_id, pay):
    """An open campaign (pickup at 北门自提点) with two paid orders and one reservation:
    (campaign, [paid orders], reserved order)."""
    from forum_plugins.groupbuy import services

    campaign = make_campaign(
        pickup_points=[("北门自提点", "北路1号")], min_participants="2", commission_percent="10"
    )
    paid = []
    for name, quantity in (("alice", 1), ("bob", 2)):
        order = services.join(
            make_member(name), campaign, quantity=quantity, pickup_point_id=point_id(campaign)
        )
        assert pay(order)
        paid.append(order)
    reserved = services.join(
        make_member("carol"), campaign, quantity=1, pickup_point_id=point_id(campaign)
    )
    return campaign, paid, reserved


def _settle(campaign) -> None:
    from forum_plugins.groupbuy import services

    assert services.settle(campaign, now=campaign.deadline + timedelta(minutes=1))


def test_dashboard_lists_the_orders_with_their_pickup_point(web, leader, sold):
    campaign, paid, reserved = sold
    html = _text(web(leader).get(f"/groupbuy/c/{campaign.id}/manage"))
    assert "alice" in html and "bob" in html and "carol" in html
    assert html.count("北门自提点") >= 3
    assert f'id="order-{paid[1].id}"' in html
    assert "Awaiting payment" in html and "Paid" in html
    only_paid = _text(web(leader).get(f"/groupbuy/c/{campaign.id}/manage?status=paid"))
    assert "alice" in only_paid and "carol" not in only_paid


def test_csv_has_a_byte_order_mark_and_chinese(web, leader, sold):
    campaign, paid, reserved = sold
    response = web(leader).get(f"/groupbuy/c/{campaign.id}/orders.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(BOM.encode("utf-8"))
    text = body.decode("utf-8")
    assert "北门自提点" in text and "\r\n" in text
    assert "alice" in text and "198.00" in text


def test_mark_picked_up_after_success(web, leader, sold, db):
    from forum_plugins.groupbuy.models import GroupOrder

    campaign, paid, reserved = sold
    client = web(leader)
    # not before the deal is on
    html = _text(client.get(f"/groupbuy/c/{campaign.id}/manage"))
    assert 'value="picked_up"' not in html
    _settle(campaign)
    html = _text(client.get(f"/groupbuy/c/{campaign.id}/manage"))
    assert 'value="picked_up"' in html
    for order in paid:
        response = client.post(
            f"/groupbuy/c/{campaign.id}/orders/{order.id}/fulfil", data={"how": "picked_up"}
        )
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"#order-{order.id}")
    db.session.expire_all()
    assert {db.session.get(GroupOrder, o.id).fulfilment for o in paid} == {"picked_up"}
    db.session.refresh(campaign)
    assert campaign.status == "fulfilled"
    assert "Picked up" in _text(client.get(f"/groupbuy/c/{campaign.id}/manage"))


def test_message_all_participants(web, leader, sold, db):
    from forum.models import Notification

    campaign, paid, reserved = sold
    client = web(leader)
    empty = client.post(f"/groupbuy/c/{campaign.id}/message", data={"text": "  "})
    assert empty.status_code == 400 and 'class="error"' in _text(empty)
    response = client.post(
        f"/groupbuy/c/{campaign.id}/message", data={"text": "Pick-up is Saturday 10:00."}
    )
    assert response.status_code == 302
    notes = (
        db.session.execute(db.select(Notification).where(Notification.kind == "groupbuy.message"))
        .scalars()
        .all()
    )
    assert sorted(n.member_id for n in notes) == sorted(o.member_id for o in paid)
    assert "sent to 2 participants" in _text(client.get(f"/groupbuy/c/{campaign.id}/manage"))


def test_commission_statement(web, leader, sold):
    campaign, paid, reserved = sold
    _settle(campaign)  # 3 paid at ¥99 (2 people: tier 2+ → ¥99, nothing to refund)
    html = _text(web(leader).get(f"/groupbuy/c/{campaign.id}/statement"))
    assert "¥297.00" in html  # paid and revenue
    assert "¥29.70" in html  # 10 % commission
    assert "10%" in html
    assert html.count("<tr>") >= 3  # header + two orders
    dashboard = _text(web(leader).get(f"/groupbuy/c/{campaign.id}/manage"))
    assert "¥29.70" in dashboard


def test_only_the_leader_and_admins(web, leader, admin, make_member, sold):
    campaign, paid, reserved = sold
    stranger = web(make_member("stranger"))
    for url in ("manage", "orders.csv", "statement", "edit"):
        assert stranger.get(f"/groupbuy/c/{campaign.id}/{url}").status_code == 403, url
    assert (
        stranger.post(f"/groupbuy/c/{campaign.id}/message", data={"text": "x"}).status_code == 403
    )
    assert (
        stranger.post(
            f"/groupbuy/c/{campaign.id}/orders/{paid[0].id}/fulfil", data={"how": "picked_up"}
        ).status_code
        == 403
    )
    assert (
        stranger.post(f"/groupbuy/c/{campaign.id}/cancel", data={"reason": "x"}).status_code == 403
    )
    assert web().get(f"/groupbuy/c/{campaign.id}/manage").status_code == 302  # sign in
    assert web(admin).get(f"/groupbuy/c/{campaign.id}/manage").status_code == 200


def test_cancel_needs_a_reason_then_refunds(web, leader, sold, db):
    campaign, paid, reserved = sold
    client = web(leader)
    refused = client.post(f"/groupbuy/c/{campaign.id}/cancel", data={"reason": ""})
    assert refused.status_code == 400 and 'class="error"' in _text(refused)
    db.session.refresh(campaign)
    assert campaign.status == "open"
    done = client.post(f"/groupbuy/c/{campaign.id}/cancel", data={"reason": "The farm flooded."})
    assert done.status_code == 302
    db.session.refresh(campaign)
    assert campaign.status == "cancelled"
    for order in paid:
        db.session.refresh(order)
        assert order.refund_due_cents == order.amount_cents
    html = _text(client.get(f"/t/{campaign.thread_id}"))
    assert "The farm flooded." in html


def test_cancel_after_success_is_refused(web, leader, sold, db):
    campaign, paid, reserved = sold
    _settle(campaign)
    response = web(leader).post(f"/groupbuy/c/{campaign.id}/cancel", data={"reason": "Oops"})
    assert response.status_code == 302
    db.session.refresh(campaign)
    assert campaign.status == "succeeded"


def test_edit_keeps_typed_input_and_refuses_price_changes_after_a_join(web, leader, sold):
    campaign, paid, reserved = sold
    client = web(leader)
    page = _text(client.get(f"/groupbuy/c/{campaign.id}/edit"))
    assert 'value="Organic rice 5kg"' in page and "readonly" in page
    response = client.post(
        f"/groupbuy/c/{campaign.id}/edit",
        data={
            "title": "Organic rice 10kg",
            "description": "Now bigger.",
            "original_price": "129.00",
            "min_participants": "2",
            "stock": "20",
            "per_member_limit": "3",
            "deadline": "",
            "pickup": "y",
            "tier_people_0": "2",
            "tier_price_0": "50",
            "point_name_0": "北门自提点",
            "point_address_0": "北路1号",
        },
    )
    assert response.status_code == 400
    html = _text(response)
    assert 'value="Organic rice 10kg"' in html and 'value="50"' in html
    assert 'class="error"' in html
