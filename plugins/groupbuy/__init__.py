"""Group-buy (拼团): campaigns with head-count price tiers, deadlines, no overselling under
concurrency, automatic refunds and a leader's dashboard.

Shequn's group-buy plugin (issue 11), built on hooks and public services only:

- a ``groupbuy`` thread kind started from the plugin's own composer (a draft first; opening
  creates the thread), with photos, tiers, pickup points, members-only / early access and
  the leader's commission; leaders need the board permission ``groupbuy_lead``;
- joining reserves stock under the campaign's row lock and pays through the payments core;
  unpaid reservations are released after ``reservation_minutes``;
- settlement at the deadline happens exactly once (a conditional UPDATE), refunds of the
  price difference or in full go through ``payments.plugin_refund`` with one key per order;
- invite links credit inviters; trust cards show group-buys joined and led.

The rules live in :mod:`forum_plugins.groupbuy.services`; the pages in ``views.py`` and
``leader_views.py``.
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
    Permission,
    PluginMeta,
    Setting,
    ThreadKind,
    TrustFact,
    hookimpl,
)
from forum.services.payments import format_money

from . import services, views  # noqa: F401 (its routes register on the blueprint)
from .blueprint import bp

META = PluginMeta(
    label="Group-buy",
    description="Group-buy campaigns with price tiers by head count, deadlines, stock that "
    "never oversells, automatic refunds and a leader's dashboard.",
    version="0.1.0",
    author="Shequn",
    min_core_version="0.1.0",
)


@hookimpl
def forum_blueprints() -> list:
    """The group-buy pages under /groupbuy/."""
    return [bp]


@hookimpl
def forum_permissions() -> list[Permission]:
    """``groupbuy_lead``: start and run group-buys on a board (moderators, admins)."""
    return [
        Permission(
            services.PERMISSION,
            _l("Lead group-buys"),
            grants=("moderator", "admin"),
            description=_l("Start group-buy campaigns on this board and run them."),
        )
    ]


@hookimpl
def forum_settings() -> list[Setting]:
    """How long a reservation waits for its payment."""
    return [
        Setting(
            "reservation_minutes",
            "int",
            15,
            _l("Minutes a reservation waits for its payment"),
            help=_l("Unpaid reservations are released after this, and their stock offered again."),
            min=1,
            max=1440,
        )
    ]


@hookimpl
def forum_periodic_jobs() -> list[PeriodicJob]:
    """Every minute: release expired reservations, settle due campaigns, retry refunds."""
    return [
        PeriodicJob(
            "groupbuy-settle",
            _periodic,
            minute="*",
            description="Release expired group-buy reservations, settle campaigns at their "
            "deadline and retry refunds still owed",
        )
    ]


def _periodic() -> None:
    services.periodic()


def _compose_url(board: Any) -> str:
    return url_for("groupbuy.new", board=board.id)


def _load(thread: Any) -> Any:
    return views.head_context(thread)


@hookimpl
def forum_thread_kinds() -> list[ThreadKind]:
    """The ``groupbuy`` kind, started from the plugin's own composer."""
    return [
        ThreadKind(
            services.KIND,
            _l("Group-buy"),
            description=_l("Buy together: the price drops as more people join."),
            validate=services.validate,
            on_create=services.on_create,
            template="groupbuy/campaign_head.html",
            load=_load,
            compose_url=_compose_url,
        )
    ]


def _money(n: Any, key: str) -> str:
    data = n.data or {}
    return format_money(int(data.get(key) or 0), data.get("currency") or "CNY")


def _render_succeeded(n: Any) -> str:
    if (n.data or {}).get("refund_cents"):
        return _(
            "The group-buy “%(title)s” succeeded at %(price)s each; %(refund)s is refunded to you.",
            title=n.title,
            price=_money(n, "final_cents"),
            refund=_money(n, "refund_cents"),
        )
    return _(
        "The group-buy “%(title)s” succeeded at %(price)s each.",
        title=n.title,
        price=_money(n, "final_cents"),
    )


def _render_failed(n: Any) -> str:
    return _(
        "The group-buy “%(title)s” did not reach its minimum; %(refund)s is refunded to you.",
        title=n.title,
        refund=_money(n, "refund_cents"),
    )


def _render_cancelled(n: Any) -> str:
    return _(
        "The leader cancelled the group-buy “%(title)s” (%(reason)s); %(refund)s is refunded "
        "to you.",
        title=n.title,
        reason=(n.data or {}).get("reason", ""),
        refund=_money(n, "refund_cents"),
    )


