"""Real concurrency (PostgreSQL only, through forum.testing.race): no overselling, one live
order per member, settlement and refunds exactly once."""

from __future__ import annotations

import pytest
from forum_plugins.groupbuy import services
from forum_plugins.groupbuy.models import Campaign, GroupOrder

from forum.extensions import db
from forum.models import Member, PaymentOrder, PaymentRefund
from forum.testing import race


@pytest.fixture(autouse=True)
def _postgres_only(database_kind):
    if database_kind != "postgres":
        pytest.skip("real concurrency needs PostgreSQL")


def _campaign(campaign_id: int) -> Campaign:
    return db.session.get(Campaign, campaign_id)


def test_sixty_joiners_on_stock_twenty(app, make_campaign, make_member, point_id, english):
    campaign = make_campaign(stock="20", per_member_limit="1", min_participants="1")
    cid, pid = campaign.id, point_id(campaign)
    ids = [make_member(f"buyer{i}").id for i in range(60)]

    def work(i):
        member = db.session.get(Member, ids[i])
        return services.join(member, _campaign(cid), quantity=1, pickup_point_id=pid).id

    results = race(app, 60, work)
    ok = [v for outcome, v in results if outcome == "ok"]
    refused = [v for outcome, v in results if outcome == "refused"]
    assert len(ok) == 20 and len(refused) == 40, results
    assert all("sold out" in e.message for e in refused)
    db.session.expire_all()
    c = _campaign(cid)
    assert c.stock_left == 0
    reserved = db.session.execute(
        db.select(db.func.count()).select_from(GroupOrder).where(GroupOrder.status == "reserved")
    ).scalar_one()
    assert reserved == 20
    payments = db.session.execute(
        db.select(db.func.count())
        .select_from(PaymentOrder)
        .where(PaymentOrder.plugin == "groupbuy")
    ).scalar_one()
    assert payments == 20


def test_one_member_joining_ten_times_at_once(app, make_campaign, make_member, point_id):
    campaign = make_campaign(per_member_limit="2")
    cid, pid = campaign.id, point_id(campaign)
    mid = make_member("eager").id

    def work(_i):
        member = db.session.get(Member, mid)
        return services.join(member, _campaign(cid), quantity=1, pickup_point_id=pid).id

    results = race(app, 10, work)
    assert all(outcome in ("ok", "refused") for outcome, _v in results), results
    ids = {v for outcome, v in results if outcome == "ok"}
    assert len(ids) == 1
    db.session.expire_all()
    live = db.session.execute(
        db.select(db.func.count())
        .select_from(GroupOrder)
        .where(GroupOrder.member_id == mid, GroupOrder.status.in_(("reserved", "paid")))
    ).scalar_one()
    assert live == 1
    assert _campaign(cid).stock_left == 19


def _refund_count() -> dict[int, int]:
    rows = db.session.execute(
        db.select(PaymentRefund.order_id, db.func.count()).group_by(PaymentRefund.order_id)
    ).all()
    return dict(rows)


def _paid_campaign(make_campaign, make_member, pay, point_id, people: int, minimum: str):
    campaign = make_campaign(min_participants=minimum)
    for _i in range(people):
        order = services.join(
            make_member(), campaign, quantity=1, pickup_point_id=point_id(campaign)
        )
        assert pay(order)
    return campaign


def test_settlement_twice_at_once_refunds_once(app, make_campaign, make_member, pay, point_id,
                                               clock):  # fmt: skip
    campaign = _paid_campaign(make_campaign, make_member, pay, point_id, 6, "10")  # fails
    cid = campaign.id
    clock.advance(days=3)
    when = clock.now

    def work(_i):
        return services.settle(_campaign(cid), now=when)

    results = race(app, 2, work)
    assert sorted(v for _o, v in results) == [False, True], results
    db.session.expire_all()
    counts = _refund_count()
    assert len(counts) == 6 and set(counts.values()) == {1}
    orders = db.session.execute(
        db.select(GroupOrder).where(GroupOrder.campaign_id == cid)
    ).scalars()
    assert all(o.refunded_cents == o.amount_cents for o in orders)


def test_run_refunds_racing_itself(app, make_campaign, make_member, pay, point_id, clock,
                                   monkeypatch):  # fmt: skip
    from forum import payments as registry

    campaign = _paid_campaign(make_campaign, make_member, pay, point_id, 5, "2")  # tier 5
    cid = campaign.id
    provider = registry.get_provider("sandbox")
    real = provider.refund

    def down(*args, **kwargs):
        raise ConnectionError("gateway down")

    monkeypatch.setattr(provider, "refund", down)
    clock.advance(days=3)
    assert services.settle(campaign, now=clock.now)
    monkeypatch.setattr(provider, "refund", real)
    db.session.expire_all()

    results = race(app, 4, lambda _i: services.run_refunds())
    assert all(outcome == "ok" for outcome, _v in results), results
    db.session.expire_all()
    orders = list(
        db.session.execute(db.select(GroupOrder).where(GroupOrder.campaign_id == cid)).scalars()
    )
    owed = [o for o in orders if o.refund_due_cents]
    assert owed and all(o.refunded_cents == o.refund_due_cents for o in orders)
    counts = _refund_count()
    assert len(counts) == len(owed) and set(counts.values()) == {1}
    done = db.session.execute(
        db.select(db.func.count()).select_from(PaymentRefund).where(PaymentRefund.status == "done")
    ).scalar_one()
    assert done == len(owed)
