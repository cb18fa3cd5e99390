"""``forum plugins list|enable|disable|purge`` and ``forum db upgrade`` with a plugin branch,
through the real ``forum`` command group (click's runner, a fresh app per command, as each
command line gets one), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from forum.cli import cli
from forum.testing import database_kinds, fresh_database


@pytest.fixture(params=database_kinds())
def forum(request, tmp_path, monkeypatch):
    """``forum(*args)`` runs the command against a fresh instance with the sample plugin."""
    for key in [k for k in os.environ if k.startswith("FORUM_") and "_TEST_" not in k]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("FORUM_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("FORUM_EXTRA_PLUGINS", json.dumps({"sample": "tests.sample_plugin"}))

    def make(url: str | None):
        def run(*args: str, check: bool = True, stdin: str | None = None):
            result = CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)
            if check:
                assert result.exit_code == 0, result.output[-2000:]
            return result

        run.url = url or f"sqlite:///{tmp_path / 'instance' / 'forum.db'}"
        return run

    if request.param == "sqlite":
        yield make(None)
        return
    with fresh_database(tmp_path, "postgres") as url:
        monkeypatch.setenv("FORUM_DATABASE_URL", url)
        yield make(url)


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_plugin_life_cycle_on_the_command_line(forum):
    forum("init")
    assert "sample_note" in _tables(forum.url)  # `forum init` upgrades every branch
    listing = forum("plugins", "list").output
    assert "sample" in listing and "disabled" in listing and "A plugin for the core" in listing
    assert "plugin sample enabled" in forum("plugins", "enable", "sample").output
    assert "enabled" in forum("plugins", "list").output.split("sample", 1)[1].splitlines()[0]
    assert "data is kept" in forum("plugins", "disable", "sample").output

    refused = forum("plugins", "purge", "sample", check=False, stdin="n\n")
    assert refused.exit_code != 0 and "sample_note" in _tables(forum.url)
    assert "purged" in forum("plugins", "purge", "sample", "--yes").output
    assert "sample_note" not in _tables(forum.url)

    pending = forum("plugins", "enable", "sample", check=False)
    assert pending.exit_code == 1
    assert "forum db upgrade" in pending.output
    forum("db", "upgrade")
    assert "sample_note" in _tables(forum.url)
    forum("plugins", "enable", "sample")

    assert forum("sample-count").output.strip() == "0 notes"  # a plugin's own command

    unknown = forum("plugins", "enable", "nope", check=False)
    assert unknown.exit_code == 1 and "nope" in unknown.output
