"""tests/services/redis.py starts a real redis-server that answers on loopback."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from tests.services.redis import redis_url  # noqa: F401  (the session fixture)


def test_redis_answers_ping(redis_url: str) -> None:  # noqa: F811
    parts = urlsplit(redis_url)
    assert parts.scheme == "redis" and parts.hostname == "127.0.0.1" and parts.port
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as s:
        s.sendall(b"PING\r\n")  # RESP inline command
        assert s.recv(64) == b"+PONG\r\n"
