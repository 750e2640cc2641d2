"""The NTLM NT hash, computed once per password instead of once per host.

pyspnego derives a `Password` credential's LM and NT hashes in every new context; its LM hash is
pure-Python DES (~4 ms a host, 12% of the controller's CPU at 5,000 hosts; issue 12) and NTLMv2
never uses it. So the WinRM client hands pyspnego an `NTLMHash` credential (its public API) with
the NT hash, cached per password. NT hash = MD4(UTF-16LE(password)) (MS-NLMP 3.3.1, NTOWFv1:
https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/780943e9-42e6-4dbe-aa87-1dce828ba82a);
MD4 is RFC 1320 (https://www.rfc-editor.org/rfc/rfc1320), written out here because OpenSSL 3
no longer offers it through hashlib.
"""

from __future__ import annotations

import functools
import struct

import spnego

_MASK = 0xFFFFFFFF


def _rotl(x: int, n: int) -> int:
    x &= _MASK
    return ((x << n) | (x >> (32 - n))) & _MASK


def md4(data: bytes) -> bytes:
    """RFC 1320 MD4 digest."""
    msg = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", len(data) * 8)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for off in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[off : off + 64])
        aa, bb, cc, dd = a, b, c, d
        for i in range(16):  # round 1: F(x,y,z) = xy | ~x z
            k, s = i, (3, 7, 11, 19)[i % 4]
            a, b, c, d = d, _rotl(a + ((b & c) | (~b & d)) + x[k], s), b, c
        for i in range(16):  # round 2: G(x,y,z) = xy | xz | yz, + 0x5A827999
            k, s = (i % 4) * 4 + i // 4, (3, 5, 9, 13)[i % 4]
            a, b, c, d = d, _rotl(a + ((b & c) | (b & d) | (c & d)) + x[k] + 0x5A827999, s), b, c
        for i in range(16):  # round 3: H(x,y,z) = x ^ y ^ z, + 0x6ED9EBA1
            k, s = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)[i], (3, 9, 11, 15)[i % 4]
            a, b, c, d = d, _rotl(a + (b ^ c ^ d) + x[k] + 0x6ED9EBA1, s), b, c
        a, b, c, d = (a + aa) & _MASK, (b + bb) & _MASK, (c + cc) & _MASK, (d + dd) & _MASK
    return struct.pack("<4I", a, b, c, d)


@functools.lru_cache(maxsize=32)
def nt_hash(password: str) -> str:
    """NTOWFv1 as the hex pyspnego's NTLMHash takes."""
    return md4(password.encode("utf-16-le")).hex().upper()


def ntlm_credential(user: str, password: str) -> spnego.NTLMHash:
    """An NTLM credential for `user` whose hashes pyspnego does not recompute per context."""
    return spnego.NTLMHash(user, nt_hash=nt_hash(password))
