"""The check-in rules (issue 8's acceptance): local days and DST, one check-in per day also
under concurrency, settlement paid once and adding up, refusals that write nothing, streak
bonuses once, make-up cards, leaderboards on constant queries, reminders once a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from forum_plugins.checkin import services
from forum_plugins.checkin.models import Checkin, MemberStats, Participant
from sqlalchemy import func, select

from forum.models import Notification, PointEntry, PointEscrow
from forum.services import plugin_state, points
from forum.services.errors import ServiceError
from forum.testing import race

pytestmark = pytest.mark.usefixtures("english", "checkin")

SHANGHAI = "Asia/Shanghai"
LA = "America/Los_Angeles"


@pytest.fixture
def app_config(database_kind):
    # The concurrency tests open one connection per thread.
    if database_kind == "postgres":
        return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 25, "max_overflow": 5}}
    return {}


@pytest.fixture
def postgres_only(database_kind):
    if database_kind != "postgres":
        pytest.skip("concurrency is tested against PostgreSQL (FORUM_TEST_DATABASE_URL)")


def at(zone: str, *args: int) -> datetime:
    """Local wall time in ``zone`` → naive UTC (what ``now`` parameters take)."""
    local = datetime(*args, tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).replace(tzinfo=None)


def settings(**values) -> None:
    assert plugin_state.save_settings("checkin", {k: str(v) for k, v in values.items()}) == {}


def count(db, model, *where) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def entries(db, member=None, reason=None) -> list[PointEntry]:
    stmt = select(PointEntry).order_by(PointEntry.id)
    if member is not None:
        stmt = stmt.where(PointEntry.member_id == member.id)
    if reason is not None:
        stmt = stmt.where(PointEntry.reason == reason)
    return list(db.session.execute(stmt).scalars())


def days_of(db, member, camp) -> list[date]:
    return list(
        db.session.execute(
            select(Checkin.day)
            .where(Checkin.member_id == member.id, Checkin.camp_id == camp.id)
            .order_by(Checkin.day)
        ).scalars()
    )


# -- days, time zones, DST -----------------------------------------------------------------


def test_shanghai_2359_and_0001_are_two_days(db, make_camp, make_member):
    camp = make_camp()
    ada = make_member("ada", timezone=SHANGHAI)
    services.join(ada, camp, now=at(SHANGHAI, 2026, 3, 10, 9, 0))
    services.check_in(ada, camp, now=at(SHANGHAI, 2026, 3, 10, 23, 59))
    services.check_in(ada, camp, now=at(SHANGHAI, 2026, 3, 11, 0, 1))
    assert days_of(db, ada, camp) == [date(2026, 3, 10), date(2026, 3, 11)]
    now = at(SHANGHAI, 2026, 3, 11, 8, 0)
    assert services.streaks(ada, camp, now=now) == services.Streak(2, 2)
    assert services.streaks(ada, now=now) == services.Streak(2, 2)
    # Both were 15:59 and 16:01 UTC: by UTC it would have been one day and a refusal.
    assert at(SHANGHAI, 2026, 3, 11, 0, 1).date() == date(2026, 3, 10)


def test_los_angeles_is_judged_by_its_own_midnight(db, make_camp, make_member):
    camp = make_camp()
    bo = make_member("bo", timezone=LA)
    services.join(bo, camp, now=at(LA, 2026, 3, 10, 9, 0))
    # 23:30 in Los Angeles is already the 11th in UTC and in Shanghai (the site's zone).
    late = at(LA, 2026, 3, 10, 23, 30)
    assert late.date() == date(2026, 3, 11)
    services.check_in(bo, camp, now=late)
    with pytest.raises(ServiceError) as exc:
        services.check_in(bo, camp, now=at(LA, 2026, 3, 10, 23, 50))
    assert exc.value.field == "day"
    services.check_in(bo, camp, now=at(LA, 2026, 3, 11, 0, 10))
    assert days_of(db, bo, camp) == [date(2026, 3, 10), date(2026, 3, 11)]
    # A streak still counts the next evening (yesterday checked), not two days later.
    assert services.streaks(bo, camp, now=at(LA, 2026, 3, 12, 22, 0)).current == 2
    assert services.streaks(bo, camp, now=at(LA, 2026, 3, 13, 0, 5)).current == 0


def test_no_timezone_means_the_sites_default(db, make_camp, make_member):
    camp = make_camp()
    cy = make_member("cy")  # timezone "": the site's default, Asia/Shanghai
    assert services.local_today(cy, datetime(2026, 3, 10, 16, 30)) == date(2026, 3, 11)
    services.join(cy, camp, now=datetime(2026, 3, 10, 1, 0))
    services.check_in(cy, camp, now=datetime(2026, 3, 10, 16, 30))
    assert days_of(db, cy, camp) == [date(2026, 3, 11)]


@pytest.mark.parametrize(
    ("first", "hour", "minute"),
    [
        (date(2026, 3, 4), 0, 30),  # DST starts on 8 March 2026: 00:30 PST, then PDT
        (date(2026, 10, 28), 23, 30),  # DST ends on 1 November 2026: 23:30 PDT, then PST
    ],
)
def test_a_streak_across_a_dst_change_is_unbroken(db, make_camp, make_member, first, hour, minute):
    camp = make_camp(starts_on=first)
    bo = make_member("bo", timezone=LA)
    services.join(bo, camp, now=at(LA, first.year, first.month, first.day, 0, 0))
    expected = [first + timedelta(days=n) for n in range(9)]
    offsets = set()
    for day in expected:
        now = at(LA, day.year, day.month, day.day, hour, minute)
        offsets.add(datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(LA)).utcoffset())
        services.check_in(bo, camp, now=now)
    assert len(offsets) == 2  # the days really straddle the change
    assert days_of(db, bo, camp) == expected
    last = expected[-1]
    now = at(LA, last.year, last.month, last.day, 23, 59)
    assert services.streaks(bo, camp, now=now) == services.Streak(9, 9)
    assert services.streaks(bo, now=now) == services.Streak(9, 9)


# -- concurrency ---------------------------------------------------------------------------


@pytest.mark.usefixtures("postgres_only")
def test_twenty_simultaneous_check_ins_make_one(app, db, make_camp, make_member):
    camp = make_camp()
    ada = make_member("ada", timezone=SHANGHAI)
    services.join(ada, camp, now=at(SHANGHAI, 2026, 3, 10, 9, 0))
    camp_id, member_id = camp.id, ada.id
    now = at(SHANGHAI, 2026, 3, 10, 12, 0)
    db.session.commit()
    db.session.close()

    def work(i: int) -> int:
        from forum.extensions import db as _db
        from forum.models import Member

        member = _db.session.get(Member, member_id)
        return services.check_in(member, services.get_camp(camp_id), note=f"#{i}", now=now).id

    results = race(app, 20, work)
    ok = [value for outcome, value in results if outcome == "ok"]
    refused = [value for outcome, value in results if outcome == "refused"]
    assert len(ok) == 1 and len(refused) == 19
    assert all(exc.field == "day" for exc in refused)
    assert {exc.message for exc in refused} == {"You have already checked in today."}
    db.session.expire_all()
    assert count(db, Checkin, Checkin.member_id == member_id) == 1
    rewards = entries(db, reason=services.REASON_REWARD)
    assert [(e.member_id, e.delta) for e in rewards] == [(member_id, 5)]
    assert points.balance(member_id) == 5 and points.verify() == []
    mine = db.session.execute(select(Participant)).scalar_one()
    assert (mine.total, mine.current_streak) == (1, 1)
    assert services.get_camp(camp_id).checkin_count == 1


# -- settlement ----------------------------------------------------------------------------


def _deposit_camp(db, make_camp, rich, *, members=10, complete=6, deposit=50):
    """A 7-day camp with a deposit: ``members`` join, the first ``complete`` check in every
    day, the others on 3 days."""
    camp = make_camp(starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 7), deposit=deposit)
    people = [rich(f"m{i}", 100, timezone=SHANGHAI) for i in range(members)]
    for person in people:
        services.join(person, camp, now=at(SHANGHAI, 2026, 2, 28, 12, 0))
    for n, person in enumerate(people):
        for day in range(1, 8 if n < complete else 4):
            services.check_in(person, camp, now=at(SHANGHAI, 2026, 3, day, 20, 0))
    return camp, people


def _received(db, person) -> int:
    """What settlement paid ``person`` (deposit back and shares)."""
    return sum(
        e.delta
        for e in entries(db, person)
        if e.reason in (services.REASON_DEPOSIT_BACK, services.REASON_DEPOSIT_SHARE)
    )


def test_settlement_pays_once_and_adds_up(db, make_camp, rich):
    settings(checkin_points=0, streak_bonus_7=0)
    camp, people = _deposit_camp(db, make_camp, rich)
    assert points.balance(people[0]) == 50 and count(db, PointEscrow) == 10
    # Not yet: the 7th is not over everywhere until 12:00 UTC on the 8th.
    assert services.settle_due_camps(now=datetime(2026, 3, 8, 11, 59)) == 0
    after = datetime(2026, 3, 8, 12, 1)
    assert services.settle_due_camps(now=after) == 1
    assert services.settle_due_camps(now=after) == 0
    assert services.settle_camp(camp.id, now=after) is False
    db.session.expire_all()
    # 4 forfeited deposits of 50 = 200 shared among 6: 33 each, 2 left over for the two
    # who joined first.
    paid = [_received(db, p) for p in people]
    assert paid == [84, 84, 83, 83, 83, 83, 0, 0, 0, 0]
    assert sum(paid) == 10 * 50
    assert [points.balance(p) for p in people] == [134, 134, 133, 133, 133, 133, 50, 50, 50, 50]
    assert count(db, PointEscrow, PointEscrow.status == "held") == 0
    outcomes = db.session.execute(select(Participant.outcome).order_by(Participant.id)).scalars()
    assert list(outcomes) == ["completed"] * 6 + ["failed"] * 4
    assert services.get_camp(camp.id).status == "settled"
    stats = db.session.get(MemberStats, people[0].id)
    assert stats.camps_completed == 1
    assert db.session.get(MemberStats, people[9].id).camps_completed == 0
    told = db.session.execute(
        select(Notification.member_id, Notification.data).where(
            Notification.kind == services.NOTE_SETTLED
        )
    ).all()
    assert len(told) == 10
    assert points.verify() == []


def test_with_forfeit_keep_completers_get_their_own_back(db, make_camp, rich):
    settings(checkin_points=0, streak_bonus_7=0, forfeit="keep")
    camp, people = _deposit_camp(db, make_camp, rich)
    assert services.settle_due_camps(now=datetime(2026, 3, 9)) == 1
    db.session.expire_all()
    assert [_received(db, p) for p in people] == [50] * 6 + [0] * 4
    assert points.balance(camp.owner_id) == 200
    assert points.verify() == []


def test_someone_who_left_forfeits(db, make_camp, rich):
    settings(checkin_points=0, streak_bonus_7=0)
    camp, people = _deposit_camp(db, make_camp, rich, members=3, complete=2, deposit=10)
    services.leave(people[2], camp)
    assert services.get_camp(camp.id).member_count == 2
    assert services.settle_due_camps(now=datetime(2026, 3, 9)) == 1
    db.session.expire_all()
    assert [_received(db, p) for p in people] == [15, 15, 0]
    assert services.participant(camp, people[2]).outcome == "left"


@pytest.mark.usefixtures("postgres_only")
def test_concurrent_settlement_pays_once(app, db, make_camp, rich):
    settings(checkin_points=0, streak_bonus_7=0)
    camp, people = _deposit_camp(db, make_camp, rich)
    ids = [p.id for p in people]
    db.session.commit()
    db.session.close()
    results = race(app, 2, lambda i: services.settle_due_camps(now=datetime(2026, 3, 9)))
    assert sorted(value for _outcome, value in results) == [0, 1]
    db.session.expire_all()
    paid = [
        sum(
            e.delta
            for e in db.session.execute(
                select(PointEntry).where(
                    PointEntry.member_id == member_id,
                    PointEntry.reason.in_(
                        [services.REASON_DEPOSIT_BACK, services.REASON_DEPOSIT_SHARE]
                    ),
                )
            ).scalars()
        )
        for member_id in ids
    ]
    assert paid == [84, 84, 83, 83, 83, 83, 0, 0, 0, 0]
    assert points.verify() == []


# -- bad input -----------------------------------------------------------------------------


@pytest.fixture
def joined(db, make_camp, rich):
    """A camp with a 05:00–23:59 window and a km number; ``ada`` (Shanghai, 100 points)
    joined on 1 March and checked in on the 10th."""
    settings(makeup_days=3, makeup_cost=20, makeup_per_month=2)
    camp = make_camp(
        starts_on=date(2026, 3, 1),
        window_start=5 * 60,
        metrics=[
            {
                "key": "km",
                "label": "Distance",
                "unit": "km",
                "min": 0,
                "max": 100,
                "decimals": 1,
                "required": True,
            }
        ],
    )
    ada = rich("ada", 100, timezone=SHANGHAI)
    services.join(ada, camp, now=at(SHANGHAI, 2026, 3, 1, 6, 0))
    services.check_in(ada, camp, metrics={"km": "5"}, now=at(SHANGHAI, 2026, 3, 10, 7, 0))
    return camp, ada


def _refused(db, member, field, call) -> None:
    before = (count(db, Checkin), len(entries(db)), points.balance(member))
    with pytest.raises(ServiceError) as exc:
        call()
    assert exc.value.field == field, exc.value.message
    db.session.rollback()
    assert (count(db, Checkin), len(entries(db)), points.balance(member)) == before


def test_refusals_write_nothing(db, joined, make_member):
    camp, ada = joined
    day10 = at(SHANGHAI, 2026, 3, 10, 21, 0)
    day11 = at(SHANGHAI, 2026, 3, 11, 8, 0)
    ok = {"km": "3.5"}
    _refused(db, ada, "day", lambda: services.check_in(ada, camp, metrics=ok, now=day10))
    early = at(SHANGHAI, 2026, 3, 11, 4, 59)
    _refused(db, ada, "window", lambda: services.check_in(ada, camp, metrics=ok, now=early))
    stranger = make_member("zed", timezone=SHANGHAI)
    _refused(db, stranger, "camp", lambda: services.check_in(stranger, camp, metrics=ok, now=day11))
    for field, metrics in [
        ("metric_km", {}),
        ("metric_km", {"km": ""}),
        ("metric_km", {"km": "100.1"}),
        ("metric_km", {"km": "-1"}),
        ("metric_km", {"km": "3.25"}),
        ("metric_km", {"km": "far"}),
        ("metric_km", {"km": "NaN"}),
        ("metrics", {"km": "3", "laps": "9"}),
    ]:
        _refused(
            db, ada, field, lambda m=metrics: services.check_in(ada, camp, metrics=m, now=day11)
        )
    # Make-up cards: a checked day, too far back, today, the future, before joining.
    for day in (date(2026, 3, 10), date(2026, 3, 7), date(2026, 3, 11), date(2026, 3, 12)):
        _refused(
            db, ada, "day", lambda d=day: services.make_up(ada, camp, d, metrics=ok, now=day11)
        )
    _refused(db, ada, "day", lambda: services.make_up(ada, camp, "2026-03-09", now=day11))
    late = make_member("late", timezone=SHANGHAI)
    points.award(late, 100, "test_gift", "test:late")
    services.join(late, camp, now=day11)
    _refused(
        db,
        late,
        "day",
        lambda: services.make_up(late, camp, date(2026, 3, 10), metrics=ok, now=day11),
    )
    # Nothing above cost a make-up card: ada still has both of this month's.
    services.make_up(ada, camp, date(2026, 3, 9), metrics=ok, now=day11)
    services.make_up(ada, camp, date(2026, 3, 8), metrics=ok, now=day11)
    assert points.balance(ada) == 100 + 5 - 40
    services.check_in(ada, camp, metrics=ok, now=day11)
    day14 = at(SHANGHAI, 2026, 3, 14, 8, 0)
    _refused(
        db,
        ada,
        "day",
        lambda: services.make_up(ada, camp, date(2026, 3, 12), metrics=ok, now=day14),
    )
    # Next month the quota is back; without the points the card is refused.
    april = at(SHANGHAI, 2026, 4, 2, 8, 0)
    services.check_in(ada, camp, metrics=ok, now=at(SHANGHAI, 2026, 3, 31, 8, 0))
    poor = points.balance(ada)
    points.charge(ada, poor - 10, "test_spend", "test:spend")
    _refused(
        db,
        ada,
        "points",
        lambda: services.make_up(ada, camp, date(2026, 4, 1), metrics=ok, now=april),
    )


def test_camp_dates_and_requirements(db, make_camp, make_member):
    camp = make_camp(starts_on=date(2026, 3, 5), ends_on=date(2026, 3, 6), require_note=True)
    ada = make_member("ada", timezone=SHANGHAI)
    services.join(ada, camp, now=at(SHANGHAI, 2026, 3, 1, 6, 0))
    before = at(SHANGHAI, 2026, 3, 4, 12, 0)
    _refused(db, ada, "camp", lambda: services.check_in(ada, camp, note="hi", now=before))
    during = at(SHANGHAI, 2026, 3, 5, 12, 0)
    _refused(db, ada, "note", lambda: services.check_in(ada, camp, note="  ", now=during))
    services.check_in(ada, camp, note="first run", now=during)
    after = at(SHANGHAI, 2026, 3, 7, 12, 0)
    _refused(db, ada, "camp", lambda: services.check_in(ada, camp, note="hi", now=after))
    with pytest.raises(ServiceError) as exc:
        services.join(make_member("bo"), camp, now=after)
    assert exc.value.field == "camp"


def test_bad_camp_fields(db, make_camp, make_member):
    for field, values in [
        ("title", {"title": ""}),
        ("starts_on", {"starts_on": "2026-03-01"}),
        ("ends_on", {"ends_on": date(2026, 2, 1)}),
        ("window_end", {"window_start": 600, "window_end": 500}),
        ("window_start", {"window_start": 1440}),
        ("deposit", {"deposit": 10}),  # no end date
        ("deposit", {"deposit": -1, "ends_on": date(2026, 3, 9)}),
        ("min_days", {"min_days": 10, "ends_on": date(2026, 3, 9)}),
        ("metrics", {"metrics": [{"key": "Km", "label": "x"}]}),
        ("metrics", {"metrics": [{"key": "km", "label": "x", "min": 5, "max": 1}]}),
    ]:
        with pytest.raises(ServiceError) as exc:
            make_camp(**values)
        assert exc.value.field == field, values
    assert count(db, services.Camp) == 0
    with pytest.raises(services.PermissionDenied):
        services.create_camp(make_member("plain"), title="Mine", starts_on=date(2026, 3, 1))


# -- streaks, bonuses, make-up cards -------------------------------------------------------


def test_streak_bonuses_are_paid_once_each(db, make_camp, make_member):
    camp = make_camp(starts_on=date(2026, 1, 1))
    ada = make_member("ada", timezone=SHANGHAI)
    services.join(ada, camp, now=at(SHANGHAI, 2026, 1, 1, 6, 0))
    day = date(2026, 1, 1)
    for _n in range(100):
        services.check_in(ada, camp, now=at(SHANGHAI, day.year, day.month, day.day, 9, 0))
        day += timedelta(days=1)
    bonuses = [(e.delta, e.idempotency_key) for e in entries(db, ada, services.REASON_STREAK)]
    assert bonuses == [
        (20, f"checkin:streak:{camp.id}:{ada.id}:7"),
        (60, f"checkin:streak:{camp.id}:{ada.id}:21"),
        (300, f"checkin:streak:{camp.id}:{ada.id}:100"),
    ]
    # A break, then seven days again: no second bonus.
    day += timedelta(days=2)
    for _n in range(7):
        services.check_in(ada, camp, now=at(SHANGHAI, day.year, day.month, day.day, 9, 0))
        day += timedelta(days=1)
    assert len(entries(db, ada, services.REASON_STREAK)) == 3
    assert len(entries(db, ada, services.REASON_REWARD)) == 107
    assert points.balance(ada) == 107 * 5 + 380
    assert services.streaks(ada, camp, now=at(SHANGHAI, 2026, 4, 20, 9, 0)) == services.Streak(
        7, 100
    )


def test_make_up_fills_a_gap_and_joins_the_streak(db, make_camp, rich):
    settings(makeup_days=3, makeup_cost=20)
    camp = make_camp(starts_on=date(2026, 3, 1))
    ada = rich("ada", 100, timezone=SHANGHAI)
    services.join(ada, camp, now=at(SHANGHAI, 2026, 3, 1, 6, 0))
    for d in (1, 2, 4):
        services.check_in(ada, camp, now=at(SHANGHAI, 2026, 3, d, 9, 0))
    now = at(SHANGHAI, 2026, 3, 4, 10, 0)
    assert services.streaks(ada, camp, now=now) == services.Streak(1, 2)
    assert services.makeup_days(ada, camp, now=now) == [date(2026, 3, 3)]
    card = services.make_up(ada, camp, date(2026, 3, 3), note="forgot", now=now)
    assert card.makeup and card.day == date(2026, 3, 3)
    assert services.streaks(ada, camp, now=now) == services.Streak(4, 4)
    assert services.streaks(ada, now=now) == services.Streak(4, 4)
    assert services.makeup_days(ada, camp, now=now) == []
    assert points.balance(ada) == 100 + 3 * 5 - 20  # no check-in points for the card
    assert [e.delta for e in entries(db, ada, services.REASON_MAKEUP)] == [-20]
    cal = services.calendar(ada, camp, weeks=2, now=now)
    assert len(cal) == 14 and cal[0].day.weekday() == 0 and cal[-1].day.weekday() == 6
    assert {c.day: c.count for c in cal if c.count} == {date(2026, 3, d): 1 for d in (1, 2, 3, 4)}


# -- leaderboards --------------------------------------------------------------------------


def _board_camp(db, make_camp, make_member, n: int):
    """``n`` members with check-ins on 1–10 March (member i on the last i+1 days) and km."""
    camp = make_camp(
        starts_on=date(2026, 3, 1),
        metrics=[{"key": "km", "label": "Distance", "unit": "km", "max": 50, "decimals": 1}],
    )
    people = []
    for i in range(n):
        person = make_member(f"r{n}x{i}", timezone=SHANGHAI)
        services.join(person, camp, now=at(SHANGHAI, 2026, 3, 1, 6, 0))
        for d in range(10 - i, 11):
            services.check_in(
                person,
                camp,
                metrics={"km": f"{i + 1}.5"},
                now=at(SHANGHAI, 2026, 3, d, 9, 0),
            )
        people.append(person)
    return camp, people


def test_leaderboards(db, make_camp, make_member):
    camp, people = _board_camp(db, make_camp, make_member, 4)
    now = at(SHANGHAI, 2026, 3, 10, 20, 0)  # a Tuesday
    names = lambda board: [(r.member.username, r.value, r.rank) for r in board]  # noqa: E731
    u = [p.username for p in people]
    assert names(services.leaderboard(camp, by="streak", now=now)) == [
        (u[3], 4, 1),
        (u[2], 3, 2),
        (u[1], 2, 3),
        (u[0], 1, 4),
    ]
    assert names(services.leaderboard(camp, by="total", now=now, limit=2)) == [
        (u[3], 4, 1),
        (u[2], 3, 2),
    ]
    # This week: Monday 9th and Tuesday 10th.
    assert names(services.leaderboard(camp, by="total", period="week", now=now)) == [
        (u[1], 2, 1),
        (u[2], 2, 1),
        (u[3], 2, 1),
        (u[0], 1, 4),
    ]
    assert [r.value for r in services.leaderboard(camp, by="total", period="day", now=now)] == [
        1,
        1,
        1,
        1,
    ]
    assert names(services.leaderboard(camp, by="metric:km", period="month", now=now)) == [
        (u[3], 18.0, 1),
        (u[2], 10.5, 2),
        (u[1], 5.0, 3),
        (u[0], 1.5, 4),
    ]
    # A streak that is not checked today or yesterday is no longer on the board.
    later = at(SHANGHAI, 2026, 3, 12, 20, 0)
    assert services.leaderboard(camp, by="streak", now=later) == []
    for by, period, field in [
        ("likes", "all", "by"),
        ("metric:laps", "all", "by"),
        ("total", "year", "period"),
    ]:
        with pytest.raises(ServiceError) as exc:
            services.leaderboard(camp, by=by, period=period, now=now)
        assert exc.value.field == field


def test_leaderboard_queries_do_not_grow_with_members(db, make_camp, make_member, count_queries):
    small, _ = _board_camp(db, make_camp, make_member, 2)
    large, _ = _board_camp(db, make_camp, make_member, 7)
    now = at(SHANGHAI, 2026, 3, 10, 20, 0)
    for by, period in [
        ("streak", "all"),
        ("total", "all"),
        ("total", "week"),
        ("metric:km", "month"),
        ("metric:km", "all"),
    ]:
        used = []
        for camp, size in ((small, 2), (large, 7)):
            services.leaderboard(camp, by=by, period=period, now=now)  # warm the caches
            db.session.expire_all()
            camp.metric_list  # the page has the camp already  # noqa: B018
            with count_queries() as q:
                board = services.leaderboard(camp, by=by, period=period, now=now)
                [r.member.username for r in board]
            assert len(board) == size
            used.append(q.count)
        assert used[0] == used[1] == 1, (by, period, used, q.statements)


def test_feed_queries_do_not_grow_with_the_page(db, make_camp, make_member, count_queries):
    camp, people = _board_camp(db, make_camp, make_member, 5)
    viewer = people[0]
    services.toggle_like(viewer, services.feed(camp).items[0])
    db.session.expire_all()
    with count_queries() as q:
        page = services.feed(camp, viewer=viewer)
        [(c.author.username, c.upload, c.liked) for c in page.items]
    assert page.total == 15 and len(page.items) == 15
    assert q.count <= 4
    assert [c.liked for c in page.items].count(True) == 1


# -- likes, comments, trust facts ----------------------------------------------------------


def test_likes_and_comments(db, make_camp, make_member):
    camp = make_camp()
    ada, bo = make_member("ada"), make_member("bo")
    services.join(ada, camp, now=datetime(2026, 3, 2, 1, 0))
    mine = services.check_in(ada, camp, note="5 km", now=datetime(2026, 3, 2, 1, 0))
    assert services.toggle_like(bo, mine) is True and mine.like_count == 1
    assert services.toggle_like(bo, mine) is False and mine.like_count == 0
    with pytest.raises(ServiceError) as exc:
        services.toggle_like(ada, mine)
    assert exc.value.field == "like"
    with pytest.raises(ServiceError) as exc:
        services.comment(bo, mine, "   ")
    assert exc.value.field == "body"
    said = services.comment(bo, mine, "Well **done**")
    assert "<strong>done</strong>" in said.body_html and mine.comment_count == 1
    told = db.session.execute(
        select(Notification).where(Notification.kind == services.NOTE_COMMENT)
    ).scalar_one()
    assert told.member_id == ada.id
    for someone in (make_member("cy"), ada):  # nor the check-in's author
        with pytest.raises(services.PermissionDenied):
            services.delete_comment(someone, said)
    services.delete_comment(bo, said)
    assert services.comments(mine) == [] and mine.comment_count == 0


def test_trust_facts_for_many_members_in_one_query(db, make_camp, make_member, count_queries):
    from forum_plugins import checkin

    camp, people = _board_camp(db, make_camp, make_member, 3)
    everyone = people + [make_member("quiet")]
    [m.id for m in everyone]  # loaded, as the page has them
    with count_queries() as q:
        facts = checkin.forum_trust_facts(everyone)
    assert q.count == 1
    assert set(facts) == {p.id for p in people}
    assert [f.value for f in facts[people[2].id]] == ["3 days"]


# -- reminders -----------------------------------------------------------------------------


def test_reminders_once_a_local_day_at_the_hour(db, make_camp, make_member):
    camp = make_camp(starts_on=date(2026, 3, 1))
    ada = make_member("ada", timezone=SHANGHAI)
    done = make_member("done", timezone=SHANGHAI)
    other_hour = make_member("other", timezone=SHANGHAI)
    bo = make_member("bo", timezone=LA)
    nowhere = make_member("nowhere", timezone=SHANGHAI)  # in no camp
    for person in (ada, done, other_hour, bo):
        services.join(person, camp, now=at(SHANGHAI, 2026, 3, 1, 6, 0))
    for person in (ada, done, bo, nowhere):
        services.set_reminder_hour(person, 21)
    services.set_reminder_hour(other_hour, 7)
    with pytest.raises(ServiceError) as exc:
        services.set_reminder_hour(ada, 24)
    assert exc.value.field == "reminder_hour"
    services.check_in(done, camp, now=at(SHANGHAI, 2026, 3, 10, 9, 0))

    def told() -> list[int]:
        return list(
            db.session.execute(
                select(Notification.member_id)
                .where(Notification.kind == services.NOTE_REMINDER)
                .order_by(Notification.id)
            ).scalars()
        )

    assert services.send_reminders(now=at(SHANGHAI, 2026, 3, 10, 20, 59)) == 0
    assert services.send_reminders(now=at(SHANGHAI, 2026, 3, 10, 21, 0)) == 1
    assert services.send_reminders(now=at(SHANGHAI, 2026, 3, 10, 21, 40)) == 0
    assert told() == [ada.id]
    # 21:00 in Los Angeles is 13:00 on the 11th in Shanghai.
    assert services.send_reminders(now=at(LA, 2026, 3, 10, 21, 5)) == 1
    assert told() == [ada.id, bo.id]
    # The next day: ada checked in this time, done did not.
    services.check_in(ada, camp, now=at(SHANGHAI, 2026, 3, 11, 9, 0))
    assert services.send_reminders(now=at(SHANGHAI, 2026, 3, 11, 21, 30)) == 1
    assert told() == [ada.id, bo.id, done.id]
    services.set_reminder_hour(ada, None)
    assert services.reminder_hour(ada) is None


# -- joining -------------------------------------------------------------------------------


def test_join_charges_fee_and_escrows_deposit_once(db, make_camp, rich, make_member):
    from forum.services import groups

    camp = make_camp(ends_on=date(2026, 3, 7), join_fee=10, deposit=30)
    ada = rich("ada", 100)
    first = services.join(ada, camp, now=datetime(2026, 2, 28))
    assert services.join(ada, camp, now=datetime(2026, 2, 28)).id == first.id  # again: same
    assert points.balance(ada) == 60 and points.balance(camp.owner_id) == 10
    held = points.get_escrow(first.escrow_id)
    assert (held.amount, held.status, held.reference) == (30, "held", f"checkin:camp:{camp.id}")
    assert services.get_camp(camp.id).member_count == 1
    # Too poor: nothing written, not even the participant row.
    poor = rich("poor", 35)
    before = (count(db, Participant), len(entries(db)), count(db, PointEscrow))
    with pytest.raises(ServiceError) as exc:
        services.join(poor, camp, now=datetime(2026, 2, 28))
    assert exc.value.field == "points"
    db.session.rollback()
    assert (count(db, Participant), len(entries(db)), count(db, PointEscrow)) == before
    assert points.balance(poor) == 35
    # Leaving keeps the deposit held (forfeited at settlement); joining again is refused.
    services.leave(ada, camp)
    assert points.get_escrow(first.escrow_id).status == "held"
    with pytest.raises(ServiceError) as exc:
        services.join(ada, camp, now=datetime(2026, 3, 1))
    assert exc.value.field == "camp"
    # A camp for one group.
    runners = groups.create_group("Runners", "runners")
    closed = make_camp(join_group=runners)
    with pytest.raises(ServiceError) as exc:
        services.join(make_member("outsider"), closed, now=datetime(2026, 3, 1))
    assert exc.value.field == "camp"
    # What members agreed to cannot change once they joined.
    with pytest.raises(ServiceError) as exc:
        services.update_camp(camp.owner, camp, deposit=50)
    assert exc.value.field == "deposit"
    services.update_camp(camp.owner, camp, title="Run every single day")
    assert services.get_camp(camp.id).title == "Run every single day"


# -- hooks ---------------------------------------------------------------------------------


def test_settings_jobs_and_notification_texts(app):
    from types import SimpleNamespace

    from forum_plugins import checkin

    from forum.plugin_api import plugin_settings

    values = plugin_settings("checkin")
    assert {k: values[k] for k in ("checkin_points", "makeup_days", "forfeit")} == {
        "checkin_points": 5,
        "makeup_days": 3,
        "forfeit": "share",
    }
    jobs = {job.name: job for job in checkin.forum_periodic_jobs()}
    assert jobs["checkin-settle"].func is services.settle_due_camps
    assert jobs["checkin-remind"].func is services.send_reminders
    assert jobs["checkin-remind"].hour == "*"
    kinds = {k.name: k for k in checkin.forum_notification_kinds()}

    def text(kind, **data):
        n = SimpleNamespace(kind=kind, actor_name="Bo", title="Run", data=data)
        return kinds[kind].render(n)

    assert text(services.NOTE_SETTLED, outcome="completed", back=84) == (
        "You completed “Run”: 84 points are yours."
    )
    assert "forfeited" in text(services.NOTE_SETTLED, outcome="failed", deposit=50)
    assert text(services.NOTE_REMINDER, camps=2) == "You have not checked in today in 2 camps."
    assert text(services.NOTE_COMMENT) == "Bo commented on your check-in in “Run”."
    assert points.reason_label(services.REASON_DEPOSIT_SHARE) == (
        "Share of forfeited camp deposits"
    )


def test_shares_and_allocation_add_up_deterministically():
    from forum_plugins.checkin import settlement

    assert settlement.shares(200, ["a", "b", "c", "d", "e", "f"]) == [
        ("a", 34),
        ("b", 34),
        ("c", 33),
        ("d", 33),
        ("e", 33),
        ("f", 33),
    ]
    assert settlement.shares(2, ["a", "b", "c"]) == [("a", 1), ("b", 1)]
    assert settlement.shares(0, ["a"]) == [] and settlement.shares(5, []) == []
    plan = settlement.allocate([("p1", 50), ("p2", 50), ("p3", 7)], [("a", 40), ("b", 67)])
    assert plan == {"p1": [("a", 40), ("b", 10)], "p2": [("b", 50)], "p3": [("b", 7)]}
    assert all(
        sum(a for _r, a in parts) == pot
        for (_p, pot), parts in zip([("p1", 50), ("p2", 50), ("p3", 7)], plan.values(), strict=True)
    )
    with pytest.raises(ValueError):
        settlement.allocate([("p1", 5)], [("a", 4)])
