"""Install what the Kerberos tests need before anything imports pyspnego (stdlib only).

The gssapi and krb5 bindings have no Linux wheels on the package index used here: pip builds
them from source against libkrb5-dev with gcc. pyspnego decides at import time whether gssapi is
there, so this runs from tests/conftest.py's pytest_configure, before collection imports it.
First run on a fresh machine (as root): apt-get about 1 min, the two builds about 4.5 min.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

from tests.services.common import apt_install

DEBIAN_PACKAGES = ("libkrb5-dev", "krb5-kdc", "krb5-admin-server", "krb5-user", "gcc")
KDC_TOOLS = ("krb5kdc", "kdb5_util", "kadmin.local")


def _have_bindings() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("gssapi", "krb5"))


def _have_tools() -> bool:
    paths = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
    return all(shutil.which(t) or any(os.path.exists(f"{p}/{t}") for p in paths) for t in KDC_TOOLS)


def install_if_missing() -> str | None:
    """None when the KDC tools and the bindings are present (installing them as root if not);
    else why the Kerberos tests cannot run here."""
    if _have_tools() and _have_bindings():
        return None
    why = apt_install(DEBIAN_PACKAGES)
    if why is not None:
        return f"{why}; and pip install 'remediate[kerberos]'"
    if not _have_bindings():
        pip = [sys.executable, "-m", "pip", "install", "-q", "pyspnego[kerberos]"]
        out = subprocess.run(pip, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            return f"pip install 'pyspnego[kerberos]' failed: {out.stderr[-500:]}"
        importlib.invalidate_caches()
    return None if _have_bindings() and _have_tools() else "Kerberos tools or bindings still missing"
