"""The history store: runs and the hosts in them, SQLite or PostgreSQL (docs/history.md).

A run's row is opened first (start_run, status "running"), each host is written as it finishes
in its own short transaction (record_host), and the row is closed last (finish_run). A row left
open is reported as "crashed" when its controller is gone:
- on this machine (same host name): its pid is not alive, or the machine booted after it started;
- on another controller: no host was written to it for `stale_after` (default 1 h).
A resumed run (RunMeta.uuid naming an existing run) reopens that row instead of adding one.

Outputs in step outcomes are cut to `step_bytes` (default 4 KiB) per stream.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import sys
import uuid as uuidlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import Select, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError

from remediate.core.errors import error_text
from remediate.history import migrate
from remediate.history.cursor import RecordCursor
from remediate.history.engine import make_engine, writer
from remediate.history.errors import HistoryError
from remediate.history.records import HostRecord, RunInfo, RunKind, RunMeta, RunStatus
from remediate.history.schema import ClaimRow, HostRow, RunRow
from remediate.history.url import resolve_url, url_display

__all__ = ["DEFAULT_STALE_AFTER", "DEFAULT_STEP_BYTES", "HistoryError", "RecordCursor", "Store"]

DEFAULT_STEP_BYTES = 4096
DEFAULT_STALE_AFTER = timedelta(hours=1)
_RUNS = cast(Table, RunRow.__table__)
_HOSTS = cast(Table, HostRow.__table__)
_CLAIMS = cast(Table, ClaimRow.__table__)
_UUID_PREFIX = re.compile(r"^[0-9a-fA-F-]{8,36}$")  # 8+: "--run 999" never matches a UUID


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    """Open with Store.open(db, create=...); every method is one short transaction."""

    def __init__(
        self,
        engine: Engine,
        url: URL,
        *,
        step_bytes: int = DEFAULT_STEP_BYTES,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
    ) -> None:
        self.engine = engine
        self.url = url
        self.url_display = url_display(url)
        self.step_bytes = step_bytes
        self.stale_after = stale_after
        self._writer = writer(engine)
        self.rows_read = 0  # host rows returned by the reads (polling cost, for tests and benches)

    def __repr__(self) -> str:
        return f"Store({self.url_display!r})"

    @classmethod
    def open(
        cls,
        db: str | None = None,
        *,
        create: bool,
        step_bytes: int = DEFAULT_STEP_BYTES,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
    ) -> Store:
        """db: a path or a URL (None: $REMEDIATE_DB, else the per-user file; see url.py).
        create=False never creates a file, directory or table: a database that is not there is
        a HistoryError naming it (an existing older schema is still upgraded in place).
        create=True creates or upgrades the schema, race-free across processes (migrate.py)."""
        url = resolve_url(db)
        shown = url_display(url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            path = Path(url.database or "")
            if not path.is_file():
                if not create:
                    raise HistoryError(f"no history database at {path} (nothing has been recorded there)")
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    why = error_text(e)
                    raise HistoryError(f"cannot create the history database {path}: {why}") from None
        try:
            engine = make_engine(url, create=create)
        except ImportError as e:
            raise HistoryError(f"{shown}: the database driver is not installed ({e})") from None
        try:
            if not create:
                with engine.connect() as conn:
                    if migrate.current(conn) is None:
                        raise HistoryError(f"{shown} has no remediate history (nothing recorded there)")
            migrate.upgrade(engine)
        except HistoryError:
            engine.dispose()
            raise
        except migrate.NewerSchemaError as e:
            engine.dispose()
            raise HistoryError(f"the history database {shown}: {e}") from None
        except (SQLAlchemyError, OSError) as e:
            engine.dispose()
            raise HistoryError(f"cannot open the history database {shown}: {_db_error(e)}") from None
        return cls(engine, url, step_bytes=step_bytes, stale_after=stale_after)

    # ---- writing ---------------------------------------------------------------------------

    def start_run(self, meta: RunMeta) -> RunInfo:
        """Open the run's row (status running, this process's pid). A meta.uuid that names an
        existing run reopens it (resume): refused while that run is still running."""
        now = _now()
        values: dict[str, Any] = {
            "kind": meta.kind, "playbook": meta.playbook, "playbook_hash": meta.playbook_hash,
            "inventory": meta.inventory, "inventory_hash": meta.inventory_hash,
            "pattern": meta.pattern, "rerun": meta.rerun, "mode": meta.mode, "vars_hash": meta.vars_hash,
            "operator": meta.operator, "controller": meta.controller, "pid": os.getpid(),
            "version": meta.version, "host_count": meta.host_count, "status": "running",
            "finished": None, "exit_code": None,
        }  # fmt: skip
        read_pid: int | None = None
        if meta.uuid:  # the pid first: a resumer that took the row since has changed it
            with self._guard("read"), self.engine.connect() as conn:
                read_pid = conn.execute(select(RunRow.pid).where(RunRow.uuid == meta.uuid)).scalar()
        prev = self._infos(select(RunRow).where(RunRow.uuid == meta.uuid)) if meta.uuid else []
        if prev and prev[0].status == "running":
            p = prev[0]
            raise HistoryError(f"run {p.id} ({p.uuid}) is still running on {p.controller}")
        with self._guard("start a run in"), self._writer.begin() as conn:
            if not prev:
                uuid = meta.uuid or str(uuidlib.uuid4())
                ins = _RUNS.insert().values(uuid=uuid, started=now, **values)
                key = conn.execute(ins).inserted_primary_key
                assert key is not None
                run_id = int(key[0])
            else:  # resume: compare-and-set, so a second resumer that read the same row fails
                p = prev[0]
                stored = "running" if p.status == "crashed" else p.status
                # the pid read before judging it dead: of two resumers of one crashed run, the
                # second finds the first's pid there and updates nothing
                owner = RunRow.pid.is_(None) if read_pid is None else RunRow.pid == read_pid
                same = (RunRow.id == p.id, RunRow.status == stored, RunRow.controller == p.controller, owner)
                res = conn.execute(update(RunRow).where(*same).values(**values))
                if res.rowcount != 1:
                    raise HistoryError(f"run {p.id} ({p.uuid}) was resumed by another process")
                run_id = p.id
        return self.run(run_id)

    def record_host(self, run_id: int, record: HostRecord) -> None:
        """One host's outcome, in its own transaction (an earlier record of the same host and
        address in this run is replaced: a retried worker task must not fail)."""
        values: dict[str, Any] = {
            "run_id": run_id, "host": record.host, "address": record.address,
            "inventory": record.inventory, "verdict": record.verdict, "codes": list(record.codes),
            "titles": list(record.titles), "facts": dict(record.facts), "error": record.error,
            "changed": record.changed, "groups": list(record.groups), "site": record.site,
            "steps": [self._cut_step(s) for s in record.steps], "duration": record.duration,
            "finished": record.finished,
        }  # fmt: skip
        keys = ("run_id", "host", "address")
        with self._guard(f"record host {record.host} in"), self._writer.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(_HOSTS).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={k: stmt.excluded[k] for k in values if k not in keys}
            )
            conn.execute(stmt)

    def finish_run(self, run_id: int, *, status: Literal["finished", "interrupted"], exit_code: int) -> None:
        with self._guard(f"close run {run_id} in"), self._writer.begin() as conn:
            res = conn.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(status=status, exit_code=exit_code, finished=_now())
            )
            if res.rowcount != 1:
                raise HistoryError(f"no run {run_id} in {self.url_display}")

    def claim(self, run_id: int, host: str, address: str, worker: str) -> bool:
        """True for the first worker to claim (run, host, address), False for every later one:
        the unique constraint decides (INSERT ... ON CONFLICT DO NOTHING), no read-then-write."""
        with self._guard(f"claim host {host} in"), self._writer.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = (
                dialect.insert(_CLAIMS)
                .values(run_id=run_id, host=host, address=address, worker=worker, claimed_at=_now())
                .on_conflict_do_nothing(index_elements=["run_id", "host", "address"])
                .returning(_CLAIMS.c.id)  # a row only for the insert that happened
            )
            return conn.execute(stmt).first() is not None

    def claim_holder(self, run_id: int, host: str, address: str) -> str | None:
        """Who claimed (run, host, address): a worker's name, "controller: ..." or None."""
        q = select(ClaimRow.worker).where(
            ClaimRow.run_id == run_id, ClaimRow.host == host, ClaimRow.address == address
        )
        with self._guard("read"), self.engine.connect() as conn:
            holder = conn.execute(q).scalar()
        return None if holder is None else str(holder)

    def prune(self, older_than: datetime) -> int:
        """Delete the runs started before `older_than`, their hosts and claims; returns how many runs."""
        old = select(RunRow.id).where(RunRow.started < older_than).scalar_subquery()
        with self._guard("prune"), self._writer.begin() as conn:
            conn.execute(delete(HostRow).where(HostRow.run_id.in_(old)))
            conn.execute(delete(ClaimRow).where(ClaimRow.run_id.in_(old)))
            return int(conn.execute(delete(RunRow).where(RunRow.started < older_than)).rowcount)

    # ---- reading ---------------------------------------------------------------------------

    def runs(
        self,
        *,
        since: datetime | None = None,
        inventory: str | None = None,
        playbook: str | None = None,
        kind: RunKind | None = None,
        limit: int | None = None,
    ) -> list[RunInfo]:
        """Newest first. since: runs started at or after it; inventory/playbook: exact match."""
        q = select(RunRow).order_by(RunRow.started.desc(), RunRow.id.desc())
        if since is not None:
            q = q.where(RunRow.started >= since)
        if inventory is not None:
            q = q.where(RunRow.inventory == inventory)
        if playbook is not None:
            q = q.where(RunRow.playbook == playbook)
        if kind is not None:
            q = q.where(RunRow.kind == kind)
        if limit is not None:
            q = q.limit(limit)
        return self._infos(q)

    def run(self, ref: int | str) -> RunInfo:
        """A run by row id, UUID or unique UUID prefix; HistoryError when none (or several) match."""
        text = str(ref).strip()
        found: list[RunInfo] = []
        if isinstance(ref, int) or text.isdigit():
            found = self._infos(select(RunRow).where(RunRow.id == int(text)))
        if not found and isinstance(ref, str) and _UUID_PREFIX.match(text):
            found = self._infos(select(RunRow).where(RunRow.uuid.startswith(text.lower())).limit(2))
            if len(found) > 1:
                raise HistoryError(f"run {text!r} is ambiguous in {self.url_display}: give more of its UUID")
        if not found:
            raise HistoryError(f"no run {text!r} in {self.url_display}")
        return found[0]

    def host_records(
        self,
        *,
        run_id: int | None = None,
        since: datetime | None = None,
        inventory: str | None = None,
        host: str | None = None,
    ) -> list[HostRecord]:
        """Oldest first (by run start, then the host's finish). since: hosts of runs started at
        or after it (the same runs as runs(since=...)); inventory, host: exact match."""
        q = select(HostRow).join(RunRow, HostRow.run_id == RunRow.id)
        if run_id is not None:
            q = q.where(HostRow.run_id == run_id)
        if since is not None:
            q = q.where(RunRow.started >= since)
        if inventory is not None:
            q = q.where(HostRow.inventory == inventory)
        if host is not None:
            q = q.where(HostRow.host == host)
        q = q.order_by(RunRow.started, RunRow.id, HostRow.finished, HostRow.id)
        with self._guard("read"), self.engine.connect() as conn:
            rows = list(conn.execute(q.with_only_columns(*_HOSTS.c)).mappings())
        self.rows_read += len(rows)
        return [_record(row) for row in rows]

    def histories(
        self, *, since: datetime | None = None, inventory: str | None = None
    ) -> Iterator[list[HostRecord]]:
        """Each host's records per playbook (oldest first, without step outputs), one host at a
        time (`inventory`: hosts of runs that read it): the records of runs started since
        `since`, preceded by the host's latest record before it and its latest reachable one
        (the baselines drift and forecast compare with). Rows stream from the database in key
        order, so memory holds one host's window, whatever the size of the history."""
        key_cols = (RunRow.playbook, HostRow.inventory, HostRow.host, HostRow.address)
        cols = [c for c in _HOSTS.c if c.name != "steps"]
        q = (
            select(*cols, RunRow.playbook, RunRow.started)
            .join(RunRow, HostRow.run_id == RunRow.id)
            .order_by(*key_cols, RunRow.started, HostRow.finished, HostRow.id)
        )
        with self._guard("read"), self.engine.connect() as conn:
            rows: Iterable[Any] = (
                conn.execution_options(stream_results=True, yield_per=1000).execute(q).mappings()
            )
            if inventory is not None:  # a run that read several sources names them joined by ","
                rows = (r for r in rows if inventory in (r["inventory"], *r["inventory"].split(",")))
            for _key, group in itertools.groupby(
                rows, key=lambda r: (r["playbook"], r["inventory"], r["host"], r["address"])
            ):
                history = _window(group, since)
                if history:
                    yield history

    def records_since(
        self, run_id: int, cursor: RecordCursor | None = None
    ) -> tuple[list[HostRecord], RecordCursor]:
        """The run's host records written since `cursor` (None: all of them), in row order, and
        the cursor to pass next time: a poll reads only the new rows, never the whole run. A host
        recorded again (the same row updated) is not returned again."""
        cur = cursor or RecordCursor()
        newer = HostRow.id > cur.last
        pending = cur.pending()
        where = newer | HostRow.id.in_(pending) if pending else newer
        q = select(*_HOSTS.c).where(HostRow.run_id == run_id, where).order_by(HostRow.id)
        with self._guard("read"), self.engine.connect() as conn:
            rows = list(conn.execute(q).mappings())
        self.rows_read += len(rows)
        cur = cur.advance({r["id"] for r in rows}, first=cursor is None)
        return [_record(r) for r in rows], cur

    def recorded_hosts(self, run_id: int, hosts: Sequence[str] | None = None) -> set[tuple[str, str]]:
        """(host, address) recorded in the run; hosts: only among these names (a worker's batch:
        reading the whole run per batch is quadratic over a large run)."""
        q = select(HostRow.host, HostRow.address).where(HostRow.run_id == run_id)
        if hosts is not None:
            q = q.where(HostRow.host.in_(list(hosts)))
        with self._guard("read"), self.engine.connect() as conn:
            return {(h, a) for h, a in conn.execute(q)}

    def close(self) -> None:
        self.engine.dispose()

    # ---- internals -------------------------------------------------------------------------

    def _infos(self, q: Select[Any]) -> list[RunInfo]:
        with self._guard("read"), self.engine.connect() as conn:
            rows = list(conn.execute(q.with_only_columns(*_RUNS.c)).mappings())
            ids = [r["id"] for r in rows]
            counts: dict[int, dict[str, int]] = {i: {} for i in ids}
            last: dict[int, datetime] = {}
            if ids:
                agg = (
                    select(HostRow.run_id, HostRow.verdict, func.count(), func.max(HostRow.finished))
                    .where(HostRow.run_id.in_(ids))
                    .group_by(HostRow.run_id, HostRow.verdict)
                )
                for run_id, verdict, n, latest in conn.execute(agg):
                    counts[run_id][verdict] = int(n)
                    when = _utc(latest)
                    if when is not None and (run_id not in last or when > last[run_id]):
                        last[run_id] = when
        out = []
        for r in rows:
            started = _utc(r["started"]) or _now()
            status = self._status(r["status"], r["controller"], r["pid"], started, last.get(r["id"], started))
            out.append(
                RunInfo(
                    id=r["id"], uuid=r["uuid"], kind=r["kind"], playbook=r["playbook"],
                    playbook_hash=r["playbook_hash"], inventory=r["inventory"],
                    inventory_hash=r["inventory_hash"], pattern=r["pattern"], rerun=r["rerun"],
                    mode=r["mode"],
                    vars_hash=r["vars_hash"], operator=r["operator"], controller=r["controller"],
                    version=r["version"], started=started, finished=_utc(r["finished"]),
                    status=status, exit_code=r["exit_code"], host_count=r["host_count"],
                    counts=counts[r["id"]],
                )
            )  # fmt: skip
        return out

    def _status(
        self, stored: str, controller: str, pid: int | None, started: datetime, last_write: datetime
    ) -> RunStatus:
        if stored in ("finished", "interrupted"):
            return stored  # type: ignore[return-value]
        if controller == socket.gethostname():
            boot = _boot_time()
            gone = pid is None or not pid_alive(pid) or (boot is not None and started < boot)
        else:
            gone = _now() - last_write > self.stale_after
        return "crashed" if gone else "running"

    def _cut_step(self, step: dict[str, Any]) -> dict[str, Any]:
        out = dict(step)
        for key in ("stdout", "stderr"):
            if isinstance(out.get(key), str):
                out[key] = cut(out[key], self.step_bytes)
        return out

    def _guard(self, what: str) -> _Guard:
        return _Guard(f"could not {what} the history database {self.url_display}")


