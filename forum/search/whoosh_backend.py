"""The default backend: a Whoosh index in ``instance/search/whoosh/`` — zero set-up.

Layout: every build of the index is a *generation* folder (``g<timestamp>``); the file
``CURRENT`` names the one in use. ``forum reindex`` builds a new generation while the old
one keeps serving, then switches ``CURRENT`` (see :meth:`WhooshBackend.rebuild`).

One writer at a time: every write holds an exclusive ``fcntl`` lock on ``write.lock``
(blocking, so a second gunicorn worker's job waits its turn instead of meeting Whoosh's
``LockError``), plus a thread lock for the consumer threads of one process.

Terms come from :func:`forum.search.text.analyse` (OpenCC folding, jieba, stemming), wrapped
as a Whoosh tokenizer, and queries are built as Whoosh query objects from the parsed terms —
never with Whoosh's query parser, so no query text is syntax.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.analysis import Token, Tokenizer
from whoosh.fields import BOOLEAN, DATETIME, ID, NUMERIC, STORED, TEXT, Schema

from forum.search.backend import (
    Document,
    Filters,
    Hit,
    IndexWriter,
    Progress,
    Results,
    board_clause,
)
from forum.search.text import ParsedQuery, analyse

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the thread lock alone
    fcntl = None  # type: ignore[assignment]

_SUFFIX = {bool: "__b", int: "__i", float: "__f", str: "__s", datetime: "__d"}


class ForumTokenizer(Tokenizer):
    """Whoosh tokenizer over :func:`forum.search.text.analyse` (search-engine mode)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for i, (term, start, end) in enumerate(analyse(value, query=mode == "query")):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = term
            if positions:
                token.pos = start_pos + i
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


def schema() -> Schema:
    """The index's fields; plugin fields are glob fields by type suffix."""
    analyzer = ForumTokenizer()
    s = Schema(
        post_id=ID(stored=True, unique=True),
        thread_id=ID(stored=True),
        board_id=ID(stored=True),
        author_id=ID(stored=True),
        kind=ID(stored=True),
        number=NUMERIC(int, stored=True),
        created_at=DATETIME(stored=True, sortable=True),
        title=TEXT(analyzer=analyzer, phrase=False, field_boost=2.0, stored=True),
        body=TEXT(analyzer=analyzer, phrase=False),
        extra_names=STORED(),
    )
    s.add("*__b", BOOLEAN(stored=True), glob=True)
    s.add("*__i", NUMERIC(int, bits=64, stored=True), glob=True)
    s.add("*__f", NUMERIC(float, stored=True), glob=True)
    s.add("*__s", ID(stored=True), glob=True)
    s.add("*__d", DATETIME(stored=True), glob=True)
    return s


def _fields(doc: Document) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "post_id": str(doc.post_id),
        "thread_id": str(doc.thread_id),
        "board_id": str(doc.board_id),
        "author_id": str(doc.author_id),
        "kind": doc.kind,
        "number": doc.number,
        "created_at": doc.created_at,
        "title": doc.title,
        "body": doc.body,
        "extra_names": sorted(doc.extra),
    }
    for name, value in doc.extra.items():
        fields[name + _SUFFIX[type(value)]] = value
    return fields


class _Writer:
    """An :class:`IndexWriter` over one Whoosh writer; remembers the threads it touched."""

    def __init__(self, writer: Any):
        self.writer = writer
        self.threads: set[int] = set()

    def replace_thread(self, thread_id: int, documents: Iterable[Document]) -> None:
        self.writer.delete_by_term("thread_id", str(thread_id))
        for doc in documents:
            self.writer.add_document(**_fields(doc))
        self.threads.add(thread_id)

    def replace_post(self, post_id: int, thread_id: int, document: Document | None) -> None:
        if document is None:
            self.writer.delete_by_term("post_id", str(post_id))
        else:
            self.writer.update_document(**_fields(document))
        self.threads.add(thread_id)


