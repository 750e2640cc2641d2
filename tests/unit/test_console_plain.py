"""Plain-mode Console.print writes simple lines itself: byte-for-byte what rich writes."""

from __future__ import annotations

import io
import random
import string

from rich.markup import escape

from remediate.console import _VERBATIM, Console


def _fast_and_rich(text: str) -> tuple[str, str]:
    fast, slow = io.StringIO(), io.StringIO()
    Console(fast, plain=True).print(text)
    Console(slow, plain=True).rich.print(escape(text), style=None)  # the path before the shortcut
    return fast.getvalue(), slow.getvalue()


def test_plain_lines_match_rich() -> None:
    rng = random.Random(12)
    verbatim = "".join(c for c in string.printable if _VERBATIM.fullmatch(c))
    samples = [
        "",
        "[ 12/2000] WIN-0012 compliant 3.2s",
        "[bold]not markup[/bold] [x] [/] [link=x]",
        "trailing backslash\\",
        "  padded   ",
        "x" * 300,  # longer than any terminal: never wrapped in plain mode
        "WIN-0001 failed winrm 10.0.0.1:5985 timeout :warning:",
        "tab\there",
        "line\rcarriage",
        "two\nlines",
    ]
    samples += ["".join(rng.choice(verbatim) for _ in range(rng.randint(0, 200))) for _ in range(300)]
    samples += ["".join(rng.choice(string.printable) for _ in range(rng.randint(0, 80))) for _ in range(100)]
    assert sum(bool(_VERBATIM.fullmatch(s)) for s in samples) > 300  # the shortcut is exercised
    for text in samples:
        fast, slow = _fast_and_rich(text)
        assert fast == slow, repr(text)
