"""Test fixtures for the core and for plugins (``pytest_plugins = ["forum.testing"]``).

Fixtures: ``app`` (a fresh forum on a fresh database: SQLite in a temp folder, or PostgreSQL
when ``FORUM_TEST_DATABASE_URL`` is set), ``db``, ``client``, ``make_member``, ``make_board``,
``login`` (sign a test client in as a member), ``count_queries``, ``enable_plugin``.
"""

from __future__ import annotations

import contextvars
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text

from forum.app import create_app
from forum.extensions import db as _db

PASSWORD = "correct-horse-9"
#: Test apps hash passwords with this (a thousand rounds, not scrypt's 0.1–0.2 s a hash).
FAST_PASSWORD_HASH = "pbkdf2:sha256:1000"


def _reuse_url_builders() -> None:
    """Build each URL rule's builder function once per process, not once per test app.

    Every test makes its own app, and Werkzeug compiles two Python functions (through
    ``ast`` and ``compile``) for each of the forum's ~170 URL rules when a blueprint is
    registered: most of the time it takes to make an app. The function depends only on the
    rule's text, its parts and its defaults (it reads converters from the rule it is bound
    to), so one compiled function serves every app's copy of the rule. Left alone when the
    Werkzeug internals it relies on are not there.
    """
    from werkzeug.routing.rules import Rule

    original = getattr(Rule, "_compile_builder", None)
    if original is None or getattr(original, "_forum_cached", False):
        return
    cache: dict[tuple, Callable] = {}

    def compile_builder(self, append_unknown: bool = True):
        try:
            defaults = self.defaults or {}
            resolved = tuple(
                (name, self._converters[name].to_url(defaults[name]))
                for dynamic, name in self._trace
                if dynamic and name in defaults
            )
            key = (
                self.rule,
                tuple(self._trace),
                tuple(str(k) for k in defaults),
                resolved,
                append_unknown,
            )
        except (AttributeError, KeyError, TypeError):
            return original(self, append_unknown)
        found = cache.get(key)
        if found is None:
            found = cache[key] = original(self, append_unknown)
        return found

    compile_builder._forum_cached = True  # type: ignore[attr-defined]
    Rule._compile_builder = compile_builder  # type: ignore[method-assign]


_reuse_url_builders()


def _postgres_url() -> str | None:
    return os.environ.get("FORUM_TEST_DATABASE_URL") or None


def database_kinds() -> list[str]:
    """``["sqlite"]``, plus ``"postgres"`` when ``FORUM_TEST_DATABASE_URL`` is set: the ``app``
    fixture runs every test that uses it once on each."""
    return ["sqlite", "postgres"] if _postgres_url() else ["sqlite"]


