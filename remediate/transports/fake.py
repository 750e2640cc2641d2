"""FakeTransport: a scripted in-memory host for engine unit tests (httpx's MockTransport idea).

A `FakeFleet` holds one `FakeHost` per inventory name; `fleet.factory` is a transport factory
for `run_playbook`. Each FakeHost scripts connect behaviour (errors per attempt, latency, hang)
and command responses (first matching rule wins; a rule can be a callable that reads and
mutates the host's `state`, so a fix can change what the next check sees). The fleet records
every connect attempt, every command and the peak concurrency, for assertions.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from remediate.core.errors import CommandTimeout, ConnectError, TransportError
from remediate.core.model import CommandResult, ConnectionSpec, Shell


@dataclass
class Reply:
    rc: int = 0
    stdout: str = ""
    stderr: str = ""
    delay: float = 0.0  # seconds before answering
    hang: bool = False  # never answer (until the step timeout)
    raises: BaseException | None = None  # raise this instead of answering


Responder = Callable[[str, dict[str, Any]], "Reply | str"]


@dataclass
class FakeHost:
    name: str
    # Connect: each attempt pops the next item; None = success. After the list: success.
    connect_errors: list[BaseException | None] = field(default_factory=list)
    connect_delay: float = 0.0
    connect_hang: bool = False
    rules: list[tuple[re.Pattern[str], Reply | Responder]] = field(default_factory=list)
    default: Reply = field(default_factory=lambda: Reply(rc=1, stderr="fake: no rule matched"))
    state: dict[str, Any] = field(default_factory=dict)

    def on(self, pattern: str, reply: Reply | Responder | str) -> FakeHost:
        """Answer scripts matching `pattern` (regex, searched) with `reply` (str -> stdout, rc 0)."""
        r: Reply | Responder = Reply(stdout=reply) if isinstance(reply, str) else reply
        self.rules.append((re.compile(pattern), r))
        return self

    def answer(self, script: str) -> Reply:
        for pattern, reply in self.rules:
            if pattern.search(script):
                if isinstance(reply, Reply):
                    return reply
                out = reply(script, self.state)
                return Reply(stdout=out) if isinstance(out, str) else out
        return self.default


@dataclass
class FakeFleet:
    hosts: dict[str, FakeHost] = field(default_factory=dict)
    connects: list[tuple[str, str | None]] = field(default_factory=list)  # (host, credential_id)
    commands: list[tuple[str, str]] = field(default_factory=list)  # (host, script)
    closed: list[str] = field(default_factory=list)
    in_flight: int = 0  # hosts with an open connection
    peak_in_flight: int = 0

    def host(self, name: str) -> FakeHost:
        if name not in self.hosts:
            self.hosts[name] = FakeHost(name)
        return self.hosts[name]

    def factory(self, spec: ConnectionSpec) -> FakeTransport:
        return FakeTransport(spec, self)

    def scripts_for(self, host: str) -> list[str]:
        return [s for h, s in self.commands if h == host]


class FakeTransport:
    def __init__(self, spec: ConnectionSpec, fleet: FakeFleet | None = None) -> None:
        self.spec = spec
        self.fleet = fleet if fleet is not None else FakeFleet()
        self.fake = self.fleet.host(spec.host)
        self.connected = False

    def __repr__(self) -> str:
        return f"FakeTransport({self.spec.host!r})"

    async def connect(self) -> None:
        fleet, fake = self.fleet, self.fake
        fleet.connects.append((self.spec.host, self.spec.credential_id))
        if fake.connect_hang:
            await asyncio.Event().wait()
        if fake.connect_delay:
            await asyncio.sleep(fake.connect_delay)
        if fake.connect_errors:
            err = fake.connect_errors.pop(0)
            if err is not None:
                raise err
        self.connected = True
        fleet.in_flight += 1
        fleet.peak_in_flight = max(fleet.peak_in_flight, fleet.in_flight)

    async def run(self, script: str, *, shell: Shell, timeout: float) -> CommandResult:
        if not self.connected:
            raise ConnectError("fake: run() before connect()", host=self.spec.host)
        self.fleet.commands.append((self.spec.host, script))
        reply = self.fake.answer(script)
        start = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                if reply.hang:
                    await asyncio.Event().wait()
                if reply.delay:
                    await asyncio.sleep(reply.delay)
        except TimeoutError:
            raise CommandTimeout(f"command timed out after {timeout:g}s", host=self.spec.host) from None
        if reply.raises is not None:
            if isinstance(reply.raises, TransportError) and reply.raises.host is None:
                reply.raises.host = self.spec.host
            raise reply.raises
        return CommandResult(reply.rc, reply.stdout, reply.stderr, time.monotonic() - start)

    async def close(self) -> None:
        if self.connected:
            self.connected = False
            self.fleet.in_flight -= 1
            self.fleet.closed.append(self.spec.host)
