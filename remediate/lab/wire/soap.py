"""WS-Management SOAP envelopes: parse requests, build responses and faults shaped like Windows'.

Shapes follow the exchanges recorded from a real Windows host in
/work/shared/fixtures/real-windows-wsman/ (pypsrp test suite, MIT): header order Action,
MessageID, [ActivityId], To, RelatesTo; the same namespace prefixes (s, a, x, w, rsp, p); faults
with s:Code/s:Subcode, s:Reason, and an f:WSManFault detail carrying the Windows error code.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from remediate.core import xmlsafe

NS_S = "http://www.w3.org/2003/05/soap-envelope"
NS_A = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_W = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_P = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
NS_RSP = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
NS_X = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = NS_RSP + "/Command"
ACTION_RECEIVE = NS_RSP + "/Receive"
ACTION_SEND = NS_RSP + "/Send"
ACTION_SIGNAL = NS_RSP + "/Signal"
ACTION_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

_ENV_OPEN = (
    '<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
    ' xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
    ' xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer"'
    ' xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing"'
    ' xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"'
    ' xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"'
    ' xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"'
    ' xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">'
)
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def new_id() -> str:
    return str(uuid.uuid4()).upper()


def parse_duration(text: str | None, default: float) -> float:
    """xs:duration as WS-Man uses it (PT20S, PT60.000S, P0DT0H1M0S) -> seconds."""
    m = _DURATION.match((text or "").strip())
    if not m or not text or text.strip() in ("P", "PT"):
        return default
    d, h, mi, s = m.groups()
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


class WSManFault(Exception):
    """A fault the service answers with (HTTP 500), as Windows shapes it."""

    def __init__(
        self,
        subcode: str,
        reason: str,
        wsman_code: int,
        message: str | None = None,
        *,
        code: str = "s:Sender",
        fault_detail: str | None = None,
        provider: tuple[str, str] | None = None,
        activity_id: bool = False,
    ) -> None:
        super().__init__(reason)
        self.subcode = subcode
        self.reason = reason
        self.wsman_code = wsman_code
        self.message = message if message is not None else reason
        self.code = code
        self.fault_detail = fault_detail
        self.provider = provider
        self.activity_id = activity_id


# Fault texts copied from the recorded Windows responses (fixtures named in each docstring).
_INVALID_SELECTORS = (
    "The WS-Management service cannot process the request because the request contained invalid "
    "selectors for the resource. "
)
_TIMED_OUT = (
    "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "
)


def fault_unknown_command() -> WSManFault:
    """test_winrs_bad_cmd_id.yml: Receive/Signal on a command id that does not exist."""
    return WSManFault(
        "w:InvalidSelectors",
        _INVALID_SELECTORS,
        2150858843,
        "The Windows Remote Shell received a request to perform an operation on a command identifier that "
        "does not exist. Either the command has completed execution or the client specified an invalid "
        "command identifier. ",
        fault_detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors",
        activity_id=True,
    )


def fault_unknown_shell(shell_id: str) -> WSManFault:
    """Same fault family; message as Windows prints it (WinRb/WinRM issue #253)."""
    return WSManFault(
        "w:InvalidSelectors",
        _INVALID_SELECTORS,
        2150858843,
        f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not "
        "found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
        "exists on the server. Provide the correct ShellId or create a new shell and retry the operation. ",
        fault_detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors",
        activity_id=True,
    )


def fault_timed_out() -> WSManFault:
    """test_winrs_operation_timeout.yml: Receive found no output within OperationTimeout."""
    return WSManFault("w:TimedOut", _TIMED_OUT, 2150858793, code="s:Receiver")


def fault_invalid_parameter() -> WSManFault:
    """test_winrs_fail_poll_process.yml: the cmd plugin rejected the request (error 87)."""
    return WSManFault(
        "w:InvalidParameter",
        "The parameter is incorrect. ",
        87,
        fault_detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/InvalidValue",
        provider=("Shell cmd plugin", r"%systemroot%\system32\winrscmd.dll"),
    )


def fault_file_not_found() -> WSManFault:
    """test_winrs_no_cmd_shell.yml: WINRS_SKIP_CMD_SHELL with an executable not given by full path."""
    return WSManFault(
        "w:InternalError",
        "The system cannot find the file specified. ",
        2147942402,
        code="s:Receiver",
        provider=("Shell cmd plugin", r"%systemroot%\system32\winrscmd.dll"),
    )


def fault_schema() -> WSManFault:
    """Malformed envelope: w:SchemaValidationError, 0x80338041 (pywinrm tests/test_exceptions.py)."""
    return WSManFault(
        "w:SchemaValidationError",
        "The SOAP XML in the message does not match the corresponding XML schema definition. "
        "Change the XML and retry. ",
        2150858817,
    )


def fault_action_not_supported(action: str) -> WSManFault:
    return WSManFault(
        "a:ActionNotSupported",
        "The action is not supported by the service. ",
        2150858753,
        f"The WS-Management service cannot process the request. The action {action} is not supported. ",
    )


@dataclass
class WSManRequest:
    action: str
    message_id: str
    resource_uri: str
    to: str
    operation_timeout: float
    selectors: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    body: ET.Element | None = None
    locale: str = "en-US"

    @property
    def shell_id(self) -> str | None:
        return self.selectors.get("ShellId")


def _text(parent: ET.Element, path: str) -> str:
    el = parent.find(path)
    return (el.text or "").strip() if el is not None else ""


def parse_request(data: bytes, *, default_timeout: float = 60.0) -> WSManRequest:
    """Parse a SOAP 1.2 WS-Man request; malformed input raises the schema-validation fault."""
    try:
        root = xmlsafe.parse_fast(data)  # no DTDs in SOAP, and no entity bombs, wherever they sit
    except (xmlsafe.XMLForbidden, ET.ParseError) as exc:
        raise fault_schema() from exc
    header = root.find(f"{{{NS_S}}}Header")
    if root.tag != f"{{{NS_S}}}Envelope" or header is None:
        raise fault_schema()
    action = _text(header, f"{{{NS_A}}}Action")
    message_id = _text(header, f"{{{NS_A}}}MessageID")
    if not action or not message_id:
        raise fault_schema()
    req = WSManRequest(
        action=action,
        message_id=message_id,
        resource_uri=_text(header, f"{{{NS_W}}}ResourceURI"),
        to=_text(header, f"{{{NS_A}}}To"),
        operation_timeout=parse_duration(_text(header, f"{{{NS_W}}}OperationTimeout"), default_timeout),
        body=root.find(f"{{{NS_S}}}Body"),
    )
    for sel in header.iterfind(f"{{{NS_W}}}SelectorSet/{{{NS_W}}}Selector"):
        req.selectors[sel.get("Name", "")] = (sel.text or "").strip()
    for opt in header.iterfind(f"{{{NS_W}}}OptionSet/{{{NS_W}}}Option"):
        req.options[opt.get("Name", "")] = (opt.text or "").strip()
    locale = header.find(f"{{{NS_W}}}Locale")
    if locale is not None:
        req.locale = locale.get("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    return req


def envelope(action: str, relates_to: str, body: str, *, activity_id: bool = False) -> bytes:
    """A response envelope; `body` is the inner XML of s:Body (already escaped)."""
    activity = f"<p:ActivityId>{new_id()}</p:ActivityId>" if activity_id else ""
    return (
        f"{_ENV_OPEN}<s:Header><a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{new_id()}</a:MessageID>{activity}<a:To>{ANONYMOUS}</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def fault_envelope(fault: WSManFault, relates_to: str, machine: str) -> bytes:
    detail = ""
    if fault.fault_detail:
        detail += f"<w:FaultDetail>{fault.fault_detail}</w:FaultDetail>"
    message = escape(fault.message)
    if fault.provider:
        name, path = fault.provider
        message = (
            f"<f:ProviderFault provider={quoteattr(name)} path={quoteattr(path)}>{message}</f:ProviderFault>"
        )
    detail += (
        '<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"'
        f' Code="{fault.wsman_code}" Machine={quoteattr(machine)}>'
        f"<f:Message>{message}</f:Message></f:WSManFault>"
    )
    body = (
        f"<s:Fault><s:Code><s:Value>{fault.code}</s:Value><s:Subcode><s:Value>{fault.subcode}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{escape(fault.reason)}</s:Text></s:Reason>'
        f"<s:Detail>{detail}</s:Detail></s:Fault>"
    )
    return envelope(ACTION_FAULT, relates_to, body, activity_id=fault.activity_id)
