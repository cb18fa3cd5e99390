"""Background jobs (``forum.jobs``): immediate mode in tests, a real consumer on the SQLite
queue and on Redis, periodic jobs (plugin disabled → skipped, failures logged, duplicate
registration), and the ``forum worker`` command.

Every test leaves huey as it found it (immediate mode, in-memory storage, no periodic
jobs), so a queued-mode app here never reaches another test.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import current_app, g, has_app_context
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy import select

from forum import jobs
from forum.cli import cli
from forum.extensions import db
from forum.models import Category
from forum.testing import fresh_database, make_test_app

WAIT = 4.0  # seconds any wait may take at most; the whole test stays under 5 s

# -- tasks of this module (declared at import time, as core and plugins do) -------------

seen_sessions: list = []


@jobs.task()
def add_category(name: str) -> int:
    """Write through a service, from inside the task's own app context."""
    from forum.services import boards

    seen_sessions.append(db.session())
    return boards.create_category(name).id


@jobs.task()
def where_am_i() -> dict:
    """What the task sees of Flask while it runs."""
    return {
        "app_context": has_app_context(),
        "app": current_app.name,
        "caller_g": getattr(g, "marker", None),
        "session": id(db.session()),
    }


@jobs.task()
def explode() -> None:
    """A task that fails."""
    raise RuntimeError("boom")


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clean_jobs():
    """No test inherits another's huey configuration or periodic jobs."""
    jobs.reset()
    seen_sessions.clear()
    yield
    jobs.reset()


@pytest.fixture
def queued_app(tmp_path, database_kind):
    """An app that queues jobs in instance/jobs.db instead of running them at once."""
    with fresh_database(tmp_path, database_kind) as url:
        application = make_test_app(tmp_path, url, JOBS_IMMEDIATE=False)
        with application.app_context():
            yield application
            db.session.remove()
        with application.app_context():
            db.engine.dispose()


@pytest.fixture
def consumer():
    """``consumer(app, **options)`` starts an in-process consumer, stopped after the test."""
    handles: list[jobs.ConsumerThread] = []

    def start(app, **options) -> jobs.ConsumerThread:
        handle = jobs.start_consumer_thread(app, **options)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        assert handle.stop(timeout=WAIT), "consumer threads still running"


def category_names() -> list[str]:
    db.session.rollback()  # a fresh snapshot: the task committed in another session
    return list(db.session.scalars(select(Category.name).order_by(Category.id)))


class Plugins:
    """Stands in for the plugin manager: reports which plugins are enabled."""

    def __init__(self, *enabled: str):
        self.enabled = set(enabled)

    def is_enabled(self, name: str) -> bool:
        return name in self.enabled


# -- immediate mode ---------------------------------------------------------------------------


def test_tests_run_jobs_immediately_in_a_fresh_app_context(app):
    assert jobs.immediate_mode(app)
    assert jobs.huey.immediate
    assert isinstance(jobs.huey.storage, MemoryStorage)
    g.marker = "the caller's"

    seen = where_am_i().get()

    assert seen["app_context"] and seen["app"] == app.name
    assert seen["caller_g"] is None  # its own context, not the caller's
    assert seen["session"] != id(db.session())  # and its own database session


def test_immediate_task_uses_the_database(app):
    category_id = add_category("分类 立即").get()

    assert db.session.get(Category, category_id).name == "分类 立即"
    (session,) = seen_sessions
    assert session is not db.session()
    assert not session.in_transaction() and len(session.identity_map) == 0  # removed


def test_immediate_task_failure_raises_only_when_the_result_is_read(app):
    from huey.exceptions import TaskException

    result = explode()
    with pytest.raises(TaskException, match="boom"):
        result.get()


# -- a real consumer --------------------------------------------------------------------------


def test_consumer_thread_runs_queued_task_from_sqlite_file(queued_app, consumer, tmp_path):
    started = time.monotonic()
    assert isinstance(jobs.huey.storage, SqliteStorage)
    assert jobs.huey.storage.filename == str(tmp_path / "instance" / "jobs.db")

    result = add_category("分类 队列")
    assert jobs.huey.pending_count() == 1
    assert "分类 队列" not in category_names()  # queued, not run

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    handle = consumer(queued_app, workers=1, periodic=False)
    assert handlers == {sig: signal.getsignal(sig) for sig in handlers}  # the server's own
    category_id = result.get(blocking=True, timeout=WAIT)

    assert "分类 队列" in category_names()
    assert db.session.get(Category, category_id).name == "分类 队列"
    assert jobs.huey.pending_count() == 0
    assert handle.stop(timeout=WAIT) and not handle.running
    assert time.monotonic() - started < 5


def test_consumer_thread_pushes_the_app_context_itself(queued_app, consumer):
    result = where_am_i()
    consumer(queued_app, workers=1, periodic=False)

    seen = result.get(blocking=True, timeout=WAIT)

    assert seen["app_context"] and seen["app"] == queued_app.name


