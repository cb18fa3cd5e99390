"""The PostgreSQL backend: the index is a table of the forum's own database, shared by every
web worker and machine (``FORUM_SEARCH_BACKEND=postgres``).

Storage: ``search_post`` — one row per visible post with its ids, kind, time, plugin fields
(``extra``, JSONB) and ``tsv``, a tsvector of the post's terms from
:func:`forum.search.text.analyse` (so jieba segmentation, OpenCC folding and stemming are the
same as Whoosh's): title terms weighted ``A``, body terms ``D``, written as a tsvector literal
(:func:`tsvector`) — no PostgreSQL text-search configuration touches them. A GIN index on
``tsv`` answers the match, ``ts_rank`` orders by relevance. The backend creates its tables on
first use (``CREATE TABLE IF NOT EXISTS``), as the Whoosh backend makes its folder: they are
not part of the forum's models or migrations.

Queries are built as tsquery *literals* from the parsed terms (each lexeme quoted, ``:A`` for
titles only) and bound as parameters: no query text is SQL or tsquery syntax.

One writer at a time: every write transaction takes the advisory lock
:data:`LOCK_KEY` first, and reads the posts it writes inside that transaction (read committed:
the newest committed state). ``rebuild`` fills ``search_post_build`` beside the live table,
notes the threads written meanwhile in ``search_pending`` and re-reads them before it swaps the
tables, under the lock: searches keep working and no update is lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

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

#: pg_advisory_xact_lock key of the one search writer ("shequn-search" as a number).
LOCK_KEY = 0x5E0_5EA_C4

TABLE = "search_post"
BUILD = "search_post_build"
PENDING = "search_pending"

_COLUMNS = "post_id, thread_id, board_id, author_id, kind, number, created_at, title, extra, tsv"


def _ddl(table: str) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {table} (
            post_id bigint PRIMARY KEY,
            thread_id bigint NOT NULL,
            board_id bigint NOT NULL,
            author_id bigint NOT NULL,
            kind varchar(40) NOT NULL,
            number integer NOT NULL,
            created_at timestamp NOT NULL,
            title text NOT NULL DEFAULT '',
            extra jsonb NOT NULL DEFAULT '{{}}',
            tsv tsvector NOT NULL
        )""",
        f"CREATE INDEX IF NOT EXISTS {table}_tsv ON {table} USING gin (tsv)",
        f"CREATE INDEX IF NOT EXISTS {table}_thread ON {table} (thread_id)",
        f"CREATE INDEX IF NOT EXISTS {table}_board_created ON {table} (board_id, created_at)",
    ]


#: tsvector limits: positions run to 16383, a lexeme keeps at most 256 of them.
_POS_MAX = 16383
_POS_PER_LEXEME = 255


