"""Groups and hosts as the loaders declare them, then merged into Hosts like Ansible does.

Variable precedence (Ansible's default VARIABLE_PRECEDENCE, `hash_behaviour=replace`):
inventory-file group vars (groups sorted by depth, priority, name: `all` first, parents before
children) < group_vars/all < group_vars/<other groups> (same order) < inventory host vars
< host_vars/<host> < extra vars (-e).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from remediate.core.errors import ConfigError
from remediate.inventory.model import Group, Host, Origin

_RANGE = re.compile(r"\[([^\]]*)\]")


def expand_host_range(pattern: str, *, file: str, line: int | None) -> list[str]:
    """Expand Ansible host ranges: web[01:03].x, db[a:c], node[1:9:2] (several ranges allowed)."""
    m = _RANGE.search(pattern)
    if not m:
        return [pattern]
    head, tail = pattern[: m.start()], pattern[m.end() :]
    bounds = m.group(1).split(":")
    err = f"host range {pattern!r}"
    if len(bounds) not in (2, 3) or not bounds[1]:
        raise ConfigError(f"{err}: expected [begin:end] or [begin:end:step]", file=file, line=line)
    beg, end = bounds[0] or "0", bounds[1]
    try:
        step = int(bounds[2]) if len(bounds) == 3 else 1
    except ValueError:
        raise ConfigError(f"{err}: step must be an integer", file=file, line=line) from None
    if step < 1:
        raise ConfigError(f"{err}: step must be positive", file=file, line=line)
    if beg.isdigit() and end.isdigit():
        width = len(beg) if beg.startswith("0") and len(beg) > 1 else 0
        if width and len(end) != width:
            raise ConfigError(f"{err}: begin and end must have the same width", file=file, line=line)
        items = [str(i).zfill(width) for i in range(int(beg), int(end) + 1, step)]
    elif len(beg) == 1 and len(end) == 1 and beg.isalpha() and end.isalpha():
        items = [chr(c) for c in range(ord(beg), ord(end) + 1, step)]
    else:
        raise ConfigError(f"{err}: bounds must be numbers or single letters", file=file, line=line)
    if not items:
        raise ConfigError(f"{err}: range is empty", file=file, line=line)
    return [h for item in items for h in expand_host_range(head + item + tail, file=file, line=line)]


class Builder:
    """Collects declarations from one or more inventory files."""

    def __init__(self) -> None:
        self.groups: dict[str, Group] = {"all": Group("all"), "ungrouped": Group("ungrouped")}
        self.host_order: list[str] = []
        self.host_vars: dict[str, dict[str, Any]] = {}
        self.host_origins: dict[str, dict[str, Origin]] = {}
        self.host_dir_vars: dict[str, dict[str, Any]] = {}
        self.host_dir_origins: dict[str, dict[str, Origin]] = {}
        self.host_groups: dict[str, list[str]] = {}
        # group -> its direct members as a set: `g.hosts` keeps the order, but a membership test
        # on that list made loading a 10,000-host group O(hosts^2) (issue 12)
        self._members: dict[str, set[str]] = {}
        self.add_child("all", "ungrouped", file="", line=None)  # as Ansible's InventoryData does

    def group(self, name: str) -> Group:
        if name not in self.groups:
            self.groups[name] = Group(name)
        return self.groups[name]

    def add_child(self, parent: str, child: str, *, file: str, line: int | None) -> None:
        if parent == child or parent in self._descendants(child):
            raise ConfigError(
                f"adding group {child!r} as a child of {parent!r} creates a loop", file=file, line=line
            )
        p, c = self.group(parent), self.group(child)
        if child not in p.children:
            p.children.append(child)
        if parent not in c.parents:
            c.parents.append(parent)

    def _descendants(self, name: str) -> set[str]:
        seen: set[str] = set()
        stack = [name]
        while stack:
            for c in self.groups.get(stack.pop(), Group("")).children:
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return seen

    def add_host(self, name: str, group: str | None) -> None:
        if name not in self.host_vars:
            self.host_order.append(name)
            self.host_vars[name] = {}
            self.host_origins[name] = {}
            self.host_groups[name] = []
        if group and group != "all":
            g = self.group(group)
            members = self._members.get(group)
            if members is None:  # not setdefault(group, set(g.hosts)): that copied the group per host
                members = self._members[group] = set(g.hosts)
            if name not in members:
                members.add(name)
                g.hosts.append(name)
            if group not in self.host_groups[name]:
                self.host_groups[name].append(group)

    def set_host_var(self, host: str, key: str, value: Any, origin: Origin) -> None:
        self.host_vars[host][key] = value
        self.host_origins[host][key] = origin

    def set_group_var(self, group: str, key: str, value: Any, origin: Origin) -> None:
        g = self.group(group)
        if key == "ansible_group_priority":
            try:
                g.priority = int(value)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"expected an integer, got {value!r}",
                    file=origin.file,
                    line=origin.line,
                    field=origin.field,
                ) from None
            return
        g.vars[key] = value
        g.origins[key] = origin

    # -- merge -------------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Like Ansible: orphan groups become children of `all`; hosts with no group go to ungrouped."""
        for name, g in self.groups.items():
            if name != "all" and not g.parents:
                self.add_child("all", name, file="", line=None)
        for host, groups in self.host_groups.items():
            if not [g for g in groups if g != "ungrouped"]:
                self.add_host(host, "ungrouped")
            elif "ungrouped" in groups:  # declared in a group later: no longer ungrouped
                groups.remove("ungrouped")
                self.groups["ungrouped"].hosts.remove(host)
                self._members.get("ungrouped", set()).discard(host)
        self._set_depths("all", 0)

    def _set_depths(self, name: str, depth: int) -> None:
        g = self.groups[name]
        if depth < g.depth:
            return
        g.depth = depth
        for child in g.children:
            self._set_depths(child, depth + 1)

    def ancestors(self, host: str) -> list[Group]:
        names: set[str] = set()
        stack = list(self.host_groups[host])
        while stack:
            n = stack.pop()
            if n not in names:
                names.add(n)
                stack.extend(self.groups[n].parents)
        names.add("all")
        return sorted((self.groups[n] for n in names), key=Group.sort_key)

    def build_hosts(self, extra_vars: Mapping[str, Any]) -> dict[str, Host]:
        hosts: dict[str, Host] = {}
        for name in self.host_order:
            groups = self.ancestors(name)
            merged: dict[str, Any] = {}
            origins: dict[str, Origin] = {}
            layers: list[tuple[dict[str, Any], dict[str, Origin]]] = [(g.vars, g.origins) for g in groups]
            layers += [(g.dir_vars, g.dir_origins) for g in groups]  # `all` sorts first
            layers.append((self.host_vars[name], self.host_origins[name]))
            layers.append((self.host_dir_vars.get(name, {}), self.host_dir_origins.get(name, {})))
            for values, where in layers:
                merged.update(values)
                origins.update(where)
            for key, value in extra_vars.items():
                merged[key] = value
                origins[key] = Origin(None, None, f"-e {key}")
            group_names = sorted(g.name for g in groups if g.name != "all")
            hosts[name] = Host(name=name, vars=merged, groups=group_names, origins=origins)
        return hosts
