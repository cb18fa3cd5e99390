"""The ``forum`` command: init, run, create-admin, demo, backup and restore.

Commands that succeed run in a subprocess (``forum …``, through ``main()``), as an owner
runs them; quick refusals use click's CliRunner. Every test runs on SQLite and, when
``FORUM_TEST_DATABASE_URL`` is set, on PostgreSQL (a fresh schema per test).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from forum.backup import BackupError, create_backup, restore_backup
from forum.cli import cli, write_instance_config
from forum.testing import PASSWORD, database_kinds, fresh_database

FORUM = [sys.executable, "-c", "from forum.cli import main; main()"]


@dataclass
class Site:
    """An instance folder (maybe not created yet) and the database it uses."""

    instance: Path
    database_url: str | None  # None: the default, instance/forum.db
    kind: str

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
        env["FORUM_INSTANCE_PATH"] = str(self.instance)
        if self.database_url:
            env["FORUM_DATABASE_URL"] = self.database_url
        return env

    def forum(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``forum ARGS`` in a subprocess."""
        result = subprocess.run(
            [*FORUM, *args], env=self.env(), capture_output=True, text=True, timeout=120
        )
        if check:
            assert result.returncode == 0, result.stderr[-2000:]
        return result

    def app(self):
        """The site's app, configured as the command line configures it."""
        from forum.app import create_app

        config: dict = {"INSTANCE_PATH": str(self.instance)}
        if self.database_url:
            config["DATABASE_URL"] = self.database_url
        return create_app(config)


@pytest.fixture(params=database_kinds())
def site(request, tmp_path, monkeypatch) -> Iterator[Site]:
    for key in [k for k in os.environ if k.startswith("FORUM_") and "_TEST_" not in k]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("FORUM_INSTANCE_PATH", str(tmp_path / "instance"))
    if request.param == "sqlite":
        yield Site(tmp_path / "instance", None, "sqlite")
        return
    with fresh_database(tmp_path, "postgres") as url:
        monkeypatch.setenv("FORUM_DATABASE_URL", url)
        yield Site(tmp_path / "instance", url, "postgresql")


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The single ``Error: …`` line a failed command printed (and nothing else)."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def runner_error(args: list[str]) -> str:
    """Run the CLI in-process and return its one ``Error:`` line."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def in_app(site: Site, work):
    """Run ``work(db)`` in the site's app context and return its result."""
    from forum.extensions import db

    app = site.app()
    with app.app_context():
        try:
            return work(db)
        finally:
            db.session.remove()
            db.engine.dispose()


# --------------------------------------------------------------------------- init / run


def test_init_creates_instance_secret_and_database(site, tmp_path):
    result = site.forum("init")
    assert "instance ready" in result.stdout
    config = site.instance / "config.py"
    secret = re.search(r"SECRET_KEY = '([0-9a-f]+)'", config.read_text()).group(1)
    assert len(secret) == 64
    assert config.stat().st_mode & 0o777 == 0o600
    assert (site.instance / "uploads").is_dir()
    if site.kind == "sqlite":
        assert (site.instance / "forum.db").is_file()

    def tables(db):
        from sqlalchemy import inspect

        return set(inspect(db.engine).get_table_names())

    assert {"member", "board", "thread", "post", "site_state"} <= in_app(site, tables)

    other = Site(tmp_path / "other", None, "sqlite")
    other.forum("init")
    assert secret not in (other.instance / "config.py").read_text()  # random per instance


def test_init_twice_keeps_secret_and_data(site):
    site.forum("init")
    config = (site.instance / "config.py").read_text()
    site.forum("create-admin", "boss", "boss@example.com", "--password", PASSWORD)
    site.forum("init")
    assert (site.instance / "config.py").read_text() == config

    def admins(db):
        from forum.models import Member

        return db.session.execute(select(Member.username)).scalars().all()

    assert in_app(site, admins) == ["boss"]


@pytest.mark.parametrize(
    "args",
    [["run"], ["create-admin", "boss", "boss@example.com", "--password", PASSWORD], ["backup"]],
)
def test_missing_instance_is_one_error_line(site, args):
    line = one_error_line(site.forum(*args, check=False))
    assert "forum init" in line
    assert not site.instance.exists() or not (site.instance / "config.py").exists()


