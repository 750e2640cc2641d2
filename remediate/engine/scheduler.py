"""The asyncio scheduler: forks, serial batches, the circuit breaker, graceful stop.

`run_playbook` never raises for a host's problem: every host ends with a HostResult, redacted
and handed to the observers (`RunEvents.host_finished`) the moment it finishes; the engine
writes no file. Setting `stop` (the CLI does on Ctrl-C) stops starting hosts; running hosts end
after their current step; the rest are `skipped`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from remediate.core.errors import error_text
from remediate.core.model import ConnectionSpec
from remediate.core.redact import Redactor
from remediate.core.results import HostResult, RunResult
from remediate.engine.events import RunEvents
from remediate.engine.hostrun import HostRun
from remediate.engine.lockout import CredentialGuard
from remediate.engine.options import RunOptions
from remediate.engine.redaction import redact_host
from remediate.engine.serial import make_batches
from remediate.inventory.connection import connection_spec, security_warnings
from remediate.transports.base import Transport

_log = logging.getLogger("remediate")

if TYPE_CHECKING:
    from remediate.core.playbook import Playbook
    from remediate.core.render import Renderer
    from remediate.inventory import Host
    from remediate.inventory.credentials import CredentialResolver


def make_transport(spec: ConnectionSpec) -> Transport:
    """Default factory: the real transports (imported lazily; `fake` has no default script)."""
    from remediate.transports import make_transport as real

    return real(spec)


BREAKER_NAMES = 5  # harmful hosts named in the breaker's reason


def is_harmful(hr: HostResult) -> bool:
    """A host the breaker counts: this run changed it (a fix ran) and it did not end fixed."""
    return hr.changed and hr.verdict != "fixed"


def _secrets_of(host: Host, spec: ConnectionSpec | None) -> list[str | None]:
    # secrets only: a vault-held kms_host is masked in listings but must stay readable in output
    found: list[str | None] = [v for k, v in host.vars.items() if isinstance(v, str) and host.is_secret(k)]
    if spec is not None:
        found += [spec.password, spec.cert_key_pem]
    return found


class _Run:
    """State shared by every host task of one run."""

    def __init__(
        self,
        playbook: Playbook,
        hosts: Sequence[Host],
        options: RunOptions,
        events: RunEvents,
        redactor: Redactor,
        stop: asyncio.Event,
    ) -> None:
        self.options, self.events, self.redactor, self.stop = options, events, redactor, stop
        self.result = RunResult(
            playbook=playbook.name, mode="apply" if options.apply else "dry_run", started=time.time()
        )
        self.order = [h.name for h in hosts]
        self.done: dict[str, HostResult] = {}
        self.stop_reason: str | None = None

    def finish(self, hr: HostResult) -> None:
        """Every host's result passes here once: redacted, kept, and told to the observers."""
        hr = redact_host(self.redactor, hr)
        self.done[hr.host] = hr
        self.events.host_finished(hr)

    def batch_ended(self, number: int, batch: Sequence[Host]) -> None:
        """The circuit breaker, evaluated once per finished batch (like Ansible's).

        It counts the hosts this run changed (a fix ran) that did not end `fixed`: the sign that
        the change itself does harm. Hosts broken before the run (no fix ran) and unreachable
        hosts are not its business. Above the limit, the remaining batches are skipped.
        """
        limit = self.options.max_fail_percentage
        if limit is None or self.stop_reason is not None or not batch:
            return
        harmful = [h.name for h in batch if h.name in self.done and is_harmful(self.done[h.name])]
        pct = len(harmful) * 100 / len(batch)
        if pct > limit:
            shown = ", ".join(harmful[:BREAKER_NAMES]) + (
                f", +{len(harmful) - BREAKER_NAMES}" if len(harmful) > BREAKER_NAMES else ""
            )
            self.stop_reason = (
                f"max fail percentage {limit:g}% exceeded in batch {number}: {len(harmful)} of "
                f"{len(batch)} hosts ({pct:.0f}%) changed and did not end fixed ({shown})"
            )

    def skip_reason(self) -> str | None:
        if self.stop.is_set():
            return "interrupted"
        return self.stop_reason

    def skip(self, name: str, reason: str) -> None:
        self.finish(HostResult(host=name, verdict="skipped", error=f"not started: {reason}"))


async def run_playbook(
    playbook: Playbook,
    hosts: Sequence[Host],
    options: RunOptions,
    *,
    credentials: CredentialResolver,
    transport_factory: Callable[[ConnectionSpec], Transport] = make_transport,
    events: RunEvents | None = None,
    stop: asyncio.Event | None = None,
    renderer: Renderer | None = None,
) -> RunResult:
    """Run `playbook` on `hosts`. `events`: the observers (see events.Observers for several);
    `stop`: set it to stop gracefully (Ctrl-C); `renderer`: the run's one Renderer (pass the
    one the playbook was loaded with; a new one otherwise)."""
    if renderer is None:
        from remediate.core.render import Renderer

        renderer = Renderer()
    events = events or RunEvents()
    stop = stop or asyncio.Event()
    batches = make_batches(list(hosts), options.serial)  # validates --serial before anything runs
    redactor = Redactor()
    # Resolve connection specs first: a credential prompt happens once, before any progress UI.
    specs: dict[str, ConnectionSpec | Exception] = {}
    for h in hosts:
        try:
            specs[h.name] = connection_spec(h, credentials, max_output=options.max_output)
        except Exception as e:
            specs[h.name] = e
        spec = specs[h.name]
        redactor.add(*_secrets_of(h, spec if isinstance(spec, ConnectionSpec) else None))
    run = _Run(playbook, hosts, options, events, redactor, stop)
    run.result.warnings = security_warnings({n: s for n, s in specs.items() if isinstance(s, ConnectionSpec)})
    for warning in run.result.warnings:
        _log.warning("%s", warning)  # once per run, whatever the number of hosts
    guard = CredentialGuard(options.auth_fail_limit)
    forks = asyncio.Semaphore(max(1, options.forks))
    # The TCP probe (connect.py) only makes sense for real sockets, not a test's fake transport.
    probe = options.tcp_probe if options.tcp_probe is not None else transport_factory is make_transport
    events.run_started(playbook.name, run.order, run.result.mode)

    async def one(host: Host) -> None:
        async with forks:
            reason = run.skip_reason()
            if reason is not None:
                run.skip(host.name, reason)
                return
            spec = specs[host.name]
            events.host_started(host.name)
            if isinstance(spec, Exception):
                hr = HostResult(host=host.name, verdict="failed", error=error_text(spec))
            else:
                hr = await HostRun(
                    playbook=playbook,
                    host=host,
                    spec=spec,
                    options=options,
                    renderer=renderer,
                    redactor=redactor,
                    guard=guard,
                    transport_factory=transport_factory,
                    events=events,
                    stop=stop,
                    tcp_probe=probe,
                ).run()
            run.finish(hr)

    for number, batch in enumerate(batches, 1):
        reason = run.skip_reason()
        if reason is not None:
            for h in batch:
                run.skip(h.name, reason)
            continue
        async with asyncio.TaskGroup() as tg:
            for h in batch:
                tg.create_task(one(h))
        run.batch_ended(number, batch)
    result = run.result
    result.hosts = [run.done[n] for n in run.order if n in run.done]
    result.finished = time.time()
    result.interrupted = stop.is_set()
    events.run_finished(result)
    return result
