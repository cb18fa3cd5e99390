"""The check-in rules: camps, joining with fees and deposits, daily check-ins, make-up
cards, streaks, leaderboards, likes and comments, settlement and reminders.

**Days.** A member's day is their own local date: :attr:`Member.timezone`, or the site's
``default_timezone`` when they chose none (as the core's pages do). The camp's dates, its
daily window and the make-up limits are all read in the member's zone, so a member in
Asia/Shanghai who checks in at 23:59 and at 00:01 has two days, and DST changes do not
break a streak (streaks are runs of consecutive local dates, :mod:`.streaks`).

**Writes.** Every write checks its input first and refuses with a
:class:`~forum.services.errors.ServiceError` naming the field (nothing written), then runs
in one transaction. A check-in locks its participant row (``FOR UPDATE``) and then the
member's :class:`~.models.MemberStats` row, so the streak figures are recomputed from the
committed days; ``UNIQUE (camp_id, member_id, day)`` is the last word on "one per day",
also for requests that race. Every movement of points goes through the ledger with an
idempotency key (``checkin:reward:<camp>:<member>:<day>``, ``checkin:streak:<camp>:
<member>:<n>``, ``checkin:makeup:…``, ``checkin:fee:…``, ``checkin:deposit:…``), so nothing
is paid twice.

**Settlement.** A camp with an end date is settled by the periodic job
``checkin-settle`` once its last day is over everywhere (:func:`settle_due_camps`): a
conditional ``UPDATE … WHERE status = 'open'`` lets exactly one run settle it. Completers
(at least ``min_days`` check-ins, or every day from joining to the end) get their deposit
back, plus, with ``forfeit = share``, an equal share of the deposits of those who failed or
left (remainder points to the earliest joiners, :mod:`.settlement`); with ``forfeit =
keep``, or when nobody completed, the camp's owner keeps the forfeited deposits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload

from forum import markup
from forum.extensions import db
from forum.models import Group, Member, PointEscrow, Upload
from forum.models.base import utcnow
from forum.plugin_api import plugin_settings
from forum.services import notifications, permissions, points, site
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.services.paging import Page, page_count
from forum.services.writes import begin_write, upsert_insert

from . import settlement
from .models import (
    Camp,
    Checkin,
    CheckinComment,
    CheckinLike,
    MemberStats,
    MetricValue,
    Participant,
)
from .streaks import live_streak, run_stats

PLUGIN = "checkin"
#: Points ledger reasons.
REASON_REWARD = "checkin_reward"
REASON_STREAK = "checkin_streak_bonus"
REASON_MAKEUP = "checkin_makeup"
REASON_FEE = "checkin_fee"
REASON_DEPOSIT = "checkin_deposit"
REASON_DEPOSIT_BACK = "checkin_deposit_back"
REASON_DEPOSIT_SHARE = "checkin_deposit_share"
REASON_FORFEIT = "checkin_deposit_forfeit"
#: Streak lengths that earn a bonus (settings ``streak_bonus_<n>``), once per camp each.
MILESTONES = (7, 21, 100)
#: Notification kinds.
NOTE_REMINDER = "checkin.reminder"
NOTE_SETTLED = "checkin.settled"
NOTE_COMMENT = "checkin.comment"

CAMPS_PER_PAGE = 20
TITLE_MAX = 120
DESCRIPTION_MAX = 10_000
NOTE_MAX = 2000
COMMENT_MAX = 1000
POINTS_MAX = 1_000_000
METRICS_MAX = 5
LEADERBOARD_BY = ("streak", "total")
PERIODS = ("all", "day", "week", "month")
_METRIC_KEY = re.compile(r"[a-z][a-z0-9_]{0,19}")
#: The zone whose midnight comes last: a camp day is over everywhere after it.
_LAST_ZONE = ZoneInfo("Etc/GMT+12")


def _settings() -> Any:
    return plugin_settings(PLUGIN)


# -- time ----------------------------------------------------------------------------------


def member_zone(member: Member | None) -> ZoneInfo:
    """The member's time zone: theirs, else the site's default (as the core resolves it)."""
    name = (getattr(member, "timezone", "") or "") if member is not None else ""
    for candidate in (name, site.setting("default_timezone"), "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def local_now(member: Member | None, now: datetime | None = None) -> datetime:
    """``now`` (naive UTC, default the current time) in the member's zone (aware)."""
    return (now or utcnow()).replace(tzinfo=UTC).astimezone(member_zone(member))


def local_today(member: Member | None, now: datetime | None = None) -> date:
    """The member's local date at ``now`` (naive UTC, default the current time)."""
    return local_now(member, now).date()


def _site_today(now: datetime | None = None) -> date:
    return local_today(None, now)


def _local_midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    return start.astimezone(UTC).replace(tzinfo=None)


# -- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Streak:
    """A member's streak as it stands today, and their longest."""

    current: int
    longest: int


@dataclass(frozen=True)
class CalendarDay:
    """One day of the heatmap: how many check-ins the member made that (local) day."""

    day: date
    count: int


@dataclass(frozen=True)
class Rank:
    """One line of a leaderboard: the member, the value (an int, or a number with the
    metric's decimals) and the rank (ties share one: 1, 2, 2, 4)."""

    member: Member
    value: int | float
    rank: int


def get_camp(camp_id: int) -> Camp:
    """The camp with this id, or :class:`NotFound`."""
    camp = db.session.get(Camp, camp_id) if isinstance(camp_id, int) else None
    if camp is None:
        raise NotFound(_("There is no such camp."))
    return camp


def get_checkin(checkin_id: int) -> Checkin:
    """The check-in with this id, or :class:`NotFound`."""
    found = db.session.get(Checkin, checkin_id) if isinstance(checkin_id, int) else None
    if found is None:
        raise NotFound(_("There is no such check-in."))
    return found


def get_comment(comment_id: int) -> CheckinComment:
    """The comment with this id (not deleted), or :class:`NotFound`."""
    found = db.session.get(CheckinComment, comment_id) if isinstance(comment_id, int) else None
    if found is None or found.deleted:
        raise NotFound(_("There is no such comment."))
    return found


def camps(viewer: Member | None, *, status: str | None = None, page: int = 1) -> Page:
    """The camps, open ones first, then by start date (newest first); ``status`` one of
    ``open``, ``settling``, ``settled`` filters. Two queries."""
    if status is not None and status not in ("open", "settling", "settled"):
        raise ServiceError(_("Unknown camp status."), "status")
    where = [] if status is None else [Camp.status == status]
    total = db.session.execute(select(func.count()).select_from(Camp).where(*where)).scalar_one()
    pages = page_count(total, CAMPS_PER_PAGE)
    page = min(max(1, int(page)), pages)
    items = list(
        db.session.execute(
            select(Camp)
            .where(*where)
            .order_by(case((Camp.status == "open", 0), else_=1), Camp.starts_on.desc(), Camp.id)
            .limit(CAMPS_PER_PAGE)
            .offset((page - 1) * CAMPS_PER_PAGE)
        ).scalars()
    )
    return Page(items, page, pages, total)


