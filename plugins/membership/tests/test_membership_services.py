"""The membership plugin's rules: periods and expiry with a controllable clock, renewal,
delivery (once per order, the order's price), seats, refunds, reminders, applications,
invite codes, clearing out."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from forum_plugins.membership import services
from forum_plugins.membership.models import (
    Application,
    InviteUse,
    Purchase,
    Removal,
    Subscription,
    Tier,
    Warning,
)
from sqlalchemy import func, select

from forum import plugins
from forum.extensions import db
from forum.models import GroupMembership, Notification, PaymentOrder, Post
from forum.services import payments, permissions, points, posting
from forum.services.errors import PermissionDenied, ServiceError
from forum.testing import race

SECOND = timedelta(seconds=1)


def can_read(member, board) -> bool:
    db.session.expire_all()
    return permissions.can(member, "read", board.id)


def membership_row(member, group):
    return db.session.execute(
        select(GroupMembership).where(
            GroupMembership.member_id == member.id, GroupMembership.group_id == group.id
        )
    ).scalar_one_or_none()


def count(model, *where) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def reload(row):
    db.session.expire_all()
    return db.session.get(type(row), row.id)


# -- periods ----------------------------------------------------------------------------------


def test_calendar_months_and_years():
    jan31 = datetime(2026, 1, 31, 10, 30)
    assert services.add_period(jan31, "month", 1) == datetime(2026, 2, 28, 10, 30)
    assert services.add_period(datetime(2028, 1, 31), "month", 1) == datetime(2028, 2, 29)
    assert services.add_period(jan31, "month", 13) == datetime(2027, 2, 28, 10, 30)
    assert services.add_period(datetime(2028, 2, 29), "year", 1) == datetime(2029, 2, 28)
    assert services.add_period(jan31, "day", 30) == datetime(2026, 3, 2, 10, 30)
    assert services.add_period(jan31, "lifetime", 1) is None


# -- buying, expiry, renewal ---------------------------------------------------------------------


def test_access_ends_exactly_at_paid_until_plus_grace(
    make_member, make_tier, gated_board, core_group, pay, clock, configure
):
    configure(grace_days=3, remind_days=7, refund_mode="all")
    ada = make_member("ada")
    tier = make_tier()
    assert not can_read(ada, gated_board)
    start = clock.set(datetime(2026, 3, 1, 12, 0, 0))
    order = pay(ada, tier)
    sub = services.subscription(ada, reload(tier))
    assert sub.status == "active" and sub.source == "payment"
    assert sub.paid_until == datetime(2027, 3, 1, 12, 0, 0)
    row = membership_row(ada, core_group)
    assert row.source == "payment"
    assert row.expires_at == datetime(2027, 3, 4, 12, 0, 0)
    assert reload(order).delivered_at is not None
    assert can_read(ada, gated_board)
    clock.set(datetime(2027, 3, 4, 12, 0, 0) - SECOND)
    assert can_read(ada, gated_board)
    assert services.is_member(ada, tier)
    clock.set(datetime(2027, 3, 4, 12, 0, 0) + SECOND)
    assert not can_read(ada, gated_board)
    assert not services.is_member(ada, tier)
    # The job marks it ended (and frees its seat); the first day is kept.
    assert services.expire() == 1
    sub = reload(sub)
    assert sub.status == "ended" and sub.started_at == start
    assert services.expire() == 0


def test_renewing_before_expiry_extends_from_the_current_end(
    make_member, make_tier, gated_board, pay, clock
):
    ada = make_member("ada")
    tier = make_tier()
    clock.set(datetime(2026, 3, 1, 9, 0))
    pay(ada, tier)
    clock.set(datetime(2026, 12, 20, 9, 0))  # 71 days before the end
    pay(ada, tier)
    sub = services.subscription(ada, tier)
    assert sub.paid_until == datetime(2028, 3, 1, 9, 0)
    periods = [
        (p.period_from, p.period_to)
        for p in sorted(services.purchases(ada), key=lambda p: p.period_from)
    ]
    assert periods == [
        (datetime(2026, 3, 1, 9, 0), datetime(2027, 3, 1, 9, 0)),
        (datetime(2027, 3, 1, 9, 0), datetime(2028, 3, 1, 9, 0)),
    ]
    # After the end (and the grace), a renewal counts from the day it is paid.
    clock.set(datetime(2028, 5, 1, 8, 0))
    services.expire()
    assert not can_read(ada, gated_board)
    pay(ada, tier)
    assert services.subscription(ada, tier).paid_until == datetime(2029, 5, 1, 8, 0)
    assert can_read(ada, gated_board)


def test_a_month_from_31_january_ends_at_the_end_of_february(
    make_member, make_tier, core_group, pay, clock, configure
):
    configure(grace_days=0, remind_days=7, refund_mode="all")
    ada = make_member("ada")
    tier = make_tier(price_cents=1290, period_unit="month")
    clock.set(datetime(2026, 1, 31, 20, 15))
    pay(ada, tier)
    assert services.subscription(ada, tier).paid_until == datetime(2026, 2, 28, 20, 15)
    assert membership_row(ada, core_group).expires_at == datetime(2026, 2, 28, 20, 15)
    pay(ada, tier)  # renewed at once: from the end of February
    assert services.subscription(ada, tier).paid_until == datetime(2026, 3, 28, 20, 15)


def test_lifetime_tiers_never_expire(make_member, make_tier, gated_board, core_group, pay, clock):
    ada = make_member("ada")
    tier = make_tier(name="Forever", period_unit="lifetime", price_cents=99900)
    pay(ada, tier)
    sub = services.subscription(ada, tier)
    assert sub.paid_until is None and services.access_ends(sub) is None
    assert membership_row(ada, core_group).expires_at is None
    clock.set(datetime(2100, 1, 1))
    assert services.expire() == 0
    assert services.send_reminders() == 0
    assert can_read(ada, gated_board)
    with pytest.raises(ServiceError):
        services.buy(ada, tier)  # nothing more to buy


def test_price_changed_while_an_order_is_pending(make_member, make_tier, admin, clock, english):
    ada = make_member("ada")
    tier = make_tier(price_cents=9900)
    order = services.buy(ada, tier)
    assert order.amount_cents == 9900 and order.reference == f"tier:{tier.id}"
    assert services.buy(ada, tier).id == order.id  # a second click goes on with it
    services.save_tier(admin, tier, price_cents=19900, period_unit="month")
    assert payments.sandbox_pay(ada, order) is True
    order = reload(order)
    assert order.status == "paid" and order.amount_cents == 9900
    purchase = db.session.execute(
        select(Purchase).where(Purchase.order_id == order.id)
    ).scalar_one()
    assert purchase.price_cents == 9900
    # The period ordered (a year), not the tier's new one.
    assert purchase.period_to == services.add_period(purchase.period_from, "year", 1)
    assert services.subscription(ada, tier).status == "active"
    assert services.buy(ada, reload(tier)).amount_cents == 19900


def test_delivering_the_same_order_twice_grants_once(make_member, make_tier, pay, clock):
    ada = make_member("ada")
    tier = make_tier(seats=5)
    order = pay(ada, tier)
    until = services.subscription(ada, tier).paid_until
    order = reload(order)
    plugins.fire("forum_payment_succeeded", order=order)
    services.grant(order)
    clock.advance(days=10)
    services.grant(order)
    assert services.subscription(ada, tier).paid_until == until
    assert count(Purchase, Purchase.member_id == ada.id) == 1
    assert reload(tier).seats_taken == 1


def test_other_plugins_orders_are_left_alone(make_member, membership):
    ada = make_member("ada")
    order = payments.create_order(
        ada,
        plugin="groupbuy",
        reference="tier:1",
        description="not ours",
        amount_cents=500,
        idempotency_key="other:1",
    )
    assert services.grant(order) is None
    assert count(Purchase) == 0


def test_an_inactive_tier_is_refused_before_the_order(make_member, make_tier, admin, english):
    ada = make_member("ada")
    tier = make_tier()
    services.save_tier(admin, tier, active=False)
    with pytest.raises(ServiceError, match="not on sale"):
        services.buy(ada, tier)
    # Also an order made by hand: the forum_before_payment hook refuses it.
    with pytest.raises(ServiceError, match="not on sale"):
        payments.create_order(
            ada,
            plugin="membership",
            reference=f"tier:{tier.id}",
            description="x",
            amount_cents=9900,
            idempotency_key="by-hand:1",
        )
    assert count(PaymentOrder) == 0


def test_seats_are_never_oversold(make_member, make_tier, pay, english):
    ada, bob = make_member("ada"), make_member("bob")
    tier = make_tier(seats=1)
    order = services.buy(ada, tier)
    with pytest.raises(ServiceError, match="sold out"):  # ada's pending order holds it
        services.buy(bob, tier)
    with pytest.raises(ServiceError, match="sold out"):  # by hand: forum_before_payment
        payments.create_order(
            bob,
            plugin="membership",
            reference=f"tier:{tier.id}",
            description="x",
            amount_cents=9900,
            idempotency_key="by-hand:bob",
        )
    assert count(PaymentOrder, PaymentOrder.member_id == bob.id) == 0
    payments.sandbox_pay(ada, order)
    tier = reload(tier)
    assert tier.seats_taken == 1 and tier.seats_left == 0
    with pytest.raises(ServiceError, match="sold out"):
        services.buy(bob, tier)
    pay(ada, tier)  # renewing keeps one's seat
    assert reload(tier).seats_taken == 1


def test_a_paid_order_that_finds_no_seat_grants_nothing(make_member, make_tier, admin, clock):
    ada, bob = make_member("ada"), make_member("bob")
    tier = make_tier(seats=2)
    first, second = services.buy(ada, tier), services.buy(bob, tier)
    services.save_tier(admin, tier, seats=1)
    payments.sandbox_pay(ada, first)
    payments.sandbox_pay(bob, second)
    assert reload(tier).seats_taken == 1
    assert services.subscription(ada, tier).status == "active"
    assert services.subscription(bob, tier) is None
    kinds = db.session.execute(
        select(Notification.kind).where(Notification.member_id == bob.id)
    ).scalars()
    assert services.NOTE_SOLD_OUT in set(kinds)
    services.grant(reload(second))  # redelivered: still nothing, still one record
    assert count(Purchase, Purchase.member_id == bob.id) == 1


def test_two_buyers_of_the_last_seat_at_once(app, make_member, make_tier, database_kind, english):
    if database_kind != "postgres":
        pytest.skip("real concurrency needs PostgreSQL")
    buyers = [make_member(f"buyer{i}") for i in range(4)]
    tier = make_tier(seats=1)
    ids = [b.id for b in buyers]
    tier_id = tier.id

    def work(i):
        from forum.models import Member

        member = db.session.get(Member, ids[i])
        return services.buy(member, db.session.get(Tier, tier_id)).id

    results = race(app, 4, work)
    assert sorted(outcome for outcome, _ in results) == ["ok", "refused", "refused", "refused"]
    assert count(PaymentOrder, PaymentOrder.status == "pending") == 1


def test_two_paid_orders_for_the_last_seat_deliver_once(
    app, make_member, make_tier, admin, database_kind
):
    if database_kind != "postgres":
        pytest.skip("real concurrency needs PostgreSQL")
    buyers = [make_member(f"buyer{i}") for i in range(3)]
    tier = make_tier(seats=3)
    orders = [services.buy(b, tier) for b in buyers]
    services.save_tier(admin, tier, seats=1)
    public_ids = [o.public_id for o in orders]
    ids = [b.id for b in buyers]

    def work(i):
        from forum.models import Member

        member = db.session.get(Member, ids[i])
        order = payments.get_order(public_ids[i], member)
        return payments.sandbox_pay(member, order)

    results = race(app, 3, work)
    assert [outcome for outcome, _ in results] == ["ok"] * 3
    db.session.expire_all()
    assert db.session.get(Tier, tier.id).seats_taken == 1
    assert count(Subscription, Subscription.status == "active") == 1


# -- points -------------------------------------------------------------------------------------


def test_buying_with_points(make_member, make_tier, gated_board, clock, english):
    ada = make_member("ada")
    tier = make_tier(points_price=300)
    with pytest.raises(ServiceError):
        services.buy_with_points(ada, tier)  # no points yet
    assert services.subscription(ada, tier) is None
    points.award(ada, 500, "test_gift", "test:gift:ada")
    sub = services.buy_with_points(ada, tier)
    assert sub.source == "points" and sub.paid_until == services.add_period(clock.now, "year", 1)
    assert points.balance(ada) == 200
    assert can_read(ada, gated_board)
    with pytest.raises(ServiceError):
        services.buy_with_points(ada, tier)  # 200 left: nothing changes
    assert services.subscription(ada, tier).paid_until == sub.paid_until
    assert points.balance(ada) == 200


# -- refunds -----------------------------------------------------------------------------------


def test_a_refund_in_mode_all_ends_access(
    make_member, make_tier, admin, gated_board, core_group, pay, configure
):
    configure(grace_days=3, remind_days=7, refund_mode="all")
    ada = make_member("ada")
    tier = make_tier(seats=3)
    order = pay(ada, tier)
    assert can_read(ada, gated_board)
    payments.refund(admin, reload(order), 9900, "changed my mind", "refund:1")
    sub = services.subscription(ada, tier)
    assert sub.status == "refunded"
    assert membership_row(ada, core_group) is None
    assert not can_read(ada, gated_board)
    assert reload(tier).seats_taken == 0
    purchase = db.session.execute(select(Purchase)).scalar_one()
    assert purchase.refunded and purchase.refunded_cents == 9900
    services.take_back(reload(order))  # a repeated hook changes nothing
    assert reload(purchase).refunded_cents == 9900


def test_a_refund_in_mode_unused_takes_back_the_refunded_share(
    make_member, make_tier, admin, core_group, pay, clock, configure
):
    configure(grace_days=3, remind_days=7, refund_mode="unused")
    ada = make_member("ada")
    tier = make_tier(price_cents=36500, period_unit="day", period_count=365)
    clock.set(datetime(2026, 1, 1, 0, 0))
    order = pay(ada, tier)
    assert services.subscription(ada, tier).paid_until == datetime(2027, 1, 1)
    clock.set(datetime(2026, 4, 1))
    payments.refund(admin, reload(order), 10000, "100 days unused", "refund:u1")
    sub = services.subscription(ada, tier)
    assert sub.status == "active"
    assert sub.paid_until == datetime(2027, 1, 1) - timedelta(days=100)
    assert membership_row(ada, core_group).expires_at == sub.paid_until + timedelta(days=3)
    services.take_back(reload(order))  # the same refund again: nothing more
    assert services.subscription(ada, tier).paid_until == datetime(2027, 1, 1) - timedelta(days=100)


# -- reminders ---------------------------------------------------------------------------------


def test_one_reminder_per_end(app, make_member, make_tier, pay, clock, configure):
    configure(grace_days=3, remind_days=7, refund_mode="all")
    ada = make_member("ada")
    tier = make_tier(price_cents=1290, period_unit="month")
    clock.set(datetime(2026, 5, 1, 12, 0))
    pay(ada, tier)
    clock.set(datetime(2026, 5, 24, 11, 0))  # 8 days before the end
    assert services.send_reminders() == 0
    clock.set(datetime(2026, 5, 25, 13, 0))
    outbox = app.extensions.setdefault("forum_outbox", [])
    before = len(outbox)
    assert services.send_reminders() == 1
    assert services.send_reminders() == 0
    assert len(outbox) == before + 1 and outbox[-1]["To"] == ada.email
    notes = db.session.execute(
        select(Notification).where(
            Notification.member_id == ada.id, Notification.kind == services.NOTE_REMINDER
        )
    ).scalars()
    assert [n.data["until"] for n in notes] == ["2026-06-01T12:00:00"]
    pay(ada, tier)  # renewed: the next end gets its own reminder
    clock.set(datetime(2026, 6, 26, 12, 0))
    assert services.send_reminders() == 1


# -- applications ------------------------------------------------------------------------------


def test_applying_twice_is_refused(make_member, admin, membership, english):
    ada = make_member("ada")
    why = services.save_question(admin, text="Why do you want to join?", required=True)
    services.save_question(admin, text="Anything else?", required=False, position=2)
    with pytest.raises(ServiceError) as refused:
        services.apply(ada, {why.id: "  "})
    assert refused.value.field == f"q{why.id}"
    application = services.apply(ada, {why.id: "I run every day"})
    assert application.status == "pending"
    assert [a["answer"] for a in application.answers] == ["I run every day", ""]
    with pytest.raises(ServiceError, match="waiting for review"):
        services.apply(ada, {why.id: "again"})
    assert count(Application) == 1


def test_review_with_reason_and_groups_on_approval(
    make_member, admin, core_group, gated_board, configure, english
):
    configure(application_groups="core", reviewer_groups="moderator", refund_mode="all")
    ada, bob = make_member("ada"), make_member("bob")
    mod = make_member("kate", groups=("moderator",))
    first = services.apply(ada, {})
    with pytest.raises(PermissionDenied):
        services.review(bob, first, True)
    with pytest.raises(ServiceError, match="reason"):
        services.review(mod, first, False)
    services.review(mod, first, False, "Tell us more about your running")
    assert reload(first).status == "rejected" and not can_read(ada, gated_board)
    second = services.apply(ada, {})
    services.review(mod, second, True)
    assert reload(second).status == "approved"
    assert membership_row(ada, core_group).source == "application"
    assert can_read(ada, gated_board)
    with pytest.raises(ServiceError, match="reviewed already"):
        services.review(admin, second, False, "no")
    with pytest.raises(ServiceError, match="approved already"):
        services.apply(ada, {})


def test_buying_waits_for_an_approved_application_when_required(
    make_member, make_tier, admin, configure, english
):
    configure(application_required=True, refund_mode="all")
    ada = make_member("ada")
    tier = make_tier()
    with pytest.raises(ServiceError, match="apply"):
        services.buy(ada, tier)
    application = services.apply(ada, {}, tier=tier)
    services.review(admin, application, True)
    assert services.buy(ada, tier).amount_cents == 9900


def test_two_applications_at_once(app, make_member, membership, database_kind):
    if database_kind != "postgres":
        pytest.skip("real concurrency needs PostgreSQL")
    ada = make_member("ada")
    ada_id = ada.id

    def work(_i):
        from forum.models import Member

        return services.apply(db.session.get(Member, ada_id), {}).id

    results = race(app, 3, work)
    assert sorted(outcome for outcome, _ in results) == ["ok", "refused", "refused"]
    assert count(Application) == 1


# -- invites -----------------------------------------------------------------------------------


def test_invite_codes_limit_once_per_member_and_expiry(
    make_member, make_tier, admin, gated_board, clock, english
):
    ada, bob, cy = make_member("ada"), make_member("bob"), make_member("cy")
    tier = make_tier(price_cents=1290, period_unit="month")
    invite = services.create_invite(
        admin, tier, max_uses=2, expires_at=clock.now + timedelta(days=3)
    )
    assert len(invite.code) == 10
    sub = services.redeem(ada, invite.code.lower())
    assert sub.source == "invite" and can_read(ada, gated_board)
    with pytest.raises(ServiceError, match="already"):
        services.redeem(ada, invite.code)
    services.redeem(bob, invite.code)
    with pytest.raises(ServiceError, match="used up"):
        services.redeem(cy, invite.code)
    assert reload(invite).uses == 2
    later = services.create_invite(admin, tier, expires_at=clock.now + timedelta(days=1))
    clock.advance(days=1)
    with pytest.raises(ServiceError, match="expired"):
        services.redeem(cy, later.code)
    with pytest.raises(ServiceError, match="does not exist"):
        services.redeem(cy, "NOPE1234")
    assert not can_read(cy, gated_board)


def test_concurrent_redemptions_never_pass_the_limit(app, make_member, make_tier, admin,
                                                     database_kind):  # fmt: skip
    if database_kind != "postgres":
        pytest.skip("real concurrency needs PostgreSQL")
    people = [make_member(f"guest{i}") for i in range(6)]
    tier = make_tier()
    code = services.create_invite(admin, tier, max_uses=2).code
    ids = [p.id for p in people]

    def work(i):
        from forum.models import Member

        return services.redeem(db.session.get(Member, ids[i]), code).id

    results = race(app, 6, work)
    assert sorted(outcome for outcome, _ in results) == ["ok"] * 2 + ["refused"] * 4
    db.session.expire_all()
    assert count(InviteUse) == 2
    assert db.session.execute(select(func.max(InviteUse.invite_id))).scalar_one() is not None


# -- clearing out ------------------------------------------------------------------------------


def _post(member, board, clock) -> None:
    """A post by ``member`` written at the clock's time."""
    thread = posting.create_thread(member, board, "Hello", "Still running every morning")
    db.session.execute(
        Post.__table__.update().where(Post.thread_id == thread.id).values(created_at=clock.now)
    )
    db.session.commit()


