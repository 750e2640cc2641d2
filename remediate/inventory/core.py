"""The Inventory: load, select hosts by pattern, show the group tree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from remediate.core.errors import ConfigError, did_you_mean
from remediate.inventory import connection, loaders, patterns, templating
from remediate.inventory.builder import Builder
from remediate.inventory.model import Group, Host, Origin
from remediate.inventory.vault import VaultKeys


class Inventory:
    def __init__(self, hosts: dict[str, Host], groups: dict[str, Group], source: str) -> None:
        self.hosts = hosts
        self.groups = groups
        self.source = source
        self.warnings: list[str] = []  # e.g. literal passwords; shown by `remediate inventory`

    @classmethod
    def load(
        cls,
        path: str | Path | Sequence[str | Path],
        extra_vars: Mapping[str, Any] | None = None,
        *,
        vault: VaultKeys | None = None,
        defaults: Mapping[str, tuple[Any, Origin]] | None = None,
    ) -> Inventory:
        """Load YAML or INI inventories (files or directories) plus group_vars/ and host_vars/ beside them.

        Vault-encrypted files and `!vault` values are decrypted with `vault` (none: a ConfigError
        naming the file). `defaults` (from ansible.cfg, e.g. host_key_checking) apply to hosts that
        do not set the variable. Templated values ("{{ site_kms }}") are then evaluated
        (templating.py). Every connection variable and password reference is validated here: a
        broken inventory raises ConfigError (file, line, field) before anything connects.
        """
        from remediate.inventory.credentials import validate_source

        paths = [Path(path)] if isinstance(path, str | Path) else [Path(x) for x in path]
        keys = vault if vault is not None else VaultKeys()
        b = Builder()
        for p in paths:
            loaders.load_source(b, p, keys)
        for p in paths:
            loaders.load_vars_dirs(b, p if p.is_dir() else p.parent, keys)
        b.reconcile()
        inv = cls(b.build_hosts(extra_vars or {}), b.groups, ",".join(str(p) for p in paths))
        templates = templating.Templates()  # each distinct template text compiles once per load
        for host in inv.hosts.values():
            for key, (value, origin) in (defaults or {}).items():
                if key not in host.vars:
                    host.vars[key], host.origins[key] = value, origin
            templating.apply(host, templates)
            connection.validate(host)
            warning = validate_source(host)
            if warning and warning not in inv.warnings:
                inv.warnings.append(warning)
        return inv

    def group_hosts(self, name: str) -> list[str]:
        """Hosts in a group or any of its descendants, in inventory order."""
        members: set[str] = set()
        stack, seen = [name], set()
        while stack:
            g = self.groups[stack.pop()]
            if g.name in seen:
                continue
            seen.add(g.name)
            members.update(g.hosts)
            stack.extend(g.children)
        if name == "all":
            return list(self.hosts)
        return [h for h in self.hosts if h in members]

    def select(self, pattern: str) -> list[Host]:
        """Hosts matching an Ansible host pattern (see patterns.py); ConfigError for bad patterns."""
        matcher = patterns.Matcher(list(self.hosts), self.group_hosts, list(self.groups))
        return [self.hosts[n] for n in patterns.select(pattern, matcher)]

    def host(self, name: str) -> Host:
        if name not in self.hosts:
            raise ConfigError(f"no host named {name!r}{did_you_mean(name, self.hosts)}", file=self.source)
        return self.hosts[name]

    def graph(self) -> str:
        """The group tree, formatted like `ansible-inventory --graph` (declaration order)."""
        lines: list[str] = []

        def walk(name: str, depth: int) -> None:
            g = self.groups[name]
            lines.append(_graph_name(f"@{name}:", depth))
            for child in g.children:
                walk(child, depth + 1)
            if name != "all":
                for h in g.hosts:
                    lines.append(_graph_name(h, depth + 1))

        walk("all", 0)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Like `ansible-inventory --list`, with secrets masked."""
        out: dict[str, Any] = {"_meta": {"hostvars": {n: h.masked_vars() for n, h in self.hosts.items()}}}
        for name, g in self.groups.items():
            entry: dict[str, Any] = {}
            if g.children:
                entry["children"] = sorted(g.children)
            if g.hosts:
                entry["hosts"] = list(g.hosts)
            out[name] = entry
        return out


def _graph_name(name: str, depth: int) -> str:
    return "  |" * depth + "--" + name if depth else name
