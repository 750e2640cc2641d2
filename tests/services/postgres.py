"""A throwaway PostgreSQL cluster on loopback for the history store tests (stdlib only).

Debian's `postgresql` package is installed with apt-get when its binaries are missing and we
are root (like tests/kerberos_setup.py); otherwise the tests that need it are skipped with the
reason. initdb refuses to run as root, so as root the cluster belongs to the `postgres` OS user
(the package creates it) and every server command runs through `runuser -u postgres --`.
The cluster listens on 127.0.0.1 and a free port with trust authentication, fsync off (it is
deleted afterwards), and its socket in its own directory: it never touches a system cluster.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.services.common import apt_install, free_port

DEBIAN_PACKAGE = "postgresql"


def find_bin() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb (Debian keeps them off PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def install_if_missing() -> str | None:
    """None when the server binaries are here (installing them as root if not), else why not."""
    if find_bin() is not None:
        return None
    why = apt_install([DEBIAN_PACKAGE])
    if why is not None:
        return why
    return None if find_bin() is not None else f"{DEBIAN_PACKAGE} installed but no initdb found"


@dataclass(frozen=True)
class Cluster:
    bin: Path
    port: int
    socket_dir: Path
    as_user: tuple[str, ...]  # ("runuser", "-u", "postgres", "--") as root, () otherwise

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        """Run one statement as the superuser (CREATE/DROP DATABASE cannot run in a transaction)."""
        cmd = [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        cmd += ["-d", database, "-v", "ON_ERROR_STOP=1", "-q", "-c", statement]
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60)


def _run(cmd: list[str]) -> None:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    if out.returncode != 0:
        why = f"{out.stdout[-400:]} {out.stderr[-800:]}"
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {why}")


@contextmanager
def cluster() -> Iterator[Cluster]:
    """Start a new cluster; stop it and delete its files on exit."""
    bindir = find_bin()
    if bindir is None:
        raise RuntimeError(install_if_missing() or "no PostgreSQL binaries")
    root = Path(tempfile.mkdtemp(prefix="remediate-pg-"))
    as_user: tuple[str, ...] = ()
    if os.geteuid() == 0:
        as_user = ("runuser", "-u", "postgres", "--")
        shutil.chown(root, "postgres", "postgres")
    data, log = root / "data", root / "server.log"
    port = free_port()
    ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        _run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
              "-E", "UTF8", "--no-sync", "--locale=C"])  # fmt: skip
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off"
        _run([*ctl, "-o", opts, "-l", str(log), "-w", "-t", "60", "start"])
        yield Cluster(bindir, port, root, as_user)
    finally:
        subprocess.run([*ctl, "-m", "immediate", "-w", "stop"], capture_output=True, check=False, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
