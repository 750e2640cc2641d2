"""Shared fixtures: lab fleets on loopback for integration tests.

`lab_factory(spec_dict)` starts a LabThread (its own event loop in a background thread) and stops
it at the end of the test; `small_lab` is one session-wide fleet with every fault profile that
tests may read but must not break (use lab_factory for tests that stop listeners or edit DNS).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.kerberos_setup import install_if_missing
from tests.services import postgres

if TYPE_CHECKING:  # imported in the fixtures: pyspnego must not load before pytest_configure
    from remediate.lab.runtime import LabThread

LabFactory = Callable[..., "LabThread"]
KERBEROS_MISSING = pytest.StashKey[str | None]()
POSTGRES_MISSING = pytest.StashKey[str | None]()


def pytest_configure(config: pytest.Config) -> None:
    """Install the Kerberos tests' Debian packages and bindings when missing (before collection)."""
    config.stash[KERBEROS_MISSING] = install_if_missing()


@pytest.fixture(scope="session")
def pg_cluster(request: pytest.FixtureRequest) -> Iterator[postgres.Cluster]:
    """A throwaway PostgreSQL cluster on loopback for the session (tests/services/postgres.py)."""
    if POSTGRES_MISSING not in request.config.stash:
        request.config.stash[POSTGRES_MISSING] = postgres.install_if_missing()
    missing = request.config.stash[POSTGRES_MISSING]
    if missing:
        pytest.skip(missing)
    pytest.importorskip("psycopg", reason="pip install 'remediate[postgres]'")
    with postgres.cluster() as c:
        yield c


@pytest.fixture(scope="session")
def pg_url(pg_cluster: postgres.Cluster) -> str:
    """A postgresql+psycopg:// URL of an empty database shared by the session."""
    pg_cluster.sql("CREATE DATABASE remediate_session")
    return pg_cluster.url("remediate_session")


_PG_DATABASES = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A history database URL that does not exist yet: a SQLite file, then a fresh PostgreSQL
    database (dropped afterwards), so every store test runs on both backends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'history.db'}"
        return
    cluster: postgres.Cluster = request.getfixturevalue("pg_cluster")
    name = f"store_{next(_PG_DATABASES)}"
    cluster.sql(f"CREATE DATABASE {name}")
    yield cluster.url(name)
    cluster.sql(f"DROP DATABASE {name} WITH (FORCE)")

SMALL_LAB_SPEC: dict[str, Any] = {
    "hosts": 12,
    "seed": 3,
    "password": "Lab-Passw0rd!",
    "locales": {"en-US": 70, "ja-JP": 20, "zh-CN": 10},
    "kms_hosts": [{"name": "kms01"}],
    "srv_records": ["kms01"],
    # 12 hosts: one of each fault (largest remainder gives every 8% profile one host)
    "profiles": {
        "kms_unreachable": 8,
        "no_srv": 8,
        "wrong_kms_host": 8,
        "non_vl_key": 8,
        "office_unactivated": 8,
        "broken_store": 8,
        "clock_skew": 8,
        "winrm_down": 8,
        "slow": 8,
        "auth_fail": 8,
    },
    "office": 25,
    "slow_seconds": 2,
}


@pytest.fixture
def lab_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabFactory]:
    started: list[LabThread] = []

    from remediate.lab.fleet.spec import FleetSpec
    from remediate.lab.runtime import LabThread

    def make(spec: dict[str, Any] | FleetSpec | None = None, **overrides: Any) -> LabThread:
        if isinstance(spec, FleetSpec):
            fleet = spec
        else:
            fleet = FleetSpec.from_dict({**(spec or {"hosts": 2, "password": "Lab-Passw0rd!"}), **overrides})
        workdir: Path = tmp_path_factory.mktemp("lab")
        lab = LabThread(fleet, workdir).__enter__()
        started.append(lab)
        return lab

    yield make
    for lab in reversed(started):
        lab.__exit__(None, None, None)


@pytest.fixture(scope="session")
def small_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabThread]:
    from remediate.lab.fleet.spec import FleetSpec
    from remediate.lab.runtime import LabThread

    with LabThread(FleetSpec.from_dict(SMALL_LAB_SPEC), tmp_path_factory.mktemp("small_lab")) as lab:
        yield lab