def _rows() -> tuple[int, ...]:
    return (
        count(Warning),
        count(Removal),
        count(GroupMembership),
        count(Notification),
    )


def test_clean_out_warns_waits_removes_logs_and_restores(
    make_member, make_tier, admin, core_group, gated_board, pay, clock
):
    ada, bob = make_member("ada"), make_member("bob")
    tier = make_tier(price_cents=100, period_unit="lifetime")
    pay(ada, tier)
    pay(bob, tier)
    rule = services.save_rule(
        admin, kind="inactive_days", threshold=30, notice_days=7, group_ids=[core_group.id]
    )
    clock.advance(days=29)
    assert services.cleanup_report() == []
    clock.advance(days=2)
    rows = _rows()
    report = services.cleanup_report()
    assert [(c.member.username, c.rule.id, c.warned) for c in report] == [
        ("ada", rule.id, False),
        ("bob", rule.id, False),
    ]
    assert report[0].due_at == clock.now + timedelta(days=7)
    assert _rows() == rows  # the dry run wrote nothing
    assert services.run_cleanup() == (2, 0)
    assert services.run_cleanup() == (0, 0)  # warned once
    assert count(Warning, Warning.status == "pending") == 2
    due = report[0].due_at
    clock.advance(days=3)
    _post(bob, gated_board, clock)  # bob takes part again
    assert services.run_cleanup() == (0, 0)
    assert count(Warning, Warning.status == "pending") == 1  # bob's is cancelled
    clock.set(due - SECOND)
    assert services.run_cleanup() == (0, 0)  # the notice is not over yet
    assert can_read(ada, gated_board)
    clock.set(due)
    assert services.run_cleanup() == (0, 1)
    assert not can_read(ada, gated_board)
    assert can_read(bob, gated_board)
    statuses = dict(db.session.execute(select(Warning.member_id, Warning.status)).all())
    assert statuses == {ada.id: "removed", bob.id: "cancelled"}
    removal = db.session.execute(select(Removal)).scalar_one()
    assert (removal.member_id, removal.group_id, removal.rule_id) == (
        ada.id,
        core_group.id,
        rule.id,
    )
    assert removal.source == "payment" and removal.expires_at is None
    assert [r.id for r in services.removals()[0]] == [removal.id]
    # An admin puts her back as she was; the restore counts as activity.
    with pytest.raises(PermissionDenied):
        services.restore(bob, removal)
    services.restore(admin, removal)
    assert can_read(ada, gated_board)
    row = membership_row(ada, core_group)
    assert row.source == "payment" and row.expires_at is None
    assert reload(removal).restored_by_id == admin.id
    with pytest.raises(ServiceError):
        services.restore(admin, reload(removal))
    assert [c.member.username for c in services.cleanup_report()] == []


