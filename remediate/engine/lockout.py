"""Lockout guard: stop using a credential after N authentication failures in one run.

Active Directory locks an account after a few bad passwords; a fleet run with a wrong password
would otherwise try it on every host at once. Until a credential has authenticated once, at most
`limit - failures` connection attempts with it are in flight, so no more than `limit` attempts
are ever made with a bad password. Once it has worked, attempts run freely; failures still
count, and at `limit` the credential is disabled for the rest of the run.
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
    proven: bool = False
    disabled: bool = False


class CredentialGuard:
    def __init__(self, limit: int = 3) -> None:
        self.limit = max(1, limit)
        self._state: dict[str, _CredState] = {}
        self._cond = asyncio.Condition()

    def disabled_reason(self, credential_id: str) -> str:
        return (
            f"credential {credential_id} disabled after {self.limit} authentication failures (lockout guard)"
        )

    async def acquire(self, credential_id: str | None) -> bool:
        """Wait for permission to try `credential_id`; False: it is disabled, do not connect."""
        if credential_id is None:
            return True
        async with self._cond:
            st = self._state.setdefault(credential_id, _CredState())
            while True:
                if st.disabled:
                    return False
                if st.proven or st.in_flight < self.limit - st.failures:
                    st.in_flight += 1
                    return True
                await self._cond.wait()

    async def release(self, credential_id: str | None, outcome: Outcome) -> None:
        if credential_id is None:
            return
        async with self._cond:
            st = self._state[credential_id]
            st.in_flight -= 1
            if outcome == "ok":
                st.proven = True
            elif outcome == "auth_failed":
                st.failures += 1
                if st.failures >= self.limit:
                    st.disabled = True
            self._cond.notify_all()

    def failures(self, credential_id: str) -> int:
        return self._state.get(credential_id, _CredState()).failures
