"""Each TLS failure gets its own message (the native client said "not trusted" / "handshake
failed" for all of them). Real handshakes over loopback against a lab-CA certificate."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from remediate.core.errors import CertificateError, ConnectError
from remediate.core.model import ConnectionSpec
from remediate.lab.wire.tls import LabCA
from remediate.transports.wsman_client import WSManClient
from remediate.transports.wsman_common import tls_error


def _handshake(ctx: ssl.SSLContext, address: str, ca_path: str | None) -> ConnectError:
    async def main() -> ConnectError:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
        port = server.sockets[0].getsockname()[1]
        spec = ConnectionSpec(
            host="h",
            address=address,
            port=port,
            scheme="https",
            auth="basic",
            ca_path=ca_path,
            user="u",
            password="p",
            connect_timeout=5,
        )
        client = WSManClient(spec)
        try:
            await client.post(b"<x/>", timeout=5)
        except ConnectError as exc:
            return exc
        finally:
            client.close()
            server.close()
        raise AssertionError("handshake succeeded")

    return asyncio.run(main())


def test_untrusted_ca(tmp_path: Path) -> None:
    ca = LabCA.create(tmp_path)
    err = _handshake(ca.server_context(["localhost"], ["127.0.0.1"]), "127.0.0.1", None)
    assert isinstance(err, CertificateError) and "untrusted CA" in str(err)


def test_hostname_mismatch(tmp_path: Path) -> None:
    ca = LabCA.create(tmp_path)
    err = _handshake(ca.server_context(["kms.example"], []), "127.0.0.1", str(ca.ca_path))
    assert isinstance(err, CertificateError) and "hostname mismatch" in str(err)


SPEC = ConnectionSpec(host="h", address="10.0.0.5", scheme="https")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
            "certificate has expired (_ssl.c:1006)",
            "has expired",
        ),
        (
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
            "Hostname mismatch, certificate is not valid for '10.0.0.5'. (_ssl.c:1006)",
            "hostname mismatch",
        ),
        (
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
            "unable to get local issuer certificate",
            "untrusted CA",
        ),
        ("[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)", "TLS version"),
        ("[SSL: UNSUPPORTED_PROTOCOL] unsupported protocol (_ssl.c:1006)", "TLS version"),
        ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", "did not answer TLS"),
    ],
)
def test_openssl_texts_map_to_distinct_messages(text: str, expected: str) -> None:
    assert expected in str(tls_error(text, SPEC))
    # the same text wrapped by requests (pywinrm / pypsrp path) reads the same
    wrapped = f"HTTPSConnectionPool(host='10.0.0.5', port=5986): Max retries (Caused by SSLError({text!r}))"
    assert expected in str(tls_error(wrapped, SPEC))
