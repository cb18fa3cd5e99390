"""Several processes post at once: every post ends up searchable, no writer error surfaces.

Four processes (as four gunicorn workers would) each write 50 replies at the same time on
one site, queueing their indexing jobs (JOBS_IMMEDIATE off, the shared jobs.db); a consumer
with two threads drains the queue, and all 200 are found. A second test runs the jobs in
the writing processes themselves (four writers contending for the index at once, the
hardest case for the one-writer rule), with fewer posts to keep the suite quick.
"""

from __future__ import annotations

import multiprocessing
import time

import pytest

from forum import search
from forum.services import posting

PROCESSES = 4
PER_PROCESS = 50


@pytest.fixture(params=["whoosh", "postgres"])
def backend_name(request, database_kind) -> str:
    if request.param == "postgres" and database_kind != "postgres":
        pytest.skip("the postgres search backend needs FORUM_TEST_DATABASE_URL")
    if request.param == "whoosh" and database_kind == "postgres":
        # the two deployments that exist: Whoosh beside SQLite (zero set-up), PostgreSQL
        # search beside PostgreSQL; the Whoosh lock does not depend on the database
        pytest.skip("Whoosh concurrency is tested beside SQLite")
    return request.param


@pytest.fixture
def app_config(backend_name) -> dict:
    return {"SEARCH_BACKEND": backend_name}


def _writer(
    config: dict, thread_id: int, author_id: int, worker: int, start_at: float, n: int
) -> None:
    """One process: its own app on the same database and instance, ``n`` replies."""
    from forum.app import create_app
    from forum.extensions import db
    from forum.models import Member, Thread

    app = create_app(config)
    with app.app_context():
        author = db.session.get(Member, author_id)
        thread = db.session.get(Thread, thread_id)
        time.sleep(max(0.0, start_at - time.time()))  # start together
        for i in range(n):
            posting.reply(author, thread, f"并发测试 进程{worker} 第{i}条 编号w{worker}n{i}")
        db.session.remove()


def _config(app, **overrides) -> dict:
    keys = ("TESTING", "SECRET_KEY", "DATABASE_URL", "SEARCH_BACKEND", "RATELIMIT_ENABLED")
    config = {k: app.config[k] for k in keys}
    config["INSTANCE_PATH"] = app.instance_path
    config.update(overrides)
    return config


def _run_writers(config: dict, thread_id: int, author_id: int, n: int = PER_PROCESS) -> None:
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 4.0  # spawned interpreters need a moment to import the app
    procs = [
        ctx.Process(target=_writer, args=(config, thread_id, author_id, w, start_at, n))
        for w in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    for p in procs:
        if p.is_alive():
            p.terminate()
            pytest.fail("a writer process did not finish in time")
        assert p.exitcode == 0, f"a writer process failed (exit code {p.exitcode})"


def _all_found(app) -> int:
    with app.app_context():
        return search.count_posts(None, "并发测试", search.make_filters(None))


def test_queued_jobs_drain_into_the_index(app, make_board, make_member):
    from forum import jobs

    board = make_board("queue", "排队")
    author = make_member("writer")
    thread = posting.create_thread(author, board, "排队", "开始")
    config = _config(app, JOBS_IMMEDIATE=False)
    _run_writers(config, thread.id, author.id)
    assert _all_found(app) == 0  # queued, not run yet
    from forum.app import create_app

    worker_app = create_app(config)  # a consumer as `forum worker` runs it
    consumer = jobs.start_consumer_thread(worker_app, workers=2, periodic=False)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and jobs.huey.pending_count():
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        consumer.stop(timeout=30)
        jobs.init_app(app)  # back to the test app's immediate mode
    assert _all_found(app) == PROCESSES * PER_PROCESS
    assert search.search_posts(None, "w2n49", search.make_filters(None)).total == 1


def test_four_processes_writing_the_index_at_once(app, make_board, make_member):
    board = make_board("busy", "热闹")
    author = make_member("writer")
    thread = posting.create_thread(author, board, "并发", "开始")
    _run_writers(_config(app, JOBS_IMMEDIATE=True), thread.id, author.id, n=15)
    assert _all_found(app) == PROCESSES * 15
    page = search.search_posts(None, "w3n14", search.make_filters(None))
    assert page.total == 1
