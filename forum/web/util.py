"""Small helpers shared by the views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, request, session
from flask_login import current_user
from wtforms import Form

from forum.extensions import limiter
from forum.models import Member
from forum.services.errors import ServiceError


def viewer() -> Member | None:
    """The signed-in member, or None for a guest."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def safe_next(default: str = "/") -> str:
    """``?next=`` (or the form's ``next``) if it points into this site, else ``default``."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    if (
        not target
        or parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return default
    return target


def page_arg() -> int:
    """``?page=N`` as a positive int (404 for nonsense)."""
    raw = request.args.get("page", "1")
    try:
        page = int(raw)
    except ValueError:
        abort(404)
    if page < 1 or page > 1_000_000:
        abort(404)
    return page


def form_error(form: Form, exc: ServiceError) -> None:
    """Show a service's refusal on the form field it names, or as a message at the top."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = (
            [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]
        )
    else:
        flash(exc.message, "error")


def draft_posted() -> None:
    """Tell the next page that the composer's draft (``draft_key`` field) went through."""
    key = request.form.get("draft_key", "")
    if key and len(key) <= 120:
        session["clear_draft"] = key


def pop_posted_draft() -> str | None:
    """The draft key :func:`draft_posted` stored, once."""
    return session.pop("clear_draft", None) if "clear_draft" in session else None


def member_key() -> str:
    """The rate-limit key of a request: the signed-in member (their limits follow them
    from address to address), else the client's address."""
    member = viewer()
    return f"member:{member.id}" if member else request.remote_addr or "?"


def config_limit(key: str):
    """Decorator: limit a view's POSTs per member to the rate in ``app.config[key]`` (read
    on each request, so a changed setting applies at once)."""
    return limiter.limit(lambda: current_app.config[key], methods=["POST"], key_func=member_key)
