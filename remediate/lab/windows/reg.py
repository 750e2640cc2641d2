"""`reg.exe` query / add / delete over the host's small registry (HostState.registry).

Output follows reg.exe: a query prints a blank line, the key, one indented line per value
(`    Name    REG_SZ    data`) and a blank line; errors go to stderr with exit code 1.
"""

from __future__ import annotations

from remediate.lab.windows.state import HostState

_HIVES = {
    "HKLM": "HKEY_LOCAL_MACHINE",
    "HKEY_LOCAL_MACHINE": "HKEY_LOCAL_MACHINE",
    "HKCU": "HKEY_CURRENT_USER",
    "HKEY_CURRENT_USER": "HKEY_CURRENT_USER",
}
OK = "The operation completed successfully.\r\n"
NOT_FOUND = "ERROR: The system was unable to find the specified registry key or value.\r\n"
INVALID = "ERROR: Invalid syntax.\r\nType \"REG {op} /?\" for usage.\r\n"


def _key(raw: str) -> str | None:
    hive, _, rest = raw.strip().strip("\\").partition("\\")
    full = _HIVES.get(hive.upper())
    return f"{full}\\{rest}" if full and rest else None


def _opts(args: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    i = 0
    while i < len(args):
        a = args[i].lower()
        if a in ("/v", "/t", "/d") and i + 1 < len(args):
            out[a] = args[i + 1]
            i += 2
            continue
        out[a] = None
        i += 1
    return out


def run_reg(state: HostState, args: list[str]) -> tuple[int, str, str]:
    if len(args) < 2:
        return 1, "", INVALID.format(op="")
    op, key = args[0].upper(), _key(args[1])
    opts = _opts(args[2:])
    if key is None:
        return 1, "", "ERROR: Invalid key name.\r\n" + INVALID.format(op=op)
    reg = {k.upper(): k for k in state.registry}
    stored = reg.get(key.upper())
    if op == "QUERY":
        values = state.registry.get(stored, {}) if stored else None
        name = opts.get("/v")
        if values is None or (name is not None and name.lower() not in {n.lower() for n in values}):
            return 1, "", NOT_FOUND
        shown = [(n, t, d) for n, (t, d) in values.items() if name is None or n.lower() == name.lower()]
        lines = "".join(f"    {n}    {t}    {d}\r\n" for n, t, d in shown)
        return 0, f"\r\n{stored}\r\n{lines}\r\n", ""
    if op == "ADD":
        values = state.registry.setdefault(stored or key, {})
        name = opts.get("/v")
        if "/f" not in opts and name is not None and name.lower() in {n.lower() for n in values}:
            # reg.exe asks; with no console input the answer is no
            asked = f"Value {name} exists, overwrite(Yes/No)? The operation was canceled by the user.\r\n"
            return 1, asked, ""
        if opts.get("/v") is not None:
            values[str(opts["/v"])] = (str(opts.get("/t") or "REG_SZ").upper(), str(opts.get("/d") or ""))
        return 0, OK, ""
    if op == "DELETE":
        if stored is None:
            return 1, "", NOT_FOUND
        name = opts.get("/v")
        if name is None:
            del state.registry[stored]
            return 0, OK, ""
        values = state.registry[stored]
        match = next((n for n in values if n.lower() == name.lower()), None)
        if match is None:
            return 1, "", NOT_FOUND
        del values[match]
        return 0, OK, ""
    return 1, "", INVALID.format(op=op)
