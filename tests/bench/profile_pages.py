"""Where does a page's time go? In-process profile of the forum's hot pages.

Not a test (pytest does not collect this file). Usage::

    python tests/bench/profile_pages.py                  # 100k SQLite database from seed.py
    python tests/bench/profile_pages.py --size 10k --requests 200
    python tests/bench/profile_pages.py --database-url postgresql://postgres@127.0.0.1:5432/test

For each page (board index, board page 1, thread page 1, thread last page, and a bare Flask
hello-world for scale) it runs ``--requests`` requests through ``app.test_client()``:

1. unprofiled, to get the in-process time per request and the SQL statements per request;
2. under pyinstrument (a sampling profiler, low distortion), then attributes every sample to
   one bucket by the innermost frame that matches a rule (Babel, Jinja, SQLAlchemy, the DB
   driver, Flask-Login, WTForms/CSRF, url_for, …);
3. under cProfile for the top functions by cumulative time (call counts help spot
   per-post costs).

Reports go to stdout and ``artifacts/bench/profile-*.txt`` / ``.html`` (git-ignored).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))

import seed  # noqa: E402  (the sibling script)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "bench"

#: (bucket, predicate on (file path, function name)); the innermost matching frame wins.
RULES: list[tuple[str, Callable[[str, str], bool]]] = [
    ("DB driver (sqlite3/psycopg execute+fetch)", lambda f, fn: "psycopg" in f),
    (
        "DB driver (sqlite3/psycopg execute+fetch)",
        lambda f, fn: "sqlalchemy/engine/default.py" in f and fn in ("do_execute", "do_executemany"),
    ),
    (
        "DB driver (sqlite3/psycopg execute+fetch)",
        lambda f, fn: "sqlalchemy/engine/cursor.py" in f and fn.startswith("fetch"),
    ),
    ("DB connect/pool/pragma", lambda f, fn: "sqlalchemy/pool" in f or fn == "_sqlite_pragmas"),
    ("Babel dates/numbers", lambda f, fn: "/babel/" in f and "support.py" not in f),
    ("Babel dates/numbers", lambda f, fn: "flask_babel" in f and fn.startswith("format_")),
    ("Babel gettext/locale", lambda f, fn: "flask_babel" in f or "babel/support.py" in f),
    ("url_for/routing build", lambda f, fn: fn in ("url_for", "build") and ("flask" in f or "werkzeug" in f)),
    ("url_for/routing build", lambda f, fn: "werkzeug/routing" in f),
    ("WTForms/CSRF", lambda f, fn: "wtforms" in f or "flask_wtf" in f),
    ("Flask-Login (user loading)", lambda f, fn: "flask_login" in f),
    ("Flask-Limiter", lambda f, fn: "flask_limiter" in f or "/limits/" in f),
    ("SQLAlchemy ORM", lambda f, fn: "sqlalchemy/orm" in f),
    ("SQLAlchemy Core/engine", lambda f, fn: "sqlalchemy" in f),
    ("Flask-SQLAlchemy", lambda f, fn: "flask_sqlalchemy" in f),
    ("forum permissions/settings cache", lambda f, fn: "forum/services/permissions" in f or "forum/services/site" in f),
    ("forum templating helpers", lambda f, fn: "forum/web/templating" in f),
    ("Jinja (template code, escaping)", lambda f, fn: "jinja2" in f or "markupsafe" in f or f.endswith(".html")),
    ("itsdangerous/session", lambda f, fn: "itsdangerous" in f or "flask/sessions" in f),
    ("Werkzeug request/response/test client", lambda f, fn: "werkzeug" in f),
    ("Flask dispatch/context", lambda f, fn: "/flask/" in f),
    ("forum views/services", lambda f, fn: "/forum/" in f),
]  # fmt: skip


def classify(stack: list[tuple[str, str]]) -> str:
    """The bucket of a sample: the innermost frame of ``stack`` that matches a rule."""
    for file_path, function in reversed(stack):
        for bucket, matches in RULES:
            if matches(file_path, function):
                return bucket
    return "other (stdlib, test client)"


def bucket_times(root) -> Counter:
    """Seconds per bucket, from a pyinstrument frame tree (self time of every frame)."""
    totals: Counter = Counter()

    def walk(frame, stack: list[tuple[str, str]]) -> None:
        here = [*stack, (frame.file_path or "", frame.function or "")]
        children_time = sum(c.time for c in frame.children)
        self_time = frame.time - children_time
        if self_time > 0:
            totals[classify(here)] += self_time
        for child in frame.children:
            walk(child, here)

    walk(root, [])
    return totals


class QueryCounter:
    """Counts SQL statements (PRAGMA/SAVEPOINT excluded) on an engine."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not statement.lstrip().upper().startswith(("PRAGMA", "SAVEPOINT", "RELEASE")):
            self.statements.append(" ".join(statement.split())[:160])

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)


