"""Playbooks: checks, conditional fixes and verification, validated before anything connects.

Every problem is a ConfigError naming the file, the line and the field (checks.<id>.<key>).
Templates (`run`, `describe`) and expressions (`when`, `expect`) are compiled at load time so
syntax errors surface here, not halfway through a change window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from jinja2 import TemplateSyntaxError

from remediate.core import diagnosis, domain, yamlpos
from remediate.core.errors import ConfigError, did_you_mean
from remediate.core.model import Shell
from remediate.core.parsing import known_parsers
from remediate.core.render import Renderer
from remediate.core.scriptctx import ContextError
from remediate.core.variables import VarSpec, declare
from remediate.core.yamlpos import PosDict, PosList

SHELLS: tuple[Shell, ...] = ("powershell", "cmd", "sh")
DEFAULT_TIMEOUT = 60.0
RESERVED_VARS = ("facts", "host", "inventory_hostname", "applied")
_TOP_KEYS = ("name", "description", "targets", "vars", "checks", "fixes", "verify", "diagnose")
_CHECK_KEYS = ("id", "run", "shell", "when", "parse", "expect", "timeout", "description")
_FIX_KEYS = (
    "id", "run", "shell", "when", "describe", "parse", "timeout", "description", "addresses", "recheck",
)  # fmt: skip
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


@dataclass(frozen=True)
class Check:
    id: str
    run: str
    shell: Shell
    parse: str | None
    expect: str | None
    timeout: float
    description: str | None
    line: int
    when: str | None = None  # a false `when` skips the check: facts[id] is None, the check passes


@dataclass(frozen=True)
class Fix:
    id: str
    run: str
    shell: Shell
    when: str | None
    describe: str | None
    parse: str | None
    timeout: float
    line: int
    description: str | None = None
    # Cause ids this fix addresses (a diagnoser's, or "check:<id>"): it runs only on hosts whose
    # diagnosis names one of them. Required: a fix without a cause is a fix that runs blindly.
    addresses: tuple[str, ...] = ()
    # Checks run again right before this fix (apply only); the fix runs only if its `when` and
    # its causes still hold on the fresh facts.
    recheck: tuple[str, ...] = ()


@dataclass(frozen=True)
class Playbook:
    name: str
    path: str
    targets: str
    vars: dict[str, Any]  # name -> default (converted to its declared type); required vars absent
    checks: list[Check]
    fixes: list[Fix]
    verify: list[str]  # check ids re-run after fixes
    diagnose: str | None  # a diagnoser by name ("kms": the KMS domain's), see core/diagnosis.py
    description: str | None = None
    check_by_id: dict[str, Check] = field(default_factory=dict, repr=False, compare=False)
    var_specs: dict[str, VarSpec] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, path: str | Path, renderer: Renderer | None = None) -> Playbook:
        """Load and validate a playbook; raises ConfigError with file/line/field. `renderer`: the
        run's Renderer, so the templates compiled here are the ones the engine renders."""
        return _Loader(str(path), renderer or Renderer()).load()


def resolve(name: str | Path) -> Path:
    """A playbook path as given, else a domain's shipped playbook by name (`windows-kms.yml`)."""
    path = Path(name)
    if path.exists() or path.parent != Path("."):
        return path
    for folder in domain.playbook_dirs():
        for candidate in (folder / path.name, folder / f"{path.name}.yml"):
            if candidate.is_file():
                return candidate
    return path