@contextmanager
def fresh_database(tmp_path, kind: str = "sqlite") -> Iterator[str]:
    """Yield a URL of an empty database (a new SQLite file, or a new PostgreSQL schema)."""
    base = _postgres_url()
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'forum.db'}"
        return
    if not base:
        pytest.skip("FORUM_TEST_DATABASE_URL is not set")
    from forum.config import normalise_database_url

    base = normalise_database_url(base)
    schema = "t_" + uuid.uuid4().hex[:12]
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def migrating_app(tmp_path, database_url: str, **overrides):
    """A forum app on ``database_url`` with *no* tables made: for tests that build the schema
    with the migrations (``flask_migrate.upgrade(revision="heads")``) and compare it with
    :func:`schema_diff`."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    config.update(overrides)
    return create_app(config)


def schema_diff(only: str | None = None) -> list:
    """What Alembic's autogenerate finds between the current app's database and its models
    (``[]`` when the migrations create exactly what the models declare), over the core's
    and the loaded plugins' tables, or only plugin ``only``'s. Call inside an app context."""
    from functools import partial

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from forum import plugins

    include = partial(plugins.alembic_include_object, only=only)
    with _db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include})
        return compare_metadata(context, _db.metadata)


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in a fresh app context, as in production.

    Without this, requests made while a test holds an app context would share its ``g``
    (and so Flask-Login's cached user and the forum's per-request caches)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Tests read English pages unless they ask for a language (the site default is zh_Hans).
        self.environ_base.setdefault("HTTP_ACCEPT_LANGUAGE", "en")

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def make_test_app(tmp_path, database_url: str, *, prepare=None, **overrides):
    """A forum app for tests, with tables and built-in data created.

    ``prepare`` (used by the ``app`` fixture) replaces creating them: it is called inside
    the new app's context and brings the database to the same state a cheaper way."""
    from forum.services.setup import ensure_defaults

    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_METHOD": FAST_PASSWORD_HASH,
        "SITE_URL": "http://localhost",
        "PAYMENTS_SANDBOX": True,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 5}
        if database_url.startswith("postgresql")
        else {},
    }
    config.update(overrides)
    (tmp_path / "instance" / "uploads").mkdir(parents=True, exist_ok=True)
    app = create_app(config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        if prepare is not None:
            prepare()
        else:
            _db.create_all()
            ensure_defaults()
    return app


class _SqliteTemplates:
    """Per process, one SQLite file with the tables and built-in data for each set of
    tables the loaded models declare; a test's database starts as a copy of it."""

    def __init__(self) -> None:
        self.files: dict[frozenset[str], str] = {}

    def prepare(self) -> None:
        import shutil
        import sqlite3
        import tempfile

        from forum.services.setup import ensure_defaults

        target = _db.engine.url.database
        key = frozenset(_db.metadata.tables)
        template = self.files.get(key)
        if template is not None:
            _db.engine.dispose()
            for leftover in (f"{target}-wal", f"{target}-shm"):
                with suppress(FileNotFoundError):
                    os.remove(leftover)
            shutil.copyfile(template, target)
            return
        _db.create_all()
        ensure_defaults()
        _db.session.remove()
        _db.engine.dispose()
        fd, template = tempfile.mkstemp(prefix="forum-template-", suffix=".db")
        os.close(fd)
        source, copy = sqlite3.connect(target), sqlite3.connect(template)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            source.close()
            copy.close()
        self.files[key] = template


_sqlite_templates = _SqliteTemplates()


class _PooledSchema:
    """A PostgreSQL schema of the per-process pool and what it held when it was handed out."""

    def __init__(self, pool: _SchemaPool, name: str) -> None:
        self.pool = pool
        self.name = name
        self.tables: frozenset[str] = frozenset()  # the model tables created in it
        self.shape: frozenset | None = None  # its catalogue after the built-in data went in

    @property
    def url(self) -> str:
        sep = "&" if "?" in self.pool.base else "?"
        return (
            f"{self.pool.base}{sep}options=-csearch_path%3D{self.name}%20-csynchronous_commit%3Doff"
        )

    def prepare(self) -> None:
        """Inside the test app: create the tables it lacks, then the built-in data."""
        from forum.services.setup import ensure_defaults

        wanted = frozenset(_db.metadata.tables)
        if not wanted <= self.tables:
            _db.create_all()
            self.tables = wanted
        ensure_defaults()
        _db.session.remove()
        self.shape = self.pool.shape(self.name)


class _SchemaPool:
    """PostgreSQL schemas reused from test to test within one worker process.

    A test gets an idle schema (or a new one) and the ``app`` fixture adds the tables it
    lacks and the built-in data. Afterwards the schema goes back to the pool emptied: every
    row deleted (foreign keys off for that transaction) and every sequence restarted, so ids
    start at 1 again. A schema whose catalogue the test changed (a table, column, index or
    sequence made or dropped: a plugin purged, a search table created) is dropped instead.
    """

    def __init__(self, base: str) -> None:
        from forum.config import normalise_database_url

        self.base = normalise_database_url(base)
        self.engine = create_engine(self.base, poolclass=_null_pool())
        self.idle: list[_PooledSchema] = []
        import atexit

        atexit.register(self.close)

    def take(self) -> _PooledSchema:
        if self.idle:
            return self.idle.pop()
        name = "t_" + uuid.uuid4().hex[:12]
        with self.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        return _PooledSchema(self, name)

    def shape(self, name: str) -> frozenset:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT c.relname, c.relkind, count(a.attnum) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
                    "AND NOT a.attisdropped WHERE n.nspname = :s GROUP BY 1, 2"
                ),
                {"s": name},
            ).all()
        return frozenset(tuple(row) for row in rows)

    def give_back(self, schema: _PooledSchema) -> None:
        if schema.shape is None or self.shape(schema.name) != schema.shape:
            self.drop(schema.name)
            return
        tables = sorted(name for name, kind, _ in schema.shape if kind in ("r", "p"))
        with self.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in tables:
                conn.execute(text(f'DELETE FROM "{schema.name}"."{table}"'))
            conn.execute(
                text(
                    "SELECT setval(c.oid, 1, false) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind = 'S' AND n.nspname = :s"
                ),
                {"s": schema.name},
            )
        schema.shape = None
        self.idle.append(schema)

    def drop(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))

    def close(self) -> None:
        for schema in self.idle:
            with suppress(Exception):  # the server may be gone at exit
                self.drop(schema.name)
        self.idle.clear()
        self.engine.dispose()


