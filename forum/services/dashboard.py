"""What the admin dashboard shows: new members, posts per day, totals, the moderation queue,
plugin health and the latest moderation log entries.

Read-only, and a fixed number of queries whatever the amount of data: the member figures are
one aggregate, the totals one, posts per day one ``GROUP BY`` (bucketed by the site's days,
see :func:`posts_per_day`), the queue one count, the log one query, plugin health two (the
database's tables and ``alembic_version``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from forum import plugins
from forum.extensions import db
from forum.models import Member, Post, Thread
from forum.models.base import utcnow
from forum.models.moderation import ModerationLog
from forum.services import moderation, plugin_state

#: How many days the posts-per-day chart covers (today included).
CHART_DAYS = 30
#: How many moderation log entries the dashboard lists.
LOG_ENTRIES = 5


@dataclass(frozen=True)
class MemberFigures:
    """New members in the site's today / last 7 / last 30 days, and members by status."""

    total: int
    today: int
    week: int
    month: int
    pending: int
    banned: int


@dataclass(frozen=True)
class DayCount:
    """Posts written on one day of the site's calendar."""

    day: date
    count: int


@dataclass(frozen=True)
class PluginHealth:
    """One installed plugin as the dashboard reports it.

    ``pending`` is None for a broken plugin (what its tables should be is not known).
    """

    name: str
    label: str
    enabled: bool
    error: str
    pending: bool | None

    @property
    def healthy(self) -> bool:
        """Loaded and migrated (whether it is switched on or not)."""
        return not self.error and not self.pending


@dataclass(frozen=True)
class LogLine:
    """A moderation log entry with the names of who acted and whom it concerned."""

    id: int
    created_at: datetime
    action: str
    target_type: str
    target_id: int | None
    reason: str
    details: dict
    actor: str | None
    subject: str | None


@dataclass(frozen=True)
class Dashboard:
    """Everything on ``/admin``."""

    members: MemberFigures
    threads: int
    posts: int
    queue: int
    days: list[DayCount]
    plugins: list[PluginHealth]
    log: list[LogLine]

    @property
    def posts_in_chart(self) -> int:
        """All posts of the chart's days."""
        return sum(d.count for d in self.days)

    @property
    def busiest(self) -> int:
        """The highest day of the chart (0 when nothing was posted)."""
        return max((d.count for d in self.days), default=0)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of ``day`` in ``zone`` as naive UTC, as the database stores times."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def site_today(zone: ZoneInfo, now: datetime | None = None) -> date:
    """Today's date in ``zone`` (``now``: naive UTC, default the current time)."""
    now = now or utcnow()
    return now.replace(tzinfo=UTC).astimezone(zone).date()


def member_figures(zone: ZoneInfo, now: datetime | None = None) -> MemberFigures:
    """New members since the start of today, of the last 7 and of the last 30 days (days of
    ``zone``, today included), and how many members there are, wait for approval and are
    banned now. One query."""
    now = now or utcnow()
    today = site_today(zone, now)
    starts = [local_midnight(today - timedelta(days=n), zone) for n in (0, 6, 29)]

    def since(start: datetime):
        return func.coalesce(func.sum(case((Member.created_at >= start, 1), else_=0)), 0)

    banned_now = and_(
        Member.status == "banned",
        or_(Member.banned_until.is_(None), Member.banned_until > now),
    )
    row = db.session.execute(
        select(
            func.count(Member.id),
            *(since(start) for start in starts),
            func.coalesce(func.sum(case((Member.status == "pending", 1), else_=0)), 0),
            func.coalesce(func.sum(case((banned_now, 1), else_=0)), 0),
        )
    ).one()
    return MemberFigures(*(int(v) for v in row))


def totals() -> tuple[int, int]:
    """(threads, posts) that are not deleted. One query."""
    threads = select(func.count(Thread.id)).where(Thread.deleted_at.is_(None)).scalar_subquery()
    posts = select(func.count(Post.id)).where(Post.deleted_at.is_(None)).scalar_subquery()
    row = db.session.execute(select(threads, posts)).one()
    return int(row[0]), int(row[1])


def posts_per_day(
    zone: ZoneInfo, days: int = CHART_DAYS, now: datetime | None = None
) -> list[DayCount]:
    """Posts (not deleted, any state) written on each of the last ``days`` days of ``zone``,
    oldest first, today last, days without posts as 0.

    One ``GROUP BY`` query on both SQLite and PostgreSQL: the database stores naive UTC, and
    a site day starts at its own local midnight (an offset that may change with daylight
    saving time inside the range), so the bucket is a ``CASE`` over the days' start times in
    UTC rather than a date function of either database.
    """
    now = now or utcnow()
    today = site_today(zone, now)
    first = today - timedelta(days=days - 1)
    bounds = [local_midnight(first + timedelta(days=n), zone) for n in range(days + 1)]
    bucket = case(
        *((Post.created_at < bounds[n + 1], n) for n in range(days - 1)),
        else_=days - 1,
    ).label("bucket")
    recent = (
        select(bucket)
        .where(
            Post.created_at >= bounds[0],
            Post.created_at < bounds[-1],
            Post.deleted_at.is_(None),
        )
        .subquery()
    )
    # Grouped outside: PostgreSQL would not match a GROUP BY copy of the bound CASE.
    rows = db.session.execute(select(recent.c.bucket, func.count()).group_by(recent.c.bucket)).all()
    counts = {int(n): int(c) for n, c in rows}
    return [DayCount(first + timedelta(days=n), counts.get(n, 0)) for n in range(days)]


def queue_size() -> int:
    """Open cases in the moderation queue (reports and held posts, every board). One query."""
    return moderation.open_cases()


def plugin_health() -> list[PluginHealth]:
    """Every installed plugin (broken ones too): switched on, its load error, whether its
    tables or migrations are still to be applied. At most two queries for all of them."""
    infos = plugins.manager().all()
    enabled = plugin_state.enabled_names()
    pending = plugin_state.plugins_with_pending_migrations(infos)
    return [
        PluginHealth(
            name=info.name,
            label=info.label,
            enabled=info.name in enabled,
            error=info.error,
            pending=None if info.broken else info.name in pending,
        )
        for info in infos
    ]


def recent_log(limit: int = LOG_ENTRIES) -> list[LogLine]:
    """The latest ``limit`` moderation log entries, newest first, with the usernames of the
    actor and the subject. One query."""
    actor = aliased(Member)
    subject = aliased(Member)
    rows = db.session.execute(
        select(
            ModerationLog.id,
            ModerationLog.created_at,
            ModerationLog.action,
            ModerationLog.target_type,
            ModerationLog.target_id,
            ModerationLog.reason,
            ModerationLog.details,
            actor.username,
            subject.username,
        )
        .outerjoin(actor, actor.id == ModerationLog.actor_id)
        .outerjoin(subject, subject.id == ModerationLog.subject_id)
        .order_by(ModerationLog.id.desc())
        .limit(limit)
    ).all()
    return [LogLine(*row) for row in rows]


def dashboard(zone: ZoneInfo) -> Dashboard:
    """Everything the dashboard shows, with days in ``zone`` (the site's time zone)."""
    threads, posts = totals()
    return Dashboard(
        members=member_figures(zone),
        threads=threads,
        posts=posts,
        queue=queue_size(),
        days=posts_per_day(zone),
        plugins=plugin_health(),
        log=recent_log(),
    )
