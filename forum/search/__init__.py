"""Search: the service the ``/search`` page, ``forum reindex`` and plugins use.

- :func:`search_posts` answers a member's query with a page of results the member may read:
  the boards come from :func:`forum.services.permissions.visible_board_ids` at query time
  (so a permission or membership change needs no reindex, and counts never include a board
  the member may not read), and every hit is checked against the database again before it is
  shown (a post hidden or moved a moment ago never slips through a not-yet-updated index).
- Indexing runs after the commit, through the job queue (:mod:`forum.search.indexing`,
  subscribed to the core's events), one writer at a time.
- :func:`rebuild` rebuilds the whole index from the database (``forum reindex``).

The backend is chosen with ``SEARCH_BACKEND`` (``whoosh``, the default, or ``postgres``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from flask import Flask, current_app
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from forum.extensions import db
from forum.models import Board, Member, Post, Thread
from forum.search import documents, indexing  # indexing: registers the jobs in every process
from forum.search.backend import (
    EXTRA_NAME,
    SORTS,
    Document,
    ExtraFilter,
    Filters,
    IndexWriter,
    Results,
    SearchBackend,
)
from forum.search.text import (
    QUERY_MAX,
    ParsedQuery,
    QueryError,
    html_text,
    parse_query,
    snippet,
)
from forum.services import permissions
from forum.services.members import get_by_username
from forum.services.paging import page_count
from forum.services.site import cached

#: Results on one page of ``/search``.
PER_PAGE = 20
#: The deepest page served (a search that needs more should be narrowed).
MAX_PAGE = 50

BACKENDS = ("whoosh", "postgres")


class SearchConfigError(RuntimeError):
    """``SEARCH_BACKEND`` names no backend, or one this database cannot serve."""


def get_backend(app: Flask | None = None) -> SearchBackend:
    """The app's search backend (made once per app and process)."""
    app = app or current_app._get_current_object()
    backend = app.extensions.get("forum_search")
    if backend is None:
        backend = _make_backend(app)
        app.extensions["forum_search"] = backend
    return backend


def _make_backend(app: Flask) -> SearchBackend:
    name = str(app.config.get("SEARCH_BACKEND") or "whoosh").lower()
    if name == "whoosh":
        from forum.search.whoosh_backend import WhooshBackend

        return WhooshBackend(Path(app.instance_path) / "search" / "whoosh")
    if name == "postgres":
        if not str(app.config.get("DATABASE_URL", "")).startswith("postgresql"):
            raise SearchConfigError(
                "SEARCH_BACKEND=postgres needs the forum's database on PostgreSQL "
                "(DATABASE_URL=postgresql://…)"
            )
        from forum.search.postgres_backend import PostgresBackend

        with app.app_context():
            return PostgresBackend(db.engine)
    raise SearchConfigError(
        f"SEARCH_BACKEND={name!r}: unknown search backend (one of {', '.join(BACKENDS)})"
    )


