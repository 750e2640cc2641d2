"""The SQLAlchemy engine for a history URL, tuned per backend.

SQLite: WAL (readers never block the writer, a crash never corrupts), busy_timeout so that
concurrent writers wait for each other instead of failing with "database is locked", foreign
keys on, and transactions begun by us (`BEGIN`, `BEGIN IMMEDIATE` for writes, `BEGIN EXCLUSIVE`
for the schema) instead of by the sqlite3 module, which would run DDL outside any transaction.
https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl
https://www.sqlite.org/wal.html , https://www.sqlite.org/lang_transaction.html
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import StaticPool

BUSY_TIMEOUT_MS = 60_000  # a writer waits this long for another before giving up


def make_engine(url: URL, *, create: bool = True) -> Engine:
    """create=False (a reader): no pragma that writes to the file (WAL is persistent: the
    process that created the database switched it already)."""
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    memory = url.database in (None, "", ":memory:")
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
        poolclass=StaticPool if memory else None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # autocommit at the driver: we say BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if create and not memory:
            _retry_locked(lambda: cur.execute("PRAGMA journal_mode = WAL"))
            cur.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at checkpoints, never corrupt
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("remediate_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def _retry_locked(statement: Callable[[], object]) -> None:
    """Switching a new file to WAL needs the exclusive lock and, when many processes create the
    database at once, can fail with "database is locked" at once instead of waiting on
    busy_timeout: retry it (bounded by the same timeout)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def writer(engine: Engine) -> Engine:
    """The engine for write transactions: on SQLite they take the write lock at BEGIN (IMMEDIATE),
    so a transaction that reads first never fails on upgrading its lock (it waits instead)."""
    return engine.execution_options(remediate_begin="IMMEDIATE")