def test_no_consumer_in_immediate_mode(app):
    with pytest.raises(RuntimeError, match="immediately"):
        jobs.start_consumer_thread(app)


def test_redis_storage(tmp_path, consumer):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    queue = "test" + uuid.uuid4().hex[:12]
    with fresh_database(tmp_path, "sqlite") as database_url:
        application = make_test_app(
            tmp_path, database_url, JOBS_IMMEDIATE=False, REDIS_URL=url, JOBS_QUEUE=queue
        )
    try:
        assert isinstance(jobs.huey.storage, RedisStorage)
        assert jobs.describe_storage() == f"Redis {url}, queue {queue}"
        with application.app_context():
            result = add_category("分类 Redis")
            assert jobs.huey.pending_count() == 1
            consumer(application, workers=1, periodic=False)
            category_id = result.get(blocking=True, timeout=WAIT)
            assert db.session.get(Category, category_id).name == "分类 Redis"
    finally:
        jobs.huey.storage.flush_all()


def test_describe_storage_masks_a_redis_password(tmp_path):
    with fresh_database(tmp_path, "sqlite") as url:
        make_test_app(
            tmp_path, url, JOBS_IMMEDIATE=False, REDIS_URL="redis://:s3cret@127.0.0.1:6379/15"
        )
    assert "s3cret" not in jobs.describe_storage()
    assert "redis://:***@127.0.0.1:6379/15" in jobs.describe_storage()


def test_reset_puts_immediate_mode_back(queued_app):
    assert not jobs.huey.immediate
    jobs.reset()
    assert jobs.huey.immediate
    assert isinstance(jobs.huey.storage, MemoryStorage)


# -- periodic jobs ------------------------------------------------------------------------------


def test_periodic_job_skipped_while_its_plugin_is_disabled(app, monkeypatch):
    calls: list[str] = []
    monkeypatch.setitem(app.extensions, "forum_plugins", Plugins("on"))
    jobs.register_periodic(jobs.PeriodicJob("t-off", lambda: calls.append("off")), plugin="off")
    jobs.register_periodic(jobs.PeriodicJob("t-on", lambda: calls.append("on")), plugin="on")
    jobs.register_periodic(jobs.PeriodicJob("t-core", lambda: calls.append("core")))

    assert jobs.run_periodic_now("t-off") == "skipped"
    assert jobs.run_periodic_now("t-on") == "ran"
    assert jobs.run_periodic_now("t-core") == "ran"
    assert calls == ["on", "core"]
    with pytest.raises(KeyError):
        jobs.run_periodic_now("t-unknown")


def test_periodic_job_runs_when_there_is_no_plugin_manager(app, monkeypatch):
    monkeypatch.delitem(app.extensions, "forum_plugins", raising=False)
    calls: list[int] = []
    jobs.register_periodic(jobs.PeriodicJob("t-any", lambda: calls.append(1)), plugin="any")

    assert jobs.run_periodic_now("t-any") == "ran" and calls == [1]


def test_periodic_job_runs_in_an_app_context_with_the_database(app):
    from forum.services import boards

    jobs.register_periodic(jobs.PeriodicJob("t-db", lambda: boards.create_category("分类 定时")))

    assert jobs.run_periodic_now("t-db") == "ran"
    assert "分类 定时" in category_names()


def test_failing_periodic_job_is_logged_with_job_and_plugin(app, monkeypatch, caplog):
    monkeypatch.setitem(app.extensions, "forum_plugins", Plugins("qa"))

    def fail() -> None:
        raise ValueError("bad data")

    jobs.register_periodic(jobs.PeriodicJob("t-fail", fail), plugin="qa")
    with caplog.at_level(logging.ERROR, logger="forum.jobs"):
        assert jobs.run_periodic_now("t-fail") == "failed"

    (record,) = [r for r in caplog.records if r.name == "forum.jobs"]
    assert "t-fail" in record.getMessage() and "qa" in record.getMessage()
    assert "bad data" in record.exc_text


def test_registering_a_name_twice_replaces_it(app):
    calls: list[str] = []
    jobs.register_periodic(jobs.PeriodicJob("t-twice", lambda: calls.append("first")))
    jobs.register_periodic(jobs.PeriodicJob("t-twice", lambda: calls.append("second")))

    scheduled = [t for t in jobs.huey.read_periodic(None) if "t-twice" in type(t).__name__]
    assert len(scheduled) == 1
    ours = lambda: [name for name in jobs.periodic_jobs() if name.startswith("t-")]  # noqa: E731
    assert ours() == ["t-twice"]  # the core's own jobs (the digest) are registered too
    assert jobs.run_periodic_now("t-twice") == "ran" and calls == ["second"]
    assert jobs.unregister_periodic("t-twice") and not ours()
    assert not jobs.unregister_periodic("t-twice")


