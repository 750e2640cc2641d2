"""Ansible host patterns against a small inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediate.core.errors import ConfigError
from remediate.inventory import Inventory

INV = """\
all:
  hosts:
    solo:
  children:
    windows:
      children:
        web:
          hosts: {web1: , web2: , web3: }
        db:
          hosts: {db1: , db2: }
    prod:
      hosts: {web1: , db1: }
"""


@pytest.fixture(scope="module")
def inv(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    path = tmp_path_factory.mktemp("inv") / "inv.yml"
    path.write_text(INV)
    return Inventory.load(path)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("all", ["solo", "web1", "web2", "web3", "db1", "db2"]),
        ("*", ["solo", "web1", "web2", "web3", "db1", "db2"]),
        ("web", ["web1", "web2", "web3"]),
        ("db2,solo", ["solo", "db2"]),
        ("web:db", ["web1", "web2", "web3", "db1", "db2"]),
        ("windows:!prod", ["web2", "web3", "db2"]),
        ("windows:&prod", ["web1", "db1"]),
        ("web*", ["web1", "web2", "web3"]),
        ("w?b[!3]", ["web1", "web2"]),  # [12] would be a subscript, as in Ansible
        ("~(web|db)1", ["web1", "db1"]),
        ("!windows", ["solo"]),
        ("&prod", ["web1", "db1"]),
        ("web[0]", ["web1"]),
        ("web[-1]", ["web3"]),
        ("web[1:]", ["web2", "web3"]),
        ("web[0:1]", ["web1", "web2"]),
        ("nothing*", []),
    ],
)
def test_patterns(inv: Inventory, pattern: str, expected: list[str]) -> None:
    assert [h.name for h in inv.select(pattern)] == expected


def test_at_file_limits_to_listed_hosts(inv: Inventory, tmp_path: Path) -> None:
    failed = tmp_path / "failed.txt"
    failed.write_text("# failed hosts of the last run\nweb2\n\ndb1\n")
    assert [h.name for h in inv.select(f"@{failed}")] == ["web2", "db1"]
    assert [h.name for h in inv.select(f"windows,!@{failed}")] == ["web1", "web3", "db2"]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("wbe", "no host or group named 'wbe' (did you mean 'web'?)"),
        ("~(", "invalid regular expression"),
        ("@/nonexistent/list", "cannot read host list"),
        ("web[7]", "index out of range"),
        ("  ", "empty host pattern"),
    ],
)
def test_bad_patterns(inv: Inventory, pattern: str, message: str) -> None:
    with pytest.raises(
        ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")
    ):
        inv.select(pattern)
