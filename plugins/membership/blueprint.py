"""The membership plugin's blueprint (routes live in views.py)."""

from flask import Blueprint

bp = Blueprint(
    "membership",
    __name__,
    url_prefix="/membership",
    template_folder="templates",
    static_folder="static",
)
