"""SSH transport (asyncssh, native async): Windows OpenSSH with cmd.exe as the default shell.

One connection per host, one exec channel per step. cmd scripts are sent as the command line
(sshd runs `cmd.exe /c <line>`); PowerShell scripts as `powershell.exe -NoProfile
-NonInteractive -EncodedCommand <base64 of UTF-16LE>`, so no quoting survives into cmd.exe.
"""

from __future__ import annotations

import asyncio
import time

import asyncssh

from remediate.core.capture import BoundedBuffer
from remediate.core.errors import (
    AuthenticationError,
    CertificateError,
    CommandTimeout,
    ConnectError,
    ProtocolError,
    TransportError,
)
from remediate.core.model import CommandResult, ConnectionSpec, Shell
from remediate.transports.commandline import powershell_command_line
from remediate.transports.decode import decode_capture, truncated_map

READ_SIZE = 64 * 1024


class SSHTransport:
    def __init__(self, spec: ConnectionSpec) -> None:
        self.spec = spec
        self._conn: asyncssh.SSHClientConnection | None = None

    def __repr__(self) -> str:
        return f"SSHTransport(host={self.spec.host!r}, address={self.spec.address!r})"

    async def connect(self) -> None:
        spec = self.spec
        options: dict[str, object] = {}  # default: ~/.ssh/known_hosts, as ssh(1) does
        if not spec.cert_validation:
            options["known_hosts"] = None  # accept any host key
        elif spec.ssh_known_hosts:
            options["known_hosts"] = spec.ssh_known_hosts
        try:
            self._conn = await asyncssh.connect(
                spec.address,
                port=spec.port or 22,
                username=spec.user,
                password=spec.password,
                client_keys=None,  # password auth only: never offer the operator's own keys
                agent_path=None,
                preferred_auth="password,keyboard-interactive",
                connect_timeout=spec.connect_timeout,
                **options,  # type: ignore[arg-type]
            )
        except asyncssh.PermissionDenied as exc:
            raise AuthenticationError(f"ssh: credentials rejected ({exc.reason})", host=spec.host) from None
        except asyncssh.HostKeyNotVerifiable as exc:
            raise CertificateError(f"ssh: host key not trusted ({exc.reason})", host=spec.host) from None
        except (OSError, TimeoutError, asyncssh.Error) as exc:
            raise ConnectError(f"ssh: cannot connect to {spec.address}: {exc}", host=spec.host) from None

    async def run(self, script: str, *, shell: Shell, timeout: float) -> CommandResult:
        if self._conn is None:
            raise ConnectError("ssh: not connected", host=self.spec.host)
        command = powershell_command_line(script) if shell == "powershell" else script
        started = time.monotonic()
        try:
            process = await self._conn.create_process(command, encoding=None, stdin=asyncssh.DEVNULL)
        except (OSError, asyncssh.Error) as exc:
            raise ConnectError(f"ssh: cannot open a channel: {exc}", host=self.spec.host) from None
        # Read both streams as they arrive into bounded buffers (core/capture.py): head + tail
        # kept, the rest drained and dropped, so a host printing gigabytes costs flat memory.
        out = BoundedBuffer(self.spec.max_output)
        err = BoundedBuffer(self.spec.max_output)
        try:
            await asyncio.wait_for(_collect(process, out, err), timeout)
        except TimeoutError:
            # Windows OpenSSH ends the child when the channel goes away; signal first anyway.
            try:
                process.terminate()
            except OSError:
                pass
            process.close()
            raise CommandTimeout(f"ssh: step exceeded {timeout:g}s", host=self.spec.host) from None
        except (OSError, asyncssh.Error) as exc:
            raise ConnectError(f"ssh: connection lost: {exc}", host=self.spec.host) from None
        except asyncio.CancelledError:  # Ctrl-C: signal the command, then close its channel
            try:
                process.terminate()
            except OSError:
                pass
            raise
        finally:
            process.close()
        rc = process.exit_status
        if rc is None:
            raise ProtocolError("ssh: channel closed without an exit status", host=self.spec.host)
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
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            try:
                await conn.wait_closed()
            except (OSError, asyncssh.Error, TransportError):
                pass


async def _collect(process: asyncssh.SSHClientProcess[bytes], out: BoundedBuffer, err: BoundedBuffer) -> None:
    """Both streams to EOF, then the channel's close (which carries the exit status)."""
    await asyncio.gather(_drain(process.stdout, out), _drain(process.stderr, err))
    await process.wait_closed()


async def _drain(stream: asyncssh.SSHReader[bytes], buf: BoundedBuffer) -> None:
    """Read one channel stream to EOF into `buf`."""
    while chunk := await stream.read(READ_SIZE):
        buf.append(chunk)
