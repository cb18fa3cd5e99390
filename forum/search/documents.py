"""Search documents read from the database: what is visible is what gets indexed.

A post is indexed when it is published (not held or hidden), not deleted, and its thread is
neither deleted nor held. Indexing always reads the *current* state, so re-indexing a thread
after any change — edit, delete, restore, move, hide, approve — is correct however often and
in whatever order it happens. Plugins add typed fields through ``forum_search_document``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import ColumnElement, and_, false, select

from forum import plugins
from forum.extensions import db
from forum.models import Post, Thread
from forum.search.backend import Document, Extra, check_extra
from forum.search.text import html_text

BATCH = 1000


def visible() -> ColumnElement[bool]:
    """The SQL condition of an indexable post (join Post to Thread)."""
    return and_(
        Post.deleted_at.is_(None),
        Post.state == "published",
        Thread.deleted_at.is_(None),
        Thread.held == false(),
    )


_COLUMNS = (
    Post.id,
    Post.thread_id,
    Post.number,
    Post.author_id,
    Post.created_at,
    Post.html,
    Thread.board_id,
    Thread.kind,
    Thread.title,
)


def plugin_fields(thread: Thread) -> Extra:
    """The extra fields enabled plugins return for ``thread`` (``forum_search_document``)."""
    if not plugins.has_impls("forum_search_document"):
        return {}
    extra: Extra = {}
    for _name, values in plugins.collect("forum_search_document", thread=thread):
        if isinstance(values, dict):
            extra.update(check_extra(values))
    return extra


def _extras(thread_ids: set[int]) -> dict[int, Extra]:
    if not thread_ids or not plugins.has_impls("forum_search_document"):
        return {}
    threads = db.session.execute(select(Thread).where(Thread.id.in_(thread_ids))).scalars()
    return {t.id: plugin_fields(t) for t in threads}


def _document(row, extra: Extra) -> Document:
    return Document(
        post_id=row.id,
        thread_id=row.thread_id,
        board_id=row.board_id,
        author_id=row.author_id,
        kind=row.kind,
        number=row.number,
        created_at=row.created_at,
        title=row.title if row.number == 1 else "",
        body=html_text(row.html),
        extra=extra,
    )


def _documents(rows) -> list[Document]:
    rows = list(rows)
    extras = _extras({r.thread_id for r in rows})
    return [_document(r, extras.get(r.thread_id, {})) for r in rows]


def for_thread(thread_id: int) -> list[Document]:
    """The documents of a thread's visible posts (none when the thread is not visible)."""
    rows = db.session.execute(
        select(*_COLUMNS)
        .join(Thread, Post.thread_id == Thread.id)
        .where(Post.thread_id == thread_id, visible())
        .order_by(Post.number)
    ).all()
    return _documents(rows)


def for_post(post_id: int) -> Document | None:
    """The post's document, or None when it should not be in the index."""
    row = db.session.execute(
        select(*_COLUMNS)
        .join(Thread, Post.thread_id == Thread.id)
        .where(Post.id == post_id, visible())
    ).first()
    return _documents([row])[0] if row is not None else None


def count_visible() -> int:
    """How many posts the index should hold (for the progress bar)."""
    from sqlalchemy import func

    return db.session.execute(
        select(func.count())
        .select_from(Post)
        .join(Thread, Post.thread_id == Thread.id)
        .where(visible())
    ).scalar_one()


def batches(size: int = BATCH) -> Iterator[list[Document]]:
    """Every visible post's document, ``size`` at a time, by post id (keyset paging: safe while
    the site writes). Each batch is read in a transaction of its own."""
    last = 0
    while True:
        rows = db.session.execute(
            select(*_COLUMNS)
            .join(Thread, Post.thread_id == Thread.id)
            .where(Post.id > last, visible())
            .order_by(Post.id)
            .limit(size)
        ).all()
        if not rows:
            return
        documents = _documents(rows)
        last = rows[-1].id
        db.session.rollback()  # end the read transaction: no long snapshot
        yield documents
