"""Outputs as admins paste them: every real case still parses the same when pasted with a prompt
line, `> ` quoting, a Markdown fence, full-width colons, odd spaces or bullets; and the lab's
locale/format fixes (each test here failed on the code before them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from remediate.domains.kms.parsers import parse
from remediate.lab.network.dns import LabDns
from remediate.lab.windows import activation
from remediate.lab.windows.host import WindowsHost
from remediate.lab.windows.messages import msg
from remediate.lab.windows.state import WINDOWS_APP_ID, HostState, LicenseStatus, Product

CASES = Path(__file__).resolve().parents[1] / "cases"
PASTED_KINDS = (
    "slmgr-dli",
    "slmgr-dlv",
    "slmgr-xpr",
    "slmgr-ato",
    "ospp-dstatus",
    "ospp-act",
    "nslookup-srv",
)
PROMPT = {
    "slmgr": r"C:\Windows\system32>cscript slmgr.vbs /dli",
    "ospp": r"PS C:\Program Files\Microsoft Office\Office16> cscript ospp.vbs /dstatus",
    "nslookup": r"C:\>nslookup -type=srv _vlmcs._tcp",
}


def _real_cases() -> list[Path]:
    return sorted(
        p
        for kind in PASTED_KINDS
        for p in (CASES / kind).glob("*.txt")
        if not p.name.startswith("synthetic-")
    )


def _text(path: Path) -> str:
    raw = path.read_bytes()
    if raw.startswith(b"# source:"):
        raw = raw.partition(b"\n")[2]
    return raw.decode("utf-8")


VARIANTS: dict[str, Callable[[str, str], str]] = {
    "prompt": lambda t, k: (
        PROMPT[k.split("-")[0]] + "\n" + t + "\n" + PROMPT[k.split("-")[0]].split(">")[0] + ">"
    ),
    "blockquote": lambda t, k: "\n".join("> " + ln for ln in t.split("\n")),
    "fence": lambda t, k: "```text\n" + t + "\n```",
    "fullwidth-colon": lambda t, k: t.replace(":", "\uff1a").replace("(", "\uff08").replace(")", "\uff09"),
    "nbsp-zwsp": lambda t, k: "\n".join("\u200b" + ln.replace(" ", "\u00a0") for ln in t.split("\n")),
    "quoted": lambda t, k: '"' + t.strip() + '"',
    "crlf-tabs": lambda t, k: "\r\n".join("\t" + ln for ln in t.split("\n")),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("path", _real_cases(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_real_case_parses_the_same_when_pasted(path: Path, variant: str) -> None:
    kind = path.parent.name
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text(encoding="utf-8"))
    assert parse(kind, VARIANTS[variant](_text(path), kind)) == expected


@pytest.mark.parametrize("kind", ["slmgr-dli", "slmgr-dlv"])
def test_excerpt_without_name_line_still_describes_the_product(kind: str) -> None:
    path = CASES / "slmgr-dlv" / "zh-cn-vircloud.txt"
    full = parse(kind, _text(path))
    lines = [ln for ln in _text(path).split("\n") if not ln.startswith(("名称", "软件授权"))]
    part = parse(kind, "\n".join(lines))
    assert part["products"][0] == {**full["products"][0], "name": None}


def test_error_code_glued_to_its_text_is_read() -> None:
    out = parse("slmgr-ato", "Error: 0xC004F074The Software Licensing Service reported ...")
    assert out == {"success": False, "error_code": "0xC004F074"}


# ---- lab fidelity ------------------------------------------------------------------------------


def test_real_ja_jp_dns_label_is_read_and_printed() -> None:
    real = "ライセンスの状態: ライセンスされています\nDNS の KMS コンピューター名: kms01.lab.test:1688\n"
    assert parse("slmgr-dli", real)["products"][0]["kms_dns"] == "kms01.lab.test"
    assert msg("ja-JP", "kms_dns") == "DNS の KMS コンピューター名: "


def _host(locale: str, **kw: object) -> WindowsHost:
    state = HostState(name="WIN-0001", domain="lab.test", locale=locale, **kw)  # type: ignore[arg-type]
    state.windows = Product(
        name="Windows(R), Enterprise edition",
        description="Windows(R) Operating System, VOLUME_KMSCLIENT channel",
        application_id=WINDOWS_APP_ID,
        activation_id="73111121-5638-40f6-bc11-f1d7b0d64300",
        channel="VOLUME_KMSCLIENT",
        product_key="NPPR9-FWDCX-D2C8J-H872K-2YT43",
        status=LicenseStatus.LICENSED,
        status_reason=0,
        grace_minutes=259197,
    )
    return WindowsHost(state)


async def test_zh_cn_xpr_is_chinese_and_parses() -> None:
    host = _host("zh-CN")
    r = await host.run_command(r"cscript //nologo %SystemRoot%\System32\slmgr.vbs /xpr", codepage=936)
    text = r.stdout.decode("gbk")
    assert "批量激活将于" in text and "过期" in text
    assert parse("slmgr-xpr", r.stdout)["products"][0]["expires"] is True


async def test_dlv_installation_id_has_63_digits() -> None:
    r = await _host("en-US").run_command(
        r"cscript //nologo %SystemRoot%\System32\slmgr.vbs /dlv", codepage=437
    )
    line = next(ln for ln in r.stdout.decode().splitlines() if ln.startswith("Installation ID: "))
    iid = line.split(": ", 1)[1]
    assert iid.isdigit() and len(iid) == 63


def test_8198_carries_the_volume_activation_rule_id() -> None:
    from datetime import UTC, datetime

    ev = activation.failed_event(_host("en-US").state.windows, 0xC004F074, datetime.now(UTC))  # type: ignore[arg-type]
    assert "RuleId=eeba1977-569e-4571-b639-7623d8bfecc0;Action=AutoActivate" in ev.message


class _RefusingDns(LabDns):
    def answer(self, query, view="default"):  # type: ignore[no-untyped-def]
        reply = super().answer(query, view)
        if not str(query.q.qname).endswith("in-addr.arpa."):
            reply.header.rcode = 5  # REFUSED
        return reply


@pytest.mark.parametrize(("dns_cls", "name", "reason", "word"), [
    (LabDns, "_vlmcs._tcp.elsewhere.test.", "Server failed", "servfail"),
    (_RefusingDns, "_vlmcs._tcp.lab.test.", "Query refused", "refused"),
])  # fmt: skip
@pytest.mark.parametrize("locale", ["en-US", "ja-JP"])
async def test_nslookup_failures_print_real_reasons(
    dns_cls: type[LabDns], name: str, reason: str, word: str, locale: str
) -> None:
    dns = dns_cls("lab.test")
    port = await dns.listen("127.0.0.1", 0)
    try:
        host = _host(locale, dns_server=("127.0.0.1", port))
        r = await host.run_command(f"nslookup -type=SRV {name}", codepage=host.oem_codepage)
        out = r.stdout + r.stderr
        assert reason.encode() in out
        assert parse("nslookup-srv", out)["error"] == word
    finally:
        await dns.close()


def test_office_initial_grace_reason_is_oob_not_oot() -> None:
    from remediate.lab.fleet.hosts import build_hosts
    from remediate.lab.fleet.spec import FleetSpec
    from remediate.lab.windows.state import LicenseStatus

    spec = FleetSpec.from_dict({"hosts": 6, "seed": 2, "profiles": {"office_unactivated": 100}})
    products = [p for plan in build_hosts(spec, "pw") for o in plan.state.office for p in o.products]
    graced = [p for p in products if p.status == LicenseStatus.OOB_GRACE]
    assert graced and all(p.status_reason == 0x4004F00C for p in graced)  # initial grace, not 0x4004F00D
