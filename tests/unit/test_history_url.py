"""--db PATH|URL resolution (remediate/history/url.py): paths everywhere, the per-user default,
PostgreSQL through psycopg 3, passwords never shown."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from remediate.history import url as urlmod
from remediate.history.store import HistoryError, Store
from remediate.history.url import default_path, resolve_url, url_display


def test_plain_paths_become_absolute_sqlite_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_url("h.db").database == str(tmp_path / "h.db")
    assert resolve_url("~/x/h.db").database == str(Path.home() / "x" / "h.db")
    odd = resolve_url(str(tmp_path / "a b?c#d.db"))  # characters a URL would mangle
    assert odd.get_backend_name() == "sqlite" and odd.database == str(tmp_path / "a b?c#d.db")
    assert resolve_url("sqlite:////srv/h.db").database == "/srv/h.db"


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("REMEDIATE_DB", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert resolve_url().database == str(Path.home() / ".local/share/remediate/history.db")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path() == tmp_path / "remediate" / "history.db"
    monkeypatch.setenv("REMEDIATE_DB", str(tmp_path / "env.db"))
    assert resolve_url().database == str(tmp_path / "env.db")
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\ops\AppData\Local")
    assert str(default_path()).endswith(os.path.join("remediate", "history.db"))
    assert str(default_path()).startswith(r"C:\Users\ops\AppData\Local")


def test_postgres_urls_use_psycopg3() -> None:
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("psycopg not installed")
    for given in ("postgresql://u:pw@db/r", "postgres://u:pw@db/r", "postgresql+psycopg://u:pw@db/r"):
        assert resolve_url(given).drivername == "postgresql+psycopg"


def test_postgres_without_psycopg_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        urlmod.importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a)
    )
    with pytest.raises(HistoryError) as e:
        Store.open("postgresql://ops:hunter22@db.corp/history", create=False)
    assert "pip install 'remediate[postgres]'" in str(e.value) and "hunter22" not in str(e.value)


def test_passwords_never_shown() -> None:
    assert "hunter22" not in url_display("postgresql://ops:hunter22@db/r")
    assert url_display("postgresql://ops:hunter22@db/r") == "postgresql://ops:***@db/r"
    assert "hunter22" not in url_display("bogus://ops:hunter22@[db")
    with pytest.raises(HistoryError) as e:
        resolve_url("postgresql://ops:hunter22@db:notaport/r")
    assert "hunter22" not in str(e.value)


def test_password_with_an_unencoded_at_is_hidden_to_the_last_at() -> None:
    """Before: `postgresql://alice:***@Secret@dbhost...` (the regex and SQLAlchemy's rendering
    stopped at the first '@', showing the rest of the password)."""
    for given in ("postgresql://alice:Top@Secret@dbhost:5432/hist", "bogus://alice:Top@Secret@[db"):
        shown = url_display(given)
        assert "Secret" not in shown and "Top" not in shown, shown
    assert (
        url_display("postgresql://alice:Top@Secret@dbhost:5432/hist")
        == "postgresql://alice:***@dbhost:5432/hist"
    )