def participant(camp: Camp, member: Member | None) -> Participant | None:
    """The member's place in the camp (any outcome), or None."""
    if member is None or not getattr(member, "is_authenticated", False):
        return None
    return db.session.execute(
        select(Participant).where(
            Participant.camp_id == camp.id, Participant.member_id == member.id
        )
    ).scalar_one_or_none()


def todays_checkin(member: Member | None, camp: Camp, now: datetime | None = None):
    """The member's check-in in the camp for their local today, or None."""
    if member is None or not getattr(member, "is_authenticated", False):
        return None
    return db.session.execute(
        select(Checkin).where(
            Checkin.camp_id == camp.id,
            Checkin.member_id == member.id,
            Checkin.day == local_today(member, now),
        )
    ).scalar_one_or_none()


def streaks(member: Member, camp: Camp | None = None, now: datetime | None = None) -> Streak:
    """The member's current and longest streak in ``camp`` (None: over every camp). The
    current one is 0 when neither today nor yesterday (their local days) is checked."""
    row = db.session.get(MemberStats, member.id) if camp is None else participant(camp, member)
    if row is None:
        return Streak(0, 0)
    today = local_today(member, now)
    return Streak(live_streak(row.current_streak, row.last_day, today), row.longest_streak)


def calendar(
    member: Member, camp: Camp | None = None, *, weeks: int = 26, now: datetime | None = None
) -> list[CalendarDay]:
    """The member's check-ins per local day for the heatmap, oldest first: ``weeks`` whole
    weeks (Monday to Sunday) ending with the current one (days after today count 0). One
    query."""
    weeks = max(1, min(int(weeks), 106))
    today = local_today(member, now)
    last = today + timedelta(days=6 - today.weekday())
    first = last - timedelta(days=7 * weeks - 1)
    where = [Checkin.member_id == member.id, Checkin.day.between(first, last)]
    if camp is not None:
        where.append(Checkin.camp_id == camp.id)
    counts = dict(
        db.session.execute(
            select(Checkin.day, func.count()).where(*where).group_by(Checkin.day)
        ).all()
    )
    return [
        CalendarDay(first + timedelta(days=i), int(counts.get(first + timedelta(days=i), 0)))
        for i in range((last - first).days + 1)
    ]


def makeup_days(member: Member, camp: Camp, now: datetime | None = None) -> list[date]:
    """The missed days a make-up card could fill now (newest first): within
    ``makeup_days`` of today, not before the camp's start or the member's joining, not
    after its end, not checked. Empty for someone not taking part. Two queries."""
    mine = participant(camp, member)
    allowed = int(_settings()["makeup_days"])
    if mine is None or mine.outcome != "active" or camp.status != "open" or allowed <= 0:
        return []
    today = local_today(member, now)
    days = [today - timedelta(days=n) for n in range(1, allowed + 1)]
    days = [
        d
        for d in days
        if d >= camp.starts_on
        and d >= mine.joined_on
        and (camp.ends_on is None or d <= camp.ends_on)
    ]
    if not days:
        return []
    taken = set(
        db.session.execute(
            select(Checkin.day).where(
                Checkin.camp_id == camp.id, Checkin.member_id == member.id, Checkin.day.in_(days)
            )
        ).scalars()
    )
    return [d for d in days if d not in taken]


