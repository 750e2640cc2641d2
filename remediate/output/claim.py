"""Claiming a run's result files before it starts: no overwrite unless forced, one run per file.

`claim_outputs(paths, force=...)` runs before any host is contacted:
- a file that already exists is refused (`--force` to replace it), so re-running with the same
  `--jsonl` never wipes a crashed run's results;
- each path gets an exclusive `fcntl.flock` on a sidecar `FILE.lock` held for the whole run, so a
  second run naming the same file is refused at once with the holder's pid, instead of both
  writing into it (interleaved JSONL lines, a report from the wrong run).
The sidecar is removed when the run releases it. POSIX only (flock), like the controller.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from remediate.core.errors import ConfigError


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


class OutputClaim:
    """The locks on a run's output files; release with `release()` or `with`."""

    def __init__(self) -> None:
        self._held: list[tuple[Path, int]] = []

    def _lock(self, path: Path) -> None:
        lock = lock_path(path)
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise ConfigError(
                    f"{path}: another remediate run (pid {holder}) is writing this file; "
                    "give this run another path"
                ) from None
            # The holder may have removed the sidecar between our open and our lock: ours must
            # still be the file at that path, or another run could lock a fresh one alongside.
            try:
                same = os.stat(lock).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._held.append((lock, fd))

    def release(self) -> None:
        held, self._held = self._held, []
        for lock, fd in held:
            try:
                lock.unlink(missing_ok=True)  # while still locked: a waiter re-checks the inode
            finally:
                os.close(fd)

    def __enter__(self) -> OutputClaim:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def claim_outputs(paths: Iterable[str | Path | None], *, force: bool = False) -> OutputClaim:
    """Lock every given output path; ConfigError (nothing held) if one is taken or exists."""
    claim = OutputClaim()
    try:
        seen: set[Path] = set()
        for raw in paths:
            if raw is None or raw == "":
                continue
            path = Path(raw).absolute()
            if path in seen:
                raise ConfigError(f"{raw}: named for two outputs of this run")
            seen.add(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            claim._lock(path)
            if path.exists() and not force:
                raise ConfigError(f"{raw}: already exists; remove it, choose another path or pass --force")
    except BaseException:
        claim.release()
        raise
    return claim
