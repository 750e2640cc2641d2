"""Connect to one host: a TCP probe, the lockout guard, retries with backoff, and why it failed.

The lockout guard lets only a few authenticating connects per credential be in flight
(lockout.py). So that an address that swallows SYNs (a powered-off or firewalled host) does not
hold one of those slots for its whole connect timeout, each attempt first opens and closes a
plain TCP connection to the host's port, outside the guard: no credential is sent by it.
"""

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
from remediate.core.model import ConnectionSpec, wsman_port
from remediate.engine.lockout import CredentialGuard, Outcome
from remediate.transports.base import Transport

# Extra seconds the engine waits beyond a step's timeout for the transport to report it.
STEP_GRACE = 5.0


def connect_budget(spec: ConnectionSpec, retries: int, backoff: float) -> float:
    """The longest `connect` can take on an unresponsive host: every attempt's probe and connect
    timing out, plus the backoff sleeps between them (their jitter at most +25%)."""
    attempts = max(0, retries) + 1
    per_attempt = 2 * spec.connect_timeout + STEP_GRACE
    sleeps = sum(backoff * float(2**a) * 1.25 for a in range(attempts - 1))
    return attempts * per_attempt + sleeps


def _port(spec: ConnectionSpec) -> int:
    if spec.port is not None:
        return spec.port
    return 22 if spec.connection == "ssh" else wsman_port(spec.scheme)


async def probe(spec: ConnectionSpec) -> None:
    """Raise ConnectError unless a TCP connection to the host's port opens in connect_timeout."""
    port = _port(spec)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(spec.address, port), spec.connect_timeout)
    except TimeoutError:
        raise ConnectError(
            f"{spec.connection}: cannot reach {spec.address}:{port} (no answer in {spec.connect_timeout:g}s)",
            host=spec.host,
        ) from None
    except OSError as e:
        raise ConnectError(
            f"{spec.connection}: cannot reach {spec.address}:{port} ({type(e).__name__})", host=spec.host
        ) from None
    writer.close()


async def connect(
    spec: ConnectionSpec,
    factory: Callable[[ConnectionSpec], Transport],
    guard: CredentialGuard,
    *,
    retries: int,
    backoff: float,
    stop: asyncio.Event,
    tcp_probe: bool = True,
) -> Transport | str:
    """The connected transport, or the reason the host is unreachable."""
    cred = spec.credential_id
    attempts = max(0, retries) + 1
    for attempt in range(attempts):
        try:
            if tcp_probe and cred is not None and spec.connection != "fake":
                await probe(spec)
            connected = await _attempt(spec, factory, guard)
        except ConnectError as e:
            if attempt + 1 >= attempts or stop.is_set():
                n = f" after {attempts} attempts" if attempts > 1 else ""
                return f"connection failed{n}: {error_text(e)}"
            delay = backoff * (2**attempt) * (1 + random.random() / 4)  # noqa: S311
            await asyncio.sleep(delay)
            continue
        return connected
    return "connection failed"


async def _attempt(
    spec: ConnectionSpec, factory: Callable[[ConnectionSpec], Transport], guard: CredentialGuard
) -> Transport | str:
    """One guarded connect: the transport, a final reason (str), or ConnectError to retry."""
    cred = spec.credential_id
    if not await guard.acquire(cred):
        return guard.disabled_reason(cred or "?")
    outcome: Outcome = "other"
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
    except TimeoutError:
        await safe_close(transport)
        raise ConnectError(f"connect timed out after {spec.connect_timeout:g}s", host=spec.host) from None
    except ConnectError:
        await safe_close(transport)
        raise
    except TransportError as e:
        await safe_close(transport)
        return f"connection failed: {error_text(e)}"
    except BaseException:
        await safe_close(transport)
        raise
    finally:
        guard.release(cred, outcome)
    return transport


async def safe_close(transport: Transport) -> None:
    try:
        await asyncio.wait_for(transport.close(), 10)
    except Exception:  # noqa: S110 - closing a broken connection may fail; nothing to do
        pass
