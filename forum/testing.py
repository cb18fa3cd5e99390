"""Test fixtures for the core and for plugins (``pytest_plugins = ["forum.testing"]``).

Fixtures: ``app`` (a fresh forum on a fresh database: SQLite in a temp folder, or PostgreSQL
when ``FORUM_TEST_DATABASE_URL`` is set), ``db``, ``client``, ``make_member``, ``make_board``,
``login`` (sign a test client in as a member), ``count_queries``, ``enable_plugin``.
"""

from __future__ import annotations

import contextvars
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text

from forum.app import create_app
from forum.extensions import db as _db

PASSWORD = "correct-horse-9"


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


def make_test_app(tmp_path, database_url: str, **overrides):
    """A forum app for tests, with tables and built-in data created."""
    from forum.services.setup import ensure_defaults

    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SITE_URL": "http://localhost",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 5}
        if database_url.startswith("postgresql")
        else {},
    }
    config.update(overrides)
    (tmp_path / "instance" / "uploads").mkdir(parents=True, exist_ok=True)
    app = create_app(config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        _db.create_all()
        ensure_defaults()
    return app


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
    with fresh_database(tmp_path, database_kind) as url:
        application = make_test_app(tmp_path, url, **app_config)
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