def parse_duration(value: Any) -> float:
    """60, 2.5, "90s", "5m", "500ms" -> seconds; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError
        seconds = float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    if seconds <= 0:
        raise ValueError
    return seconds


class _Loader:
    def __init__(self, file: str, renderer: Renderer) -> None:
        self.file = file
        self.renderer = renderer
        self.parsers = known_parsers()

    def err(self, message: str, line: int | None, field: str | None = None) -> ConfigError:
        return ConfigError(message, file=self.file, line=line, field=field)

    def keys(self, d: PosDict, allowed: tuple[str, ...], where: str, prefix: str) -> None:
        for key in d:
            if key not in allowed:
                raise self.err(
                    f"unknown key {key!r} in {where}{did_you_mean(str(key), allowed)}",
                    d.key_lines[key],
                    f"{prefix}{key}",
                )

    def string(self, d: PosDict, key: str, field: str, *, required: bool = False) -> str | None:
        value = d.get(key)
        if value is None:
            if required:
                raise self.err(f"{key!r} is required", d.line, field)
            return None
        if isinstance(value, bool | int | float):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        if not isinstance(value, str):
            raise self.err(f"expected a string, got {type(value).__name__}", d.line_of(key), field)
        if required and not value.strip():
            raise self.err(f"{key!r} must not be empty", d.line_of(key), field)
        return value

    def load(self) -> Playbook:
        data = yamlpos.load(self.file)
        if not isinstance(data, PosDict):
            raise self.err("a playbook must be a mapping with checks (and fixes, verify, vars...)", 1)
        self.keys(data, _TOP_KEYS, "playbook", "")
        name = self.string(data, "name", "name") or Path(self.file).stem
        targets = self._targets(data)
        specs = self._vars(data)
        checks_raw = data.get("checks")
        if not isinstance(checks_raw, PosList) or not checks_raw:
            raise self.err("'checks' must be a non-empty list", data.line_of("checks"), "checks")
        seen: dict[str, int] = {}
        checks = [cast(Check, self._step(checks_raw, i, "checks", seen)) for i in range(len(checks_raw))]
        fixes_raw = data.get("fixes")
        fixes: list[Fix] = []
        if fixes_raw is not None:
            if not isinstance(fixes_raw, PosList):
                raise self.err("'fixes' must be a list", data.line_of("fixes"), "fixes")
            fixes = [cast(Fix, self._step(fixes_raw, i, "fixes", seen)) for i in range(len(fixes_raw))]
        verify = self._verify(data, checks, fixes)
        diagnose = self.string(data, "diagnose", "diagnose")
        known_diagnosers = diagnosis.names()
        if diagnose is not None and diagnose not in known_diagnosers:
            raise self.err(
                f"unknown diagnoser {diagnose!r}{did_you_mean(diagnose, known_diagnosers)}; "
                f"known: {', '.join(known_diagnosers)}",
                data.line_of("diagnose"),
                "diagnose",
            )
        if fixes_raw is not None:
            self._links(fixes_raw, fixes, checks, diagnose)
        return Playbook(
            name=name,
            path=self.file,
            targets=targets,
            vars={name: s.default for name, s in specs.items() if not s.required},
            checks=checks,
            fixes=fixes,
            verify=verify,
            diagnose=diagnose,
            description=self.string(data, "description", "description"),
            check_by_id={c.id: c for c in checks},
            var_specs=specs,
        )

    def _targets(self, data: PosDict) -> str:
        value = data.get("targets", "all")
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ",".join(value)
        if not isinstance(value, str) or not value.strip():
            raise self.err("expected a host pattern string", data.line_of("targets"), "targets")
        return value

    def _vars(self, data: PosDict) -> dict[str, VarSpec]:
        """`vars:` -> declarations (see remediate/variables.py): `{type: ..., default: ...}` or a
        shorthand default whose YAML type is the variable's type."""
        value = data.get("vars")
        if value is None:
            return {}
        if not isinstance(value, PosDict):
            raise self.err("expected a mapping of variables", data.line_of("vars"), "vars")
        for k in value:
            if not isinstance(k, str) or not _VAR.match(k):
                raise self.err(f"invalid variable name {k!r}", value.key_lines[k], f"vars.{k}")
            if k in RESERVED_VARS:
                raise self.err(f"{k!r} is reserved (set by remediate)", value.key_lines[k], f"vars.{k}")
        return {k: declare(k, v, file=self.file, line=value.line_of(k)) for k, v in value.items()}

    def _step(self, items: PosList, index: int, kind: str, seen: dict[str, int]) -> Check | Fix:
        d = items[index]
        line = items.line_of(index)
        if not isinstance(d, PosDict):
            raise self.err(f"each entry of {kind!r} must be a mapping", line, f"{kind}[{index}]")
        raw_id = d.get("id")
        label = f"{kind}.{raw_id}" if isinstance(raw_id, str) and raw_id else f"{kind}[{index}]"
        self.keys(
            d,
            _CHECK_KEYS if kind == "checks" else _FIX_KEYS,
            "a check" if kind == "checks" else "a fix",
            f"{label}.",
        )
        step_id = self.string(d, "id", f"{label}.id", required=True) or ""
        if not _ID.match(step_id):
            raise self.err(
                f"invalid id {step_id!r}: use letters, digits, '_' and '-'", d.line_of("id"), f"{label}.id"
            )
        if step_id in seen:
            raise self.err(
                f"duplicate id {step_id!r} (first used on line {seen[step_id]})",
                d.line_of("id"),
                f"{label}.id",
            )
        seen[step_id] = d.line_of("id")
        shell_raw = self.string(d, "shell", f"{label}.shell") or "powershell"
        if shell_raw not in SHELLS:
            raise self.err(
                f"expected one of {', '.join(SHELLS)}, got {shell_raw!r}{did_you_mean(shell_raw, SHELLS)}",
                d.line_of("shell"),
                f"{label}.shell",
            )
        shell: Shell = shell_raw
        run = self.string(d, "run", f"{label}.run", required=True) or ""
        self._template(run, d, "run", label, shell)
        parse = self.string(d, "parse", f"{label}.parse")
        if parse is not None and parse not in self.parsers:
            raise self.err(
                f"unknown parser {parse!r}{did_you_mean(parse, self.parsers)}; "
                f"known: {', '.join(self.parsers)}",
                d.line_of("parse"),
                f"{label}.parse",
            )
        timeout = DEFAULT_TIMEOUT
        if d.get("timeout") is not None:
            try:
                timeout = parse_duration(d["timeout"])
            except ValueError:
                raise self.err(
                    f"expected a positive number of seconds (or 90s, 5m), got {d['timeout']!r}",
                    d.line_of("timeout"),
                    f"{label}.timeout",
                ) from None
        description = self.string(d, "description", f"{label}.description")
        if kind == "checks":
            expect = self._expression(d, "expect", label)
            check_when = self._expression(d, "when", label)
            return Check(step_id, run, shell, parse, expect, timeout, description, line, check_when)
        when = self._expression(d, "when", label)
        describe = self.string(d, "describe", f"{label}.describe")
        if describe is not None:
            self._template(describe, d, "describe", label, None)
        addresses = self._names(d, "addresses", label)
        if not addresses:
            raise self.err(
                "'addresses' is required: the diagnosed causes this fix addresses (e.g. kms.no_srv), "
                "or check:<id> for 'check <id> failed'; a fix runs only on hosts with such a cause",
                d.line_of("addresses") if "addresses" in d else d.line,
                f"{label}.addresses",
            )
        recheck = self._names(d, "recheck", label)
        return Fix(
            step_id, run, shell, when, describe, parse, timeout, line, description, addresses, recheck
        )

    def _names(self, d: PosDict, key: str, label: str) -> tuple[str, ...]:
        raw = d.get(key)
        if raw is None:
            return ()
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            raise self.err("expected a name or a list of names", d.line_of(key), f"{label}.{key}")
        return tuple(items)

    def _links(self, raw: PosList, fixes: list[Fix], checks: list[Check], diagnose: str | None) -> None:
        """Every `addresses` entry is a cause the diagnoser knows or check:<id> of a judged check;
        every `recheck` entry is a check."""
        causes = diagnosis.get(diagnose).causes if diagnose else {}
        judged = [c.id for c in checks if c.expect]
        known = [*causes, *(diagnosis.CHECK_CAUSE + c for c in judged)]
        for i, fix in enumerate(fixes):
            d = raw[i]
            for name in fix.addresses:
                if name in known:
                    continue
                if name.startswith(diagnosis.CHECK_CAUSE):
                    why = f"{name[len(diagnosis.CHECK_CAUSE):]!r} is not a check with an 'expect'"
                elif not diagnose:
                    why = "this playbook has no 'diagnose:'; name a failed check as check:<id>"
                else:
                    why = f"not a cause of the {diagnose!r} diagnoser{did_you_mean(name, known)}"
                raise self.err(
                    f"unknown cause {name!r}: {why}; known: {', '.join(known) or 'none'}",
                    d.line_of("addresses"),
                    f"fixes.{fix.id}.addresses",
                )
            ids = [c.id for c in checks]
            for name in fix.recheck:
                if name not in ids:
                    raise self.err(
                        f"unknown check {name!r}{did_you_mean(name, ids)}",
                        d.line_of("recheck"),
                        f"fixes.{fix.id}.recheck",
                    )

    def _template(self, text: str, d: PosDict, key: str, label: str, shell: Shell | None) -> None:
        try:
            if shell is None:
                self.renderer.compile_text(text)
            else:
                self.renderer.compile_script(text, shell)
        except ContextError as exc:
            raise self.err(
                f"template line {exc.lineno}, column {exc.column}: {exc.message}",
                d.line_of(key),
                f"{label}.{key}",
            ) from None
        except TemplateSyntaxError as exc:
            raise self.err(
                f"template syntax error (template line {exc.lineno}): {exc.message}",
                d.line_of(key),
                f"{label}.{key}",
            ) from None

    def _expression(self, d: PosDict, key: str, label: str) -> str | None:
        expr = self.string(d, key, f"{label}.{key}")
        if expr is None:
            return None
        if "{{" in expr or "{%" in expr:
            raise self.err(
                "write a bare expression, without {{ }} (it is evaluated as Jinja)",
                d.line_of(key),
                f"{label}.{key}",
            )
        try:
            self.renderer.compile_expr(expr)
        except TemplateSyntaxError as exc:
            raise self.err(f"invalid expression: {exc.message}", d.line_of(key), f"{label}.{key}") from None
        return expr

    def _verify(self, data: PosDict, checks: list[Check], fixes: list[Fix]) -> list[str]:
        ids = [c.id for c in checks]
        if "verify" not in data or data["verify"] is None:
            return ids if fixes else []  # default: re-run every check after fixing
        raw = data["verify"]
        if isinstance(raw, str):
            raw_list: list[Any] = [raw]
            lines = [data.line_of("verify")]
        elif isinstance(raw, PosList):
            raw_list, lines = list(raw), [raw.line_of(i) for i in range(len(raw))]
        else:
            raise self.err("expected a list of check ids", data.line_of("verify"), "verify")
        fix_ids = {f.id for f in fixes}
        for item, line in zip(raw_list, lines, strict=True):
            if item not in ids:
                extra = (
                    " (that is a fix; verify names checks)"
                    if item in fix_ids
                    else did_you_mean(str(item), ids)
                )
                raise self.err(f"unknown check {item!r}{extra}", line, "verify")
        return [str(i) for i in raw_list]
