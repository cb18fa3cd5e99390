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
import gc
import io
import json
import pstats
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    ("context-local proxies (request, g, current_user)", lambda f, fn: "werkzeug/local.py" in f),
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
    """Mean CPU milliseconds of this process per request over ``n`` requests (all must
    return 200). CPU time, not wall time: the box may be shared with other work."""
    t0 = time.process_time()
    for _ in range(n):
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} → {response.status_code}\n{response.data[:3000]!r}")
    return (time.process_time() - t0) * 1000 / n


def best_of(client, path: str, n: int, rounds: int = 3) -> float:
    """The lowest of ``rounds`` :func:`time_requests` means (the least disturbed one)."""
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        best = min(best, time_requests(client, path, n))
    return best


def ab_compare(client, path: str, n: int, factory, rounds: int = 6) -> dict[str, float]:
    """CPU ms/request without and with an experiment, in alternating rounds (A B A B …),
    each side's best round kept: drifting load on a shared box hits both sides alike."""
    base: list[float] = []
    trial: list[float] = []
    for _ in range(rounds):
        gc.collect()  # each round starts from the same heap state
        base.append(time_requests(client, path, n))
        with factory():
            time_requests(client, path, 5)
            gc.collect()
            trial.append(time_requests(client, path, n))
    a, b = min(base), min(trial)
    plain = client.get(path).data
    with factory():
        changed = client.get(path).data
    return {
        "without": round(a, 3),
        "with": round(b, 3),
        "saved_pct": round(100 * (1 - b / a), 1),
        "same_html": plain == changed,
    }


@contextmanager
def patched_filter(app, name: str, func: Callable) -> Iterator[None]:
    """Temporarily replace a Jinja filter."""
    old = app.jinja_env.filters[name]
    app.jinja_env.filters[name] = func  # compiled templates look filters up per render
    try:
        yield
    finally:
        app.jinja_env.filters[name] = old


@contextmanager
def patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    """Temporarily replace ``obj.name``."""
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def what_ifs(app) -> dict[str, Callable[[], Any]]:
    """Experiments that each remove or replace one cost, to estimate what a change would gain.

    Each value is a context-manager factory; nothing outside this process is changed.
    """
    from sqlalchemy import select

    from forum.extensions import db
    from forum.models import Member, Post
    from forum.services import reading

    def load_only_posts():
        from sqlalchemy.orm import contains_eager, load_only

        def thread_posts(thread, page: int):
            size = reading.per_page_posts()
            first = (page - 1) * size + 1
            return list(
                db.session.execute(
                    select(Post)
                    .join(Member, Post.author_id == Member.id)
                    .options(
                        load_only(
                            Post.id,
                            Post.thread_id,
                            Post.number,
                            Post.author_id,
                            Post.html,
                            Post.created_at,
                            Post.edited_at,
                            Post.edit_count,
                            Post.deleted_at,
                        ),
                        contains_eager(Post.author).load_only(
                            Member.id,
                            Member.username,
                            Member.display_name,
                            Member.avatar,
                        ),
                    )  # fmt: skip
                    .where(
                        Post.thread_id == thread.id,
                        Post.number.between(first, first + size - 1),
                    )
                    .order_by(Post.number)
                ).scalars()
            )

        return patched(reading, "thread_posts", thread_posts)

    def no_gettext():
        env = app.jinja_env
        ident = lambda s, **kw: s % kw if kw else s  # noqa: E731

        @contextmanager
        def cm():
            old = {k: env.globals.get(k) for k in ("gettext", "_", "ngettext")}
            env.globals.update(gettext=ident, _=ident)
            try:
                yield
            finally:
                env.globals.update(old)

        return cm()

    @contextmanager
    def control():
        yield

    def plain_paths():
        """Stand-in for writing ``/t/{{ t.id }}``-style paths in the templates instead of
        ``url_for`` for the per-row links (thread, profile, last post, board)."""
        from urllib.parse import quote

        from flask import url_for

        fast = {
            "main.thread": lambda a: f"/t/{a['thread_id']}",
            "main.thread_last": lambda a: f"/t/{a['thread_id']}/last",
            "members.profile": lambda a: "/u/" + quote(a["username"]),
            "main.board": lambda a: "/b/" + quote(a["slug"]),
        }

        def url(endpoint: str, **values: Any) -> str:
            build = fast.get(endpoint)
            if build is not None and len(values) == 1:
                return build(values)
            return url_for(endpoint, **values)

        @contextmanager
        def cm():
            old = app.jinja_env.globals["url_for"]
            app.jinja_env.globals["url_for"] = url
            try:
                yield
            finally:
                app.jinja_env.globals["url_for"] = old

        return cm()

    return {
        "control: nothing changed (A/B noise check)": control,
        "plain paths instead of url_for for per-row links": plain_paths,
        "thread: posts+authors as ORM entities with load_only (13 columns, no source/password/bio)": (
            load_only_posts
        ),
        "templates without gettext (upper bound of translation cost)": no_gettext,
    }


