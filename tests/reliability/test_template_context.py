"""Load-time template checks: a `{{ }}` inside a string, comment or here-string is refused
(the issue's cases ran `whoami` / `hostname` on the lab host before), `raw` anywhere in the
filter chain opts out, and a `raw` that cannot apply to a whole `{{ }}` is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import TemplateSyntaxError

from remediate.core.errors import ConfigError
from remediate.core.playbook import Playbook
from remediate.core.render import Renderer
from remediate.core.scriptctx import ContextError

REFUSED = [
    ("cmd", 'echo "{{ x }}"', "double-quoted"),
    ("cmd", 'echo "a" "b {{ x }} c"', "double-quoted"),
    ("cmd", "rem {{ x }}", "REM"),
    ("cmd", "  :: {{ x }}", "REM"),
    ("powershell", "<# {{ x }} #>", "comment"),
    ("powershell", "Write-Output 1 # {{ x }}", "comment"),
    ("powershell", 'Write-Output "text {{ x }} more"', "double-quoted"),
    ("powershell", "Write-Output 'text {{ x }} more'", "single-quoted"),
    ("powershell", '$a = @"\n{{ x }}\n"@', "here-string"),
    ("powershell", "$a = @'\n{{ x }}\n'@", "here-string"),
    ("powershell", "& cmd.exe --% /c echo {{ x }}", "--%"),
    ("sh", "echo '{{ x }}'", "single-quoted"),
    ("sh", 'echo "a {{ x }}"', "double-quoted"),
    ("sh", "echo 1 # {{ x }}", "comment"),
    ("sh", "cat <<EOF\n{{ x }}\nEOF", "here-document"),
]

ALLOWED = [
    ("cmd", 'echo "quoted" {{ x }}'),
    ("cmd", 'echo ^"{{ x }}'),  # ^" is a literal quote, not the start of a string
    ("cmd", 'echo "a"\necho {{ x }}'),
    ("powershell", 'Write-Output "$( {{ x }} )"'),  # a subexpression is code again
    ("powershell", "Write-Output {{ x }} # a comment after it"),
    ("powershell", "$a = @'\ntext\n'@\nWrite-Output {{ x }}"),
    ("sh", "echo 'a' {{ x }} \"b\""),
    ("sh", "cat <<EOF\ntext\nEOF\necho {{ x }}"),
    ("sh", "echo a#b {{ x }}"),
]


@pytest.mark.parametrize(("shell", "script", "what"), REFUSED)
def test_value_inside_string_or_comment_is_refused(shell: str, script: str, what: str) -> None:
    with pytest.raises(ContextError, match=what) as info:
        Renderer().compile_script(script, shell)  # type: ignore[arg-type]
    assert info.value.lineno == script[: script.index("{{")].count("\n") + 1
    assert info.value.column == script.index("{{") - script.rfind("\n", 0, script.index("{{"))


@pytest.mark.parametrize(("shell", "script", "what"), REFUSED)
def test_raw_opts_out(shell: str, script: str, what: str) -> None:
    raw = script.replace("{{ x }}", "{{ x | raw }}")
    assert "VALUE" in Renderer().script(raw, shell, {"x": "VALUE"})  # type: ignore[arg-type]
    mid_chain = script.replace("{{ x }}", "{{ x | raw | upper }}")
    assert "VALUE" in Renderer().script(mid_chain, shell, {"x": "value"})  # type: ignore[arg-type]


@pytest.mark.parametrize(("shell", "script"), ALLOWED)
def test_code_positions_are_allowed(shell: str, script: str) -> None:
    Renderer().compile_script(script, shell)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "script", ["Write-Output {{ 'a' ~ (x | raw) }}", "{% set y = x | raw %}Write-Output {{ y }}"]
)
def test_raw_where_it_cannot_apply_is_refused(script: str) -> None:
    with pytest.raises(TemplateSyntaxError, match="raw"):
        Renderer().compile_script(script, "powershell")


def test_playbook_load_names_file_line_and_column(tmp_path: Path) -> None:
    book = tmp_path / "book.yml"
    book.write_text(
        'name: t\nchecks:\n  - id: c1\n    shell: cmd\n    run: |\n      ver\n      echo "{{ x }}"\n'
    )
    with pytest.raises(ConfigError) as info:
        Playbook.load(book)
    text = str(info.value)
    assert str(book) in text and "checks.c1.run" in text
    assert "template line 2, column 7" in text and "double-quoted" in text