def time_requests(client, path: str, n: int) -> float:
    """Mean milliseconds per request over ``n`` requests (after they all returned 200)."""
    t0 = time.perf_counter()
    for _ in range(n):
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} → {response.status_code}\n{response.data[:3000]!r}")
    return (time.perf_counter() - t0) * 1000 / n


def profile_page(app, client, name: str, path: str, n: int) -> dict[str, Any]:
    """Time, count queries, sample-profile and cProfile ``n`` requests to ``path``."""
    from pyinstrument import Profiler

    from forum.extensions import db

    time_requests(client, path, 20)  # warm caches (templates, permission matrix, settings)
    ms = time_requests(client, path, n)
    statements: list[str] = []
    if app is not None:
        with app.app_context():
            engine = db.engine
        with QueryCounter(engine) as counter:
            client.get(path)
        statements = counter.statements
    response = client.get(path)
    profiler = Profiler(interval=0.0002)
    profiler.start()
    time_requests(client, path, n)
    profiler.stop()
    root = profiler.last_session.root_frame(trim_stem=False)
    buckets = bucket_times(root)
    total = sum(buckets.values()) or 1.0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"profile-{name}.txt").write_text(
        profiler.output_text(unicode=True, color=False, show_all=False)
    )
    (ARTIFACTS / f"profile-{name}.html").write_text(profiler.output_html())
    prof = cProfile.Profile()
    prof.enable()
    time_requests(client, path, n)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(45)
    (ARTIFACTS / f"cprofile-{name}.txt").write_text(out.getvalue())
    return {
        "name": name,
        "path": path,
        "ms_per_request": round(ms, 3),
        "requests_per_second_in_process": round(1000 / ms, 1),
        "queries": len(statements),
        "statements": statements,
        "response_bytes": len(response.data),
        "set_cookie": response.headers.getlist("Set-Cookie"),
        "buckets_pct": {k: round(100 * v / total, 1) for k, v in buckets.most_common()},
        "buckets_ms": {k: round(1000 * v / n, 3) for k, v in buckets.most_common()},
        "cprofile_top": out.getvalue(),
    }


def hello_client():
    """The bare hello-world app's test client (same as tests/bench/hello.py)."""
    import hello

    return hello.app.test_client()


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(seed.SIZES), default="100k")
    parser.add_argument("--database-url", help="PostgreSQL base URL (default: SQLite)")
    parser.add_argument("--cache-dir", type=Path, default=seed.DEFAULT_CACHE)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--pages", default="hello,index,board_p1,thread_p1,thread_last")
    parser.add_argument("--ref", help="profile this commit (e.g. HEAD) from a snapshot")
    parser.add_argument(
        "--page-cache", choices=("off", "on"), default="off", help="guest page cache"
    )
    args = parser.parse_args(argv)
    seed.use_ref(args.ref, args.cache_dir)
    n = max(1, min(args.requests, 5000))
    result, _reused = seed.ensure_seeded(
        args.size, database_url=args.database_url, cache_dir=args.cache_dir
    )
    overrides = {"PAGE_CACHE_ENTRIES": 0} if args.page_cache == "off" else {}
    app = seed.make_app(result.database_url, Path(result.instance_path), **overrides)
    client = app.test_client()
    last = -(-result.big_thread_last_number // 20)
    pages = {
        "index": "/",
        "board_p1": f"/b/{result.board_slugs[2]}",
        "thread_p1": f"/t/{result.big_thread_id}",
        "thread_last": f"/t/{result.big_thread_id}?page={last}",
    }
    reports = []
    for name in [p.strip() for p in args.pages.split(",") if p.strip()]:
        if name == "hello":
            reports.append(profile_page(None, hello_client(), "hello", "/", n))
        else:
            reports.append(profile_page(app, client, name, pages[name], n))
        rep = reports[-1]
        print(
            f"\n### {rep['name']} {rep['path']}: {rep['ms_per_request']:.2f} ms/request "
            f"in process ({rep['requests_per_second_in_process']:.0f}/s), "
            f"{rep['queries']} SQL statements, {rep['response_bytes']} bytes"
            + (f", Set-Cookie: {rep['set_cookie']}" if rep["set_cookie"] else "")
        )
        for statement in rep["statements"]:
            print(f"    SQL: {statement}")
        for bucket, pct in rep["buckets_pct"].items():
            print(f"  {pct:5.1f}%  {rep['buckets_ms'][bucket]:7.3f} ms  {bucket}")
    out = ARTIFACTS / f"profile-{'pg' if args.database_url else 'sqlite'}-{args.size}.json"
    out.write_text(
        json.dumps([{k: v for k, v in r.items() if k != "cprofile_top"} for r in reports], indent=2)
    )
    print(f"\nwrote {out.relative_to(ROOT)} and profile-*/cprofile-*.txt beside it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