def _extra_query(name: str, value: Any) -> Q.Query:
    if isinstance(value, tuple):
        low, high = value
        sample = low if low is not None else high
        field = name + _SUFFIX[type(sample)]
        if isinstance(sample, datetime):
            return Q.DateRange(field, low, high)
        return Q.NumericRange(field, low, high)
    field = name + _SUFFIX[type(value)]
    if isinstance(value, str):
        return Q.Term(field, value)
    if isinstance(value, datetime):
        return Q.DateRange(field, value, value)
    if isinstance(value, bool):
        return Q.Term(field, value)
    return Q.NumericRange(field, value, value)


class WhooshBackend:
    """The Whoosh backend (see the module). ``path`` is the index's folder."""

    name = "whoosh"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._thread_lock = threading.RLock()
        self._cache: tuple[str, Any] | None = None

    # -- the index on disk ------------------------------------------------------------------

    def _current_name(self) -> str | None:
        try:
            return (self.path / "CURRENT").read_text(encoding="ascii").strip() or None
        except FileNotFoundError:
            return None

    def _set_current(self, name: str) -> None:
        tmp = self.path / "CURRENT.tmp"
        tmp.write_text(name, encoding="ascii")
        os.replace(tmp, self.path / "CURRENT")

    def _new_generation(self) -> tuple[str, Any]:
        name = f"g{time.time_ns()}"
        folder = self.path / name
        folder.mkdir(parents=True)
        return name, whoosh_index.create_in(str(folder), schema())

    def _index(self, create: bool = False) -> Any | None:
        """The index in use (opened once per generation per process), None if there is none."""
        name = self._current_name()
        if name is None:
            if not create:
                return None
            with self._locked():
                name = self._current_name()
                if name is None:
                    name, ix = self._new_generation()
                    self._set_current(name)
                    self._cache = (name, ix)
                    return ix
        cached = self._cache
        if cached is not None and cached[0] == name:
            return cached[1]
        ix = whoosh_index.open_dir(str(self.path / name))
        self._cache = (name, ix)
        return ix

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.mkdir(parents=True, exist_ok=True)
        with self._thread_lock:
            if fcntl is None:
                yield
                return
            with open(self.path / "write.lock", "a+b") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    # -- writing ----------------------------------------------------------------------------

    @contextmanager
    def writer(self) -> Iterator[IndexWriter]:
        """The one writer (see the module). Commits when the block ends without error."""
        self._index(create=True)
        with self._locked():
            ix = self._index()
            w = _Writer(ix.writer())
            try:
                yield w
            except BaseException:
                w.writer.cancel()
                raise
            w.writer.commit()
            rebuilding = self.path / "REBUILDING"
            if w.threads and rebuilding.exists():
                with open(self.path / "PENDING", "a", encoding="ascii") as pending:
                    pending.write("".join(f"{t}\n" for t in sorted(w.threads)))

    def rebuild(
        self,
        batches: Callable[[], Iterator[list[Document]]],
        refresh_thread: Callable[[IndexWriter, int], None],
        progress: Progress | None = None,
    ) -> int:
        """Build a new generation from ``batches`` while the current one serves. Threads
        written meanwhile are noted in ``PENDING`` and re-read into the new generation
        before it is switched in, under the lock, so no update is lost."""
        with self._locked():
            name, ix = self._new_generation()
            (self.path / "REBUILDING").write_text(name, encoding="ascii")
            (self.path / "PENDING").write_text("", encoding="ascii")
        count = 0
        try:
            writer = ix.writer(limitmb=128)
            try:
                for batch in batches():
                    for doc in batch:
                        writer.add_document(**_fields(doc))
                    count += len(batch)
                    if progress is not None:
                        progress(len(batch))
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
            with self._locked():
                pending = (self.path / "PENDING").read_text(encoding="ascii").split()
                if pending:
                    w = _Writer(ix.writer())
                    for thread_id in sorted({int(t) for t in pending}):
                        refresh_thread(w, thread_id)
                    w.writer.commit()
                old = self._current_name()
                self._set_current(name)
                self._cache = (name, ix)
                (self.path / "REBUILDING").unlink(missing_ok=True)
                (self.path / "PENDING").unlink(missing_ok=True)
        except BaseException:
            with self._locked():
                (self.path / "REBUILDING").unlink(missing_ok=True)
                (self.path / "PENDING").unlink(missing_ok=True)
            shutil.rmtree(self.path / name, ignore_errors=True)
            raise
        # Keep the previous generation (a searcher elsewhere may still read it); drop older.
        for folder in self.path.glob("g*"):
            if folder.name not in (name, old) and folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
        return count

    def clear(self) -> None:
        """Remove every document (a fresh, empty generation)."""
        with self._locked():
            name, ix = self._new_generation()
            self._set_current(name)
            self._cache = (name, ix)

    # -- reading ----------------------------------------------------------------------------

    def _query(self, query: ParsedQuery, filters: Filters) -> Q.Query:
        """The words and the filters as one query. The filters are a zero-score part of it
        rather than Whoosh's ``filter=`` (which builds the set of every post in the
        readable boards on each search): intersected while matching, they cost only as
        much as the words' matches."""
        q, f = self._parts(query, filters)
        return Q.And([q, Q.ConstantScoreQuery(f, 0.0)])

    def _parts(self, query: ParsedQuery, filters: Filters) -> tuple[Q.Query, Q.Query]:
        fields = ("title",) if filters.titles_only else ("title", "body")

        def term(t: str) -> Q.Query:
            return Q.Or([Q.Term(f, t) for f in fields]) if len(fields) > 1 else Q.Term(fields[0], t)

        if query.required:
            q: Q.Query = Q.And([term(t) for t in query.required])
        elif filters.titles_only:
            q = Q.NumericRange("number", 1, 1)
        else:
            q = Q.Every()
        if query.excluded:
            q = Q.AndNot(q, Q.Or([Q.And([term(t) for t in group]) for group in query.excluded]))
        only, boards = board_clause(filters)
        in_boards = Q.Or([Q.Term("board_id", str(b)) for b in sorted(boards)])
        if only:
            parts: list[Q.Query] = [in_boards]
        elif boards:
            parts = [Q.Not(in_boards)]
        else:
            parts = [Q.Every()]
        if filters.author_id is not None:
            parts.append(Q.Term("author_id", str(filters.author_id)))
        if filters.kind:
            parts.append(Q.Term("kind", filters.kind))
        if filters.since or filters.until:
            parts.append(Q.DateRange("created_at", filters.since, filters.until, endexcl=True))
        for name, value in sorted(filters.extra.items()):
            parts.append(_extra_query(name, value))
        return q, Q.And(parts) if len(parts) > 1 else parts[0]

    def search(
        self,
        query: ParsedQuery,
        filters: Filters,
        *,
        page: int = 1,
        per_page: int = 20,
        sort: str = "relevance",
    ) -> Results:
        """A page of hits, best first (``sort="newest"``: newest first), and the total."""
        ix = self._index()
        if ix is None or not filters.board_ids:
            return Results([], 0)
        q = self._query(query, filters)
        options: dict[str, Any] = {"limit": page * per_page}
        if sort == "newest" or query.empty:
            options.update(sortedby="created_at", reverse=True)
        with ix.searcher() as searcher:
            results = searcher.search(q, **options)
            total = len(results)
            start = (page - 1) * per_page
            hits = [
                Hit(int(h["post_id"]), int(h["thread_id"]), float(h.score or 0.0))
                for h in results[start : start + per_page]
            ]
        return Results(hits, total)

    def count(self, query: ParsedQuery, filters: Filters) -> int:
        """How many posts match."""
        ix = self._index()
        if ix is None or not filters.board_ids:
            return 0
        q = self._query(query, filters)
        with ix.searcher() as searcher:
            return len(searcher.search(q, limit=1))

    def all_documents(self) -> list[tuple]:
        """Every stored document, comparable (see :meth:`Document.comparable`)."""
        ix = self._index()
        if ix is None:
            return []
        out = []
        with ix.searcher() as searcher:
            for stored in searcher.all_stored_fields():
                extra = {
                    n: stored[n + s]
                    for n in stored["extra_names"]
                    for s in _SUFFIX.values()
                    if n + s in stored
                }
                out.append(
                    (
                        int(stored["post_id"]),
                        int(stored["thread_id"]),
                        int(stored["board_id"]),
                        int(stored["author_id"]),
                        stored["kind"],
                        stored["number"],
                        stored["created_at"].replace(microsecond=0),
                        stored["title"],
                        tuple(sorted(extra.items())),
                    )
                )
        return sorted(out)
