"""cmd.exe /c semantics for one command line: %VAR% expansion, `&` `&&` `||` `|`, `^` escapes, double quotes,
`>nul` / `2>&1` / `2>nul` redirections, and the builtins the playbooks use (echo, chcp, exit /b, ver, cd).

Programs (cscript, nslookup, powershell ...) are delegated to a runner; anything the runner does not know
gets cmd's real message (rc 9009, `%ERRORLEVEL%` after an unknown command) plus one lab note line.
Each chunk of output is encoded with the code page active when it was written, so `chcp 65001 >nul & X`
writes X's output as UTF-8 exactly as a real console would.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from remediate.lab.windows.messages import LAB_NOTE, msg
from remediate.lab.windows.state import HostState

# argv (quotes removed), raw argument text after the program name, active code page
# -> (rc, stdout text or already-encoded bytes, stderr text), or None when the program is not emulated.
Runner = Callable[[list[str], str, int], Awaitable[tuple[int, str | bytes, str] | None]]

CODECS = {437: "cp437", 850: "cp850", 932: "cp932", 936: "gbk", 1252: "cp1252", 65001: "utf-8"}
NOT_FOUND = 9009


def codec(codepage: int) -> str:
    return CODECS.get(codepage, "cp437")


def environment(state: HostState) -> dict[str, str]:
    """The variables a WinRS cmd.exe sees for the lab's local admin (keys compared case-insensitively)."""
    return {
        "ALLUSERSPROFILE": "C:\\ProgramData",
        "COMPUTERNAME": state.name.upper(),
        "ComSpec": "C:\\Windows\\system32\\cmd.exe",
        "CommonProgramFiles": "C:\\Program Files\\Common Files",
        "NUMBER_OF_PROCESSORS": "2",
        "OS": "Windows_NT",
        "PATHEXT": ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC",
        "PROCESSOR_ARCHITECTURE": "AMD64",
        "ProgramData": "C:\\ProgramData",
        "ProgramFiles": "C:\\Program Files",
        "ProgramFiles(x86)": "C:\\Program Files (x86)",
        "ProgramW6432": "C:\\Program Files",
        "PUBLIC": "C:\\Users\\Public",
        "SystemDrive": "C:",
        "SystemRoot": "C:\\Windows",
        "TEMP": f"C:\\Users\\{state.username}\\AppData\\Local\\Temp",
        "TMP": f"C:\\Users\\{state.username}\\AppData\\Local\\Temp",
        "USERDNSDOMAIN": state.domain.upper(),
        "USERDOMAIN": state.name.upper(),
        "USERNAME": state.username,
        "USERPROFILE": f"C:\\Users\\{state.username}",
        "windir": "C:\\Windows",
    }


def expand(line: str, env: dict[str, str]) -> str:
    """cmd's %VAR% expansion: case-insensitive; undefined variables are left as typed."""
    lower = {k.lower(): v for k, v in env.items()}
    return re.sub(r"%([^%\r\n]+)%", lambda m: lower.get(m.group(1).lower(), m.group(0)), line)


def split_ops(line: str) -> list[tuple[str, str]]:
    """[(operator_before, command_text)], honouring quotes and ^ escapes. Operators: & && || |."""
    parts: list[tuple[str, str]] = []
    buf: list[str] = []
    op, i, quoted = "", 0, False
    while i < len(line):
        c = line[i]
        if c == '"':
            quoted = not quoted
            buf.append(c)
        elif c == "^" and not quoted and i + 1 < len(line):
            buf.append("\x00" + line[i + 1])  # escaped: literal, never an operator
            i += 1
        elif c in "&|" and not quoted and not (c == "&" and buf and buf[-1] in (">", "<")):
            two = line[i : i + 2]
            parts.append((op, "".join(buf)))
            buf, op = [], two if two in ("&&", "||") else c
            i += len(op) - 1
        else:
            buf.append(c)
        i += 1
    parts.append((op, "".join(buf)))
    return parts


REDIR = re.compile(r'(?<![\x00\w])([12]?)(>>?)(&[12]|\s*(?:"[^"]*"|[^\s&|<>]+))')


@dataclass
class Redirects:
    stdout_to: str | None = None  # None = console, "nul", "&2" or a file name
    stderr_to: str | None = None


def strip_redirects(cmd: str) -> tuple[str, Redirects]:
    """Remove `>nul`, `1>nul`, `2>&1`, `>>file` ... (outside quotes) and report where streams go."""
    red = Redirects()
    out: list[str] = []
    pos = 0
    for m in REDIR.finditer(cmd):
        if cmd[: m.start()].count('"') % 2:  # inside quotes: literal text
            continue
        out.append(cmd[pos : m.start()])
        pos = m.end()
        target = m.group(3).strip().strip('"').lower()
        if m.group(1) == "2":
            red.stderr_to = target
        else:
            red.stdout_to = target
    out.append(cmd[pos:])
    return "".join(out), red


