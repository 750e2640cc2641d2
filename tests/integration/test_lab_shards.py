"""`remediate lab up --procs N`: the hosts' listeners in N processes, DNS and KMS in the first.

Real peers only: pywinrm logs in to hosts served by the shard processes, and their `slmgr /ato`
really queries the first process's DNS server and connects to its KMS listener, so each fault
profile fails exactly as it does in a one-process lab. The inventory is the one-process one.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import winrm
import yaml

from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.runtime import LabThread

pytestmark = pytest.mark.timeout(180)

PW = "Lab-Passw0rd!"
SPEC = {
    "hosts": 9,
    "seed": 5,
    "password": PW,
    "office": 0,
    "profiles": {"healthy": 34, "no_srv": 33, "kms_unreachable": 33},
}
ATO = {"healthy": "successfully", "no_srv": "0x8007232B", "kms_unreachable": "0xC004F074"}
SLMGR = r"cscript //nologo C:\Windows\System32\slmgr.vbs"


def _hosts(inv: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every group's hosts with the random 127.A.B block written as an offset (comparable)."""
    out: dict[str, dict[str, Any]] = {}
    for group, body in inv["all"]["children"].items():
        for name, hv in (body.get("hosts") or {}).items():
            hv = dict(hv)
            if "ansible_host" in hv:
                hv["ansible_host"] = re.sub(r"^127\.\d+\.\d+\.", "block.", hv["ansible_host"])
            out[f"{group}/{name}"] = hv
    return out


def test_lab_up_procs_3_serves_every_host_with_real_faults(tmp_path: Path) -> None:
    spec_file = tmp_path / "fleet.yml"
    spec_file.write_text(yaml.safe_dump(SPEC, sort_keys=False))  # order picks profiles
    inv_file = tmp_path / "inv.yml"
    cmd = [sys.executable, "-c", "from remediate.cli import main; main()", "lab", "up", "--procs", "3"]
    proc = subprocess.Popen(
        [*cmd, "--spec", str(spec_file), "--inventory-out", str(inv_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().strip() == "ready"
        assert "3 process(es)" in proc.stderr.readline()
        inv = yaml.safe_load(inv_file.read_text())
        windows = inv["all"]["children"]["windows"]["hosts"]
        assert len(windows) == 9
        for name, hv in windows.items():  # hosts 0-2 here, 3-5 and 6-8 in the two shards
            s = winrm.Session(f"http://{hv['ansible_host']}:5985/wsman", auth=("admin", PW), transport="ntlm")
            r = s.run_cmd(f"{SLMGR} /ato")
            assert ATO[hv["lab_profile"]] in r.std_out.decode("utf-8", "replace"), (name, r.std_out)
        with LabThread(FleetSpec.from_dict(SPEC), tmp_path / "one") as one:
            assert _hosts(one.inventory()) == _hosts(inv)
        proc.terminate()
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stderr.read() == ""  # shards exited quietly with the main process
