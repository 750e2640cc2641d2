"""Where does each `{{ }}` of a step script land: code, or inside a string/comment/here-string?

The renderer quotes every interpolated value for the step's shell (quoting.py). That is right
where the value becomes a command argument, and wrong inside text the shell reads as a string or
a comment: cmd `echo "{{ x }}"` with `a & whoami` closes the author's quotes with the value's own
and runs `whoami`; PowerShell `<# {{ x }} #>` with `#> hostname <#` leaves the comment. So the
loader refuses such a template, naming line and column, unless the expression is marked `raw`
(the author then owns the quoting).

How: the template's variable blocks become placeholder words (`{% %}` tags and comments are
dropped, so both branches of an `if` are checked), and the resulting script is lexed for the
shell. PowerShell uses tree-sitter-powershell (the grammar the lab's PowerShell also uses); cmd
and sh use the small lexers below (quotes, `^`/backslash escapes, REM/`::`/`#` comments, sh
here-documents).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import tree_sitter_powershell as tsp
from jinja2 import TemplateSyntaxError, nodes
from tree_sitter import Language, Node, Parser

_PS_PARSER = Parser(Language(tsp.language()))
# Node types whose text PowerShell reads as data, not as code (a `$( )` inside a string is code
# again: the walk up stops there).
_PS_TEXT = {
    "expandable_string_literal": "a double-quoted (expanding) string",
    "verbatim_string_characters": "a single-quoted string",
    "expandable_here_string_literal": 'a here-string (@" "@)',
    "verbatim_here_string_characters": "a here-string (@' '@)",
    "comment": "a comment",
    "stop_parsing": "the text after --% (stop-parsing token)",
}
_PS_CODE = {"sub_expression", "script_block", "program"}


@dataclass(frozen=True)
class Slot:
    """One `{{ }}` block: its place in the template and whether it is raw."""

    index: int
    line: int
    column: int
    source: str
    raw: bool


class ContextError(TemplateSyntaxError):
    """A `{{ }}` where quoting cannot make it safe; `lineno`/`column` are in the template."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message, line)
        self.column = column


def raw_in_chain(expr: nodes.Node) -> bool:
    """`raw` anywhere in the expression's own filter chain ({{ x | raw | upper }})."""
    node: Any = expr
    while isinstance(node, nodes.Filter):
        if node.name == "raw":
            return True
        node = node.node
    return False


def misplaced_raw(tree: nodes.Template) -> nodes.Filter | None:
    """A `raw` that does not apply to a whole `{{ }}` (inside an argument, a `{% set %}`...)."""
    allowed: set[int] = set()
    for output in tree.find_all(nodes.Output):
        for item in output.nodes:
            node: Any = item
            while isinstance(node, nodes.Filter):
                allowed.add(id(node))
                node = node.node
    for f in tree.find_all(nodes.Filter):
        if f.name == "raw" and id(f) not in allowed:
            return f
    return None


def _placeholder(i: int) -> str:
    return f"RMDQ{i}Q"


def skeleton(env: Any, template: str) -> tuple[str, list[Slot]]:
    """The script with each `{{ }}` replaced by a placeholder word, and the blocks found."""
    parts: list[str] = []
    slots: list[Slot] = []
    pos = 0
    block: list[str] | None = None
    start = 0
    for _lineno, kind, value in env.lex(template):
        at = template.find(value, pos)
        if at >= 0:
            pos = at + len(value)
        if kind == "data":
            parts.append(value)
        elif kind == "variable_begin":
            block, start = [value], at
        elif block is not None:
            block.append(value)
            if kind == "variable_end":
                source = "".join(block)
                expr = env.parse(source).body[0].nodes[0]
                line = template.count("\n", 0, start) + 1
                column = start - template.rfind("\n", 0, start)
                slots.append(Slot(len(slots), line, column, source, raw_in_chain(expr)))
                parts.append(_placeholder(len(slots) - 1))
                block = None
    return "".join(parts), slots


def check(env: Any, template: str, shell: str) -> None:
    """Raise ContextError for the first non-raw `{{ }}` inside a string or comment."""
    script, slots = skeleton(env, template)
    if not slots:
        return
    finder = {"powershell": _ps_context, "cmd": _cmd_contexts, "sh": _sh_contexts}[shell]
    for slot in slots:
        if slot.raw:
            continue
        at = script.find(_placeholder(slot.index))
        what = finder(script, at, len(_placeholder(slot.index)))
        if what:
            name = {"powershell": "PowerShell", "cmd": "cmd", "sh": "sh"}[shell]
            raise ContextError(
                f"{slot.source.strip()} is inside {what} of this "
                f"{name} script; the value is quoted for you, so put it outside the quotes/comment, or "
                "mark it `| raw` if you quote it yourself",
                slot.line,
                slot.column,
            )


# -- PowerShell -----------------------------------------------------------------------------------


def _ps_context(script: str, at: int, length: int) -> str | None:
    data = script.encode()
    start = len(script[:at].encode())
    tree = _PS_PARSER.parse(data)
    node: Node | None = tree.root_node.descendant_for_byte_range(start, start + length)
    while node is not None:
        if node.type in _PS_CODE:
            return None
        if node.type in _PS_TEXT:
            return _PS_TEXT[node.type]
        node = node.parent
    return None


# -- cmd ------------------------------------------------------------------------------------------

_CMD_REM = re.compile(r"[ \t@]*(?:rem(?:[ \t]|$)|::)", re.IGNORECASE)


def _cmd_contexts(script: str, at: int, length: int) -> str | None:
    """cmd reads a line at a time: `"` toggles quoting (until the line ends), `^` escapes the
    next character outside quotes, and a line starting with REM or `::` is a comment."""
    line_start = script.rfind("\n", 0, at) + 1
    line = script[line_start:]
    if _CMD_REM.match(line):
        return "a REM/:: comment"
    quoted = False
    i = line_start
    while i < at:
        ch = script[i]
        if ch == "^" and not quoted:
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        i += 1
    return "a double-quoted string" if quoted else None


# -- sh -------------------------------------------------------------------------------------------

_HEREDOC = re.compile(r"<<(-?)[ \t]*(['\"]?)([A-Za-z0-9_]+)\2")


def _sh_contexts(script: str, at: int, length: int) -> str | None:
    state: str | None = None  # "'", '"', "#", "heredoc"
    pending: list[tuple[str, bool]] = []  # here-document delimiters opened on this line
    i = 0
    while i < at:
        ch = script[i]
        if state == "heredoc":
            end = script.find("\n", i)
            end = len(script) if end < 0 else end
            delim, strip = pending[0]
            body_line = script[i:end]
            if (body_line.lstrip("\t") if strip else body_line) == delim:
                pending.pop(0)
                state = "heredoc" if pending else None
            i = end + 1
            continue
        if state == "'":
            state = None if ch == "'" else state
        elif state == '"':
            if ch == "\\":
                i += 1
            elif ch == '"':
                state = None
        elif state == "#":
            if ch == "\n":
                state = "heredoc" if pending else None
        elif ch == "\\":
            i += 1
        elif ch in "'\"":
            state = ch
        elif ch == "#" and (i == 0 or script[i - 1] in " \t\n;&|("):
            state = "#"
        elif ch == "<" and (m := _HEREDOC.match(script, i)):
            pending.append((m.group(3), m.group(1) == "-"))
            i = m.end()
            continue
        elif ch == "\n" and pending:
            state = "heredoc"
        i += 1
    return {
        "'": "a single-quoted string",
        '"': "a double-quoted string",
        "#": "a comment",
        "heredoc": "a here-document",
    }.get(state or "")
