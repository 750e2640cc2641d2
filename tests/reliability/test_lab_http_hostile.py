"""The lab's HTTP listener under hostile clients: bad chunk sizes get a 400 (they logged a
traceback and dropped the connection), and a per-listener connection cap holds."""

from __future__ import annotations

import asyncio
import logging

import pytest

from remediate.lab.wire import http
from remediate.lab.wire.http import HttpRequest, HttpResponse, serve_http


class _Ok:
    async def handle(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(200)

    def close(self) -> None:
        pass


HEAD = b"POST /wsman HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("size_line", [b"-5\r\n", b"+5\r\n", b"0x5\r\n", b"f" * 65536 + b"\r\n", b"zz\r\n"])
def test_bad_chunk_size_is_400(size_line: bytes, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> bytes:
        server = await serve_http(lambda info: _Ok(), bind="127.0.0.1", port=0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(HEAD + size_line + b"hello\r\n0\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        server.close()
        return answer

    with caplog.at_level(logging.ERROR):
        answer = asyncio.run(main())
    assert answer.startswith(b"HTTP/1.1 400"), answer[:80]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_connection_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "MAX_CONNECTIONS", 5)

    async def main() -> list[bytes]:
        server = await serve_http(lambda info: _Ok(), bind="127.0.0.1", port=0)
        port = server.sockets[0].getsockname()[1]
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(5)]
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        try:
            over_cap = await asyncio.wait_for(reader.read(), 5)  # closed without an answer
        except ConnectionResetError:
            over_cap = b""
        for _r, w in idle:
            w.close()
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        after = await asyncio.wait_for(reader.read(), 5)
        server.close()
        return [over_cap, after]

    over_cap, after = asyncio.run(main())
    assert over_cap == b""
    assert after.startswith(b"HTTP/1.1 200")
