"""Alembic environment: run only programmatically by remediate.history.migrate, which passes
the connection (already inside the transaction that holds the schema lock)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from remediate.history.schema import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):  # pragma: no cover - only remediate runs this
    raise RuntimeError("remediate's migrations run through remediate.history.migrate (no alembic.ini)")
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
