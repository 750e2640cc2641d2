"""The lab's HTTP Date header is formatted once a second: always what formatdate gives for now."""

from __future__ import annotations

import email.utils

import pytest

from remediate.lab.wire import http


def test_http_date_matches_formatdate(monkeypatch: pytest.MonkeyPatch) -> None:
    for now in (1_700_000_000.0, 1_700_000_000.9, 1_700_000_001.2, 1_700_086_400.5, 1_699_999_999.0):
        monkeypatch.setattr(http.time, "time", lambda now=now: now)
        assert http.http_date() == email.utils.formatdate(now, usegmt=True)
