"""`PLAIN` used `re.match` with `$`, which also matches before a trailing newline: "kms01\n" came
back bare, so sh read the newline as the end of the command (issue: reliability/security)."""

from __future__ import annotations

import shlex

import pytest

from remediate.core.quoting import quote_cmd, quote_sh


@pytest.mark.parametrize("value", ["kms01\n", "kms01\n; id", "a\nb", "kms01\r\n"])
def test_quote_sh_never_leaves_a_newline_bare(value: str) -> None:
    quoted = quote_sh(value)
    assert quoted.startswith("'"), quoted
    assert shlex.split(quoted) == [value]


def test_quote_cmd_refuses_trailing_newline() -> None:
    with pytest.raises(ValueError):
        quote_cmd("kms01\n")
