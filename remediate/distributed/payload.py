"""What crosses the broker for one batch: names and hashes, never a credential.

A task carries the run's UUID, the playbook's name and content hash, the host names as the
inventory spells them (with the address the controller expects, so a worker whose inventory
points a name elsewhere refuses that host), the typed -e values (a secret-named one is refused
at dispatch), the mode and the engine options. Each worker resolves credentials from its own
inventory, vault password file or environment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from remediate.core.errors import ConfigError
from remediate.engine import RunOptions
from remediate.inventory.model import is_secret_name

VERSION = 1  # bumped when the payload's shape changes; a worker refuses another version


def safe_extra_vars(values: dict[str, Any]) -> dict[str, Any]:
    """-e values fit for the broker; a secret-named one (password, token, key...) is refused."""
    secret = sorted(k for k in values if is_secret_name(k))
    if secret:
        raise ConfigError(
            f"--workers: -e {', '.join(secret)} would cross the broker; set secrets in each "
            "site's inventory, vault password file or environment instead"
        )
    return dict(values)


@dataclass(frozen=True)
class Payload:
    run_uuid: str
    site: str
    playbook: str  # the name as given (a shipped name, or a path the workers also have)
    playbook_hash: str  # sha256 of the playbook file's bytes
    hosts: list[tuple[str, str]]  # (inventory name, expected address)
    extra_vars: dict[str, Any]
    apply: bool
    forks: int = 50
    host_timeout: float | None = None
    max_output: int | None = None
    version: int = VERSION
    batch: int = 0  # the batch's number in the run (for logs)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["hosts"] = [list(h) for h in self.hosts]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Payload:
        if d.get("version") != VERSION:
            raise ConfigError(f"task payload version {d.get('version')!r}; this worker reads {VERSION}")
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        known["hosts"] = [(str(n), str(a)) for n, a in d["hosts"]]
        return cls(**known)

    def options(self) -> RunOptions:
        opts = RunOptions(apply=self.apply, forks=self.forks, host_timeout=self.host_timeout)
        if self.max_output is not None:
            opts.max_output = self.max_output
        return opts
