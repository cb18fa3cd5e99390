"""Shequn's test fixtures for the check-ins plugin's tests, and the helpers they share.

This folder is not a package (pytest imports these modules by their own names), so the
plugin's package is imported once, as ``forum_plugins.checkin``. The core's fixtures come
from :mod:`forum.testing`.
"""

from __future__ import annotations

import sys
from datetime import date

import forum_plugins
import forum_plugins.checkin
import pytest

# pytest sets up the package ``plugins/checkin`` of this folder by importing its
# __init__.py as ``plugins.checkin``: that would be a second copy of the plugin (its tables
# declared twice). The folder is installed as ``forum_plugins``; let both names be one.
sys.modules.setdefault("plugins", forum_plugins)
sys.modules.setdefault("plugins.checkin", forum_plugins.checkin)

from forum.services import points  # noqa: E402
from forum.testing import *  # noqa: E402, F403 (the fixtures: app, db, client, make_member …)

CHECKIN = "checkin"


@pytest.fixture
def checkin(enable_plugin):
    """The plugin switched on."""
    enable_plugin(CHECKIN)
    return CHECKIN


@pytest.fixture
def rich(make_member):
    """``rich("ada", 100)``: a member with 100 points."""

    def make(name, amount=100, **kw):
        member = make_member(name, **kw)
        if amount:
            points.award(member, amount, "test_gift", f"test:gift:{name}")
        return member

    return make


@pytest.fixture
def make_camp(checkin, make_member):
    """``make_camp(starts_on=date(…), ends_on=…, deposit=…, owner=…)``: a camp (its owner a
    moderator named ``coach`` unless given)."""
    from forum_plugins.checkin import services

    made: dict[str, object] = {}

    def make(owner=None, **fields):
        if owner is None:
            owner = made.get("coach") or make_member("coach", groups=("moderator",))
            made["coach"] = owner
        fields.setdefault("title", "Run every day")
        fields.setdefault("starts_on", date(2026, 3, 1))
        return services.create_camp(owner, **fields)

    return make
