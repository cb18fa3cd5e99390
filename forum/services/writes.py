"""Helpers for writes that must stay correct under concurrency, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from forum.extensions import db


def begin_write() -> None:
    """Open the transaction for real, with SQLite's write lock, before a write's first read.

    pysqlite does not send BEGIN until a data-changing statement, so a SAVEPOINT would start
    the transaction itself and its RELEASE would commit it, caller's work and all. BEGIN
    IMMEDIATE also takes the write lock up front, so concurrent writers wait for each other
    instead of one failing to upgrade its read lock. PostgreSQL needs nothing: its writes
    lock their rows and conditional UPDATEs re-check them.

    Example: a service that reads a balance, then changes it::

        begin_write()
        row = db.session.execute(select(...).with_for_update()).scalar_one()
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        if not raw.in_transaction:
            raw.execute("BEGIN IMMEDIATE")


def upsert_insert() -> Any:
    """The ``insert`` construct of the session's database, the one with
    ``on_conflict_do_nothing`` / ``on_conflict_do_update`` (SQLite's or PostgreSQL's)."""
    return sqlite_insert if db.session.connection().dialect.name == "sqlite" else postgresql_insert


def locked_row(model: Any, *where: Any) -> Any | None:
    """The one row of ``model`` matching ``where``, locked for this transaction (``SELECT …
    FOR UPDATE OF`` its table; on SQLite call :func:`begin_write` first) and read afresh;
    None when there is none."""
    from sqlalchemy import select

    return db.session.execute(
        select(model)
        .where(*where)
        .with_for_update(of=model)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
