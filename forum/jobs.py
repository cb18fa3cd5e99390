"""Background jobs (huey): a queue in ``instance/jobs.db`` by default, in Redis at scale.

One module-level huey instance, :data:`huey`, so that core and plugin modules declare their
tasks at import time::

    from forum import jobs

    @jobs.task(retries=2, retry_delay=60)
    def send_digest(member_id: int) -> None:
        ...

    send_digest(member.id)  # after the commit: queued, or run at once in immediate mode

:func:`init_app` (called by ``create_app``) configures it for the app:

- storage: SQLite at ``<instance>/jobs.db`` (web workers and ``forum worker`` share the one
  file safely), or Redis when ``REDIS_URL`` is set; the queue is named ``JOBS_QUEUE``;
- immediate mode when ``JOBS_IMMEDIATE`` is on (``None``, the default, means "as
  ``TESTING``"): calling a task runs it at once, in the calling process.

Every task body runs in an app context of its own: in immediate mode a fresh context of
``current_app`` when one is active (so a task never shares the caller's database session),
otherwise — in a consumer — one of the app given to :func:`init_app`. The task's database
session is removed when it ends. Define tasks in modules the app imports (models, services,
plugins), so that the worker process knows them too; queue them after the commit.

Consumers: :func:`start_consumer_thread` runs one inside the current process (``forum run``
and ``forum demo`` do, unless ``JOBS_IN_PROCESS`` is off), :func:`run_consumer` in the
foreground with huey's signal handling (``forum worker``).

Periodic jobs: :class:`PeriodicJob` and :func:`register_periodic` (the plugin manager
registers what plugins return from ``forum_periodic_jobs``); :func:`run_periodic_now` runs
one by hand. Crontab fields are read in ``JOBS_TIMEZONE`` (default: the server's local time,
as cron does). Run one scheduler per site: a second consumer with periodic jobs on (a
``forum run`` with ``JOBS_IN_PROCESS`` next to a ``forum worker``, or a second worker
without ``--no-periodic``) runs every periodic job twice.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, has_app_context
from huey import Huey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from forum.extensions import db

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_QUEUE = "shequn"

#: The one huey instance of the process. Until :func:`init_app` configures it, it is in
#: immediate mode with an in-memory storage.
huey = Huey(DEFAULT_QUEUE, immediate=True, utc=True, storage_class=SqliteStorage)

# Worker polling of the SQLite queue: 0.1 s after a task, backing off to this when idle
# (huey's default of 10 s would hold a new task back that long on a quiet site).
_MAX_POLL_SECONDS = 2.0


@dataclass
class _State:
    app: Flask | None = None
    tz: tzinfo | None = None  # None: the server's local time zone


_state = _State()
_lock = threading.Lock()


# -- configuration ------------------------------------------------------------------------


def immediate_mode(app: Flask) -> bool:
    """True when ``app`` runs tasks at once (``JOBS_IMMEDIATE``, or ``TESTING`` if unset)."""
    value = app.config.get("JOBS_IMMEDIATE")
    return bool(app.config.get("TESTING")) if value is None else bool(value)


def init_app(app: Flask) -> None:
    """Configure :data:`huey` for ``app``: storage, queue name, immediate mode, time zone.

    The last app initialised in a process is the one consumers push contexts of.
    """
    tz_name = app.config.get("JOBS_TIMEZONE")
    try:
        tz = ZoneInfo(tz_name) if tz_name else None
    except (ZoneInfoNotFoundError, ValueError):
        from forum.app import InstanceError

        raise InstanceError(f"JOBS_TIMEZONE: unknown time zone {tz_name!r}") from None
    name = app.config.get("JOBS_QUEUE") or DEFAULT_QUEUE
    if app.config.get("REDIS_URL"):
        _configure(name, RedisStorage, {"url": app.config["REDIS_URL"]}, immediate_mode(app))
    else:
        instance = Path(app.instance_path)
        instance.mkdir(parents=True, exist_ok=True)
        kwargs = {"filename": str(instance / "jobs.db")}
        _configure(name, SqliteStorage, kwargs, immediate_mode(app))
    _state.app = app
    _state.tz = tz
    app.extensions["forum_jobs"] = huey


def reset() -> None:
    """Back to the import-time state: immediate mode, in-memory storage, no app, no
    periodic jobs. For tests, so one test's configuration never reaches the next."""
    for name in list(_periodic):
        unregister_periodic(name)
    _configure(DEFAULT_QUEUE, SqliteStorage, {}, True)
    _state.app = None
    _state.tz = None