class _Guard:
    """Turns a database error into a HistoryError that names the database (no traceback)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, SQLAlchemyError | OSError):
            raise HistoryError(f"{self.prefix}: {_db_error(exc)}") from None


def cut(text: str, limit: int) -> str:
    """text cut to `limit` UTF-8 bytes (on a character boundary) with a note of what was dropped."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    kept = data[:limit].decode("utf-8", "ignore")
    return f"{kept}\n[... {len(data) - len(kept.encode('utf-8'))} more bytes not stored]"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (never signals it)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate it on Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def _boot_time() -> datetime | None:
    """This machine's boot time (Linux /proc/stat btime): a run started before it is dead even
    if its pid was reused since."""
    try:
        for line in Path("/proc/stat").read_text(encoding="ascii").splitlines():
            if line.startswith("btime "):
                return datetime.fromtimestamp(int(line.split()[1]), UTC)
    except (OSError, ValueError):
        pass
    return None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _record(row: Any) -> HostRecord:
    return HostRecord(
        run_id=row["run_id"], host=row["host"], address=row["address"], inventory=row["inventory"],
        verdict=row["verdict"], finished=_utc(row["finished"]) or _now(), codes=tuple(row["codes"] or ()),
        titles=tuple(row["titles"] or ()), facts=dict(row["facts"] or {}), error=row["error"],
        changed=bool(row["changed"]), groups=tuple(row["groups"] or ()), site=row["site"],
        steps=tuple(row["steps"] or ()), duration=float(row["duration"] or 0.0),
    )  # fmt: skip


def _window(rows: Iterable[Any], since: datetime | None) -> list[HostRecord]:
    """One host's rows (oldest first) -> its records since `since`, after its last record before
    it and its last reachable one (kept on the fly: older rows are dropped as they pass)."""
    last: Any = None
    last_reached: Any = None
    inside: list[HostRecord] = []
    for row in rows:
        started = _utc(row["started"])
        if since is not None and started is not None and started < since:
            last = row
            if row["verdict"] != "unreachable":
                last_reached = row
            continue
        inside.append(_record({**row, "steps": ()}))
    before = [r for r in (last_reached, last) if r is not None]
    if len(before) == 2 and before[0] is before[1]:
        before = before[:1]
    return [_record({**r, "steps": ()}) for r in before] + inside


def _db_error(exc: BaseException) -> str:
    """The driver's message without SQLAlchemy's statement dump and background link."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