def feed(camp: Camp, *, page: int = 1, viewer: Member | None = None) -> Page:
    """One page of the camp's check-ins, newest first, with ``author`` and ``upload``
    loaded and ``liked`` set for ``viewer``. Three queries whatever the page size."""
    per_page = int(_settings()["feed_per_page"])
    total = db.session.execute(
        select(func.count()).select_from(Checkin).where(Checkin.camp_id == camp.id)
    ).scalar_one()
    pages = page_count(total, per_page)
    page = min(max(1, int(page)), pages)
    items = list(
        db.session.execute(
            select(Checkin)
            .options(joinedload(Checkin.author), joinedload(Checkin.upload))
            .where(Checkin.camp_id == camp.id)
            .order_by(Checkin.created_at.desc(), Checkin.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).scalars()
    )
    liked: set[int] = set()
    if viewer is not None and getattr(viewer, "is_authenticated", False) and items:
        liked = set(
            db.session.execute(
                select(CheckinLike.checkin_id).where(
                    CheckinLike.member_id == viewer.id,
                    CheckinLike.checkin_id.in_([c.id for c in items]),
                )
            ).scalars()
        )
    for item in items:
        item.liked = item.id in liked
    return Page(items, page, pages, total)


def comments(checkin: Checkin) -> list[CheckinComment]:
    """The comments of a check-in that are not deleted, oldest first, authors loaded."""
    return list(
        db.session.execute(
            select(CheckinComment)
            .where(CheckinComment.checkin_id == checkin.id, CheckinComment.deleted.is_(False))
            .order_by(CheckinComment.created_at, CheckinComment.id)
        ).scalars()
    )


def _period(period: str, now: datetime | None) -> tuple[date, date] | None:
    """The local days (site zone) a leaderboard period covers; None for ``all``."""
    if period not in PERIODS:
        raise ServiceError(_("Unknown period."), "period")
    if period == "all":
        return None
    today = _site_today(now)
    if period == "day":
        return today, today
    if period == "week":
        return today - timedelta(days=today.weekday()), today
    return today.replace(day=1), today


def _metric(camp: Camp, key: str) -> dict[str, Any]:
    for metric in camp.metric_list:
        if metric["key"] == key:
            return metric
    raise ServiceError(_("This camp has no such number."), "by")


def leaderboard(
    camp: Camp,
    *,
    by: str = "streak",
    period: str = "all",
    now: datetime | None = None,
    limit: int = 20,
) -> list[Rank]:
    """The camp's best members: ``by`` ``streak`` (current streak, still running as of
    yesterday in the site's zone; ``period`` does not apply), ``total`` (check-ins) or
    ``metric:<key>`` (the sum of that number), over ``period`` ``all``, ``day``, ``week``
    (from Monday) or ``month`` (local days of the check-ins, periods in the site's zone).
    Members who left are not ranked. One indexed query, whatever the number of members."""
    limit = max(1, min(int(limit), 200))
    span = _period(period, now)
    scale = 1
    if by == "streak":
        yesterday = _site_today(now) - timedelta(days=1)
        value = case(
            (Participant.last_day >= yesterday, Participant.current_streak), else_=0
        ).label("value")
        stmt = (
            select(Member, value)
            .join(Participant, Participant.member_id == Member.id)
            .where(Participant.camp_id == camp.id, Participant.outcome != "left", value > 0)
            .order_by(value.desc(), Participant.longest_streak.desc(), Member.id)
        )
    elif by == "total" and span is None:
        stmt = (
            select(Member, Participant.total.label("value"))
            .join(Participant, Participant.member_id == Member.id)
            .where(
                Participant.camp_id == camp.id,
                Participant.outcome != "left",
                Participant.total > 0,
            )
            .order_by(Participant.total.desc(), Member.id)
        )
    elif by == "total":
        value = func.count(Checkin.id).label("value")
        stmt = (
            select(Member, value)
            .join(Checkin, Checkin.member_id == Member.id)
            .join(
                Participant,
                (Participant.member_id == Member.id) & (Participant.camp_id == camp.id),
            )
            .where(
                Checkin.camp_id == camp.id,
                Checkin.day.between(*span),
                Participant.outcome != "left",
            )
            .group_by(Member.id)
            .order_by(value.desc(), Member.id)
        )
    elif by.startswith("metric:"):
        metric = _metric(camp, by.removeprefix("metric:"))
        scale = 10 ** int(metric.get("decimals") or 0)
        value = func.sum(MetricValue.value).label("value")
        where = [MetricValue.camp_id == camp.id, MetricValue.key == metric["key"]]
        if span is not None:
            where.append(MetricValue.day.between(*span))
        stmt = (
            select(Member, value)
            .join(MetricValue, MetricValue.member_id == Member.id)
            .join(
                Participant,
                (Participant.member_id == Member.id) & (Participant.camp_id == camp.id),
            )
            .where(*where, Participant.outcome != "left")
            .group_by(Member.id)
            .order_by(value.desc(), Member.id)
        )
    else:
        raise ServiceError(_("Unknown leaderboard."), "by")
    ranks: list[Rank] = []
    previous = None
    for position, (member, raw) in enumerate(db.session.execute(stmt.limit(limit)).all(), 1):
        raw = int(raw or 0)
        shown: int | float = raw if scale == 1 else raw / scale
        rank = ranks[-1].rank if previous == raw else position
        ranks.append(Rank(member, shown, rank))
        previous = raw
    return ranks


def trust_facts(member_ids: list[int]) -> dict[int, tuple[int, int]]:
    """member id → (longest overall streak, camps completed), for those with any. One
    query."""
    if not member_ids:
        return {}
    rows = db.session.execute(
        select(MemberStats.member_id, MemberStats.longest_streak, MemberStats.camps_completed)
        .where(MemberStats.member_id.in_(member_ids))
        .where((MemberStats.longest_streak > 0) | (MemberStats.camps_completed > 0))
    ).all()
    return {member_id: (longest, completed) for member_id, longest, completed in rows}


# -- camps ---------------------------------------------------------------------------------


def _signed_in(member: Member | None) -> bool:
    return (
        member is not None
        and getattr(member, "is_authenticated", False)
        and member.status == "active"
        and not member.is_banned
    )


def last_checkins(member_ids: Sequence[int]) -> dict[int, datetime]:
    """member id → when they last checked in (naive UTC), for those of ``member_ids`` who
    ever did; one query. For other plugins judging activity (the membership clean-out)."""
    if not member_ids:
        return {}
    rows = db.session.execute(
        select(Checkin.member_id, func.max(Checkin.created_at))
        .where(Checkin.member_id.in_(list(member_ids)))
        .group_by(Checkin.member_id)
    ).all()
    return dict(rows)


def can_create_camps(member: Member | None) -> bool:
    """Admins, and members of a group named in the ``creator_groups`` setting (group keys,
    comma-separated; ``moderator`` by default), may create camps."""
    if not _signed_in(member):
        return False
    if permissions.is_admin(member):
        return True
    mine = permissions.group_ids(member)
    for key in str(_settings()["creator_groups"] or "").split(","):
        key = key.strip()
        if not key:
            continue
        try:
            if permissions.group_id(key) in mine:
                return True
        except KeyError:
            continue
    return False


def can_edit_camp(member: Member | None, camp: Camp) -> bool:
    """The camp's owner and admins may edit it."""
    return _signed_in(member) and (member.id == camp.owner_id or permissions.is_admin(member))


CAMP_FIELDS = (
    "title",
    "description",
    "starts_on",
    "ends_on",
    "window_start",
    "window_end",
    "require_note",
    "require_photo",
    "metrics",
    "join_group",
    "join_fee",
    "deposit",
    "min_days",
)
#: Fields that cannot change once someone has joined (they are what members agreed to).
_FIXED_AFTER_JOIN = ("starts_on", "join_fee", "deposit", "join_group")


def _int(value: Any, field: str, low: int, high: int, *, optional: bool = False) -> int | None:
    if optional and (value is None or value == ""):
        return None
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,12}", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ServiceError(_("Enter a whole number from %(a)d to %(b)d.", a=low, b=high), field)
    return value


