"""Result writers: JSON Lines (streamed while the run goes), a full JSON report, JUnit XML,
and the hosts file (every host by verdict, planned change and diagnosis, as YAML).

JSONL: one HostResult object per line, written and flushed (and fsync'ed) the moment the host
finishes (JsonlObserver, a run-event observer), so a crash or Ctrl-C keeps every finished host
readable. JSON: the RunResult at the end. JUnit: one <testcase> per host for CI dashboards;
failed/unreachable/would_fix hosts carry a <failure>, skipped hosts a <skipped/>.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import yaml

from remediate.core.results import HostResult, RunResult
from remediate.engine.events import RunEvents


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


class JsonlWriter:
    """Appends one line per finished host; safe to call from any thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] | None = self.path.open("w", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, host: HostResult) -> None:
        line = _dumps(host.to_dict()) + "\n"
        with self._lock:
            if self._fh is None:
                raise ValueError(f"{self.path}: writer is closed")
            self._fh.write(line)
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class JsonlObserver(RunEvents):
    """Streams each finished host to a JSONL file: pass it to the engine as (one of) its
    observers; close it (or use `with`) when the run ends, however it ends."""

    def __init__(self, path: str | Path) -> None:
        self.writer = JsonlWriter(path)
        self.error: OSError | None = None  # the first write that failed (disk full...): no more lines

    def host_finished(self, result: HostResult) -> None:
        if self.error is not None:
            return
        try:
            self.writer.write(result)
        except OSError as e:  # a failing file must not stop the run, the console or the other outputs
            self.error = e

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> JsonlObserver:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_jsonl(path: str | Path) -> list[HostResult]:
    """Load a JSONL results file (e.g. to build `@file` host lists of failed hosts)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(HostResult.from_dict(json.loads(line)))
    return out


def _atomic_write(path: Path, text: str) -> None:
    """Write to a uniquely named temporary file beside `path`, then rename it over `path`:
    readers see the old file or the whole new one, and concurrent writers never share a temp."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # what open() would have given; mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import: os.umask is process-wide


def write_json(run: RunResult, path: str | Path) -> None:
    _atomic_write(Path(path), json.dumps(run.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n")


def hosts_file_text(run: RunResult) -> str:
    """YAML: {verdict|planned|diagnosis: {group: [every host]}}, the JSON report's `groups`."""
    mode = "apply" if run.mode == "apply" else "dry run"
    head = f"# remediate: {run.playbook} ({mode}): every host by verdict, planned change and diagnosis\n"
    body = yaml.safe_dump(run.groups(), sort_keys=False, allow_unicode=True, width=1000)
    return head + body


def write_hosts_file(run: RunResult, path: str | Path) -> None:
    """Write hosts_file_text atomically (temp file + rename): never a half-written file."""
    _atomic_write(Path(path), hosts_file_text(run))


# JUnit: failures are hosts the run could not bring to compliance.
_FAILURE_KIND = {"failed": "failed", "unreachable": "unreachable", "would_fix": "non_compliant"}


def _host_message(h: HostResult) -> str:
    if h.error:
        return h.error
    if h.verdict == "would_fix":
        return "would fix: " + ", ".join(p["id"] for p in h.planned)
    failed = h.failed_step_ids()
    if failed:
        return "failed steps: " + ", ".join(failed)
    return h.verdict


def _host_detail(h: HostResult) -> str:
    lines = []
    for s in h.steps:
        status = "error" if s.error else {True: "pass", False: "fail", None: "-"}[s.passed]
        lines.append(
            f"[{s.phase}] {s.id}: {status} rc={s.rc} {s.duration:.2f}s" + (f" {s.error}" if s.error else "")
        )
    for d in h.diagnosis:
        lines.append(f"diagnosis: {d.code or '-'} {d.title}: {d.cause} -> {d.action}")
    for p in h.planned:
        lines.append(f"planned: {p['id']}: {p.get('describe') or ''}")
    return "\n".join(lines)


def junit_xml(run: RunResult) -> str:
    counts = run.counts()
    failures = counts["failed"] + counts["unreachable"] + counts["would_fix"]
    elapsed = (run.finished or run.started) - run.started
    suite = ET.Element(
        "testsuite",
        name=run.playbook,
        tests=str(len(run.hosts)),
        failures=str(failures),
        errors="0",
        skipped=str(counts["skipped"]),
        time=f"{elapsed:.3f}",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="mode", value=run.mode)
    ET.SubElement(props, "property", name="interrupted", value=str(run.interrupted).lower())
    for h in run.hosts:
        case = ET.SubElement(suite, "testcase", classname=run.playbook, name=h.host, time=f"{h.duration:.3f}")
        kind = _FAILURE_KIND.get(h.verdict)
        if kind is not None:
            fail = ET.SubElement(case, "failure", message=_host_message(h), type=kind)
            fail.text = _host_detail(h)
        elif h.verdict == "skipped":
            ET.SubElement(case, "skipped", message=h.error or "skipped")
        detail = _host_detail(h)
        if detail and kind is None:
            ET.SubElement(case, "system-out").text = detail
    root = ET.Element("testsuites", name="remediate", tests=str(len(run.hosts)), failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(run: RunResult, path: str | Path) -> None:
    _atomic_write(Path(path), junit_xml(run))
