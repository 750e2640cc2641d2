"""`remediate demo` end to end on a smaller fleet with every fault profile (real WinRM to the lab)."""

from __future__ import annotations

import io
from pathlib import Path

from remediate.console import Console
from remediate.demo import EXPECTED, run_demo
from remediate.lab.fleet.spec import FleetSpec


def test_demo_every_profile_ends_as_expected(tmp_path: Path) -> None:
    spec = FleetSpec.from_dict(
        {
            "hosts": 2 * len(EXPECTED),
            "seed": 11,
            "locales": {"en-US": 60, "ja-JP": 40},
            "latency": "zero",
            "slow_seconds": 0.2,
            "profiles": {p: 10 if p == "healthy" else 9 for p in EXPECTED},  # 2 hosts each
            "office": 50,
            "channels": {"VOLUME_MAK": 20, "RETAIL": 20, "OEM_DM": 10},
        }
    )
    out = io.StringIO()
    code = run_demo(Console(out, plain=True), workdir=tmp_path, spec=spec)
    text = out.getvalue()
    assert "dry run changed 0 hosts (as it must)" in text
    assert "The dry run predicted the apply: the same fixes ran on all" in text
    assert "demo: every host ended as expected" in text, text[-3000:]
    assert code == 0
    for title in ("Firewall between host and KMS", "License store damaged", "Clock skew"):
        assert title in text