def test_clean_out_by_warnings(make_member, make_tier, admin, core_group, pay, clock):
    ada, bob = make_member("ada"), make_member("bob")
    tier = make_tier(period_unit="lifetime")
    pay(ada, tier)
    pay(bob, tier)
    ada.warning_count = 3
    db.session.commit()
    services.save_rule(
        admin, kind="warnings_over", threshold=2, notice_days=0, group_ids=[core_group.id]
    )
    assert [c.member.username for c in services.cleanup_report()] == ["ada"]
    assert services.run_cleanup() == (1, 0)
    assert services.run_cleanup() == (0, 1)
    assert membership_row(ada, core_group) is None
    assert membership_row(bob, core_group) is not None


def test_admins_are_never_cleared_out(make_member, admin, core_group, clock):
    from forum.services import members

    members.set_membership(admin, core_group)
    services.save_rule(admin, kind="inactive_days", threshold=1, notice_days=0,
                       group_ids=[core_group.id])  # fmt: skip
    clock.advance(days=5)
    assert services.cleanup_report() == []


# -- what pages show ---------------------------------------------------------------------------


def test_teaser_offer_names_the_tier_cheapest_for_the_time(
    make_member, make_tier, admin, gated_board, make_board, english
):
    make_tier(name="Gold", price_cents=29900)
    make_tier(name="Month", price_cents=1290, period_unit="month")  # ¥154.80 a year
    make_tier(name="Forever", price_cents=5000, period_unit="lifetime")  # offered last
    cheap = make_tier(name="Core", price_cents=9900)
    inactive = make_tier(name="Old", price_cents=100)
    services.save_tier(admin, inactive, active=False)
    offer = services.teaser_offer(gated_board, None)
    assert offer["tier"].id == cheap.id
    assert offer["price"] == "¥99.00 / year"
    assert offer["signed_in"] is False
    assert [t.name for t in offer["tiers"]] == ["Core", "Month", "Gold", "Forever"]
    # A board members read anyway, or one no tier reaches: no offer.
    assert services.teaser_offer(make_board("open"), None) is None
    hidden = make_board("hidden", grants={"member": (), "guest": ()})
    assert services.teaser_offer(hidden, None) is None


