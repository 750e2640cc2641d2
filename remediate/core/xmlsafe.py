"""Parse XML that came from another machine (a WS-Man peer, a host's CLIXML, a lab client).

defusedxml refuses any DTD, entity declaration or external reference wherever it appears in the
document and whatever the encoding (UTF-16, a BOM, 600 bytes of padding...), because the check
runs in the parser's own DTD/entity callbacks rather than on a prefix of the bytes. That is the
defence against billion-laughs and XXE by construction; expat's own amplification limits are
only a second line.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

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
