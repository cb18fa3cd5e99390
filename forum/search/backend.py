"""The search backend protocol and the values that cross it.

A backend stores one :class:`Document` per visible post and answers :class:`Filters` +
:class:`~forum.search.text.ParsedQuery` with a page of :class:`Hit`. It knows nothing of
members or permissions: the caller (:mod:`forum.search`) passes the boards the viewer may
read in :attr:`Filters.board_ids`, at query time, so a permission change needs no reindex.

Writes go through :meth:`SearchBackend.writer`, a context manager that holds the backend's
one write lock (a file lock for Whoosh, an advisory lock for PostgreSQL) — read the database
state *inside* it, so the last writer always writes the newest committed state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from forum.search.text import ParsedQuery

#: Types a plugin's extra field may have (``forum_search_document``).
EXTRA_TYPES = (bool, int, float, str, datetime)
EXTRA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

Extra = dict[str, bool | int | float | str | datetime]


def check_extra(values: dict[str, Any] | None) -> Extra:
    """Plugin fields with valid names and types (others are dropped: a plugin's mistake
    must not stop indexing)."""
    out: Extra = {}
    for name, value in (values or {}).items():
        if not isinstance(name, str) or not EXTRA_NAME.match(name) or value is None:
            continue
        if isinstance(value, EXTRA_TYPES):
            out[name] = value.replace(tzinfo=None) if isinstance(value, datetime) else value
    return out


@dataclass(frozen=True)
class Document:
    """A visible post as the index stores it. ``title`` is the thread title on the first post
    (``number == 1``) and empty on replies, so "titles only" finds threads once."""

    post_id: int
    thread_id: int
    board_id: int
    author_id: int
    kind: str
    number: int
    created_at: datetime
    title: str
    body: str
    extra: Extra = field(default_factory=dict)

    def comparable(self) -> tuple:
        """The document as a plain tuple (for comparing two indexes in tests)."""
        return (
            self.post_id,
            self.thread_id,
            self.board_id,
            self.author_id,
            self.kind,
            self.number,
            self.created_at.replace(microsecond=0),
            self.title,
            tuple(sorted(self.extra.items())),
        )


ExtraFilter = bool | int | float | str | datetime | tuple[Any, Any]


@dataclass(frozen=True)
class Filters:
    """What to search in. ``board_ids`` is required: the boards the viewer may read (and
    chose); ``since``/``until`` bound the post's time (naive UTC, until exclusive);
    ``extra`` filters plugin fields: a value matches exactly, a ``(low, high)`` tuple is an
    inclusive range (either end None: open)."""

    board_ids: frozenset[int]
    #: Every board there is (None: unknown). When the viewer may read most of them, a
    #: backend may match "not in the few others" instead of "in these many", which is
    #: cheaper; a hit in a board outside ``board_ids`` is never shown (the caller checks).
    all_board_ids: frozenset[int] | None = None
    author_id: int | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    titles_only: bool = False
    extra: dict[str, ExtraFilter] = field(default_factory=dict)


SORTS = ("relevance", "newest")


def board_clause(filters: Filters) -> tuple[bool, frozenset[int]]:
    """How to restrict to ``filters.board_ids``: ``(True, ids)`` — only these boards;
    ``(False, ids)`` — any board but these (empty: no restriction), when that is the
    shorter list."""
    known = filters.all_board_ids
    if known is None or not filters.board_ids <= known:
        return True, filters.board_ids
    excluded = known - filters.board_ids
    if len(excluded) < len(filters.board_ids):
        return False, excluded
    return True, filters.board_ids


@dataclass(frozen=True)
class Hit:
    """One matching post: ids and the score (higher is better; 0 when sorted by time)."""

    post_id: int
    thread_id: int
    score: float


@dataclass(frozen=True)
class Results:
    """A page of hits and how many posts match in all."""

    hits: list[Hit]
    total: int


class IndexWriter(Protocol):
    """Writes inside :meth:`SearchBackend.writer` (the lock is held)."""

    def replace_thread(self, thread_id: int, documents: Iterable[Document]) -> None:
        """Make ``documents`` the thread's only documents (none: the thread leaves the index)."""

    def replace_post(self, post_id: int, thread_id: int, document: Document | None) -> None:
        """Store ``document`` for the post, or remove the post when it is None."""


Progress = Callable[[int], None]


class SearchBackend(Protocol):
    """What every backend provides (see the module)."""

    name: str

    def writer(self) -> AbstractContextManager[IndexWriter]:
        """The one writer: exclusive across threads and processes while the block runs."""

    def search(
        self, query: ParsedQuery, filters: Filters, *, page: int, per_page: int, sort: str
    ) -> Results:
        """A page (1-based) of matching posts and the total count."""

    def count(self, query: ParsedQuery, filters: Filters) -> int:
        """How many posts match."""

    def rebuild(
        self,
        batches: Callable[[], Iterator[list[Document]]],
        refresh_thread: Callable[[IndexWriter, int], None],
        progress: Progress | None = None,
    ) -> int:
        """Rebuild the whole index from ``batches`` (every visible post) while the site keeps
        searching and writing; ``refresh_thread`` re-reads a thread changed meanwhile.
        Returns the number of documents."""

    def clear(self) -> None:
        """Remove every document (tests and ``forum reindex --clear``)."""

    def all_documents(self) -> list[tuple]:
        """Every stored document as :meth:`Document.comparable` tuples, by post id."""