@pytest.mark.parametrize(
    "args",
    [["run", "--port", "1"], ["create-admin", "boss", "b@example.com", "--password", "x" * 9]],
)
def test_database_not_set_up_is_one_error_line(site, args):
    write_instance_config(site.instance)  # a secret key, but no `forum init` yet
    assert "forum init" in one_error_line(site.forum(*args, check=False))


# --------------------------------------------------------------------------- create-admin


def test_create_admin_is_in_the_admin_group(site):
    site.forum("init")
    result = site.forum("create-admin", "boss", "boss@example.com", "--password", PASSWORD)
    assert "admin boss created" in result.stdout

    def check(db):
        from forum.models import Group, GroupMembership
        from forum.services import permissions
        from forum.services.members import get_by_username

        boss = get_by_username("boss")
        groups = db.session.execute(
            select(Group.key)
            .join(GroupMembership, GroupMembership.group_id == Group.id)
            .where(GroupMembership.member_id == boss.id)
        ).scalars()
        return list(groups), permissions.is_admin(boss), boss.email_confirmed_at is not None

    assert in_app(site, check) == (["admin"], True, True)
    again = site.forum("create-admin", "BOSS", "x@example.com", "--password", PASSWORD, check=False)
    one_error_line(again)  # the username is taken (case-insensitively), in the site's language

    def count(db):
        from forum.models import Member

        return db.session.query(Member).count()

    assert in_app(site, count) == 1


# --------------------------------------------------------------------------- demo


def test_demo_seeds_once(site):
    first = site.forum("demo", "--no-serve", "--scale", "0.02")
    assert re.search(r"seeded 50 members, 6 boards, \d+ threads, \d+ posts", first.stdout)
    assert "admin login: laozhou / " in first.stdout

    def totals(db):
        from forum.models import Post, Thread

        return db.session.query(Thread).count(), db.session.query(Post).count()

    seeded = in_app(site, totals)
    indexed = int(re.search(r"indexed (\d+) posts", first.stdout).group(1))
    assert 0 < indexed <= seeded[1]

    def found(db):
        from forum import search

        return search.expected_count()

    assert indexed == in_app(site, found)  # every visible post is searchable at once
    second = site.forum("demo", "--no-serve", "--scale", "0.02")
    assert "already seeded" in second.stdout and "seeded 50" not in second.stdout
    assert in_app(site, totals) == seeded


# --------------------------------------------------------------------------- backup / restore


def _write_thread(db) -> int:
    from forum.services import boards, posting
    from forum.services.members import get_by_username

    category = boards.create_category("跑步")
    board = boards.create_board(category, "yuepao", "约跑")
    thread = posting.create_thread(get_by_username("boss"), board, "周六奥森约跑", "10 公里")
    return thread.id


def _remove_thread(thread_id: int):
    def work(db):
        from forum.models import Board, Post, Thread

        db.session.execute(update(Board).values(last_thread_id=None, last_post_id=None))
        db.session.execute(update(Thread).values(first_post_id=None, last_post_id=None))
        db.session.execute(delete(Post).where(Post.thread_id == thread_id))
        db.session.execute(delete(Thread).where(Thread.id == thread_id))
        db.session.commit()
        return db.session.get(Thread, thread_id)

    return work


def _thread_text(thread_id: int):
    def work(db):
        from forum.models import Post, Thread

        thread = db.session.get(Thread, thread_id)
        if thread is None:
            return None
        post = db.session.execute(select(Post).where(Post.thread_id == thread_id)).scalar_one()
        return thread.title, post.source

    return work


