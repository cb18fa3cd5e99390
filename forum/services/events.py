"""After-commit events: the core's own features react to a write, then enabled plugins do.

A service that has committed a write calls :func:`emit` with the event's name and the same
arguments as the ``forum_<event>`` after hook. The core's subscribers (notifications, search
indexing …) run first, in the order of :data:`CORE_SUBSCRIBERS`, then the plugins' hook
implementations. Like plugins' after hooks, a subscriber that raises is logged and its
half-done database work rolled back; the write that caused the event stays committed.

Subscribers are named as ``"module:function"`` and imported on first use, so this module
imports nothing of theirs and they may import the services that emit.

Held posts are *published* when a moderator approves them: ``post_created`` (and, for a
held first post, ``thread_created``) is emitted then, not when the post was written.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from functools import cache
from typing import Any

from forum import hookspecs, plugins

log = logging.getLogger("forum.events")

#: event → the core's subscribers, ``"module:function"``, called with the event's arguments.
CORE_SUBSCRIBERS: dict[str, tuple[str, ...]] = {
    "thread_created": ("forum.search.indexing:on_thread_created",),
    "post_created": (
        "forum.services.notifications:on_post_created",
        "forum.search.indexing:on_post_created",
    ),
    "post_edited": ("forum.search.indexing:on_post_edited",),
    "post_deleted": ("forum.search.indexing:on_post_deleted",),
    # core-only events (no plugin hook yet): what search must follow
    "thread_moved": ("forum.search.indexing:on_thread_changed",),
    "thread_restored": ("forum.search.indexing:on_thread_changed",),
    "post_hidden": ("forum.search.indexing:on_post_changed",),
    "post_restored": ("forum.search.indexing:on_post_changed",),
}


@cache
def _resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def emit(event: str, **kwargs: Any) -> None:
    """Tell the core's subscribers and then enabled plugins (``forum_<event>``) that
    ``event`` happened. Call it after the commit. Exception-safe (see the module)."""
    from forum.extensions import db

    for target in CORE_SUBSCRIBERS.get(event, ()):
        try:
            _resolve(target)(**kwargs)
        except Exception:
            log.exception("%s: %s failed", event, target)
            db.session.rollback()
    if hasattr(hookspecs, f"forum_{event}"):  # core-only events have no plugin hook
        plugins.fire(f"forum_{event}", **kwargs)
