"""Shequn's test fixtures for the paid-membership plugin's tests, and the helpers they share.

This folder is not a package (pytest imports these modules by their own names), so the
plugin's package is imported once, as ``forum_plugins.membership``. The core's fixtures come
from :mod:`forum.testing`.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

import forum_plugins
import forum_plugins.membership
import pytest

# pytest sets up the package ``plugins/membership`` of this folder by importing its
# __init__.py as ``plugins.membership``: that would be a second copy of the plugin (its
# tables declared twice). The folder is installed as ``forum_plugins``; let both names be one.
sys.modules.setdefault("plugins", forum_plugins)
sys.modules.setdefault("plugins.membership", forum_plugins.membership)

from forum.models.base import utcnow  # noqa: E402
from forum.services import plugin_state  # noqa: E402
from forum.testing import *  # noqa: E402, F403 (the fixtures: app, db, client, make_member …)

MEMBERSHIP = "membership"
READ = ("view", "read", "start_thread", "reply")


class Clock:
    """The time every membership service (and the permission check) sees: ``clock.now``;
    ``clock.set(datetime)``, ``clock.advance(days=…)``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> datetime:
        from forum.services.site import clear_request_cache

        self.now = when
        clear_request_cache()  # group ids are cached per app context
        return when

    def advance(self, **delta: float) -> datetime:
        return self.set(self.now + timedelta(**delta))


@pytest.fixture
def clock(app, monkeypatch):
    """A controllable clock, starting now (whole seconds), patched into the plugin's
    modules and :mod:`forum.services.permissions` (where a membership's ``expires_at`` is
    checked)."""
    from forum_plugins.membership import buying, cleanout, entry, tiers

    from forum.services import permissions

    fake = Clock(utcnow().replace(microsecond=0))
    for module in (tiers, buying, entry, cleanout, permissions):
        monkeypatch.setattr(module, "utcnow", fake)
    return fake


@pytest.fixture
def configure(membership):
    """``configure(refund_mode="unused")``: change the plugin's settings (bools left out
    are False, as from a form)."""

    def change(**values) -> None:
        form = {k: ("1" if v is True else "" if v is False else str(v)) for k, v in values.items()}
        assert plugin_state.save_settings(MEMBERSHIP, form) == {}

    return change


@pytest.fixture
def membership(enable_plugin, app):
    """The plugin switched on, with the payments sandbox."""
    from forum.services import payments

    enable_plugin(MEMBERSHIP)
    payments.enable_provider("sandbox", {"secret": "test-sandbox-secret"})
    return MEMBERSHIP


@pytest.fixture
def admin(make_member):
    """The site's admin (``boss``)."""
    return make_member("boss", groups=("admin",))


@pytest.fixture
def core_group(app):
    """The gated group ``core`` (no permissions but the gated board's)."""
    from forum.services import groups

    return groups.create_group("Core", "core")


@pytest.fixture
def gated_board(make_board, core_group, db):
    """A board everybody may view (its teasers) but only the ``core`` group may read."""
    from forum.services import permissions

    board = make_board("vip")
    permissions.set_board_permissions(
        board.id,
        {
            permissions.group_id("guest"): ("view",),
            permissions.group_id("member"): ("view",),
            core_group.id: READ,
        },
    )
    db.session.commit()
    return board


@pytest.fixture
def make_tier(membership, admin, core_group):
    """``make_tier(price_cents=9900, period_unit="year", seats=…)``: a tier granting the
    ``core`` group, made by the admin."""
    from forum_plugins.membership import services

    counter = iter(range(1, 1000))

    def make(**fields):
        n = next(counter)
        fields.setdefault("name", f"Core {n}")
        fields.setdefault("slug", f"core-{n}")
        fields.setdefault("price_cents", 9900)
        fields.setdefault("period_unit", "year")
        fields.setdefault("period_count", 1)
        fields.setdefault("group_ids", [core_group.id])
        return services.save_tier(admin, **fields)

    return make


@pytest.fixture
def pay(membership):
    """``pay(member, tier)``: buy the tier and pay the order in the sandbox; the order."""
    from forum_plugins.membership import services

    from forum.services import payments

    def do(member, tier):
        order = services.buy(member, tier)
        assert payments.sandbox_pay(member, order) is True
        return order

    return do
