"""Parse XML that came from another machine (a WS-Man peer, a host's CLIXML, a lab client).

defusedxml refuses any DTD, entity declaration or external reference wherever it appears in the
document and whatever the encoding (UTF-16, a BOM, 600 bytes of padding...), because the check
runs in the parser's own DTD/entity callbacks rather than on a prefix of the bytes. That is the
defence against billion-laughs and XXE by construction; expat's own amplification limits are
only a second line.
"""

from __future__ import annotations

import pyexpat
import xml.etree.ElementTree as ET
from typing import NoReturn

import defusedxml
import defusedxml.ElementTree as DET

ParseError = ET.ParseError


class XMLForbidden(ValueError):
    """The document declares a DTD, an entity, or an external reference."""


def parse(data: bytes | str) -> ET.Element:
    """The root element; XMLForbidden for DTDs/entities, ET.ParseError for malformed XML."""
    try:
        root: ET.Element = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (
        defusedxml.DTDForbidden,
        defusedxml.EntitiesForbidden,
        defusedxml.ExternalReferenceForbidden,
    ) as exc:
        raise XMLForbidden(type(exc).__name__) from None
    return root


# -- the lab's request parser ----------------------------------------------------------------
# The same defence as `parse`, built on expat directly: the DTD/entity handlers raise, so a
# declaration is refused wherever it sits and in any encoding, before anything is expanded.
# defusedxml drives the pure-Python ElementTree parser (a Python call per element, attribute
# name and text run); here the tree comes from the C TreeBuilder and text goes straight to it,
# about 2x faster per WS-Man envelope (docs/performance.md). The controller keeps defusedxml
# for what hosts send it; the lab (our emulator) parses requests with this one.


def _forbid(*_args: object) -> NoReturn:
    raise XMLForbidden("DTD, entity or external reference")


_NAMES: dict[str, str] = {}
_NAMES_MAX = 4096  # element/attribute names come from the WS-Man schemas: a few dozen


def _fixname(name: str) -> str:
    # expat with namespace_separator "}" reports "uri}local"; ElementTree spells it "{uri}local"
    fixed = _NAMES.get(name)
    if fixed is None:
        fixed = "{" + name if "}" in name else name
        if len(_NAMES) < _NAMES_MAX:  # hostile input cannot grow it past the bound
            _NAMES[name] = fixed
    return fixed


def parse_fast(data: bytes | str) -> ET.Element:
    """`parse`, same result and the same refusals, without defusedxml's pure-Python parser."""
    builder = ET.TreeBuilder()
    parser = pyexpat.ParserCreate(None, "}")
    parser.buffer_text = True

    def start(tag: str, attrs: dict[str, str]) -> None:
        builder.start(_fixname(tag), {_fixname(k): v for k, v in attrs.items()} if attrs else {})

    def end(tag: str) -> None:
        builder.end(_fixname(tag))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = _forbid
    parser.EntityDeclHandler = _forbid
    parser.UnparsedEntityDeclHandler = _forbid
    parser.ExternalEntityRefHandler = _forbid
    try:
        parser.Parse(data, True)
    except pyexpat.ExpatError as exc:
        err = ParseError(f"{pyexpat.errors.messages[exc.code]}: line {exc.lineno}, column {exc.offset}")
        err.code, err.position = exc.code, (exc.lineno, exc.offset)
        raise err from None
    root: ET.Element = builder.close()
    return root
