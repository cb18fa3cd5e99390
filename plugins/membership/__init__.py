"""Paid membership (会员): tiers, gated boards, entry applications, invites, clearing out.

Shequn's paid-membership plugin (issue 10), built on hooks and public services only:

- tiers the owner defines (price in cents and/or points, a period of days, calendar months
  or years, or lifetime, limited seats, perks), each granting groups; gated boards are
  boards whose ``read`` belongs to such groups;
- buying through the payments core (``forum_payment_succeeded`` delivers: ``paid_until``
  extended from the current end, the groups until then plus ``grace_days``), renewal
  reminders ``remind_days`` before the end, refunds taking access back (``refund_mode``);
- entry applications with the owner's questions, reviewed with a reason, and invite codes;
- clean-out rules (inactive for N days, more than M warnings): a warning first, the removal
  after the notice period, a removals log an admin can restore from, a dry-run report;
- a trust-card fact for paid members and the call to action under gated teasers.

The rules live in :mod:`forum_plugins.membership.services`; the pages in ``views.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import render_template, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from forum.jobs import PeriodicJob
from forum.plugin_api import (
    AdminPage,
    NavItem,
    NotificationKind,
    PluginMeta,
    Setting,
    TrustFact,
    hookimpl,
)
from forum.services import points

from . import (
    services,
    views,  # noqa: F401 (its routes join the blueprint)
)
from .blueprint import bp
from .common import url

META = PluginMeta(
    label="Paid membership",
    description="Membership tiers with gated boards, renewals, entry applications, invite "
    "codes and clearing out members who no longer qualify.",
    version="0.1.0",
    author="Shequn",
    min_core_version="0.1.0",
)

points.register_reason(services.REASON_POINTS, _l("Membership tier"))


@hookimpl
def forum_blueprints() -> list:
    """The membership pages under /membership/ (views.py)."""
    return [bp]


@hookimpl
def forum_settings() -> list[Setting]:
    """Grace period, reminders, refunds, applications and their reviewers."""
    return [
        Setting(
            "grace_days",
            "int",
            3,
            _l("Grace days after a membership ends"),
            help=_l("Access goes on this many days after the paid period."),
            min=0,
            max=90,
        ),
        Setting(
            "remind_days",
            "int",
            7,
            _l("Remind members this many days before their membership ends"),
            help=_l("0: no reminders."),
            min=0,
            max=90,
        ),
        Setting(
            "refund_mode",
            "choice",
            "all",
            _l("A refunded membership order"),
            choices=[
                ("all", _l("Ends the membership at once")),
                ("unused", _l("Takes back the refunded share of the period")),
            ],
        ),
        Setting(
            "application_required",
            "bool",
            False,
            _l("Members must apply and be approved before they can pay"),
        ),
        Setting(
            "application_groups",
            "str",
            "",
            _l("Groups an approved application grants"),
            help=_l("Group keys, separated by commas (for applications without a tier)."),
            max_length=200,
        ),
        Setting(
            "reviewer_groups",
            "str",
            "moderator",
            _l("Groups whose members review applications"),
            help=_l("Group keys, separated by commas. Admins always may."),
            max_length=200,
        ),
    ]


def _expire_and_remind() -> None:
    services.expire()
    services.send_reminders()


def _cleanup() -> None:
    services.run_cleanup()


@hookimpl
def forum_periodic_jobs() -> list[PeriodicJob]:
    """Expiry and reminders every hour; the clean-out once a day."""
    return [
        PeriodicJob(
            "membership-renewals",
            _expire_and_remind,
            minute="15",
            description="End memberships past their grace period; remind those ending soon",
        ),
        PeriodicJob(
            "membership-cleanup",
            _cleanup,
            minute="30",
            hour="3",
            description="Warn, then remove members who no longer meet the clean-out rules",
        ),
    ]


def _date(raw: str | None) -> str:
    return format_date(datetime.fromisoformat(raw)) if raw else ""


def _until(n: Any) -> str:
    return _date((n.data or {}).get("until"))


def _render_granted(n: Any) -> str:
    until = _until(n)
    if until:
        return _("Welcome to “%(tier)s”: your membership runs until %(date)s.", tier=n.title,
                 date=until)  # fmt: skip
    return _("Welcome to “%(tier)s”: your membership never ends.", tier=n.title)


def _render_reminder(n: Any) -> str:
    return _("Your membership “%(tier)s” ends on %(date)s. Renew it to keep access.",
             tier=n.title, date=_until(n))  # fmt: skip


def _render_sold_out(n: Any) -> str:
    return _("“%(tier)s” sold out before your payment arrived; it will be refunded.", tier=n.title)


def _render_applied(n: Any) -> str:
    return _("%(actor)s applied to join.", actor=n.actor_name or n.title)


def _render_approved(n: Any) -> str:
    if n.title:
        return _("Your application was approved: you can now join “%(tier)s”.", tier=n.title)
    return _("Your application was approved. Welcome!")


def _render_rejected(n: Any) -> str:
    return _("Your application was not approved: %(reason)s", reason=(n.data or {}).get("reason"))


def _render_warning(n: Any) -> str:
    data = n.data or {}
    due = _date(data.get("due"))
    return _("%(reason)s: you will lose access to the members' boards on %(date)s unless you "
             "take part again.", reason=data.get("reason", n.title), date=due)  # fmt: skip


def _render_removed(n: Any) -> str:
    return _("You were removed from the members' groups: %(reason)s",
             reason=(n.data or {}).get("reason", n.title))  # fmt: skip


def _render_restored(n: Any) -> str:
    return _("Your place in “%(group)s” was restored.", group=n.title)


@hookimpl
def forum_notification_kinds() -> list[NotificationKind]:
    """Granted, renewal reminder, sold out, applications, clean-out warnings and removals."""
    return [
        NotificationKind(services.NOTE_GRANTED, _l("Membership started or renewed"),
                         _render_granted),
        NotificationKind(services.NOTE_REMINDER, _l("Membership ending soon"), _render_reminder),
        NotificationKind(services.NOTE_SOLD_OUT, _l("Membership sold out"), _render_sold_out),
        NotificationKind(services.NOTE_APPLIED, _l("New membership application"),
                         _render_applied),
        NotificationKind(services.NOTE_APPROVED, _l("Application approved"), _render_approved),
        NotificationKind(services.NOTE_REJECTED, _l("Application rejected"), _render_rejected),
        NotificationKind(services.NOTE_WARNING, _l("Membership clean-out warning"),
                         _render_warning),
        NotificationKind(services.NOTE_REMOVED, _l("Removed from members' groups"),
                         _render_removed),
        NotificationKind(services.NOTE_RESTORED, _l("Membership restored"), _render_restored),
    ]  # fmt: skip


@hookimpl
def forum_payment_succeeded(order: Any) -> None:
    """Deliver a paid membership order: one period of its tier (services.grant)."""
    services.grant(order)


@hookimpl
def forum_payment_refunded(order: Any, refund: Any) -> None:
    """Take back what a refunded membership order bought (setting ``refund_mode``)."""
    services.take_back(order, refund)


@hookimpl
def forum_before_payment(member: Any, order: Any) -> str | None:
    """Refuse an order of a tier that is not on sale, sold out, or needs an application."""
    return services.check_order(member, order)


@hookimpl
def forum_trust_facts(members: list) -> dict[int, list[TrustFact]]:
    """ "Paid member since <date>" with the tier's name, for members in force (one query)."""
    found = services.trust_facts([m.id for m in members])
    return {
        member_id: [
            TrustFact(
                _("Paid member since"),
                f"{format_date(since)} · {tier_name}",
                _("A paying member of “%(tier)s”", tier=tier_name),
                order=105,
                tone="positive",
            )
        ]
        for member_id, (since, tier_name) in found.items()
    }


