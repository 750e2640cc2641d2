"""WindowsHost: one emulated Windows machine behind the lab's WS-Man / PSRP / SSH servers.

Implements remediate.lab.api.EmulatedHost over a HostState: cmd.exe semantics (cmdshell), the programs
the playbooks run (cscript + slmgr.vbs / ospp.vbs, nslookup, w32tm / net / sc, powershell.exe) and
PowerShell (pwsh).
Latency per command kind comes from state.latency ("slmgr", "ospp", "nslookup", "ps", "cmd");
state.hang makes every command block until the caller cancels it (WinRS Signal terminate / timeout).
"""

from __future__ import annotations

import asyncio
import base64

from remediate.lab.api import ExecResult, PSResult, Stdin
from remediate.lab.windows.cmdshell import CmdShell, codec
from remediate.lab.windows.flood import FLOOD_PATH, NOT_FOUND, flood_content, is_flood_command
from remediate.lab.windows.messages import msg
from remediate.lab.windows.netsh import run_netsh
from remediate.lab.windows.nslookup import run_nslookup
from remediate.lab.windows.officestore import run_icacls, run_net_osppsvc, run_sc_osppsvc
from remediate.lab.windows.ospp import find_install, run_ospp
from remediate.lab.windows.pwsh import PowerShell, format_cli_error
from remediate.lab.windows.reg import run_reg
from remediate.lab.windows.slmgr import run_slmgr
from remediate.lab.windows.state import HostState
from remediate.lab.windows.w32tm import run_net, run_sc, run_w32tm

SYSTEM32 = "c:\\windows\\system32"


