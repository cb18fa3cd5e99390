"""Classifieds (交易区): a market of listings with typed fields, expiry, contact by private
message, two-way trade ratings and scam reports.

Shequn's classifieds plugin (issue 9), built only on hooks and public services:

- a ``listing`` thread kind for market boards, started from the plugin's own form
  (``ThreadKind.compose_url``): price, condition, place, trade method, up to nine photos and
  the typed fields (分类信息) of the listing's category, which site admins define;
- listings expire after ``listing_days`` with a reminder ``reminder_days`` before
  (periodic jobs ``classifieds-expire`` and ``classifieds-remind``); sellers renew them;
- the market page (``/market``): filter by category, typed fields, price, city, status,
  sort by newest or price, search through the search backend;
- trades: the seller names the buyer, the buyer confirms, then each rates the other once;
  the record shows on trust cards and a ratings page per member;
- scam reports go to the moderation queue (reason "scam"); moderators freeze a seller's
  listings and verify ratings.

The rules live in :mod:`forum_plugins.classifieds.services` (with :mod:`.market` and
:mod:`.trades`); the pages in ``views.py`` and ``trade_views.py`` on one blueprint.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from forum.jobs import PeriodicJob
from forum.plugin_api import (
    AdminPage,
    BoardFilter,
    NavItem,
    NotificationKind,
    PluginMeta,
    Setting,
    ThreadKind,
    TrustFact,
    hookimpl,
)

from . import services, trade_views, views  # noqa: F401 (their routes register on the blueprint)
from .blueprint import bp

META = PluginMeta(
    label="Classifieds",
    description="A market of listings with typed fields, expiry, contact by message, "
    "two-way trade ratings and scam reports.",
    version="0.1.0",
    author="Shequn",
    min_core_version="0.1.0",
)


@hookimpl
def forum_blueprints() -> list:
    """The market pages under /market/ (views.py and trade_views.py)."""
    return [bp]


@hookimpl
def forum_settings() -> list[Setting]:
    """Expiry, reminders, who may post listings and how many a day, the currency."""
    return [
        Setting("listing_days", "int", 30, _l("Days a listing stays up"), min=1, max=365),
        Setting(
            "reminder_days",
            "int",
            3,
            _l("Days before expiry the seller is reminded"),
            help=_l("0: no reminder."),
            min=0,
            max=60,
        ),
        Setting(
            "poster_group",
            "str",
            "",
            _l("Group whose members may post listings"),
            help=_l("A group key; empty: every member."),
            max_length=40,
        ),
        Setting(
            "min_account_days",
            "int",
            0,
            _l("Account age needed to post listings (days)"),
            min=0,
            max=3650,
        ),
        Setting("min_posts", "int", 0, _l("Posts needed to post listings"), min=0, max=100_000),
        Setting(
            "daily_limit",
            "int",
            5,
            _l("Listings a member may post a day"),
            help=_l("0: no limit."),
            min=0,
            max=1000,
        ),
        Setting(
            "currency",
            "choice",
            "CNY",
            _l("Currency of prices"),
            choices=[("CNY", _l("Renminbi (¥)"))],
        ),
    ]


def _compose_url(board: Any) -> str:
    return url_for("classifieds.new_listing", board=board.slug)


@hookimpl
def forum_thread_kinds() -> list[ThreadKind]:
    """The ``listing`` kind, posted from the market's own form."""
    return [
        ThreadKind(
            services.KIND,
            _l("Listing"),
            description=_l("Sell something: price, photos, condition and place."),
            validate=services.validate,
            on_create=services.on_create,
            template="classifieds/listing_head.html",
            load=services.load,
            compose_url=_compose_url,
        )
    ]


def _render_sold(n: Any) -> str:
    return _(
        "%(actor)s says they sold you “%(title)s”. Please confirm the trade.",
        actor=n.actor_name,
        title=n.title,
    )


def _render_confirmed(n: Any) -> str:
    return _(
        "%(actor)s confirmed buying “%(title)s”. You can rate the trade now.",
        actor=n.actor_name,
        title=n.title,
    )


def _render_rated(n: Any) -> str:
    return _("%(actor)s rated your trade of “%(title)s”.", actor=n.actor_name, title=n.title)


