"""The lab's stand-in for Microsoft's online activation service: names and a TCP/443 listener.

The endpoints an online (RETAIL/OEM/MAK) activation needs, from Microsoft's "Windows activation or
validation fails with error code 0x8004FE33" (the URLs a proxy must let through):
https://learn.microsoft.com/troubleshoot/windows-server/licensing-and-activation/windows-activation-or-validation-fails-0x8004fe33
The listener accepts and closes connections: enough for Test-NetConnection -Port 443; no TLS.
"""

from __future__ import annotations

import asyncio
import contextlib

ACTIVATION_ENDPOINTS: tuple[str, ...] = (
    "activation.sls.microsoft.com",
    "validation.sls.microsoft.com",
    "activation-v2.sls.microsoft.com",
    "validation-v2.sls.microsoft.com",
    "login.live.com",
    "licensing.mp.microsoft.com",
)
HTTPS = 443


async def _close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def serve_internet(ip: str) -> tuple[asyncio.Server, int]:
    """Listen on ip:443, or on a free port when 443 cannot be bound (the hosts' port_map says so)."""
    try:
        server = await asyncio.start_server(_close, ip, HTTPS, reuse_address=True)
    except OSError:
        server = await asyncio.start_server(_close, ip, 0, reuse_address=True)
    return server, int(server.sockets[0].getsockname()[1])
