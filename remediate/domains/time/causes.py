"""The causes the time diagnoser names: stable ids that time-sync.yml's fixes declare they address."""

from __future__ import annotations

from types import MappingProxyType

CAUSES = MappingProxyType(
    {
        "time.service_stopped": "Windows Time service stopped",
        "time.no_source": "No time source (local clock)",
        "time.wrong_source": "Wrong time source",
        "time.vm_ic_provider": "Hyper-V host clock overrides the domain hierarchy",
        "time.skew": "Clock skew",
        "time.stale_sync": "Last time sync too long ago",
        "time.reference_unreachable": "Time reference does not answer (NTP, UDP 123)",
        "time.unknown": "Insufficient evidence: time",
    }
)
