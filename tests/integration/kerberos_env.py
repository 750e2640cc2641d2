"""What the Kerberos tests need: MIT's KDC tools and pyspnego's GSSAPI bindings.

tests/kerberos_setup.py installs them (as root, when missing) from tests/conftest.py's
pytest_configure, before anything imports pyspnego, which decides at import whether gssapi is
there. Measured on the 2-core dev machine: apt-get about 1 min, building gssapi and krb5 from
source about 4.5 min; both only the first time. The KDC itself starts in about 0.4 s.
"""

from __future__ import annotations

from remediate.lab.network import kdc
from remediate.transports import kerberos


def ensure() -> str | None:
    """None when Kerberos tests can run; else why not."""
    if not kdc.installed():
        return "MIT KDC tools missing (krb5-kdc, krb5-admin-server): see tests/kerberos_setup.py"
    if not kerberos.available():
        return "pyspnego has no Kerberos (gssapi/krb5 bindings): pip install 'remediate[kerberos]'"
    return None
