"""Shequn's test fixtures for the classifieds plugin's tests, and the helpers they share.

This folder is not a package (pytest imports these modules by their own names), so the
plugin's package is imported once, as ``forum_plugins.classifieds``. The core's fixtures
come from :mod:`forum.testing`.
"""

from __future__ import annotations

import sys

import forum_plugins
import forum_plugins.classifieds
import pytest

# pytest sets up the package ``plugins/classifieds`` of this folder by importing its
# __init__.py as ``plugins.classifieds``: that would be a second copy of the plugin (its
# tables declared twice). The folder is installed as ``forum_plugins``; let both names be one.
sys.modules.setdefault("plugins", forum_plugins)
sys.modules.setdefault("plugins.classifieds", forum_plugins.classifieds)

from forum.testing import *  # noqa: E402, F403 (the fixtures: app, db, client, make_member …)

CLASSIFIEDS = "classifieds"


@pytest.fixture
def classifieds(enable_plugin):
    """The plugin switched on."""
    enable_plugin(CLASSIFIEDS)
    return CLASSIFIEDS


@pytest.fixture
def market_board(classifieds, make_board):
    """A board that allows discussions and listings (readable by guests)."""
    from forum.services import boards

    board = make_board("market", "Market")
    return boards.update_board(board, thread_kinds="discussion,listing")


@pytest.fixture
def admin(make_member):
    """A site administrator (defines categories)."""
    return make_member("boss", groups=("admin",))


@pytest.fixture
def make_category(classifieds, admin):
    """``make_category("Phones", fields=[dict(key=…, label=…, type=…, …), …])``."""
    from forum_plugins.classifieds import services

    def make(name="Phones", fields=(), **kw):
        category = services.save_category(admin, name=name, **kw)
        for i, spec in enumerate(fields):
            spec = dict(spec)
            spec.setdefault("label", spec["key"].title())
            spec.setdefault("position", i)
            if "options" in spec:
                spec["options_text"] = "\n".join(spec.pop("options"))
            services.save_field(admin, category, **spec)
        return services.get_category(category.id)

    return make


@pytest.fixture
def make_listing(market_board, make_member):
    """``make_listing(seller, title=…, price="12", category=…, values={…}, …)`` → thread."""
    from forum_plugins.classifieds import services

    made: dict[str, object] = {}

    def make(seller=None, board=None, category=None, **fields):
        if seller is None:
            seller = made.get("seller") or make_member("seller")
            made["seller"] = seller
        data = services.ListingInput(
            title=fields.pop("title", "An old bicycle"),
            body=fields.pop("body", "Rides well, one flat tyre."),
            category_id=category.id if category is not None else None,
            price=fields.pop("price", "120"),
            condition=fields.pop("condition", "good"),
            city=fields.pop("city", "Shanghai"),
            pickup=fields.pop("pickup", True),
            shipping=fields.pop("shipping", False),
            values=fields.pop("values", {}),
            image_ids=fields.pop("image_ids", []),
        )
        assert not fields, fields
        return services.create_listing(seller, board or market_board, data)

    return make
