"""The controller's cached NT hash: RFC 1320 MD4 vectors and NTOWFv1 of a known password."""

from __future__ import annotations

import pytest

from remediate.transports.ntlm_hash import md4, nt_hash, ntlm_credential


@pytest.mark.parametrize(
    ("data", "digest"),
    [  # RFC 1320, appendix A.5
        (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
        (b"a", "bde52cb31de33e46245e05fbdbd6fb24"),
        (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
        (b"message digest", "d9130a8164549fe818874806e1c7014b"),
        (b"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
        (b"1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
    ],
)
def test_md4_rfc1320_vectors(data: bytes, digest: str) -> None:
    assert md4(data).hex() == digest


def test_nt_hash_and_credential() -> None:
    # [MS-NLMP] 4.2.2.1.2 NTOWFv1("Password") = a4 f4 9c 40 65 10 bd ca b6 82 4e e7 c3 0f d8 52
    # (https://msdn.microsoft.com/en-us/library/cc236621.aspx; also Chromium's net/ntlm/ntlm_test_data.h)
    assert nt_hash("Password") == "A4F49C406510BDCAB6824EE7C30FD852"
    cred = ntlm_credential(r"Domain\User", "Password")
    assert cred.username == r"Domain\User" and cred.nt_hash == "A4F49C406510BDCAB6824EE7C30FD852"
