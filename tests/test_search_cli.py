"""``forum reindex``: rebuilds the index of either backend from the database, with a
progress bar and a posts-per-second figure; a bad backend setting is one clear line."""

from __future__ import annotations

import pytest

from forum import search
from forum.cli import reindex_command
from forum.services import posting


@pytest.fixture(params=["whoosh", "postgres"])
def backend_name(request, database_kind) -> str:
    if request.param == "postgres" and database_kind != "postgres":
        pytest.skip("the postgres search backend needs FORUM_TEST_DATABASE_URL")
    return request.param


@pytest.fixture
def app_config(backend_name) -> dict:
    return {"SEARCH_BACKEND": backend_name}


def test_reindex_rebuilds_from_the_database(app, make_board, make_member, backend_name):
    board = make_board("talk", "闲聊")
    author = make_member("writer")
    thread = posting.create_thread(author, board, "重建索引", "第一条")
    for i in range(4):
        posting.reply(author, thread, f"重建索引 第{i}条")
    search.get_backend().clear()  # as if the index were lost
    assert search.count_posts(None, "重建索引", search.make_filters(None)) == 0
    result = app.test_cli_runner().invoke(reindex_command, [])
    assert result.exit_code == 0, result.output
    assert f"indexing ({backend_name})" in result.output
    assert "indexed 5 posts" in result.output and "posts/s" in result.output
    assert search.count_posts(None, "重建索引", search.make_filters(None)) == 5
    again = app.test_cli_runner().invoke(reindex_command, ["--clear"])
    assert again.exit_code == 0, again.output
    assert search.count_posts(None, "重建索引", search.make_filters(None)) == 5


def test_unknown_backend_is_one_line(app, backend_name):
    app.config["SEARCH_BACKEND"] = "elastic"
    app.extensions.pop("forum_search", None)
    result = app.test_cli_runner().invoke(reindex_command, [])
    assert result.exit_code == 1
    assert "unknown search backend" in result.output
    assert "Traceback" not in result.output