def test_trust_facts_for_paid_members(make_member, make_tier, pay, clock):
    ada, bob = make_member("ada"), make_member("bob")
    tier = make_tier(name="核心会员")
    pay(ada, tier)
    facts = services.trust_facts([ada.id, bob.id])
    assert facts == {ada.id: (clock.now, "核心会员")}
    hooked = dict(plugins.fire("forum_trust_facts", members=[ada, bob]))
    [fact] = hooked["membership"][ada.id]
    assert fact.value.endswith("核心会员") and fact.tone == "positive"
    assert bob.id not in hooked["membership"]


def test_a_check_in_counts_as_taking_part(
    make_member, make_tier, admin, core_group, pay, clock, enable_plugin
):
    from forum_plugins.checkin import services as checkin

    enable_plugin("checkin")
    ada, bob = make_member("ada"), make_member("bob")
    tier = make_tier(period_unit="lifetime")
    pay(ada, tier)
    pay(bob, tier)
    services.save_rule(
        admin, kind="inactive_days", threshold=30, notice_days=7, group_ids=[core_group.id]
    )
    camp = checkin.create_camp(admin, title="Run", starts_on=clock.now.date())
    checkin.join(bob, camp, now=clock.now)
    clock.advance(days=20)
    checkin.check_in(bob, camp, note="5 km", now=clock.now)
    clock.advance(days=15)
    assert [c.member.username for c in services.cleanup_report()] == ["ada"]
    enable_plugin("checkin", disable=True)  # switched off: posts only
    assert [c.member.username for c in services.cleanup_report()] == ["ada", "bob"]


