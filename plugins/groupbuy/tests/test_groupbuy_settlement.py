"""Settlement at the deadline: success at a tier with refunds of the difference, failure
with full refunds, exactly once, cancelling, fulfilment (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from forum_plugins.groupbuy import services

from forum.extensions import db
from forum.models import Notification, PaymentOrder, PaymentRefund
from forum.services.errors import ServiceError


def _payment(order) -> PaymentOrder:
    return db.session.execute(
        db.select(PaymentOrder).where(PaymentOrder.public_id == order.payment_public_id)
    ).scalar_one()


def _refunds(order) -> list[PaymentRefund]:
    return list(
        db.session.execute(
            db.select(PaymentRefund).where(PaymentRefund.order_id == _payment(order).id)
        ).scalars()
    )


def _join_and_pay(campaign, members, pay, point, quantity=1):
    orders = []
    for member in members:
        order = services.join(member, campaign, quantity=quantity, pickup_point_id=point)
        assert pay(order)
        orders.append(order)
    return orders


@pytest.fixture
def three_tier(make_campaign):
    """2+ ¥99, 5+ ¥89, 10+ ¥79; minimum 3; stock 20."""
    return make_campaign(min_participants="3")


def test_success_at_tier_two_refunds_the_difference(three_tier, make_member, pay, point_id,
                                                    clock):  # fmt: skip
    campaign = three_tier
    members = [make_member() for _i in range(6)]
    orders = _join_and_pay(campaign, members[:5], pay, point_id(campaign))
    unpaid = services.join(members[5], campaign, quantity=1, pickup_point_id=point_id(campaign))
    db.session.refresh(campaign)
    assert campaign.participants == 5 and campaign.stock_left == 14
    # the first paid ¥99 (one would make it 1 < 2: first tier), the fifth's place is tier 2
    assert [o.unit_price_cents for o in orders] == [9900, 9900, 9900, 9900, 8900]
    assert not services.settle(campaign, now=clock.now)  # before the deadline: nothing
    clock.advance(days=3)
    assert services.settle(campaign, now=clock.now) is True
    db.session.refresh(campaign)
    assert campaign.status == "succeeded" and campaign.final_price_cents == 8900
    for order in orders:
        db.session.refresh(order)
        assert order.refund_due_cents == order.amount_cents - 8900
        assert order.refunded_cents == order.refund_due_cents
        refunds = _refunds(order)
        if order.refund_due_cents:
            assert [(r.amount_cents, r.status) for r in refunds] == [(1000, "done")]
            assert _payment(order).status == "partially_refunded"
        else:
            assert refunds == []
    db.session.refresh(unpaid)
    assert unpaid.status == "released"
    assert campaign.stock_left == 15
    kinds = set(db.session.execute(db.select(Notification.kind)).scalars())
    assert "groupbuy.succeeded" in kinds
    # settling again does nothing
    assert services.settle(campaign, now=clock.now) is False
    assert services.settle_due(now=clock.now) == 0
    assert services.run_refunds() == 0
    assert sum(len(_refunds(o)) for o in orders) == 4


def test_failure_refunds_in_full(three_tier, make_member, pay, point_id, clock):
    campaign = three_tier
    orders = _join_and_pay(campaign, [make_member(), make_member()], pay, point_id(campaign), 2)
    clock.advance(days=3)
    assert services.settle_due(now=clock.now) == 1
    db.session.refresh(campaign)
    assert campaign.status == "failed" and campaign.final_price_cents is None
    for order in orders:
        db.session.refresh(order)
        assert order.refunded_cents == order.refund_due_cents == order.amount_cents == 19800
        assert _payment(order).status == "refunded"
        assert len(_refunds(order)) == 1
    kinds = set(db.session.execute(db.select(Notification.kind)).scalars())
    assert "groupbuy.failed" in kinds
    assert services.settle_due(now=clock.now) == 0
    assert services.run_refunds() == 0


def test_cancel_open_refunds_everyone(three_tier, make_member, leader, pay, point_id, english):
    campaign = three_tier
    orders = _join_and_pay(campaign, [make_member(), make_member()], pay, point_id(campaign))
    reserved = services.join(
        make_member(), campaign, quantity=1, pickup_point_id=point_id(campaign)
    )
    with pytest.raises(ServiceError) as caught:
        services.cancel_campaign(leader, campaign, "  ")
    assert caught.value.field == "reason"
    services.cancel_campaign(leader, campaign, "The supplier let us down")
    db.session.refresh(campaign)
    assert campaign.status == "cancelled" and campaign.cancel_reason
    for order in orders:
        db.session.refresh(order)
        assert order.refunded_cents == order.amount_cents
    db.session.refresh(reserved)
    assert reserved.status == "released" and campaign.stock_left == 18
    with pytest.raises(ServiceError):
        services.cancel_campaign(leader, campaign, "again")


def test_cancel_draft(make_campaign, leader):
    campaign = make_campaign(open=False)
    services.cancel_campaign(leader, campaign, "Changed my mind")
    assert campaign.status == "cancelled"


def test_cancel_after_success_refused(three_tier, make_member, leader, pay, point_id, clock,
                                      english):  # fmt: skip
    campaign = three_tier
    _join_and_pay(campaign, [make_member() for _i in range(3)], pay, point_id(campaign))
    clock.advance(days=3)
    services.settle(campaign, now=clock.now)
    with pytest.raises(ServiceError) as caught:
        services.cancel_campaign(leader, campaign, "too late")
    assert "no longer be cancelled" in caught.value.message
    db.session.refresh(campaign)
    assert campaign.status == "succeeded"


def test_fulfilment(three_tier, make_member, leader, pay, point_id, clock, english):
    campaign = three_tier
    orders = _join_and_pay(campaign, [make_member() for _i in range(3)], pay, point_id(campaign))
    with pytest.raises(ServiceError):
        services.mark_fulfilled(leader, orders[0], "picked_up")  # not succeeded yet
    clock.advance(days=3)
    services.settle(campaign, now=clock.now)
    with pytest.raises(ServiceError):
        services.mark_fulfilled(leader, orders[0], "teleported")
    services.mark_fulfilled(leader, orders[0], "picked_up")
    services.mark_fulfilled(leader, orders[1], "shipped")
    db.session.refresh(campaign)
    assert campaign.status == "succeeded"
    services.mark_fulfilled(leader, orders[2], "picked_up")
    db.session.refresh(campaign)
    assert campaign.status == "fulfilled"
    rows, pages = services.leader_orders(leader, campaign, status="paid")
    assert {o.fulfilment for o in rows} == {"picked_up", "shipped"} and pages == 1


def test_refund_retried_when_the_gateway_is_down(three_tier, make_member, pay, point_id, clock,
                                                 monkeypatch):  # fmt: skip
    from forum import payments as registry

    campaign = three_tier
    orders = _join_and_pay(campaign, [make_member()], pay, point_id(campaign))
    provider = registry.get_provider("sandbox")
    real = provider.refund

    def down(*args, **kwargs):
        raise ConnectionError("gateway down")

    monkeypatch.setattr(provider, "refund", down)
    clock.advance(days=3)
    assert services.settle(campaign, now=clock.now)
    db.session.refresh(orders[0])
    assert orders[0].refunded_cents == 0 and orders[0].refund_due_cents == 9900
    monkeypatch.setattr(provider, "refund", real)
    assert services.run_refunds() == 1
    db.session.refresh(orders[0])
    assert orders[0].refunded_cents == 9900
    assert len(_refunds(orders[0])) == 1
    assert services.run_refunds() == 0
