"""Private conversations under ``/messages``: inbox, conversation, new message, block."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("messages", __name__, url_prefix="/messages")
