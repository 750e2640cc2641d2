"""What a run records about itself: which playbook (and its bytes), which inventory (and its
bytes), which pattern, mode and -e values (hashed after redaction), who ran it, where, with which
remediate. Two runs with equal hashes ran the same plan on the same inventory."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from remediate import __version__
from remediate.history.records import RunKind, RunMeta
from remediate.inventory.model import MASK, is_secret_name

MAX_HASHED_FILES = 10_000  # an inventory directory with more files is hashed by its first ones


def file_hash(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _inventory_files(source: Path) -> Iterable[Path]:
    """The files an inventory source can read: itself (or every file under it), plus the
    group_vars/ and host_vars/ beside it."""
    base = source if source.is_dir() else source.parent
    if source.is_file():
        yield source
    roots = [source] if source.is_dir() else [base / "group_vars", base / "host_vars"]
    for root in roots:
        if root.is_dir():
            yield from sorted(p for p in root.rglob("*") if p.is_file())


def inventory_hash(sources: Sequence[str | Path]) -> str:
    """sha256 over every file the inventory sources can read (names and bytes), in order."""
    h = hashlib.sha256()
    seen: set[Path] = set()
    for source in sources:
        for count, path in enumerate(_inventory_files(Path(source))):
            if count >= MAX_HASHED_FILES or path in seen:
                continue
            seen.add(path)
            h.update(str(path).encode("utf-8", "surrogateescape") + b"\0")
            h.update(file_hash(path).encode())
    return h.hexdigest()


def vars_hash(extra_vars: Mapping[str, Any]) -> str:
    """sha256 of the -e values as canonical JSON, secret-named values replaced by a mask first
    (the hash must not become a way to test a guessed password)."""
    shown = {k: (MASK if is_secret_name(k) else v) for k, v in extra_vars.items()}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()


def operator() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container's uid without a passwd entry)
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


def run_meta(
    *,
    kind: RunKind,
    playbook: str,
    playbook_path: str | Path,
    inventory: Sequence[str | Path],
    pattern: str | None,
    apply: bool,
    extra_vars: Mapping[str, Any],
    host_count: int,
    uuid: str | None = None,
    rerun: str | None = None,
) -> RunMeta:
    sources = [str(Path(s).expanduser().resolve()) for s in inventory]
    return RunMeta(
        kind=kind,
        playbook=playbook,
        playbook_hash=file_hash(playbook_path),
        inventory=",".join(sources),
        inventory_hash=inventory_hash(sources),
        pattern=pattern,
        mode="apply" if apply else "dry_run",
        vars_hash=vars_hash(extra_vars),
        operator=operator(),
        controller=socket.gethostname(),
        version=__version__,
        host_count=host_count,
        uuid=uuid,
        rerun=rerun,
    )