def _null_pool():
    from sqlalchemy.pool import NullPool

    return NullPool


_pools: dict[str, _SchemaPool] = {}


def _schema_pool() -> _SchemaPool:
    base = _postgres_url()
    if not base:
        pytest.skip("FORUM_TEST_DATABASE_URL is not set")
    if base not in _pools:
        _pools[base] = _SchemaPool(base)
    return _pools[base]


@pytest.fixture
def app_config() -> dict:
    """Override to pass extra configuration to the ``app`` fixture."""
    return {}


@pytest.fixture(params=database_kinds())
def database_kind(request) -> str:
    """Which database this run of the test uses: ``sqlite`` or ``postgres``."""
    return request.param


@pytest.fixture
def app(tmp_path, app_config, database_kind):
    """A forum app with the built-in data, on SQLite or PostgreSQL (``database_kind``).

    The database is made from one prepared per worker process: a copy of a template file on
    SQLite, a reused schema emptied after the test on PostgreSQL (see :class:`_SchemaPool`).
    Building the schema for every test cost more than most tests."""
    if database_kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'forum.db'}"
        application = make_test_app(tmp_path, url, prepare=_sqlite_templates.prepare, **app_config)
        yield from _serve(application)
        return
    schema = _schema_pool().take()
    application = make_test_app(tmp_path, schema.url, prepare=schema.prepare, **app_config)
    try:
        yield from _serve(application)
    finally:
        _schema_pool().give_back(schema)


def _serve(application) -> Iterator:
    with application.app_context():
        yield application
        _db.session.remove()
    with application.app_context():
        _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_member(app):
    """``make_member("name", groups=("moderator",))`` → a confirmed, active member."""
    from forum.services.members import create_member

    counter = iter(range(1, 10_000))

    def factory(username: str | None = None, *, groups=(), email: str | None = None, **fields):
        username = username or f"user{next(counter)}"
        member = create_member(
            username,
            email or f"{uuid.uuid4().hex[:10]}@example.com",
            PASSWORD,
            groups=tuple(groups),
        )
        for key, value in fields.items():
            setattr(member, key, value)
        _db.session.commit()
        return member

    return factory


@pytest.fixture
def make_board(app):
    """``make_board("slug", grants={"guest": ()})`` → a board (in a fresh category)."""
    from forum.services import boards, permissions

    def factory(slug: str = "general", name: str | None = None, *, grants=None, category=None):
        category = category or boards.create_category("分类 " + slug)
        board = boards.create_board(category, slug, name or slug.title())
        if grants:
            permissions.set_board_permissions(
                board.id, {permissions.group_id(k): v for k, v in grants.items()}
            )
            _db.session.commit()
        return board

    return factory


