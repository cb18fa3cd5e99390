"""Incremental indexing: event subscribers (see :data:`forum.services.events.CORE_SUBSCRIBERS`)
queue a job after the commit; the job re-reads the thread or post and writes it through the
backend's one writer.

The jobs carry ids only and always index the *current* state, so it does not matter how
often or in which order they run: a post edited twice and then deleted ends up gone, whatever
the consumers' order. A job that cannot get the writer (a stuck lock, the database away) is
retried by the queue, and after the retries the next change of the thread or a
``forum reindex`` puts it right — a member never sees the error.

Permission changes need no job: results are filtered by the boards the viewer may read at
query time.
"""

from __future__ import annotations

import logging
from typing import Any

from forum import jobs

log = logging.getLogger(__name__)

#: Retries of an indexing job, and the seconds between them.
RETRIES = 5
RETRY_DELAY = 2


@jobs.task(retries=RETRIES, retry_delay=RETRY_DELAY)
def index_thread(thread_id: int) -> None:
    """Job: write the thread's visible posts to the index (or take it out)."""
    from forum import search

    search.index_thread_now(thread_id)


@jobs.task(retries=RETRIES, retry_delay=RETRY_DELAY)
def index_post(post_id: int, thread_id: int) -> None:
    """Job: write one post's current state to the index (or take it out)."""
    from forum import search

    search.index_post_now(post_id, thread_id)


def _queue(job: Any, *args: int) -> None:
    try:
        job(*args)
    except Exception:  # the queue is away: the post is saved, reindex puts search right
        log.exception("search: could not queue %s%r", job.name, args)


# -- event subscribers ------------------------------------------------------------------------


def on_thread_created(thread: Any, post: Any = None, member: Any = None, **_: Any) -> None:
    """A thread was started (or its held first post approved): index all its posts."""
    _queue(index_thread, thread.id)


def on_post_created(post: Any, thread: Any, member: Any = None, **_: Any) -> None:
    """A reply was published: index it (first posts come with ``thread_created``)."""
    if post.number != 1:
        _queue(index_post, post.id, thread.id)


def on_post_edited(post: Any, thread: Any, editor: Any = None, **_: Any) -> None:
    """A post (and, for a first post, the thread title) changed: index its new text."""
    _queue(index_post, post.id, thread.id)


def on_post_deleted(post: Any, thread: Any, member: Any = None, **_: Any) -> None:
    """A post was deleted (a first post: the whole thread): remove it."""
    if post is None or post.number == 1:
        _queue(index_thread, thread.id)
    else:
        _queue(index_post, post.id, thread.id)


def on_post_changed(post: Any, thread: Any, **_: Any) -> None:
    """A post was hidden or restored: index its state now."""
    if post.number == 1:
        _queue(index_thread, thread.id)
    else:
        _queue(index_post, post.id, thread.id)


def on_thread_changed(thread: Any, **_: Any) -> None:
    """A thread was moved to another board or restored: re-index all its posts."""
    _queue(index_thread, thread.id)
