"""Check-ins (打卡): habit camps, daily check-ins, streaks, make-up cards, deposits,
leaderboards.

Shequn's check-ins plugin (issue 8), built only on hooks and public services:

- camps with dates (or open-ended), a daily window, what a check-in must carry (a note, a
  photo, numbers such as km), who may join (everyone or a group) and a join fee or a
  deposit in points;
- one check-in per member, camp and *local* day (the member's time zone; a database unique
  constraint), in a feed with likes and comments; streaks per camp and overall, a heatmap;
- make-up cards for missed days (within ``makeup_days``, for ``makeup_cost`` points, at
  most ``makeup_per_month``);
- deposits escrowed in the points ledger and settled by the periodic job
  ``checkin-settle`` once the camp is over: back to those who completed it, with the
  forfeited ones shared among them or kept by the owner (``forfeit``);
- leaderboards by streak, check-ins and number sums (day, week, month), points per check-in
  and streak bonuses, an hourly reminder job ``checkin-remind``, and trust-card facts.

The rules live in :mod:`forum_plugins.checkin.services`; the pages in ``views.py``.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from forum.jobs import PeriodicJob
from forum.plugin_api import (
    NavItem,
    NotificationKind,
    PluginMeta,
    Setting,
    TrustFact,
    hookimpl,
)
from forum.services import points

from . import services
from .views import bp

META = PluginMeta(
    label="Check-ins",
    description="Habit camps with daily check-ins, streaks, make-up cards, deposits and "
    "leaderboards.",
    version="0.1.0",
    author="Shequn",
    min_core_version="0.1.0",
)

points.register_reason(services.REASON_REWARD, _l("Check-in"))
points.register_reason(services.REASON_STREAK, _l("Check-in streak bonus"))
points.register_reason(services.REASON_MAKEUP, _l("Make-up card"))
points.register_reason(services.REASON_FEE, _l("Camp fee"))
points.register_reason(services.REASON_DEPOSIT, _l("Camp deposit"))
points.register_reason(services.REASON_DEPOSIT_BACK, _l("Camp deposit returned"))
points.register_reason(services.REASON_DEPOSIT_SHARE, _l("Share of forfeited camp deposits"))
points.register_reason(services.REASON_FORFEIT, _l("Forfeited camp deposit"))


@hookimpl
def forum_blueprints() -> list:
    """The camp pages under /checkin/ (views.py)."""
    return [bp]


@hookimpl
def forum_settings() -> list[Setting]:
    """Who creates camps, points, make-up cards, forfeited deposits, the feed's size."""
    return [
        Setting(
            "creator_groups",
            "str",
            "moderator",
            _l("Groups whose members may create camps"),
            help=_l("Group keys, separated by commas. Admins always may."),
            max_length=200,
        ),
        Setting("checkin_points", "int", 5, _l("Points per check-in"), min=0, max=10_000),
        Setting("streak_bonus_7", "int", 20, _l("Bonus for a 7-day streak"), min=0, max=100_000),
        Setting("streak_bonus_21", "int", 60, _l("Bonus for a 21-day streak"), min=0, max=100_000),
        Setting(
            "streak_bonus_100", "int", 300, _l("Bonus for a 100-day streak"), min=0, max=100_000
        ),
        Setting(
            "makeup_days",
            "int",
            3,
            _l("Days a make-up card reaches back"),
            help=_l("0: no make-up cards."),
            min=0,
            max=60,
        ),
        Setting("makeup_cost", "int", 20, _l("Points a make-up card costs"), min=0, max=100_000),
        Setting("makeup_per_month", "int", 2, _l("Make-up cards per month"), min=0, max=31),
        Setting(
            "forfeit",
            "choice",
            "share",
            _l("Deposits of those who fail or leave a camp"),
            choices=[
                ("share", _l("Shared among those who completed it")),
                ("keep", _l("Kept by the camp's owner")),
            ],
        ),
        Setting("feed_per_page", "int", 20, _l("Check-ins per feed page"), min=5, max=100),
    ]


