"""`remediate run --workers URL`: dispatch a loaded run to the site workers and watch the store.

The controller validates everything a local run does (app.load), opens the run's row in the
shared store, sends one task per batch of a site's hosts to that site's queue, then polls the
store for the run's host records and feeds them to the same observers as a local run (live
progress, recap). A worker that stops answering (a started task's worker, via task_track_started
and app.control.ping; or no live consumer left on a site's queue for a queued task) is lost: its
unrecorded hosts are claimed by the controller (so no late delivery can fix them), recorded
`failed: worker lost`, and never re-sent; `remediate run --resume` completes them after
re-checking.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from remediate import app as runner
from remediate.core.errors import ConfigError, error_text
from remediate.core.results import EXIT_INTERRUPTED, HostResult, RunResult
from remediate.distributed.celeryapp import TASK_NAME, broker_url, make_app
from remediate.distributed.payload import Payload, safe_extra_vars
from remediate.distributed.sites import batches, queue_name, split_by_site
from remediate.engine import RunEvents, RunOptions
from remediate.history.recorder import host_record, host_result
from remediate.history.session import WORKER_LOST
from remediate.history.store import RecordCursor, Store

LOST_AFTER = 2  # consecutive liveness rounds without an answer before a worker is lost
PING_TIMEOUT = 1.0  # seconds app.control.ping / inspect wait for replies


@dataclass(frozen=True)
class Dispatch:
    broker: str | None  # --workers URL (None: $REMEDIATE_BROKER)
    batch_size: int = 50  # hosts per task
    poll: float = 0.5  # seconds between reads of the store
    liveness_every: float = 2.0  # seconds between worker liveness checks


@dataclass
class _Task:
    id: str
    site: str
    hosts: list[tuple[str, str]]  # (name, address)
    started_told: bool = False
    ended: bool = False
    misses: int = 0
    ended_rounds: int = 0


@dataclass
class _Watch:
    app: Any
    run_id: int
    inventory: str  # the run's inventory path (resolved), as the host records name it
    tasks: list[_Task]
    results: dict[str, HostResult] = field(default_factory=dict)
    seen_sites: set[str] = field(default_factory=set)  # sites a live consumer was seen for
    cursor: RecordCursor | None = None  # where the last poll of the store stopped
    full_read: bool = False  # this liveness round already read every record (once per round)
    # hosts of a given-up batch that a worker had claimed: its to finish (or to be lost)
    held: dict[str, _Held] = field(default_factory=dict)


@dataclass
class _Held:
    address: str
    site: str
    worker: str  # the claim holder's Celery node name
    misses: int = 0


def check(targets: runner.Targets, options: RunOptions) -> dict[str, list[Any]]:
    """What --workers refuses before anything is sent; returns the hosts by site."""
    if options.serial or options.max_fail_percentage is not None:
        raise ConfigError("--workers: --serial and --max-fail-percentage do not work across workers yet")
    safe_extra_vars(targets.extra_vars)
    return dict(split_by_site(targets.hosts))


def dispatch(
    targets: runner.Targets,
    options: RunOptions,
    outputs: runner.Outputs,
    how: Dispatch,
    *,
    playbook: str,
    events: RunEvents | None = None,
    warn: Callable[[str], None] | None = None,
) -> RunResult:
    """Send the run to the site workers and follow it to the end (every host recorded or lost).
    Ctrl-C stops watching: queued batches are revoked, the run row is closed `interrupted`."""
    by_site = check(targets, options)
    events = events or RunEvents()
    app = make_app(broker_url(how.broker))
    store = Store.open(outputs.db, create=True)
    try:
        info = store.start_run(runner.run_meta(targets, kind="run", apply=options.apply))
        mode: Literal["dry_run", "apply"] = "apply" if options.apply else "dry_run"
        result = RunResult(playbook=targets.playbook.name, mode=mode, started=time.time())
        watch = _Watch(app, info.id, info.inventory, [])
        for site, hosts in by_site.items():
            for number, batch in enumerate(batches(hosts, how.batch_size), 1):
                payload = Payload(
                    run_uuid=info.uuid,
                    site=site,
                    playbook=playbook,
                    playbook_hash=info.playbook_hash,
                    hosts=[(h.name, h.address) for h in batch],
                    extra_vars=dict(targets.extra_vars),
                    apply=options.apply,
                    forks=options.forks,
                    host_timeout=options.host_timeout,
                    max_output=options.max_output,
                    batch=number,
                )
                sent = app.send_task(TASK_NAME, args=[payload.to_json()], queue=queue_name(site))
                watch.tasks.append(_Task(sent.id, site, payload.hosts))
        order = [h.name for h in targets.hosts]
        events.run_started(targets.playbook.name, order, result.mode)
        try:
            _follow(app, store, watch, how, events, targets)
        except KeyboardInterrupt:
            app.control.revoke([t.id for t in watch.tasks])
            store.finish_run(info.id, status="interrupted", exit_code=EXIT_INTERRUPTED)
            raise
        result.hosts = [watch.results[n] for n in order if n in watch.results]
        result.finished = time.time()
        events.run_finished(result)
        runner.write(result, replace(outputs, history=False), warn)  # workers wrote the store
        store.finish_run(info.id, status="finished", exit_code=result.exit_code())
        return result
    finally:
        store.close()


def _follow(
    app: Any, store: Store, watch: _Watch, how: Dispatch, events: RunEvents, targets: runner.Targets
) -> None:
    total = sum(len(t.hosts) for t in watch.tasks)
    next_check = time.monotonic() + how.liveness_every
    while len(watch.results) < total:
        _read(store, watch, events)
        if len(watch.results) >= total:
            return
        if time.monotonic() >= next_check:
            _liveness(app, store, watch, events, targets)
            next_check = time.monotonic() + how.liveness_every
        time.sleep(how.poll)


def _read(store: Store, watch: _Watch, events: RunEvents, *, full: bool = False) -> None:
    """The records written since the last poll (only the new rows, not the whole run: a 10,000
    host run is polled every 0.5 s); full=True reads every record of the run, before the
    controller gives up on a batch, so nothing a worker wrote is overwritten."""
    if full:
        records = store.host_records(run_id=watch.run_id)
    else:
        records, watch.cursor = store.records_since(watch.run_id, watch.cursor)
    for rec in records:
        if rec.host not in watch.results:
            hr = host_result(rec)
            watch.results[rec.host] = hr
            events.host_finished(hr)


def _liveness(app: Any, store: Store, watch: _Watch, events: RunEvents, targets: runner.Targets) -> None:
    from celery.result import AsyncResult

    watch.full_read = False
    open_tasks = [t for t in watch.tasks if any(n not in watch.results for n, _ in t.hosts)]
    states = {t.id: AsyncResult(t.id, app=app) for t in open_tasks}
    started: dict[str, list[_Task]] = {}
    queued: list[_Task] = []
    for t in open_tasks:
        res = states[t.id]
        state = res.state
        if state in ("SUCCESS", "FAILURE", "REVOKED"):
            t.ended_rounds += 1
            if t.ended_rounds >= 2:  # its last records had a full round to show up
                if state == "SUCCESS":
                    detail = "worker did not record a result"
                elif state == "FAILURE":
                    detail = f"worker task failure: {error_text(res.result)}"
                else:
                    detail = f"worker task {state.lower()}"
                why = f"{WORKER_LOST}: {detail}"
                _give_up(store, watch, t, why, events, targets)
        elif state == "STARTED":
            meta = res.info if isinstance(res.info, dict) else {}
            started.setdefault(str(meta.get("hostname", "")), []).append(t)
            if not t.started_told:
                t.started_told = True
                for name, _ in t.hosts:
                    if name not in watch.results:
                        events.host_started(name)
        else:
            queued.append(t)
    if started:
        replies = app.control.ping(destination=list(started), timeout=PING_TIMEOUT) or []
        alive = {name for reply in replies for name in reply}
        for hostname, tasks in started.items():
            for t in tasks:
                t.misses = 0 if hostname in alive else t.misses + 1
                if t.misses >= LOST_AFTER:
                    _give_up(store, watch, t, WORKER_LOST, events, targets)
    _watch_held(app, store, watch, events, targets)
    if queued:
        consumers = app.control.inspect(timeout=PING_TIMEOUT).active_queues() or {}
        live_queues = {q.get("name") for queues in consumers.values() for q in queues or []}
        for t in queued:
            if queue_name(t.site) in live_queues:
                watch.seen_sites.add(t.site)
                t.misses = 0
                continue
            t.misses += 1
            if t.misses >= LOST_AFTER:
                seen = t.site in watch.seen_sites
                why = WORKER_LOST if seen else f"{WORKER_LOST}: no worker for site {t.site}"
                _give_up(store, watch, t, why, events, targets)


def _give_up(
    store: Store, watch: _Watch, t: _Task, why: str, events: RunEvents, targets: runner.Targets
) -> None:
    """A batch that will not finish: its unrecorded hosts end failed, claimed by the controller so
    a late delivery of the batch cannot fix them; the batch is never re-sent."""
    watch.app.control.revoke(t.id)  # a queued copy, if any, is dropped by the live workers
    hosts = {h.name: h for h in targets.hosts}
    if not watch.full_read:  # anything the worker recorded before it went
        _read(store, watch, events, full=True)
        watch.full_read = True
    for name, address in t.hosts:
        if name in watch.results or name in watch.held:
            continue
        if not store.claim(watch.run_id, name, address, f"controller: {why}"):
            holder = store.claim_holder(watch.run_id, name, address) or ""
            if not holder.startswith("controller:"):  # another delivery of the batch has it
                watch.held[name] = _Held(address, t.site, holder)
                continue
        _lost(store, watch, name, address, t.site, why, events, hosts)


def _watch_held(app: Any, store: Store, watch: _Watch, events: RunEvents, targets: runner.Targets) -> None:
    """Hosts a live worker claimed are its to record; a holder that stops answering is lost."""
    for name in [n for n in watch.held if n in watch.results]:
        del watch.held[name]
    if not watch.held:
        return
    holders = sorted({h.worker for h in watch.held.values()})
    replies = app.control.ping(destination=holders, timeout=PING_TIMEOUT) or []
    alive = {node for reply in replies for node in reply}
    hosts = {h.name: h for h in targets.hosts}
    for name, held in list(watch.held.items()):
        held.misses = 0 if held.worker in alive else held.misses + 1
        if held.misses >= LOST_AFTER:
            del watch.held[name]
            _lost(store, watch, name, held.address, held.site, WORKER_LOST, events, hosts)


def _lost(
    store: Store,
    watch: _Watch,
    name: str,
    address: str,
    site: str,
    why: str,
    events: RunEvents,
    hosts: dict[str, Any],
) -> None:
    """Record the host failed (why); --resume runs it again after checking it."""
    h = hosts.get(name)
    hr = HostResult(host=name, verdict="failed", error=why)
    store.record_host(
        watch.run_id,
        host_record(
            hr,
            run_id=watch.run_id,
            address=address,
            inventory=watch.inventory,
            groups=tuple(h.groups) if h else (),
            site=h.site if h else site,
        ),
    )
    watch.results[name] = hr
    events.host_finished(hr)