def _number(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ServiceError(_("Enter a number."), field) from None
    if not number.is_finite() or abs(number) > Decimal(10**9):
        raise ServiceError(_("Enter a number."), field)
    return number


def _plain(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def _clean_metrics(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list | tuple) or len(raw) > METRICS_MAX:
        raise ServiceError(_("At most %(n)d numbers per check-in.", n=METRICS_MAX), "metrics")
    cleaned: list[dict[str, Any]] = []
    for item in raw:
        if not isinstance(item, dict):
            raise ServiceError(_("Each number needs a key and a label."), "metrics")
        key = str(item.get("key") or "").strip()
        label = str(item.get("label") or "").strip()
        unit = str(item.get("unit") or "").strip()
        if not _METRIC_KEY.fullmatch(key):
            raise ServiceError(
                _("A number's key is lower-case letters, digits and _ (up to 20)."), "metrics"
            )
        if any(m["key"] == key for m in cleaned):
            raise ServiceError(_("Two numbers have the key %(key)s.", key=key), "metrics")
        if not label or len(label) > 40 or len(unit) > 12:
            raise ServiceError(
                _("A number needs a label (up to 40 characters) and a unit (up to 12)."),
                "metrics",
            )
        decimals = _int(item.get("decimals", 0) or 0, "metrics", 0, 3)
        low = _number(item.get("min", 0), "metrics")
        high = _number(item.get("max", 10**6), "metrics")
        if low > high:
            raise ServiceError(_("A number's minimum is above its maximum."), "metrics")
        cleaned.append(
            {
                "key": key,
                "label": label,
                "unit": unit,
                "min": _plain(low),
                "max": _plain(high),
                "decimals": decimals,
                "required": bool(item.get("required", False)),
            }
        )
    return cleaned


def _clean_camp(values: dict[str, Any]) -> dict[str, Any]:
    """The camp's column values from the merged fields, or ServiceError on the first bad
    one."""
    title = str(values.get("title") or "").strip()
    if not title or len(title) > TITLE_MAX:
        raise ServiceError(_("A title of 1 to %(n)d characters, please.", n=TITLE_MAX), "title")
    description = str(values.get("description") or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise ServiceError(_("At most %(n)d characters.", n=DESCRIPTION_MAX), "description")
    starts_on, ends_on = values.get("starts_on"), values.get("ends_on")
    if not isinstance(starts_on, date) or isinstance(starts_on, datetime):
        raise ServiceError(_("Choose the first day."), "starts_on")
    if ends_on is not None and (not isinstance(ends_on, date) or isinstance(ends_on, datetime)):
        raise ServiceError(_("Choose the last day, or leave it empty."), "ends_on")
    if ends_on is not None and ends_on < starts_on:
        raise ServiceError(_("The last day cannot come before the first."), "ends_on")
    if ends_on is not None and (ends_on - starts_on).days >= 3660:
        raise ServiceError(_("A camp lasts at most ten years."), "ends_on")
    window_start = _int(values.get("window_start", 0), "window_start", 0, 1439)
    window_end = _int(values.get("window_end", 1439), "window_end", 0, 1439)
    if window_start > window_end:
        raise ServiceError(_("The window cannot end before it starts."), "window_end")
    join_fee = _int(values.get("join_fee", 0) or 0, "join_fee", 0, POINTS_MAX)
    deposit = _int(values.get("deposit", 0) or 0, "deposit", 0, POINTS_MAX)
    if deposit and ends_on is None:
        raise ServiceError(
            _("A deposit needs a last day: it is settled when the camp ends."), "deposit"
        )
    length = (ends_on - starts_on).days + 1 if ends_on is not None else 3660
    min_days = _int(values.get("min_days"), "min_days", 1, length, optional=True)
    group = values.get("join_group")
    if group is not None and not isinstance(group, Group):
        raise ServiceError(_("Choose a group."), "join_group")
    if group is not None and group.key == "guest":
        raise ServiceError(_("Guests cannot join camps."), "join_group")
    return {
        "title": title,
        "description": description,
        "description_html": markup.render(description) if description else "",
        "starts_on": starts_on,
        "ends_on": ends_on,
        "window_start": window_start,
        "window_end": window_end,
        "require_note": bool(values.get("require_note", False)),
        "require_photo": bool(values.get("require_photo", False)),
        "metrics": json.dumps(_clean_metrics(values.get("metrics")), ensure_ascii=False),
        "join_group_id": group.id if group is not None else None,
        "join_fee": join_fee,
        "deposit": deposit,
        "min_days": min_days,
    }


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(CAMP_FIELDS)
    if unknown:
        raise TypeError(f"unknown camp fields: {', '.join(sorted(unknown))}")


def create_camp(owner: Member, **fields: Any) -> Camp:
    """A new open camp owned by ``owner`` (who must pass :func:`can_create_camps`).

    Fields: ``title``, ``description`` (Markdown), ``starts_on``, ``ends_on`` (dates; no
    end: open-ended), ``window_start`` / ``window_end`` (minutes of the local day,
    0..1439), ``require_note``, ``require_photo``, ``metrics`` (a list of dicts ``key``,
    ``label``, ``unit``, ``min``, ``max``, ``decimals`` 0..3, ``required``), ``join_group``
    (a :class:`~forum.models.Group` or None for everyone), ``join_fee`` and ``deposit``
    (points; a deposit needs an end date), ``min_days`` (None: every day). Commits."""
    _check_fields(fields)
    if not can_create_camps(owner):
        raise PermissionDenied(_("You may not create camps."))
    values = _clean_camp(fields)
    camp = Camp(owner_id=owner.id, status="open", **values)
    db.session.add(camp)
    db.session.commit()
    return camp


def update_camp(editor: Member, camp: Camp, **fields: Any) -> Camp:
    """Change the given fields of ``camp`` (as :func:`create_camp`); the owner or an admin.
    The start, fee, deposit and group are fixed once someone joined; a settled camp cannot
    change. Commits."""
    _check_fields(fields)
    if not can_edit_camp(editor, camp):
        raise PermissionDenied(_("You may not edit this camp."))
    if camp.status != "open":
        raise ServiceError(_("This camp is settled and can no longer change."), "camp")
    current: dict[str, Any] = {
        "title": camp.title,
        "description": camp.description,
        "starts_on": camp.starts_on,
        "ends_on": camp.ends_on,
        "window_start": camp.window_start,
        "window_end": camp.window_end,
        "require_note": camp.require_note,
        "require_photo": camp.require_photo,
        "metrics": camp.metric_list,
        "join_group": db.session.get(Group, camp.join_group_id) if camp.join_group_id else None,
        "join_fee": camp.join_fee,
        "deposit": camp.deposit,
        "min_days": camp.min_days,
    }
    if camp.member_count > 0 or _has_participants(camp):
        for name in _FIXED_AFTER_JOIN:
            if name in fields and fields[name] != current[name]:
                raise ServiceError(_("This cannot change once members have joined."), name)
        if "metrics" in fields:
            old = {m["key"] for m in current["metrics"]}
            new = {str(m.get("key")) for m in fields["metrics"] or [] if isinstance(m, dict)}
            if not old <= new:
                raise ServiceError(_("Numbers members have entered cannot be removed."), "metrics")
    values = _clean_camp({**current, **fields})
    for name, value in values.items():
        setattr(camp, name, value)
    db.session.commit()
    return camp


def _has_participants(camp: Camp) -> bool:
    return (
        db.session.execute(
            select(Participant.id).where(Participant.camp_id == camp.id).limit(1)
        ).scalar()
        is not None
    )


# -- joining -------------------------------------------------------------------------------


def _camp_reference(camp_id: int) -> str:
    return f"checkin:camp:{camp_id}"


def deposit_key(camp_id: int, member_id: int) -> str:
    """The idempotency key of a member's deposit escrow in a camp."""
    return f"checkin:deposit:{camp_id}:{member_id}"


def join(member: Member, camp: Camp, now: datetime | None = None) -> Participant:
    """Join the camp: the join fee goes to its owner, the deposit is held in escrow until
    settlement. Joining again while taking part returns the same participant; a member who
    left cannot join again. Commits."""
    if not _signed_in(member):
        raise PermissionDenied(_("Sign in to join a camp."))
    if camp.status != "open":
        raise ServiceError(_("This camp has ended."), "camp")
    if camp.ends_on is not None and local_today(member, now) > camp.ends_on:
        raise ServiceError(_("This camp has ended."), "camp")
    mine = participant(camp, member)
    if mine is not None:
        if mine.outcome == "active":
            return mine
        raise ServiceError(_("You left this camp and cannot join it again."), "camp")
    if camp.join_group_id is not None and camp.join_group_id not in permissions.group_ids(member):
        raise ServiceError(_("This camp is for members of another group."), "camp")
    camp_id, member_id, owner_id = camp.id, member.id, camp.owner_id
    fee, deposit = camp.join_fee, camp.deposit
    begin_write()
    try:
        row = Participant(
            camp_id=camp_id,
            member_id=member_id,
            joined_at=now or utcnow(),
            joined_on=local_today(member, now),
            outcome="active",
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
                db.session.flush()
        except IntegrityError:  # joined a moment ago in another request
            db.session.rollback()
            return participant(get_camp(camp_id), member)  # type: ignore[return-value]
        if fee and member_id != owner_id:
            points.transfer(
                member_id,
                owner_id,
                fee,
                REASON_FEE,
                f"checkin:fee:{camp_id}:{member_id}",
                reference=_camp_reference(camp_id),
                commit=False,
            )
        if deposit:
            held = points.escrow(
                member_id,
                deposit,
                REASON_DEPOSIT,
                deposit_key(camp_id, member_id),
                reference=_camp_reference(camp_id),
                commit=False,
            )
            row.escrow_id = held.id
        db.session.execute(
            update(Camp).where(Camp.id == camp_id).values(member_count=Camp.member_count + 1)
        )
        db.session.commit()
    except points.InsufficientBalance as exc:
        db.session.rollback()
        raise ServiceError(
            _(
                "Joining costs %(n)d points (fee and deposit); you have %(have)d.",
                n=fee + deposit if member_id != owner_id else deposit,
                have=exc.available,
            ),
            "points",
        ) from None
    except Exception:
        db.session.rollback()
        raise
    db.session.refresh(camp)
    return row


def leave(member: Member, camp: Camp) -> Participant:
    """Leave the camp. A deposit is forfeited (shared or kept at settlement, as the
    ``forfeit`` setting says); the fee is not returned. Commits."""
    mine = participant(camp, member)
    if mine is None or mine.outcome != "active":
        raise ServiceError(_("You are not taking part in this camp."), "camp")
    if camp.status != "open":
        raise ServiceError(_("This camp has ended."), "camp")
    begin_write()
    try:
        won = db.session.execute(
            update(Participant)
            .where(Participant.id == mine.id, Participant.outcome == "active")
            .values(outcome="left")
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:
            db.session.execute(
                update(Camp)
                .where(Camp.id == camp.id, Camp.member_count > 0)
                .values(member_count=Camp.member_count - 1)
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.refresh(mine)
    db.session.refresh(camp)
    return mine


# -- checking in ---------------------------------------------------------------------------


def _clean_entry(
    member: Member,
    camp: Camp,
    note: str,
    upload: Upload | None,
    metrics: dict[str, Any] | None,
) -> tuple[str, dict[str, Decimal]]:
    """The note and the parsed numbers of a check-in, or ServiceError (field ``note``,
    ``photo``, ``metric_<key>`` or ``metrics``)."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ServiceError(_("At most %(n)d characters.", n=NOTE_MAX), "note")
    if camp.require_note and not note:
        raise ServiceError(_("This camp asks for a note with each check-in."), "note")
    if upload is not None and (not isinstance(upload, Upload) or upload.member_id != member.id):
        raise ServiceError(_("Attach a photo of your own."), "photo")
    if camp.require_photo and upload is None:
        raise ServiceError(_("This camp asks for a photo with each check-in."), "photo")
    raw = dict(metrics or {})
    declared = {m["key"]: m for m in camp.metric_list}
    unknown = [k for k, v in raw.items() if k not in declared and str(v or "").strip()]
    if unknown:
        raise ServiceError(_("This camp has no number called %(key)s.", key=unknown[0]), "metrics")
    values: dict[str, Decimal] = {}
    for key, metric in declared.items():
        text = str(raw.get(key) if raw.get(key) is not None else "").strip()
        field = f"metric_{key}"
        if not text:
            if metric.get("required"):
                raise ServiceError(_("Enter %(label)s.", label=metric["label"]), field)
            continue
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ServiceError(_("Enter a number."), field) from None
        if not number.is_finite():
            raise ServiceError(_("Enter a number."), field)
        low, high = Decimal(str(metric["min"])), Decimal(str(metric["max"]))
        if not low <= number <= high:
            raise ServiceError(
                _(
                    "%(label)s must be from %(min)s to %(max)s.",
                    label=metric["label"],
                    min=metric["min"],
                    max=metric["max"],
                ),
                field,
            )
        decimals = int(metric.get("decimals") or 0)
        if number != number.quantize(Decimal(1).scaleb(-decimals)):
            raise ServiceError(
                _("At most %(n)d digits after the point.", n=decimals)
                if decimals
                else _("Enter a whole number."),
                field,
            )
        values[key] = number
    return note, values


def _active(member: Member, camp: Camp) -> Participant:
    mine = participant(camp, member)
    if mine is None or mine.outcome != "active":
        raise ServiceError(_("Join the camp before checking in."), "camp")
    return mine


def _ensure_stats(member_id: int) -> None:
    table = MemberStats.__table__
    stmt = upsert_insert()(table).values(
        member_id=member_id, current_streak=0, longest_streak=0, total=0, camps_completed=0
    )
    db.session.execute(stmt.on_conflict_do_nothing(index_elements=[table.c.member_id]))


def _lock_stats(member_id: int) -> MemberStats:
    _ensure_stats(member_id)
    return db.session.execute(
        select(MemberStats)
        .where(MemberStats.member_id == member_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _already(camp_id: int, member_id: int, day: date) -> bool:
    return (
        db.session.execute(
            select(Checkin.id).where(
                Checkin.camp_id == camp_id, Checkin.member_id == member_id, Checkin.day == day
            )
        ).scalar()
        is not None
    )


def _duplicate(makeup: bool) -> ServiceError:
    if makeup:
        return ServiceError(_("That day is already checked in."), "day")
    return ServiceError(_("You have already checked in today."), "day")


def _record(
    member: Member,
    camp: Camp,
    day: date,
    note: str,
    upload: Upload | None,
    values: dict[str, Decimal],
    *,
    makeup: bool,
    now: datetime,
) -> Checkin:
    """Write one check-in with its numbers, streaks and points, in one transaction."""
    settings = _settings()
    camp_id, member_id = camp.id, member.id
    metric_defs = {m["key"]: m for m in camp.metric_list}
    begin_write()
    try:
        mine = db.session.execute(
            select(Participant)
            .options(lazyload(Participant.member))
            .where(Participant.camp_id == camp_id, Participant.member_id == member_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if mine is None or mine.outcome != "active":
            raise ServiceError(_("Join the camp before checking in."), "camp")
        stats = _lock_stats(member_id)
        if _already(camp_id, member_id, day):
            raise _duplicate(makeup)
        if makeup:
            _check_makeup_quota(member, now)
            cost = int(settings["makeup_cost"])
            if cost > 0:
                try:
                    points.charge(
                        member_id,
                        cost,
                        REASON_MAKEUP,
                        f"checkin:makeup:{camp_id}:{member_id}:{day.isoformat()}",
                        reference=_camp_reference(camp_id),
                        commit=False,
                    )
                except points.InsufficientBalance as exc:
                    raise ServiceError(
                        _(
                            "A make-up card costs %(n)d points; you have %(have)d.",
                            n=cost,
                            have=exc.available,
                        ),
                        "points",
                    ) from None
        row = Checkin(
            camp_id=camp_id,
            member_id=member_id,
            day=day,
            created_at=now,
            note=note,
            note_html=markup.render(note) if note else "",
            upload_id=upload.id if upload is not None else None,
            metrics=json.dumps({k: _plain(v) for k, v in values.items()}),
            makeup=makeup,
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
                db.session.flush()
        except IntegrityError:
            raise _duplicate(makeup) from None
        for key, number in values.items():
            scale = 10 ** int(metric_defs[key].get("decimals") or 0)
            db.session.add(
                MetricValue(
                    checkin_id=row.id,
                    camp_id=camp_id,
                    member_id=member_id,
                    key=key,
                    day=day,
                    value=int(number * scale),
                )
            )
        db.session.execute(
            update(Camp).where(Camp.id == camp_id).values(checkin_count=Camp.checkin_count + 1)
        )
        before = mine.longest_streak
        _refresh(mine, stats)
        if not makeup and int(settings["checkin_points"]) > 0:
            points.award(
                member_id,
                int(settings["checkin_points"]),
                REASON_REWARD,
                f"checkin:reward:{camp_id}:{member_id}:{day.isoformat()}",
                reference=f"checkin:checkin:{row.id}",
                commit=False,
            )
        for length in MILESTONES:
            bonus = int(settings[f"streak_bonus_{length}"])
            if bonus > 0 and before < length <= mine.longest_streak:
                points.award(
                    member_id,
                    bonus,
                    REASON_STREAK,
                    f"checkin:streak:{camp_id}:{member_id}:{length}",
                    reference=_camp_reference(camp_id),
                    commit=False,
                )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return row


def _refresh(mine: Participant, stats: MemberStats) -> None:
    """Recompute the participant's and the member's streak figures from their days (the
    rows are locked by the caller)."""
    days = db.session.execute(
        select(Checkin.day).where(
            Checkin.camp_id == mine.camp_id, Checkin.member_id == mine.member_id
        )
    ).scalars()
    here = run_stats(days)
    mine.total, mine.current_streak = here.total, here.current
    mine.longest_streak, mine.last_day = here.longest, here.last_day
    every = run_stats(
        db.session.execute(
            select(Checkin.day).where(Checkin.member_id == mine.member_id).distinct()
        ).scalars()
    )
    stats.total, stats.current_streak = every.total, every.current
    stats.longest_streak, stats.last_day = every.longest, every.last_day


def _check_makeup_quota(member: Member, now: datetime) -> None:
    limit = int(_settings()["makeup_per_month"])
    today = local_today(member, now)
    since = _local_midnight_utc(today.replace(day=1), member_zone(member))
    used = db.session.execute(
        select(func.count())
        .select_from(Checkin)
        .where(
            Checkin.member_id == member.id, Checkin.makeup.is_(True), Checkin.created_at >= since
        )
    ).scalar_one()
    if used >= limit:
        raise ServiceError(_("You have used your %(n)d make-up cards this month.", n=limit), "day")


def check_in(
    member: Member,
    camp: Camp,
    *,
    note: str = "",
    upload: Upload | None = None,
    metrics: dict[str, str] | None = None,
    now: datetime | None = None,
) -> Checkin:
    """Check in for the member's local today: once a day (the database refuses a second,
    also a concurrent one), within the camp's dates and daily window, with the note, photo
    and numbers it asks for. Pays ``checkin_points`` and the streak bonuses (7, 21, 100
    days in this camp, once each). Commits.

    Refusals: ``camp`` (not joined, not running), ``window``, ``day`` (already checked
    in), ``note``, ``photo``, ``metric_<key>``, ``metrics``."""
    if not _signed_in(member):
        raise PermissionDenied(_("Sign in to check in."))
    now = now or utcnow()
    _active(member, camp)
    if camp.status != "open":
        raise ServiceError(_("This camp has ended."), "camp")
    local = local_now(member, now)
    today = local.date()
    if today < camp.starts_on:
        raise ServiceError(_("The camp starts on %(day)s.", day=camp.starts_on.isoformat()), "camp")
    if camp.ends_on is not None and today > camp.ends_on:
        raise ServiceError(_("This camp has ended."), "camp")
    minute = local.hour * 60 + local.minute
    if not camp.window_start <= minute <= camp.window_end:
        raise ServiceError(
            _(
                "Check-ins are open from %(start)s to %(end)s.",
                start=format_minute(camp.window_start),
                end=format_minute(camp.window_end),
            ),
            "window",
        )
    if _already(camp.id, member.id, today):
        raise _duplicate(False)
    clean_note, values = _clean_entry(member, camp, note, upload, metrics)
    return _record(member, camp, today, clean_note, upload, values, makeup=False, now=now)


def make_up(
    member: Member,
    camp: Camp,
    day: date,
    *,
    note: str = "",
    upload: Upload | None = None,
    metrics: dict[str, str] | None = None,
    now: datetime | None = None,
) -> Checkin:
    """Fill a missed ``day`` with a make-up card: a past day within ``makeup_days``, not
    before the camp's start or the member's joining, not after its end, not checked yet,
    at most ``makeup_per_month`` cards a month (the member's local month), for
    ``makeup_cost`` points. Counts for streaks (and their bonuses) but earns no check-in
    points. Commits. Refusals name ``day``, ``points``, or a field as :func:`check_in`."""
    if not _signed_in(member):
        raise PermissionDenied(_("Sign in to check in."))
    now = now or utcnow()
    mine = _active(member, camp)
    if camp.status != "open":
        raise ServiceError(_("This camp has ended."), "camp")
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ServiceError(_("Choose a day."), "day")
    today = local_today(member, now)
    allowed = int(_settings()["makeup_days"])
    if day >= today:
        raise ServiceError(_("A make-up card is for a past day."), "day")
    if (today - day).days > allowed:
        raise ServiceError(_("Make-up cards reach back at most %(n)d days.", n=allowed), "day")
    if day < camp.starts_on or day < mine.joined_on:
        raise ServiceError(_("You were not in the camp on that day."), "day")
    if camp.ends_on is not None and day > camp.ends_on:
        raise ServiceError(_("The camp had ended by that day."), "day")
    if _already(camp.id, member.id, day):
        raise _duplicate(True)
    _check_makeup_quota(member, now)
    clean_note, values = _clean_entry(member, camp, note, upload, metrics)
    return _record(member, camp, day, clean_note, upload, values, makeup=True, now=now)


def format_minute(minute: int) -> str:
    """Minutes of the day as ``HH:MM``."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


# -- likes and comments --------------------------------------------------------------------


def toggle_like(member: Member, checkin: Checkin) -> bool:
    """Like the check-in, or take the like back; True when it is liked now. Not one's
    own. Commits."""
    if not _signed_in(member):
        raise PermissionDenied(_("Sign in to like check-ins."))
    if checkin.member_id == member.id:
        raise ServiceError(_("You cannot like your own check-in."), "like")
    checkin_id, member_id = checkin.id, member.id
    begin_write()
    try:
        try:
            with db.session.begin_nested():
                db.session.add(CheckinLike(checkin_id=checkin_id, member_id=member_id))
                db.session.flush()
            liked, step = True, 1
        except IntegrityError:
            gone = db.session.execute(
                delete(CheckinLike).where(
                    CheckinLike.checkin_id == checkin_id, CheckinLike.member_id == member_id
                )
            ).rowcount
            liked, step = False, -1 if gone else 0
        if step:
            db.session.execute(
                update(Checkin)
                .where(Checkin.id == checkin_id)
                .values(like_count=Checkin.like_count + step)
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.refresh(checkin)
    return liked


def has_liked(member: Member | None, checkin: Checkin) -> bool:
    """True when ``member`` likes the check-in (False for guests). One query."""
    if member is None or not getattr(member, "is_authenticated", False):
        return False
    return (
        db.session.execute(
            select(CheckinLike.checkin_id).where(
                CheckinLike.checkin_id == checkin.id, CheckinLike.member_id == member.id
            )
        ).scalar()
        is not None
    )


def comment(member: Member, checkin: Checkin, body: str) -> CheckinComment:
    """Comment on a check-in (Markdown, 1 to 1000 characters); its author is notified.
    Commits."""
    if not _signed_in(member):
        raise PermissionDenied(_("Sign in to comment."))
    body = (body or "").strip()
    if not body or len(body) > COMMENT_MAX:
        raise ServiceError(_("A comment of 1 to %(n)d characters, please.", n=COMMENT_MAX), "body")
    camp = db.session.get(Camp, checkin.camp_id)
    try:
        row = CheckinComment(
            checkin_id=checkin.id,
            author_id=member.id,
            body=body,
            body_html=markup.render(body),
            created_at=utcnow(),
        )
        db.session.add(row)
        db.session.execute(
            update(Checkin)
            .where(Checkin.id == checkin.id)
            .values(comment_count=Checkin.comment_count + 1)
        )
        notifications.notify(
            checkin.member_id,
            NOTE_COMMENT,
            actor_id=member.id,
            title=camp.title if camp is not None else "",
            url=checkin_url(checkin),
            data={"day": checkin.day.isoformat()},
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.refresh(checkin)
    return row


def checkin_url(checkin: Checkin) -> str:
    """Where a check-in is shown: its camp's page, at its anchor."""
    return f"/checkin/c/{checkin.camp_id}#checkin-{checkin.id}"


def can_delete_comment(member: Member | None, row: CheckinComment) -> bool:
    """Its author, the camp's owner and admins may delete a comment."""
    if not _signed_in(member):
        return False
    if member.id == row.author_id or permissions.is_admin(member):
        return True
    owner = db.session.execute(
        select(Camp.owner_id)
        .join(Checkin, Checkin.camp_id == Camp.id)
        .where(Checkin.id == row.checkin_id)
    ).scalar()
    return owner == member.id


def delete_comment(member: Member, row: CheckinComment) -> None:
    """Delete a comment (kept, marked deleted). Commits."""
    if not can_delete_comment(member, row):
        raise PermissionDenied(_("You may not delete this comment."))
    try:
        won = db.session.execute(
            update(CheckinComment)
            .where(CheckinComment.id == row.id, CheckinComment.deleted.is_(False))
            .values(deleted=True)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:
            db.session.execute(
                update(Checkin)
                .where(Checkin.id == row.checkin_id, Checkin.comment_count > 0)
                .values(comment_count=Checkin.comment_count - 1)
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.refresh(row)


# -- reminders -----------------------------------------------------------------------------


def reminder_hour(member: Member) -> int | None:
    """The local hour the member is reminded at (None: no reminder)."""
    row = db.session.get(MemberStats, member.id)
    return row.reminder_hour if row is not None else None


def set_reminder_hour(member: Member, hour: int | None) -> None:
    """Remind the member at ``hour`` (0..23, their local time) on days they have not
    checked in yet; None: no reminders. Commits."""
    if not _signed_in(member):
        raise PermissionDenied(_("Sign in first."))
    if hour is not None:
        hour = _int(hour, "reminder_hour", 0, 23)
    try:
        _ensure_stats(member.id)
        db.session.execute(
            update(MemberStats).where(MemberStats.member_id == member.id).values(reminder_hour=hour)
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def send_reminders(now: datetime | None = None) -> int:
    """The hourly job ``checkin-remind``: tell each member whose reminder hour it is (in
    their zone) and who has not checked in today in a running camp they take part in.
    Once per member and local day (``reminded_on``). Returns how many were told."""
    now = now or utcnow()
    candidates = db.session.execute(
        select(MemberStats.member_id, MemberStats.reminder_hour, MemberStats.reminded_on, Member)
        .join(Member, Member.id == MemberStats.member_id)
        .where(MemberStats.reminder_hour.is_not(None), Member.status == "active")
    ).all()
    due: dict[int, date] = {}
    for member_id, hour, reminded_on, member in candidates:
        local = local_now(member, now)
        if local.hour == hour and (reminded_on is None or reminded_on < local.date()):
            due[member_id] = local.date()
    if not due:
        return 0
    ids = list(due)
    running: dict[int, list[int]] = {}
    for member_id, camp_id, starts_on, ends_on in db.session.execute(
        select(Participant.member_id, Camp.id, Camp.starts_on, Camp.ends_on)
        .join(Camp, Camp.id == Participant.camp_id)
        .where(
            Participant.member_id.in_(ids),
            Participant.outcome == "active",
            Camp.status == "open",
        )
    ):
        today = due[member_id]
        if starts_on <= today and (ends_on is None or today <= ends_on):
            running.setdefault(member_id, []).append(camp_id)
    days = set(due.values())
    checked = {
        (m, c)
        for m, c, d in db.session.execute(
            select(Checkin.member_id, Checkin.camp_id, Checkin.day).where(
                Checkin.member_id.in_(ids), Checkin.day.in_(days)
            )
        )
        if d == due[m]
    }
    told = 0
    try:
        for member_id, camp_ids in running.items():
            missing = [c for c in camp_ids if (member_id, c) not in checked]
            if not missing:
                continue
            today = due[member_id]
            won = db.session.execute(
                update(MemberStats)
                .where(
                    MemberStats.member_id == member_id,
                    (MemberStats.reminded_on.is_(None)) | (MemberStats.reminded_on < today),
                )
                .values(reminded_on=today)
            ).rowcount
            if won != 1:
                continue
            url = f"/checkin/c/{missing[0]}" if len(missing) == 1 else "/checkin/"
            notifications.notify(member_id, NOTE_REMINDER, url=url, data={"camps": len(missing)})
            told += 1
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return told


# -- settlement ----------------------------------------------------------------------------


def required_days(camp: Camp, mine: Participant) -> int:
    """How many check-ins complete the camp for this participant: ``min_days``, or every
    day from the later of the start and their joining to the end."""
    if camp.min_days:
        return camp.min_days
    if camp.ends_on is None:
        return 0
    return (camp.ends_on - max(camp.starts_on, mine.joined_on)).days + 1


def due_camp_ids(now: datetime | None = None) -> list[int]:
    """Open camps whose last day is over in every time zone."""
    last_zone_today = (now or utcnow()).replace(tzinfo=UTC).astimezone(_LAST_ZONE).date()
    return list(
        db.session.execute(
            select(Camp.id)
            .where(Camp.status == "open", Camp.ends_on.is_not(None), Camp.ends_on < last_zone_today)
            .order_by(Camp.id)
        ).scalars()
    )


def settle_due_camps(now: datetime | None = None) -> int:
    """The periodic job ``checkin-settle``: settle every camp that is due (each in its own
    transaction, exactly once even when two workers run it). Returns how many it settled."""
    settled = 0
    for camp_id in due_camp_ids(now):
        if settle_camp(camp_id, now):
            settled += 1
    return settled


def settle_camp(camp_id: int, now: datetime | None = None) -> bool:
    """Settle one camp: outcomes, deposits back, forfeited deposits shared or kept,
    everyone told. False when it was settled already (by another run). Commits."""
    now = now or utcnow()
    begin_write()
    try:
        won = db.session.execute(
            update(Camp)
            .where(Camp.id == camp_id, Camp.status == "open")
            .values(status="settled", settled_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            db.session.rollback()
            return False
        camp = db.session.get(Camp, camp_id)
        db.session.refresh(camp)
        everyone = list(
            db.session.execute(
                select(Participant).where(Participant.camp_id == camp_id).order_by(Participant.id)
            ).scalars()
        )
        completed = [
            p for p in everyone if p.outcome == "active" and p.total >= required_days(camp, p)
        ]
        done = {p.id for p in completed}
        failed = [p for p in everyone if p.outcome == "active" and p.id not in done]
        for rows, outcome in ((completed, "completed"), (failed, "failed")):
            if rows:
                db.session.execute(
                    update(Participant)
                    .where(Participant.id.in_([p.id for p in rows]))
                    .values(outcome=outcome)
                    .execution_options(synchronize_session=False)
                )
        for p in completed:
            _ensure_stats(p.member_id)
        if completed:
            db.session.execute(
                update(MemberStats)
                .where(MemberStats.member_id.in_(sorted(p.member_id for p in completed)))
                .values(camps_completed=MemberStats.camps_completed + 1)
            )
        paid = _settle_deposits(camp, everyone, completed)
        for p in completed + failed:
            notifications.notify(
                p.member_id,
                NOTE_SETTLED,
                title=camp.title,
                url=f"/checkin/c/{camp_id}",
                data={
                    "outcome": "completed" if p.id in done else "failed",
                    "back": paid.get(p.member_id, 0),
                    "deposit": _escrow_amount(p),
                },
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return True


def _escrow_amount(p: Participant) -> int:
    if p.escrow_id is None:
        return 0
    held = db.session.get(PointEscrow, p.escrow_id)
    return held.amount if held is not None else 0


def _settle_deposits(
    camp: Camp, everyone: list[Participant], completed: list[Participant]
) -> dict[int, int]:
    """Pay the camp's held deposits (no commit); member id → points they received."""
    ids = [p.escrow_id for p in everyone if p.escrow_id is not None]
    held = (
        {
            e.id: e
            for e in db.session.execute(
                select(PointEscrow).where(PointEscrow.id.in_(ids), PointEscrow.status == "held")
            ).scalars()
        }
        if ids
        else {}
    )
    done = {p.id for p in completed}
    received: dict[int, int] = {}
    for p in completed:
        escrow = held.get(p.escrow_id) if p.escrow_id is not None else None
        if escrow is not None:
            points.refund(
                escrow,
                deposit_key(camp.id, p.member_id) + ":back",
                reason=REASON_DEPOSIT_BACK,
                commit=False,
            )
            received[p.member_id] = received.get(p.member_id, 0) + escrow.amount
    pots = [
        (p, held[p.escrow_id])
        for p in everyone
        if p.id not in done and p.escrow_id is not None and p.escrow_id in held
    ]
    if not pots:
        return received
    if _settings()["forfeit"] == "share" and completed:
        pool = sum(e.amount for _p, e in pots)
        targets = settlement.shares(pool, [p.member_id for p in completed])
        plan = settlement.allocate([(p.id, e.amount) for p, e in pots], targets)
        for p, escrow in pots:
            points.release_split(
                escrow,
                plan[p.id],
                deposit_key(camp.id, p.member_id) + ":forfeit",
                reason=REASON_DEPOSIT_SHARE,
                commit=False,
            )
        for member_id, amount in targets:
            received[member_id] = received.get(member_id, 0) + amount
    else:
        for p, escrow in pots:
            points.release(
                escrow,
                camp.owner_id,
                deposit_key(camp.id, p.member_id) + ":forfeit",
                reason=REASON_FORFEIT,
                commit=False,
            )
    return received
