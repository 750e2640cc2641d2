"""Debian's chromium for the report's browser test: found, or installed with apt-get when root.

Headless flags keep it off the network (no component updates, sync, QUIC or first-run pings):
the page under test must render from the file alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.services.common import apt_install

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# a Japanese font, so the screenshot shows the Japanese error text rather than empty boxes
PACKAGES = ("chromium", "fonts-ipafont-gothic")
JA_FONT = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)
# how chromium logs a page's console message or uncaught exception with --enable-logging=stderr:
# `[...:INFO:CONSOLE:1] "Uncaught ReferenceError: x is not defined", source: file:///... (1)`
# (Debian's chromium 13x; older builds print `CONSOLE(1)]`)
CONSOLE_RE = re.compile(r":CONSOLE[:(]\d+\)?\]\s*\"(.*)\", source: ", re.MULTILINE)


def find() -> str | None:
    for path in (*CANDIDATES, shutil.which("chromium") or ""):
        if path and os.access(path, os.X_OK):
            return path
    return None


def install_if_missing() -> tuple[str | None, str | None]:
    """(path, None) when chromium is there (installing Debian's package as root if not), else (None, why)."""
    found = find()
    if found and os.path.exists(JA_FONT):
        return found, None
    if os.geteuid() != 0 and found:
        return found, None  # the DOM checks hold without the font; only the screenshot differs
    why = apt_install(PACKAGES)
    if why is not None:
        return (found, None) if found else (None, why)
    found = find()
    return (found, None) if found else (None, "chromium still missing after apt-get install")


@dataclass(frozen=True)
class Page:
    dom: str  # the DOM after load (--dump-dom)
    console: list[str]  # console messages and uncaught errors the page produced


def run(chromium: str, profile: Path, *args: str, timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def load(chromium: str, page: Path, profile: Path) -> Page:
    out = run(chromium, profile, "--dump-dom", page.resolve().as_uri())
    if out.returncode != 0:
        raise RuntimeError(f"chromium exited {out.returncode}: {out.stderr[-800:]}")
    return Page(out.stdout, CONSOLE_RE.findall(out.stderr))


def screenshot(chromium: str, page: Path, profile: Path, png: Path, size: str = "1280,2000") -> None:
    out = run(
        chromium,
        profile,
        f"--screenshot={png}",
        f"--window-size={size}",
        "--hide-scrollbars",
        page.resolve().as_uri(),
    )
    if out.returncode != 0 or not png.exists():
        raise RuntimeError(f"chromium screenshot failed ({out.returncode}): {out.stderr[-800:]}")
