"""remediate.domains.kms.parsers: every case file parses to its expected JSON; bad input is a ParseError.

Case files: tests/cases/<kind>/<name>.txt|.json, expected parse in <name>.expected.json, source
URL in a first line `# source: ...` (stripped here) or a sidecar <name>.source. Names starting
with `synthetic-` are constructed edge cases, the rest are real outputs from public sources.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from remediate.core.clock import parse_utc_time
from remediate.domains.kms import parsers
from remediate.domains.kms.parsers import KINDS, ParseError, normalize_code, parse
from remediate.domains.kms.parsers.common import find_code
from remediate.domains.kms.parsers.text import decode, normalize_paste

CASES = Path(__file__).resolve().parents[1] / "cases"


def _case_files() -> list[Path]:
    return sorted(
        p
        for p in CASES.glob("*/*")
        if p.parent.name in KINDS  # other teams keep their own case folders here too
        and p.suffix in (".txt", ".json")
        and not p.name.endswith(".expected.json")
    )


def _load(path: Path) -> tuple[bytes, str]:
    raw = path.read_bytes()
    if raw.startswith(b"# source:"):
        first, _, rest = raw.partition(b"\n")
        return rest, first.decode("utf-8")[len("# source:") :].strip()
    sidecar = path.with_suffix(".source")
    assert sidecar.exists(), f"{path} has no '# source:' line and no .source sidecar"
    return raw, sidecar.read_text(encoding="utf-8").strip()


@pytest.mark.parametrize("path", _case_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_case_parses_to_expected(path: Path) -> None:
    data, source = _load(path)
    assert source, "every case records where it came from"
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text(encoding="utf-8"))
    assert parse(path.parent.name, data) == expected


def test_case_corpus_size_and_coverage() -> None:
    files = _case_files()
    real = [p for p in files if not p.stem.startswith("synthetic-")]
    assert len(real) >= 25, f"only {len(real)} real cases"
    kinds_with_cases = {p.parent.name for p in files}
    assert set(KINDS) - kinds_with_cases == {"utc-time"}  # utc-time depends on "now": tested below


def test_same_text_in_every_encoding_parses_the_same() -> None:
    text = (CASES / "slmgr-dlv" / "zh-cn-vircloud.txt").read_text(encoding="utf-8").split("\n", 1)[1]
    expected = parse("slmgr-dlv", text)
    crlf = text.replace("\n", "\r\n")
    for data in (
        crlf.encode("gbk"),
        b"\xef\xbb\xbf" + crlf.encode("utf-8"),
        b"\xff\xfe" + crlf.encode("utf-16-le"),
        b"\xfe\xff" + crlf.encode("utf-16-be"),
        crlf.encode("utf-16-le"),  # no BOM: sniffed from the NUL pattern
        "\ufeff" + crlf,
    ):
        assert parse("slmgr-dlv", data) == expected


def test_cp932_bytes_are_not_mistaken_for_gbk() -> None:
    text = "名前: Windows(R), Enterprise edition\nライセンスの状態: ライセンスされています\n"
    result = parse("slmgr-dli", text.encode("cp932"))
    assert result["products"][0]["license_status"] == "licensed"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0xc004f074", "0xC004F074"),
        ("C004F074", "0xC004F074"),
        ("-1073418124", "0xC004F074"),
        ("3221549172", "0xC004F074"),
        (3221549172, "0xC004F074"),
        (-1073418124, "0xC004F074"),
        ("0x0", "0x00000000"),
        ("0xC004F00F.", "0xC004F00F"),
        ("80070005", "0x80070005"),  # 8 bare digits are hex, as in the knowledge base
        ("hello", None),
        (2**32, None),
        (None, None),
        (True, None),
    ],
)
def test_normalize_code(value: object, expected: str | None) -> None:
    assert normalize_code(value) == expected


def test_codes_in_text_with_only_decimal_digits_stay_hex() -> None:
    # 0x80070005 (access denied) has no letter: it must not be read as decimal 80070005
    assert find_code("Error: 0x80070005 Access denied.") == "0x80070005"
    assert find_code("hr = 0x5") == "0x00000005"
    assert find_code("0x12345") == "0x00012345"


def test_status_words_for_every_slmgr_status() -> None:
    lines = {
        "Unlicensed": "unlicensed",
        "Licensed": "licensed",
        "Initial grace period": "oob_grace",
        "Additional grace period (KMS license expired or hardware out of tolerance)": "oot_grace",
        "Non-genuine grace period.": "non_genuine_grace",
        "Notification": "notification",
        "Extended grace period": "extended_grace",
        "已授权": "licensed",
        "ライセンスされていません": "unlicensed",
    }
    for shown, word in lines.items():
        out = parse("slmgr-dli", f"Name: Windows(R), Enterprise edition\nLicense Status: {shown}\n")
        assert out["products"][0]["license_status"] == word, shown


def test_fields_the_text_does_not_show_are_null() -> None:
    out = parse("slmgr-dli", "Name: Windows(R), Enterprise edition\n")
    product = out["products"][0]
    assert product["name"] == "Windows(R), Enterprise edition"
    assert all(v is None for k, v in product.items() if k != "name")


def test_utc_time_round_trip_format_and_skew() -> None:
    now = datetime(2024, 1, 15, 10, 0, 0, tzinfo=UTC)
    out = parse_utc_time("2024-01-15T10:05:00.1234567Z\r\n", now=now)
    assert out == {"utc": "2024-01-15T10:05:00.123456Z", "skew_seconds": 300.123}
    local = parse_utc_time("2024-01-15T19:00:00.0000000+09:00", now=now)
    assert local["utc"] == "2024-01-15T10:00:00Z" and local["skew_seconds"] == 0.0
    live = parse("utc-time", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z").encode("utf-16"))
    assert isinstance(live["skew_seconds"], float) and abs(live["skew_seconds"]) < 60


def test_unknown_kind_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="unknown parser kind 'slmgr-foo'"):
        parse("slmgr-foo", "Name: x")


GARBAGE: list[str | bytes] = [
    "",
    "   \r\n\r\n",
    "hello world",
    "<html><body>502 Bad Gateway</body></html>",
    "{not json",
    "[1, 2, 3]",
    '"just a string"',
    "\x00\x01\x02binary",
    b"\xff\xfe\x00",  # UTF-16 BOM then an odd byte
    b"\xef\xbb\xbf\xff\xfe\xfd",  # UTF-8 BOM then invalid UTF-8
    "[" * 100000,
    "Name" * 1000,
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("data", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_raises_parse_error_only(kind: str, data: str | bytes) -> None:
    try:
        result: Any = parse(kind, data)
    except ParseError:
        return
    # the few kinds for which empty output is meaningful must still return their schema
    assert kind in ("resolve-srv", "spp-events", "vpn-connection") and not str(data).strip(), (
        kind,
        data,
        result,
    )
    assert result in ({"records": [], "error": None}, {"events": []}, {"connections": [], "connected": False})


def _fuzz(kind: str, blobs: Iterable[bytes], monkeypatch: pytest.MonkeyPatch) -> int:
    """Feed `blobs` to parse(kind). parse() turns any exception into a ParseError, so "only
    ParseError escapes" alone cannot fail; what can: the kind's parser must really get each
    non-blank input (decoded), and refuse garbage deliberately, not by crashing (a crash that
    parse() wrapped carries it as __cause__; a parser's own ParseError does not). Returns how
    many inputs reached the parser."""
    real = parsers._PARSERS[kind]
    seen: list[str] = []

    def spy(text: str) -> dict[str, Any]:
        seen.append(text)
        return real(text)

    monkeypatch.setitem(parsers._PARSERS, kind, spy)
    for blob in blobs:
        before = len(seen)
        try:
            parse(kind, blob)
        except ParseError as e:
            assert e.__cause__ is None, f"{kind} crashed on {blob[:80]!r}: {e}"
        except Exception as e:  # pragma: no cover - what the test is for
            pytest.fail(f"{kind} let {type(e).__name__} escape on {blob[:80]!r}: {e}")
        try:
            text = decode(blob)
        except ParseError:  # not text at all (NUL bytes): refused before any parser, rightly
            text = ""
        if text.strip() and kind in parsers._PASTED:  # console text is un-pasted first
            text = normalize_paste(text)
        if text.strip():
            assert seen[before:] == [text], f"{kind}: the parser did not get {blob[:80]!r}"
    return len(seen)


@pytest.mark.parametrize("kind", KINDS)
def test_random_bytes_never_raise_anything_but_parse_error(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(kind)
    # half of them without NUL bytes, which decode() refuses before any parser sees them
    blobs = [bytes(rng.randrange(i % 2, 256) for _ in range(rng.randrange(1, 400))) for i in range(50)]
    assert _fuzz(kind, blobs, monkeypatch) >= 20


def test_mutated_real_outputs_never_raise_anything_but_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(1688)
    by_kind: dict[str, list[bytes]] = {}
    for path in _case_files():
        data, _ = _load(path)
        for _ in range(20):
            cut = bytearray(data)
            for _ in range(rng.randrange(1, 6)):
                if cut:
                    i = rng.randrange(len(cut))
                    cut[i : i + rng.randrange(1, 20)] = bytes([rng.randrange(256)])
            by_kind.setdefault(path.parent.name, []).append(bytes(cut))
    assert len(by_kind) >= 10
    for kind, blobs in by_kind.items():
        assert _fuzz(kind, blobs, monkeypatch) > 0


def test_the_fuzz_check_catches_a_crashing_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzz tests above can fail: a parser that crashes (here on an index) is caught."""
    monkeypatch.setitem(parsers._PARSERS, "slmgr-xpr", lambda text: {"n": text.split()[99]})
    with pytest.raises(AssertionError, match="crashed"):
        _fuzz("slmgr-xpr", [b"Windows(R), Professional edition:"], monkeypatch)


@pytest.mark.parametrize(
    ("description", "channel"),
    [
        ("Windows(R) Operating System, VOLUME_KMSCLIENT channel", "VOLUME_KMSCLIENT"),
        ("Windows Operating System - Windows(R) 7, VOLUME_KMSCLIENT channel", "VOLUME_KMSCLIENT"),
        ("Office 16, RETAIL(Grace) channel", "RETAIL"),  # C2R grace SKU (real ospp /dstatus)
        ("Office 16, RETAIL(Free) channel", "RETAIL"),
        ("Windows(R) Operating System, VIRTUAL_MACHINE_ACTIVATION channel", "VIRTUAL_MACHINE_ACTIVATION"),
        ("Windows(R) Operating System, OEM_DM channel", "OEM_DM"),
    ],
)
def test_channel_of_reads_the_channel_word(description: str, channel: str) -> None:
    from remediate.domains.kms.parsers.slmgr import channel_of

    assert channel_of(description) == channel
