"""Page-cache stamps: shared by workers, renewed after commit only, in a file or in Redis."""

from __future__ import annotations

import os

import pytest

from forum.app import create_app
from forum.extensions import db
from forum.services import posting, versions


def _second_worker(app):
    """Another worker process of the same site: its own app object, same DB and instance."""
    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "DATABASE_URL": app.config["DATABASE_URL"],
            "INSTANCE_PATH": app.instance_path,
        }
    )
    other.test_client_class = app.test_client_class
    return other


def test_a_write_in_one_worker_refreshes_the_cached_page_of_another(app, make_member, make_board):
    board = make_board("workers")
    author = make_member("worker")
    thread = posting.create_thread(author, board, "两个进程", "第一条")
    reader = _second_worker(app).test_client()
    assert "第一条" in reader.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "replier" not in reader.get("/").get_data(as_text=True)  # now cached there
    posting.reply(make_member("replier"), thread, "第二条")  # written by "this" worker
    assert "第二条" in reader.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "replier" in reader.get("/").get_data(as_text=True)  # the board's new last poster


def test_stamps_change_only_after_commit(app, make_member, make_board):
    board = make_board("commit")
    thread = posting.create_thread(make_member("committer"), board, "提交", "内容")
    slot = versions.slot("thread", thread.id)
    before = versions.stamps(slot)
    versions.changed("thread", thread.id)
    assert versions.stamps(slot) == before  # not yet committed
    db.session.rollback()
    assert versions.stamps(slot) == before  # rolled back: nothing changed
    versions.changed("thread", thread.id)
    db.session.commit()
    assert versions.stamps(slot) != before


def test_slots_are_stable_and_spread():
    assert versions.slot("state") == 0 and versions.slot("content") == 1
    slots = {versions.slot("thread", i) for i in range(1, 5000)}
    assert len(slots) > 4900 and min(slots) >= 2
    assert versions.slot("thread", 7) == versions.slot("thread", 7)


def test_redis_stamps(app):
    url = os.environ.get("FORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    store = versions.RedisStamps(url, prefix=f"shequn-test:{os.getpid()}:")
    try:
        store.get_many([0])
    except Exception as exc:  # noqa: BLE001 - any connection problem means: no Redis here
        pytest.skip(f"no Redis at {url}: {exc}")
    before = store.get_many([0, 5])
    store.bump([5])
    after = store.get_many([0, 5])
    assert after[0] == before[0] and after[1] != before[1]
