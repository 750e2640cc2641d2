"""PSRP transport: pypsrp `WSMan` + one `RunspacePool` per host, plus one WinRS shell for cmd.

PowerShell steps run as `PowerShell(pool).add_script(script)` in the host's runspace pool:
output objects joined with "\\n", error records rendered the way a PowerShell 5.1 console shows
them, rc 1 when the pipeline had errors. cmd steps use a `pypsrp.shell.WinRS` shell (codepage
65001) on the same WSMan connection, opened on first use and then reused. All pypsrp calls run
on the shared thread pool, one at a time per host.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from typing import Any

import requests
from pypsrp.complex_objects import PSInvocationState
from pypsrp.exceptions import AuthenticationError as PSRPAuthError
from pypsrp.exceptions import WinRMError, WinRMTransportError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.shell import Process, SignalCode, WinRS
from pypsrp.wsman import WSMan

from remediate.core.capture import BoundedBuffer, cap_text
from remediate.core.errors import CommandTimeout, ConnectError, ProtocolError
from remediate.core.model import CommandResult, ConnectionSpec, Shell
from remediate.transports import kerberos as kerberos_auth
from remediate.transports.decode import decode_capture, truncated_map
from remediate.transports.pool import CANCEL_POLL, HostWorker, StepTimeout
from remediate.transports.wsman_common import LibraryErrors, endpoint, translate

# pypsrp's WSManFaultError.code is the WS-Man fault code.
PYPSRP_ERRORS = LibraryErrors(
    auth=PSRPAuthError,
    fault=WSManFaultError,
    fault_code=lambda e: getattr(e, "code", None),
    http=WinRMTransportError,
    base=WinRMError,
)


def render_error(record: Any) -> str:
    """An ErrorRecord as PowerShell 5.1's console prints it (command : message, position, info)."""
    name = getattr(record, "command_name", None)
    lines = [f"{name} : {record}" if name else str(record)]
    position = getattr(record, "invocation_position_message", None)
    if position:
        lines.append(str(position))
    category = getattr(record, "message", None)
    if category:
        lines.append(f"    + CategoryInfo          : {category}")
    fq_error = getattr(record, "fq_error", None)
    if fq_error:
        lines.append(f"    + FullyQualifiedErrorId : {fq_error}")
    return "\r\n".join(lines)


