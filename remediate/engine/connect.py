"""Connect to one host: the lockout guard, retries with backoff, and why it failed."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from remediate.core.errors import (
    AuthenticationError,
    CertificateError,
    ConnectError,
    TransportError,
    error_text,
)
from remediate.core.model import ConnectionSpec
from remediate.engine.lockout import CredentialGuard, Outcome
from remediate.transports.base import Transport

# Extra seconds the engine waits beyond a step's timeout for the transport to report it.
STEP_GRACE = 5.0


async def connect(
    spec: ConnectionSpec,
    factory: Callable[[ConnectionSpec], Transport],
    guard: CredentialGuard,
    *,
    retries: int,
    backoff: float,
    stop: asyncio.Event,
) -> Transport | str:
    """The connected transport, or the reason the host is unreachable."""
    cred = spec.credential_id
    if not await guard.acquire(cred):
        return guard.disabled_reason(cred or "?")
    outcome: Outcome = "other"
    try:
        attempts = max(0, retries) + 1
        for attempt in range(attempts):
            transport = factory(spec)
            try:
                await asyncio.wait_for(transport.connect(), spec.connect_timeout + STEP_GRACE)
            except AuthenticationError as e:
                outcome = "auth_failed"
                await safe_close(transport)
                return f"authentication failed: {error_text(e)}"
            except CertificateError as e:
                await safe_close(transport)
                return f"certificate rejected: {error_text(e)}"
            except (ConnectError, TimeoutError) as e:
                await safe_close(transport)
                if isinstance(e, TimeoutError):
                    e = ConnectError(f"connect timed out after {spec.connect_timeout:g}s")
                if attempt + 1 >= attempts or stop.is_set():
                    n = f" after {attempts} attempts" if attempts > 1 else ""
                    return f"connection failed{n}: {error_text(e)}"
                delay = backoff * (2**attempt) * (1 + random.random() / 4)  # noqa: S311
                await asyncio.sleep(delay)
                continue
            except TransportError as e:
                await safe_close(transport)
                return f"connection failed: {error_text(e)}"
            except BaseException:
                await safe_close(transport)
                raise
            outcome = "ok"
            return transport
        return "connection failed"
    finally:
        await guard.release(cred, outcome)


async def safe_close(transport: Transport) -> None:
    try:
        await asyncio.wait_for(transport.close(), 10)
    except Exception:  # noqa: S110 - closing a broken connection may fail; nothing to do
        pass
