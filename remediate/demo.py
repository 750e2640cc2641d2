"""`remediate demo`: an emulated fleet with every fault, a dry run, an apply, and the recap.

Runs the shipped windows-kms and office-kms playbooks over real WinRM (pywinrm, NTLM with message
encryption) against the lab on loopback, then checks its own claims: each fault profile ends
where an admin would expect, and no host that needed nothing was changed.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from remediate.console import Console
    from remediate.core.results import RunResult
    from remediate.lab.fleet.spec import FleetSpec
    from remediate.lab.windows.state import HostState

FLEET = Path(__file__).parent / "data" / "fleets" / "demo.yml"


@dataclass(frozen=True)
class Expected:
    windows: str  # verdict after `windows-kms.yml --apply -e convert_channels=VOLUME_MAK`
    office: str  # verdict after `office-kms.yml --apply` (hosts with Office)
    diagnosis: str | None  # a title the Windows diagnosis must carry


# The same -e variables in the dry run and the apply: the dry run is the plan of the apply. MAK
# keys are converted (an explicit opt-in); RETAIL and OEM never are.
VARIABLES: dict[str, list[str]] = {"windows-kms.yml": ["convert_channels=VOLUME_MAK"]}
RETAIL_TITLE = "Retail/OEM Windows not activated (activates with Microsoft, not KMS)"

EXPECTED: dict[str, Expected] = {
    "healthy": Expected("compliant", "compliant", None),
    "slow": Expected("compliant", "compliant", None),
    "office_unactivated": Expected("compliant", "fixed", None),
    "wrong_kms_host": Expected("fixed", "fixed", None),
    "no_srv": Expected("fixed", "fixed", None),
    "non_vl_key": Expected("fixed", "fixed", None),  # MAK (opted in); RETAIL: see expected()
    "kms_unreachable": Expected("failed", "failed", "Firewall between host and KMS"),
    "broken_store": Expected("failed", "failed", "License store damaged"),
    "clock_skew": Expected("failed", "failed", "Clock skew"),
    "winrm_down": Expected("unreachable", "unreachable", None),
    "auth_fail": Expected("unreachable", "unreachable", None),
}
# A product already licensed on a non-KMS channel is left alone whatever the KMS path does.
_LICENSED_ELSEWHERE = {"kms_unreachable": "compliant", "no_srv": "compliant", "wrong_kms_host": "compliant"}


def expected(profile: str, channel: str, licensed: bool) -> Expected | None:
    """What an admin expects for a host of this profile whose Windows had `channel` before the run."""
    exp = EXPECTED.get(profile)
    if exp is None:
        return None
    if profile == "non_vl_key" and channel != "VOLUME_MAK":
        return Expected("failed", exp.office, RETAIL_TITLE)
    if channel != "VOLUME_KMSCLIENT" and licensed and profile in _LICENSED_ELSEWHERE:
        return Expected(_LICENSED_ELSEWHERE[profile], exp.office, None)
    return exp


def fingerprint(state: HostState) -> tuple[Any, ...]:
    """What a fix could change on a host: license, KMS settings, Office licenses."""
    w = state.windows
    win = (w.channel, w.product_key, int(w.status), w.status_reason) if w else None
    office = tuple(
        (o.kms_host, o.kms_port, tuple((p.product_key, int(p.status)) for p in o.products))
        for o in state.office
    )
    return (win, state.kms_registered_host, state.kms_registered_port, office, state.license_store_broken)


def run_demo(
    console: Console, *, workdir: Path | None = None, forks: int = 50, spec: FleetSpec | None = None
) -> int:
    """Run the demo; 0 when every host ended as expected and nothing else changed, else 2."""
    from remediate.lab.fleet.spec import FleetSpec
    from remediate.lab.runtime import LabThread

    spec = spec or FleetSpec.load(FLEET)
    with tempfile.TemporaryDirectory(prefix="remediate-demo-") as tmp:
        wd = workdir or Path(tmp)
        console.rule("remediate demo")
        console.print(f"Starting an emulated fleet of {spec.hosts} Windows hosts on loopback")
        with LabThread(spec, wd) as lab:
            inventory = wd / "inventory.yml"
            lab.lab.write_inventory(inventory)
            profiles = {name: h.profile for name, h in lab.hosts.items()}
            mix = Counter(profiles.values())
            console.print("Fault profiles: " + ", ".join(f"{p} {n}" for p, n in sorted(mix.items())))
            console.print(f"Inventory: {inventory} (Ansible-compatible; WinRM over HTTP, NTLM + encryption)")
            before = {name: fingerprint(h.state) for name, h in lab.hosts.items()}
            channels = {
                name: (h.state.windows.channel, int(h.state.windows.status) == 1)
                for name, h in lab.hosts.items()
                if h.state.windows is not None
            }
            results: dict[tuple[str, bool], RunResult] = {}
            for book in ("windows-kms.yml", "office-kms.yml"):
                for apply in (False, True):
                    mode = "apply" if apply else "dry run"
                    console.rule(f"{book}: {mode}")
                    snap = {name: fingerprint(h.state) for name, h in lab.hosts.items()}
                    results[(book, apply)] = _run(console, book, inventory, apply, forks)
                    if not apply:
                        dry_changes = [n for n, h in lab.hosts.items() if fingerprint(h.state) != snap[n]]
                        console.print(
                            f"dry run changed {len(dry_changes)} hosts"
                            + (f": {', '.join(dry_changes)}" if dry_changes else " (as it must)")
                        )
                        if dry_changes:
                            return 2
            after = {name: fingerprint(h.state) for name, h in lab.hosts.items()}
            predicted = _predicted(console, results)
            return _summary(console, profiles, channels, results, before, after) if predicted else 2


def _predicted(console: Console, results: dict[tuple[str, bool], RunResult]) -> bool:
    """Every host's apply ran exactly the fixes its dry run planned (same state, same variables)."""
    differ: list[str] = []
    total = 0
    for book in ("windows-kms.yml", "office-kms.yml"):
        dry = {h.host: [p["id"] for p in h.planned] for h in results[(book, False)].hosts}
        ran = {h.host: [p["id"] for p in h.planned] for h in results[(book, True)].hosts}
        for host, plan in dry.items():
            total += 1
            if ran.get(host, []) != plan:
                differ.append(f"{book} {host}: planned {plan or 'nothing'}, ran {ran.get(host) or 'nothing'}")
    if differ:
        console.print("The dry run did NOT predict the apply:\n  " + "\n  ".join(differ))
        return False
    console.print(f"The dry run predicted the apply: the same fixes ran on all {total} host runs.")
    return True


