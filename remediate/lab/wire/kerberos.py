"""Kerberos acceptance for the lab's WinRM endpoints: HTTP/<host fqdn> keys from a keytab.

A real domain-joined Windows host accepts a Kerberos AP-REQ for its HTTP/<fqdn> service principal
with the key it shares with the domain controller. The lab does the same with a keytab exported
from an MIT KDC (remediate.lab.network.kdc): `enable(keytab)` points MIT's default acceptor keytab
(KRB5_KTNAME, read by every krb5 context the process creates) at it, and `acceptor(host)` builds a
pyspnego Kerberos acceptor bound to that host's own principal, so a ticket for another host is
refused. The Windows account the client logged on as is `client_principal` (user@REALM).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import spnego

from remediate.lab.api import EmulatedHost

_KRB5_OID = bytes.fromhex("06092a864886f712010202")  # DER OID 1.2.840.113554.1.2.2 (RFC 4121)
_keytab: Path | None = None


def enable(keytab: Path) -> None:
    """Accept Kerberos with the service keys in `keytab` (process-wide: MIT reads KRB5_KTNAME)."""
    global _keytab
    _keytab = Path(keytab)
    os.environ["KRB5_KTNAME"] = f"FILE:{_keytab}"


def disable() -> None:
    global _keytab
    _keytab = None
    os.environ.pop("KRB5_KTNAME", None)


def enabled() -> bool:
    return _keytab is not None


def is_kerberos_token(token: bytes) -> bool:
    """A raw Kerberos GSS-API initial token: [APPLICATION 0] {krb5 mech OID, AP-REQ} (RFC 4121 4.1)."""
    if token[:1] != b"\x60" or len(token) < 2:
        return False
    skip = 2 + (token[1] & 0x7F if token[1] & 0x80 else 0)  # DER length: short or long form
    return token[skip : skip + len(_KRB5_OID)] == _KRB5_OID


def acceptor(host: EmulatedHost) -> spnego.ContextProxy:
    """A Kerberos acceptor holding only HTTP/<host fqdn>'s key."""
    # pyspnego takes a Credential where its signature says str (unify_credentials)
    credential: Any = spnego.CredentialCache(username=f"HTTP@{host.fqdn}")
    return spnego.server(
        credential,
        protocol="kerberos",
        options=spnego.NegotiateOptions.wrapping_winrm,
    )