class PSRPTransport:
    def __init__(self, spec: ConnectionSpec) -> None:
        self.spec = spec
        self._worker = HostWorker()
        self._wsman: WSMan | None = None
        self._pool: RunspacePool | None = None
        self._winrs: WinRS | None = None
        self._kerberos: tuple[Any, str] | None = None  # (shared ccache credential, SPN host)
        # Set when the awaiting step is cancelled (Ctrl-C): the thread sees it at its next poll
        # (at most CANCEL_POLL away), stops the pipeline / signals terminate, and returns.
        self._cancel = threading.Event()

    def __repr__(self) -> str:
        return f"PSRPTransport(host={self.spec.host!r}, address={self.spec.address!r})"

    @property
    def _op_timeout(self) -> int:
        return max(1, math.ceil(self.spec.operation_timeout))

    def _poll_timeout(self, deadline: float) -> Any:
        """OperationTimeout for the next Receive: pypsrp writes it as `PT{value}S`, so a
        fraction of a second works and the poll ends at the step deadline."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or self._cancel.is_set():
            raise StepTimeout  # the pipeline is stopped / the command signalled terminate
        return round(max(0.2, min(self.spec.operation_timeout, CANCEL_POLL, remaining)), 3)

    # --- blocking side (runs on the pool) -------------------------------------------------

    def _open(self) -> None:
        spec = self.spec
        kwargs: dict[str, Any] = {}
        if spec.cert_pem:
            kwargs = {"certificate_pem": spec.cert_pem, "certificate_key_pem": spec.cert_key_pem}
        cert_validation: Any = spec.cert_validation
        if spec.cert_validation and spec.ca_path:
            cert_validation = spec.ca_path  # pypsrp takes a CA bundle path here
        address, port, _ = endpoint(spec)
        user: Any = spec.user
        password = spec.password
        if self._kerberos is not None:
            user, password = self._kerberos[0], None
            kwargs["negotiate_hostname_override"] = self._kerberos[1]
            kwargs["negotiate_service"] = kerberos_auth.SERVICE
        self._wsman = WSMan(
            address,
            port=port,
            username=user,
            password=password,
            ssl=spec.scheme == "https",
            path=spec.path,
            auth=spec.auth,
            cert_validation=cert_validation,
            connection_timeout=max(1, math.ceil(spec.connect_timeout)),
            encryption=spec.message_encryption,
            operation_timeout=self._op_timeout,
            read_timeout=self._op_timeout + 10,
            **kwargs,
        )
        pool = RunspacePool(self._wsman)
        pool.open()
        self._pool = pool

    def _powershell(self, script: str, deadline: float) -> tuple[str, str, int, dict[str, int]]:
        assert self._pool is not None
        ps = PowerShell(self._pool)
        ps.add_script(script)
        ps.begin_invoke()
        # Output objects move into a bounded buffer after every poll (core/capture.py), so pypsrp's
        # list never holds more than one Receive's worth.
        out = BoundedBuffer(self.spec.max_output)
        first = True

        def take() -> None:
            nonlocal first
            for o in ps.output:
                out.append(("" if first else "\n").encode() + ("" if o is None else str(o)).encode())
                first = False
            ps.output.clear()

        try:
            while ps.state == PSInvocationState.RUNNING:
                ps.poll_invoke(timeout=self._poll_timeout(deadline))
                take()
            take()
        except StepTimeout:
            try:
                ps.stop()  # PS_CTRL_C signal to the pipeline
            except (WinRMError, requests.exceptions.RequestException):
                pass
            raise
        stdout, out_dropped = decode_capture(out, "utf-8")
        stderr, err_dropped = cap_text(
            "\r\n".join(render_error(e) for e in ps.streams.error), self.spec.max_output
        )
        truncated = truncated_map(stdout=out_dropped, stderr=err_dropped)
        return stdout, stderr, 1 if ps.had_errors else 0, truncated

    def _cmd(self, script: str, deadline: float) -> tuple[BoundedBuffer, BoundedBuffer, int]:
        assert self._wsman is not None
        if self._winrs is None:
            winrs = WinRS(self._wsman, codepage=self.spec.codepage, no_profile=True)
            winrs.open()
            self._winrs = winrs
        process = Process(self._winrs, script.strip())
        process.begin_invoke()
        out = BoundedBuffer(self.spec.max_output)  # pypsrp's bytes move here after every poll
        err = BoundedBuffer(self.spec.max_output)
        try:
            while process.rc is None:
                process.poll_invoke(timeout=self._poll_timeout(deadline))
                out.append(process.stdout)
                err.append(process.stderr)
                process.stdout = process.stderr = b""
        finally:
            # terminate ends a command past its deadline and frees a finished one (as WinRS does)
            try:
                process.signal(SignalCode.TERMINATE)
            except (WinRMError, requests.exceptions.RequestException):
                pass
        return out, err, int(process.rc)

    def _close(self) -> None:
        winrs, pool, wsman = self._winrs, self._pool, self._wsman
        self._winrs = self._pool = self._wsman = None
        for closer in (winrs, pool, wsman):
            if closer is None:
                continue
            try:
                closer.close()
            except (WinRMError, requests.exceptions.RequestException, OSError):
                pass

    # --- async side -----------------------------------------------------------------------

    async def connect(self) -> None:
        if self.spec.auth == "kerberos":
            # The credential's shared ticket cache, handed to pypsrp (which passes it to pyspnego)
            # in place of the user name: no per-host logon.
            spn = kerberos_auth.spn_host(self.spec)  # an IP fails here, before connecting
            ccache = kerberos_auth.TICKETS.cached(self.spec.user or "", self.spec.password or "")
            if ccache is None:
                ccache = await asyncio.to_thread(kerberos_auth.TICKETS.get, self.spec)
            self._kerberos = (ccache, spn)
        try:
            await self._worker.call(self._open)
        except Exception as exc:
            raise translate(exc, self.spec, PYPSRP_ERRORS) from None

    async def run(self, script: str, *, shell: Shell, timeout: float) -> CommandResult:
        if shell not in ("cmd", "powershell"):
            raise ProtocolError(f"psrp: shell {shell!r} is not available on Windows", host=self.spec.host)
        if self._pool is None:
            raise ConnectError("psrp: not connected", host=self.spec.host)
        started = time.monotonic()
        deadline = started + timeout
        self._cancel.clear()
        try:
            if shell == "powershell":
                stdout, stderr, rc, truncated = await self._worker.call(
                    self._powershell, script, deadline, on_cancel=self._cancel.set
                )
            else:
                out, err, rc = await self._worker.call(
                    self._cmd, script, deadline, on_cancel=self._cancel.set
                )
                stdout, out_dropped = decode_capture(out, self.spec.output_encoding)
                stderr, err_dropped = decode_capture(err, self.spec.output_encoding, stderr=True)
                truncated = truncated_map(stdout=out_dropped, stderr=err_dropped)
        except StepTimeout:
            raise CommandTimeout(f"psrp: step exceeded {timeout:g}s", host=self.spec.host) from None
        except Exception as exc:
            raise translate(exc, self.spec, PYPSRP_ERRORS) from None
        elapsed = time.monotonic() - started
        return CommandResult(rc=rc, stdout=stdout, stderr=stderr, elapsed=elapsed, truncated=truncated)

    async def close(self) -> None:
        await self._worker.call(self._close)
