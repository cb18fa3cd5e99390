"""Change stamps shared by every worker, so cached pages can be checked without the database.

Each kind of thing whose pages are cached — the whole site's state (settings, permissions,
names), all content (any post anywhere), a board, a thread — has a *stamp*: a random 64-bit
number replaced by a fresh one after every committed write that changes its pages. A cached
page is stored under the stamps read *before* it was rendered, so any write committed later
makes it unreachable. Stamps are written after commit (a write that rolls back changes
nothing), with a new random value rather than an increment, so two workers writing at once
can never leave an old value behind.

Stores:

- :class:`FileStamps` (default): a memory-mapped file in ``instance/`` shared by the worker
  processes of one machine; reading a stamp is a memory read.
- :class:`RedisStamps` (when ``REDIS_URL`` is set): for several machines behind one database.

Boards and threads are hashed into a fixed number of slots; two sharing a slot only means a
write to one also refreshes the other's pages, never that a stale page is served.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterable
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from forum.extensions import db

SLOTS = 1 << 16
_FIXED = {"state": 0, "content": 1}
_SALT = {"board": 0x9E3779B1, "thread": 0x85EBCA77}


def slot(kind: str, ident: int | None = None) -> int:
    """The slot of a stamp: ``slot("state")``, ``slot("content")``, ``slot("thread", 42)``."""
    if kind in _FIXED:
        return _FIXED[kind]
    return 2 + (ident * _SALT[kind]) % (SLOTS - 2)


def _fresh() -> int:
    return int.from_bytes(os.urandom(8), "little")


class FileStamps:
    """Stamps in a memory-mapped file (one machine, any number of worker processes)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < SLOTS * 8:
                os.ftruncate(fd, SLOTS * 8)
            self._map = mmap.mmap(fd, SLOTS * 8)
        finally:
            os.close(fd)

    def get_many(self, slots: Iterable[int]) -> tuple[int, ...]:
        return tuple(struct.unpack_from("<Q", self._map, s * 8)[0] for s in slots)

    def bump(self, slots: Iterable[int]) -> None:
        for s in slots:
            struct.pack_into("<Q", self._map, s * 8, _fresh())


class RedisStamps:
    """Stamps in Redis (several machines)."""

    def __init__(self, url: str, prefix: str = "shequn:stamp:"):
        import redis

        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix

    def get_many(self, slots: Iterable[int]) -> tuple[int, ...]:
        keys = [f"{self._prefix}{s}" for s in slots]
        return tuple(int(v or 0) for v in self._redis.mget(keys))

    def bump(self, slots: Iterable[int]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for s in slots:
            pipe.set(f"{self._prefix}{s}", _fresh())
        pipe.execute()


def init_app(app: Flask) -> None:
    """Open the app's stamp store."""
    if app.config.get("REDIS_URL"):
        store = RedisStamps(app.config["REDIS_URL"])
    else:
        store = FileStamps(Path(app.instance_path) / "stamps.bin")
    app.extensions["forum_stamps"] = store


def renew_all(app: Flask | None = None) -> None:
    """Renew every stamp now: after writes that bypassed the services (restore, bulk seeding)."""
    store = (app or current_app).extensions["forum_stamps"]
    store.bump(range(SLOTS))


def stamps(*slots: int) -> tuple[int, ...]:
    """The current stamps of these slots."""
    return current_app.extensions["forum_stamps"].get_many(slots)


def changed(kind: str, ident: int | None = None, *, listings: bool = True) -> None:
    """Note that the pages of ``kind``/``ident`` change with this transaction.

    The stamp is renewed when the transaction commits, and the all-content stamp (the
    index and board listings) too unless ``listings`` is False: a change the listings do
    not show, such as a like, then keeps their cached pages.
    """
    pending = db.session.info.setdefault("forum_stamps", set())
    pending.add(slot(kind, ident))
    if listings:
        pending.add(_FIXED["content"])


@event.listens_for(Session, "after_commit")
def _renew_after_commit(session: Session) -> None:
    pending = session.info.pop("forum_stamps", None)
    if pending:
        current_app.extensions["forum_stamps"].bump(pending)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop("forum_stamps", None)
