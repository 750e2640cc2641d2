"""xmlsafe.parse_fast (the lab's request parser) builds the same tree as xmlsafe.parse (defusedxml)
and refuses the same documents; its name cache stays bounded whatever the input."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from remediate.core import xmlsafe
from remediate.lab.wire.soap import envelope, fault_envelope, fault_schema
from remediate.transports.winrs_async import A_COMMAND, A_CREATE, A_RECEIVE
from remediate.transports.winrs_async import envelope as client_envelope
from tests.reliability.test_xml_hardening import hostile_documents

DOCS: dict[str, bytes | str] = {
    "create": client_envelope(
        "http://h:5985/wsman",
        A_CREATE,
        "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams></rsp:Shell>",
        options='<w:OptionSet><w:Option Name="WINRS_CODEPAGE">65001</w:Option></w:OptionSet>',
    ),
    "command": client_envelope(
        "http://h:5985/wsman",
        A_COMMAND,
        "<rsp:CommandLine><rsp:Command>cmd /c &quot;a &amp; b&quot; &lt;x&gt;</rsp:Command>"
        "</rsp:CommandLine>",
        shell_id="11-22",
    ),
    "receive": client_envelope(
        "http://h:5985/wsman",
        A_RECEIVE,
        '<rsp:Receive><rsp:DesiredStream CommandId="C1">stdout stderr</rsp:DesiredStream></rsp:Receive>',
        shell_id="11-22",
    ),
    "response": envelope(
        "http://x/ReceiveResponse",
        "uuid:1",
        '<rsp:ReceiveResponse xmlns:rsp="urn:r">'
        '<rsp:Stream Name="stdout">aGk=</rsp:Stream>tail text</rsp:ReceiveResponse>',
    ),
    "fault": fault_envelope(fault_schema(), "uuid:2", "host"),
    "mixed": '<?xml version="1.0" encoding="utf-8"?><!-- c --><r a="1" xmlns:n="urn:n" n:b="2">'
    "t<?pi x?><![CDATA[<raw>]]><n:c xml:lang='ja-JP'>\u6642\u523b</n:c>tail<d/>\n</r>",
    "utf-16": '<?xml version="1.0" encoding="UTF-16"?><r><s>\u00e9</s></r>'.encode("utf-16"),
}


def _shape(el: ET.Element) -> tuple[object, ...]:
    return (el.tag, sorted(el.attrib.items()), el.text, el.tail, [_shape(c) for c in el])


@pytest.mark.parametrize("name", sorted(DOCS))
def test_same_tree_as_defusedxml(name: str) -> None:
    doc = DOCS[name]
    assert _shape(xmlsafe.parse_fast(doc)) == _shape(xmlsafe.parse(doc))


@pytest.mark.parametrize("name", sorted(hostile_documents()))
def test_refuses_what_defusedxml_refuses(name: str) -> None:
    with pytest.raises(xmlsafe.XMLForbidden):
        xmlsafe.parse_fast(hostile_documents()[name])


@pytest.mark.parametrize(
    "doc",
    [
        b'<!DOCTYPE r SYSTEM "http://evil/x.dtd"><r/>',
        b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r>&e;</r>',
        b'<!DOCTYPE r [<!ENTITY u SYSTEM "x" NDATA gif>]><r/>',
    ],
)
def test_refuses_external_references(doc: bytes) -> None:
    with pytest.raises(xmlsafe.XMLForbidden):
        xmlsafe.parse(doc)
    with pytest.raises(xmlsafe.XMLForbidden):
        xmlsafe.parse_fast(doc)


@pytest.mark.parametrize("doc", [b"", b"<r>", b"<r></s>", b"<r>&undefined;</r>", b"not xml"])
def test_malformed_is_a_parse_error_with_the_same_message(doc: bytes) -> None:
    with pytest.raises(ET.ParseError) as slow:
        xmlsafe.parse(doc)
    with pytest.raises(ET.ParseError) as fast:
        xmlsafe.parse_fast(doc)
    assert str(fast.value) == str(slow.value)
    assert fast.value.position == slow.value.position


def test_name_cache_is_bounded() -> None:
    for i in range(0, xmlsafe._NAMES_MAX + 500, 250):
        doc = "<r>" + "".join(f'<e{j} a{j}="1"/>' for j in range(i, i + 250)) + "</r>"
        root = xmlsafe.parse_fast(doc)
        assert root[0].tag == f"e{i}"
    assert len(xmlsafe._NAMES) <= xmlsafe._NAMES_MAX
