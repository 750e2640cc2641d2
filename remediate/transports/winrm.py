"""WinRM transport on pywinrm's `winrm.protocol.Protocol`, one WinRS shell per host: the fallback
for what only pywinrm does (kerberos, credssp, certificate auth) and `winrm_client: pywinrm`.

connect() opens one shell (codepage 65001) and every step reuses it: Command, then Receive
polls bounded by the WS-Man OperationTimeout, then Signal terminate (which is also how a step
that passes its deadline is stopped). All pywinrm calls run on the shared thread pool, one at a
time per host (pywinrm sessions are not thread-safe).
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Any

import requests
from winrm.exceptions import (
    AuthenticationError as WinRMAuthError,
)
from winrm.exceptions import (
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)
from winrm.protocol import Protocol

from remediate.core.capture import BoundedBuffer
from remediate.core.errors import CommandTimeout, ConnectError, ProtocolError
from remediate.core.model import CommandResult, ConnectionSpec, Shell
from remediate.transports.decode import decode_capture, truncated_map
from remediate.transports.pool import CANCEL_POLL, HostWorker, StepTimeout
from remediate.transports.wsman_common import (
    SHELL_NOT_FOUND,
    LibraryErrors,
    endpoint_url,
    translate,
    winrs_command,
)

# pywinrm has no separate "negotiate": its ntlm method is requests_ntlm (NTLM inside the
# Negotiate header, like Windows' own clients when Kerberos is unavailable).
_AUTH = {
    "negotiate": "ntlm",
    "ntlm": "ntlm",
    "kerberos": "kerberos",
    "credssp": "credssp",
    "basic": "basic",
    "certificate": "certificate",
}
# pywinrm's WSManFaultError.code is the HTTP status; the WS-Man fault code is wsman_fault_code.
PYWINRM_ERRORS = LibraryErrors(
    auth=WinRMAuthError,
    fault=WSManFaultError,
    fault_code=lambda e: getattr(e, "wsman_fault_code", None),
    http=WinRMTransportError,
    base=WinRMError,
)


class _Protocol(Protocol):
    """pywinrm's Protocol with a fractional OperationTimeout (pywinrm writes whole seconds),
    so a Receive poll can end exactly at the step deadline instead of up to a second later."""

    poll_timeout: float | None = None

    def build_wsman_header(
        self, action: str, resource_uri: str, shell_id: str | None = None, message_id: Any = None
    ) -> dict[str, Any]:
        header = super().build_wsman_header(action, resource_uri, shell_id, message_id)
        if self.poll_timeout is not None:
            header["env:Header"]["w:OperationTimeout"] = f"PT{self.poll_timeout:.3f}S"
        return header


class PyWinRMTransport:
    """`Transport` for connection=winrm through pywinrm (see wsman_common.winrm_client)."""

    def __init__(self, spec: ConnectionSpec) -> None:
        self.spec = spec
        self._worker = HostWorker()
        self._proto: _Protocol | None = None
        self._shell_id: str | None = None
        self._cancel = threading.Event()  # set when the awaiting step is cancelled (Ctrl-C)

    def __repr__(self) -> str:
        return f"PyWinRMTransport(host={self.spec.host!r}, endpoint={endpoint_url(self.spec)!r})"

    # --- blocking side (runs on the pool) -------------------------------------------------

    def _protocol(self) -> _Protocol:
        spec = self.spec
        op = max(1, math.ceil(spec.operation_timeout))
        kwargs: dict[str, Any] = {
            "transport": _AUTH.get(spec.auth, spec.auth),
            "username": spec.user,
            "password": spec.password,
            "server_cert_validation": "validate" if spec.cert_validation else "ignore",
            "read_timeout_sec": op + max(5, math.ceil(spec.connect_timeout)),
            "operation_timeout_sec": op,
            "message_encryption": spec.message_encryption,
        }
        # The CA bundle to trust: the host's ca_path, else the usual requests variables, else
        # certifi (passing it explicitly avoids pywinrm's deprecated implicit lookup).
        ca = spec.ca_path or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        kwargs["ca_trust_path"] = ca or None
        if spec.cert_pem:
            kwargs["cert_pem"] = spec.cert_pem
            kwargs["cert_key_pem"] = spec.cert_key_pem
        return _Protocol(endpoint_url(spec), **kwargs)

    def _open(self) -> None:
        proto = self._proto or self._protocol()
        self._proto = proto
        self._shell_id = proto.open_shell(codepage=self.spec.codepage, noprofile=True)

    def _step(self, command: str, deadline: float) -> tuple[BoundedBuffer, BoundedBuffer, int]:
        proto, shell_id = self._proto, self._shell_id
        assert proto is not None and shell_id is not None
        try:
            command_id = proto.run_command(shell_id, command)
        except WSManFaultError as exc:
            if exc.wsman_fault_code != SHELL_NOT_FOUND:
                raise
            self._open()  # the server dropped our shell: open a new one, once
            proto, shell_id = self._proto, self._shell_id
            assert proto is not None and shell_id is not None
            command_id = proto.run_command(shell_id, command)
        out = BoundedBuffer(self.spec.max_output)  # head + tail per stream (core/capture.py)
        err = BoundedBuffer(self.spec.max_output)
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._cancel.is_set():
                    raise StepTimeout  # past the deadline or cancelled (Ctrl-C): signal terminate
                # Each Receive waits at most the operation timeout, trimmed to the step deadline
                # and to CANCEL_POLL, so a cancelled step is noticed soon.
                proto.operation_timeout_sec = max(
                    1, min(math.ceil(self.spec.operation_timeout), CANCEL_POLL, math.ceil(remaining))
                )
                try:
                    stdout, stderr, rc, done = proto.get_command_output_raw(shell_id, command_id)
                except WinRMOperationTimeoutError:
                    continue
                finally:
                    proto.poll_timeout = None
                out.append(stdout)
                err.append(stderr)
                if done:
                    return out, err, rc
        finally:
            # Signal terminate: ends a command still running (timeout) and frees a finished one.
            try:
                proto.cleanup_command(shell_id, command_id)
            except (WinRMError, WinRMTransportError, requests.exceptions.RequestException):
                pass

    def _close(self) -> None:
        proto, shell_id = self._proto, self._shell_id
        self._proto = self._shell_id = None
        if proto is None:
            return
        try:
            if shell_id is not None:
                proto.close_shell(shell_id)
        except (WinRMError, WinRMTransportError, requests.exceptions.RequestException, AssertionError):
            pass
        finally:
            proto.transport.close_session()

    # --- async side -----------------------------------------------------------------------

    async def connect(self) -> None:
        try:
            await self._worker.call(self._open)
        except Exception as exc:
            raise translate(exc, self.spec, PYWINRM_ERRORS) from None

    async def run(self, script: str, *, shell: Shell, timeout: float) -> CommandResult:
        if shell not in ("cmd", "powershell"):
            raise ProtocolError(f"winrm: shell {shell!r} is not available on Windows", host=self.spec.host)
        if self._shell_id is None:
            raise ConnectError("winrm: not connected", host=self.spec.host)
        started = time.monotonic()
        self._cancel.clear()
        try:
            out, err, rc = await self._worker.call(
                self._step, winrs_command(script, shell), started + timeout, on_cancel=self._cancel.set
            )
        except StepTimeout:
            raise CommandTimeout(f"winrm: step exceeded {timeout:g}s", host=self.spec.host) from None
        except Exception as exc:
            raise translate(exc, self.spec, PYWINRM_ERRORS) from None
        stdout, out_dropped = decode_capture(out, self.spec.output_encoding)
        stderr, err_dropped = decode_capture(err, self.spec.output_encoding, stderr=True)
        return CommandResult(
            rc=rc,
            stdout=stdout,
            stderr=stderr,
            elapsed=time.monotonic() - started,
            truncated=truncated_map(stdout=out_dropped, stderr=err_dropped),
        )

    async def close(self) -> None:
        await self._worker.call(self._close)