@hookimpl
def forum_admin_pages() -> list[AdminPage]:
    """Tiers, applications and questions, invites, clean-out rules."""
    return [
        AdminPage("membership.admin_tiers", _l("Membership tiers")),
        AdminPage("membership.admin_applications", _l("Applications")),
        AdminPage("membership.admin_invites", _l("Invite codes")),
        AdminPage("membership.admin_rules", _l("Clean-out rules")),
    ]


@hookimpl
def forum_nav_items(member: Any) -> list[NavItem]:
    """Membership in the top navigation."""
    link = url("membership.index", "/membership")
    return [NavItem(_("Membership"), link, active_prefix="/membership")]


@hookimpl
def forum_template_slot(slot: str, context: dict[str, Any]) -> Markup | None:
    """The stylesheet in ``head``; the join call to action under a gated teaser (``gate``)."""
    if slot == "head":
        return Markup('<link rel="stylesheet" href="{}">').format(
            url_for("membership.static", filename="membership.css")
        )
    if slot == "gate":
        render = getattr(views, "render_gate", None)
        if render is not None:
            return render(context)
        board = context.get("board")
        offer = services.teaser_offer(board, context.get("viewer")) if board else None
        if offer is None:
            return None
        return Markup(render_template("membership/gate.html", offer=offer, board=board))
    return None


@hookimpl
def forum_demo_seed(boards: dict, members: dict) -> str | None:
    """Two tiers (核心会员 ¥99/year reading the core board, a monthly one), an invite code
    and an entry question."""
    from . import demo

    return demo.seed(boards, members)