def test_demo_seed(make_member, make_board, membership):
    from forum_plugins.membership import demo

    boss = make_member("laozhou", groups=("admin",))
    kiki, dawei, plain = make_member("kiki_run"), make_member("dawei88"), make_member("plain")
    core = make_board("core")
    line = demo.seed({"core": core}, {"laozhou": boss, "kiki_run": kiki, "dawei88": dawei})
    assert line.startswith("2 tiers")
    yearly, monthly = services.tiers()
    assert (yearly.name, yearly.price_cents, yearly.period_unit) == ("核心会员", 9900, "year")
    assert (monthly.period_unit, monthly.seats_taken) == ("month", 2)
    assert can_read(kiki, core) and can_read(dawei, core)
    assert not can_read(plain, core) and permissions.can(plain, "view", core.id)
    assert services.teaser_offer(core, None)["tier"].id == yearly.id
    assert len(services.questions()) == 2
    assert services.send_reminders() == 1  # dawei's month ends within a week


def test_one_order_delivered_three_times_at_once(app, make_member, make_tier, database_kind):
    if database_kind != "postgres":
        pytest.skip("real concurrency needs PostgreSQL")
    ada = make_member("ada")
    tier = make_tier(seats=10)
    order = services.buy(ada, tier)
    order.status = "paid"  # paid, its delivery not run yet (as after a crash)
    db.session.commit()
    order_id = order.id

    def work(_i):
        return services.grant(db.session.get(PaymentOrder, order_id)).id

    results = race(app, 3, work)
    assert [outcome for outcome, _ in results] == ["ok"] * 3
    db.session.expire_all()
    assert count(Purchase) == 1
    assert db.session.get(Tier, tier.id).seats_taken == 1
    sub = services.subscription(ada, tier)
    purchase = db.session.execute(select(Purchase)).scalar_one()
    assert (
        sub.paid_until == purchase.period_to == services.add_period(purchase.period_from, "year", 1)
    )


