"""pypsrp's PSRP layer (RunspacePool, PowerShell, Client.execute_ps) against the lab server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pypsrp.client import Client
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from remediate.lab.wire.wsman_server import serve_wsman
from tests.integration.lab_helpers import EchoHost, LoopThread


@pytest.fixture(scope="module")
def endpoint() -> Iterator[tuple[EchoHost, int]]:
    host = EchoHost()
    runner = LoopThread()
    server = runner.run(serve_wsman(host, bind="127.0.0.1", port=0))
    yield host, server.sockets[0].getsockname()[1]

    async def shutdown() -> None:
        server.close()

    runner.run(shutdown())
    runner.stop()


def _client(endpoint: tuple[EchoHost, int]) -> Client:
    host, port = endpoint
    return Client(
        "127.0.0.1", port=port, username="admin", password=host.password, ssl=False, auth="negotiate"
    )


def test_execute_ps_output(endpoint: tuple[EchoHost, int]) -> None:
    out, streams, had_errors = _client(endpoint).execute_ps("Get-Date")
    # Invoke-Expression unwrapped, Out-String -Stream ignored; each item arrives as one string.
    assert out == "ps:Get-Date\nline2"
    assert not had_errors and streams.error == []


def test_execute_ps_errors(endpoint: tuple[EchoHost, int]) -> None:
    out, streams, had_errors = _client(endpoint).execute_ps("Write-Error x")
    assert had_errors
    assert out == "partial"
    assert [str(e) for e in streams.error] == ["boom one", "boom two"]


def test_runspace_pool_add_script(endpoint: tuple[EchoHost, int]) -> None:
    host, port = endpoint
    wsman = WSMan(
        "127.0.0.1", port=port, username="admin", password=host.password, ssl=False, auth="negotiate"
    )
    with RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_script("Resolve-DnsName -Type SRV _vlmcs._tcp.lab.test")
        output = ps.invoke()
        assert output == ["ps:Resolve-DnsName -Type SRV _vlmcs._tcp.lab.test", "line2"]
        assert not ps.had_errors
        # A second pipeline on the same pool works too.
        ps2 = PowerShell(pool)
        ps2.add_cmdlet("Get-Date")
        assert ps2.invoke() == ["ps:Get-Date", "line2"]


def test_execute_cmd_and_ps_same_client(endpoint: tuple[EchoHost, int]) -> None:
    c = _client(endpoint)
    assert c.execute_cmd("ver")[2] == 0
    assert c.execute_ps("Get-Date")[0].startswith("ps:Get-Date")
