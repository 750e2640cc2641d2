"""Output decoding: codepage choice, BOM, and PowerShell CLIXML stderr."""

from __future__ import annotations

import pytest

from remediate.transports.decode import clixml_to_text, decode_output, decode_stderr, guess_oem

# slmgr /dli on a ja-JP host (cp932 console); text from a real ja-JP `slmgr /dli`.
JA_LINE = "ライセンスの状態: ライセンスされています"
ZH_LINE = "许可证状态: 已授权"


def test_utf8_is_the_default() -> None:
    assert decode_output(JA_LINE.encode("utf-8")) == JA_LINE


def test_utf8_bom_is_stripped() -> None:
    assert decode_output(b"\xef\xbb\xbfName: Windows") == "Name: Windows"


def test_override_encoding_wins() -> None:
    assert decode_output(JA_LINE.encode("cp932"), "cp932") == JA_LINE


def test_override_never_raises_on_bad_bytes() -> None:
    assert decode_output(b"ok \xff", "cp932").startswith("ok ")


def test_non_utf8_falls_back_to_a_guessed_oem_codepage() -> None:
    assert guess_oem(JA_LINE.encode("cp932")) == "cp932"
    assert decode_output(JA_LINE.encode("cp932")) == JA_LINE
    assert guess_oem(ZH_LINE.encode("gbk")) == "gbk"
    assert decode_output(ZH_LINE.encode("gbk")) == ZH_LINE
    # en-US console: box drawing in cp437 is not UTF-8 and not CJK
    assert decode_output("Größe ═".encode("cp437")) == "Größe ═"


# Real shape of PowerShell 5.1 stderr when redirected (see Ansible's test_powershell.py).
CLIXML = (
    '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T>'
    '<T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record">'
    "<AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC>"
    "<T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>"
    '<S S="Error">Get-Item : Cannot find path &lt;C:\\x&gt;_x000D__x000A_</S>'
    '<S S="Error">    + CategoryInfo : ObjectNotFound_x000D__x000A_</S></Objs>'
)


def test_clixml_errors_become_lines_and_progress_is_dropped() -> None:
    text = clixml_to_text(CLIXML)
    assert text == "Get-Item : Cannot find path <C:\\x>\r\n    + CategoryInfo : ObjectNotFound"


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        ("_x0041_", "A"),
        ("_xD83D__xDE00_", "\U0001f600"),
        ("_x005F_x0041_", "_x0041_"),
        ("_xGGGG_ _x12345_", "_xGGGG_ _x12345_"),
    ],
)
def test_clixml_escapes(encoded: str, expected: str) -> None:
    ns = "http://schemas.microsoft.com/powershell/2004/04"
    doc = f'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="{ns}"><S S="Error">{encoded}</S></Objs>'
    assert clixml_to_text(doc) == expected


def test_plain_stderr_passes_through() -> None:
    assert clixml_to_text("'foo' is not recognized\r\n") == "'foo' is not recognized\r\n"


def test_decode_stderr_combines_both() -> None:
    assert decode_stderr(CLIXML.encode("utf-8")).startswith("Get-Item : Cannot find path <C:\\x>")
