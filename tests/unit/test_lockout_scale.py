"""The lockout guard's queue: linear in the number of waiting hosts, same limits as before.

The quadratic case counts operations, not time: the callbacks the event loop schedules while
N hosts sharing one credential pass through the guard. Waking every waiter on each release
(the old asyncio.Event) scheduled ~N/2 callbacks per host; a FIFO hand-over schedules a few.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from remediate.engine.lockout import CredentialGuard


async def _through(guard: CredentialGuard, hosts: int, outcome: Any = "ok") -> tuple[int, int, list[bool]]:
    """Every host acquires the one credential, yields once, releases; (callbacks, peak, results)."""
    loop = asyncio.get_running_loop()
    calls = 0
    real = loop.call_soon

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)

    in_flight = peak = 0

    async def host() -> bool:
        nonlocal in_flight, peak
        if not await guard.acquire("admin"):
            return False
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        guard.release("admin", outcome)
        return True

    tasks = [asyncio.ensure_future(host()) for _ in range(hosts)]
    loop.call_soon = counting  # type: ignore[method-assign,assignment]
    try:
        results = list(await asyncio.gather(*tasks))
    finally:
        del loop.call_soon  # back to the class's method
    return calls, peak, results


@pytest.mark.parametrize("hosts", [200, 2000])
async def test_callbacks_per_host_do_not_grow_with_the_fleet(hosts: int) -> None:
    calls, peak, results = await _through(CredentialGuard(limit=3), hosts)
    assert all(results) and peak == 3
    assert calls / hosts < 12, calls / hosts  # the Event version: ~hosts/2 per host


async def test_disabled_after_limit_failures_and_queued_hosts_get_false() -> None:
    guard = CredentialGuard(limit=3)
    _calls, peak, results = await _through(guard, 20, outcome="auth_failed")
    assert peak == 3 and results.count(True) == 3 and guard.failures("admin") == 3
    assert not await guard.acquire("admin")


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    guard = CredentialGuard(limit=1)
    assert await guard.acquire("c")
    waiter = asyncio.ensure_future(guard.acquire("c"))
    await asyncio.sleep(0)
    guard.release("c", "ok")  # the slot is handed to the waiter ...
    waiter.cancel()  # ... which is cancelled before it runs: the slot must come back
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await asyncio.wait_for(guard.acquire("c"), 1)
