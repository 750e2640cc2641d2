"""Forecast: which hosts will fall out of activation, and when, from the facts the history kept.

Each host's latest record that had dated licences is the observation (an unreachable host
records no facts, so the last sweep that reached it speaks for it: the VPN-less home PC cannot
be asked, but its clock was read). A licence runs out `remaining` minutes after it was observed.
For a KMS activation the domain also gives the validity (180 days) and the renewal interval
(7 days), so the last successful renewal is `observed - (validity - remaining)`; a client that
has not renewed for longer than its renewal interval is overdue (Microsoft, "KMS Activation
Timing and Discovery", http://technet.microsoft.com/sk-sk/library/ff793418.aspx: renewal is a
sliding window reset by every successful renewal, attempted every Renewal Interval).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from remediate.core import domain as domain_registry
from remediate.core.tracking import Expiry
from remediate.history.records import HostRecord, RunInfo
from remediate.history.timeline import UNREACHABLE, per_host, trailing


@dataclass(frozen=True)
class ForecastEntry:
    inventory: str
    host: str
    address: str
    product: str
    channel: str | None
    license_status: str | None  # as observed
    observed_at: datetime  # when the facts were read
    remaining_minutes: int  # as observed
    expires_at: datetime  # observed_at + remaining
    next_state: str | None  # what the product enters then (oot_grace, notification)
    expired: bool  # expires_at is past (or the product was already out when observed)
    last_renewal: datetime | None  # KMS clients: observed_at - (validity - remaining)
    renewal_overdue: bool
    unreachable_since: datetime | None  # the first of the latest sweeps in a row that missed it
    unreachable_sweeps: int  # how many of its latest records in a row are unreachable
    site: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("observed_at", "expires_at", "last_renewal", "unreachable_since"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


@dataclass(frozen=True)
class Forecast:
    now: datetime
    days: int
    entries: list[ForecastEntry]  # soonest (or longest expired) first

    def to_dict(self) -> dict[str, Any]:
        entries = [e.to_dict() for e in self.entries]
        return {"now": self.now.isoformat(), "days": self.days, "entries": entries}


def _entry(r: HostRecord, e: Expiry, now: datetime, latest: list[HostRecord]) -> ForecastEntry:
    observed = r.finished
    expires = observed + timedelta(minutes=e.remaining_minutes)
    last_renewal: datetime | None = None
    overdue = False
    if e.validity_minutes is not None:
        last_renewal = observed - timedelta(minutes=e.validity_minutes - e.remaining_minutes)
        if e.renewal_minutes is not None:
            overdue = now - last_renewal > timedelta(minutes=e.renewal_minutes) and (
                bool(latest) or observed - last_renewal > timedelta(minutes=e.renewal_minutes)
            )
    return ForecastEntry(
        inventory=r.inventory,
        host=r.host,
        address=r.address,
        product=e.product,
        channel=e.channel,
        license_status=e.license_status,
        observed_at=observed,
        remaining_minutes=e.remaining_minutes,
        expires_at=expires,
        next_state=e.next_state,
        expired=expires <= now,
        last_renewal=last_renewal,
        renewal_overdue=overdue,
        unreachable_since=latest[0].finished if latest else None,
        unreachable_sweeps=len(latest),
        site=r.site,
    )


def forecast(
    runs: Sequence[RunInfo],
    records: Sequence[HostRecord],
    now: datetime,
    *,
    days: int = 30,
    expiries: Callable[[Mapping[str, Any]], list[Expiry]] | None = None,
) -> Forecast:
    """Licences that run out within `days` of `now` (and those already out), soonest first.

    Renewal is overdue when the estimated last renewal is older than the renewal interval and
    either the host has been unreachable since (nothing can have renewed it that we know of) or
    it was already overdue when observed. `expiries`: default every installed domain's.
    """
    return forecast_histories(per_host(runs, records).values(), now, days=days, expiries=expiries)


def forecast_histories(
    histories: Iterable[Sequence[HostRecord]],
    now: datetime,
    *,
    days: int = 30,
    expiries: Callable[[Mapping[str, Any]], list[Expiry]] | None = None,
) -> Forecast:
    """forecast over per-host histories (Store.histories streams them one at a time)."""
    read = domain_registry.expiries if expiries is None else expiries
    entries = [e for history in histories for e in host_entries(history, now, read)]
    return finish(entries, now, days)


def host_entries(
    history: Sequence[HostRecord], now: datetime, read: Callable[[Mapping[str, Any]], list[Expiry]]
) -> list[ForecastEntry]:
    """One host's dated licences, from its latest record that read its facts."""
    unreachable = trailing(history, lambda r: r.verdict == UNREACHABLE)
    # the latest record that read the host's facts speaks for it, even when it found no clock
    # (a licence made permanent since is not forecast from an older KMS activation)
    seen = next((r for r in reversed(history) if r.facts and r.verdict != UNREACHABLE), None)
    return [] if seen is None else [_entry(seen, e, now, unreachable) for e in read(seen.facts)]


def finish(entries: Iterable[ForecastEntry], now: datetime, days: int) -> Forecast:
    """Within the horizon, one entry per licence (the newest observation), soonest first."""
    horizon = now + timedelta(days=days)
    newest: dict[tuple[str, str, str, str], ForecastEntry] = {}
    for e in entries:  # two playbooks that read the same licence: the newest observation speaks
        key = (e.inventory, e.host, e.address, e.product)
        if key not in newest or e.observed_at > newest[key].observed_at:
            newest[key] = e
    out = [e for e in newest.values() if e.expires_at <= horizon]
    out.sort(key=lambda e: (e.expires_at, e.inventory, e.host, e.product))
    return Forecast(now, days, out)
