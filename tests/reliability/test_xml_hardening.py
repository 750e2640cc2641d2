"""Hostile XML: a DTD or entity declaration is refused wherever it sits and in any encoding.

The old controller looked for b"<!DOCTYPE" in the first 512 bytes only, and the lab's check
was a byte search that UTF-16 slips past; billion-laughs was stopped by expat's own limits.
"""

from __future__ import annotations

import asyncio

import pytest

from remediate.core import xmlsafe
from remediate.core.errors import ProtocolError
from remediate.core.model import ConnectionSpec
from remediate.lab.wire.soap import WSManFault, parse_request
from remediate.transports.wsman_client import WSManClient

ENVELOPE = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
    "<s:Header/><s:Body>&x;</s:Body></s:Envelope>"
)
LAUGHS = (
    '<!DOCTYPE s:Envelope [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + '<!ENTITY x "&i;">]>'
)


def hostile_documents() -> dict[str, bytes]:
    padded = ("<?xml version='1.0'?>" + " " * 600 + LAUGHS + ENVELOPE).encode()
    comment = ("<?xml version='1.0'?><!--" + "p" * 600 + "-->" + LAUGHS + ENVELOPE).encode()
    utf16 = ("<?xml version='1.0' encoding='UTF-16'?>" + LAUGHS + ENVELOPE).encode("utf-16")
    # Small enough that expat's amplification limit does not fire: only a DTD ban stops it.
    small = "<?xml version='1.0' encoding='UTF-16'?><!DOCTYPE s:Envelope [<!ENTITY x 'hi'>]>" + ENVELOPE
    return {
        "dtd-after-600-bytes": padded,
        "dtd-after-comment": comment,
        "utf-16": utf16,
        "utf-16-small-entity": small.encode("utf-16"),
    }


@pytest.mark.parametrize("name", sorted(hostile_documents()))
def test_xmlsafe_refuses_dtds(name: str) -> None:
    with pytest.raises(xmlsafe.XMLForbidden):
        xmlsafe.parse(hostile_documents()[name])


@pytest.mark.parametrize("name", sorted(hostile_documents()))
def test_lab_answers_schema_fault(name: str) -> None:
    with pytest.raises(WSManFault):
        parse_request(hostile_documents()[name])


async def _serve_once(body: bytes) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.parametrize("name", sorted(hostile_documents()))
def test_controller_refuses_dtd_in_reply(name: str) -> None:
    async def main() -> None:
        server, port = await _serve_once(hostile_documents()[name])
        spec = ConnectionSpec(
            host="evil",
            address="127.0.0.1",
            port=port,
            user="u",
            password="p",
            auth="basic",
            connect_timeout=5,
        )
        client = WSManClient(spec)
        try:
            with pytest.raises(ProtocolError, match="DTD"):
                await client.post(b"<s:Envelope/>", timeout=5)
        finally:
            client.close()
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_lab_refuses_utf16_entity_in_a_valid_request() -> None:
    """A request that is otherwise well-formed WS-Man: the old byte search missed UTF-16."""
    doc = (
        "<?xml version='1.0' encoding='UTF-16'?><!DOCTYPE s:Envelope [<!ENTITY x 'uuid:1'>]>"
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header>'
        "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action>"
        "<a:MessageID>&x;</a:MessageID></s:Header><s:Body/></s:Envelope>"
    )
    with pytest.raises(WSManFault):
        parse_request(doc.encode("utf-16"))