class WindowsHost:
    def __init__(self, state: HostState) -> None:
        self.state = state
        self.name = state.name
        self.fqdn = state.fqdn
        self.username = state.username
        self.password = state.password
        # argv of every program this host started (cmd builtins and cmdlets are not programs):
        # what tests and bench/reliability_security.py check for injected commands.
        self.executed: list[list[str]] = []

    def __repr__(self) -> str:  # never show the password
        return f"WindowsHost({self.state.name!r}, locale={self.state.locale!r})"

    @property
    def oem_codepage(self) -> int:
        return self.state.oem_codepage

    async def _delay(self, kind: str) -> None:
        if self.state.hang:
            await asyncio.Event().wait()  # until cancelled
        seconds = self.state.latency.get(kind, 0.0)
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def run_command(
        self, command_line: str, *, codepage: int, stdin: Stdin | None = None, skip_cmd_shell: bool = False
    ) -> ExecResult:
        await self._delay("cmd")
        if self.state.flood_bytes > 0 and is_flood_command(command_line):
            # the shared content itself: no per-host copy of hundreds of MB (lab/windows/flood.py)
            return ExecResult(0, flood_content(self.state.flood_bytes), b"")
        shell = CmdShell(self.state, codepage, self._program)
        if skip_cmd_shell:
            # CreateProcess without cmd.exe: no %VAR% expansion, no operators; run the program directly.
            result = await shell.run_one(command_line.replace("&", "^&").replace("|", "^|"))
            rc = result[0] if result else 0
        else:
            rc = await shell.run(command_line)
        return ExecResult(rc, bytes(shell.stdout), bytes(shell.stderr))

    async def run_powershell(self, script: str) -> PSResult:
        await self._delay("ps")
        ps = PowerShell(self.state, self._program)
        return await ps.run_psrp(script)

    # ---- programs ---------------------------------------------------------------------------
    async def _program(self, argv: list[str], raw: str, codepage: int) -> tuple[int, str | bytes, str] | None:
        self.executed.append(list(argv))
        prog = argv[0].rsplit("\\", 1)[-1].lower()
        base = prog[:-4] if prog.endswith((".exe", ".com")) else prog
        if base == "cscript":
            return await self._cscript(argv[1:])
        if base in ("slmgr", "slmgr.vbs"):
            # Default script host is WScript: output goes to message boxes nobody sees over WinRS.
            return 0, "", ""
        if base == "nslookup":
            await self._delay("nslookup")
            return await run_nslookup(self.state, argv[1:])
        if base == "powershell":
            await self._delay("ps")
            return await self._powershell_exe(argv[1:], codepage)
        if base == "cmd":  # cmd.exe started from PowerShell
            shell = CmdShell(self.state, codepage, self._program)
            low = [a.lower() for a in argv[1:]]
            if "/c" in low:
                code = await shell.run(" ".join(argv[1 + low.index("/c") + 1 :]))
                return code, bytes(shell.stdout), shell.stderr.decode(codec(codepage), "replace")
            return 0, "", ""
        if base == "netsh":
            return run_netsh(self.state, argv[1:])
        if base == "reg":
            return run_reg(self.state, argv[1:])
        if base == "w32tm":
            return run_w32tm(self.state, argv[1:])
        if base == "net":
            return run_net(self.state, argv[1:]) or run_net_osppsvc(self.state, argv[1:])
        if base == "sc":
            return run_sc(self.state, argv[1:]) or run_sc_osppsvc(self.state, argv[1:])
        if base == "icacls":
            return run_icacls(self.state, argv[1:])
        if base == "type" and len(argv) == 2 and argv[1].lower() == FLOOD_PATH:
            if self.state.flood_bytes <= 0:
                return 1, "", NOT_FOUND
            return 0, flood_content(self.state.flood_bytes), ""
        if base == "hostname":
            return 0, self.state.name.upper() + "\r\n", ""
        if base == "whoami":
            return 0, f"{self.state.name.lower()}\\{self.state.username.lower()}\r\n", ""
        return None

    async def _cscript(self, args: list[str]) -> tuple[int, str, str]:
        """cscript [//nologo] [//B] script.vbs args...: banner unless //nologo, then the script."""
        host_opts = [a.lower() for a in args if a.startswith("//")]
        rest = [a for a in args if not a.startswith("//")]
        banner = (
            "" if ("//nologo" in host_opts or "//b" in host_opts) else msg(self.state.locale, "wsh_banner")
        )
        if not rest:
            return 0, banner + "Usage: CScript scriptname.extension [option...] [arguments...]\r\n", ""
        script, script_args = rest[0], rest[1:]
        full = script if "\\" in script else f"C:\\Users\\{self.state.username}\\{script}"
        leaf = full.rsplit("\\", 1)[-1].lower()
        folder = full.rsplit("\\", 1)[0].lower()
        if leaf == "slmgr.vbs" and folder == SYSTEM32:
            await self._delay("slmgr")
            rc, out = await run_slmgr(self.state, script_args)
            return rc, banner + out, ""
        if leaf == "ospp.vbs":
            inst = find_install(self.state, full)
            if inst is not None:
                await self._delay("ospp")
                rc, out = await run_ospp(self.state, inst, script_args)
                return rc, banner + out, ""
        # cscript reports a missing script on stdout and exits 1
        return 1, banner + msg(self.state.locale, "script_not_found", path=full) + "\r\n", ""

    async def _powershell_exe(self, args: list[str], codepage: int) -> tuple[int, str | bytes, str]:
        """powershell.exe [-NoProfile] [-NonInteractive] [-ExecutionPolicy X] -EncodedCommand B64|-Command"""
        script: str | None = None
        i = 0
        while i < len(args):
            a = args[i].lower()
            if a in ("-encodedcommand", "-enc", "-e", "-ec") and i + 1 < len(args):
                try:
                    script = base64.b64decode(args[i + 1]).decode("utf-16-le")
                except (ValueError, UnicodeDecodeError):
                    err = (
                        "Cannot process the command because the value specified with -EncodedCommand is not "
                    )
                    return 1, "", err + "properly encoded. The value must be Base64 encoded.\r\n"
                break
            if a in ("-command", "-c"):
                script = " ".join(args[i + 1 :])
                break
            if a in ("-executionpolicy", "-ep", "-inputformat", "-outputformat", "-windowstyle", "-file"):
                i += 1
            i += 1
        if script is None:
            return 0, "", ""  # interactive PowerShell without a console exits at once over WinRS
        ps = PowerShell(self.state, self._program)
        result = await ps.run_cli(script)
        out = "".join(line + "\r\n" for line in result.output)
        err = "".join(format_cli_error(e) for e in ps.errors)
        if ps.utf8_output and codepage != 65001:
            # [Console]::OutputEncoding = UTF8: the bytes are UTF-8 whatever the console code page.
            return ps.exit_code, out.encode("utf-8"), err
        return ps.exit_code, out, err
