"""The points ledger: balances never negative, keys never applied twice, escrows settled once.

The concurrency tests run real threads against PostgreSQL (each thread with its own app
context, session and connection); they are skipped on SQLite, which runs one writer at a time.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forum.models import PointBalance, PointEntry, PointEscrow
from forum.services import points
from forum.services.errors import ServiceError
from forum.services.points import AlreadySettled, IdempotencyConflict, InsufficientBalance
from forum.testing import race

pytestmark = pytest.mark.usefixtures("english")

THREADS = 50


@pytest.fixture
def app_config(database_kind):
    # The concurrency tests open one connection per thread.
    if database_kind == "postgres":
        return {
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_size": THREADS + 5,
                "max_overflow": 5,
                "pool_timeout": 60,
            }
        }
    return {}


@pytest.fixture
def alice(make_member):
    return make_member("alice")


@pytest.fixture
def bob(make_member):
    return make_member("bob")


def _entries(db, member) -> list[PointEntry]:
    member_id = member if isinstance(member, int) else member.id
    return list(
        db.session.execute(
            select(PointEntry).where(PointEntry.member_id == member_id).order_by(PointEntry.id)
        ).scalars()
    )


def _count(db, model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


# --- services -----------------------------------------------------------------------------


def test_award_and_charge_keep_balance_and_ledger(db, alice):
    assert points.balance(alice) == 0
    first = points.award(alice, 100, "welcome", "test:welcome:alice", reference="member:1")
    second = points.charge(alice, 30, "shop", "test:shop:1")
    assert (first.delta, first.balance_after, first.reference) == (100, 100, "member:1")
    assert (second.delta, second.balance_after) == (-30, 70)
    assert points.balance(alice) == 70 == points.recount(alice)
    assert points.balance(alice.id) == 70  # ids work as well as members
    assert points.balances(alice) == {"points": 70}
    points.award(alice, 5, "streak", "test:deposit:1", currency="deposit")
    assert points.balances(alice) == {"points": 70, "deposit": 5}
    assert points.balance(alice, "deposit") == 5
    assert points.verify() == []


def test_short_balance_changes_nothing(db, alice, bob):
    points.award(alice, 20, "welcome", "k:1")
    with pytest.raises(InsufficientBalance) as exc:
        points.charge(alice, 30, "shop", "k:2")
    assert exc.value.message == "Not enough points: 20 available, 30 needed."
    assert (exc.value.available, exc.value.needed, exc.value.field) == (20, 30, "amount")
    with pytest.raises(InsufficientBalance) as exc:
        points.charge(bob, 1, "shop", "k:3")  # no balance row at all
    assert exc.value.available == 0
    with pytest.raises(InsufficientBalance):
        points.escrow(alice, 21, "bounty", "k:4")
    with pytest.raises(InsufficientBalance):
        points.transfer(alice, bob, 21, "transfer", "k:5")
    db.session.expire_all()
    assert points.balance(alice) == 20 and points.balance(bob) == 0
    assert _count(db, PointEntry) == 1 and _count(db, PointEscrow) == 0
    # the refused keys were not used up
    assert points.charge(alice, 20, "shop", "k:2").balance_after == 0


@pytest.mark.parametrize(
    "amount", [0, -5, True, False, 1.5, "10", None, points.MAX_AMOUNT + 1, 10**30]
)
def test_bad_amounts_are_refused(db, alice, bob, amount):
    for call in (
        lambda: points.award(alice, amount, "x", "bad:1"),
        lambda: points.charge(alice, amount, "x", "bad:2"),
        lambda: points.transfer(alice, bob, amount, "x", "bad:3"),
        lambda: points.escrow(alice, amount, "x", "bad:4"),
    ):
        with pytest.raises(ServiceError) as exc:
            call()
        assert exc.value.field == "amount"
        assert "whole number from 1 to" in exc.value.message
    assert _count(db, PointEntry) == 0


def test_largest_amount_is_accepted(db, alice):
    assert points.award(alice, points.MAX_AMOUNT, "x", "big:1").balance_after == 10**12
    assert points.award(alice, points.MAX_AMOUNT, "x", "big:2").balance_after == 2 * 10**12


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": ""},
        {"key": "has space"},
        {"key": "has#hash"},
        {"key": "x" * 151},
        {"currency": "Points"},
        {"currency": ""},
        {"currency": "x" * 21},
        {"reason": ""},
        {"reason": "r" * 81},
        {"reference": "r" * 121},
    ],
)
def test_malformed_arguments_are_programming_errors(db, alice, kwargs):
    args = {"key": "ok:1", "reason": "welcome", "currency": "points", "reference": ""}
    args.update(kwargs)
    with pytest.raises(ValueError):
        points.award(
            alice,
            1,
            args["reason"],
            args["key"],
            currency=args["currency"],
            reference=args["reference"],
        )


def test_replayed_keys_change_nothing(db, alice, bob):
    first = points.award(alice, 100, "welcome", "replay:award")
    again = points.award(alice, 100, "other words", "replay:award", reference="ignored")
    assert again.id == first.id and points.balance(alice) == 100

    charge = points.charge(alice, 10, "shop", "replay:charge")
    assert points.charge(alice, 10, "shop", "replay:charge").id == charge.id

    debit, credit = points.transfer(alice, bob, 20, "transfer", "replay:transfer")
    assert [e.id for e in points.transfer(alice, bob, 20, "transfer", "replay:transfer")] == [
        debit.id,
        credit.id,
    ]

    held = points.escrow(alice, 30, "bounty", "replay:escrow")
    assert points.escrow(alice, 30, "bounty", "replay:escrow").id == held.id

    paid = points.release(held, bob, "replay:release")
    assert points.release(held, bob, "replay:release").id == paid.id

    db.session.expire_all()
    assert points.balance(alice) == 100 - 10 - 20 - 30
    assert points.balance(bob) == 20 + 30
    assert len(_entries(db, alice)) == 4 and len(_entries(db, bob)) == 2
    assert points.verify() == []


def test_key_reused_for_something_else_is_refused(db, alice, bob):
    points.award(alice, 10, "welcome", "used")
    for call in (
        lambda: points.award(bob, 10, "welcome", "used"),  # other member
        lambda: points.award(alice, 11, "welcome", "used"),  # other amount
        lambda: points.award(alice, 10, "welcome", "used", currency="deposit"),
        lambda: points.charge(alice, 10, "shop", "used"),  # other kind
        lambda: points.transfer(alice, bob, 10, "transfer", "used"),
        lambda: points.escrow(alice, 10, "bounty", "used"),
    ):
        with pytest.raises(IdempotencyConflict):
            call()
    held = points.escrow(alice, 5, "bounty", "held:1")
    with pytest.raises(IdempotencyConflict):
        points.escrow(alice, 6, "bounty", "held:1")
    with pytest.raises(IdempotencyConflict):
        points.release(held, bob, "used")  # a key of another operation
    db.session.expire_all()
    assert points.balance(alice) == 5 and points.balance(bob) == 0
    assert _count(db, PointEntry) == 2


def test_transfer_moves_points_both_ways(db, make_member):
    low = make_member("low")  # the lower member id: its row is changed first
    high = make_member("high")
    points.award(high, 50, "welcome", "t:seed")
    debit, credit = points.transfer(high, low, 20, "transfer", "t:1", reference="gift")
    assert (debit.member_id, debit.delta, debit.balance_after, debit.counterparty_id) == (
        high.id,
        -20,
        30,
        low.id,
    )
    assert (credit.member_id, credit.delta, credit.balance_after, credit.counterparty_id) == (
        low.id,
        20,
        20,
        high.id,
    )
    assert credit.idempotency_key == "t:1#in"
    points.transfer(low, high, 5, "transfer", "t:2")
    # the recipient is credited first (lower id), then the sender comes up short: undone
    with pytest.raises(InsufficientBalance):
        points.transfer(high, low, 36, "transfer", "t:3")
    with pytest.raises(ServiceError) as exc:
        points.transfer(high, high, 1, "transfer", "t:4")
    assert exc.value.field == "recipient"
    db.session.expire_all()
    assert (points.balance(high), points.balance(low)) == (35, 15)
    assert points.verify() == []


def test_escrow_release_and_refund_settle_once(db, alice, bob):
    points.award(alice, 100, "welcome", "e:seed")
    held = points.escrow(alice, 40, "qa_bounty", "e:1", reference="qa:question:12")
    assert (held.status, held.amount, held.payer_id) == ("held", 40, alice.id)
    assert points.balance(alice) == 60
    assert [e.id for e in points.escrows("qa:question:12", "held")] == [held.id]

    paid = points.release(held, bob, "e:1:release")
    assert (paid.member_id, paid.delta, paid.counterparty_id, paid.escrow_id) == (
        bob.id,
        40,
        alice.id,
        held.id,
    )
    assert (paid.reason, paid.reference) == ("qa_bounty", "qa:question:12")
    held = points.get_escrow(held.id)
    assert (held.status, held.recipient_id) == ("released", bob.id)
    assert held.settled_at is not None
    with pytest.raises(AlreadySettled):
        points.refund(held, "e:1:refund")
    with pytest.raises(AlreadySettled):
        points.release(held, alice, "e:1:release-again")

    other = points.escrow(alice, 25, "qa_bounty", "e:2")
    back = points.refund(other, "e:2:refund")
    assert (back.member_id, back.delta, back.reason, back.counterparty_id) == (
        alice.id,
        25,
        "refund",
        None,
    )
    assert points.refund(other, "e:2:refund").id == back.id  # replay
    with pytest.raises(AlreadySettled) as exc:
        points.release(other, bob, "e:2:release")
    assert exc.value.message == "These points were already returned."

    db.session.expire_all()
    assert (points.balance(alice), points.balance(bob)) == (60, 40)
    assert points.get_escrow(other.id).status == "refunded"
    assert points.verify() == []


def test_release_split_pays_several_once(db, alice, bob, make_member):
    carol = make_member("carol")
    points.award(alice, 100, "welcome", "s:seed")
    held = points.escrow(alice, 10, "checkin_deposit", "s:1", reference="checkin:camp:1")
    paid = points.release_split(held, [(bob, 4), (carol.id, 3), (alice, 3)], "s:1:split")
    assert [(e.member_id, e.delta, e.counterparty_id, e.escrow_id) for e in paid] == [
        (bob.id, 4, alice.id, held.id),
        (carol.id, 3, alice.id, held.id),
        (alice.id, 3, alice.id, held.id),
    ]
    assert [e.idempotency_key for e in paid] == ["s:1:split#0", "s:1:split#1", "s:1:split#2"]
    assert paid[0].reference == "checkin:camp:1"
    held = points.get_escrow(held.id)
    assert (held.status, held.recipient_id) == ("released", bob.id)
    # A replay returns the same entries and moves nothing; other shares are a conflict.
    again = points.release_split(held, [(bob, 4), (carol, 3), (alice, 3)], "s:1:split")
    assert [e.id for e in again] == [e.id for e in paid]
    with pytest.raises(IdempotencyConflict):
        points.release_split(held, [(bob, 5), (carol, 5)], "s:1:split")
    with pytest.raises(IdempotencyConflict):
        points.release_split(held, [(bob, 4), (carol, 6)], "s:1:split")
    with pytest.raises(AlreadySettled):
        points.release_split(held, [(bob, 10)], "s:1:other")
    with pytest.raises(AlreadySettled):
        points.refund(held, "s:1:refund")
    db.session.expire_all()
    assert (points.balance(alice), points.balance(bob), points.balance(carol)) == (93, 4, 3)
    assert points.verify() == []


@pytest.mark.parametrize(
    "shares",
    [
        [],
        [("bob", 5)],
        [("bob", 6), ("alice", 5)],
        [("bob", 0), ("alice", 10)],
        [("bob", 5), ("bob", 5)],
        [("bob", 5.0), ("alice", 5)],
        [("bob", True), ("alice", 9)],
    ],
)
def test_release_split_refuses_shares_that_do_not_add_up(db, alice, bob, shares):
    points.award(alice, 100, "welcome", "s:seed")
    held = points.escrow(alice, 10, "checkin_deposit", "s:2")
    members = {"alice": alice, "bob": bob}
    with pytest.raises(ValueError):
        points.release_split(held, [(members[m], a) for m, a in shares], "s:2:split")
    db.session.rollback()
    assert points.get_escrow(held.id).status == "held"
    assert points.balance(bob) == 0 and _count(db, PointEntry) == 2


def test_commit_false_joins_the_callers_transaction(db, alice):
    points.award(alice, 10, "welcome", "c:1", commit=False)
    points.escrow(alice, 4, "bounty", "c:2", commit=False)
    db.session.rollback()  # the caller changes its mind: nothing happened
    assert points.balance(alice) == 0 and _count(db, PointEntry) == 0
    assert _count(db, PointEscrow) == 0

    points.award(alice, 10, "welcome", "c:1")
    alice.display_name = "爱丽丝"  # the caller's own change, before a refused ledger call
    with pytest.raises(InsufficientBalance):
        points.charge(alice, 11, "shop", "c:3", commit=False)
    points.charge(alice, 3, "shop", "c:4", commit=False)
    db.session.commit()
    db.session.expire_all()
    assert alice.display_name == "爱丽丝"
    assert points.balance(alice) == 7
    assert [e.idempotency_key for e in _entries(db, alice)] == ["c:1", "c:4"]


def test_balance_row_check_is_the_last_line_of_defence(db, alice):
    from sqlalchemy.exc import IntegrityError

    points.award(alice, 5, "welcome", "d:1")
    row = db.session.get(PointBalance, (alice.id, "points"))
    row.balance = -1
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_verify_finds_a_wrong_cached_balance(db, alice):
    points.award(alice, 5, "welcome", "v:1")
    db.session.get(PointBalance, (alice.id, "points")).balance = 6
    db.session.commit()
    assert points.verify() == [points.Discrepancy(alice.id, "points", 6, 5)]
    assert points.verify(alice) == [points.Discrepancy(alice.id, "points", 6, 5)]
    assert points.recount(alice) == 5


def test_history_pages_newest_first(db, alice):
    for i in range(7):
        points.award(alice, i + 1, "welcome", f"h:{i}")
    points.award(alice, 1, "welcome", "h:deposit", currency="deposit")
    entries, pages = points.history(alice, "points", page=1, per_page=3)
    assert pages == 3 and [e.delta for e in entries] == [7, 6, 5]
    entries, pages = points.history(alice, "points", page=3, per_page=3)
    assert [e.delta for e in entries] == [1]
    entries, pages = points.history(alice, per_page=3)
    assert pages == 3 and entries[0].currency == "deposit"
    assert points.history(alice, "nothing")[1] == 1


def test_labels(app):
    assert points.reason_label("transfer") == "Transfer"
    assert points.reason_label("unknown_code") == "unknown_code"
    points.register_reason("test_reason", "A test")
    assert points.reason_label("test_reason") == "A test"
    assert points.currency_label("points") == "points"


# --- the page -----------------------------------------------------------------------------


def test_history_page_own_others_admin_guest(app, client, login, db, alice, bob, make_member):
    points.award(alice, 100, "welcome", "p:1")
    points.transfer(alice, bob, 30, "transfer", "p:2")
    login(client, alice)
    r = client.get("/u/alice/points")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "My points" in html and "+100" in html and "-30" in html
    assert 'to <a href="/u/bob">bob</a>' in html
    assert "balance 70" in html
    profile = client.get("/u/alice").get_data(as_text=True)
    assert 'href="/u/alice/points"' in profile and ">70<" in profile
    assert 'href="/u/bob/points"' not in client.get("/u/bob").get_data(as_text=True)
    assert client.get("/u/bob/points").status_code == 403
    assert client.get("/u/nobody/points").status_code == 404
    assert client.get("/u/alice/points?currency=Bad!").status_code == 404

    admin = make_member("boss", groups=("admin",))
    admin_client = login(app.test_client(), admin)
    r = admin_client.get("/u/bob/points")
    assert r.status_code == 200 and 'from <a href="/u/alice">alice</a>' in r.get_data(as_text=True)

    guest = app.test_client().get("/u/alice/points")
    assert guest.status_code == 302 and "/login" in guest.headers["Location"]


def test_history_page_is_paginated(app, client, login, db, alice):
    from forum.web.points import PER_PAGE

    for i in range(PER_PAGE + 2):
        points.award(alice, 1000 + i, "welcome", f"pg:{i}")
    login(client, alice)
    first = client.get("/u/alice/points").get_data(as_text=True)
    assert f"+{1000 + PER_PAGE + 1:,}" in first and "+1,000" not in first
    assert 'rel="next"' in first
    second = client.get("/u/alice/points?page=2").get_data(as_text=True)
    assert "+1,000" in second and "+1,001" in second
    assert client.get("/u/alice/points?page=3").status_code == 404


def test_empty_history_page(client, login, alice):
    login(client, alice)
    html = client.get("/u/alice/points").get_data(as_text=True)
    assert "No points yet." in html


# --- concurrency (PostgreSQL) -------------------------------------------------------------


@pytest.fixture
def postgres_only(database_kind):
    if database_kind != "postgres":
        pytest.skip("concurrency is tested against PostgreSQL (FORUM_TEST_DATABASE_URL)")


@pytest.mark.usefixtures("postgres_only")
def test_concurrent_charges_never_overspend(app, db, alice):
    points.award(alice, 100, "welcome", "race:seed")
    member_id = alice.id
    db.session.commit()
    db.session.close()

    def work(i: int) -> int:
        return points.charge(member_id, 10, "shop", f"race:charge:{i}").balance_after

    results = race(app, THREADS, work)
    ok = [value for outcome, value in results if outcome == "ok"]
    refused = [value for outcome, value in results if outcome == "refused"]
    assert len(ok) == 10 and len(refused) == THREADS - 10
    assert all(isinstance(exc, InsufficientBalance) for exc in refused)
    assert sorted(ok) == list(range(0, 100, 10))  # every balance_after exactly once
    db.session.expire_all()
    assert points.balance(member_id) == 0
    entries = _entries(db, member_id)
    assert len(entries) == 11 and sum(1 for e in entries if e.delta == -10) == 10
    assert all(e.balance_after >= 0 for e in entries)
    assert points.verify() == []


@pytest.mark.usefixtures("postgres_only")
def test_concurrent_replays_of_one_key_apply_once(app, db, alice, bob):
    points.award(alice, 100, "welcome", "race:seed")
    alice_id, bob_id = alice.id, bob.id
    db.session.commit()
    db.session.close()

    def charge(i: int) -> int:
        return points.charge(alice_id, 10, "shop", "race:one-key").id

    results = race(app, 20, charge)
    assert all(outcome == "ok" for outcome, _ in results)
    assert len({value for _, value in results}) == 1  # everyone got the one entry

    def award(i: int) -> int:  # bob has no balance row yet: its creation races too
        return points.award(bob_id, 7, "welcome", "race:one-award").id

    results = race(app, 20, award)
    assert len({value for _, value in results}) == 1

    db.session.expire_all()
    assert points.balance(alice_id) == 90 and points.balance(bob_id) == 7
    assert len(_entries(db, alice_id)) == 2 and len(_entries(db, bob_id)) == 1
    assert points.verify() == []


@pytest.mark.usefixtures("postgres_only")
def test_concurrent_credits_create_one_balance_row(app, db, alice):
    member_id = alice.id
    db.session.commit()
    db.session.close()
    race(app, 20, lambda i: points.award(member_id, 1, "welcome", f"race:credit:{i}").id)
    db.session.expire_all()
    assert points.balance(member_id) == 20 and points.verify() == []


@pytest.mark.usefixtures("postgres_only")
def test_concurrent_opposite_transfers_do_not_deadlock(app, db, alice, bob):
    points.award(alice, 1000, "welcome", "race:a")
    points.award(bob, 1000, "welcome", "race:b")
    ids = (alice.id, bob.id)
    db.session.commit()
    db.session.close()

    def work(i: int) -> int:
        sender, recipient = (ids[0], ids[1]) if i % 2 else (ids[1], ids[0])
        return points.transfer(sender, recipient, 10, "transfer", f"race:t:{i}")[0].id

    results = race(app, 30, work)
    assert all(outcome == "ok" for outcome, _ in results)
    db.session.expire_all()
    assert points.balance(ids[0]) == 1000 and points.balance(ids[1]) == 1000
    assert points.verify() == []


@pytest.mark.usefixtures("postgres_only")
@pytest.mark.usefixtures("postgres_only")
def test_release_split_races_release_one_wins(app, db, alice, bob, make_member):
    carol_id = make_member("carol").id
    points.award(alice, 100, "welcome", "race:seed")
    held = points.escrow(alice, 60, "checkin_deposit", "race:escrow")
    escrow_id, alice_id, bob_id = held.id, alice.id, bob.id
    db.session.commit()
    db.session.close()

    def work(i: int) -> str:
        target = points.get_escrow(escrow_id)
        if i % 2:
            points.release_split(target, [(bob_id, 30), (carol_id, 30)], f"race:split:{i}")
            return "split"
        points.release(target, bob_id, f"race:release:{i}")
        return "released"

    results = race(app, 20, work)
    won = [value for outcome, value in results if outcome == "ok"]
    lost = [value for outcome, value in results if outcome == "refused"]
    assert len(won) == 1 and len(lost) == 19
    assert all(isinstance(exc, AlreadySettled) for exc in lost)
    db.session.expire_all()
    expected = (30, 30) if won[0] == "split" else (60, 0)
    assert (points.balance(bob_id), points.balance(carol_id)) == expected
    assert points.balance(alice_id) == 40 and points.verify() == []


def test_release_and_refund_race_one_wins(app, db, alice, bob):
    points.award(alice, 100, "welcome", "race:seed")
    held = points.escrow(alice, 60, "qa_bounty", "race:escrow")
    escrow_id, alice_id, bob_id = held.id, alice.id, bob.id
    db.session.commit()
    db.session.close()

    def work(i: int) -> str:
        target = points.get_escrow(escrow_id)
        if i % 2:
            points.release(target, bob_id, f"race:release:{i}")
            return "released"
        points.refund(target, f"race:refund:{i}")
        return "refunded"

    results = race(app, 20, work)
    won = [value for outcome, value in results if outcome == "ok"]
    lost = [value for outcome, value in results if outcome == "refused"]
    assert len(won) == 1 and len(lost) == 19
    assert all(isinstance(exc, AlreadySettled) for exc in lost)
    db.session.expire_all()
    assert points.get_escrow(escrow_id).status == won[0]
    expected = (40, 60) if won[0] == "released" else (100, 0)
    assert (points.balance(alice_id), points.balance(bob_id)) == expected
    assert _count(db, PointEntry) == 3 and points.verify() == []
