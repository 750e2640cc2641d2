"""Every exception remediate raises on purpose, in one tree (as httpx writes out its own):

* RemediateError                  base; the CLI prints "error: <message>" and exits 1
  + ConfigError                   broken inventory / playbook / pattern / template, before connecting
  + CredentialError               a password reference could not be resolved
  + RenderError                   a template could not be rendered for one host
  + ParseError                    a step's output could not be parsed (also a ValueError)
  + TransportError                reaching or talking to a host failed; `.host` names it
    - AuthenticationError         credentials rejected (HTTP 401, SSH auth): never retried
    - ConnectError                refused, DNS, reset, TLS handshake: transient, retried
      . CertificateError          server certificate / host key not trusted: not retried
    - CommandTimeout              a step exceeded its timeout; the command was told to stop
    - ProtocolError               the peer answered something unusable (bad reply, HTTP status)
      . WSManFault                a SOAP fault from a WS-Man endpoint; `.code` is its WSManFault code

Domains subclass these (the KMS parsers' ParseError is a ParseError). Transports raise only
TransportError subclasses: whatever a client library raises is translated at the transport's edge.
"""

from __future__ import annotations

from collections.abc import Iterable


class RemediateError(Exception):
    """Base of every error remediate raises on purpose (exit code 1 at the CLI)."""


class ConfigError(RemediateError):
    """A broken inventory, playbook, pattern or template, found before anything connects.

    str(e) == "inventories/prod.yml:12: hosts.web1.ansible_port: expected an integer, got 'abc'"
    """

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, field: str | None = None
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        elif self.line:
            where = f"line {self.line}: "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"

    def __str__(self) -> str:
        return self._format()


class RenderError(RemediateError):
    """A template could not be rendered for one host (undefined variable, unsafe value)."""

    def __init__(self, message: str, *, step: str | None = None, variable: str | None = None) -> None:
        self.message = message
        self.step = step
        self.variable = variable
        super().__init__(f"step {step}: {message}" if step else message)


class CredentialError(RemediateError):
    """A password reference could not be resolved (unset variable, unreadable file)."""


class ParseError(RemediateError, ValueError):
    """The output could not be parsed by the named parser (or the name is unknown)."""


class TransportError(RemediateError):
    """Base of every transport failure."""

    def __init__(self, message: str, *, host: str | None = None) -> None:
        super().__init__(message)
        self.host = host


class AuthenticationError(TransportError):
    """Credentials rejected (HTTP 401, SSH auth failure). Never retried."""


class ConnectError(TransportError):
    """Could not reach the host (refused, DNS, TLS handshake, reset). Transient: retried.

    `unanswered` is True when a reused connection closed before a single byte of the answer
    (the server never saw the request, so sending it again cannot run a command twice).
    """

    def __init__(self, message: str, *, host: str | None = None, unanswered: bool = False) -> None:
        super().__init__(message, host=host)
        self.unanswered = unanswered


class CertificateError(ConnectError):
    """TLS certificate validation failed. Not retried: it will not fix itself."""


class CommandTimeout(TransportError):
    """A step exceeded its timeout; the remote command was signalled to stop."""


class ProtocolError(TransportError):
    """The peer answered with something the client cannot use (WS-Man fault, bad reply)."""


class WSManFault(ProtocolError):
    """A SOAP fault from a WS-Man endpoint. `code` is the WSManFault Code (MS-WSMV), when given."""

    def __init__(self, message: str, *, code: int | None, reason: str, host: str | None = None) -> None:
        super().__init__(message, host=host)
        self.code = code
        self.reason = reason


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """' (did you mean 'hosts'?)' when a close option exists, else ''."""
    import difflib

    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def error_text(e: BaseException) -> str:
    """'ConnectError: host refused' (or just the type's name when the exception has no text)."""
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