def _quote(term: str) -> str:
    """A lexeme quoted for tsvector / tsquery input (quotes and backslashes escaped)."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector(title: str, body: str) -> str:
    """The tsvector literal of a document: title terms at the first positions, weight A;
    body terms after them, weight D (a weight needs a position, so positions are kept)."""
    positions: dict[str, list[str]] = {}
    pos = 0
    for weight, value in (("A", title), ("", body)):
        for term, _start, _end in analyse(value):
            pos = min(pos + 1, _POS_MAX)
            slots = positions.setdefault(term, [])
            if len(slots) < _POS_PER_LEXEME:
                slots.append(f"{pos}{weight}")
    return " ".join(f"{_quote(t)}:{','.join(p)}" for t, p in positions.items())


def _row(doc: Document) -> dict[str, Any]:
    extra = {
        k: v.isoformat() if isinstance(v, datetime) else v for k, v in sorted(doc.extra.items())
    }
    return {
        "post_id": doc.post_id,
        "thread_id": doc.thread_id,
        "board_id": doc.board_id,
        "author_id": doc.author_id,
        "kind": doc.kind,
        "number": doc.number,
        "created_at": doc.created_at,
        "title": doc.title,
        "extra": json.dumps(extra, ensure_ascii=False),
        "tsv": tsvector(doc.title, doc.body),
    }


def _insert(table: str, upsert: bool) -> Any:
    sql = (
        f"INSERT INTO {table} ({_COLUMNS}) VALUES (:post_id, :thread_id, :board_id, :author_id,"
        " :kind, :number, :created_at, :title, CAST(:extra AS jsonb), CAST(:tsv AS tsvector))"
    )
    if upsert:
        sql += (
            " ON CONFLICT (post_id) DO UPDATE SET thread_id = excluded.thread_id,"
            " board_id = excluded.board_id, author_id = excluded.author_id,"
            " kind = excluded.kind, number = excluded.number,"
            " created_at = excluded.created_at, title = excluded.title,"
            " extra = excluded.extra, tsv = excluded.tsv"
        )
    return text(sql)


def _lexeme(term: str, weight: str) -> str:
    """A tsquery literal operand: the quoted term, with ``:A`` for titles only."""
    return _quote(term) + weight


def tsquery(query: ParsedQuery, titles_only: bool) -> str | None:
    """The tsquery literal of ``query`` (None when it has no terms: match every row)."""
    if not query.required:
        return None
    weight = ":A" if titles_only else ""
    out = " & ".join(_lexeme(t, weight) for t in query.required)
    for group in query.excluded:
        out += " & !(" + " & ".join(_lexeme(t, weight) for t in group) + ")"
    return out


class _Writer:
    """An :class:`IndexWriter` on one connection inside the locked transaction."""

    def __init__(self, conn: Connection, table: str, note_pending: bool):
        self.conn = conn
        self.table = table
        self.note_pending = note_pending
        self.threads: set[int] = set()

    def replace_thread(self, thread_id: int, documents: Iterable[Document]) -> None:
        self.conn.execute(text(f"DELETE FROM {self.table} WHERE thread_id = :t"), {"t": thread_id})
        rows = [_row(d) for d in documents]
        if rows:
            self.conn.execute(_insert(self.table, upsert=True), rows)
        self.threads.add(thread_id)

    def replace_post(self, post_id: int, thread_id: int, document: Document | None) -> None:
        if document is None:
            self.conn.execute(text(f"DELETE FROM {self.table} WHERE post_id = :p"), {"p": post_id})
        else:
            self.conn.execute(_insert(self.table, upsert=True), [_row(document)])
        self.threads.add(thread_id)

    def finish(self) -> None:
        """Note the threads written while a rebuild runs (it re-reads them before the swap)."""
        if self.note_pending and self.threads:
            self.conn.execute(
                text(f"INSERT INTO {PENDING} (thread_id) VALUES (:t)"),
                [{"t": t} for t in sorted(self.threads)],
            )


class PostgresBackend:
    """The PostgreSQL backend (see the module), on ``engine`` (the forum's database)."""

    name = "postgres"

    def __init__(self, engine: Engine):
        self.engine = engine
        self._ready = False

    # -- tables -----------------------------------------------------------------------------

    def ensure_tables(self) -> None:
        """Create the index table if it is not there yet (once per process and backend)."""
        if self._ready:
            return
        with self.engine.begin() as conn:
            exists = conn.execute(text(f"SELECT to_regclass('{TABLE}') IS NOT NULL")).scalar()
            if not exists:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
                for statement in _ddl(TABLE):
                    conn.execute(text(statement))
        self._ready = True

    @staticmethod
    def _rebuilding(conn: Connection) -> bool:
        return bool(conn.execute(text(f"SELECT to_regclass('{BUILD}') IS NOT NULL")).scalar())

    # -- writing ----------------------------------------------------------------------------

    @contextmanager
    def writer(self) -> Iterator[IndexWriter]:
        """The one writer: a transaction holding the advisory lock; commits at the end."""
        self.ensure_tables()
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            w = _Writer(conn, TABLE, note_pending=self._rebuilding(conn))
            yield w
            w.finish()

    def rebuild(
        self,
        batches: Callable[[], Iterator[list[Document]]],
        refresh_thread: Callable[[IndexWriter, int], None],
        progress: Progress | None = None,
    ) -> int:
        """Fill a new table from ``batches`` while the live one serves, then swap them (see
        the module). Returns the number of documents."""
        self.ensure_tables()
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            conn.execute(text(f"DROP TABLE IF EXISTS {BUILD}"))
            conn.execute(text(f"DROP TABLE IF EXISTS {PENDING}"))
            conn.execute(text(_ddl(BUILD)[0]))
            conn.execute(text(f"CREATE TABLE {PENDING} (thread_id bigint NOT NULL)"))
        count = 0
        try:
            insert = _insert(BUILD, upsert=True)
            for batch in batches():
                if batch:
                    with self.engine.begin() as conn:
                        conn.execute(insert, [_row(d) for d in batch])
                count += len(batch)
                if progress is not None:
                    progress(len(batch))
            with self.engine.begin() as conn:
                for statement in _ddl(BUILD)[1:]:
                    conn.execute(text(statement))
            with self.engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
                pending = conn.execute(text(f"SELECT DISTINCT thread_id FROM {PENDING}")).scalars()
                w = _Writer(conn, BUILD, note_pending=False)
                for thread_id in sorted(pending):
                    refresh_thread(w, thread_id)
                conn.execute(text(f"DROP TABLE {TABLE}"))
                conn.execute(text(f"DROP TABLE {PENDING}"))
                conn.execute(text(f"ALTER TABLE {BUILD} RENAME TO {TABLE}"))
                for suffix in ("tsv", "thread", "board_created"):
                    conn.execute(text(f"ALTER INDEX {BUILD}_{suffix} RENAME TO {TABLE}_{suffix}"))
                conn.execute(text(f"ALTER INDEX {BUILD}_pkey RENAME TO {TABLE}_pkey"))
        except BaseException:
            with self.engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
                conn.execute(text(f"DROP TABLE IF EXISTS {BUILD}"))
                conn.execute(text(f"DROP TABLE IF EXISTS {PENDING}"))
            raise
        return count

    def clear(self) -> None:
        """Remove every document."""
        self.ensure_tables()
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            conn.execute(text(f"DELETE FROM {TABLE}"))

    # -- reading ----------------------------------------------------------------------------

    def _where(self, query: ParsedQuery, filters: Filters) -> tuple[str, dict[str, Any]]:
        only, boards = board_clause(filters)
        params: dict[str, Any] = {"boards": sorted(boards)}
        if only:
            clauses = ["board_id = ANY(:boards)"]
        elif boards:
            clauses = ["board_id <> ALL(:boards)"]
        else:
            clauses = ["TRUE"]
        q = tsquery(query, filters.titles_only)
        if q is not None:
            params["q"] = q
            clauses.append("tsv @@ CAST(:q AS tsquery)")
        elif filters.titles_only:
            clauses.append("number = 1")
        if filters.author_id is not None:
            params["author"] = filters.author_id
            clauses.append("author_id = :author")
        if filters.kind:
            params["kind"] = filters.kind
            clauses.append("kind = :kind")
        if filters.since is not None:
            params["since"] = filters.since
            clauses.append("created_at >= :since")
        if filters.until is not None:
            params["until"] = filters.until
            clauses.append("created_at < :until")
        for i, (name, value) in enumerate(sorted(filters.extra.items())):
            clauses.append(_extra_clause(name, value, i, params))
        return " AND ".join(clauses), params

    def search(
        self,
        query: ParsedQuery,
        filters: Filters,
        *,
        page: int = 1,
        per_page: int = 20,
        sort: str = "relevance",
    ) -> Results:
        """A page of hits (best first, or newest first) and the total, in one query."""
        if not filters.board_ids:
            return Results([], 0)
        self.ensure_tables()
        where, params = self._where(query, filters)
        if sort == "newest" or query.empty:
            score, order = "0.0", "created_at DESC, post_id DESC"
        else:
            score = "ts_rank(tsv, CAST(:q AS tsquery))"
            order = "score DESC, created_at DESC, post_id DESC"
        params.update(limit=per_page, offset=(page - 1) * per_page)
        sql = (
            f"SELECT post_id, thread_id, {score} AS score, count(*) OVER () AS total"
            f" FROM {TABLE} WHERE {where} ORDER BY {order} LIMIT :limit OFFSET :offset"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql), params).all()
            if not rows and page > 1:
                return Results([], self._count(conn, where, params))
        total = rows[0].total if rows else 0
        return Results([Hit(r.post_id, r.thread_id, float(r.score)) for r in rows], total)

    @staticmethod
    def _count(conn: Connection, where: str, params: dict[str, Any]) -> int:
        return conn.execute(text(f"SELECT count(*) FROM {TABLE} WHERE {where}"), params).scalar()

    def count(self, query: ParsedQuery, filters: Filters) -> int:
        """How many posts match."""
        if not filters.board_ids:
            return 0
        self.ensure_tables()
        where, params = self._where(query, filters)
        with self.engine.connect() as conn:
            return self._count(conn, where, params)

    def all_documents(self) -> list[tuple]:
        """Every stored document, comparable (see :meth:`Document.comparable`)."""
        self.ensure_tables()
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT post_id, thread_id, board_id, author_id, kind, number, created_at,"
                    f" title, extra FROM {TABLE} ORDER BY post_id"
                )
            ).all()
        return [
            (
                r.post_id,
                r.thread_id,
                r.board_id,
                r.author_id,
                r.kind,
                r.number,
                r.created_at.replace(microsecond=0),
                r.title,
                tuple(sorted(r.extra.items())),
            )
            for r in rows
        ]