def test_backup_and_restore_round_trip(site):
    site.forum("init")
    site.forum("create-admin", "boss", "boss@example.com", "--password", PASSWORD)
    thread_id = in_app(site, _write_thread)
    upload = site.instance / "uploads" / "2024" / "11" / "photo.webp"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"RIFF....WEBPVP8 fake")

    result = site.forum("backup")
    archive = Path(re.search(r"backup written: (\S+)", result.stdout).group(1))
    assert archive.parent == site.instance / "backups"
    assert re.fullmatch(r"shequn-\d{8}-\d{6}\.tar\.gz", archive.name)
    assert archive.stat().st_mode & 0o777 == 0o600
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert names[0] == "manifest.json" and "uploads/2024/11/photo.webp" in names
    assert manifest["database"] == site.kind and manifest["version"] == 1

    assert in_app(site, _remove_thread(thread_id)) is None
    upload.unlink()
    (site.instance / "uploads" / "later.webp").write_bytes(b"after the backup")

    refused = site.forum("restore", str(archive), check=False)
    assert "--yes" in one_error_line(refused)
    assert in_app(site, _thread_text(thread_id)) is None  # nothing changed without --yes

    restored = site.forum("restore", str(archive), "--yes")
    assert "restored" in restored.stdout
    assert in_app(site, _thread_text(thread_id)) == ("周六奥森约跑", "10 公里")
    assert upload.read_bytes() == b"RIFF....WEBPVP8 fake"
    assert not (site.instance / "uploads" / "later.webp").exists()
    assert not list(site.instance.glob(".restore-*")) and not list(site.instance.glob(".uploads-*"))

    def board_counts(db):
        from forum.models import Board

        board = db.session.execute(select(Board)).scalar_one()
        return board.thread_count, board.post_count, board.last_thread_id

    assert in_app(site, board_counts) == (1, 1, thread_id)


def _archive(path: Path, manifest: dict | None, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        entries = dict(files)
        if manifest is not None:
            entries = {"manifest.json": json.dumps(manifest).encode(), **files}
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_restore_refusals_are_one_line(site, tmp_path):
    site.forum("init")
    other = "postgresql" if site.kind == "sqlite" else "sqlite"
    good = {"format": "shequn-backup", "version": 1, "created_at": "2024-11-01T00:00:00+00:00"}
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(os.urandom(2048))
    cases = {
        "no such backup file": tmp_path / "missing.tar.gz",
        "not a readable .tar.gz": junk,
        "no manifest.json": _archive(tmp_path / "plain.tar.gz", None, {"a.txt": b"hi"}),
        "not a Shequn manifest": _archive(tmp_path / "alien.tar.gz", {"format": "x"}, {}),
        "newer Shequn": _archive(
            tmp_path / "future.tar.gz", {**good, "version": 99, "database": site.kind}, {}
        ),
        f"holds a {other} database, but this site uses {site.kind}": _archive(
            tmp_path / "other.tar.gz",
            {**good, "database": other},
            {"database/forum.db": b"x", "database/forum.dump": b"x"},
        ),
        "holds no database/": _archive(
            tmp_path / "empty.tar.gz", {**good, "database": site.kind}, {}
        ),
    }
    for expected, path in cases.items():
        assert expected in runner_error(["restore", str(path), "--yes"]), expected
    line = one_error_line(site.forum("restore", str(junk), "--yes", check=False))
    assert "not a Shequn backup" in line


def test_restore_refuses_paths_outside_uploads(tmp_path):
    """An archive whose uploads point outside the instance is refused before any change."""
    instance = tmp_path / "instance"
    url = f"sqlite:///{tmp_path / 'forum.db'}"
    manifest = {
        "format": "shequn-backup",
        "version": 1,
        "database": "sqlite",
        "created_at": "2024-11-01T00:00:00+00:00",
    }
    bad = _archive(
        tmp_path / "evil.tar.gz",
        manifest,
        {"database/forum.db": b"", "uploads/../../escaped.txt": b"gotcha"},
    )
    with pytest.raises(BackupError, match="cannot unpack"):
        restore_backup(url, instance, bad)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "forum.db").exists()


def test_backup_explains_missing_pg_dump_and_unsupported_databases(tmp_path, monkeypatch):
    monkeypatch.setattr("forum.backup.shutil.which", lambda name: None)
    with pytest.raises(BackupError, match="^pg_dump not found on PATH"):
        create_backup("postgresql+psycopg://postgres@127.0.0.1:1/none", tmp_path)
    with pytest.raises(BackupError, match="SQLite and PostgreSQL"):
        create_backup("mysql://root@localhost/forum", tmp_path)
    with pytest.raises(BackupError, match="in-memory"):
        create_backup("sqlite://", tmp_path)
    with pytest.raises(BackupError, match="no database at"):
        create_backup(f"sqlite:///{tmp_path / 'nothing.db'}", tmp_path)
    assert not (tmp_path / "backups").exists() or not list((tmp_path / "backups").iterdir())