# -- searching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """One post as the results list shows it. ``title`` and ``excerpt`` are escaped markup
    with the matching words in ``<mark>``."""

    post_id: int
    thread_id: int
    number: int
    title: Markup
    excerpt: Markup
    board_slug: str
    board_name: str
    author_username: str
    author_name: str
    kind: str
    created_at: datetime


@dataclass(frozen=True)
class SearchPage:
    """A page of results: ``total`` posts match in all (only in boards the viewer may read)."""

    query: ParsedQuery
    results: list[SearchResult]
    total: int
    page: int
    pages: int
    per_page: int
    truncated: bool = False  # more pages match than MAX_PAGE serves


def _board_filter(viewer: Member | None, board_slug: str | None) -> frozenset[int]:
    readable = permissions.visible_board_ids(viewer, "read")
    if not board_slug:
        return readable
    board_id = db.session.execute(select(Board.id).where(Board.slug == board_slug)).scalar()
    if board_id is None or board_id not in readable:
        # the same answer for a board that does not exist and one the viewer may not read
        raise QueryError(_("There is no board %(slug)s to search in.", slug=board_slug), "board")
    return frozenset([board_id])


def _author_filter(author: str | None) -> int | None:
    if not author:
        return None
    member = get_by_username(author.strip().lstrip("@"))
    if member is None:
        raise QueryError(_("There is no member called %(name)s.", name=author), "author")
    return member.id


def _check_extra(extra: dict[str, ExtraFilter] | None) -> dict[str, ExtraFilter]:
    out: dict[str, ExtraFilter] = {}
    for name, value in (extra or {}).items():
        if not EXTRA_NAME.match(name):
            raise QueryError(_("Unknown search field %(name)s.", name=name))
        if isinstance(value, tuple) and (len(value) != 2 or value == (None, None)):
            raise QueryError(_("A range needs a lower or an upper end."))
        out[name] = value
    return out


def make_filters(
    viewer: Member | None,
    *,
    board: str | None = None,
    author: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    titles_only: bool = False,
    extra: dict[str, ExtraFilter] | None = None,
) -> Filters:
    """:class:`Filters` for ``viewer``: only boards they may read (``board``: a slug, one of
    them), ``author`` a username, ``since``/``until`` naive UTC (until exclusive),
    ``extra`` plugin fields (see :class:`~forum.search.backend.Filters`). Raises
    :class:`QueryError` for an unknown board (or one the viewer may not read), author or
    field, or a date range that ends before it starts."""
    if since is not None and until is not None and until <= since:
        raise QueryError(_("The date range ends before it starts."), "until")
    return Filters(
        board_ids=_board_filter(viewer, board),
        author_id=_author_filter(author),
        kind=(kind or None),
        since=since,
        until=until,
        titles_only=titles_only,
        extra=_check_extra(extra),
    )


def search_posts(
    viewer: Member | None,
    q: str | None,
    filters: Filters,
    *,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> SearchPage:
    """Search for ``q`` within ``filters`` (from :func:`make_filters` for ``viewer``).

    A blank ``q`` lists the posts the filters select, newest first, when a board or an author
    is chosen; otherwise it is refused. Raises :class:`QueryError` with a message for the
    member (too long, nothing searchable, unknown sort, page beyond :data:`MAX_PAGE`)."""
    if sort not in SORTS:
        raise QueryError(_("Unknown sort order."), "sort")
    narrowed = filters.author_id is not None or len(filters.board_ids) == 1 or filters.kind
    query = parse_query(q, allow_empty=bool(narrowed))
    if page < 1 or page > MAX_PAGE:
        raise QueryError(
            _("Only the first %(n)d pages of results are shown: narrow your search.", n=MAX_PAGE)
        )
    filters = _within_readable(viewer, filters)
    found: Results = get_backend().search(query, filters, page=page, per_page=per_page, sort=sort)
    results = _hydrate(found, query, filters.board_ids)
    pages = page_count(found.total, per_page)
    return SearchPage(
        query=query,
        results=results,
        total=found.total,
        page=page,
        pages=min(pages, MAX_PAGE),
        per_page=per_page,
        truncated=pages > MAX_PAGE,
    )


def count_posts(viewer: Member | None, q: str | None, filters: Filters) -> int:
    """How many posts ``viewer`` may read match ``q`` within ``filters``."""
    query = parse_query(q, allow_empty=True)
    return get_backend().count(query, _within_readable(viewer, filters))


def _all_board_ids() -> frozenset[int]:
    return cached(
        "search_board_ids", lambda: frozenset(db.session.execute(select(Board.id)).scalars())
    )


def _within_readable(viewer: Member | None, filters: Filters) -> Filters:
    """``filters`` narrowed to the boards ``viewer`` may read now (whoever built them)."""
    readable = permissions.visible_board_ids(viewer, "read")
    return replace(filters, board_ids=filters.board_ids & readable, all_board_ids=_all_board_ids())


def _hydrate(found: Results, query: ParsedQuery, board_ids: frozenset[int]) -> list[SearchResult]:
    """The hits as results, in one query; a hit the database no longer shows is dropped."""
    ids = [h.post_id for h in found.hits]
    if not ids:
        return []
    rows = db.session.execute(
        select(
            Post.id,
            Post.thread_id,
            Post.number,
            Post.html,
            Post.created_at,
            Thread.title,
            Thread.kind,
            Thread.board_id,
            Board.slug,
            Board.name,
            Member.username,
            Member.display_name,
        )
        .join(Thread, Post.thread_id == Thread.id)
        .join(Board, Thread.board_id == Board.id)
        .join(Member, Post.author_id == Member.id)
        .where(Post.id.in_(ids), documents.visible())
    ).all()
    by_id = {r.id: r for r in rows if r.board_id in board_ids}
    out = []
    for post_id in ids:
        r = by_id.get(post_id)
        if r is None:
            continue
        out.append(
            SearchResult(
                post_id=r.id,
                thread_id=r.thread_id,
                number=r.number,
                title=snippet(r.title, query, length=len(r.title) or 1),
                excerpt=snippet(html_text(r.html), query),
                board_slug=r.slug,
                board_name=r.name,
                author_username=r.username,
                author_name=r.display_name or r.username,
                kind=r.kind,
                created_at=r.created_at,
            )
        )
    return out


# -- indexing -------------------------------------------------------------------------------


def _refresh_thread(writer: IndexWriter, thread_id: int) -> None:
    writer.replace_thread(thread_id, documents.for_thread(thread_id))


def index_thread_now(thread_id: int) -> None:
    """Write the thread's current visible posts to the index (none: it leaves the index).
    The database is read inside the writer's lock, so the last writer writes the newest
    state."""
    with get_backend().writer() as writer:
        _refresh_thread(writer, thread_id)


def index_post_now(post_id: int, thread_id: int) -> None:
    """Write one post's current state to the index (removed unless it is visible)."""
    with get_backend().writer() as writer:
        writer.replace_post(post_id, thread_id, documents.for_post(post_id))


def reindex_thread(thread_id: int) -> None:
    """Queue a re-index of the thread (after the commit). Plugins call this when the data
    behind their ``forum_search_document`` fields changes."""
    indexing.index_thread(thread_id)


def rebuild(progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index from the database while the site keeps serving and writing;
    ``progress`` is called with the size of each batch written. Returns the documents."""
    return get_backend().rebuild(documents.batches, _refresh_thread, progress)


def expected_count() -> int:
    """How many documents a rebuild writes (for the progress bar)."""
    return documents.count_visible()


__all__ = [
    "MAX_PAGE",
    "PER_PAGE",
    "QUERY_MAX",
    "Document",
    "Filters",
    "QueryError",
    "SearchConfigError",
    "SearchPage",
    "SearchResult",
    "count_posts",
    "expected_count",
    "get_backend",
    "index_post_now",
    "index_thread_now",
    "make_filters",
    "rebuild",
    "reindex_thread",
    "search_posts",
]
