"""Backups of a Shequn site: one ``.tar.gz`` with the database and ``instance/uploads/``.

Layout of an archive (``manifest.json`` always comes first, so it is read without
decompressing the rest)::

    manifest.json        {"format": "shequn-backup", "version": 1, "database": "sqlite", …}
    database/forum.db    SQLite: a consistent copy made with the online backup API
    database/forum.dump  PostgreSQL: ``pg_dump --format=custom``
    uploads/…            the instance's uploads folder

Both kinds of backup are safe while the site runs. Restoring checks the manifest and that the
site uses the same kind of database, then replaces the database (SQLite: the archive's copy is
written to a temporary file, checked, then copied into the live file with the backup API, so
open connections see the new data and no stale ``-wal`` file is left behind; PostgreSQL:
``pg_restore --clean --if-exists`` in a single transaction) and the uploads folder. Every
problem is a :class:`BackupError` with a one-line message.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from forum import __version__

FORMAT = "shequn-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATABASE_FILES = {"sqlite": "database/forum.db", "postgresql": "database/forum.dump"}


class BackupError(Exception):
    """A backup or restore problem, explained in one line."""


@dataclass
class Manifest:
    """What ``manifest.json`` says about a backup."""

    database: str
    created_at: str
    forum_version: str = __version__
    schema_revisions: list[str] = field(default_factory=list)
    pg_schema: str | None = None
    uploads: int = 0
    format: str = FORMAT
    version: int = VERSION

    @property
    def database_file(self) -> str:
        """The archive member holding the database."""
        return DATABASE_FILES[self.database]


def database_kind(database_url: str) -> str:
    """``sqlite`` or ``postgresql``; :class:`BackupError` for any other database."""
    backend = make_url(database_url).get_backend_name()
    if backend not in DATABASE_FILES:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {backend}")
    return backend


def default_backup_path(instance_path: Path, now: datetime | None = None) -> Path:
    """``instance/backups/shequn-YYYYmmdd-HHMMSS.tar.gz`` (local time)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return instance_path / "backups" / f"shequn-{stamp}.tar.gz"


# --------------------------------------------------------------------------- helpers


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _pg_schema(url: URL) -> str | None:
    """The schema named by ``options=-csearch_path=…`` in the URL, if any."""
    options = url.query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    match = re.search(r"search_path\s*=\s*([^\s,]+)", options)
    return match.group(1).strip("\"'") if match else None


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI for the pg_* tools (no password in it) and the environment to run them in."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} not found on PATH: install the PostgreSQL client tools "
            "(for example `apt install postgresql-client`) matching the server's version"
        )
    return path


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [ln.strip() for ln in result.stderr.splitlines() if ln.strip()]
        detail = lines[-1] if lines else f"exit status {result.returncode}"
        raise BackupError(f"{what} failed: {detail}")


def _engine(database_url: str):
    return create_engine(database_url, poolclass=NullPool)


def _schema_revisions(database_url: str) -> list[str]:
    """The Alembic revisions the database is at (empty when unknown)."""
    engine = _engine(database_url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except SQLAlchemyError:
        return []
    finally:
        engine.dispose()


def _state_version(database_url: str) -> int:
    engine = _engine(database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT version FROM site_state WHERE id = 1")).scalar() or 0
            )
    except SQLAlchemyError:
        return 0
    finally:
        engine.dispose()


def _bump_state_version(database_url: str, floor: int) -> None:
    """Move the site state version past anything a running worker may have cached."""
    engine = _engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE site_state SET version = "
                    "CASE WHEN version > :floor THEN version ELSE :floor END + 1 WHERE id = 1"
                ),
                {"floor": floor},
            )
    except SQLAlchemyError:
        pass  # a database without site_state yet: nothing cached anywhere
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- backup


