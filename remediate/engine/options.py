"""RunOptions: how the engine runs a playbook (forks, batches, breaker, timeouts, retries).

Variables are not options: -e extra vars reach templates through the inventory (they are the
top layer of every host's vars), so there is one route for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from remediate.core.capture import DEFAULT_MAX_OUTPUT

if TYPE_CHECKING:
    from remediate.inventory import Host


@dataclass
class RunOptions:
    apply: bool = False
    forks: int = 50
    serial: str | None = None  # "N", "P%" or a list "1,10%"
    max_fail_percentage: float | None = None
    host_timeout: float | None = None  # seconds for one host's whole run
    retries: int = 2  # extra connect attempts after a ConnectError
    retry_backoff: float = 1.0  # seconds; doubles per attempt
    auth_fail_limit: int = 3  # failed logons per credential per run (lockout.py)
    tcp_probe: bool | None = None  # TCP probe before each connect (connect.py); None: real transports
    batch: bool = True  # run independent plain cmd checks of a host as one command (cmdjoin.py)
    # bytes kept per output stream of a step (head + tail); a host's remediate_max_output wins
    max_output: int = DEFAULT_MAX_OUTPUT
    # Asked (in a worker thread) right before the first fix of a host in an apply: False means
    # another process owns this host's fixes (a site worker's claim in the shared store), so the
    # host ends `skipped` ("already claimed") with no fix run. None: every host may be fixed.
    before_fix: Callable[[Host], bool] | None = None
