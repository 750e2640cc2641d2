"""What a domain says about its tracked facts over time: which changes matter, and when licences run out.

History (drift, forecast) reads records, not domains' internals: a domain declares a ChangeRule
per tracked fact path (how to compare two observations of it, and what to call it) and an
`expiries` function that reads dated licences out of one record's tracked facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ChangeRule:
    """How two observations of one tracked fact path are compared.

    Scalars compare by value (numbers within `tolerance` count as unchanged). A list of mappings
    with a `key` is matched item by item on that field (products by name, not by position), and
    only `fields` (field -> label) are compared, so a countdown such as remaining minutes is not a
    change. Other lists compare as unordered collections.
    """

    label: str
    key: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    tolerance: float | None = None


@dataclass(frozen=True)
class Expiry:
    """One licence's clock as observed on a host: it runs out `remaining_minutes` after the observation."""

    product: str
    channel: str | None
    license_status: str | None
    remaining_minutes: int
    # the full length of the current period (KMS activation validity) when known: lets history
    # estimate when the period started (the last renewal)
    validity_minutes: int | None = None
    renewal_minutes: int | None = None  # how often the client renews, when it does
    next_state: str | None = None  # the state the product enters when the clock runs out
