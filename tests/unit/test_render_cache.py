"""Renderer.script caches rendered text by (template, shell, values it reads): the same text as
an uncached render, never reused across different values or types, bounded by RENDERED_MAX."""

from __future__ import annotations

from typing import Any

import pytest

from remediate.core import render
from remediate.core.errors import RenderError
from remediate.core.render import Renderer

TEMPLATES = [
    ("Test-NetConnection -ComputerName {{ kms_host }} -Port {{ kms_port }}", "powershell"),
    ("nslookup -type=SRV _vlmcs._tcp.{{ domain }}", "cmd"),
    ("cscript //nologo slmgr.vbs /dli", "cmd"),
    ("echo {{ flag }}", "cmd"),
    ("{% for p in ports %}echo {{ p }} {% endfor %}", "cmd"),
    ("echo {{ facts.license.status | default('none') }}", "cmd"),
]
CONTEXTS: list[dict[str, Any]] = [
    {"kms_host": "kms01.lab.test", "kms_port": 1688, "domain": "lab.test", "flag": True, "ports": [1, 2],
     "facts": {"license": {"status": "licensed"}}},
    {"kms_host": "kms02.lab.test", "kms_port": 1688, "domain": "x.test", "flag": 1, "ports": [3],
     "facts": {"license": {"status": "notification"}}},
    {"kms_host": "kms01.lab.test", "kms_port": 1688.0, "domain": "lab.test", "flag": 1.0, "ports": [1, 2],
     "facts": {"license": {}}},
]  # fmt: skip


@pytest.mark.parametrize(("template", "shell"), TEMPLATES)
def test_cached_render_equals_uncached(template: str, shell: Any) -> None:
    cached = Renderer()
    for _ in range(2):  # second round: served from the cache where it can be
        for ctx in CONTEXTS:
            fresh = Renderer()  # an empty cache: the uncached path
            assert cached.script(template, shell, ctx) == fresh.script(template, shell, ctx)


def test_values_of_equal_but_different_types_do_not_share_an_entry() -> None:
    r = Renderer()
    texts = [r.script("echo {{ flag }}", "cmd", {"flag": v}) for v in (True, 1, 1.0)]
    assert texts == ["echo true", "echo 1", "echo 1.0"]  # quoting spells bools as PowerShell/cmd read them


def test_shared_values_are_rendered_once_and_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    r = Renderer()
    template = "Test-NetConnection -ComputerName {{ kms_host }} -Port {{ kms_port }}"
    compiled = r.compile_script(template, "powershell")
    calls = 0
    real = compiled.render

    def counting(*a: Any, **k: Any) -> str:
        nonlocal calls
        calls += 1
        return real(*a, **k)

    monkeypatch.setattr(compiled, "render", counting)
    for _ in range(100):  # one fleet, shared vars: one render
        r.script(template, "powershell", {"kms_host": "kms01.lab.test", "kms_port": 1688, "host": "h"})
    assert calls == 1
    for i in range(3 * render.RENDERED_MAX):  # per-host values: bounded, oldest dropped
        assert r.script(template, "powershell", {"kms_host": f"kms{i}", "kms_port": 1688}).endswith("1688")
    assert len(r._rendered) == render.RENDERED_MAX


def test_not_cached_when_output_is_not_a_function_of_plain_values() -> None:
    r = Renderer()
    r.script("echo {{ 'abc' | random }}", "cmd", {})
    r.script("echo {{ facts.x }}", "cmd", {"facts": {"x": "y"}})
    assert not r._rendered


def test_errors_are_not_cached() -> None:
    r = Renderer()
    for _ in range(2):
        with pytest.raises(RenderError):
            r.script("echo {{ missing }}", "cmd", {})
    with pytest.raises(RenderError):
        r.script("echo {{ v }}", "cmd", {"v": "a\nb"})  # unquotable for cmd: refused each time
    assert r.script("echo {{ v }}", "cmd", {"v": "ok"}) == "echo ok"
