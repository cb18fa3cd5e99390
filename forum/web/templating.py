"""Jinja filters and globals the theme uses."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from flask import Flask, request, url_for
from flask_babel import format_date, format_datetime, format_timedelta, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from forum.models.base import utcnow
from forum.services import permissions, site
from forum.web.util import pop_posted_draft


def when(value: datetime | None) -> str:
    """A timestamp in the reader's time zone: relative when recent, a date otherwise."""
    if value is None:
        return ""
    delta = utcnow() - value
    if delta.total_seconds() < 45:
        return _("just now")
    if delta.days < 7:
        return format_timedelta(-delta, add_direction=True, granularity="minute")
    if value.year == utcnow().year:
        return format_datetime(value, "MMMd HH:mm")
    return format_date(value, "medium")


def full_time(value: datetime | None) -> str:
    """An exact timestamp in the reader's time zone (for title attributes)."""
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


def avatar_url(member) -> str | None:
    """The URL of a member's avatar, or None (the theme then draws an initial)."""
    return "/uploads/" + member.avatar if getattr(member, "avatar", None) else None


def page_url(page: int, **extra) -> str:
    """The current URL with ``page`` (and other arguments) replaced."""
    args = request.args.to_dict()
    args.update(extra)
    args["page"] = page
    if page == 1:
        args.pop("page")
    query = urlencode(args)
    return request.path + ("?" + query if query else "")


def page_window(current: int, total: int, around: int = 2) -> list[int | None]:
    """Page numbers to show in a pager: first, last, and a few around ``current``."""
    shown = {1, total, *range(max(1, current - around), min(total, current + around) + 1)}
    out: list[int | None] = []
    prev = 0
    for n in sorted(shown):
        if n - prev > 1:
            out.append(None)
        out.append(n)
        prev = n
    return out


def register(app: Flask) -> None:
    """Add the filters and globals to ``app``'s Jinja environment."""
    env = app.jinja_env
    env.filters["when"] = when
    env.filters["full_time"] = full_time
    env.globals.update(
        avatar_url=avatar_url,
        page_url=page_url,
        page_window=page_window,
        site_settings=site.settings,
        can=lambda perm, board_id: permissions.can(_viewer(), perm, board_id),
        is_admin=lambda: permissions.is_admin(_viewer()),
        static_url=lambda filename: url_for(
            "static", filename=filename, v=app.config["FORUM_VERSION"]
        ),
        Markup=Markup,
        clear_draft=pop_posted_draft,
        get_locale=get_locale,
    )


def _viewer():
    return current_user._get_current_object() if current_user.is_authenticated else None
