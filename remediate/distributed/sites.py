"""Which site a host belongs to: its `remediate_site` variable, else a group named site_<S>."""

from __future__ import annotations

import re
from collections.abc import Sequence

from remediate.core.errors import ConfigError
from remediate.inventory import Host
from remediate.inventory.model import SITE_GROUP

QUEUE_PREFIX = "remediate.site."
_SITE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
NAMES_SHOWN = 10


def queue_name(site: str) -> str:
    """The Celery queue of a site's workers (a site name is a short label: it is a Redis key)."""
    if not _SITE.match(site):
        raise ConfigError(f"site name {site!r}: expected letters, digits, '.', '_' or '-' (up to 63)")
    return QUEUE_PREFIX + site


def split_by_site(hosts: Sequence[Host]) -> dict[str, list[Host]]:
    """Hosts by site, in inventory order; a host with no site is a ConfigError naming it."""
    by_site: dict[str, list[Host]] = {}
    missing: list[str] = []
    for h in hosts:
        site = h.site
        if site is None:
            missing.append(h.name)
        else:
            queue_name(site)  # validates the name
            by_site.setdefault(site, []).append(h)
    if missing:
        shown = ", ".join(missing[:NAMES_SHOWN]) + (
            f", +{len(missing) - NAMES_SHOWN} more" if len(missing) > NAMES_SHOWN else ""
        )
        raise ConfigError(
            f"--workers: {len(missing)} host(s) have no site (set remediate_site or put them in a "
            f"group named {SITE_GROUP}<S>): {shown}"
        )
    return by_site


def batches(hosts: Sequence[Host], size: int) -> list[list[Host]]:
    return [list(hosts[i : i + size]) for i in range(0, len(hosts), max(1, size))]
