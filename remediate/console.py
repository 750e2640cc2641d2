"""Everything the user sees on the terminal (rich). The engine and the CLI never print directly.

`Console.progress()` gives RunEvents that draw a live progress bar with counts by verdict and
the slowest running hosts; `Console.recap(run)` prints the table grouped by verdict and
diagnosis. With NO_COLOR set or stdout not a terminal there is no colour and no animation: one
plain line per finished host, then a plain recap (friendly to CI logs and `| tee`).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from rich.console import Console as RichConsole
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from remediate.core.i18n import _, current_language
from remediate.core.results import VERDICTS, HostResult, Phase, RunResult, StepResult
from remediate.engine.events import RunEvents

STYLE = {
    "compliant": "green",
    "fixed": "bold green",
    "would_fix": "yellow",
    "failed": "bold red",
    "unreachable": "magenta",
    "skipped": "dim",
}
SLOWEST_SHOWN = 5
# Printable ASCII without ':' (rich reads `:name:` as an emoji code) and '\\' (escape() doubles a
# trailing one): plain-mode rich prints such a line unchanged (markup escaped, no control codes or
# tabs to strip or expand, no wrap). tests/unit/test_console_plain.py compares the two.
_VERBATIM = re.compile(r"[ -9;-\[\]-~]*")


class Console:
    """The terminal: plain when NO_COLOR is set or the output is not a TTY."""

    def __init__(
        self, file: IO[str] | None = None, *, verbose: bool = False, plain: bool | None = None
    ) -> None:
        out = file or sys.stdout
        tty = hasattr(out, "isatty") and out.isatty()
        no_color = "NO_COLOR" in os.environ and os.environ["NO_COLOR"] != ""
        self.plain = (not tty or no_color) if plain is None else plain
        self.verbose = verbose
        self.rich = RichConsole(
            file=out,
            no_color=self.plain or no_color,
            highlight=False,
            force_terminal=False if self.plain else None,
            soft_wrap=self.plain,
        )

    # ---- simple output ------------------------------------------------------------------
    def print(self, text: str = "", style: str | None = None) -> None:
        if self.plain and _VERBATIM.fullmatch(text):
            # What rich would write for this text (nothing in it for rich to change), at ~1/20 of
            # the cost: plain mode prints one line per host, so at 10,000 hosts it added up.
            self.rich.file.write(text + "\n")
            return
        self.rich.print(escape(text), style=None if self.plain else style)

    def rule(self, title: str) -> None:
        if self.plain:
            self.rich.print(f"== {escape(title)} ==")
        else:
            self.rich.rule(escape(title))

    def error(self, text: str) -> None:
        err = RichConsole(stderr=True, no_color=self.plain, highlight=False, soft_wrap=True)
        err.print(f"error: {escape(text)}", style=None if self.plain else "bold red")

    # ---- a run --------------------------------------------------------------------------
    def progress(self) -> ConsoleEvents:
        return ConsoleEvents(self)

    def host_detail(self, h: HostResult) -> None:
        """Per-host step output (-v)."""
        self.print(f"--- {h.host}: {h.verdict}" + (f" ({h.error})" if h.error else ""), STYLE.get(h.verdict))
        for s in h.steps:
            state = "error" if s.error else {True: "ok", False: "FAIL", None: "-"}[s.passed]
            self.print(
                f"  [{s.phase}] {s.id}: {state} rc={s.rc} {s.duration:.2f}s"
                + (f" {s.error}" if s.error else "")
            )
            for stream, text in (("stdout", s.stdout), ("stderr", s.stderr)):
                for line in text.strip("\r\n").splitlines():
                    self.print(f"    {stream}| {line.rstrip()}", "dim" if stream == "stdout" else "red")
        for p in h.planned:
            self.print(f"  would run {p['id']}: {p.get('describe', '')}", "yellow")
        for d in h.diagnosis:
            self.print(f"  diagnosis {d.code or '-'} {_(d.title)}: {d.cause} -> {_(d.action)}", "cyan")

    def recap(self, run: RunResult) -> None:
        """Hosts grouped by verdict and diagnosis, then by planned change: how many, which, what next."""
        groups: dict[tuple[str, str], list[HostResult]] = defaultdict(list)
        for h in run.hosts:
            groups[(h.verdict, _diag_label(h))].append(h)
        order: dict[str, int] = {v: i for i, v in enumerate(VERDICTS)}
        keys = sorted(groups, key=lambda k: (order[k[0]], -len(groups[k]), k[1]))
        # The next step is shown only when it is the same for every host of the group: one
        # host's action (its edition's GVLK, its KMS host) must not pass for the others'.
        actions = {k: _common([_next_step(h) for h in groups[k]]) for k in keys}
        changes = _planned_groups(run.hosts)
        title = f"{run.playbook} ({_('apply') if run.mode == 'apply' else _('dry run')})"
        changes_title = "fixes run" if run.mode == "apply" else "planned changes"
        counts = ", ".join(f"{_(v)} {n}" for v, n in run.counts().items() if n)
        elapsed = (run.finished or time.time()) - run.started
        summary = _("{n} hosts in {elapsed}s: {counts}").format(
            n=len(run.hosts), elapsed=f"{elapsed:.1f}", counts=counts or _("none")
        )
        if run.interrupted:
            summary += " " + _("(interrupted)")
        if self.plain:
            self.rich.print(f"{_('RECAP')} {escape(title)}")
            for k in keys:
                line = f"  {_(k[0]):<11} {len(groups[k]):>5}  {k[1]}  [{_names(groups[k])}]"
                if actions[k]:
                    line += f"  -> {actions[k]}"
                self.rich.print(escape(line))
            if changes:
                self.rich.print(escape(_(changes_title.upper())))
            for c in changes:
                line = f"  {c.fix_id:<20} {len(c.hosts):>5}  {c.change}  [{_names(c.hosts)}]"
                self.rich.print(escape(line + (f"  for: {c.cause}" if c.cause else "")))
            if run.fleet_findings:
                self.rich.print("FLEET")
            for f in run.fleet_findings:
                line = f"  {_(f.title)} ({len(f.hosts)} hosts): {f.cause} -> {_(f.action)}"
                self.rich.print(escape(f"{line}  [{', '.join(f.hosts)}]"))
            self.rich.print(escape(summary))
            return
        table = Table(title=escape(title), title_justify="left", expand=False)
        table.add_column(_("verdict"))
        table.add_column(_("hosts"), justify="right")
        table.add_column(_("diagnosis"))
        table.add_column(_("next step"), overflow="fold", max_width=60)
        table.add_column(_("examples"), overflow="fold", max_width=40)
        for k in keys:
            table.add_row(
                Text(_(k[0]), style=STYLE[k[0]]),
                str(len(groups[k])),
                escape(k[1]),
                escape(actions[k]),
                escape(_names(groups[k])),
            )
        self.rich.print(table)
        if changes:
            self.rich.print(_changes_table(_(changes_title), changes))
        if run.fleet_findings:
            self.rich.print(_fleet_table(run))
        self.rich.print(escape(summary))

    # ---- other commands -----------------------------------------------------------------
    def explain(self, entry: Mapping[str, Any]) -> None:
        """A knowledge-base entry (remediate.domains.kms.kb.explain): code, title, then each field."""
        code, title = str(entry.get("code", "")), str(entry.get("title", entry.get("name", "")))
        self.rule(f"{code} {title}".strip())
        for key, value in entry.items():
            if key in ("code", "title"):
                continue
            label = _(key.replace("_", " "))
            if isinstance(value, list | tuple):
                self.print(f"{label}:", "bold")
                for item in value:
                    self.print(f"  - {item}")
            else:
                if isinstance(value, bool) and current_language() != "en":
                    value = _("yes") if value else _("no")
                self.print(f"{label}: {value}", None)

    def fields(self, title: str, pairs: Iterable[tuple[str, str]]) -> None:
        """A record's fields, one per line (a run's metadata)."""
        self.rule(title)
        if self.plain:
            for k, v in pairs:
                self.rich.print(escape(f"{k}: {v}"))
            return
        table = Table(show_header=False, box=None)
        for k, v in pairs:
            table.add_row(Text(k, style="bold"), escape(v))
        self.rich.print(table)

    def table(self, title: str, head: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
        self.rule(title)
        self._table(head, rows)

    def _table(self, head: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
        if self.plain:  # tab-separated for `cut -f` (rich would expand the tabs to spaces)
            for r in (head, *rows):
                self.rich.file.write("\t".join(" ".join(c.split("\t")) for c in r) + "\n")
            return
        table = Table(*head)
        for r in rows:
            table.add_row(*(escape(c) for c in r))
        self.rich.print(table)


def _diag_label(h: HostResult) -> str:
    # Titles (cause catalogues, knowledge base) and fixed actions are catalogue msgids: shown
    # translated; the results (JSON) keep the English text.
    if not h.diagnosis:
        return "-"
    return "; ".join(f"{_(d.title)} ({d.code})" if d.code else _(d.title) for d in h.diagnosis)


def _names(hosts: Sequence[HostResult], n: int = 4) -> str:
    names = [h.host for h in hosts[:n]]
    return ", ".join(names) + (f", +{len(hosts) - n}" if len(hosts) > n else "")


VARIES = "varies per host (see --json / --hosts-file)"
PHRASE_MAX = 90  # characters of a describe in a host line


def _next_step(h: HostResult) -> str:
    if h.diagnosis:
        return _(h.diagnosis[0].action)
    if h.error and h.verdict != "compliant":
        return h.error
    return ""


def _common(values: Sequence[str]) -> str:
    """The value if every host has the same one, else VARIES ("" when there is none at all)."""
    distinct = set(values)
    if len(distinct) == 1:
        return values[0]
    return _(VARIES) if distinct - {""} else ""


def planned_phrase(planned: Sequence[Mapping[str, Any]]) -> str:
    """A host's planned change in one short phrase: `set-kms: KMS host none -> kms01:1688 (+ activate)`."""
    if not planned:
        return ""
    first = planned[0]
    describe = str(first.get("describe") or "")
    if len(describe) > PHRASE_MAX:
        describe = describe[: PHRASE_MAX - 3] + "..."
    phrase = f"{first.get('id', '?')}: {describe}" if describe else str(first.get("id", "?"))
    rest = [str(p.get("id", "?")) for p in planned[1:]]
    return phrase + (f" (+ {', '.join(rest)})" if rest else "")


