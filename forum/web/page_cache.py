"""Whole-page cache for guests.

Most page views come from visitors who are not signed in, and every one of them sees the same
page. A guest's board index, board page or thread page is therefore kept, rendered, in the
worker's memory under a key that names everything the page depends on: the site state version
(settings, permissions, boards, member names), the board's or thread's own ``version`` (bumped
by every write that changes its pages), the page number and the language. A request still
checks permissions and reads the current versions from the database — so nothing stale or
forbidden is ever served — but skips the rendering.

Pages are not cached when the visitor has flashed messages waiting, or when rendering put a
CSRF token in the page (a form tied to a session).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import current_app, g, session
from flask_babel import get_locale

from forum.services.site import state_version

_lock = threading.Lock()


def _store() -> OrderedDict:
    return current_app.extensions.setdefault("forum_page_cache", OrderedDict())


def enabled() -> bool:
    """True when the page cache is switched on (``PAGE_CACHE_ENTRIES`` > 0)."""
    return int(current_app.config["PAGE_CACHE_ENTRIES"]) > 0


def cached_guest_page(key: Hashable, render: Callable[[], str]) -> str:
    """Return the rendered page for ``key`` from the cache, or render, store and return it.

    Call only for guests, after the permission checks for the page have passed.
    """
    if not enabled() or "_flashes" in session:
        return render()
    full_key = (key, str(get_locale()), state_version())
    store = _store()
    with _lock:
        html = store.get(full_key)
        if html is not None:
            store.move_to_end(full_key)
            return html
    html = render()
    if "csrf_token" in g:  # the page holds a session's form token: not shareable
        return html
    with _lock:
        store[full_key] = html
        while len(store) > int(current_app.config["PAGE_CACHE_ENTRIES"]):
            store.popitem(last=False)
    return html


def clear() -> None:
    """Drop every cached page of this worker."""
    with _lock:
        _store().clear()
