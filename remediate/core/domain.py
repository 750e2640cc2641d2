"""A domain (KMS activation, Windows time, ...) and the registry that finds them.

A domain brings its parsers, template functions, diagnoser and knowledge base, the facts it
tracks over time and its playbooks. Core, engine and transports never name a domain: domains
are found through the `remediate.domains` entry-point group (so a domain can live in another
distribution) or registered at run time (tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from remediate.core.diagnosis import Diagnoser
from remediate.core.fleet import FleetFinding
from remediate.core.results import HostResult
from remediate.core.tracking import ChangeRule, Expiry

ENTRY_POINT_GROUP = "remediate.domains"


@dataclass(frozen=True)
class Domain:
    name: str
    description: str
    # kind -> parse(output): str, or bytes in any console encoding; raises ValueError if unparseable
    parsers: Mapping[str, Callable[[str | bytes], Any]] = field(default_factory=dict)
    stderr_kinds: frozenset[str] = frozenset()  # kinds that read stdout followed by stderr
    functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)  # template globals
    diagnoser: Diagnoser | None = None
    # code -> a JSON-able entry {code, title, ...}; raises LookupError (with advice) when unknown
    explain: Callable[[str], Mapping[str, Any]] | None = None
    tracked_facts: tuple[str, ...] = ()  # fact paths worth keeping in history ("license.products")
    playbooks: Path | None = None  # folder of shipped playbooks (`remediate run NAME.yml`)
    # findings across hosts, computed by the app once a run of this domain's playbook is over
    fleet: Callable[[Sequence[HostResult]], list[FleetFinding]] | None = None
    # tracked fact path -> how drift compares and names it (paths without a rule: by value)
    change_rules: Mapping[str, ChangeRule] = field(default_factory=dict)
    # a record's tracked facts (path -> value) -> the dated licences in them (forecast)
    expiries: Callable[[Mapping[str, Any]], list[Expiry]] | None = None


_registered: dict[str, Domain] = {}
_loaded: dict[str, Domain] | None = None


def register(domain: Domain) -> None:
    """Add (or replace) a domain at run time."""
    _registered[domain.name] = domain


def domains() -> dict[str, Domain]:
    """Every domain: installed entry points, then run-time registrations (which win)."""
    global _loaded
    if _loaded is None:
        found: dict[str, Domain] = {}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            obj = ep.load()
            if not isinstance(obj, Domain):
                raise TypeError(f"entry point {ep.name} = {ep.value} is not a remediate Domain")
            found[obj.name] = obj
        _loaded = found
    return {**_loaded, **_registered}


def parsers(only: str | None = None) -> dict[str, tuple[Callable[[str | bytes], Any], bool]]:
    """kind -> (parse, reads stderr too), over every domain (or the one named `only`)."""
    out: dict[str, tuple[Callable[[str | bytes], Any], bool]] = {}
    for d in domains().values():
        if only is not None and d.name != only:
            continue
        for kind, fn in d.parsers.items():
            out.setdefault(kind, (fn, kind in d.stderr_kinds))
    return out


def functions() -> dict[str, Callable[..., Any]]:
    out: dict[str, Callable[..., Any]] = {}
    for d in domains().values():
        out.update(d.functions)
    return out


def explain(code: str) -> Mapping[str, Any]:
    """The first domain's entry for `code`; LookupError with the first domain's advice if none has one."""
    errors: list[str] = []
    for d in domains().values():
        if d.explain is None:
            continue
        try:
            return d.explain(code)
        except LookupError as exc:
            errors.append(str(exc).strip("'\""))
    raise LookupError(errors[0] if errors else f"no domain explains {code!r}")


def change_rules() -> dict[str, ChangeRule]:
    """Tracked fact path -> its rule, over every domain."""
    out: dict[str, ChangeRule] = {}
    for d in domains().values():
        out.update(d.change_rules)
    return out


def expiries(facts: Mapping[str, Any]) -> list[Expiry]:
    """Every domain's dated licences in one record's tracked facts."""
    return [e for d in domains().values() if d.expiries is not None for e in d.expiries(facts)]


def playbook_dirs() -> list[Path]:
    return [d.playbooks for d in domains().values() if d.playbooks is not None]