@pytest.fixture
def login(app):
    """``login(client, member)`` signs the test client in (through the real form)."""

    def do_login(client, member, password: str = PASSWORD):
        response = client.post("/login", data={"login": member.username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return do_login


@pytest.fixture
def count_queries(app):
    """``with count_queries() as q: …`` then ``q.count`` / ``q.statements``."""

    class Counter:
        def __init__(self):
            self.statements: list[str] = []

        @property
        def count(self) -> int:
            return len(self.statements)

    @contextmanager
    def counting():
        counter = Counter()

        def before(conn, cursor, statement, parameters, context, executemany):
            if not re.match(r"\s*(SAVEPOINT|RELEASE|ROLLBACK|PRAGMA)", statement, re.I):
                counter.statements.append(statement)

        engine = _db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting


@pytest.fixture
def web(app, login):
    """``web(member=None)`` → a test client speaking English, signed in as ``member``."""

    def make(member=None) -> FlaskClient:
        client = app.test_client()
        client.set_cookie("lang", "en")
        if member is not None:
            login(client, member)
        return client

    return make


@pytest.fixture
def chinese(app, login):
    """``chinese(member=None, lang="zh_Hans")`` → a test client that asks for that locale
    (``zh_Hans`` or ``zh_Hant``), signed in as ``member``."""

    def make(member=None, lang: str = "zh_Hans") -> FlaskClient:
        client = app.test_client()
        client.set_cookie("lang", lang)
        if member is not None:
            login(client, member)
        return client

    return make


@pytest.fixture
def csrf_on(app):
    """``csrf_on()`` checks CSRF tokens from then on, as production does (the test app
    switches the check off; signing in through ``login`` happens before)."""

    def switch_on() -> None:
        app.config["WTF_CSRF_ENABLED"] = True

    yield switch_on
    app.config["WTF_CSRF_ENABLED"] = False


def png_image(color: object = (200, 80, 20), size: tuple[int, int] = (64, 48)):
    """A small real PNG in a BytesIO, to upload (``(png_image(), "a.png")``)."""
    import io

    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", size, color).save(data, "PNG")
    data.seek(0)
    return data


@pytest.fixture
def english(app):
    """Run the test with English messages (service errors are translated otherwise)."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield


@pytest.fixture
def enable_plugin(app):
    """``enable_plugin("qa")`` switches an installed plugin on (``disable=True``: off).

    Plugins under test are installed (``pip install -e``) or named in the ``app_config``
    fixture: ``{"EXTRA_PLUGINS": {"sample": "tests.sample_plugin"}}``.
    """
    from forum.services import plugin_state

    def switch(name: str, disable: bool = False) -> None:
        if disable:
            plugin_state.disable(name)
        else:
            plugin_state.enable(name)

    return switch


def race(app, n: int, work: Callable[[int], object]) -> list[tuple[str, object]]:
    """Run ``work(i)`` in ``n`` threads released together by a barrier, each in its own app
    context (so its own database connection) and in the caller's locale (so the ``english``
    fixture reaches the threads): for the concurrency tests, which need PostgreSQL. Returns ``(outcome, value)`` per thread: ``ok`` and the result, ``refused``
    and the :class:`~forum.services.errors.ServiceError`. Any other exception, or a thread
    still running after two minutes, fails the calling test."""
    from flask_babel import force_locale, get_locale

    from forum.services.errors import ServiceError

    locale = str(get_locale() or app.config.get("BABEL_DEFAULT_LOCALE", "en"))
    barrier = threading.Barrier(n)
    results: list[tuple[str, object]] = [("error", None)] * n

    def run(i: int) -> None:
        with app.app_context(), force_locale(locale):
            try:
                barrier.wait(timeout=30)
                results[i] = ("ok", work(i))
            except ServiceError as exc:
                results[i] = ("refused", exc)
            except Exception as exc:  # noqa: BLE001 (reported below)
                results[i] = ("error", exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    errors = [value for outcome, value in results if outcome == "error"]
    assert not errors, errors
    return results
