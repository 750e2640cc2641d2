"""A throwaway redis-server on loopback for tests (issue 12's Celery workers).

Debian's `redis-server` is installed with apt-get when missing and running as root (like
tests/kerberos_setup.py); otherwise the tests that need it are skipped with the reason. The
server listens on 127.0.0.1 and a free port, keeps nothing on disk (`--save ''`,
`--appendonly no`) and runs in a temporary directory that is removed with it.

    from tests.services.redis import redis_url  # noqa: F401  (the session fixture)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.services.common import apt_install, free_port

PACKAGE = "redis-server"


def _binary() -> str | None:
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.access(p, os.X_OK)), None
    )


def install_if_missing() -> str | None:
    """None when redis-server is there (installing it as root if not); else why it is not."""
    if _binary() is not None:
        return None
    why = apt_install([PACKAGE], recommends=False)
    if why is not None:
        return why
    return None if _binary() is not None else f"{PACKAGE} installed but redis-server not found"


def ping(host: str, port: int, timeout: float = 2.0) -> bool:
    """RESP inline command PING answered by the simple string +PONG."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server() -> Iterator[str]:
    """Start a throwaway redis-server, yield its URL (redis://127.0.0.1:PORT/0), stop it."""
    reason = install_if_missing()
    if reason is not None:
        pytest.skip(reason)
    binary = _binary()
    assert binary is not None
    with tempfile.TemporaryDirectory(prefix="remediate-redis-") as tmp:
        port = free_port()
        logfile = os.path.join(tmp, "redis.log")
        args = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", tmp, "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
                "--logfile", logfile]  # fmt: skip
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not ping("127.0.0.1", port, 0.5):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = Path(logfile).read_text(errors="replace")[-500:] if os.path.exists(logfile) else ""
                    raise RuntimeError(f"redis-server did not start on port {port}: {log}")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a redis-server that lives for the test session."""
    with redis_server() as url:
        yield url