@hookimpl
def forum_periodic_jobs() -> list[PeriodicJob]:
    """Settle ended camps and send reminders, every hour."""
    return [
        PeriodicJob(
            "checkin-settle",
            services.settle_due_camps,
            minute="5",
            description="Settle the camps whose last day is over: deposits back or shared",
        ),
        PeriodicJob(
            "checkin-remind",
            services.send_reminders,
            minute="0",
            description="Remind members at their chosen hour to check in",
        ),
    ]


def _render_reminder(n: Any) -> str:
    camps = (n.data or {}).get("camps", 1)
    if camps > 1:
        return _("You have not checked in today in %(n)d camps.", n=camps)
    return _("You have not checked in today yet.")


def _render_settled(n: Any) -> str:
    data = n.data or {}
    if data.get("outcome") == "completed":
        if data.get("back"):
            return _(
                "You completed “%(title)s”: %(n)d points are yours.",
                title=n.title,
                n=data["back"],
            )
        return _("You completed “%(title)s”.", title=n.title)
    if data.get("deposit"):
        return _(
            "“%(title)s” has ended without you completing it: the deposit of %(n)d points "
            "is forfeited.",
            title=n.title,
            n=data["deposit"],
        )
    return _("“%(title)s” has ended without you completing it.", title=n.title)


def _render_comment(n: Any) -> str:
    return _(
        "%(actor)s commented on your check-in in “%(title)s”.", actor=n.actor_name, title=n.title
    )


@hookimpl
def forum_notification_kinds() -> list[NotificationKind]:
    """Reminders, a camp's outcome at settlement, comments on one's check-ins."""
    return [
        NotificationKind(services.NOTE_REMINDER, _l("Check-in reminder"), _render_reminder),
        NotificationKind(services.NOTE_SETTLED, _l("Camp settled"), _render_settled),
        NotificationKind(services.NOTE_COMMENT, _l("Comment on a check-in"), _render_comment),
    ]


@hookimpl
def forum_nav_items(member: Any) -> list[NavItem]:
    """Check-ins in the top navigation."""
    return [NavItem(_("Check-ins"), url_for("checkin.index"), active_prefix="/checkin")]


@hookimpl
def forum_template_slot(slot: str, context: dict[str, Any]) -> Markup | None:
    """The stylesheet in ``head``; the member's streak and heatmap on the profile card
    (``views.render_profile_card``)."""
    if slot == "head":
        return Markup('<link rel="stylesheet" href="{}">').format(
            url_for("checkin.static", filename="checkin.css")
        )
    if slot == "profile_card":
        from . import views

        render = getattr(views, "render_profile_card", None)
        member = context.get("member")
        if render is None or member is None:
            return None
        return render(member)
    return None


@hookimpl
def forum_trust_facts(members: list) -> dict[int, list[TrustFact]]:
    """Longest check-in streak and camps completed, for every member shown (one query)."""
    found = services.trust_facts([m.id for m in members])
    facts: dict[int, list[TrustFact]] = {}
    for member_id, (longest, completed) in found.items():
        items = facts.setdefault(member_id, [])
        if longest:
            items.append(
                TrustFact(
                    _("Longest check-in streak"),
                    _("%(n)d days", n=longest),
                    _("The most days in a row this member checked in"),
                    order=120,
                    tone="positive" if longest >= 7 else "",
                )
            )
        if completed:
            items.append(
                TrustFact(
                    _("Camps completed"),
                    completed,
                    _("Habit camps this member saw through"),
                    order=121,
                    tone="positive",
                )
            )
    return facts


@hookimpl
def forum_demo_seed(boards: dict, members: dict) -> str | None:
    """A 21-day morning-run camp with a deposit, ten days in, with check-ins."""
    from . import demo

    return demo.seed(boards, members)