def tokenize(cmd: str) -> list[str]:
    """Raw tokens split on unquoted whitespace (quotes kept)."""
    tokens: list[str] = []
    buf: list[str] = []
    quoted = False
    for c in cmd:
        if c == '"':
            quoted = not quoted
        if c in " \t" and not quoted:
            if buf:
                tokens.append("".join(buf))
                buf = []
            continue
        buf.append(c)
    if buf:
        tokens.append("".join(buf))
    return tokens


def unescape(text: str) -> str:
    return text.replace("\x00", "")


def unquote(token: str) -> str:
    return unescape(token).replace('"', "")


@dataclass
class CmdShell:
    state: HostState
    codepage: int
    runner: Runner
    env: dict[str, str] = field(default_factory=dict)
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        if not self.env:
            self.env = environment(self.state)

    def write(self, text: str | bytes, err: bool, red: Redirects) -> None:
        target = red.stderr_to if err else red.stdout_to
        if target == "&1" and err:
            err, target = False, red.stdout_to
        elif target == "&2" and not err:
            err, target = True, red.stderr_to
        if target is not None and target not in ("&1", "&2"):
            return  # nul, or a file: the lab does not keep files
        data = text if isinstance(text, bytes) else text.encode(codec(self.codepage), errors="replace")
        (self.stderr if err else self.stdout).extend(data)

    async def run(self, line: str) -> int:
        """Run `cmd.exe /c <line>`; returns the exit code (output collects in stdout/stderr)."""
        rc = 0
        for op, text in split_ops(expand(line, self.env)):
            if (op == "&&" and rc != 0) or (op == "||" and rc == 0):
                continue
            result = await self.run_one(text)
            if result is None:
                continue
            rc, stop = result
            if stop:
                break
        return rc

    async def run_one(self, text: str) -> tuple[int, bool] | None:
        body, red = strip_redirects(text)
        tokens = tokenize(body.strip().lstrip("@"))
        if not tokens:
            return None
        prog = unquote(tokens[0])
        name = prog.rsplit("\\", 1)[-1].lower()
        base = name[:-4] if name.endswith((".exe", ".com")) else name
        rest = body.strip().lstrip("@")[len(tokens[0]) :].lstrip(" \t")
        if base == "echo" or name.startswith("echo."):
            self.write((unescape(rest) if base == "echo" else name[5:]) + "\r\n", False, red)
            return 0, False
        if base == "rem":
            return 0, False
        if base == "exit":
            args = [unquote(t) for t in tokens[1:]]
            args = [a for a in args if a.lower() != "/b"]
            code = int(args[0]) if args and args[0].lstrip("-").isdigit() else 0
            return code, True
        if base == "chcp":
            return self.chcp([unquote(t) for t in tokens[1:]], red), False
        if base == "ver":
            build = self.state.os_version
            self.write(f"\r\nMicrosoft Windows [Version {build}.3803]\r\n", False, red)
            return 0, False
        if base == "cd" and len(tokens) == 1:
            self.write(f"C:\\Users\\{self.state.username}\r\n", False, red)
            return 0, False
        if base == "cmd":
            sub = [unquote(t).lower() for t in tokens[1:]]
            idx = next((i for i, t in enumerate(sub) if t in ("/c", "/k")), None)
            if idx is None:
                return 0, False  # interactive cmd without a console: WinRS returns at once
            inner = tokenize(rest)
            inner_text = rest.split(inner[idx], 1)[1].strip() if idx < len(inner) else ""
            if inner_text.startswith('"') and inner_text.endswith('"') and inner_text.count('"') == 2:
                inner_text = inner_text[1:-1]
            shell = CmdShell(self.state, self.codepage, self.runner, dict(self.env))
            code = await shell.run(inner_text)
            self.stdout += shell.stdout
            self.stderr += shell.stderr
            return code, False
        argv = [unquote(t) for t in tokens]
        result = await self.runner(argv, unescape(rest), self.codepage)
        if result is None:
            self.write(msg(self.state.locale, "not_recognized", name=prog) + "\r\n", True, red)
            self.write(LAB_NOTE.replace("%NAME%", prog) + "\r\n", True, red)
            return NOT_FOUND, False
        code, out, err = result
        if out:
            self.write(out, False, red)
        if err:
            self.write(err, True, red)
        return code, False

    def chcp(self, args: list[str], red: Redirects) -> int:
        if args:
            if not args[0].isdigit() or int(args[0]) not in CODECS:
                self.write(msg(self.state.locale, "chcp_invalid") + "\r\n", True, red)
                return 1
            self.codepage = int(args[0])
        self.write(msg(self.state.locale, "chcp", cp=self.codepage) + "\r\n", False, red)
        return 0
