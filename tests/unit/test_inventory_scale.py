"""Loading a big group is linear: adding a host never scans the group's member list.

Counts operations, not time: the group's member list is a list that counts membership tests and
element comparisons; the old `name not in g.hosts` made 10,000 hosts cost 50 million of them.
"""

from __future__ import annotations

from typing import Any

from remediate.inventory.builder import Builder
from remediate.inventory.model import Group


class _CountingList(list[str]):
    scans = 0
    walks = 0  # iterations over the whole list (copying it into a set is one)

    def __iter__(self) -> Any:
        _CountingList.walks += 1
        return super().__iter__()

    def __contains__(self, item: Any) -> bool:
        _CountingList.scans += 1
        return super().__contains__(item)

    def index(self, *args: Any) -> int:
        _CountingList.scans += 1
        return super().index(*args)


def test_adding_hosts_to_a_group_does_not_scan_it() -> None:
    b = Builder()
    b.groups["windows"] = Group("windows", hosts=_CountingList())
    _CountingList.scans = _CountingList.walks = 0
    for i in range(3000):
        b.add_host(f"WIN-{i:05d}", "windows")
    b.add_host("WIN-00007", "windows")  # again: still one membership
    b.reconcile()
    assert _CountingList.scans == 0
    assert _CountingList.walks <= 3  # a few whole-group passes, not one per host added
    assert len(b.groups["windows"].hosts) == 3000 and b.groups["windows"].hosts[7] == "WIN-00007"
    assert b.host_groups["WIN-00007"] == ["windows"]