def _dump_sqlite(database_url: str, target: Path) -> None:
    source_path = _sqlite_path(database_url)
    if not source_path.exists():
        raise BackupError(f"no database at {source_path}: run `forum init`")
    try:
        with (
            closing(sqlite3.connect(source_path)) as source,
            closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the database {source_path}: {exc}") from None


def _dump_postgres(database_url: str, target: Path) -> None:
    uri, env = _libpq(database_url)
    command = [_tool("pg_dump"), "--format=custom", "--file", str(target)]
    schema = _pg_schema(make_url(database_url))
    if schema:
        command += ["--schema", schema]
    _run([*command, "--dbname", uri], env, "pg_dump")


def create_backup(database_url: str, instance_path: Path, destination: Path | None = None) -> Path:
    """Write a backup archive and return its path.

    ``destination`` may be a file name, a folder (the default file name is used inside it) or
    ``None`` (:func:`default_backup_path`). The archive appears only when complete.
    """
    kind = database_kind(database_url)
    if destination is None:
        destination = default_backup_path(instance_path)
    elif destination.is_dir():
        destination = destination / default_backup_path(instance_path).name
    destination.parent.mkdir(parents=True, exist_ok=True)
    uploads = instance_path / "uploads"
    partial = destination.with_name(destination.name + ".part")
    with tempfile.TemporaryDirectory(prefix="shequn-backup-") as work:
        dump = Path(work) / "database"
        if kind == "sqlite":
            _dump_sqlite(database_url, dump)
        else:
            _dump_postgres(database_url, dump)
        upload_files = [p for p in uploads.rglob("*") if p.is_file()] if uploads.is_dir() else []
        manifest = Manifest(
            database=kind,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            schema_revisions=_schema_revisions(
                f"sqlite:///{dump}" if kind == "sqlite" else database_url
            ),
            pg_schema=_pg_schema(make_url(database_url)) if kind == "postgresql" else None,
            uploads=len(upload_files),
        )
        try:
            partial.touch(mode=0o600)  # password hashes inside: owner only
            with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
                data = json.dumps(asdict(manifest), ensure_ascii=False, indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(data), int(datetime.now().timestamp()), 0o600
                archive.addfile(info, io.BytesIO(data))
                archive.add(dump, arcname=manifest.database_file)
                if uploads.is_dir():
                    archive.add(uploads, arcname="uploads")
            os.replace(partial, destination)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise BackupError(f"cannot write {destination}: {exc.strerror or exc}") from None
    return destination


# --------------------------------------------------------------------------- restore


@contextmanager
def open_backup(path: Path) -> Iterator[tuple[tarfile.TarFile, Manifest]]:
    """Open the backup at ``path``: yields the archive (positioned after the manifest) and the
    manifest; :class:`BackupError` when it is missing or not a Shequn backup."""
    if not path.is_file():
        raise BackupError(f"no such backup file: {path}")
    not_ours = f"{path} is not a Shequn backup"
    try:
        archive = tarfile.open(path, "r:gz")  # noqa: SIM115  (closed by the with below)
    except (tarfile.TarError, OSError, EOFError, zlib.error):
        raise BackupError(f"{not_ours} (not a readable .tar.gz archive)") from None
    with archive:
        try:
            first = archive.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BackupError(f"{not_ours} (no {MANIFEST} at its start)")
            raw = json.loads(archive.extractfile(first).read().decode("utf-8"))
        except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError):
            raise BackupError(f"{not_ours} (damaged archive or manifest)") from None
        yield archive, _manifest(raw, path)


def _manifest(raw: object, path: Path) -> Manifest:
    not_ours = f"{path} is not a Shequn backup"
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise BackupError(f"{not_ours} ({MANIFEST} is not a Shequn manifest)")
    if not isinstance(raw.get("version"), int) or raw["version"] > VERSION:
        raise BackupError(
            f"{path} was made by a newer Shequn (backup format {raw.get('version')}); "
            "upgrade Shequn to restore it"
        )
    if raw.get("database") not in DATABASE_FILES:
        raise BackupError(f"{not_ours} (unknown database kind {raw.get('database')!r})")
    known = set(Manifest.__dataclass_fields__)
    try:
        return Manifest(**{k: v for k, v in raw.items() if k in known})
    except TypeError:
        raise BackupError(f"{not_ours} (incomplete {MANIFEST})") from None


def read_manifest(path: Path) -> Manifest:
    """The manifest of the backup at ``path`` (:class:`BackupError` if it is not one)."""
    with open_backup(path) as (_, manifest):
        return manifest


def _extract(archive: tarfile.TarFile, manifest: Manifest, staging: Path) -> Path:
    """Unpack the database file and uploads into ``staging``; return the database file."""
    database_file: Path | None = None
    for member in archive:
        name = member.name
        if name == manifest.database_file and member.isfile():
            archive.extract(member, staging, filter="data")
            database_file = staging / name
        elif name == "uploads" or name.startswith("uploads/"):
            archive.extract(member, staging, filter="data")
    if database_file is None:
        raise BackupError(f"the backup holds no {manifest.database_file}")
    return database_file


def _restore_sqlite(database_url: str, copy: Path) -> None:
    target = _sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with closing(sqlite3.connect(copy)) as source:
            if source.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("the database in the backup is damaged (quick_check failed)")
            with closing(sqlite3.connect(target, timeout=30)) as live:
                source.backup(live)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot restore the SQLite database: {exc}") from None


def _restore_postgres(database_url: str, manifest: Manifest, dump: Path) -> None:
    schema = _pg_schema(make_url(database_url))
    if manifest.pg_schema != schema:
        raise BackupError(
            f"the backup is of PostgreSQL schema {manifest.pg_schema or '(default)'}, "
            f"this site uses {schema or '(default)'}"
        )
    uri, env = _libpq(database_url)
    pg_restore = _tool("pg_restore")
    command = [
        pg_restore,
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        "--dbname",
        uri,
    ]
    if schema:
        # Replace the schema's contents, not the schema: --clean would DROP SCHEMA, which
        # fails as soon as the live schema holds anything the dump does not.
        _ensure_schema(database_url, schema)
        listing = subprocess.run(
            [pg_restore, "--list", str(dump)], env=env, capture_output=True, text=True, check=False
        )
        if listing.returncode != 0:
            raise BackupError(f"the database dump in the backup is damaged: {listing.stderr}")
        toc = dump.with_suffix(".list")
        toc.write_text(
            "".join(
                line + "\n"
                for line in listing.stdout.splitlines()
                if not re.match(r"^\d+; \d+ \d+ SCHEMA - ", line)
            )
        )
        command += ["--use-list", str(toc)]
    _run([*command, str(dump)], env, "pg_restore")


def _ensure_schema(database_url: str, schema: str) -> None:
    engine = _engine(database_url)
    try:
        with engine.begin() as conn:
            quoted = schema.replace('"', '""')
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{quoted}"'))
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot reach the database: {exc.orig or exc}") from None
    finally:
        engine.dispose()


def _swap_uploads(instance_path: Path, restored: Path) -> None:
    """Put the restored uploads folder in place of the current one."""
    uploads = instance_path / "uploads"
    if not restored.is_dir():
        restored.mkdir(parents=True)
    old = None
    if uploads.exists():
        old = instance_path / f".uploads-old-{os.getpid()}"
        os.replace(uploads, old)
    os.replace(restored, uploads)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def restore_backup(database_url: str, instance_path: Path, archive_path: Path) -> Manifest:
    """Replace the site's database and uploads with the backup's; return its manifest.

    Refuses (:class:`BackupError`) an archive that is not a Shequn backup or holds another
    kind of database than the site uses. Stop writes to the site while restoring.
    """
    kind = database_kind(database_url)
    with open_backup(archive_path) as (archive, manifest):
        if manifest.database != kind:
            raise BackupError(
                f"{archive_path} holds a {manifest.database} database, but this site uses {kind}"
            )
        instance_path.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=instance_path))
        try:
            try:
                copy = _extract(archive, manifest, staging)
            except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
                raise BackupError(f"cannot unpack {archive_path}: {exc}") from None
            cached = _state_version(database_url)
            if kind == "sqlite":
                _restore_sqlite(database_url, copy)
            else:
                _restore_postgres(database_url, manifest, copy)
            _bump_state_version(database_url, cached)
            _swap_uploads(instance_path, staging / "uploads")
        finally:
            with suppress(OSError):
                shutil.rmtree(staging)
    return manifest