def _render_expiring(n: Any) -> str:
    return _("Your listing “%(title)s” expires soon. Renew it to keep it up.", title=n.title)


def _render_expired(n: Any) -> str:
    return _("Your listing “%(title)s” has expired. You can renew it.", title=n.title)


def _render_reserved(n: Any) -> str:
    return _("%(actor)s reserved “%(title)s” for you.", actor=n.actor_name, title=n.title)


@hookimpl
def forum_notification_kinds() -> list[NotificationKind]:
    """Sold (confirm please), confirmed, rated, expiring, expired, reserved."""
    return [
        NotificationKind(services.NOTE_SOLD, _l("Trade to confirm"), _render_sold),
        NotificationKind(services.NOTE_CONFIRMED, _l("Trade confirmed"), _render_confirmed),
        NotificationKind(services.NOTE_RATED, _l("Trade rated"), _render_rated),
        NotificationKind(services.NOTE_EXPIRING, _l("Listing expiring"), _render_expiring),
        NotificationKind(services.NOTE_EXPIRED, _l("Listing expired"), _render_expired),
        NotificationKind(services.NOTE_RESERVED, _l("Listing reserved for you"), _render_reserved),
    ]


@hookimpl
def forum_periodic_jobs() -> list[PeriodicJob]:
    """Expire listings and remind sellers, every hour."""
    return [
        PeriodicJob(
            "classifieds-expire",
            services.expire_listings,
            minute="15",
            description="Expire the listings whose time is up",
        ),
        PeriodicJob(
            "classifieds-remind",
            services.remind_expiring,
            minute="20",
            description="Remind sellers of listings that expire soon",
        ),
    ]


@hookimpl
def forum_nav_items(member: Any) -> list[NavItem]:
    """The market in the top navigation."""
    return [NavItem(_("Market"), "/market", active_prefix="/market")]


@hookimpl
def forum_admin_pages() -> list[AdminPage]:
    """The market's categories and typed fields; the scam reports."""
    return [
        AdminPage("classifieds.admin_categories", _l("Market categories")),
        AdminPage("classifieds.admin_scams", _l("Scam reports")),
    ]


@hookimpl
def forum_board_filters(board: Any) -> list[BoardFilter] | None:
    """An "Available" tab on boards that allow listings (not sold, expired or frozen)."""
    if services.KIND not in board.kinds:
        return None
    return [BoardFilter("classifieds_available", _("Available"), services.available_condition)]


@hookimpl
def forum_template_slot(slot: str, context: dict[str, Any]) -> Markup | None:
    """The stylesheet in ``head``."""
    if slot == "head":
        return Markup('<link rel="stylesheet" href="{}">').format(
            url_for("classifieds.static", filename="classifieds.css")
        )
    return None


@hookimpl
def forum_trust_facts(members: list) -> dict[int, list[TrustFact]]:
    """Trades and the share of positive ratings, for every member shown (one query)."""
    found = services.summaries([m.id for m in members])
    facts: dict[int, list[TrustFact]] = {}
    for member_id, summary in found.items():
        if not summary.trades and not summary.ratings and not summary.scams_upheld:
            continue
        percent = summary.percent_positive
        if percent is None:
            value = str(summary.trades)
        else:
            value = _("%(n)d (%(p)d%% positive)", n=summary.trades, p=percent)
        hint = _(
            "Confirmed trades; %(pos)d positive, %(neu)d neutral, %(neg)d negative ratings",
            pos=summary.positive,
            neu=summary.neutral,
            neg=summary.negative,
        )
        if summary.scams_upheld:
            hint = _(
                "Moderators upheld %(n)d scam reports against this member.", n=summary.scams_upheld
            )
        facts[member_id] = [TrustFact(_("Trades"), value, hint, order=105, tone=summary.tone)]
    return facts


@hookimpl
def forum_search_document(thread: Any) -> dict | None:
    """A listing's price (cents), city, category, status and typed fields."""
    if thread.kind != services.KIND:
        return None
    return services.search_document(thread)


@hookimpl
def forum_demo_seed(boards: dict, members: dict) -> str | None:
    """A market board with two categories of typed fields, listings with photos and one
    confirmed, rated trade (``demo.py``; nothing while it is not written yet)."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(f"{__name__}.demo") is None:
        return None
    return importlib.import_module(f"{__name__}.demo").seed(boards, members)
