"""Hostile values stay one literal argument: PowerShell checked with tree-sitter, cmd with a tokenizer."""

from __future__ import annotations

import pytest
import tree_sitter
import tree_sitter_powershell

from remediate.core.errors import RenderError
from remediate.core.quoting import PS_QUOTES, UnsafeValue, quote_cmd, quote_powershell, quote_sh
from remediate.core.render import Renderer

HOSTILE = [
    "kms01.lab.test",
    "it's",
    "a'; Remove-Item C:\\ -Recurse; '",
    "$(Stop-Computer)",
    "`$env:PATH` and ${x}",
    "a & b | c < d > e ^ f",
    "100%",
    "bang!",
    "line1\nline2\r\nline3",
    'say "hi"',
    "\u2018smart\u2019 \u201aquotes\u201b",
    "\u2019; Stop-Computer; \u2018",
    "; calc.exe",
    "@(1,2) -and $true",
    "",
    " leading and trailing ",
    "C:\\Program Files\\",
    "日本語のホスト",
]

_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def _ps_unquote(token: str) -> str:
    assert token[0] in PS_QUOTES and token[-1] in PS_QUOTES
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        out.append(body[i])
        i += 2 if body[i] in PS_QUOTES else 1  # a doubled quote char stands for one
    return "".join(out)


def _string_literals(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    found = [node] if node.type == "string_literal" else []
    for child in node.children:
        found.extend(_string_literals(child))
    return found


def _has_error(node: tree_sitter.Node) -> bool:
    return node.type == "ERROR" or node.is_missing or any(_has_error(c) for c in node.children)


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("template", ["Write-Output {{ v }}", "$x = {{ v }}\nWrite-Output $x -Verbose"])
def test_powershell_value_is_one_string_literal(value: str, template: str) -> None:
    script = Renderer().script(template, "powershell", {"v": value})
    src = script.encode("utf-8")
    tree = _PARSER.parse(src)
    assert not _has_error(tree.root_node), script
    literals = _string_literals(tree.root_node)
    assert len(literals) == 1, script
    token = src[literals[0].start_byte : literals[0].end_byte].decode("utf-8")
    assert token == quote_powershell(value)
    assert _ps_unquote(token) == value
    # nothing after the literal but the template's own text
    assert script.replace(token, "{{ v }}", 1) == template


def test_powershell_plain_scalars() -> None:
    assert quote_powershell(1688) == "1688"
    assert quote_powershell(True) == "$true"
    assert quote_powershell(None) == "$null"
    assert quote_powershell(["a", "b'c"]) == "@('a', 'b''c')"
    with pytest.raises(UnsafeValue):
        quote_powershell("nul\x00byte")


# -- cmd: a small model of cmd.exe's parse (quotes, ^, operators) + CommandLineToArgvW -------------


def cmd_commands(line: str) -> list[list[str]]:
    """Split a cmd line at unquoted & | < > and each command into argv like CommandLineToArgvW."""
    commands, cur, quoted, i = [], "", False, 0
    while i < len(line):
        ch = line[i]
        if ch == '"':
            quoted = not quoted
            cur += ch
        elif not quoted and ch == "^" and i + 1 < len(line):
            i += 1
            cur += line[i]
        elif not quoted and ch in "&|<>":
            commands.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    commands.append(cur)
    return [_argv(c) for c in commands]


def _argv(cmdline: str) -> list[str]:
    args: list[str] = []
    cur, in_q, have, i = "", False, False, 0
    while i < len(cmdline):
        ch = cmdline[i]
        if ch == "\\":
            n = 0
            while i < len(cmdline) and cmdline[i] == "\\":
                n, i = n + 1, i + 1
            if i < len(cmdline) and cmdline[i] == '"':
                cur += "\\" * (n // 2)
                if n % 2:
                    cur += '"'
                    i += 1
            else:
                cur += "\\" * n
            have = True
            continue
        if ch == '"':
            in_q, have = not in_q, True
        elif ch in " \t" and not in_q:
            if have:
                args.append(cur)
            cur, have = "", False
        else:
            cur, have = cur + ch, True
        i += 1
    if have:
        args.append(cur)
    return args


@pytest.mark.parametrize("value", HOSTILE)
def test_cmd_value_is_one_argument_or_refused(value: str) -> None:
    template = "cscript //nologo slmgr.vbs /skms {{ v }} /x"
    try:
        line = Renderer().script(template, "cmd", {"v": value}, step="set-kms")
    except RenderError as exc:
        assert any(c in value for c in '"%!\r\n'), value
        assert "'v'" in str(exc) and "set-kms" in str(exc)
        return
    commands = cmd_commands(line)
    assert len(commands) == 1, line
    assert commands[0] == ["cscript", "//nologo", "slmgr.vbs", "/skms", value, "/x"]


def test_cmd_refusals_name_the_variable() -> None:
    with pytest.raises(RenderError, match=r"variable 'kms_host' contains '%'"):
        Renderer().script("slmgr /skms {{ kms_host }}", "cmd", {"kms_host": "%COMSPEC%"})
    with pytest.raises(RenderError, match="line break"):
        Renderer().script("echo {{ a.b }}", "cmd", {"a": {"b": "x\ny"}})


def test_cmd_plain_tokens_stay_readable() -> None:
    out = Renderer().script("slmgr /skms {{ h }}:{{ p }}", "cmd", {"h": "kms01.lab.test", "p": 1688})
    assert out == "slmgr /skms kms01.lab.test:1688"
    assert quote_cmd("C:\\dir\\") == '"C:\\dir\\\\"'
    assert _argv(quote_cmd("C:\\dir\\")) == ["C:\\dir\\"]
    assert quote_cmd(None) == '""'


@pytest.mark.parametrize("value", HOSTILE)
def test_sh_round_trips_through_shlex(value: str) -> None:
    import shlex

    assert shlex.split(f"echo {quote_sh(value)} end") == ["echo", value, "end"]


def test_raw_opts_out_of_quoting() -> None:
    r = Renderer()
    assert r.script("Get-Item {{ p | raw }}", "powershell", {"p": "$env:TEMP"}) == "Get-Item $env:TEMP"
    # raw anywhere in the chain means raw (it used to count only as the last filter)
    assert r.script("Get-Item {{ p | raw | upper }}", "powershell", {"p": "a b"}) == "Get-Item A B"


def test_negative_control_naive_quoting_is_caught() -> None:
    """The checks above can fail: quoting without doubling lets a value escape its string.

    (tree-sitter-powershell only knows the ASCII quote; U+2018..U+201B are PowerShell quote
    characters per the language spec, so quote_powershell doubles them too: see HOSTILE.)
    """
    value = "'; Stop-Computer; '"
    naive = f"Write-Output '{value}'".encode()
    tree = _PARSER.parse(naive)
    assert _has_error(tree.root_node) or len(_string_literals(tree.root_node)) != 1
    assert len(cmd_commands("echo a & calc")) == 2