def profile_page(app, client, name: str, path: str, n: int) -> dict[str, Any]:
    """Time, count queries, sample-profile and cProfile ``n`` requests to ``path``."""
    from pyinstrument import Profiler

    from forum.extensions import db

    time_requests(client, path, 20)  # warm caches (templates, permission matrix, settings)
    ms = best_of(client, path, n, rounds=5)
    experiments: dict[str, Any] = {}
    if app is not None:
        # A cache hit reads no database and renders nothing: experiments are about rendering.
        cache_on = bool(app.config.get("PAGE_CACHE_ENTRIES"))
        for label, factory in ({} if cache_on else what_ifs(app)).items():
            scope = label.split(":", 1)[0].split(" ", 1)[0]
            if scope in ("thread", "index", "board") and not name.startswith(scope):
                continue  # an experiment for another page
            try:
                experiments[label] = ab_compare(client, path, n, factory)
            except Exception as exc:  # an experiment that no longer fits the code
                experiments[label] = f"n/a: {exc}"
    statements: list[str] = []
    if app is not None:
        with app.app_context():
            engine = db.engine
        with QueryCounter(engine) as counter:
            client.get(path)
        statements = counter.statements
    response = client.get(path)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    time_requests(client, path, n)
    profiler.stop()
    root = profiler.last_session.root_frame(trim_stem=False)
    buckets = bucket_times(root)
    total = sum(buckets.values()) or 1.0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tag = f"{name}-cache-{'on' if app is not None and app.config.get('PAGE_CACHE_ENTRIES') else 'off'}"
    (ARTIFACTS / f"profile-{tag}.txt").write_text(
        profiler.output_text(unicode=True, color=False, show_all=False)
    )
    (ARTIFACTS / f"profile-{tag}.html").write_text(profiler.output_html())
    prof = cProfile.Profile()
    prof.enable()
    time_requests(client, path, n)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(45)
    (ARTIFACTS / f"cprofile-{tag}.txt").write_text(out.getvalue())
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
        # pyinstrument's own overhead inflates absolute times: scale shares to the
        # unprofiled CPU time per request instead.
        "buckets_ms": {k: round(ms * v / total, 3) for k, v in buckets.most_common()},
        "what_if_ms_per_request": experiments,
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
            f"\n### {rep['name']} {rep['path']}: {rep['ms_per_request']:.2f} CPU ms/request "
            f"in process ({rep['requests_per_second_in_process']:.0f}/s per core), "
            f"{rep['queries']} SQL statements, {rep['response_bytes']} bytes"
            + (f", Set-Cookie: {rep['set_cookie']}" if rep["set_cookie"] else "")
        )
        for statement in rep["statements"]:
            print(f"    SQL: {statement}")
        for bucket, pct in rep["buckets_pct"].items():
            print(f"  {pct:5.1f}%  {rep['buckets_ms'][bucket]:7.3f} ms  {bucket}")
        for label, value in rep.get("what_if_ms_per_request", {}).items():
            if isinstance(value, dict):
                same = "same HTML" if value["same_html"] else "HTML differs"
                print(
                    f"  what if {label}: {value['without']:.2f} → {value['with']:.2f} ms/request "
                    f"({value['saved_pct']:+.0f}%, {same})"
                )
            else:
                print(f"  what if {label}: {value}")
    kind = "pg" if args.database_url else "sqlite"
    out = ARTIFACTS / f"profile-{kind}-{args.size}-cache-{args.page_cache}.json"
    out.write_text(
        json.dumps([{k: v for k, v in r.items() if k != "cprofile_top"} for r in reports], indent=2)
    )
    print(f"\nwrote {out.relative_to(ROOT)} and profile-*/cprofile-*.txt beside it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
