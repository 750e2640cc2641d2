"""The lab's SSH endpoint: one asyncssh server per emulated host, behaving like Windows OpenSSH.

Windows OpenSSH with the default shell (cmd.exe) runs an exec request as `cmd.exe /c <command>`
in a console using the system OEM codepage, and reports the process exit code as the SSH exit
status. Password authentication checks the local account; Windows accepts the account name
bare, as `HOST\\user` / `.\\user`, or as `user@domain`.
"""

from __future__ import annotations

import asyncio
import logging

import asyncssh

from remediate.lab.api import EmulatedHost, Stdin

log = logging.getLogger(__name__)


def user_matches(host: EmulatedHost, username: str) -> bool:
    """True when `username` names the host's local account in a form Windows accepts."""
    wanted = host.username.casefold()
    short = host.name.casefold()
    fqdn = host.fqdn.casefold()
    domain = fqdn.partition(".")[2]
    name = username.casefold()
    if "\\" in name:
        prefix, _, user = name.partition("\\")
        return user == wanted and prefix in {".", short, fqdn.partition(".")[0], domain}
    if "@" in name:
        user, _, suffix = name.rpartition("@")
        return user == wanted and suffix in {short, fqdn, domain, "."}
    return name == wanted


class _WindowsSession(asyncssh.SSHServerSession[bytes]):
    """One SSH channel: an exec request runs through the host's cmd.exe emulation."""

    def __init__(self, host: EmulatedHost) -> None:
        self._host = host
        self._chan: asyncssh.SSHServerChannel[bytes] | None = None
        self._command: str | None = None
        self._stdin = Stdin()
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self._chan = chan

    def shell_requested(self) -> bool:
        # Interactive shells are not part of the lab: remediate only sends exec requests.
        return False

    def exec_requested(self, command: str) -> bool:
        self._command = command
        return True

    def session_started(self) -> None:
        if self._command is not None:
            self._task = asyncio.get_running_loop().create_task(self._run(self._command))

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        self._stdin.feed(data)

    def eof_received(self) -> bool:
        # The client closed stdin (remediate sends EOF at once). Keep our side open: returning
        # False would make asyncssh half-close the channel, and a command still running (an /ato
        # waiting on DNS and the KMS host) could then never send its output and exit status.
        self._stdin.close()
        return True

    def signal_received(self, signal: str) -> None:
        # Windows OpenSSH terminates the child on any signal; we do the same.
        self._stop()

    def break_received(self, msec: int) -> bool:
        self._stop()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        # The client closed the channel (step timeout, disconnect): stop the command.
        self._stop()

    def _stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _run(self, command: str) -> None:
        assert self._chan is not None
        chan = self._chan
        try:
            result = await self._host.run_command(
                command, codepage=self._host.oem_codepage, stdin=self._stdin
            )
        except asyncio.CancelledError:
            if not chan.is_closing():
                chan.exit(1)
            raise
        except Exception:
            log.exception("lab ssh: command failed on %s", self._host.name)
            if not chan.is_closing():
                chan.write_stderr(b"The lab host failed to run the command.\r\n")
                chan.exit(1)
            return
        if chan.is_closing():
            return
        if result.stdout:
            chan.write(result.stdout)
        if result.stderr:
            chan.write_stderr(result.stderr)
        chan.exit(result.rc & 0xFFFFFFFF)  # SSH exit status is a uint32, like a Windows DWORD


class _WindowsSSHServer(asyncssh.SSHServer):
    def __init__(self, host: EmulatedHost) -> None:
        self._host = host

    def begin_auth(self, username: str) -> bool:
        return True  # authentication is always required

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return user_matches(self._host, username) and password == self._host.password

    def session_requested(self) -> asyncssh.SSHServerSession[bytes]:
        return _WindowsSession(self._host)


async def serve_ssh(
    host: EmulatedHost, *, bind: str, port: int, host_keys: list[asyncssh.SSHKey]
) -> asyncssh.SSHAcceptor:
    """Serve `host` over SSH on bind:port (port 0 picks a free one; see `acceptor.get_port()`)."""
    return await asyncssh.listen(
        bind,
        port,
        server_factory=lambda: _WindowsSSHServer(host),
        server_host_keys=host_keys,
        encoding=None,  # bytes in, bytes out: the host already encoded its console output
        # Windows OpenSSH identifies itself like this (OpenSSH_for_Windows_9.5).
        server_version="OpenSSH_for_Windows_9.5",
        allow_scp=False,
    )
