"""The application factory: the only place that wires the forum together."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import forum_themes
from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlalchemy import event
from sqlalchemy.engine import Engine

from forum import __version__
from forum.config import default_instance_path, load_config
from forum.extensions import babel, csrf, db, limiter, login_manager, migrate


class InstanceError(RuntimeError):
    """The instance folder is missing or broken; the message says what to run."""


def theme_dirs(theme: str) -> list[Path]:
    """The theme's folder, then the default theme's (templates fall back to the default)."""
    base = Path(forum_themes.__file__).parent
    chosen = Path(theme) if Path(theme).is_absolute() else base / theme
    dirs = [chosen]
    if chosen != base / "default":
        dirs.append(base / "default")
    return dirs


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the forum application.

    ``config`` overrides every other layer (tests pass ``{"DATABASE_URL": …, "TESTING": True}``).
    Raises :class:`InstanceError` when no secret key is configured (run ``forum init``).
    """
    config = dict(config or {})
    instance_path = Path(config.pop("INSTANCE_PATH", None) or default_instance_path())
    dirs = theme_dirs(config.get("THEME", "default"))
    app = Flask(
        "forum",
        instance_path=str(instance_path),
        static_folder=str(dirs[0] / "static"),
        static_url_path="/static",
        template_folder=None,
    )
    load_config(app, config)
    if app.config["THEME"] != config.get("THEME", "default"):
        dirs = theme_dirs(app.config["THEME"])
        app.static_folder = str(dirs[0] / "static")
    if not app.config.get("SECRET_KEY"):
        raise InstanceError(
            f"no secret key in {instance_path / 'config.py'}: run `forum init` first"
        )
    app.jinja_loader = ChoiceLoader([FileSystemLoader(str(d / "templates")) for d in dirs])
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.config["FORUM_VERSION"] = __version__

    _init_extensions(app)
    _register_blueprints(app)
    from forum import plugins

    plugins.init_app(app)
    from forum.web import errors, hooks, templating

    errors.register(app)
    hooks.register(app)
    templating.register(app)
    if not app.debug:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    return app


@migrate.configure
def _with_plugin_migrations(config):
    """Alembic sees the core's migrations and every loaded plugin's branch."""
    from forum import plugins

    dirs = [Path(__file__).parent / "migrations" / "versions", *plugins.migration_dirs()]
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(d) for d in dirs))
    return config


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL and foreign keys for SQLite connections; nothing for other databases."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _init_extensions(app: Flask) -> None:
    from forum import models  # noqa: F401  (registers the tables)
    from forum.web.i18n import select_locale, select_timezone

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    app.config["RATELIMIT_ENABLED"] = bool(app.config["RATELIMIT_ENABLED"])
    limiter.init_app(app)
    # Every limit of ours is a per-route decorator, which checks itself when the view runs;
    # the extension's before_request check only serves application-wide limits, which we do
    # not use, and cost ~0.1 ms on every request (a fifth of a cached page).
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:
        hooks.remove(limiter._check_request_limit)
    login_manager.init_app(app)
    from forum import jobs
    from forum.services import versions

    versions.init_app(app)
    jobs.init_app(app)
    from forum.services import notifications

    notifications.register_jobs()
    from forum.services import payments

    payments.register_jobs()
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"

    from forum.web.auth import load_member

    login_manager.user_loader(load_member)


def _register_blueprints(app: Flask) -> None:
    from forum.web import (
        admin,
        admin_dashboard,
        auth,
        likes,
        main,
        members,
        messages,
        moderation,
        notifications,
        payments,
        payments_admin,
        points,
        search,
        uploads,
    )

    for module in (
        main,
        auth,
        members,
        points,
        uploads,
        admin,
        admin_dashboard,
        moderation,
        notifications,
        messages,
        likes,
        search,
        payments,
        payments_admin,
    ):
        app.register_blueprint(module.bp)
