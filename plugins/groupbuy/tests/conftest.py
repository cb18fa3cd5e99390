"""Shequn's test fixtures for the group-buy plugin's tests, and the helpers they share.

This folder is not a package (pytest imports these modules by their own names), so the
plugin's package is imported once, as ``forum_plugins.groupbuy``. The core's fixtures come
from :mod:`forum.testing`.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

import forum_plugins
import forum_plugins.groupbuy
import pytest

# pytest sets up the package ``plugins/groupbuy`` of this folder by importing its
# __init__.py as ``plugins.groupbuy``: that would be a second copy of the plugin (its
# tables declared twice). The folder is installed as ``forum_plugins``; let both names be one.
sys.modules.setdefault("plugins", forum_plugins)
sys.modules.setdefault("plugins.groupbuy", forum_plugins.groupbuy)

from groupbuy_helpers import campaign_input  # noqa: E402, F401

from forum.models.base import utcnow  # noqa: E402
from forum.testing import *  # noqa: E402, F403 (the fixtures: app, db, client, make_member …)

GROUPBUY = "groupbuy"


class Clock:
    """The time the group-buy services see: ``clock.now``; ``clock.set(datetime)``,
    ``clock.advance(minutes=…)``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when
        return when

    def advance(self, **delta: float) -> datetime:
        return self.set(self.now + timedelta(**delta))


@pytest.fixture
def groupbuy(enable_plugin, app):
    """The plugin switched on, with the payments sandbox."""
    from forum.services import payments

    enable_plugin(GROUPBUY)
    payments.enable_provider("sandbox", {"secret": "test-sandbox-secret"})
    return GROUPBUY


@pytest.fixture
def clock(app, monkeypatch):
    """A controllable clock, starting now (whole seconds), patched into the plugin's
    modules (the payments core keeps the real time)."""
    from forum_plugins.groupbuy import campaigns, joining, leader, settlement

    fake = Clock(utcnow().replace(microsecond=0))
    for module in (campaigns, joining, leader, settlement):
        monkeypatch.setattr(module, "utcnow", fake)
    return fake


@pytest.fixture
def admin(make_member):
    """The site's admin (``boss``)."""
    return make_member("boss", groups=("admin",))


@pytest.fixture
def leader(make_member):
    """A moderator, who has ``groupbuy_lead`` by default."""
    return make_member("leader", groups=("moderator",))


@pytest.fixture
def board(groupbuy, make_board):
    """A board that allows discussions and group-buys."""
    from forum.services import boards

    board = make_board("deals", "Deals")
    return boards.update_board(board, thread_kinds="discussion,groupbuy")


@pytest.fixture
def make_campaign(board, leader):
    """``make_campaign(leader, **overrides)``: a campaign created and opened (``open=False``:
    left a draft)."""
    from forum_plugins.groupbuy import services

    def make(who=None, *, open=True, **overrides):
        who = who or leader
        campaign = services.create_campaign(who, board, campaign_input(**overrides))
        if open:
            campaign = services.open_campaign(who, campaign)
        return campaign

    return make


@pytest.fixture
def pay(groupbuy):
    """``pay(order)``: pay a group-buy order's payment order in the sandbox; True if paid."""
    from forum.extensions import db
    from forum.models import Member, PaymentOrder
    from forum.services import payments

    def do(order):
        db.session.refresh(order)
        payment = db.session.execute(
            db.select(PaymentOrder).where(PaymentOrder.public_id == order.payment_public_id)
        ).scalar_one()
        member = db.session.get(Member, order.member_id)
        ok = payments.sandbox_pay(member, payment)
        db.session.refresh(order)
        return ok

    return do


@pytest.fixture
def point_id():
    """``point_id(campaign)``: the id of the campaign's first pickup point."""
    from forum_plugins.groupbuy import services

    return lambda campaign: services.pickup_points_of(campaign)[0].id