def test_a_double_click_on_points_charges_once(app, make_member, make_tier, database_kind):
    if database_kind != "postgres":
        pytest.skip("real concurrency needs PostgreSQL")
    ada = make_member("ada")
    points.award(ada, 1000, "test_gift", "test:gift:ada")
    tier = make_tier(points_price=300)
    ada_id, tier_id = ada.id, tier.id

    def work(_i):
        from forum.models import Member

        member = db.session.get(Member, ada_id)
        return services.buy_with_points(member, db.session.get(Tier, tier_id)).id

    results = race(app, 3, work)
    assert {outcome for outcome, _ in results} == {"ok"}
    db.session.expire_all()
    assert points.balance(ada_id) == 700
    assert count(Purchase) == 1


def test_an_admin_gives_a_period(
    make_member, make_tier, admin, core_group, gated_board, clock, english
):
    ada = make_member("ada")
    tier = make_tier(seats=1)
    with pytest.raises(PermissionDenied):
        services.give(ada, ada, tier)
    sub = services.give(admin, ada, tier)
    assert sub.source == "admin" and sub.paid_until == services.add_period(clock.now, "year", 1)
    row = membership_row(ada, core_group)
    assert row.source == "admin" and row.expires_at == services.access_ends(sub)
    assert can_read(ada, gated_board)
    with pytest.raises(ServiceError, match="sold out"):
        services.give(admin, make_member("bob"), tier)
    first_end = sub.paid_until
    assert services.give(admin, ada, tier).paid_until == services.add_period(first_end, "year", 1)


def test_every_notification_kind_words_its_text(app, membership, english):
    from types import SimpleNamespace

    import forum_plugins.membership as plugin

    data = {"until": "2027-03-01T12:00:00", "due": "2027-03-08T12:00:00", "reason": "Quiet"}
    texts = {
        kind.name: kind.render(
            SimpleNamespace(title="Core", actor_name="ada", data=data, kind=kind.name)
        )
        for kind in plugin.forum_notification_kinds()
    }
    assert len(texts) == 9 and all(texts.values())
    assert "Mar 1, 2027" in texts[services.NOTE_REMINDER]
    assert "Mar 8, 2027" in texts[services.NOTE_WARNING]
    assert "Quiet" in texts[services.NOTE_REJECTED]
