"""What the Kerberos tests need, installed on first use: MIT's KDC tools and the GSSAPI bindings.

The gssapi and krb5 Python packages have no Linux wheels on the package index used here, so
pip builds them from source against libkrb5-dev with gcc. `ensure()`:

1. the Debian packages libkrb5-dev krb5-kdc krb5-admin-server krb5-user gcc, with apt-get, when
   a tool is missing and we are root (otherwise the tests skip, saying what to install);
2. `pip install 'pyspnego[kerberos]'` (gssapi + krb5) into this interpreter when missing; pyspnego
   decided at import whether gssapi was there, so its GSSAPI module is reloaded afterwards.

Measured on the 2-core dev machine: apt-get about 1 min, the two source builds about 4.5 min;
both only the first time. The KDC itself starts in about 0.4 s.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys

from remediate.lab.network import kdc
from remediate.transports import kerberos

DEBIAN_PACKAGES = ("libkrb5-dev", "krb5-kdc", "krb5-admin-server", "krb5-user", "gcc")


def _apt_install() -> str | None:
    """None when the KDC tools and build dependencies are present (installing them if we can)."""
    have_build = shutil.which("krb5-config") is not None and shutil.which("gcc") is not None
    if kdc.installed() and (have_build or kerberos.available()):
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"needs the Debian packages {' '.join(DEBIAN_PACKAGES)} (apt-get install as root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", *DEBIAN_PACKAGES]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
        out = subprocess.run(install, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            return f"apt-get install {' '.join(DEBIAN_PACKAGES)} failed: {out.stderr[-300:]}"
    return None


def _pip_install() -> str | None:
    if kerberos.available():
        return None
    out = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "pyspnego[kerberos]"], capture_output=True, text=True
    )
    if out.returncode != 0:
        return f"pip install 'pyspnego[kerberos]' failed: {out.stderr[-500:]}"
    importlib.invalidate_caches()
    # pyspnego's GSSAPI provider set HAS_GSSAPI when spnego was first imported; re-run it now that
    # gssapi is importable (reload keeps the module object, so classes already imported see it).
    importlib.reload(importlib.import_module("spnego._gss"))
    return None if kerberos.available() else "gssapi installed but not importable"


def ensure() -> str | None:
    """None when Kerberos tests can run; else why not."""
    return _apt_install() or _pip_install()
