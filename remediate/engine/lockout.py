"""Lockout guard: never make more than N failed logons with one credential in one run.

Active Directory counts every bad password towards the account lockout threshold, whatever
succeeded before (a logon that worked on host A does not make a changed password on host B any
less of a bad attempt). So the guard counts every authentication failure of a credential for the
whole run, across transports and hosts, success or not, and:

- at most `limit - failures` connection attempts with a credential are in flight at any time, so
  even if every one of them fails the run never makes more than `limit` bad attempts;
- when `failures` reaches `limit` the credential is disabled for the rest of the run: its
  remaining hosts are not attempted (they end `unreachable`, "... disabled after N authentication
  failures (lockout guard)").

The window holds only the authenticating connect (connect.py probes TCP first, outside it), so a
black-holed host does not hold a slot for its whole connect timeout.

Waiters queue per credential (FIFO) and a release hands its slot to exactly one of them: waking
every waiter on each release (an Event) cost O(hosts) per release, O(hosts^2) per run when the
whole fleet shares one credential (440,000 wake-ups at 1,000 hosts; issue 12).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["ok", "auth_failed", "other"]


@dataclass
class _CredState:
    failures: int = 0
    in_flight: int = 0
    disabled: bool = False
    waiters: deque[asyncio.Future[bool]] = field(default_factory=deque)  # FIFO; result True: a slot


class CredentialGuard:
    def __init__(self, limit: int = 3) -> None:
        self.limit = max(1, limit)
        self._state: dict[str, _CredState] = {}

    def disabled_reason(self, credential_id: str) -> str:
        return (
            f"credential {credential_id} disabled after {self.limit} authentication failures (lockout guard)"
        )

    async def acquire(self, credential_id: str | None) -> bool:
        """Wait for permission to try `credential_id`; False: it is disabled, do not connect."""
        if credential_id is None:
            return True
        st = self._state.setdefault(credential_id, _CredState())
        if st.disabled:
            return False
        if not st.waiters and st.in_flight < self.limit - st.failures:
            st.in_flight += 1
            return True
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        st.waiters.append(fut)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled() and fut.result():
                st.in_flight -= 1  # a slot was handed to us as we were cancelled: pass it on
                self._hand_over(st)
            else:
                with contextlib.suppress(ValueError):
                    st.waiters.remove(fut)
            raise

    def release(self, credential_id: str | None, outcome: Outcome) -> None:
        """End one attempt (synchronous: safe in a `finally` of a cancelled task)."""
        if credential_id is None:
            return
        st = self._state[credential_id]
        st.in_flight -= 1
        if outcome == "auth_failed":
            st.failures += 1
            if st.failures >= self.limit:
                st.disabled = True
        self._hand_over(st)

    def _hand_over(self, st: _CredState) -> None:
        """Give free slots to the longest waiters (all of them get False once disabled)."""
        while st.waiters and (st.disabled or st.in_flight < self.limit - st.failures):
            fut = st.waiters.popleft()
            if fut.done():  # cancelled while queued
                continue
            if st.disabled:
                fut.set_result(False)
            else:
                st.in_flight += 1
                fut.set_result(True)

    def failures(self, credential_id: str) -> int:
        return self._state.get(credential_id, _CredState()).failures
