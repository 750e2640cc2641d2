"""Creating and upgrading the history schema: Alembic, run programmatically, race-free.

Any number of processes may open a brand-new database with create=True at once (40 cron jobs
on one SQLite file): the upgrade runs inside one transaction that first takes the schema lock,
BEGIN EXCLUSIVE on SQLite (the others wait on busy_timeout), pg_advisory_xact_lock on
PostgreSQL; whoever gets it second finds the schema at head and does nothing. Both backends
run DDL transactionally here, so a failed upgrade leaves the old schema and rows as they were.

A database made by remediate 0.1 (tables runs and host_results, no alembic_version) is stamped
at revision 0001 first, then upgraded like any other.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"
LEGACY_REVISION = "0001"
# pg_advisory_xact_lock key: any constant every remediate agrees on ("remediat" in ASCII)
PG_LOCK_KEY = 0x72656D6564696174


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    rev = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert rev is not None
    return rev


def current(connection: Connection) -> str | None:
    """The revision stamped in the database; LEGACY_REVISION for an unstamped 0.1 database;
    None for one without remediate's tables."""
    rev = MigrationContext.configure(connection).get_current_revision()
    if rev is not None:
        return rev
    return LEGACY_REVISION if inspect(connection).has_table("runs") else None


def known() -> set[str]:
    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


class NewerSchemaError(Exception):
    """The database was made by a newer remediate: this one must not touch it."""


def upgrade(engine: Engine) -> None:
    """Bring the schema to head, creating it when absent (callers decide whether they may).
    A revision this code does not know (a newer remediate wrote it) raises NewerSchemaError."""
    with engine.connect() as probe:
        rev = current(probe)
        if rev == head():
            return  # the common case: no lock taken
        if rev is not None and rev not in known():
            raise NewerSchemaError(
                f"its schema revision {rev} is newer than this remediate knows (up to {head()}): "
                "upgrade remediate to read it"
            )
    locked = engine.execution_options(remediate_begin="EXCLUSIVE")
    with locked.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
        rev = current(conn)  # again, under the lock: another process may have done it
        if rev == head():
            return
        cfg = alembic_config(conn)
        if rev == LEGACY_REVISION and MigrationContext.configure(conn).get_current_revision() is None:
            command.stamp(cfg, LEGACY_REVISION)
        command.upgrade(cfg, "head")
