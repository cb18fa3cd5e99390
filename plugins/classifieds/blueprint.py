"""The market's blueprint (``/market``), one object for the two view modules:
:mod:`.views` (the market, listings and their forms, categories) and :mod:`.trade_views`
(trades, ratings, scam reports); the plugin's ``forum_blueprints`` returns it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "classifieds",
    __name__,
    url_prefix="/market",
    template_folder="templates",
    static_folder="static",
)
