"""Kerberos for the WS-Man clients (native winrm and psrp): one ticket cache per credential.

A fleet run uses one credential on many hosts. Logging on once per host would send one AS-REQ
per host to the KDC (and, with a wrong password, one pre-authentication failure per host: an AD
account locks out after a few). Instead the first connection with a credential gets its TGT with
`gss_acquire_cred_with_password` into a MEMORY ccache named after the credential; every other
host, on any thread, builds its context from that ccache and only asks the KDC for its own
service ticket (HTTP/<host name>). A failed logon is not cached: the next host tries again and the
lockout guard (engine/lockout.py) counts each AuthenticationError, so at most `limit` attempts
reach the KDC.

Needs pyspnego's Kerberos extras (`pip install 'remediate[kerberos]'`: the gssapi and krb5
bindings, built against libkrb5-dev). The service principal names a host, never an address:
`spn_host` refuses an IP before anything connects.
"""

from __future__ import annotations

import hashlib
import importlib
import ipaddress
import threading
import time
from dataclasses import dataclass
from typing import Any

import spnego

from remediate.core.errors import AuthenticationError, ConnectError, ProtocolError
from remediate.core.model import ConnectionSpec

KRB5_MECH = "1.2.840.113554.1.2.2"  # RFC 1964 / RFC 4121 Kerberos V5 GSS-API mechanism
SERVICE = "HTTP"  # WinRM's SPN class: HTTP/<host> (Ansible's ansible_winrm_service default)
RENEW_MARGIN = 300.0  # seconds: get a fresh TGT when the cached one has less than this left

# MIT krb5 error codes (krb5/krb5_err.et) a bad or unusable credential shows up as.
_CREDENTIAL_CODES = {
    -1765328378: "client principal unknown",  # KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN
    -1765328366: "client account locked or disabled",  # KRB5KDC_ERR_CLIENT_REVOKED
    -1765328361: "password expired",  # KRB5KDC_ERR_KEY_EXP
    -1765328360: "pre-authentication failed (wrong password)",  # KRB5KDC_ERR_PREAUTH_FAILED
    -1765328353: "wrong password",  # KRB5KRB_AP_ERR_BAD_INTEGRITY (no pre-authentication)
}
_KDC_UNREACHABLE = -1765328228  # KRB5_KDC_UNREACH
_REALM_UNKNOWN = -1765328230  # KRB5_REALM_UNKNOWN: no KDC configured for the realm


def available() -> bool:
    """Whether pyspnego can speak Kerberos here (its gssapi and krb5 bindings import)."""
    try:
        importlib.import_module("gssapi")
        importlib.import_module("krb5")
    except ImportError:
        return False
    return True


def spn_host(spec: ConnectionSpec) -> str:
    """The host name of the service principal; ConnectError for an IP (before any connection)."""
    name = (spec.kerberos_host or spec.address).strip("[]")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name
    raise ConnectError(
        f"{spec.connection} {spec.address}: Kerberos needs a host name, not the address {name!r}"
        " (set ansible_host to the host's DNS name, or ansible_winrm_kerberos_hostname_override /"
        " ansible_psrp_negotiate_hostname_override)",
        host=spec.host,
    )


def principal(user: str) -> str:
    """A Windows account name as a Kerberos principal: DOMAIN\\user -> user (default realm)."""
    return user.rsplit("\\", 1)[-1]


@dataclass(frozen=True)
class _Ticket:
    ccache: str
    expires: float  # time.time() when the TGT expires


class TicketCaches:
    """The process's ccaches, one per (user, password): acquired once, shared by every host."""

    def __init__(self) -> None:
        self._tickets: dict[str, _Ticket] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.logons = 0  # AS exchanges made (tests: one per credential, not per host)

    @staticmethod
    def _key(user: str, password: str) -> str:
        return hashlib.sha256(f"{user}\0{password}".encode()).hexdigest()[:24]

    def cached(self, user: str, password: str) -> spnego.KerberosCCache | None:
        """The credential's ccache if a valid TGT is cached (no KDC round trip, no lock wait)."""
        ticket = self._tickets.get(self._key(user, password))
        if ticket is None or ticket.expires - RENEW_MARGIN < time.time():
            return None
        return spnego.KerberosCCache(ccache=ticket.ccache)

    def get(self, spec: ConnectionSpec) -> spnego.KerberosCCache:
        """Blocking: the credential's ccache, logging on once (one thread per credential at a time)."""
        user, password = spec.user or "", spec.password or ""
        if not user:
            raise AuthenticationError(
                f"{spec.connection} {spec.address}: Kerberos needs a user", host=spec.host
            )
        if not available():
            raise ProtocolError(
                f"{spec.connection} {spec.address}: Kerberos needs the gssapi and krb5 Python bindings"
                " (pip install 'remediate[kerberos]'; they build against libkrb5-dev)",
                host=spec.host,
            )
        key = self._key(user, password)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            found = self.cached(user, password)
            if found is not None:
                return found
            ccache = f"MEMORY:remediate-{key}"
            lifetime = _kinit(principal(user), password, ccache, spec)
            self.logons += 1
            self._tickets[key] = _Ticket(ccache, time.time() + lifetime)
            return spnego.KerberosCCache(ccache=ccache)

    def forget(self, spec: ConnectionSpec) -> None:
        """Drop a credential's cached TGT (the KDC or a host refused it)."""
        self._tickets.pop(self._key(spec.user or "", spec.password or ""), None)


TICKETS = TicketCaches()


def _kinit(user: str, password: str, ccache: str, spec: ConnectionSpec) -> float:
    """Get a TGT for `user` into `ccache`; its lifetime in seconds. Errors as transport errors."""
    gssapi: Any = importlib.import_module("gssapi")
    mech = gssapi.OID.from_int_seq(KRB5_MECH)
    where = f"{spec.connection} {spec.address}"
    try:
        name = gssapi.Name(user, gssapi.NameType.kerberos_principal)
        res = gssapi.raw.acquire_cred_with_password(name, password.encode(), usage="initiate", mechs=[mech])
        gssapi.raw.store_cred_into(
            {b"ccache": ccache.encode()}, res.creds, usage="initiate", mech=mech, overwrite=True,
            set_default=False,
        )  # fmt: skip
    except gssapi.exceptions.GSSError as exc:
        code = getattr(exc, "min_code", None)
        if isinstance(code, int) and code >= 2**31:
            code -= 2**32  # gssapi reports the (signed) krb5 error code as an unsigned OM_uint32
        if code in _CREDENTIAL_CODES:
            raise AuthenticationError(
                f"{where}: Kerberos logon of {user} refused: {_CREDENTIAL_CODES[code]}", host=spec.host
            ) from None
        if code in (_KDC_UNREACHABLE, _REALM_UNKNOWN):
            raise ConnectError(f"{where}: cannot reach a KDC for {user}", host=spec.host) from None
        raise ProtocolError(
            f"{where}: Kerberos logon of {user} failed: {exc.gen_message()}", host=spec.host
        ) from None
    lifetime = res.lifetime
    return float(lifetime) if lifetime else 36000.0


def client_context(spec: ConnectionSpec, ccache: spnego.KerberosCCache) -> spnego.ContextProxy:
    """A Kerberos initiator for HTTP/<host> from the credential's ccache (WinRM wrapping)."""
    return spnego.client(
        ccache,
        hostname=spn_host(spec),
        service=SERVICE,
        protocol="kerberos",
        options=spnego.NegotiateOptions.wrapping_winrm,
    )
