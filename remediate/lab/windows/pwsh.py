"""A small PowerShell interpreter for exactly the script forms the playbooks send (P1-P7 of the contract).

Scripts are parsed with tree-sitter-powershell; statements run in order: variable / [Console]::OutputEncoding
assignments, pipelines of the emulated cmdlets (pwsh_cmdlets), native commands (cscript, cmd.exe,
`& 'C:\\...\\ospp.vbs'`, nslookup) with $LASTEXITCODE, `[DateTime]::UtcNow.ToString('o')`, literals and
`exit N`. Any other command gets PowerShell's CommandNotFoundException text plus a lab note.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import tree_sitter_powershell as tsp
from tree_sitter import Language, Node, Parser

from remediate.lab.api import PSResult
from remediate.lab.windows import pwsh_cmdlets as cm
from remediate.lab.windows.cmdshell import codec
from remediate.lab.windows.messages import LAB_NOTE
from remediate.lab.windows.state import HostState

Program = Callable[[list[str], str, int], Awaitable[tuple[int, str | bytes, str] | None]]
_PARSER = Parser(Language(tsp.language()))
WRAPPERS = {
    "pipeline",
    "pipeline_chain",
    "logical_expression",
    "bitwise_expression",
    "comparison_expression",
    "additive_expression",
    "multiplicative_expression",
    "format_expression",
    "range_expression",
    "array_literal_expression",
    "unary_expression",
    "left_assignment_expression",
    "argument_expression",
    "logical_argument_expression",
    "bitwise_argument_expression",
    "comparison_argument_expression",
    "additive_argument_expression",
    "multiplicative_argument_expression",
    "format_argument_expression",
    "range_argument_expression",
    "parenthesized_expression",
    "sub_expression",
}
NATIVE = {"cscript", "cscript.exe", "cmd", "cmd.exe", "nslookup", "nslookup.exe", "hostname", "whoami"}


_NATIVE_PARAM = re.compile(r"(?<=\s)(-[A-Za-z]+=[^\s;'\"|]+)")


def _quote_native_params(script: str) -> str:
    """PowerShell hands `-type=SRV` to a native program verbatim, but the tree-sitter grammar
    cannot parse it: quote such tokens on lines that start with a native command."""
    lines = []
    for line in script.split("\n"):
        first = line.strip().split(" ", 1)[0].lower().lstrip("&").strip("'\"")
        if first in NATIVE or first.rsplit("\\", 1)[-1] in NATIVE:
            line = _NATIVE_PARAM.sub(lambda m: "'" + m.group(1) + "'", line)
        lines.append(line)
    return "\n".join(lines)


@dataclass
class PSError:
    message: str
    command: str  # invocation name shown before " : "
    line_text: str
    column: int
    width: int
    category: str
    fqid: str


class StopScript(Exception):
    pass


def format_cli_error(e: PSError) -> str:
    """How powershell.exe 5.1 prints an error record on stderr."""
    return (
        f"{e.command} : {e.message}\r\nAt line:1 char:{e.column}\r\n+ {e.line_text}\r\n"
        f"+ {' ' * (e.column - 1)}{'~' * max(1, e.width)}\r\n"
        f"    + CategoryInfo          : {e.category}\r\n    + FullyQualifiedErrorId : {e.fqid}\r\n \r\n"
    )


def _text(n: Node) -> str:
    return (n.text or b"").decode("utf-8", "replace")


def _unwrap(n: Node) -> Node:
    while n.type in WRAPPERS and n.named_child_count == 1:
        n = n.named_children[0]
    return n


@dataclass
class PowerShell:
    state: HostState
    program: Program
    vars: dict[str, Any] = field(default_factory=lambda: {"lastexitcode": 0})
    output: list[str] = field(default_factory=list)
    errors: list[PSError] = field(default_factory=list)
    exit_code: int = 0
    utf8_output: bool = False
    cli: bool = False
    last_failed: bool = False

    async def run_psrp(self, script: str) -> PSResult:
        await self._run(script)
        return PSResult(output=list(self.output), errors=[e.message for e in self.errors])

    async def run_cli(self, script: str) -> PSResult:
        self.cli = True
        await self._run(script)
        if self.exit_code == 0 and self.last_failed:
            self.exit_code = 1  # powershell -Command exits 1 when the last pipeline failed
        return PSResult(output=list(self.output), errors=[e.message for e in self.errors])

    async def _run(self, script: str) -> None:
        script = _quote_native_params(script)
        self._src = script
        tree = _PARSER.parse(script.encode("utf-8"))
        try:
            for stmt in self._statements(tree.root_node):
                await self._statement(stmt)
        except StopScript:
            pass

    def _statements(self, node: Node) -> list[Node]:
        out: list[Node] = []
        for c in node.named_children:
            if c.type == "statement_list":
                out += self._statements(c)
            elif c.type != "empty_statement" and c.type != "comment":
                out.append(c)
        return out

    # ---- errors ------------------------------------------------------------------------------
    def _error(self, node: Node, name: str, err: cm.CmdletError, action: str | None = None) -> None:
        action = (action or str(self.vars.get("erroractionpreference", "Continue"))).lower()
        self.last_failed = True
        if action in ("silentlycontinue", "ignore"):
            return
        line = self._src.splitlines()[node.start_point[0]] if self._src else ""
        self.errors.append(
            PSError(
                err.message,
                name,
                line,
                node.start_point[1] + 1,
                node.end_point[1] - node.start_point[1],
                err.category,
                err.fqid,
            )
        )
        if action == "stop":
            raise StopScript

    def _not_found(self, node: Node, name: str) -> None:
        msg = (
            f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or "
            "operable "
            "program. Check the spelling of the name, or if a path was included, verify that the path is "
            "correct and try again.\r\n" + LAB_NOTE.replace("%NAME%", name)
        )
        self._error(
            node,
            name,
            cm.CmdletError(
                msg,
                f"ObjectNotFound: ({name}:String) [], CommandNotFoundException",
                "CommandNotFoundException",
            ),
        )

    # ---- statements --------------------------------------------------------------------------
    async def _statement(self, node: Node) -> None:
        self.last_failed = False
        if node.type == "flow_control_statement":
            kw = _text(node.children[0]).lower()
            if kw == "exit":
                pipes = [c for c in node.named_children if c.type == "pipeline"]
                value = self._eval(pipes[0]) if pipes else 0
                self.exit_code = int(value) if str(value).lstrip("-").isdigit() else 0
                raise StopScript
            return self._not_found(node, kw)
        inner = _unwrap(node)
        if inner.type == "assignment_expression":
            return self._assign(inner)
        chain = node.named_children[0] if node.type == "pipeline" and node.named_child_count else node
        commands = [c for c in chain.named_children if c.type == "command"]
        if commands:
            items = await self._pipeline(commands)
        else:
            try:
                items = [self._eval(node)]
            except ValueError:
                return self._not_found(node, _text(node).split("(")[0])
        self._emit(items)

    def _emit(self, items: list[Any]) -> None:
        for text in cm.format_default(items):
            self.output.append(text)

    def _assign(self, node: Node) -> None:
        target = _text(node.named_children[0]).strip()
        value_node = node.named_children[-1]
        if target.lower() == "[console]::outputencoding":
            self.utf8_output = "utf8" in _text(value_node).lower().replace("-", "")
            return
        if target.startswith("$"):
            self.vars[target[1:].lower()] = self._eval(value_node)

    # ---- expressions -------------------------------------------------------------------------
    def _eval(self, node: Node) -> Any:
        n = _unwrap(node)
        t = n.type
        if t == "string_literal":
            return self._string(_text(n))
        if t in ("integer_literal", "decimal_integer_literal"):
            return int(_text(n))
        if t == "variable":
            name = _text(n)[1:].lower()
            return {"true": True, "false": False, "null": None}.get(name, self.vars.get(name))
        if t == "hash_literal_expression":
            out: dict[str, Any] = {}
            for entry in (e for b in n.named_children for e in b.named_children if e.type == "hash_entry"):
                out[_text(entry.named_children[0]).strip("'\"")] = self._eval(entry.named_children[-1])
            return out
        if t == "array_literal_expression":
            return [self._eval(c) for c in n.named_children]
        if t == "invokation_expression" and _text(n).replace(" ", "").lower() in (
            "[datetime]::utcnow.tostring('o')",
            '[datetime]::utcnow.tostring("o")',
            "(get-date).touniversaltime().tostring('o')",
        ):
            return cm.iso_o(self.state.now())
        raise ValueError(_text(n))

    def _string(self, raw: str) -> str:
        if raw.startswith("'"):
            return raw[1:-1].replace("''", "'")
        body = raw[1:-1].replace('`"', '"').replace("`n", "\n").replace("`t", "\t").replace('""', '"')
        for name, value in self.vars.items():
            body = body.replace(f"${name}", str(value)) if f"${name}" in body.lower() else body
        return body

    def _args(self, cmd: Node) -> tuple[list[Any], dict[str, Any]]:
        """Positional and named (lower-case) arguments of a command; adjacent tokens join (`a,b`)."""
        elems = next((c for c in cmd.named_children if c.type == "command_elements"), None)
        groups: list[list[Node]] = [[]]
        for c in elems.named_children if elems else []:
            if c.type == "command_argument_sep":
                if _text(c).strip() == "" and _text(c) != "":
                    groups.append([])
            else:
                groups[-1].append(c)
        pos: list[Any] = []
        named: dict[str, Any] = {}
        pending: str | None = None
        for g in (g for g in groups if g):
            if len(g) == 1 and g[0].type == "command_parameter":
                if pending:
                    named[pending] = True
                name, _, inline = _text(g[0])[1:].partition(":")
                pending = name.lower()
                if inline:
                    named[pending], pending = inline, None
                continue
            value = self._value(g)
            if pending:
                named[pending], pending = value, None
            else:
                pos.append(value)
        if pending:
            named[pending] = True
        return pos, named

    def _value(self, group: list[Node]) -> Any:
        if len(group) == 1 and group[0].type != "generic_token":
            try:
                return self._eval(group[0])
            except ValueError:
                return _text(group[0])
        raw = "".join(_text(n) for n in group)
        return [p for p in raw.split(",") if p] if "," in raw else raw

    # ---- pipelines ---------------------------------------------------------------------------
    async def _pipeline(self, commands: list[Node]) -> list[Any]:
        items: list[Any] = []
        for i, cmd in enumerate(commands):
            name_node = next(
                (c for c in cmd.named_children if c.type in ("command_name", "command_name_expr")), None
            )
            if name_node is None:
                self._not_found(cmd, _text(cmd))
                return []
            name = self._eval(name_node) if name_node.type == "command_name_expr" else _text(name_node)
            pos, named = self._args(cmd)
            try:
                items = await self._command(cmd, str(name), pos, named, items, first=i == 0)
            except cm.CmdletError as err:
                self._error(cmd, str(name), err, named.get("erroraction"))
                return []
            if items is None:
                self._not_found(cmd, str(name))
                return []
        return items

    async def _command(
        self, node: Node, name: str, pos: list[Any], named: dict[str, Any], items: list[Any], first: bool
    ) -> Any:
        low = name.lower()
        st = self.state
        if low.endswith(".vbs") or low in NATIVE or low.rsplit("\\", 1)[-1] in NATIVE:
            return await self._native(name, pos + [f"-{k}" for k in named if named[k] is True])
        if low == "get-ciminstance" or low == "get-wmiobject":
            cls = named.get("classname") or named.get("class") or (pos[0] if pos else "")
            return cm.get_cim(st, str(cls), named.get("filter"))
        if low == "select-object":
            if "expandproperty" in named:
                return cm.expand(items, str(named["expandproperty"]))
            props = named.get("property", pos[0] if pos else [])
            return cm.select(items, props if isinstance(props, list) else [props])
        if low in ("get-childitem", "gci", "dir", "ls", "get-item"):
            paths = named.get("path", named.get("literalpath", pos[0] if pos else "."))
            found = cm.get_child_item(st, paths if isinstance(paths, list) else [paths])
            if not found and str(named.get("erroraction", "")).lower() not in ("silentlycontinue", "ignore"):
                raise cm.CmdletError(
                    f"Cannot find path '{paths if not isinstance(paths, list) else paths[0]}' because it "
                    "does not exist.",
                    "ObjectNotFound",
                    "PathNotFound,Microsoft.PowerShell.Commands.GetChildItemCommand",
                )
            return found
        if low == "convertto-json":
            value = items[0] if len(items) == 1 else items
            return [cm.to_json(value, compress=bool(named.get("compress")))]
        if low in ("test-netconnection", "tnc"):
            host = str(named.get("computername", pos[0] if pos else "internetbeacon.msedge.net"))
            obj, warning = await cm.test_net_connection(st, host, int(named.get("port", 0) or 0))
            if warning and str(named.get("warningaction", "")).lower() not in ("silentlycontinue", "ignore"):
                if self.cli:
                    self.output.append(f"WARNING: {warning}")
            if str(named.get("informationlevel", "")).lower() == "quiet":
                return [obj.get("TcpTestSucceeded", False)]
            return [obj]
        if low == "get-netconnectionprofile":
            return cm.get_net_connection_profile(st)
        if low == "get-vpnconnection":
            return cm.get_vpn_connection(st)
        if low == "resolve-dnsname":
            return await cm.resolve_dns_name(
                st, str(named.get("name", pos[0] if pos else "")), str(named.get("type", "A"))
            )
        if low == "get-winevent":
            maxe = named.get("maxevents")
            return cm.get_win_event(st, named.get("filterhashtable") or {}, int(maxe) if maxe else None)
        if low == "get-date":
            fmt = named.get("format")
            now = st.now()
            return [cm.iso_o(now) if str(fmt).lower() == "o" else now]
        if low in ("write-output", "echo", "write-host"):
            return [*items, *pos]
        if low in ("out-string", "out-null", "format-list", "format-table"):
            return [] if low == "out-null" else items
        return None

    async def _native(self, name: str, args: list[Any]) -> list[Any]:
        flat = [str(a) for a in args for a in (a if isinstance(a, list) else [a])]
        if name.lower().endswith(".vbs"):  # lab assumes CScript is the default script host
            argv = ["cscript.exe", name, *flat]
        else:
            argv = [name, *flat]
        cp = 65001 if self.utf8_output else self.state.oem_codepage
        result = await self.program(argv, " ".join(argv[1:]), cp)
        if result is None:
            raise cm.CmdletError(
                f"The term '{name}' is not recognized", "ObjectNotFound", "CommandNotFoundException"
            )
        rc, raw, err = result
        out = raw.decode(codec(cp), "replace") if isinstance(raw, bytes) else raw
        self.vars["lastexitcode"] = rc
        self.last_failed = rc != 0
        for line in err.splitlines():
            self.errors.append(
                PSError(
                    line,
                    name,
                    line,
                    1,
                    1,
                    "NotSpecified: (:String) [], RemoteException",
                    "NativeCommandError",
                )
            )
        lines = out.split("\r\n")
        if lines and lines[-1] == "":
            lines.pop()
        return lines