def _render_expired(n: Any) -> str:
    return _(
        "Your payment for “%(title)s” came after your reservation had expired; %(refund)s is "
        "refunded to you.",
        title=n.title,
        refund=_money(n, "amount_cents"),
    )


def _render_message(n: Any) -> str:
    return _(
        "The leader of “%(title)s” writes: %(text)s",
        title=n.title,
        text=(n.data or {}).get("text", ""),
    )


def _render_fulfilled(n: Any) -> str:
    if (n.data or {}).get("how") == "shipped":
        return _("Your order of “%(title)s” was shipped.", title=n.title)
    return _("Your order of “%(title)s” was marked picked up.", title=n.title)


@hookimpl
def forum_notification_kinds() -> list[NotificationKind]:
    """Succeeded, failed, cancelled, late payment refunded, leader's message, fulfilled."""
    return [
        NotificationKind(services.NOTE_SUCCEEDED, _l("Group-buy succeeded"), _render_succeeded),
        NotificationKind(services.NOTE_FAILED, _l("Group-buy failed"), _render_failed),
        NotificationKind(services.NOTE_CANCELLED, _l("Group-buy cancelled"), _render_cancelled),
        NotificationKind(
            services.NOTE_EXPIRED, _l("Group-buy payment after expiry"), _render_expired
        ),
        NotificationKind(services.NOTE_MESSAGE, _l("Message from a group-buy leader"),
                         _render_message),
        NotificationKind(services.NOTE_FULFILLED, _l("Group-buy order fulfilled"),
                         _render_fulfilled),
    ]  # fmt: skip


@hookimpl
def forum_payment_succeeded(order: Any) -> None:
    """A group-buy order was paid: the reservation becomes a paid order (once)."""
    services.deliver_payment(order)


@hookimpl
def forum_payment_refunded(order: Any, refund: Any) -> None:
    """The group-buy order's refunded amount follows the payment order."""
    services.on_refunded(order, refund)


@hookimpl
def forum_before_payment(member: Any, order: Any) -> str | None:
    """Refuse paying a released reservation or one of a campaign that is not open."""
    return services.check_before_payment(member, order)


@hookimpl
def forum_trust_facts(members: list) -> dict[int, list[TrustFact]]:
    """Group-buys joined and completed; as leader, campaigns run and success rate."""
    found = services.trust_facts([m.id for m in members])
    facts: dict[int, list[TrustFact]] = {}
    for member_id, f in found.items():
        items = []
        if f["joined"]:
            items.append(
                TrustFact(
                    _("Group-buys"),
                    _("%(joined)d joined, %(done)d completed", joined=f["joined"],
                      done=f["completed"]),
                    _("Group-buy orders paid, and those whose group-buy succeeded"),
                    order=110,
                )
            )  # fmt: skip
        if f["led"]:
            rate = f["success_rate"]
            value = (
                str(f["led"])
                if rate is None
                else _("%(n)d (%(p)d%% succeeded)", n=f["led"], p=rate)
            )
            items.append(
                TrustFact(
                    _("Group-buys led"),
                    value,
                    _("Campaigns opened as leader; the share of ended ones that succeeded"),
                    order=111,
                    tone="positive" if rate is not None and rate >= 80 else "",
                )
            )
        if items:
            facts[member_id] = items
    return facts


@hookimpl
def forum_nav_items(member: Any) -> list[NavItem]:
    """Group-buys in the top navigation."""
    return [NavItem(_("Group-buys"), "/groupbuy/", active_prefix="/groupbuy")]


@hookimpl
def forum_template_slot(slot: str, context: dict[str, Any]) -> Markup | None:
    """The stylesheet in ``head`` (every page: the thread pages and the plugin's own)."""
    if slot == "head":
        return Markup('<link rel="stylesheet" href="{}">').format(
            url_for("groupbuy.static", filename="groupbuy.css")
        )
    return None


@hookimpl
def forum_demo_seed(boards: dict, members: dict) -> str | None:
    """A 团购 board with three campaigns in Chinese, demo members joined and paid with the
    sandbox (``demo.py``)."""
    from . import demo

    return demo.seed(boards, members)


@hookimpl
def forum_search_document(thread: Any) -> dict | None:
    """A campaign's current price (cents) and status."""
    if thread.kind != services.KIND:
        return None
    return services.search_document(thread)
