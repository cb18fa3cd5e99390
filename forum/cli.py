"""The ``forum`` command: a Flask CLI group with the forum's own commands.

``forum init`` · ``forum run`` · ``forum demo`` · ``forum worker`` · ``forum create-admin`` ·
``forum db upgrade`` · ``forum backup`` / ``forum restore``. Problems with the instance (missing,
no secret key, database not set up or unreachable) are reported in one line, never as a
traceback.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command
from flask_migrate.cli import db as db_group
from sqlalchemy.exc import OperationalError, ProgrammingError

from forum import __version__
from forum.config import default_instance_path
from forum.plugins_cli import plugins_group


def _create_app(*_args, **_kwargs):
    from forum.app import create_app

    return create_app()


@click.group(
    cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False
)
@click.version_option(__version__, prog_name="forum (Shequn)")
def cli() -> None:
    """Shequn (社群) community forum server."""


# Core and every plugin are separate Alembic branches: `forum db upgrade` goes to all heads.
for _param in db_group.commands["upgrade"].params:
    if _param.name == "revision":
        _param.default = "heads"
cli.add_command(db_group)
cli.add_command(plugins_group)
cli.add_command(shell_command)
cli.add_command(routes_command)


def write_instance_config(instance: Path) -> Path:
    """Create ``instance/`` with a ``config.py`` holding a fresh secret key (kept if present)."""
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "uploads").mkdir(exist_ok=True)
    config = instance / "config.py"
    if not config.exists():
        config.write_text(
            "# Shequn instance configuration. Keep this file secret.\n"
            f"SECRET_KEY = {secrets.token_hex(32)!r}\n",
            encoding="utf-8",
        )
        config.chmod(0o600)
    return config


def initialise(app) -> None:
    """Bring the database to the newest schema and create the built-in data."""
    from flask_migrate import upgrade

    from forum.services.setup import ensure_defaults

    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        ensure_defaults()


@cli.command("init", with_appcontext=False)
def init_command() -> None:
    """Create instance/ (secret key, database) or upgrade an existing one."""
    from forum.app import create_app

    instance = default_instance_path()
    config = write_instance_config(instance)
    app = create_app()
    initialise(app)
    click.echo(
        f"instance ready: {instance} (config: {config.name}, database: {app.config['DATABASE_URL']})"
    )


def _serve(app, host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    from forum import jobs

    consumer = None
    if jobs.immediate_mode(app):
        click.echo(" * background jobs run immediately (JOBS_IMMEDIATE)")
    elif app.config["JOBS_IN_PROCESS"]:
        consumer = jobs.start_consumer_thread(app)
        click.echo(f" * background jobs run in this process ({jobs.describe_storage()})")
    else:
        click.echo(f" * background jobs are left to `forum worker` ({jobs.describe_storage()})")
    click.echo(f" * Shequn {__version__} serving on http://{host}:{port}  (Ctrl+C stops)")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        if consumer is not None:
            consumer.stop()


@cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run_command(host: str, port: int) -> None:
    """Serve the forum (threaded server; use gunicorn for production)."""
    _check_database(current_app)
    _serve(current_app._get_current_object(), host, port)


#: The demo's manual transfer instructions (an owner writes their own bank or QR details).
DEMO_MANUAL_SETTINGS = {
    "instructions": "演示站点：请转账到 **招商银行 6225 0000 0000 0000**（户名：社群演示），"
    "并在转账备注中写上订单号。This is a demo: no real account.",
    "qr_image_url": "",
}


@cli.command("demo", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Seed only, do not start the server.")
@click.option("--scale", default=1.0, type=click.FloatRange(min=0, min_open=True), hidden=True)
def demo_command(host: str, port: int, no_serve: bool, scale: float) -> None:
    """Initialise if needed, seed the demo community once, then serve it."""
    from forum.app import create_app
    from forum.demo import DEMO_ADMIN, DEMO_PASSWORD, is_seeded, seed_demo

    write_instance_config(default_instance_path())
    app = create_app({"PAYMENTS_SANDBOX": True})  # the demo pays with pretend money
    initialise(app)
    with app.app_context():
        from forum.services import payments

        payments.enable_provider("sandbox")
        if not payments.provider_enabled("manual"):
            payments.enable_provider("manual", DEMO_MANUAL_SETTINGS)
        if is_seeded():
            click.echo("demo community already seeded")
        else:
            click.echo("seeding the demo community …")
            stats = seed_demo(progress=click.echo, scale=scale)
            click.echo(
                f"seeded {stats['members']} members, {stats['boards']} boards, "
                f"{stats['threads']} threads, {stats['posts']} posts"
            )
            # the seed writes in bulk, past the after-commit indexing: build the index once
            from forum import search

            click.echo("indexing for search …")
            click.echo(f"indexed {search.rebuild()} posts")
    click.echo(f" * admin login: {DEMO_ADMIN} / {DEMO_PASSWORD}")
    if not no_serve:
        _serve(app, host, port)


@cli.command("worker")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker threads  [default: JOBS_WORKERS, 2]",
)
@click.option("--no-periodic", is_flag=True, help="Leave periodic jobs to another worker.")
def worker_command(workers: int | None, no_periodic: bool) -> None:
    """Run background jobs in the foreground (Ctrl+C waits for running jobs; SIGTERM stops).

    gunicorn runs no jobs itself: run one worker next to it (next to `forum run`, only with
    JOBS_IN_PROCESS = False). Several workers need --no-periodic on all but one, or periodic
    jobs run more than once.
    """
    from forum import jobs

    app = current_app._get_current_object()
    _check_database(app)
    if jobs.immediate_mode(app):
        raise click.ClickException("JOBS_IMMEDIATE is on: jobs run where they are queued")
    threads = workers or app.config["JOBS_WORKERS"]
    periodic = "periodic jobs off" if no_periodic else f"{len(jobs.periodic_jobs())} periodic jobs"
    click.echo(
        f" * Shequn {__version__} worker: {threads} threads, {periodic}, "
        f"{jobs.describe_storage()}  (Ctrl+C stops)"
    )
    jobs.run_consumer(app, workers=threads, periodic=not no_periodic)


@cli.command("reindex")
@click.option(
    "--clear", is_flag=True, help="Empty the index first (searches find nothing meanwhile)."
)
def reindex_command(clear: bool) -> None:
    """Rebuild the search index (FORUM_SEARCH_BACKEND) from the database.

    Safe while the site serves: searches use the old index until the new one is complete,
    and posts written meanwhile are taken into the new one.
    """
    import time

    from forum import search

    app = current_app._get_current_object()
    _check_database(app)
    try:
        backend = search.get_backend(app)
    except search.SearchConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if clear:
        backend.clear()
    expected = search.expected_count()
    started = time.perf_counter()
    with click.progressbar(length=expected, label=f"indexing ({backend.name})") as bar:
        count = search.rebuild(bar.update)
    seconds = max(time.perf_counter() - started, 1e-6)
    click.echo(f"indexed {count} posts in {seconds:.1f} s ({count / seconds:.0f} posts/s)")


@cli.command("create-admin")
@click.argument("username")
@click.argument("email")
@click.password_option()
def create_admin_command(username: str, email: str, password: str) -> None:
    """Create a member in the admin group."""
    from forum.services.errors import ServiceError
    from forum.services.members import create_member

    _check_database(current_app)
    try:
        member = create_member(username, email, password, groups=("admin",))
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"admin {member.username} created")


@cli.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=True, path_type=Path))
def backup_command(path: Path | None) -> None:
    """Write the database and uploads to one .tar.gz (safe while the site runs).

    PATH defaults to instance/backups/shequn-YYYYmmdd-HHMMSS.tar.gz; a folder gets that name.
    """
    from forum.backup import BackupError, create_backup

    app = current_app
    try:
        archive = create_backup(app.config["DATABASE_URL"], Path(app.instance_path), path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    size = archive.stat().st_size / 1024 / 1024
    click.echo(f"backup written: {archive} ({size:.1f} MB)")


@cli.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Really replace the database and uploads.")
def restore_command(path: Path, yes: bool) -> None:
    """Replace the database and uploads with those in a backup made by `forum backup`."""
    from forum.backup import BackupError, read_manifest, restore_backup
    from forum.extensions import db

    app = current_app
    try:
        manifest = read_manifest(path)
        if not yes:
            raise click.ClickException(
                f"this replaces the database and uploads with the backup of "
                f"{manifest.created_at}; run again with --yes to go ahead"
            )
        db.engine.dispose()  # no pooled connection of ours in the way
        restore_backup(app.config["DATABASE_URL"], Path(app.instance_path), path)
        from forum.services import versions

        versions.renew_all(app)  # running workers must not serve pages cached before
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"restored {path} (backup of {manifest.created_at}, {manifest.uploads} uploads); "
        "run `forum init` if it came from an older Shequn"
    )


def _check_database(app) -> None:
    """One clear line if the database is not set up, instead of a traceback later."""
    from sqlalchemy import inspect

    from forum.extensions import db

    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise click.ClickException("the database is not set up: run `forum init`")
    with app.app_context():
        try:
            tables = set(inspect(db.engine).get_table_names())
        except OperationalError as exc:
            raise click.ClickException(f"cannot open the database: {exc.orig}") from None
        if "member" not in tables or "site_state" not in tables:
            raise click.ClickException("the database is not set up: run `forum init`")


def main() -> None:
    """Console-script entry point: turn instance problems into one-line errors."""
    from forum.app import InstanceError

    try:
        cli.main(prog_name="forum")
    except InstanceError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except (OperationalError, ProgrammingError) as exc:
        click.echo(
            f"Error: database problem ({exc.orig}); is the instance set up? run `forum init`",
            err=True,
        )
        sys.exit(1)


__all__ = ["cli", "main"]
