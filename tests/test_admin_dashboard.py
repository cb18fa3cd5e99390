"""The admin dashboard (``/admin/``): new members, posts per day in the site's days, totals,
the moderation queue, plugin health, the latest moderation log entries, and a fixed number
of queries."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text, update

from forum.extensions import db as _db
from forum.models import Member, Post
from forum.models.base import utcnow
from forum.models.moderation import ModerationLog, ReportCase
from forum.services import dashboard, members, posting, site

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def app_config():
    return {"EXTRA_PLUGINS": {"sample": "tests.sample_plugin", "ghost": "tests.no_such_module"}}


@pytest.fixture
def admin(make_member):
    return make_member("boss", groups=("admin",), locale="en")


@pytest.fixture
def admin_client(client, login, admin):
    return login(client, admin)


def page_text(response) -> str:
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def stat(page: str, label: str) -> str:
    """The number of the dashboard tile labelled ``label``."""
    match = re.search(rf"<dt>{re.escape(label)}</dt>\s*<dd>(?:<a [^>]*>)?(\d+)", page, re.S)
    assert match, f"no tile {label!r}"
    return match.group(1)


def posts_at(author, board, times: list[datetime], *, deleted: int = 0) -> None:
    """A thread whose posts were written at ``times`` (naive UTC); the last ``deleted``
    of them soft-deleted."""
    thread = posting.create_thread(author, board, "统计", "第一帖")
    for _ in times[1:]:
        posting.reply(author, thread, "回复")
    posts = (
        _db.session.execute(
            _db.select(Post).where(Post.thread_id == thread.id).order_by(Post.number)
        )
        .scalars()
        .all()
    )
    for post, when in zip(posts, times, strict=True):
        post.created_at = when
    for post in posts[len(posts) - deleted :] if deleted else []:
        post.deleted_at = utcnow()
    _db.session.commit()


# -- the numbers ------------------------------------------------------------------------------


def test_posts_per_day_use_the_site_days(app, make_member, make_board):
    author = make_member("writer")
    board = make_board("stats")
    today = dashboard.site_today(SHANGHAI)
    midnight = dashboard.local_midnight(today, SHANGHAI)  # 16:00 UTC the day before
    five_ago = dashboard.local_midnight(today - timedelta(days=5), SHANGHAI)
    posts_at(
        author,
        board,
        [
            midnight + timedelta(minutes=1),  # 00:01 today in Shanghai, still "yesterday" in UTC
            midnight + timedelta(minutes=2),
            midnight - timedelta(minutes=1),  # 23:59 yesterday
            five_ago + timedelta(hours=3),
            five_ago + timedelta(hours=4),
            five_ago + timedelta(hours=23, minutes=59),
            dashboard.local_midnight(today - timedelta(days=29), SHANGHAI),  # first chart day
            dashboard.local_midnight(today - timedelta(days=30), SHANGHAI),  # one day too old
            midnight + timedelta(minutes=3),  # deleted: not counted
        ],
        deleted=1,
    )
    days = dashboard.posts_per_day(SHANGHAI)
    assert len(days) == 30
    assert days[-1].day == today and days[0].day == today - timedelta(days=29)
    by_day = {d.day: d.count for d in days}
    assert by_day[today] == 2
    assert by_day[today - timedelta(days=1)] == 1
    assert by_day[today - timedelta(days=5)] == 3
    assert by_day[today - timedelta(days=29)] == 1
    assert sum(by_day.values()) == 7


def test_posts_per_day_across_a_daylight_saving_change(app, make_member, make_board):
    # New York moved from UTC-5 to UTC-4 on 2025-03-09: the days before and after start at
    # different UTC hours, and one bucket query still puts each post on its local day.
    zone = ZoneInfo("America/New_York")
    author = make_member("writer")
    posts_at(
        author,
        make_board("dst"),
        [
            datetime(2025, 3, 8, 4, 30),  # 03-07 23:30 EST
            datetime(2025, 3, 8, 5, 30),  # 03-08 00:30 EST
            datetime(2025, 3, 10, 3, 30),  # 03-09 23:30 EDT
            datetime(2025, 3, 10, 4, 30),  # 03-10 00:30 EDT
            datetime(2025, 3, 12, 3, 59),  # 03-11 23:59 EDT
        ],
    )
    days = dashboard.posts_per_day(zone, days=7, now=datetime(2025, 3, 12, 3, 59, 30))
    assert [(d.day.isoformat(), d.count) for d in days] == [
        ("2025-03-05", 0),
        ("2025-03-06", 0),
        ("2025-03-07", 1),
        ("2025-03-08", 1),
        ("2025-03-09", 1),
        ("2025-03-10", 1),
        ("2025-03-11", 1),
    ]


def test_member_figures_count_the_site_days(app, make_member, db, admin):
    today = dashboard.site_today(SHANGHAI)
    midnight = dashboard.local_midnight(today, SHANGHAI)
    ages = {
        "just_now": utcnow() - timedelta(seconds=1),
        "last_night": midnight - timedelta(minutes=1),  # yesterday: week, not today
        "week_edge": dashboard.local_midnight(today - timedelta(days=6), SHANGHAI),
        "eight_days": dashboard.local_midnight(today - timedelta(days=7), SHANGHAI),
        "month_edge": dashboard.local_midnight(today - timedelta(days=29), SHANGHAI),
        "old_timer": dashboard.local_midnight(today - timedelta(days=30), SHANGHAI),
    }
    for name, when in ages.items():
        make_member(name, created_at=when)
    make_member("waiting", status="pending", created_at=ages["old_timer"])
    make_member("ex_banned", status="banned", banned_until=utcnow() - timedelta(days=1))
    make_member("banned", status="banned", created_at=ages["old_timer"])
    db.session.execute(
        update(Member).where(Member.id == admin.id).values(created_at=ages["old_timer"])
    )
    db.session.commit()
    figures = dashboard.member_figures(SHANGHAI)
    # "ex_banned" was made now (today) like "just_now"; its ban has ended.
    assert figures == dashboard.MemberFigures(
        total=10, today=2, week=4, month=6, pending=1, banned=1
    )


def test_the_dashboard_page(admin_client, app, make_member, make_board, db, admin):
    site.update_settings({"default_timezone": "Asia/Shanghai"})
    board = make_board("stats")
    author = make_member("writer")
    today = dashboard.site_today(SHANGHAI)
    posts_at(
        author,
        board,
        [utcnow(), utcnow(), dashboard.local_midnight(today - timedelta(days=2), SHANGHAI)],
    )
    make_member("waiting", status="pending")
    for n, status in enumerate(["open", "open", "resolved"]):
        db.session.add(ReportCase(target_type="member", target_id=author.id + n, status=status))
    for n in range(7):
        db.session.add(
            ModerationLog(
                actor_id=admin.id,
                action="ban",
                target_type="member",
                target_id=author.id,
                subject_id=author.id,
                reason=f"reason {n}",
            )
        )
    db.session.commit()

    page = page_text(admin_client.get("/admin/"))
    assert stat(page, "New today") == "3"  # boss, writer, waiting
    assert stat(page, "Waiting for approval") == "1"
    assert stat(page, "Moderation queue") == "2"
    assert stat(page, "Members") == "3"
    assert stat(page, "Threads") == "1"
    assert stat(page, "Posts") == "3"
    assert "/admin/members?status=pending" in page
    # The chart: one bar per day with its number as a tooltip, and the same as a table.
    assert page.count('class="dash-day') == 30
    assert f"<title>{today.isoformat()}: 2 posts</title>" in page
    two_ago = (today - timedelta(days=2)).isoformat()
    assert f"<title>{two_ago}: 1 post</title>" in page
    assert f"<tr><td>{two_ago}</td><td>1</td></tr>" in page
    assert "3 posts in the last 30 days" in page
    # The five latest log entries, newest first.
    assert "reason 6" in page and "reason 2" in page and "reason 1" not in page
    assert page.index("reason 6") < page.index("reason 2")
    assert "boss banned" in page
    # The approve button comes back to the dashboard.
    waiting = members.get_by_username("waiting")
    assert f"/admin/members/{waiting.id}/approve?next=/admin/" in page


def test_plugin_health(admin_client, app, db, enable_plugin):
    rows = {p.name: p for p in dashboard.plugin_health()}
    assert not rows["sample"].enabled and rows["sample"].pending is False
    assert rows["ghost"].error and rows["ghost"].pending is None and not rows["ghost"].healthy
    enable_plugin("sample")
    assert {p.name: p.enabled for p in dashboard.plugin_health()}["sample"] is True
    page = page_text(admin_client.get("/admin/"))
    section = page[page.index('id="plugins"') :]
    assert "sample" in section and "enabled" in section and "broken" in section
    assert "database upgrade needed" not in section

    # The sample plugin's table missing: its migrations are pending.
    db.session.execute(text("DROP TABLE sample_note"))
    db.session.commit()
    assert {p.name: p.pending for p in dashboard.plugin_health()}["sample"] is True
    assert "database upgrade needed" in page_text(admin_client.get("/admin/"))


def test_open_cases_count_in_the_queue(app, make_member, db):
    member = make_member("someone")
    assert dashboard.queue_size() == 0
    db.session.add(ReportCase(target_type="member", target_id=member.id))
    db.session.add(ReportCase(target_type="post", target_id=1, kind="held"))
    db.session.add(ReportCase(target_type="post", target_id=2, status="resolved"))
    db.session.commit()
    assert dashboard.queue_size() == 2


def test_an_empty_site(admin_client):
    page = page_text(admin_client.get("/admin/"))
    assert "0 posts in the last 30 days" in page
    assert "Nothing logged yet." in page
    assert page.count('class="dash-zero"') == 30


# -- a fixed number of queries ----------------------------------------------------------------


def _grow(make_member, board, tag: str, n_members: int, n_posts: int, db) -> None:
    people = [make_member(f"{tag}{i}") for i in range(n_members)]
    thread = posting.create_thread(people[0], board, f"话题 {tag}", "正文")
    for i in range(n_posts - 1):
        posting.reply(people[i % n_members], thread, f"回复 {i}")
    # spread the posts over the chart's days
    ids = _db.session.execute(_db.select(Post.id).where(Post.thread_id == thread.id)).scalars()
    for n, post_id in enumerate(ids):
        db.session.execute(
            update(Post)
            .where(Post.id == post_id)
            .values(created_at=utcnow() - timedelta(days=n % 30, hours=n % 24))
        )
    for n, person in enumerate(people):
        db.session.add(
            ModerationLog(
                actor_id=person.id,
                action="warn",
                target_type="member",
                target_id=person.id,
                subject_id=person.id,
            )
        )
        if n % 3 == 0:
            person.status = "pending"
    db.session.commit()


def test_dashboard_query_count_does_not_grow(
    admin_client, make_member, make_board, count_queries, db, enable_plugin
):
    enable_plugin("sample")
    board = make_board("count")

    def measure() -> int:
        admin_client.get("/admin/")  # warm the per-worker caches
        with count_queries() as q:
            assert admin_client.get("/admin/").status_code == 200
        return q.count

    _grow(make_member, board, "a", 5, 5, db)
    small = measure()
    _grow(make_member, board, "b", 50, 50, db)
    assert measure() == small
    assert small <= 11, small  # 10 for the dashboard, 1 for the header's queue count


def test_dates_in_a_zone_west_of_utc(app):
    zone = ZoneInfo("America/Los_Angeles")
    # 2025-06-02 05:00 UTC is still June 1st in Los Angeles (UTC-7 in summer).
    assert dashboard.site_today(zone, datetime(2025, 6, 2, 5, 0)) == date(2025, 6, 1)
    assert dashboard.local_midnight(date(2025, 6, 1), zone) == datetime(2025, 6, 1, 7, 0)