def test_crontab_fields_in_the_configured_time_zone(tmp_path):
    with fresh_database(tmp_path, "sqlite") as url:
        make_test_app(tmp_path, url, JOBS_TIMEZONE="Asia/Shanghai")
    jobs.register_periodic(jobs.PeriodicJob("t-midnight", lambda: None, minute=0, hour=0))

    def due(utc: datetime) -> bool:
        return any("t-midnight" in type(t).__name__ for t in jobs.huey.read_periodic(utc))

    assert due(datetime(2024, 5, 1, 16, 0))  # 00:00 in Beijing
    assert not due(datetime(2024, 5, 1, 0, 0))


def test_bad_crontab_is_refused(app):
    with pytest.raises(ValueError):
        jobs.register_periodic(jobs.PeriodicJob("t-bad", lambda: None, minute="61"))
    assert "t-bad" not in jobs.periodic_jobs()


def test_consumer_runs_periodic_jobs_and_survives_a_failing_one(
    queued_app, consumer, monkeypatch, caplog
):
    monkeypatch.setitem(queued_app.extensions, "forum_plugins", Plugins("on"))
    for name in list(jobs.periodic_jobs()):  # only this test's jobs
        jobs.unregister_periodic(name)
    ran = threading.Event()
    skipped: list[str] = []

    def fail() -> None:
        raise RuntimeError("periodic boom")

    def succeed() -> None:
        assert has_app_context()
        ran.set()

    # Every-minute jobs, queued by the scheduler when it starts; one worker runs them in
    # registration order, so the failing one is done when the next one runs.
    jobs.register_periodic(jobs.PeriodicJob("t-raises", fail), plugin="on")
    jobs.register_periodic(jobs.PeriodicJob("t-off", lambda: skipped.append("!")), plugin="off")
    jobs.register_periodic(jobs.PeriodicJob("t-runs", succeed), plugin="on")
    with caplog.at_level(logging.ERROR, logger="forum.jobs"):
        consumer(queued_app, workers=1, periodic=True)
        assert ran.wait(WAIT)
        assert add_category("分类 之后").get(blocking=True, timeout=WAIT)  # still going

    assert not skipped
    assert any(
        "t-raises" in r.getMessage() and "on" in r.getMessage()
        for r in caplog.records
        if r.name == "forum.jobs"
    )


# -- the command line ---------------------------------------------------------------------------


def test_worker_help():
    result = CliRunner().invoke(cli, ["worker", "--help"])

    assert result.exit_code == 0, result.output
    assert "--workers" in result.output and "--no-periodic" in result.output


def test_serve_runs_a_consumer_while_serving(queued_app, monkeypatch, capsys):
    from forum import cli as cli_module

    seen: dict = {}

    def fake_run_simple(host, port, application, **options):
        seen["result"] = add_category("分类 服务").get(blocking=True, timeout=WAIT)

    monkeypatch.setattr("werkzeug.serving.run_simple", fake_run_simple)
    cli_module._serve(queued_app, "127.0.0.1", 5999)

    assert seen["result"]
    out = capsys.readouterr().out
    assert "background jobs run in this process (SQLite" in out
    assert not [t for t in threading.enumerate() if t.name.startswith("Worker-")]


def test_serve_without_in_process_consumer(queued_app, monkeypatch, capsys):
    from forum import cli as cli_module

    monkeypatch.setitem(queued_app.config, "JOBS_IN_PROCESS", False)
    monkeypatch.setattr("werkzeug.serving.run_simple", lambda *a, **k: None)
    cli_module._serve(queued_app, "127.0.0.1", 5999)

    assert "left to `forum worker`" in capsys.readouterr().out


def test_worker_process_runs_jobs_and_stops_on_ctrl_c(tmp_path):
    """``forum worker`` in its own process takes a queued job and exits cleanly on Ctrl+C."""
    from forum.app import create_app
    from forum.cli import initialise, write_instance_config

    instance = tmp_path / "instance"
    write_instance_config(instance)
    application = create_app({"INSTANCE_PATH": str(instance)})  # as the command line does
    initialise(application)
    with application.app_context():
        result = add_category("分类 工人")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
    env["FORUM_INSTANCE_PATH"] = str(instance)
    # The worker must know this module's tasks, as it knows the core's and the plugins'.
    code = "import tests.test_jobs; from forum.cli import main; main()"
    worker = subprocess.Popen(
        [sys.executable, "-c", code, "worker", "--workers=1"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        category_id = result.get(blocking=True, timeout=15)
        worker.send_signal(signal.SIGINT)
        out, err = worker.communicate(timeout=15)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err[-2000:]
    assert "worker: 1 threads" in out and str(instance / "jobs.db") in out
    with application.app_context():
        assert db.session.get(Category, category_id).name == "分类 工人"
        db.engine.dispose()
