"""Seed a fresh forum database for the benchmark, fast.

Not a test (pytest does not collect this file). Usage::

    python tests/bench/seed.py --size 100k                      # SQLite under /tmp/shequn-bench
    python tests/bench/seed.py --size 1m --huge-thread          # + one 1,000,000-post thread
    python tests/bench/seed.py --size 100k \\
        --database-url postgresql://postgres@127.0.0.1:5432/test  # own schema bench_100k

What a size means (``N`` = 10k, 100k or 1M): ``N`` posts in ordinary threads of 1–19 posts
(10 on average) spread over 5 boards, written by 200 members, **plus** one big thread of
100,000 posts (5,000 for N = 10k), so every size has "page 1 and the last page of a thread
with 100k posts" to measure. ``--huge-thread`` adds one more thread of 1,000,000 posts.
About 0.5% of the replies are soft-deleted, so the deleted-post paths are exercised too.

How it is fast: the schema comes from the app (``db.create_all()`` and
``ensure_defaults()``); rows are inserted with explicit ids by ``executemany`` in batches of
10,000 inside one transaction; every distinct post text is rendered once with
:func:`forum.markup.render` (never once per post); every denormalised counter (thread, board,
member) is then set with a handful of set-based ``UPDATE`` statements and checked against
independent ``GROUP BY`` aggregates.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex, CreateTable

#: Bump when the seeded data changes shape, so cached databases are rebuilt.
SEED_VERSION = 3
BATCH = 10_000
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "shequn-bench"
SIZES: dict[str, int] = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
BENCH_SECRET = "bench-secret-not-for-production"


@dataclass(frozen=True)
class SeedPlan:
    """What to seed. ``posts`` counts the posts in ordinary threads only."""

    posts: int
    big_thread_posts: int
    huge_thread_posts: int = 0
    boards: int = 5
    members: int = 200
    mean_thread_posts: int = 10
    deleted_ratio: float = 0.005
    random_seed: int = 20240601

    @classmethod
    def for_size(cls, size: str, huge_thread: bool = False) -> SeedPlan:
        """The plan for a named size (``10k``, ``100k``, ``1m``)."""
        posts = SIZES[size.lower()]
        big = 5_000 if posts <= 10_000 else 100_000
        return cls(posts=posts, big_thread_posts=big, huge_thread_posts=1_000_000 * huge_thread)


@dataclass
class SeedResult:
    """What the benchmark needs to know about a seeded database."""

    database_url: str
    instance_path: str
    plan: dict[str, Any]
    fingerprint: str
    seconds: float
    total_posts: int
    threads: int
    board_slugs: list[str]
    big_thread_id: int
    big_thread_last_number: int
    huge_thread_id: int | None = None
    huge_thread_last_number: int | None = None
    checks: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Text corpus: a few dozen distinct posts, each rendered exactly once.

_SENTENCES = [
    "今天跑了十公里，配速五分半，感觉状态不错。",
    "这次拼团的咖啡豆到了，包装很用心，味道偏酸，适合手冲。",
    "请问大家有没有推荐的入门跑鞋？预算五百左右。",
    "打卡第 {n} 天：早起、拉伸、俯卧撑三组。",
    "感谢群主组织，下周六的线下活动我报名了。",
    "二手出一台九成新的相机，自提优先，价格可小刀。",
    "這個問題我也遇到過，後來換了固件就好了。",
    "我觉得会员费定在每年一百比较合理，大家怎么看？",
    "Same here — the group-buy shipped on time and the quality is great.",
    "楼上说得对，关键是坚持，不在于一次跑多远。",
    "补充一点：发货前记得拍照留底，交易更放心。",
    "周末一起去爬山吗？路线大概十五公里，难度中等。",
]
_MARKDOWN_EXTRAS = [
    "\n\n**重点**：请在周五前确认数量。",
    "\n\n- 第一条\n- 第二条\n- 第三条",
    "\n\n> 引用一下之前的讨论：先小批量试试。",
    "\n\n参考链接：https://example.com/guide",
    "\n\n```\npace = distance / time\n```",
    "\n\n1. 报名\n2. 付款\n3. 等待发货",
    "",
    "",
]


def build_corpus(count: int, rng: random.Random, mention: str) -> list[tuple[str, str]]:
    """``count`` distinct (source, html) pairs; html rendered once per text."""
    from forum.markup import render

    corpus: list[tuple[str, str]] = []
    for i in range(count):
        parts = rng.sample(_SENTENCES, k=1 + i % 4)
        source = "".join(parts).format(n=i + 1) + _MARKDOWN_EXTRAS[i % len(_MARKDOWN_EXTRAS)]
        if i % 9 == 0:
            source += f"\n\n@{mention} 你怎么看？"
        corpus.append((source, render(source, {mention.casefold()})))
    return corpus


_TITLES = [
    "新人报到，请多关照",
    "【拼团】云南小粒咖啡第 {n} 期",
    "跑步打卡：第 {n} 周",
    "求推荐：入门装备",
    "【出】九成新相机 #{n}",
    "會員活動討論串 {n}",
    "Weekend hike #{n}",
    "问答：怎么判断卖家靠不靠谱？",
]
_NAMES = ["小明", "阿花", "跑者老王", "咖啡控", "山野", "晨光", "Lin", "大鹏", "小雨", "阿杰"]


# --------------------------------------------------------------------------------------------
# Benchmarking a commit instead of the (shared, maybe half-edited) work tree

REPO = Path(__file__).resolve().parents[2]
SRC_ENV = "SHEQUN_BENCH_SRC"


def source_root() -> Path:
    """Where the code under test lives: a snapshot made by :func:`use_ref`, else the repo."""
    return Path(os.environ.get(SRC_ENV) or REPO)


def snapshot(ref: str, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """Export the committed tree of ``ref`` (``git archive``, read-only on the repository)
    into ``cache_dir/src-<sha>``, with a ``.shim`` folder that maps the import names
    ``forum``, ``forum_themes`` and ``forum_plugins`` onto it. Compiled message catalogs that
    are not committed are copied from the work tree, so pages are translated as usual."""
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=30,
    ).stdout.strip()  # fmt: skip
    dest = cache_dir / f"src-{sha[:12]}"
    if (dest / ".complete").exists():
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", sha], cwd=REPO, capture_output=True, check=True,
        timeout=120,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    for mo in (REPO / "forum" / "translations").glob("*/LC_MESSAGES/*.mo"):
        target = dest / mo.relative_to(REPO)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(mo, target)
    shim = dest / ".shim"
    shim.mkdir()
    for name, folder in (
        ("forum", "forum"),
        ("forum_themes", "themes"),
        ("forum_plugins", "plugins"),
    ):
        if (dest / folder).exists():
            (shim / name).symlink_to(dest / folder, target_is_directory=True)
    (dest / ".complete").write_text(sha)
    return dest


def use_ref(ref: str | None, cache_dir: Path = DEFAULT_CACHE) -> None:
    """Re-run this script against a snapshot of ``ref`` (no-op when ``ref`` is None or the
    snapshot is already in use). Child processes (gunicorn) inherit the snapshot too."""
    if not ref:
        return
    src = snapshot(ref, cache_dir)
    if os.environ.get(SRC_ENV) == str(src):
        return
    env = dict(os.environ)
    env[SRC_ENV] = str(src)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(src / ".shim"), env.get("PYTHONPATH", "")) if p
    )
    print(f"benchmarking {ref} from {src}", file=sys.stderr, flush=True)
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


# --------------------------------------------------------------------------------------------
# Database plumbing


def sqlite_url(folder: Path) -> str:
    """The SQLite URL of the benchmark database in ``folder``."""
    return f"sqlite:///{folder / 'forum.db'}"


def postgres_url(base: str, schema: str) -> str:
    """``base`` with ``search_path`` set to ``schema`` (as forum.testing does)."""
    from forum.config import normalise_database_url

    base = normalise_database_url(base)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


def schema_fingerprint(plan: SeedPlan) -> str:
    """A hash of the app's table definitions, the seed version and the plan.

    A cached database is reused only while this is unchanged, so a model change made by
    another developer rebuilds the benchmark database instead of benchmarking a stale one.
    """
    from sqlalchemy.dialects import sqlite

    from forum import models  # noqa: F401  (registers the tables)
    from forum.extensions import db

    dialect = sqlite.dialect()
    parts = [f"seed:{SEED_VERSION}", json.dumps(asdict(plan), sort_keys=True)]
    for table in sorted(db.metadata.tables.values(), key=lambda t: t.name):
        parts.append(str(CreateTable(table).compile(dialect=dialect)))
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            parts.append(str(CreateIndex(index).compile(dialect=dialect)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def make_app(database_url: str, instance_path: Path, **overrides: Any):
    """A forum app bound to ``database_url`` (like forum.testing.make_test_app, not TESTING)."""
    from forum.app import create_app

    (instance_path / "uploads").mkdir(parents=True, exist_ok=True)
    return create_app(
        {
            "SECRET_KEY": BENCH_SECRET,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(instance_path),
            "RATELIMIT_ENABLED": False,
            **overrides,
        }
    )


def _reset_database(database_url: str, folder: Path, schema: str | None) -> None:
    """Remove the old SQLite file or (re)create the PostgreSQL schema."""
    if schema is None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(folder / "forum.db") + suffix).unlink(missing_ok=True)
        return
    base = database_url.split("?", 1)[0]
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()


def _insert(conn: Connection, table, rows: Iterator[dict[str, Any]]) -> int:
    """``executemany`` ``rows`` into ``table`` in batches of :data:`BATCH`; returns the count."""
    stmt = table.insert()
    batch: list[dict[str, Any]] = []
    n = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(stmt, batch)
            n += len(batch)
            batch = []
    if batch:
        conn.execute(stmt, batch)
        n += len(batch)
    return n


# --------------------------------------------------------------------------------------------
# Seeding


@dataclass
class _ThreadSpec:
    id: int
    board_id: int
    title: str
    posts: int
    start: datetime
    step: timedelta
    first_post_id: int = 0


def _thread_specs(plan: SeedPlan, board_ids: list[int], now: datetime, rng: random.Random):
    """Ordinary threads first, then the big thread, then the optional huge thread."""
    specs: list[_ThreadSpec] = []
    remaining = plan.posts
    tid = 0
    span = 730 * 24 * 3600
    while remaining > 0:
        tid += 1
        n = min(remaining, rng.randint(1, 2 * plan.mean_thread_posts - 1))
        remaining -= n
        start = now - timedelta(days=1, seconds=rng.randrange(span))
        title = rng.choice(_TITLES).format(n=tid)
        specs.append(
            _ThreadSpec(tid, rng.choice(board_ids), title, n, start, timedelta(minutes=37))
        )
    big_span = timedelta(days=100)
    tid += 1
    specs.append(
        _ThreadSpec(
            tid,
            board_ids[0],
            f"【大楼】每日打卡接龙（{plan.big_thread_posts:,} 帖）",
            plan.big_thread_posts,
            now - big_span,
            big_span / plan.big_thread_posts,
        )
    )
    if plan.huge_thread_posts:
        tid += 1
        specs.append(
            _ThreadSpec(
                tid,
                board_ids[1 % len(board_ids)],
                f"【巨楼】接龙（{plan.huge_thread_posts:,} 帖）",
                plan.huge_thread_posts,
                now - big_span * 2,
                big_span * 2 / plan.huge_thread_posts,
            )
        )
    return specs


def _post_rows(
    specs: list[_ThreadSpec],
    plan: SeedPlan,
    corpus: list[tuple[str, str]],
    author_ids: list[int],
    rng: random.Random,
) -> Iterator[dict[str, Any]]:
    pid = 0
    ncorpus = len(corpus)
    nauthors = len(author_ids)
    threshold = int(plan.deleted_ratio * 1_000_000)
    for spec in specs:
        spec.first_post_id = pid + 1
        for number in range(1, spec.posts + 1):
            pid += 1
            source, html = corpus[(pid * 7 + number) % ncorpus]
            author = spec.id % nauthors if number == 1 else rng.randrange(nauthors)
            deleted = number > 1 and rng.randrange(1_000_000) < threshold
            created = spec.start + spec.step * (number - 1)
            yield {
                "id": pid,
                "thread_id": spec.id,
                "number": number,
                "author_id": author_ids[author],
                "source": source,
                "html": html,
                "created_at": created,
                "edited_at": created + timedelta(minutes=5) if pid % 97 == 0 else None,
                "edit_count": 1 if pid % 97 == 0 else 0,
                "deleted_at": created + timedelta(hours=1) if deleted else None,
                "deleted_by_id": author_ids[0] if deleted else None,
            }


#: Set-based counter updates, in order. Portable SQL (SQLite and PostgreSQL).
COUNTER_UPDATES: list[tuple[str, str]] = [
    (
        "thread numbers",
        """UPDATE thread SET
             last_number = (SELECT max(p.number) FROM post p WHERE p.thread_id = thread.id),
             reply_count = (SELECT count(*) FROM post p
                            WHERE p.thread_id = thread.id AND p.deleted_at IS NULL) - 1,
             first_post_id = (SELECT p.id FROM post p
                              WHERE p.thread_id = thread.id AND p.number = 1)""",
    ),
    (
        "thread last post",
        """UPDATE thread SET
             last_post_id = (SELECT p.id FROM post p
                             WHERE p.thread_id = thread.id AND p.deleted_at IS NULL
                             ORDER BY p.number DESC LIMIT 1),
             last_post_at = (SELECT p.created_at FROM post p
                             WHERE p.thread_id = thread.id AND p.deleted_at IS NULL
                             ORDER BY p.number DESC LIMIT 1),
             last_poster_name = (SELECT CASE WHEN m.display_name <> '' THEN m.display_name
                                             ELSE m.username END
                                 FROM post p JOIN member m ON m.id = p.author_id
                                 WHERE p.thread_id = thread.id AND p.deleted_at IS NULL
                                 ORDER BY p.number DESC LIMIT 1)""",
    ),
    (
        "board counts",
        """UPDATE board SET
             thread_count = (SELECT count(*) FROM thread t
                             WHERE t.board_id = board.id AND t.deleted_at IS NULL),
             post_count = (SELECT coalesce(sum(t.reply_count + 1), 0) FROM thread t
                           WHERE t.board_id = board.id AND t.deleted_at IS NULL),
             last_thread_id = (SELECT t.id FROM thread t
                               WHERE t.board_id = board.id AND t.deleted_at IS NULL
                               ORDER BY t.last_post_at DESC, t.id DESC LIMIT 1)""",
    ),
    (
        "board last post",
        """UPDATE board SET
             last_post_id = (SELECT t.last_post_id FROM thread t WHERE t.id = board.last_thread_id),
             last_post_at = (SELECT t.last_post_at FROM thread t WHERE t.id = board.last_thread_id),
             last_poster_name = coalesce((SELECT t.last_poster_name FROM thread t
                                          WHERE t.id = board.last_thread_id), ''),
             last_thread_title = coalesce((SELECT t.title FROM thread t
                                           WHERE t.id = board.last_thread_id), '')""",
    ),
    (
        "member counts",
        """UPDATE member SET
             post_count = (SELECT count(*) FROM post p
                           WHERE p.author_id = member.id AND p.deleted_at IS NULL),
             thread_count = (SELECT count(*) FROM thread t
                             WHERE t.author_id = member.id AND t.deleted_at IS NULL)""",
    ),
]

#: Each query returns the number of rows whose counter disagrees with a fresh aggregate.
CONSISTENCY_CHECKS: dict[str, str] = {
    "thread": """SELECT count(*) FROM thread t JOIN (
                   SELECT thread_id, max(number) AS last_number,
                          sum(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END) AS live
                   FROM post GROUP BY thread_id) a ON a.thread_id = t.id
                 WHERE t.last_number <> a.last_number OR t.reply_count <> a.live - 1
                    OR t.first_post_id IS NULL OR t.last_post_id IS NULL""",
    "thread_last_post": """SELECT count(*) FROM thread t JOIN post p ON p.id = t.last_post_id
                           WHERE p.thread_id <> t.id OR p.created_at <> t.last_post_at
                              OR p.deleted_at IS NOT NULL""",
    "board": """SELECT count(*) FROM board b LEFT JOIN (
                  SELECT board_id, count(*) AS threads, sum(reply_count + 1) AS posts,
                         max(last_post_at) AS last_at
                  FROM thread WHERE deleted_at IS NULL GROUP BY board_id) a
                  ON a.board_id = b.id
                WHERE b.thread_count <> coalesce(a.threads, 0)
                   OR b.post_count <> coalesce(a.posts, 0)
                   OR (a.last_at IS NOT NULL AND b.last_post_at <> a.last_at)""",
    "member": """SELECT count(*) FROM member m
                 LEFT JOIN (SELECT author_id, count(*) AS n FROM post
                            WHERE deleted_at IS NULL GROUP BY author_id) p
                   ON p.author_id = m.id
                 LEFT JOIN (SELECT author_id, count(*) AS n FROM thread
                            WHERE deleted_at IS NULL GROUP BY author_id) t
                   ON t.author_id = m.id
                 WHERE m.post_count <> coalesce(p.n, 0) OR m.thread_count <> coalesce(t.n, 0)""",
    "post_total": """SELECT (SELECT count(*) FROM post WHERE deleted_at IS NULL)
                          - (SELECT sum(post_count) FROM board)""",
}


def seed(
    plan: SeedPlan, database_url: str, instance_path: Path, schema: str | None = None
) -> SeedResult:
    """Build a fresh database for ``plan`` at ``database_url`` and return what was made."""
    from werkzeug.security import generate_password_hash

    from forum.extensions import db
    from forum.models import Board, Category, Group, GroupMembership, Member, Post, Thread
    from forum.models.base import utcnow
    from forum.services.setup import ensure_defaults

    started = time.perf_counter()
    folder = instance_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    _reset_database(database_url, folder, schema)
    app = make_app(database_url, instance_path)
    rng = random.Random(plan.random_seed)
    now = utcnow().replace(microsecond=0)  # naive UTC, like every timestamp column
    with app.app_context():
        db.create_all()
        ensure_defaults()
        groups = {g.key: g.id for g in db.session.execute(db.select(Group)).scalars()}
        db.session.remove()
        engine = db.engine
        postgres = engine.dialect.name == "postgresql"
        with engine.begin() as conn:
            if not postgres:
                conn.exec_driver_sql("PRAGMA cache_size=-400000")  # ~400 MB page cache
                conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
            else:
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            password_hash = generate_password_hash("bench-password-1")
            member_ids = list(range(1, plan.members + 1))
            _insert(
                conn,
                Member.__table__,
                (
                    {
                        "id": i,
                        "username": f"user{i:04d}",
                        "username_key": f"user{i:04d}",
                        "email": f"user{i:04d}@example.com",
                        "email_key": f"user{i:04d}@example.com",
                        "password_hash": password_hash,
                        "display_name": _NAMES[i % len(_NAMES)] + str(i) if i % 2 else "",
                        "bio": "",
                        "timezone": "",
                        "locale": "",
                        "status": "active",
                        "ban_reason": "",
                        "email_confirmed_at": now - timedelta(days=800),
                        "created_at": now - timedelta(days=800 - i),
                        "post_count": 0,
                        "thread_count": 0,
                        "session_token": f"{i:032x}",
                    }
                    for i in member_ids
                ),
            )
            _insert(
                conn,
                GroupMembership.__table__,
                iter(
                    [
                        {"member_id": 1, "group_id": groups["admin"], "source": "admin",
                         "created_at": now},
                        {"member_id": 2, "group_id": groups["moderator"], "source": "admin",
                         "created_at": now},
                    ]
                ),
            )  # fmt: skip
            categories = [(1, "社群"), (2, "交易与活动")]
            _insert(
                conn,
                Category.__table__,
                ({"id": cid, "name": name, "position": cid} for cid, name in categories),
            )
            board_names = ["综合讨论", "跑步打卡", "拼团", "二手交易", "问答"]
            board_ids = list(range(1, plan.boards + 1))
            slugs = [f"board{i}" for i in board_ids]
            _insert(
                conn,
                Board.__table__,
                (
                    {
                        "id": bid,
                        "category_id": 1 if bid <= 2 else 2,
                        "slug": slugs[bid - 1],
                        "name": board_names[(bid - 1) % len(board_names)],
                        "description": "基准测试版块：" + board_names[(bid - 1) % len(board_names)],
                        "position": bid,
                        "thread_kinds": "discussion",
                        "thread_count": 0,
                        "post_count": 0,
                        "last_poster_name": "",
                        "last_thread_title": "",
                    }
                    for bid in board_ids
                ),
            )
            specs = _thread_specs(plan, board_ids, now, rng)
            _insert(
                conn,
                Thread.__table__,
                (
                    {
                        "id": s.id,
                        "board_id": s.board_id,
                        "author_id": member_ids[s.id % len(member_ids)],
                        "kind": "discussion",
                        "title": s.title,
                        "status": "open",
                        "pinned": s.id == 1,
                        "created_at": s.start,
                        "last_number": 0,
                        "reply_count": 0,
                        "view_count": s.posts * 3,
                        "last_post_at": s.start,
                        "last_poster_name": "",
                    }
                    for s in specs
                ),
            )
            corpus = build_corpus(64, rng, "user0001")
            t_posts = time.perf_counter()
            total = _insert(conn, Post.__table__, _post_rows(specs, plan, corpus, member_ids, rng))
            print(
                f"  inserted {total:,} posts in {time.perf_counter() - t_posts:.1f}s",
                file=sys.stderr,
            )
            for name, sql in COUNTER_UPDATES:
                t0 = time.perf_counter()
                conn.exec_driver_sql(sql)
                print(f"  {name}: {time.perf_counter() - t0:.1f}s", file=sys.stderr)
            if postgres:
                for table in ("member", "category", "board", "thread", "post", "group_membership"):
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
            checks = {
                name: conn.exec_driver_sql(sql).scalar() for name, sql in CONSISTENCY_CHECKS.items()
            }
            bad = {k: v for k, v in checks.items() if v}
            if bad:
                raise RuntimeError(f"denormalised counters disagree with the data: {bad}")
        with engine.connect() as conn:
            if postgres:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("VACUUM ANALYZE")
            else:
                conn.exec_driver_sql("ANALYZE")
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.commit()
        engine.dispose()
    big = specs[-1] if not plan.huge_thread_posts else specs[-2]
    huge = specs[-1] if plan.huge_thread_posts else None
    return SeedResult(
        database_url=database_url,
        instance_path=str(instance_path),
        plan=asdict(plan),
        fingerprint=schema_fingerprint(plan),
        seconds=round(time.perf_counter() - started, 2),
        total_posts=total,
        threads=len(specs),
        board_slugs=slugs,
        big_thread_id=big.id,
        big_thread_last_number=big.posts,
        huge_thread_id=huge.id if huge else None,
        huge_thread_last_number=huge.posts if huge else None,
        checks=checks,
    )


def _still_valid(result: SeedResult) -> bool:
    """Does the database behind a cached result still hold what the result says?"""
    engine = create_engine(result.database_url)
    try:
        with engine.connect() as conn:
            last = conn.exec_driver_sql("SELECT max(id) FROM post").scalar()
            return last == result.total_posts
    except Exception:
        return False
    finally:
        engine.dispose()


def ensure_seeded(
    size: str,
    *,
    database_url: str | None = None,
    cache_dir: Path = DEFAULT_CACHE,
    huge_thread: bool = False,
    reseed: bool = False,
) -> tuple[SeedResult, bool]:
    """A seeded database for ``size``: reused from the cache when still valid, else built.

    Returns the result and whether it was reused. SQLite databases live in
    ``cache_dir/sqlite-<size>/forum.db``; PostgreSQL ones in the schema ``bench_<size>`` of
    ``database_url``'s database (the meta file still lives in ``cache_dir``).
    """
    plan = SeedPlan.for_size(size, huge_thread)
    kind = "pg" if database_url else "sqlite"
    tag = f"{size.lower()}{'-huge' if huge_thread else ''}"
    folder = cache_dir / f"{kind}-{tag}"
    instance_path = folder / "instance"
    meta = folder / "seed.json"
    if database_url:
        schema = "bench_" + tag.replace("-", "_")
        url = postgres_url(database_url, schema)
    else:
        schema = None
        url = sqlite_url(folder)
    fingerprint = schema_fingerprint(plan)
    if not reseed and meta.exists():
        cached = SeedResult(**json.loads(meta.read_text()))
        if (
            cached.fingerprint == fingerprint
            and cached.database_url == url
            and _still_valid(cached)
        ):
            return cached, True
    if folder.exists() and not database_url:
        shutil.rmtree(folder)
    result = seed(plan, url, instance_path, schema)
    meta.write_text(json.dumps(asdict(result), indent=2))
    return result, False


def main(argv: list[str] | None = None) -> int:
    """Command line: seed one size and print the seed time."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="10k")
    parser.add_argument("--database-url", help="PostgreSQL base URL (default: SQLite)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--huge-thread", action="store_true", help="add a 1M-post thread")
    parser.add_argument("--reuse", action="store_true", help="keep a valid cached database")
    parser.add_argument("--ref", help="seed with the schema of this commit (e.g. HEAD)")
    args = parser.parse_args(argv)
    use_ref(args.ref, args.cache_dir)
    result, reused = ensure_seeded(
        args.size,
        database_url=args.database_url,
        cache_dir=args.cache_dir,
        huge_thread=args.huge_thread,
        reseed=not args.reuse,
    )
    how = "reused" if reused else "seeded"
    print(
        f"{how} {args.size}: {result.total_posts:,} posts in {result.threads:,} threads "
        f"in {result.seconds:.1f}s → {result.database_url}"
    )
    print(json.dumps(result.checks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
