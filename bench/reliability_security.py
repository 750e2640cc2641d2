"""Hostile values x quoting contexts in cmd, PowerShell and sh: count injections.

Each value is rendered into each template through the real Renderer. Templates that put the
value inside a string, comment or here-string are refused at load (scriptctx) and count as
"refused"; the others run on the lab's emulated Windows host (cmd, PowerShell) and the host's
record of started programs (WindowsHost.executed) must be empty: the templates only use builtins
(echo, Write-Output), so any started program (whoami, hostname, calc...) is an injection. sh is
not emulated by the lab: its templates run in the real /bin/sh, and the printed argument must
come back as exactly the value. Run: PYTHONPATH=. python bench/reliability_security.py
"""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter

from remediate.core.errors import RenderError
from remediate.core.render import Renderer
from remediate.lab.windows.host import WindowsHost
from remediate.lab.windows.state import HostState

HOSTILE = [
    "a & whoami",
    "#> hostname <#",
    "a && whoami",
    "a | whoami",
    "a || whoami",
    "%COMPUTERNAME%",
    "^& whoami",
    '"; calc; "',
    "';whoami;'",
    "`whoami`",
    "$(whoami)",
    "${env:USERNAME}",
    "$(hostname)",
    "a\nwhoami",
    "a\r\nhostname",
    "a\x00b",
    "\u2018; hostname; \u2019",
    "\u201c; hostname; \u201d",
    "'@\nhostname\n@'",
    '"@\nhostname\n@"',
    "--% & whoami",
    "a; whoami",
    "kms01\n",
    "!VAR!",
    "a\u2019; hostname; \u2018b",
    "$null; hostname",
    "a `; hostname",
]
CONTEXTS: dict[str, list[str]] = {
    "cmd": ["echo {{ x }}", 'echo "{{ x }}"', "rem {{ x }}", "echo a & echo {{ x }}"],
    "powershell": [
        "Write-Output {{ x }}",
        'Write-Output "text {{ x }} more"',
        "Write-Output '{{ x }}'",
        "<# {{ x }} #>",
        '$a = @"\n{{ x }}\n"@',
        "$a = @'\n{{ x }}\n'@",
        "Write-Output $( {{ x }} )",
        "& cmd.exe --% /c echo {{ x }}",
        "$v = {{ x }}; Write-Output $v",
    ],
    "sh": ["printf '%s\\n' {{ x }}", "printf '%s\\n' '{{ x }}'", 'printf "%s\\n" "{{ x }}"', "# {{ x }}"],
}


async def run(shell: str, script: str, value: str, host: WindowsHost) -> str:
    if shell == "sh":
        out = subprocess.run(["/bin/sh", "-c", script], capture_output=True, timeout=10)
        return "ok" if out.stdout == (value + "\n").encode() else "INJECTED"
    host.executed.clear()
    if shell == "cmd":
        await host.run_command(script, codepage=65001)
    else:
        await host.run_powershell(script)
    return "INJECTED" if host.executed else "ok"


async def main() -> int:
    host = WindowsHost(HostState(name="WIN-0042", domain="lab.test", locale="en-US", password="Lab!pass42"))
    renderer = Renderer()
    counts: Counter[tuple[str, str]] = Counter()
    for shell, templates in CONTEXTS.items():
        for template in templates:
            try:
                renderer.compile_script(template, shell)  # type: ignore[arg-type]
            except Exception:
                counts[shell, "refused at load"] += len(HOSTILE)
                continue
            for value in HOSTILE:
                try:
                    script = renderer.script(template, shell, {"x": value})  # type: ignore[arg-type]
                except RenderError:
                    counts[shell, "value refused"] += 1
                    continue
                outcome = await run(shell, script, value, host)
                counts[shell, outcome] += 1
                if outcome == "INJECTED":
                    print(f"INJECTION {shell}: {template!r} with {value!r} -> {host.executed}")
    cols = ["ok", "value refused", "refused at load", "INJECTED"]
    print(f"{'shell':<12}" + "".join(f"{c:>17}" for c in cols))
    for shell in CONTEXTS:
        print(f"{shell:<12}" + "".join(f"{counts[shell, c]:>17}" for c in cols))
    injected = sum(v for (_s, c), v in counts.items() if c == "INJECTED")
    print(f"injections: {injected}")
    return 1 if injected else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
