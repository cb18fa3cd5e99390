"""Group-buy rules: the composer's checks, joining and its refusals, prices, invites,
the leader's CSV and statement, trust facts (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from forum_plugins.groupbuy import services
from forum_plugins.groupbuy.models import Campaign, GroupOrder
from groupbuy_helpers import campaign_input

from forum.extensions import db
from forum.models import PaymentOrder
from forum.services.errors import PermissionDenied, ServiceError


def _count(model) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


# -- creating ----------------------------------------------------------------------------------


def test_create_saves_a_draft_with_tiers_and_points(make_campaign):
    campaign = make_campaign(open=False)
    assert campaign.status == "draft" and campaign.thread_id is None
    assert campaign.original_price_cents == 12900
    assert campaign.commission_bp == 550
    assert campaign.stock_left == campaign.stock_total == 20
    assert [(t.min_people, t.price_cents) for t in services.tiers_of(campaign)] == [
        (2, 9900),
        (5, 8900),
        (10, 7900),
    ]
    assert [p.name for p in services.pickup_points_of(campaign)] == ["North gate"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"stock": "0"}, "stock"),
        ({"stock": "-3"}, "stock"),
        ({"per_member_limit": "0"}, "per_member_limit"),
        ({"min_participants": "0"}, "min_participants"),
        ({"tiers": [("2", "99"), ("5", "100")]}, "tiers"),
        ({"tiers": [("2", "139")]}, "tiers"),
        ({"tiers": []}, "tiers"),
        ({"original_price": "abc"}, "original_price"),
        ({"deadline": None}, "deadline"),
        ({"pickup": False, "delivery": False}, "pickup"),
        ({"pickup_points": []}, "pickup_points"),
        ({"commission_percent": "101"}, "commission_percent"),
        ({"commission_percent": "-1"}, "commission_percent"),
        ({"commission_percent": "x"}, "commission_percent"),
        ({"title": "  "}, "title"),
        ({"members_only_groups": ["nosuchgroup"]}, "members_only_groups"),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(board, leader, overrides, field, english):
    with pytest.raises(services.CampaignInvalid) as caught:
        services.create_campaign(leader, board, campaign_input(**overrides))
    assert field in caught.value.errors
    assert caught.value.errors[field]
    assert _count(Campaign) == 0


def test_deadline_in_the_past_refused(board, leader, english):
    from forum.models.base import utcnow

    data = campaign_input(deadline=utcnow() - timedelta(minutes=1))
    with pytest.raises(services.CampaignInvalid) as caught:
        services.create_campaign(leader, board, data)
    assert "future" in caught.value.errors["deadline"]


def test_every_field_error_at_once(board, leader):
    data = campaign_input(stock="0", original_price="", commission_percent="200")
    with pytest.raises(services.CampaignInvalid) as caught:
        services.create_campaign(leader, board, data)
    assert {"stock", "original_price", "commission_percent"} <= set(caught.value.errors)


def test_members_without_permission_may_not_lead(board, make_member):
    member = make_member("ann")
    assert not services.can_lead(member, board)
    with pytest.raises(PermissionDenied):
        services.create_campaign(member, board, campaign_input())
    assert _count(Campaign) == 0


def test_leader_boards(board, leader, make_member):
    assert [b.id for b in services.leader_boards(leader)] == [board.id]
    assert services.leader_boards(make_member("bob")) == []


def test_open_creates_the_thread(make_campaign):
    campaign = make_campaign()
    assert campaign.status == "open" and campaign.thread_id
    assert services.campaign_for_thread(campaign.thread_id).id == campaign.id


# -- prices ------------------------------------------------------------------------------------


def test_price_for_tiers(make_campaign):
    campaign = make_campaign(open=False)
    assert services.price_for(campaign, 0) == 9900
    assert services.price_for(campaign, 1) == 9900
    assert services.price_for(campaign, 4) == 9900
    assert services.price_for(campaign, 5) == 8900
    assert services.price_for(campaign, 9) == 8900
    assert services.price_for(campaign, 10) == 7900
    assert services.price_for(campaign, 100) == 7900


def test_progress_shows_next_tier(make_campaign, make_member, pay, point_id):
    campaign = make_campaign()
    pay(services.join(make_member(), campaign, quantity=1, pickup_point_id=point_id(campaign)))
    db.session.refresh(campaign)
    p = services.progress(campaign)
    assert p.participants == 1 and not p.reached
    assert p.next_tier.min_people == 2 and p.people_to_next == 1
    assert p.stock_left == 19 and p.stock_total == 20


# -- joining -----------------------------------------------------------------------------------


def test_join_reserves_stock_and_creates_the_payment(make_campaign, make_member, point_id):
    campaign = make_campaign()
    member = make_member("ann")
    order = services.join(member, campaign, quantity=2, pickup_point_id=point_id(campaign))
    db.session.refresh(campaign)
    assert order.status == "reserved" and order.unit_price_cents == 9900
    assert order.amount_cents == 19800
    assert campaign.stock_left == 18 and campaign.joined_ever
    payment = db.session.execute(
        db.select(PaymentOrder).where(PaymentOrder.public_id == order.payment_public_id)
    ).scalar_one()
    assert payment.amount_cents == 19800 and payment.plugin == "groupbuy"
    assert payment.reference == f"order:{order.id}"
    # the same again: the same reservation
    again = services.join(member, campaign, quantity=2, pickup_point_id=point_id(campaign))
    assert again.id == order.id
    db.session.refresh(campaign)
    assert campaign.stock_left == 18


def test_join_with_delivery_address(make_campaign, make_member):
    campaign = make_campaign()
    order = services.join(make_member(), campaign, quantity=1, delivery_address="5 South St")
    assert order.delivery_address == "5 South St" and order.pickup_point_id is None


def _refused(_english: bool, fn, *args, **kwargs) -> ServiceError:
    """The ServiceError ``fn(*args, **kwargs)`` raises."""
    with pytest.raises(ServiceError) as caught:
        fn(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize("quantity", [0, -1, "0", "-2", "abc", ""])
def test_bad_quantity(make_campaign, make_member, point_id, quantity, english):
    campaign = make_campaign()
    error = _refused(
        True, services.join, make_member(), campaign, quantity=quantity,
        pickup_point_id=point_id(campaign),
    )  # fmt: skip
    assert error.field == "quantity"
    db.session.refresh(campaign)
    assert campaign.stock_left == 20
    assert _count(GroupOrder) == 0 and _count(PaymentOrder) == 0


def test_per_member_limit(make_campaign, make_member, point_id, english):
    campaign = make_campaign(per_member_limit="2")
    error = _refused(True, services.join, make_member(), campaign, quantity=3,
                     pickup_point_id=point_id(campaign))  # fmt: skip
    assert "at most 2" in error.message
    assert _count(GroupOrder) == 0


def test_second_order_of_a_member_refused(make_campaign, make_member, point_id, pay, english):
    campaign = make_campaign()
    member = make_member()
    pay(services.join(member, campaign, quantity=1, pickup_point_id=point_id(campaign)))
    error = _refused(True, services.join, member, campaign, quantity=1,
                     pickup_point_id=point_id(campaign))  # fmt: skip
    assert "joined" in error.message
    other = make_member()
    services.join(other, campaign, quantity=1, pickup_point_id=point_id(campaign))
    error = _refused(True, services.join, other, campaign, quantity=2,
                     pickup_point_id=point_id(campaign))  # fmt: skip
    assert "reservation already" in error.message
    db.session.refresh(campaign)
    assert campaign.stock_left == 18


def test_sold_out_and_only_n_left(make_campaign, make_member, point_id, english):
    campaign = make_campaign(stock="3", per_member_limit="3", min_participants="1")
    services.join(make_member(), campaign, quantity=2, pickup_point_id=point_id(campaign))
    error = _refused(True, services.join, make_member(), campaign, quantity=2,
                     pickup_point_id=point_id(campaign))  # fmt: skip
    assert "Only 1 left" in error.message
    services.join(make_member(), campaign, quantity=1, pickup_point_id=point_id(campaign))
    error = _refused(True, services.join, make_member(), campaign, quantity=1,
                     pickup_point_id=point_id(campaign))  # fmt: skip
    assert "sold out" in error.message
    db.session.refresh(campaign)
    assert campaign.stock_left == 0
    assert services.join_refusal(make_member(), campaign) == error.message


def test_sold_out_in_chinese(make_campaign, make_member, point_id):
    from flask_babel import force_locale

    campaign = make_campaign(stock="1", per_member_limit="1", min_participants="1")
    services.join(make_member(), campaign, quantity=1, pickup_point_id=point_id(campaign))
    with force_locale("zh_Hans"):
        error = _refused(True, services.join, make_member(), campaign, quantity=1,
                         pickup_point_id=point_id(campaign))  # fmt: skip
    assert error.message == "抱歉，这个团购已售罄。"


def test_closed_draft_and_cancelled_refused(make_campaign, make_member, leader, point_id, clock,
                                            english):  # fmt: skip
    draft = make_campaign(open=False)
    error = _refused(True, services.join, make_member(), draft, quantity=1,
                     pickup_point_id=point_id(draft))  # fmt: skip
    assert "not open" in error.message
    campaign = make_campaign()
    clock.advance(days=3)
    error = _refused(True, services.join, make_member(), campaign, quantity=1,
                     pickup_point_id=point_id(campaign))  # fmt: skip
    assert "closed" in error.message
    clock.advance(days=-3)
    other = make_campaign()
    services.cancel_campaign(leader, other, "Supplier out of stock")
    error = _refused(True, services.join, make_member(), other, quantity=1,
                     pickup_point_id=point_id(other))  # fmt: skip
    assert "cancelled" in error.message
    assert _count(GroupOrder) == 0


def test_pickup_point_must_be_the_campaigns(make_campaign, make_member, english):
    campaign = make_campaign(delivery=False)
    error = _refused(True, services.join, make_member(), campaign, quantity=1)
    assert error.field == "pickup_point_id"
    error = _refused(True, services.join, make_member(), campaign, quantity=1,
                     pickup_point_id=99999)  # fmt: skip
    assert error.field == "pickup_point_id"
    assert _count(GroupOrder) == 0


def test_members_only_and_early_access(make_campaign, make_member, point_id, clock, english):
    from forum.services import groups

    groups.create_group("VIP", "vip")
    insider = make_member("insider", groups=("vip",))
    campaign = make_campaign(members_only_groups=["vip"])
    error = _refused(True, services.join, make_member(), campaign, quantity=1,
                     pickup_point_id=point_id(campaign))  # fmt: skip
    assert "members only" in error.message
    assert services.join(insider, campaign, quantity=1, pickup_point_id=point_id(campaign)).id
    early = make_campaign(early_access_groups=["vip"],
                          early_access_until=clock.now + timedelta(hours=1))  # fmt: skip
    error = _refused(True, services.join, make_member(), early, quantity=1,
                     pickup_point_id=point_id(early))  # fmt: skip
    assert "early access" in error.message
    assert services.join_refusal(insider, early) == ""
    services.join(insider, early, quantity=1, pickup_point_id=point_id(early))
    clock.advance(hours=2)
    services.join(make_member(), early, quantity=1, pickup_point_id=point_id(early))


def test_cancel_reservation_gives_stock_back(make_campaign, make_member, point_id):
    campaign = make_campaign()
    member = make_member()
    order = services.join(member, campaign, quantity=3, pickup_point_id=point_id(campaign))
    services.cancel_reservation(member, order)
    db.session.refresh(campaign)
    assert order.status == "cancelled" and campaign.stock_left == 20
    with pytest.raises(ServiceError):
        services.cancel_reservation(member, order)


def test_unpaid_reservation_released(make_campaign, make_member, point_id, clock):
    campaign = make_campaign()
    order = services.join(make_member(), campaign, quantity=2, pickup_point_id=point_id(campaign))
    assert services.release_expired(now=clock.now) == 0
    clock.advance(minutes=16)
    assert services.release_expired(now=clock.now) == 1
    assert services.release_expired(now=clock.now) == 0
    db.session.refresh(campaign)
    db.session.refresh(order)
    assert order.status == "released" and campaign.stock_left == 20


def test_paying_after_expiry_refused_by_the_checkout(make_campaign, make_member, point_id, pay,
                                                     clock):  # fmt: skip
    from forum.services import payments

    campaign = make_campaign()
    order = services.join(make_member(), campaign, quantity=1, pickup_point_id=point_id(campaign))
    payment = db.session.execute(
        db.select(PaymentOrder).where(PaymentOrder.public_id == order.payment_public_id)
    ).scalar_one()
    payment.expires_at = payment.created_at - timedelta(seconds=1)
    db.session.commit()
    clock.advance(minutes=16)
    services.release_expired(now=clock.now)
    with pytest.raises(ServiceError):
        pay(order)
    assert payments.format_money(0)  # nothing charged
    db.session.refresh(campaign)
    assert campaign.participants == 0 and campaign.stock_left == 20


def _late_money(order):
    from forum.services import payments

    return payments.mark_paid(
        order.payment_public_id,
        provider="sandbox",
        provider_ref=f"late:{order.id}",
        amount_cents=order.amount_cents,
        currency="CNY",
        event_id=f"late:{order.id}",
    )


def test_money_after_release_is_refunded_in_full(make_campaign, make_member, point_id, clock,
                                                 leader):  # fmt: skip
    campaign = make_campaign(stock="1", per_member_limit="1", min_participants="1")
    late = services.join(make_member(), campaign, quantity=1, pickup_point_id=point_id(campaign))
    clock.advance(minutes=16)
    services.release_expired(now=clock.now)
    services.join(make_member(), campaign, quantity=1, pickup_point_id=point_id(campaign))
    assert _late_money(late) is True
    db.session.refresh(late)
    db.session.refresh(campaign)
    assert late.status == "released"
    assert late.refund_due_cents == late.refunded_cents == late.amount_cents
    payment = db.session.execute(
        db.select(PaymentOrder).where(PaymentOrder.public_id == late.payment_public_id)
    ).scalar_one()
    assert payment.status == "refunded"
    assert campaign.stock_left == 0 and campaign.participants == 0


def test_money_after_release_retakes_stock_when_it_can(make_campaign, make_member, point_id,
                                                       clock):  # fmt: skip
    campaign = make_campaign()
    late = services.join(make_member(), campaign, quantity=2, pickup_point_id=point_id(campaign))
    clock.advance(minutes=16)
    services.release_expired(now=clock.now)
    assert _late_money(late) is True
    db.session.refresh(late)
    db.session.refresh(campaign)
    assert late.status == "paid" and late.refunded_cents == 0
    assert campaign.stock_left == 18 and campaign.participants == 1


def test_delivery_twice_counts_once(make_campaign, make_member, point_id, pay):
    campaign = make_campaign()
    order = services.join(make_member(), campaign, quantity=2, pickup_point_id=point_id(campaign))
    assert pay(order)
    payment = db.session.execute(
        db.select(PaymentOrder).where(PaymentOrder.public_id == order.payment_public_id)
    ).scalar_one()
    services.deliver_payment(payment)
    db.session.refresh(campaign)
    assert order.status == "paid"
    assert campaign.participants == 1 and campaign.quantity_paid == 2


def test_before_payment_refuses_a_released_reservation(make_campaign, make_member, point_id,
                                                       clock):  # fmt: skip
    campaign = make_campaign()
    order = services.join(make_member(), campaign, quantity=1, pickup_point_id=point_id(campaign))
    payment = db.session.execute(
        db.select(PaymentOrder).where(PaymentOrder.public_id == order.payment_public_id)
    ).scalar_one()
    assert services.check_before_payment(None, payment) is None
    clock.advance(minutes=16)
    services.release_expired(now=clock.now)
    assert services.check_before_payment(None, payment)


def test_prices_frozen_after_first_join(make_campaign, make_member, leader, point_id, english):
    campaign = make_campaign()
    services.join(make_member(), campaign, quantity=1, pickup_point_id=point_id(campaign))
    with pytest.raises(services.CampaignInvalid) as caught:
        services.update_campaign(leader, campaign, campaign_input(tiers=[("2", "90")]))
    assert "tiers" in caught.value.errors
    db.session.refresh(campaign)
    assert [t.price_cents for t in services.tiers_of(campaign)] == [9900, 8900, 7900]
    # other fields may still change
    services.update_campaign(leader, campaign, campaign_input(title="Rice, 5 kg"))
    db.session.refresh(campaign)
    assert campaign.title == "Rice, 5 kg"


def test_editing_a_draft_changes_prices(make_campaign, leader):
    campaign = make_campaign(open=False)
    services.update_campaign(leader, campaign, campaign_input(tiers=[("3", "95")], stock="30"))
    assert [t.price_cents for t in services.tiers_of(campaign)] == [9500]
    assert campaign.stock_left == 30


def test_only_the_leader_manages(make_campaign, make_member):
    campaign = make_campaign()
    with pytest.raises(PermissionDenied):
        services.cancel_campaign(make_member(), campaign, "no")
    with pytest.raises(PermissionDenied):
        services.leader_orders(make_member(), campaign)


# -- invites, CSV, statement, trust --------------------------------------------------------------


def test_invites_credited_when_paid_never_to_oneself(make_campaign, make_member, point_id, pay):
    campaign = make_campaign()
    inviter = make_member("inviter")
    a = services.join(make_member(), campaign, quantity=1, pickup_point_id=point_id(campaign),
                      invited_by_id=inviter.id)  # fmt: skip
    assert services.inviters(campaign) == []
    pay(a)
    services.join(
        make_member(),
        campaign,
        quantity=1,
        pickup_point_id=point_id(campaign),
        invited_by_id=inviter.id,
    )  # fmt: skip (unpaid: not credited)
    me = services.join(inviter, campaign, quantity=1, pickup_point_id=point_id(campaign),
                       invited_by_id=inviter.id)  # fmt: skip
    assert me.invited_by_id is None
    pay(me)
    assert [(m.id, n) for m, n in services.inviters(campaign)] == [(inviter.id, 1)]
    assert [(m.id, n) for m, n in services.inviter_leaderboard()] == [(inviter.id, 1)]


def test_orders_csv_opens_in_excel(make_campaign, make_member, leader, point_id, pay):
    campaign = make_campaign()
    pay(services.join(make_member("张三"), campaign, quantity=2, delivery_address="=HYPERLINK(1)"))
    text = "".join(services.orders_csv(leader, campaign))
    assert text.startswith("\ufeff")
    assert "\r\n" in text
    assert "张三" in text
    assert "=HYPERLINK" not in text.replace("'=HYPERLINK", "")
    assert "198.00" in text


def test_commission_statement(make_campaign, make_member, leader, point_id, pay, clock):
    campaign = make_campaign(commission_percent="5.5")
    for _i in range(5):
        pay(services.join(make_member(), campaign, quantity=1, pickup_point_id=point_id(campaign)))
    clock.advance(days=3)
    assert services.settle(campaign, now=clock.now)
    statement = services.commission_statement(leader, campaign)
    # paid 9900 × 5 (each paid the price for their place), final 8900 → 1000 back each
    assert statement.paid_cents == sum(line.amount_cents for line in statement.lines)
    assert statement.revenue_cents == 5 * 8900
    assert statement.commission_cents == 5 * 8900 * 550 // 10000
    assert len(statement.lines) == 5


def test_trust_facts(make_campaign, make_member, leader, point_id, pay, clock):
    buyer = make_member()
    good = make_campaign(min_participants="1")
    pay(services.join(buyer, good, quantity=1, pickup_point_id=point_id(good)))
    make_campaign(min_participants="5")
    clock.advance(days=3)
    assert services.settle_due(now=clock.now) == 2
    facts = services.trust_facts([buyer.id, leader.id])
    assert facts[buyer.id]["joined"] == 1 and facts[buyer.id]["completed"] == 1
    assert facts[leader.id]["led"] == 2 and facts[leader.id]["success_rate"] == 50


def test_buyer_ids_and_message(make_campaign, make_member, leader, point_id, pay):
    campaign = make_campaign()
    a, b = make_member(), make_member()
    pay(services.join(a, campaign, quantity=1, pickup_point_id=point_id(campaign)))
    services.join(b, campaign, quantity=1, pickup_point_id=point_id(campaign))
    assert services.buyer_ids(campaign) == [a.id]
    assert services.message_participants(leader, campaign, "Pickup on Saturday") == 1
    with pytest.raises(ServiceError):
        services.message_participants(leader, campaign, "  ")


def test_trust_card_facts_and_notification_text(make_campaign, make_member, leader, point_id,
                                                pay, clock, english):  # fmt: skip
    import forum_plugins.groupbuy as plugin

    from forum.models import Notification

    buyer = make_member()
    campaign = make_campaign(min_participants="1")
    pay(services.join(buyer, campaign, quantity=1, pickup_point_id=point_id(campaign)))
    clock.advance(days=3)
    assert services.settle(campaign, now=clock.now)
    facts = plugin.forum_trust_facts([buyer, leader])
    assert str(facts[buyer.id][0].value) == "1 joined, 1 completed"
    assert "100% succeeded" in str(facts[leader.id][0].value)
    note = db.session.execute(
        db.select(Notification).where(Notification.kind == "groupbuy.succeeded")
    ).scalar_one()
    kinds = {k.name: k for k in plugin.forum_notification_kinds()}
    text = kinds["groupbuy.succeeded"].render(note)
    assert "succeeded at ¥99.00 each" in text