def _configure(name: str, storage_class: type, kwargs: dict[str, Any], immediate: bool) -> None:
    old = huey.storage
    huey.name = name
    huey.storage_class = storage_class
    huey.storage_kwargs = kwargs
    if huey.immediate != immediate:
        huey.immediate = immediate  # the setter makes the matching storage
    else:
        huey.storage = huey.create_storage()
    if old is not huey.storage:
        old.close()


def describe_storage() -> str:
    """Where the queue lives, for humans (a Redis password is masked)."""
    storage = huey.storage
    if isinstance(storage, SqliteStorage):
        return f"SQLite {storage.filename}, queue {storage.name}"
    if isinstance(storage, RedisStorage):
        url = huey.storage_kwargs.get("url", "")
        parts = urlsplit(url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
            url = urlunsplit(parts._replace(netloc=netloc))
        return f"Redis {url}, queue {storage.name}"
    if isinstance(storage, MemoryStorage):
        return "memory (immediate mode)"
    return type(storage).__name__


# -- tasks ----------------------------------------------------------------------------------


def _call_in_app(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``func`` in a fresh app context; its database session is removed afterwards."""
    app = current_app._get_current_object() if has_app_context() else _state.app
    if app is None:
        raise RuntimeError("no app for a background task: create_app() calls jobs.init_app")
    with app.app_context():
        try:
            return func(*args, **kwargs)
        finally:
            db.session.remove()


def task(**options: Any) -> Callable[[F], TaskWrapper]:
    """Declare a background task: ``@jobs.task()`` or ``@jobs.task(retries=2, retry_delay=60)``.

    ``options`` go to huey's ``task()`` (retries, retry_delay, retry_backoff, priority —
    not with Redis —, expires, timeout, name, context). Calling the task queues it and
    returns a huey ``Result`` (``.get(blocking=True, timeout=…)``; a failure raises
    ``huey.exceptions.TaskException``); ``.schedule(delay=…)`` queues it for later,
    ``.call_local()`` runs it here. Return None from fire-and-forget tasks: results other
    than None are kept in the queue storage until read.
    """

    def decorator(func: F) -> TaskWrapper:
        @functools.wraps(func)
        def in_app(*args: Any, **kwargs: Any) -> Any:
            return _call_in_app(func, *args, **kwargs)

        return huey.task(**options)(in_app)

    return decorator


# -- periodic jobs --------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodicJob:
    """A job run on a schedule: crontab fields as huey's ``crontab()`` reads them
    (``"*"``, ``"*/10"``, ``"1-5"``, ``"0,30"``; day_of_week 0 = Sunday), in
    ``JOBS_TIMEZONE``. Name it after its plugin (``"checkin-streaks"``): names are unique."""

    name: str
    func: Callable[[], None]
    minute: str | int = "*"
    hour: str | int = "*"
    day: str | int = "*"
    month: str | int = "*"
    day_of_week: str | int = "*"
    description: str = ""


@dataclass(frozen=True)
class RegisteredJob:
    """A periodic job as registered: the job, its plugin (None for the core), its task."""

    job: PeriodicJob
    plugin: str | None
    task: TaskWrapper


_periodic: dict[str, RegisteredJob] = {}

Outcome = Literal["ran", "skipped", "failed"]


def _local_time(timestamp: datetime) -> datetime:
    """huey's timestamp (naive UTC) in the configured time zone."""
    return timestamp.replace(tzinfo=UTC).astimezone(_state.tz)


def register_periodic(job: PeriodicJob, plugin: str | None = None) -> None:
    """Run ``job`` on its schedule in every consumer with periodic jobs on.

    Registering a name again replaces the earlier registration (an app created twice in
    one process). Raises ``ValueError`` for a crontab field huey cannot read.
    """
    matches = crontab(job.minute, job.hour, job.day, job.month, job.day_of_week, strict=True)

    def run_periodic() -> Outcome:
        return _run_registered(job.name)

    def validate(timestamp: datetime) -> bool:
        return matches(_local_time(timestamp))

    with _lock:
        old = _periodic.pop(job.name, None)
        if old is not None:
            old.task.unregister()
            if old.plugin != plugin:
                log.warning(
                    "periodic job %s of %s replaced by one of %s",
                    job.name,
                    old.plugin or "the core",
                    plugin or "the core",
                )
        wrapper = huey.periodic_task(validate, name=f"periodic:{job.name}")(run_periodic)
        _periodic[job.name] = RegisteredJob(job, plugin, wrapper)


def unregister_periodic(name: str) -> bool:
    """Stop scheduling the periodic job ``name``; False if there was none."""
    with _lock:
        registered = _periodic.pop(name, None)
        if registered is None:
            return False
        registered.task.unregister()
        return True


def periodic_jobs() -> dict[str, RegisteredJob]:
    """The registered periodic jobs by name (a copy)."""
    return dict(_periodic)


def run_periodic_now(name: str) -> Outcome:
    """Run periodic job ``name`` once, here and now, as the scheduler would.

    Returns ``"ran"``, ``"skipped"`` (its plugin is disabled) or ``"failed"`` (the exception
    is logged). Raises ``KeyError`` for an unknown name.
    """
    if name not in _periodic:
        raise KeyError(f"no periodic job {name!r} (known: {', '.join(sorted(_periodic))})")
    return _run_registered(name)


def _run_registered(name: str) -> Outcome:
    registered = _periodic.get(name)
    if registered is None:  # unregistered after it was queued
        log.warning("periodic job %s is no longer registered; not run", name)
        return "skipped"
    return _call_in_app(_run_job, registered)


def _run_job(registered: RegisteredJob) -> Outcome:
    job, plugin = registered.job, registered.plugin
    try:
        if plugin is not None and not _plugin_enabled(plugin):
            log.info("periodic job %s skipped: plugin %s is disabled", job.name, plugin)
            return "skipped"
        job.func()
    except Exception:
        db.session.rollback()
        log.exception("periodic job %s (plugin %s) failed", job.name, plugin or "core")
        return "failed"
    return "ran"


def _plugin_enabled(plugin: str) -> bool:
    manager = current_app.extensions.get("forum_plugins")
    return manager is None or manager.is_enabled(plugin)  # no plugin manager: none disabled


# -- consumers ------------------------------------------------------------------------------


class _InProcessConsumer(Consumer):
    """A consumer that leaves signal handling to its host process (the web server)."""

    def _set_signal_handlers(self) -> None:
        pass


def _consumer_options(app: Flask, workers: int | None, periodic: bool) -> dict[str, Any]:
    if _state.app is not app:
        init_app(app)
    if huey.immediate:
        raise RuntimeError(
            "jobs run immediately in this app (JOBS_IMMEDIATE, or TESTING): no consumer needed"
        )
    return {
        "workers": max(1, int(workers or app.config.get("JOBS_WORKERS") or 1)),
        "worker_type": "thread",
        "periodic": periodic,
        "initial_delay": 0.1,
        "max_delay": _MAX_POLL_SECONDS,
    }


class ConsumerThread:
    """A consumer running inside this process (from :func:`start_consumer_thread`)."""

    def __init__(self, consumer: Consumer):
        self.consumer = consumer

    @property
    def running(self) -> bool:
        """True while any of its threads is alive."""
        threads = [t for _, t in self.consumer.worker_threads] + [self.consumer.scheduler]
        return any(t.is_alive() for t in threads)

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop taking tasks, wait up to ``timeout`` seconds for running ones; True if done."""
        self.consumer.shutdown_timeout = timeout
        self.consumer.stop(graceful=True)
        huey.notify_interrupted_tasks()
        return not self.running


def start_consumer_thread(
    app: Flask, *, workers: int | None = None, periodic: bool = True
) -> ConsumerThread:
    """Start a consumer in this process: ``workers`` threads (default ``JOBS_WORKERS``) and
    the scheduler (periodic jobs unless ``periodic=False``). Installs no signal handlers;
    call ``.stop()`` on the returned handle."""
    consumer = _InProcessConsumer(huey, **_consumer_options(app, workers, periodic))
    consumer.start()
    return ConsumerThread(consumer)


def run_consumer(app: Flask, *, workers: int | None = None, periodic: bool = True) -> None:
    """Run a consumer in the foreground until a signal stops it (``forum worker``).

    huey's signal handling: Ctrl+C (SIGINT) waits for running tasks (a second one does not),
    SIGTERM stops at once, SIGHUP restarts the process.
    """
    huey.create_consumer(**_consumer_options(app, workers, periodic)).run()


__all__ = [
    "ConsumerThread",
    "PeriodicJob",
    "RegisteredJob",
    "describe_storage",
    "huey",
    "immediate_mode",
    "init_app",
    "periodic_jobs",
    "register_periodic",
    "reset",
    "run_consumer",
    "run_periodic_now",
    "start_consumer_thread",
    "task",
    "unregister_periodic",
]
