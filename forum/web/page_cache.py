"""Whole-page cache for guests, checked without touching the database.

Most page views come from visitors who are not signed in, and every one of them sees the same
page. A guest's board index, board page or thread page is kept, rendered, in the worker's
memory under a key made of the page, the language and the *stamps* (see
:mod:`forum.services.versions`) of everything it shows: the site state (settings,
permissions, member names) and the board or thread (or, for the index, all content). Stamps
are read before the page is rendered and renewed after every commit that changes what the
page shows, so a cached page can only be found while it is still exactly what a fresh render
would give — including the permission checks, which depend on the site state.

A page is not cached when the guest has flashed messages waiting, when rendering put a CSRF
token in it (a form tied to a session), or when it is not a 200.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from flask import current_app, g, session
from flask_babel import get_locale

from forum.services import versions

_lock = threading.Lock()


def _store() -> OrderedDict:
    return current_app.extensions.setdefault("forum_page_cache", OrderedDict())


def enabled() -> bool:
    """True when the page cache is switched on (``PAGE_CACHE_ENTRIES`` > 0)."""
    return int(current_app.config["PAGE_CACHE_ENTRIES"]) > 0


def lookup(viewer, page: Hashable, *slots: int) -> tuple[Hashable | None, str | None]:
    """The cache key for ``page`` that depends on ``slots``, and the cached HTML.

    Returns ``(None, None)`` when the page must not come from (or go to) the cache: for
    signed-in members (``viewer`` not None), with the cache off, or with flashed messages
    waiting. Call it before reading anything for the page, and pass the key to :func:`store`
    after rendering.
    """
    if viewer is not None or not enabled() or "_flashes" in session:
        return None, None
    key = (page, str(get_locale()), versions.stamps(versions.slot("state"), *slots))
    with _lock:
        html = _store().get(key)
        if html is not None:
            _store().move_to_end(key)
    return key, html


def store(key: Hashable | None, html: str) -> str:
    """Keep ``html`` under ``key`` (from :func:`lookup`; None keeps nothing) and return it."""
    if key is None or "csrf_token" in g:  # a page holding a session's form token: not shared
        return html
    with _lock:
        cache = _store()
        cache[key] = html
        while len(cache) > int(current_app.config["PAGE_CACHE_ENTRIES"]):
            cache.popitem(last=False)
    return html
