"""The redactor with one secret per host (LAPS): linear to build, same masking as before.

Counts operations, not time: `re.compile` calls while 2,000 hosts register their passwords one
at a time (the old redactor recompiled the alternation of all secrets at every add: 2,000
compiles of up to 2,000 alternatives).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from remediate.core.redact import MASK, Redactor


def test_one_password_per_host_compiles_once(monkeypatch: pytest.MonkeyPatch) -> None:
    compiles = 0
    real = re.compile

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal compiles
        compiles += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(re, "compile", counting)
    r = Redactor()
    for i in range(2000):
        r.add(f"Laps-{i:04d}-pw!")
    assert r.text("pw Laps-1234-pw! and Laps-0007-pw!.") == f"pw {MASK} and {MASK}."
    assert r.text("Laps-9999-pw!") == "Laps-9999-pw!"
    assert compiles <= 2  # the trie's pattern (and its validation), once
    r.add("another-one")
    assert r.text("another-one Laps-0001-pw!") == f"{MASK} {MASK}"


@pytest.mark.parametrize(
    ("secrets", "text", "masked"),
    [
        (["abc", "abcdef"], "abcdef abcde abc", f"{MASK} {MASK}de {MASK}"),  # longest at a position
        (["S3cret!pw", "S3cret!pw-long"], "S3cret!pw-lo", f"{MASK}-lo"),
        (["x.y", "a|b"], "xzy x.y a|b ab", f"xzy {MASK} {MASK} ab"),  # metacharacters are literal
        (["a" * n for n in range(3, 1200)], "b" + "a" * 1500 + "b", f"b{MASK}{MASK}b"),  # deep: fallback
    ],
)
def test_masking_matches_longest_first_alternation(secrets: list[str], text: str, masked: str) -> None:
    assert Redactor(secrets).text(text) == masked
