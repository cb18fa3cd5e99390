"""Site settings and the per-worker cache that the site state version keeps fresh.

Settings, the permission matrix and the board list change rarely and are read on every
request, so each worker process keeps them in memory. Every change goes through
:func:`bump_version`; a worker reads the site state stamp once per request (shared memory,
no query) and drops its cache when the stamp has moved, so a change made in one worker is
seen by all others on their next request, without a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g
from sqlalchemy import select, update

from forum.extensions import db
from forum.models import SiteSetting, SiteState
from forum.services import versions

T = TypeVar("T")

REGISTRATION_MODES = ("open", "approval", "closed")

#: Every site setting with its default. The admin area edits these.
SETTING_DEFAULTS: dict[str, Any] = {
    "site_name": "社群",
    "site_description": "",
    "registration_mode": "open",
    "require_email_confirmation": True,
    "default_timezone": "Asia/Shanghai",
    "default_locale": "zh_Hans",
    # Private conversations (forum.services.conversations)
    "messages_max_recipients": 9,  # a conversation has at most this many others (group of 10)
    "messages_new_member_posts": 3,  # "new member": fewer published posts than this …
    "messages_new_member_days": 1,  # … or registered fewer days ago than this
    "messages_new_member_per_day": 3,  # conversations a new member may start per 24 hours
    # New-member safeguards (forum.services.safeguards)
    "new_member_hold_posts": 0,  # a member's first N posts wait for approval (0: off)
    "new_member_posts_threshold": 3,  # link/image limits while fewer published posts than this
    "new_member_max_links": 3,
    "new_member_max_images": 3,
}


def state_version() -> int:
    """The site state stamp (see :mod:`forum.services.versions`), read once per request.

    No database query: the stamp lives in memory shared by the workers and is renewed after
    every commit that called :func:`bump_version`.
    """
    version = g.get("_forum_state_version")
    if version is None:
        version = g._forum_state_version = versions.stamps(versions.slot("state"))[0]
    return version


def bump_version() -> None:
    """Mark every worker's cache stale. Call inside the transaction that changes the data:
    the other workers see the change after it commits."""
    db.session.execute(
        update(SiteState).where(SiteState.id == 1).values(version=SiteState.version + 1)
    )
    versions.changed("state")
    g.pop("_forum_state_version", None)
    _worker_cache().clear()


def _worker_cache() -> dict[str, Any]:
    return current_app.extensions.setdefault("forum_worker_cache", {})


def cached(name: str, loader: Callable[[], T]) -> T:
    """Return ``loader()``'s value, computed once per worker per site state version."""
    cache = _worker_cache()
    version = state_version()
    if cache.get("__version__") != version:
        cache.clear()
        cache["__version__"] = version
    if name not in cache:
        cache[name] = loader()
    return cache[name]


def request_cached(name: str, loader: Callable[[], T]) -> T:
    """Return ``loader()``'s value, computed once per request (app context)."""
    store = g.setdefault("_forum_request_cache", {})
    if name not in store:
        store[name] = loader()
    return store[name]


def clear_request_cache() -> None:
    """Forget per-request values (after a service changed a member's groups, for example)."""
    g.pop("_forum_request_cache", None)


def settings() -> dict[str, Any]:
    """All site settings, defaults filled in."""

    def load() -> dict[str, Any]:
        values = dict(SETTING_DEFAULTS)
        for key, value in db.session.execute(select(SiteSetting.key, SiteSetting.value)):
            values[key] = value
        return values

    return cached("settings", load)


def setting(key: str) -> Any:
    """One site setting."""
    return settings()[key]


def update_settings(values: dict[str, Any]) -> None:
    """Store settings (known keys only) and invalidate every worker's cache. Commits."""
    unknown = set(values) - set(SETTING_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    if "registration_mode" in values and values["registration_mode"] not in REGISTRATION_MODES:
        raise ValueError("registration_mode must be one of " + ", ".join(REGISTRATION_MODES))
    for key, value in values.items():
        row = db.session.get(SiteSetting, key)
        if row is None:
            db.session.add(SiteSetting(key=key, value=value))
        else:
            row.value = value
    bump_version()
    db.session.commit()
