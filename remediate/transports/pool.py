"""The bounded thread pool that drives the blocking clients (pywinrm, pypsrp).

One pool for the whole process, so `--forks 500` cannot start 500 threads per transport kind.
Each host's session is used by one thread at a time: `HostWorker` serialises the calls a
transport makes for its host (the libraries' sessions are not thread-safe).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

DEFAULT_MAX_WORKERS = 64
# The longest one blocking Receive poll waits, so a cancelled step (Ctrl-C) is noticed soon.
CANCEL_POLL = 2

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_max_workers = DEFAULT_MAX_WORKERS


def configure(max_workers: int) -> None:
    """Set the pool size (before the first blocking call; a running pool is replaced after it drains)."""
    global _executor, _max_workers
    if max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    with _lock:
        _max_workers = max_workers
        old, _executor = _executor, None
    if old is not None:
        old.shutdown(wait=False)


def max_workers() -> int:
    return _max_workers


def executor() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=_max_workers, thread_name_prefix="remediate-io")
        return _executor


def shutdown() -> None:
    """Stop the pool (waits for running calls). The next call creates a fresh one."""
    global _executor
    with _lock:
        old, _executor = _executor, None
    if old is not None:
        old.shutdown(wait=True)


class HostWorker:
    """Runs one host's blocking calls on the shared pool, strictly one at a time."""

    def __init__(self) -> None:
        self._turn = asyncio.Lock()

    async def call(
        self, fn: Callable[..., T], /, *args: object, on_cancel: Callable[[], None] | None = None
    ) -> T:
        """Run fn(*args) on the pool. `on_cancel`: called when the awaiting task is cancelled,
        before waiting for the thread (so the thread can be told to give up)."""
        async with self._turn:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(executor(), functools.partial(fn, *args))
            # If the awaiting task is cancelled the thread keeps running; keep the turn until it
            # ends so the next call never overlaps it on the same session.
            try:
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                if on_cancel is not None:
                    on_cancel()
                await asyncio.wait({future})
                raise


class StepTimeout(Exception):
    """Raised on a worker thread when a step's deadline passes; the transport's async side turns
    it into CommandTimeout (it never leaves the transport)."""