def _run(console: Console, book: str, inventory: Path, apply: bool, forks: int) -> RunResult:
    from remediate import app
    from remediate.engine import RunOptions

    extra = VARIABLES.get(book, [])
    targets = app.load(book, inventory, extra_vars=extra)  # as `remediate run BOOK -e ...` does
    if extra:
        console.print(
            f"with -e {' '.join(extra)} (dry run and apply alike): unactivated MAK machines "
            "get their edition's KMS client key; RETAIL and OEM machines never do"
        )
    options = RunOptions(apply=apply, forks=forks)
    result = asyncio.run(app.run(targets, options, events=console.progress()))
    console.recap(result)
    return result


def _summary(
    console: Console,
    profiles: dict[str, str],
    channels: dict[str, tuple[str, bool]],
    results: dict[tuple[str, bool], RunResult],
    before: dict[str, Any],
    after: dict[str, Any],
) -> int:
    win = {h.host: h for h in results[("windows-kms.yml", True)].hosts}
    off = {h.host: h for h in results[("office-kms.yml", True)].hosts}
    office_hosts = {h.host for h in results[("office-kms.yml", False)].hosts if h.facts.get("office_paths")}
    rows: dict[str, list[str]] = {}
    ok_by_profile: dict[str, bool] = defaultdict(lambda: True)
    counts: Counter[str] = Counter()
    for name, profile in sorted(profiles.items()):
        channel, was_licensed = channels.get(name, ("VOLUME_KMSCLIENT", False))
        exp = expected(profile, channel, was_licensed)
        w, o = win.get(name), off.get(name)
        if exp is None or w is None or o is None:
            continue
        counts[profile] += 1
        titles = {d.title for d in w.diagnosis}
        good = w.verdict == exp.windows and (exp.diagnosis is None or exp.diagnosis in titles)
        if name in office_hosts or exp.office == "unreachable":
            good &= o.verdict == exp.office or (exp.office == "fixed" and o.verdict == "compliant")
        ok_by_profile[profile] &= good
        row = rows.setdefault(profile, ["", "", "", ""])
        row[0] = _merge(row[0], w.verdict)
        row[1] = _merge(row[1], o.verdict if name in office_hosts else "no Office")
        row[2] = _merge(row[2], "; ".join(sorted(titles)) or "-")
    # Hosts whose checks passed must be exactly as before; changed hosts must be ones we fixed.
    touched = {n for n in profiles if after[n] != before[n]}
    fixed = {h.host for r in results.values() for h in r.hosts if h.verdict == "fixed"}
    stray = sorted(touched - fixed)
    table = [
        [p, str(counts[p]), *rows[p][:3], "yes" if ok_by_profile[p] else "NO"] for p in EXPECTED if p in rows
    ]
    console.table(
        "Outcome by fault profile (after --apply)",
        ["profile", "hosts", "windows-kms", "office-kms", "diagnosis", "as expected"],
        table,
    )
    console.print(
        f"{len(touched)} hosts changed, all of them fixed hosts; {len(profiles) - len(touched)} untouched."
        if not stray
        else f"UNEXPECTED changes on {', '.join(stray)}"
    )
    all_ok = all(ok_by_profile.values()) and not stray
    ok_text, bad_text = "demo: every host ended as expected", "demo: some hosts did NOT end as expected"
    console.print(ok_text if all_ok else bad_text)
    return 0 if all_ok else 2


def _merge(seen: str, value: str) -> str:
    parts = [p for p in seen.split(" / ") if p]
    return " / ".join(parts if value in parts else [*parts, value])
