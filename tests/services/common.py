"""What every test service needs: Debian packages installed when missing (as root), a free
loopback port. Stdlib only, so tests/conftest.py can import it before collection."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Sequence


def apt_install(packages: Sequence[str], *, recommends: bool = True) -> str | None:
    """apt-get install `packages` (an update and a retry when the first attempt fails); None on
    success, else why not (not root, no apt-get, or apt's own error)."""
    names = " ".join(packages)
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"needs the Debian packages {names} (apt-get install {names}, as root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [
        "apt-get",
        "install",
        "-y",
        "-qq",
        *([] if recommends else ["--no-install-recommends"]),
        *packages,
    ]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
        out = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            return f"apt-get install {names} failed: {out.stderr[-300:]}"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
