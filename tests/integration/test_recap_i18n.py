"""`remediate run --lang ja` on a lab: the recap names the diagnoses in Japanese; English unchanged."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from remediate.cli import main
from remediate.core.i18n import set_language
from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.runtime import LabThread

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
SPEC: dict[str, Any] = {
    "hosts": 4,
    "seed": 5,
    "password": "Lab-Passw0rd!",
    "latency": "zero",
    "kms_hosts": [{"name": "kms01"}],
    "srv_records": ["kms01"],
    "profiles": {"no_srv": 25, "wrong_kms_host": 25, "kms_unreachable": 25, "clock_skew": 25},
    "office": 0,
}


@pytest.fixture(scope="module")
def inv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    workdir = tmp_path_factory.mktemp("recap_i18n")
    with LabThread(FleetSpec.from_dict(SPEC), workdir) as lab:
        yield lab.write_inventory(workdir / "inventory.yml")
    set_language(None)


def _recap(inv: Path, *lang: str) -> str:
    args = ["run", str(ROOT / "playbooks" / "windows-kms.yml"), "-i", str(inv), "--no-history", *lang]
    out = CliRunner().invoke(main, args, catch_exceptions=False).output
    set_language(None)
    return out


def test_recap_titles_in_japanese_and_english(inv: Path) -> None:
    ja = _recap(inv, "--lang", "ja")
    for title in ("KMS の SRV レコードがありません", "時刻のずれ", "ホストと KMS の間のファイアウォール"):
        assert title in ja, ja
    assert "No KMS SRV record" not in ja and "Clock skew" not in ja
    assert "このホストから" in ja or "KMS ホストを設定してください" in ja  # a translated next step
    en = _recap(inv, "--lang", "en")
    for title in ("No KMS SRV record", "Clock skew", "Firewall between host and KMS"):
        assert title in en, en
    assert not JAPANESE.search(en), en
