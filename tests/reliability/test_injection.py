"""The hostile-values matrix of bench/reliability_security.py: 0 injections, and the detector
itself sees an injection when quoting is bypassed with `raw` (negative control)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

from remediate.core.render import Renderer

_PATH = Path(__file__).resolve().parents[2] / "bench" / "reliability_security.py"
_spec = importlib.util.spec_from_file_location("reliability_security", _PATH)
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules["reliability_security"] = bench
_spec.loader.exec_module(bench)


def test_matrix_has_no_injection() -> None:
    assert asyncio.run(bench.main()) == 0


def test_detector_sees_raw_injection() -> None:
    host = bench.WindowsHost(bench.HostState(name="W", domain="lab.test", locale="en-US", password="x"))
    r = Renderer()
    for shell, template, value in [
        ("cmd", "echo {{ x | raw }}", "a & whoami"),
        ("powershell", "Write-Output {{ x | raw }}", "a; hostname"),
        ("sh", "printf '%s\\n' {{ x | raw }}", "a; id"),
    ]:
        script = r.script(template, shell, {"x": value})  # type: ignore[arg-type]
        assert asyncio.run(bench.run(shell, script, value, host)) == "INJECTED", (shell, host.executed)
