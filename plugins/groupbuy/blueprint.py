"""The group-buy blueprint (``/groupbuy``), one object for the two view modules:
:mod:`.views` (campaign composer, campaign pages, joining, lists) and :mod:`.leader_views`
(the leader's dashboard, CSV export, fulfilment, messages, commission statement); the
plugin's ``forum_blueprints`` returns it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "groupbuy",
    __name__,
    url_prefix="/groupbuy",
    template_folder="templates",
    static_folder="static",
)
