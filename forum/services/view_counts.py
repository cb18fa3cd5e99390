"""Thread view counts, batched: a page view adds to an in-memory tally, and the tally is
written with one ``UPDATE … SET view_count = view_count + n`` per thread every
``VIEW_COUNT_FLUSH_SECONDS`` (or when the worker stops). No database write per page view."""

from __future__ import annotations

import threading
import time
from collections import Counter

from flask import Flask
from sqlalchemy import update

from forum.extensions import db
from forum.models import Thread

_lock = threading.Lock()


def _state(app: Flask) -> dict:
    return app.extensions.setdefault(
        "forum_view_counts", {"tally": Counter(), "flushed_at": time.monotonic()}
    )


def count_view(app: Flask, thread_id: int) -> None:
    """Add one view of ``thread_id``; flushes when the interval has passed."""
    state = _state(app)
    with _lock:
        state["tally"][thread_id] += 1
        due = time.monotonic() - state["flushed_at"] >= app.config["VIEW_COUNT_FLUSH_SECONDS"]
    if due:
        flush(app)


def flush(app: Flask) -> int:
    """Write the pending tallies to the database; returns how many threads were updated."""
    state = _state(app)
    with _lock:
        tally, state["tally"] = state["tally"], Counter()
        state["flushed_at"] = time.monotonic()
    if not tally:
        return 0
    with app.app_context():
        for thread_id, n in tally.items():
            db.session.execute(
                update(Thread)
                .where(Thread.id == thread_id)
                .values(view_count=Thread.view_count + n)
            )
        db.session.commit()
    return len(tally)