@dataclass
class _Change:
    fix_id: str
    hosts: list[HostResult]
    change: str  # the describe, if the same on every host
    cause: str  # the diagnosis it addresses, if the same on every host


def _changes_table(title: str, changes: Sequence[_Change]) -> Table:
    table = Table(title=escape(title), title_justify="left", expand=False)
    for col in ("fix", "hosts", "change", "for", "examples"):
        table.add_column(_(col), justify="right" if col == "hosts" else "left", overflow="fold", max_width=60)
    for c in changes:
        table.add_row(
            escape(c.fix_id), str(len(c.hosts)), escape(c.change), escape(c.cause), escape(_names(c.hosts))
        )
    return table


def _fleet_table(run: RunResult) -> Table:
    """Findings across hosts; every host is listed (the JSON report has the same list)."""
    table = Table(title="across hosts", title_justify="left", expand=False)
    table.add_column("finding")
    table.add_column("hosts", justify="right")
    table.add_column("cause", overflow="fold", max_width=50)
    table.add_column("next step", overflow="fold", max_width=50)
    table.add_column("which", overflow="fold", max_width=40)
    for f in run.fleet_findings:
        table.add_row(
            escape(_(f.title)),
            str(len(f.hosts)),
            escape(f.cause),
            escape(_(f.action)),
            escape(", ".join(f.hosts)),
        )
    return table


