"""Baseline (a): a plain sequential pywinrm loop, what an admin's first script looks like.

For each host of the lab inventory, one after the other: one WinRS shell (NTLM, message
encryption as pywinrm does by default over HTTP), the benchmark's three commands, close.
Prints `ok N failed M`; exits 1 if any host failed.

    python bench/seq_pywinrm.py inventory.yml
"""

from __future__ import annotations

import sys
from typing import Any

import yaml
from winrm.protocol import Protocol

from remediate.transports import powershell_command_line

COMMANDS = [
    r"cscript //nologo %SystemRoot%\System32\slmgr.vbs /dli",
    "nslookup -type=SRV _vlmcs._tcp",
    powershell_command_line(
        "Test-NetConnection -ComputerName kms01.lab.test -Port 1688 -WarningAction SilentlyContinue",
        bypass=True,
    ),
]


def one_host(address: str, port: int, user: str, password: str) -> bool:
    proto = Protocol(f"http://{address}:{port}/wsman", transport="ntlm", username=user, password=password)
    shell = proto.open_shell(codepage=65001)
    try:
        for cmd in COMMANDS:
            cid = proto.run_command(shell, cmd)
            _out, _err, rc = proto.get_command_output(shell, cid)
            proto.cleanup_command(shell, cid)
            if rc != 0:
                return False
        return True
    finally:
        proto.close_shell(shell)


def main(path: str) -> int:
    inv: dict[str, Any] = yaml.safe_load(open(path, encoding="utf-8"))
    win = inv["all"]["children"]["windows"]
    ok = failed = 0
    for hv in win["hosts"].values():
        merged = {**win["vars"], **hv}
        try:
            good = one_host(
                merged["ansible_host"],
                merged["ansible_port"],
                merged["ansible_user"],
                merged["ansible_password"],
            )
        except Exception:
            good = False
        ok, failed = ok + good, failed + (not good)
    print(f"ok {ok} failed {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
