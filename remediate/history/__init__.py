"""Run history: the store (SQLAlchemy 2 + Alembic, SQLite or PostgreSQL), the recorder that
writes each host as it finishes, and the read side (history, drift, forecast, report)."""
