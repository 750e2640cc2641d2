"""Hostile output and result files: a host printing 20 MB over each transport gives a bounded
step (head + tail + `truncated`), and the result files survive concurrent runs and a failing writer.

The lab host prints HostState.flood_bytes with `type C:\\flood.txt` (lab/windows/flood.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remediate import app
from remediate.core.errors import ConfigError
from remediate.core.results import EXIT_OUTPUT, RunResult
from remediate.engine import RunOptions
from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.runtime import LabHost, LabThread
from remediate.lab.windows.flood import HEAD, TAIL
from remediate.output.writers import read_jsonl

PW = "Lab-Passw0rd!"
FLOOD = Path(__file__).parent / "playbooks" / "flood.yml"
FLOOD_BYTES = 20 * 2**20
CAP = 2**20  # remediate_max_output for these runs
TRANSPORTS: dict[str, list[str]] = {
    "winrm": ["ansible_connection=winrm"],
    "winrm-chunked": ["ansible_connection=winrm"],
    "winrm-pywinrm": ["ansible_connection=winrm", "remediate_winrm_client=pywinrm"],
    "psrp": ["ansible_connection=psrp"],
    "ssh": ["ansible_connection=ssh"],
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LabThread, Path]]:
    workdir = tmp_path_factory.mktemp("flood_lab")
    spec = FleetSpec.from_dict({"hosts": 3, "seed": 5, "password": PW, "profiles": {"healthy": 100}})
    with LabThread(spec, workdir) as lab:
        yield lab, lab.write_inventory(workdir / "inventory.yml")


def set_state(lab: LabThread, host: LabHost, **fields: Any) -> None:
    async def apply() -> None:
        for k, v in fields.items():
            setattr(host.state, k, v)

    lab.call(apply)


async def flood_run(inventory: Path, host: str, extra: list[str], outputs: app.Outputs) -> RunResult:
    targets = app.load(FLOOD, inventory, limit=host, extra_vars=[*extra, f"remediate_max_output={CAP}"])
    return await app.run(targets, RunOptions(retry_backoff=0.05), outputs)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("connection", list(TRANSPORTS))
async def test_flooding_host_gives_a_bounded_step(
    fleet: tuple[LabThread, Path], tmp_path: Path, connection: str
) -> None:
    lab, inventory = fleet
    host = lab.hosts_with("healthy")[0]
    set_state(lab, host, flood_bytes=FLOOD_BYTES, http_chunked=connection == "winrm-chunked")
    try:
        jsonl = tmp_path / "out.jsonl"
        result = await flood_run(inventory, host.name, TRANSPORTS[connection], app.Outputs(jsonl=jsonl))
    finally:
        set_state(lab, host, flood_bytes=0, http_chunked=False)
    step = result.hosts[0].steps[0]
    assert step.error is None and step.rc == 0, step.error
    assert step.stdout.startswith(HEAD.decode()) and step.stdout.endswith(TAIL.decode())
    dropped = step.truncated["stdout"]
    assert FLOOD_BYTES - CAP - 64 <= dropped <= FLOOD_BYTES - CAP + 64  # psrp: lines re-joined
    assert f"[... remediate: {dropped} bytes of output truncated ...]" in step.stdout
    assert len(step.stdout) < CAP + 200
    line = jsonl.read_text(encoding="utf-8")
    assert len(line) < 2 * CAP  # the JSONL line stays small
    assert json.loads(line)["steps"][0]["truncated"] == {"stdout": dropped}


@pytest.mark.timeout(120)
async def test_one_huge_reply_is_refused_not_held(fleet: tuple[LabThread, Path], tmp_path: Path) -> None:
    """A host ignoring MaxEnvelopeSize (the whole 20 MB in one chunked reply) is cut off."""
    lab, inventory = fleet
    host = lab.hosts_with("healthy")[1]
    set_state(lab, host, flood_bytes=FLOOD_BYTES, http_chunked=True, ignore_max_envelope=True)
    try:
        result = await flood_run(inventory, host.name, TRANSPORTS["winrm"], app.Outputs())
    finally:
        set_state(lab, host, flood_bytes=0, http_chunked=False, ignore_max_envelope=False)
    step = result.hosts[0].steps[0]
    assert step.rc is None and step.error is not None and "reply larger than" in step.error


@pytest.mark.timeout(120)
async def test_two_runs_on_one_jsonl_second_is_refused(fleet: tuple[LabThread, Path], tmp_path: Path) -> None:
    lab, inventory = fleet
    host = lab.hosts_with("healthy")[2]
    jsonl = tmp_path / "shared.jsonl"
    set_state(lab, host, latency={"cmd": 1.0})
    try:
        first = asyncio.create_task(flood_run(inventory, host.name, [], app.Outputs(jsonl=jsonl, force=True)))
        await asyncio.sleep(0.3)  # the first run holds the file now
        with pytest.raises(ConfigError, match="another remediate run"):
            await flood_run(inventory, host.name, [], app.Outputs(jsonl=jsonl, force=True))
        done = await first
    finally:
        set_state(lab, host, latency={})
    assert [h.host for h in read_jsonl(jsonl)] == [done.hosts[0].host]  # one whole, parseable line
    # the file now exists: a new run without --force is refused and leaves it as it was
    before = jsonl.read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        await flood_run(inventory, host.name, [], app.Outputs(jsonl=jsonl))
    assert jsonl.read_bytes() == before
    assert not (tmp_path / "shared.jsonl.lock").exists()


@pytest.mark.timeout(120)
async def test_failing_junit_writer_leaves_the_rest(
    fleet: tuple[LabThread, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab, inventory = fleet
    host = lab.hosts_with("healthy")[2]

    def disk_full(run: RunResult, path: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(app, "write_junit", disk_full)
    warnings: list[str] = []
    out = app.Outputs(
        json=tmp_path / "r.json",
        jsonl=tmp_path / "r.jsonl",
        junit=tmp_path / "r.xml",
        hosts_file=tmp_path / "hosts.yml",
        history=True,
        db=f"sqlite:///{tmp_path / 'history.db'}",
    )
    targets = app.load(FLOOD, inventory, limit=host.name)
    result = await app.run(targets, RunOptions(), out, warn=warnings.append)
    assert json.loads((tmp_path / "r.json").read_text())["hosts"][0]["host"] == host.name
    assert read_jsonl(tmp_path / "r.jsonl")[0].host == host.name
    assert (tmp_path / "hosts.yml").exists() and (tmp_path / "history.db").exists()
    assert not (tmp_path / "r.xml").exists()
    assert any("junit" in w and "No space left" in w for w in warnings), warnings
    assert result.exit_code() & EXIT_OUTPUT


@pytest.mark.timeout(120)
async def test_a_failing_fleet_finding_still_writes_every_result_file(
    fleet: tuple[LabThread, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab, inventory = fleet
    host = lab.hosts_with("healthy")[2]

    def broken(playbook: object, result: RunResult) -> list[object]:
        raise KeyError("odd facts")

    monkeypatch.setattr(app, "fleet_findings", broken)
    warnings: list[str] = []
    out = app.Outputs(json=tmp_path / "r.json", junit=tmp_path / "r.xml")
    targets = app.load(FLOOD, inventory, limit=host.name)
    await app.run(targets, RunOptions(), out, warn=warnings.append)
    assert (tmp_path / "r.json").exists() and (tmp_path / "r.xml").exists()
    assert any("fleet findings failed" in w for w in warnings), warnings
