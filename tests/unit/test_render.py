"""Renderer: StrictUndefined names the variable and step; expressions; context precedence."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import Undefined

from remediate.core.errors import RenderError
from remediate.core.render import Renderer, context_for
from remediate.inventory import Inventory


def test_undefined_variable_names_variable_and_step() -> None:
    with pytest.raises(RenderError) as info:
        Renderer().script("slmgr /skms {{ kms_host }}", "cmd", {}, step="set-kms")
    assert "kms_host" in str(info.value) and "set-kms" in str(info.value)


def test_expressions_and_text() -> None:
    r = Renderer()
    ctx = {"facts": {"license": {"status": "licensed"}}, "kms_host": "kms01"}
    assert r.expr("facts.license.status == 'licensed'", ctx) is True
    assert r.expr("kms_host and facts.license.status != 'licensed'", ctx) is False
    assert r.text("KMS {{ kms_host }} -> {{ 'x y' }}", ctx) == "KMS kms01 -> x y"
    with pytest.raises(RenderError, match="undefined"):
        r.expr("missing == 1", ctx, step="f")


def test_sandbox_blocks_attribute_escapes() -> None:
    with pytest.raises(RenderError, match=r"sandbox|unsafe|undefined"):
        Renderer().text("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})


def test_context_precedence_and_secrets(tmp_path: Path) -> None:
    """The template context: playbook vars < host vars < -e extra vars (which reach it only as
    the inventory's top layer); no secrets; facts, host and applied."""
    path = tmp_path / "inv.yml"
    path.write_text("all:\n  hosts:\n    w1: {a: 2, b: 2, ansible_password: hunter22}\n")
    host = Inventory.load(path, extra_vars={"b": 3}).hosts["w1"]
    ctx = context_for(
        {"kms_port": 1688, "a": 1}, host.template_vars(), host="w1", facts={"x": 1}, applied=["f"]
    )
    assert (ctx["kms_port"], ctx["a"], ctx["b"], ctx["host"]) == (1688, 2, 3, "w1")
    assert (ctx["facts"], ctx["inventory_hostname"], ctx["applied"]) == ({"x": 1}, "w1", ["f"])
    assert isinstance(ctx["ansible_password"], Undefined)  # hidden: using it names it
    with pytest.raises(RenderError, match="'ansible_password' is a secret"):
        Renderer().script("x {{ ansible_password }}", "cmd", ctx)


def test_loops_and_conditionals_quote_each_value() -> None:
    out = Renderer().script(
        "{% for n in names %}Write-Output {{ n }}\n{% endfor %}{% if flag %}exit {{ code }}{% endif %}",
        "powershell",
        {"names": ["a", "b'c"], "flag": True, "code": 3},
    )
    assert out == "Write-Output 'a'\nWrite-Output 'b''c'\nexit 3"
