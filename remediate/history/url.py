"""Where the history lives: `--db PATH|URL` resolved to a SQLAlchemy URL.

- None: $REMEDIATE_DB (a path or a URL), else the per-user default file:
  POSIX  $XDG_DATA_HOME/remediate/history.db (XDG_DATA_HOME defaults to ~/.local/share),
  Windows %LOCALAPPDATA%\\remediate\\history.db.
- A plain path (relative, ~, C:\\Users\\..., /srv/x.db) is a SQLite file; it is made absolute here
  so the lock and the "does it exist" check look at the file SQLite opens.
- A URL (anything with a scheme and ://) is SQLAlchemy's; postgresql:// and postgres:// use
  psycopg 3 (postgresql+psycopg://), which is the `postgres` extra.
Passwords never leave this module in text: print `url_display(url)`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from remediate.history.errors import HistoryError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
POSTGRES_EXTRA = "pip install 'remediate[postgres]'"


def default_path() -> Path:
    """The per-user history file (not $REMEDIATE_DB: see resolve_url)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "remediate" / "history.db"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base_dir = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base_dir / "remediate" / "history.db"


def is_url(db: str) -> bool:
    return bool(_SCHEME.match(db))


def sqlite_url(path: str | Path) -> URL:
    """A SQLite URL for a file path (~ expanded, made absolute; any character allowed in it)."""
    return URL.create("sqlite", database=os.path.abspath(Path(path).expanduser()))


def resolve_url(db: str | None = None) -> URL:
    """--db (a path or a URL), else $REMEDIATE_DB, else default_path(). A PostgreSQL URL without
    psycopg installed is a HistoryError that says how to install it."""
    db = db or os.environ.get("REMEDIATE_DB") or None
    if db is None:
        return sqlite_url(default_path())
    if not is_url(db):
        return sqlite_url(db)
    try:
        url = make_url(db)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise HistoryError(f"not a database URL or path: {_hide(db)}") from None
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        if importlib.util.find_spec("psycopg") is None:
            raise HistoryError(f"{url_display(url)}: PostgreSQL needs the psycopg driver: {POSTGRES_EXTRA}")
        url = url.set(drivername="postgresql+psycopg")
    return url


def url_display(url: URL | str) -> str:
    """The URL with any password replaced by ***.

    A password with an unencoded '@' (`alice:Top@Secret@db`) parses (SQLAlchemy, like libpq)
    as password 'Top' and host 'Secret@db': the rendering is hidden again up to the last '@'."""
    if isinstance(url, URL):
        return _hide(url.render_as_string(hide_password=True))
    try:
        return _hide(make_url(url).render_as_string(hide_password=True))
    except (ArgumentError, ValueError):
        return _hide(url)


def _hide(text: str) -> str:
    """user:secret@ -> user:***@, up to the LAST '@' (a password may hold an unencoded '@';
    hiding too much of a display string is better than showing part of a password)."""
    return re.sub(r"(://[^:/@]*:).*@", r"\1***@", text, flags=re.S)
