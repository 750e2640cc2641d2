"""The history store's one error (re-exported by remediate.history.store)."""

from __future__ import annotations

from remediate.core.errors import ConfigError


class HistoryError(ConfigError):
    """The history database cannot be opened, read or written: a missing file on a read, a
    missing driver, an unknown run. str(e) names the database (password hidden) and what to do."""
