"""Inventory data: groups, hosts with merged variables, and secret masking."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined

from remediate.inventory.vault import VaultSecret

MASK = "********"
SITE_GROUP = "site_"  # a group site_tokyo puts its hosts in site "tokyo"

# Variable names whose values are secrets. `remediate_password_env/_file/_prompt` hold references,
# not secrets, so they stay visible.
_SECRET_NAME = re.compile(
    r"pass(word|wd)?$|pass(word|wd)?_|passphrase|secret|token|private_key|key_pem", re.I
)
_REFERENCE_NAMES = {"remediate_password_env", "remediate_password_file", "remediate_password_prompt"}


def is_secret_name(name: str) -> bool:
    return name not in _REFERENCE_NAMES and bool(_SECRET_NAME.search(name))


def is_masked(name: str, value: Any) -> bool:
    """Shown as ******** in listings: a secret by its name, or decrypted from Ansible Vault."""
    return is_secret_name(name) or isinstance(value, VaultSecret)


def is_reference(value: Any) -> bool:
    """A credential reference like {env: VAR}, {file: PATH}, {prompt: LABEL}: safe to show."""
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in ("env", "file", "prompt")


@dataclass(frozen=True)
class Origin:
    """Where a variable's value was defined, for error messages."""

    file: str | None
    line: int | None
    field: str


@dataclass
class Group:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)  # from the inventory file
    origins: dict[str, Origin] = field(default_factory=dict)
    dir_vars: dict[str, Any] = field(default_factory=dict)  # from group_vars/
    dir_origins: dict[str, Origin] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # direct members, inventory order
    priority: int = 1  # ansible_group_priority
    depth: int = 0  # distance from `all` (longest path), like Ansible

    def sort_key(self) -> tuple[int, int, str]:
        return (self.depth, self.priority, self.name)


@dataclass(repr=False)
class Host:
    name: str
    vars: dict[str, Any]  # merged: defaults < groups (parent before child) < host < extra vars
    groups: list[str]  # group names (without `all`), sorted
    origins: dict[str, Origin] = field(default_factory=dict, compare=False)
    # Set by templating.apply at load: the text of each templated variable (vars holds its value),
    # variables whose template failed (name -> message; vars keeps the text), non-secret-named
    # variables that are secrets (a password reads them, or they are computed from a secret),
    # other variables whose value came from vault (masked in listings only), the names each
    # template reads, and env variables a lookup found unset (name -> names). Rules: templating.py.
    templates: dict[str, Any] = field(default_factory=dict, compare=False)
    unresolved: dict[str, str] = field(default_factory=dict, compare=False)
    derived_secrets: set[str] = field(default_factory=set, compare=False)
    from_vault: set[str] = field(default_factory=set, compare=False)
    template_deps: dict[str, set[str]] = field(default_factory=dict, compare=False)
    unset_env: dict[str, set[str]] = field(default_factory=dict, compare=False)

    def origin(self, key: str) -> Origin:
        return self.origins.get(key, Origin(None, None, f"hosts.{self.name}.{key}"))

    @property
    def address(self) -> str:
        """What the host is reached at (ansible_host, else its name): with the name and the
        inventory, its identity in the history store and its claim key."""
        return str(self.vars.get("ansible_host") or self.name)

    @property
    def site(self) -> str | None:
        """Its site: `remediate_site`, else the first group named site_<S>; None without one."""
        value = self.vars.get("remediate_site")
        if value not in (None, ""):
            return str(value)
        found = sorted(g[len(SITE_GROUP) :] for g in self.groups if g.startswith(SITE_GROUP))
        return found[0] if found else None

    def is_secret(self, key: str) -> bool:
        """A secret: redacted from output and hidden from templates. Secret-named, or read by /
        computed from a secret-named variable. A vault value under another name is not (it is
        only masked in listings): the admin put it there for the playbook to use."""
        return is_secret_name(key) or key in self.derived_secrets

    def is_masked(self, key: str) -> bool:
        """Shown as ******** by `remediate inventory`: every secret, and every vault value."""
        return self.is_secret(key) or key in self.from_vault or is_masked(key, self.vars.get(key))

    def masked_vars(self) -> dict[str, Any]:
        """The merged vars with every secret replaced by "********" (references stay visible).

        A templated variable shows its template text, as `ansible-inventory --list` does."""
        out: dict[str, Any] = {}
        for k, v in self.vars.items():
            if k in self.derived_secrets or k in self.from_vault:
                out[k] = MASK
            else:
                out[k] = _mask(k, self.templates.get(k, v))
        return out

    def template_vars(self) -> dict[str, Any]:
        """The vars templates may see. A secret, or a variable whose template failed, is an
        Undefined that raises a clear error naming it when a template uses it (so the playbook's
        default never silently takes its place)."""
        out: dict[str, Any] = {}
        for k, v in self.vars.items():
            if self.is_secret(k):
                out[k] = StrictUndefined(hint=secret_hint(k), name=k)
            elif k in self.unresolved:
                out[k] = StrictUndefined(hint=self.unresolved[k], name=k)
            else:
                out[k] = v
        return out

    def __repr__(self) -> str:
        return f"Host(name={self.name!r}, groups={self.groups!r}, vars={self.masked_vars()!r})"

    __str__ = __repr__


def secret_hint(name: str) -> str:
    return (
        f"{name!r} is a secret (a password-like name, or read by or computed from one): "
        "playbook templates cannot use it"
    )


def _mask(key: str, value: Any) -> Any:
    if is_masked(key, value):
        if value is None or value == "" or is_reference(value):
            return value
        return MASK
    if isinstance(value, Mapping):
        return {k: _mask(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [MASK if isinstance(v, VaultSecret) else _mask(key, v) for v in value]
    return value
