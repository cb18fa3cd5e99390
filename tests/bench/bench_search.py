"""Search benchmark: index rebuild rate and search latency over Chinese posts, both backends.

Not a test (pytest does not collect this file). Usage::

    python tests/bench/bench_search.py                       # 100k posts, Whoosh on SQLite
    python tests/bench/bench_search.py --posts 20000 --queries 300
    python tests/bench/bench_search.py --posts 100000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/test   # Whoosh and PostgreSQL

It seeds a fresh database (a temporary SQLite file, or a new PostgreSQL schema that is dropped
afterwards) with ``--posts`` Chinese posts in threads of 1–19 posts over 5 boards — sentences
drawn from the demo community's phrase banks, a fifth of them in Traditional characters —
then for each backend (Whoosh always; PostgreSQL when the database is PostgreSQL):

- ``forum reindex``'s rebuild (:func:`forum.search.rebuild`), timed: posts per second;
- ``--queries`` searches through :func:`forum.search.search_posts` as a guest would make them
  (one or two words, some in Traditional, some titles only or newest first, a few pages
  deep), timed one by one after a short warm-up: p50, p90, p99 and the mean, in ms.

Results are printed and written as JSON into ``artifacts/bench/``. Nothing but the database
is contacted; every loop is bounded.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
ARTIFACTS = ROOT / "artifacts" / "bench"
BATCH = 5000
BOARDS = 5
MEMBERS = 8
SEED = 20261202

EXTRA_WORDS = [
    "团购",
    "拼单",
    "报名",
    "周末",
    "约跑",
    "训练",
    "配速",
    "心率",
    "跑量",
    "恢复",
    "拉伸",
    "膝盖",
    "跑鞋",
    "跑步机",
    "马拉松",
    "越野",
    "补给",
    "装备",
    "城市",
    "公园",
    "操场",
    "夜跑",
    "晨跑",
    "比赛",
    "完赛",
    "奖牌",
    "中签",
    "抽签",
    "名额",
    "转让",
    "二手",
    "价格",
    "快递",
]


def _phrases() -> list[str]:
    from forum.demo_text import VOCAB

    phrases = [p for values in VOCAB.values() for p in values if len(p) > 1]
    return phrases + EXTRA_WORDS


def _sentence(rng: random.Random, phrases: list[str], words: int) -> str:
    parts = []
    for _ in range(words):
        parts.append(rng.choice(phrases))
        parts.append(rng.choice(["，", "。", "", " ", "！", "的", "和", "在"]))
    return "".join(parts)


@contextmanager
def database(url: str | None):
    """A fresh database URL (temporary SQLite file, or a new PostgreSQL schema)."""
    folder = Path(tempfile.mkdtemp(prefix="shequn-bench-search-"))
    if not url:
        yield f"sqlite:///{folder / 'forum.db'}", folder
        return
    from sqlalchemy import create_engine, text

    from forum.config import normalise_database_url

    base = normalise_database_url(url)
    schema = "bench_search_" + uuid.uuid4().hex[:8]
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}", folder
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def make_app(url: str, folder: Path, backend: str):
    """A forum app on ``url`` with tables and built-in data, jobs run in the caller."""
    from forum.app import create_app
    from forum.extensions import db
    from forum.services.setup import ensure_defaults

    (folder / "uploads").mkdir(parents=True, exist_ok=True)
    app = create_app(
        {
            "SECRET_KEY": "bench-search",
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(folder),
            "RATELIMIT_ENABLED": False,
            "JOBS_IMMEDIATE": True,
            "SEARCH_BACKEND": backend,
        }
    )
    with app.app_context():
        db.create_all()
        ensure_defaults()
    return app


def seed(app, posts: int, rng: random.Random) -> dict[str, int]:
    """Insert ``posts`` posts (threads of 1–19) by executemany; returns the counts."""
    from opencc import OpenCC

    from forum.extensions import db
    from forum.markup import render
    from forum.models import Post, Thread
    from forum.services import boards, members

    simplified = _phrases()
    to_trad = OpenCC("s2t")
    traditional = [to_trad.convert(p) for p in simplified]
    with app.app_context():
        category = boards.create_category("跑步")
        board_ids = [boards.create_board(category, f"b{i}", f"版块{i}").id for i in range(BOARDS)]
        member_ids = [
            members.create_member(f"runner{i}", f"r{i}@example.com", "correct-horse-9").id
            for i in range(MEMBERS)
        ]
        db.session.commit()
        start = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=700)
        thread_rows: list[dict[str, Any]] = []
        plans: list[tuple[int, int]] = []  # (thread index, posts in it)
        left = posts
        while left > 0:
            n = min(left, rng.randint(1, 19))
            plans.append((len(plans), n))
            left -= n
        conn = db.session.connection()
        for ti, n in plans:
            phrases = traditional if rng.random() < 0.2 else simplified
            thread_rows.append(
                {
                    "board_id": rng.choice(board_ids),
                    "author_id": rng.choice(member_ids),
                    "kind": "discussion",
                    "title": _sentence(rng, phrases, rng.randint(2, 4))[:120] or "帖子",
                    "created_at": start + timedelta(minutes=ti * 3),
                    "last_post_at": start + timedelta(minutes=ti * 3 + n),
                    "last_number": n,
                    "reply_count": n - 1,
                }
            )
        for i in range(0, len(thread_rows), BATCH):
            conn.execute(Thread.__table__.insert(), thread_rows[i : i + BATCH])
        thread_ids = [
            r[0]
            for r in conn.execute(
                Thread.__table__.select().with_only_columns(Thread.id).order_by(Thread.id)
            )
        ]
        batch: list[dict[str, Any]] = []
        html_cache: dict[str, str] = {}
        written = 0
        for (ti, n), thread_id in zip(plans, thread_ids, strict=True):
            phrases = traditional if rng.random() < 0.2 else simplified
            for number in range(1, n + 1):
                source = _sentence(rng, phrases, rng.randint(8, 40))
                html = html_cache.get(source) or f"<p>{source}</p>"
                if len(html_cache) < 64:
                    html_cache[source] = render(source)
                batch.append(
                    {
                        "thread_id": thread_id,
                        "number": number,
                        "author_id": rng.choice(member_ids),
                        "source": source,
                        "html": html,
                        "created_at": start + timedelta(minutes=ti * 3 + number),
                    }
                )
                if len(batch) >= BATCH:
                    conn.execute(Post.__table__.insert(), batch)
                    written += len(batch)
                    batch = []
        if batch:
            conn.execute(Post.__table__.insert(), batch)
            written += len(batch)
        db.session.commit()
        return {"threads": len(plans), "posts": written}


def queries(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """The benchmark's searches: words from the corpus, some Traditional, some filtered."""
    from opencc import OpenCC

    to_trad = OpenCC("s2t")
    words = EXTRA_WORDS + ["马拉松", "能量胶", "佳明", "亚瑟士", "跑步腰包", "心率", "PB", "Nike"]
    out = []
    for _ in range(count):
        q = rng.choice(words)
        if rng.random() < 0.3:
            q += " " + rng.choice(words)
        if rng.random() < 0.2:
            q = to_trad.convert(q)
        out.append(
            {
                "q": q,
                "titles_only": rng.random() < 0.15,
                "sort": "newest" if rng.random() < 0.25 else "relevance",
                "page": rng.choice([1, 1, 1, 1, 2, 3, 5]),
            }
        )
    return out


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def run_backend(app, backend: str, searches: list[dict[str, Any]], expected: int) -> dict:
    """Rebuild with ``backend`` and time the searches; the figures as a dict."""
    from forum import search

    app.config["SEARCH_BACKEND"] = backend
    app.extensions.pop("forum_search", None)
    with app.app_context():
        search.text.terms("预热")  # jieba's dictionary loads once per process, not timed
        started = time.perf_counter()
        count = search.rebuild()
        rebuild_s = time.perf_counter() - started
        assert count == expected, (count, expected)
        times: list[float] = []
        hits = 0
        for i, s in enumerate(searches):
            filters = search.make_filters(None, titles_only=s["titles_only"])
            t0 = time.perf_counter()
            try:
                page = search.search_posts(None, s["q"], filters, sort=s["sort"], page=s["page"])
                hits += page.total
            except search.QueryError:
                pass
            elapsed = (time.perf_counter() - t0) * 1000
            if i >= min(20, len(searches) // 10):  # warm-up not counted
                times.append(elapsed)
            from forum.extensions import db

            db.session.remove()
    return {
        "backend": backend,
        "posts": count,
        "rebuild_s": round(rebuild_s, 2),
        "posts_per_s": round(count / rebuild_s),
        "searches": len(times),
        "p50_ms": round(percentile(times, 50), 2),
        "p90_ms": round(percentile(times, 90), 2),
        "p99_ms": round(percentile(times, 99), 2),
        "mean_ms": round(statistics.fmean(times), 2),
        "mean_total_hits": round(hits / len(searches)),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, seed, run each backend, print and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000, help="posts to seed [100000]")
    parser.add_argument("--queries", type=int, default=300, help="searches to time [300]")
    parser.add_argument("--database-url", default=None, help="PostgreSQL base URL (optional)")
    parser.add_argument(
        "--backends", default=None, help="comma-separated (default: whoosh, + postgres on PG)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.posts <= 2_000_000 or not 1 <= args.queries <= 100_000:
        parser.error("--posts 1..2,000,000 and --queries 1..100,000")
    rng = random.Random(SEED)
    backends = (
        args.backends.split(",")
        if args.backends
        else ["whoosh", "postgres"]
        if args.database_url
        else ["whoosh"]
    )
    results = []
    with database(args.database_url) as (url, folder):
        app = make_app(url, folder, backends[0])
        t0 = time.perf_counter()
        counts = seed(app, args.posts, rng)
        print(
            f"seeded {counts['posts']} posts in {counts['threads']} threads "
            f"({time.perf_counter() - t0:.1f} s)",
            flush=True,
        )
        searches = queries(rng, args.queries)
        for backend in backends:
            result = run_backend(app, backend, searches, counts["posts"])
            results.append(result)
            print(
                f"{backend:9} rebuild {result['rebuild_s']:8.1f} s  {result['posts_per_s']:6} posts/s"
                f"   search p50 {result['p50_ms']:7.2f} ms  p90 {result['p90_ms']:7.2f} ms"
                f"  p99 {result['p99_ms']:7.2f} ms  (mean hits {result['mean_total_hits']})",
                flush=True,
            )
        with app.app_context():
            from forum.extensions import db

            db.engine.dispose()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / f"search-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {
                "posts": args.posts,
                "queries": args.queries,
                "database": "postgresql" if args.database_url else "sqlite",
                "machine": {"python": platform.python_version(), "cpu": platform.processor()},
                "results": results,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