def _planned_groups(hosts: Sequence[HostResult]) -> list[_Change]:
    by_fix: dict[str, list[tuple[HostResult, Mapping[str, Any]]]] = defaultdict(list)
    for h in hosts:
        for p in h.planned:
            by_fix[str(p.get("id", "?"))].append((h, p))
    out = []
    for fix_id, entries in by_fix.items():
        describes = [str(p.get("describe") or "") for _, p in entries]
        distinct = Counter(describes)
        change = describes[0]
        if len(distinct) > 1:  # e.g. each host's previous KMS host: say so, show the usual one
            top, n = distinct.most_common(1)[0]
            change = f"{len(distinct)} variants; most common ({n} hosts): {top}"
        host_list = list({h.host: h for h, _ in entries}.values())  # a fix planned twice: once
        cause = _common([str(p.get("cause") or "") for _, p in entries])
        out.append(_Change(fix_id, host_list, change, "" if cause in (VARIES, _(VARIES)) else cause))
    return sorted(out, key=lambda c: (-len(c.hosts), c.fix_id))


class ConsoleEvents(RunEvents):
    """Live progress (TTY) or one line per finished host (plain)."""

    def __init__(self, console: Console) -> None:
        self.c = console
        self.total = 0
        self.counts: Counter[str] = Counter()
        self.running: dict[str, tuple[float, str]] = {}  # host -> (start, current step)
        self.live: Live | None = None

    def run_started(self, playbook: str, hosts: Sequence[str], mode: str) -> None:
        self.total = len(hosts)
        self.c.print(f"{playbook}: {len(hosts)} hosts, {mode.replace('_', ' ')}", "bold")
        if not self.c.plain:
            self.live = Live(self, console=self.c.rich, refresh_per_second=4, transient=True)
            self.live.start()

    def host_started(self, host: str) -> None:
        self.running[host] = (time.monotonic(), "connect")

    def step_started(self, host: str, step_id: str, phase: Phase) -> None:
        if host in self.running:
            self.running[host] = (self.running[host][0], f"{phase} {step_id}")

    def step_finished(self, host: str, step: StepResult) -> None: ...

    def host_finished(self, result: HostResult) -> None:
        self.running.pop(result.host, None)
        self.counts[result.verdict] += 1
        if self.c.plain:
            done = sum(self.counts.values())
            width = len(str(self.total))
            tail = f" {result.error}" if result.error and result.verdict != "compliant" else ""
            if result.verdict == "would_fix" and result.planned:
                tail += f"  {planned_phrase(result.planned)}"
            self.c.print(
                f"[{done:>{width}}/{self.total}] {result.host} {result.verdict} {result.duration:.1f}s{tail}"
            )
        if self.c.verbose:
            self.c.host_detail(result)

    def run_finished(self, result: RunResult) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def __rich__(self) -> Group:
        done = sum(self.counts.values())
        bar = ProgressBar(total=max(self.total, 1), completed=done, width=40)
        line = Text.assemble(
            f"{done}/{self.total} ",
            *[(f" {v} {self.counts[v]}", STYLE[v]) for v in VERDICTS if self.counts[v]],
        )
        parts: list[Any] = [bar, line]
        now = time.monotonic()
        slow = sorted(self.running.items(), key=lambda kv: kv[1][0])[:SLOWEST_SHOWN]
        if slow:
            parts.append(Text(f"running {len(self.running)}; slowest:", style="dim"))
            for host, (t0, step) in slow:
                parts.append(Text(f"  {host:<20} {now - t0:6.1f}s  {step}", style="dim"))
        return Group(*parts)