def _extra_clause(name: str, value: Any, i: int, params: dict[str, Any]) -> str:
    """SQL for one plugin-field filter (``name`` was checked against EXTRA_NAME). A stored
    value of another type never matches (and never makes the cast fail)."""
    key = f"xk{i}"
    params[key] = name
    field = f"(extra ->> :{key})"
    sample = value
    if isinstance(value, tuple):
        low, high = value
        sample = low if low is not None else high
    if isinstance(sample, datetime):
        typed = (
            f"CASE WHEN jsonb_typeof(extra -> :{key}) = 'string' AND {field} ~ "
            f"'^\\d{{4}}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?$' "
            f"THEN CAST({field} AS timestamp) END"
        )
    elif isinstance(sample, bool):
        typed = (
            f"CASE WHEN jsonb_typeof(extra -> :{key}) = 'boolean' THEN CAST({field} AS boolean) END"
        )
    elif isinstance(sample, int | float):
        typed = (
            f"CASE WHEN jsonb_typeof(extra -> :{key}) = 'number' THEN CAST({field} AS numeric) END"
        )
    else:
        typed = f"CASE WHEN jsonb_typeof(extra -> :{key}) = 'string' THEN {field} END"
    if isinstance(value, tuple):
        parts = []
        if low is not None:
            params[f"xl{i}"] = low
            parts.append(f"{typed} >= :xl{i}")
        if high is not None:
            params[f"xh{i}"] = high
            parts.append(f"{typed} <= :xh{i}")
        return "(" + " AND ".join(parts or [f"{typed} IS NOT NULL"]) + ")"
    params[f"xv{i}"] = value
    return f"{typed} = :xv{i}"
