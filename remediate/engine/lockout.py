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
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["ok", "auth_failed", "other"]


@dataclass
class _CredState:
    failures: int = 0
    in_flight: int = 0
    disabled: bool = False


class CredentialGuard:
    def __init__(self, limit: int = 3) -> None:
        self.limit = max(1, limit)
        self._state: dict[str, _CredState] = {}
        self._changed = asyncio.Event()  # set (and replaced) on every release

    def disabled_reason(self, credential_id: str) -> str:
        return (
            f"credential {credential_id} disabled after {self.limit} authentication failures (lockout guard)"
        )

    async def acquire(self, credential_id: str | None) -> bool:
        """Wait for permission to try `credential_id`; False: it is disabled, do not connect."""
        if credential_id is None:
            return True
        st = self._state.setdefault(credential_id, _CredState())
        while True:
            if st.disabled:
                return False
            if st.in_flight < self.limit - st.failures:
                st.in_flight += 1
                return True
            await self._changed.wait()

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
        self._changed.set()
        self._changed = asyncio.Event()

    def failures(self, credential_id: str) -> int:
        return self._state.get(credential_id, _CredState()).failures
