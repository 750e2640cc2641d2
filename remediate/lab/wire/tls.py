"""Lab certificate authority: one CA per lab, one server certificate per host (HTTPS WinRM).

The CA certificate is written to `<dir>/lab-ca.pem` so clients validate the lab like a real PKI
(pypsrp `cert_validation=<path>`, requests `verify=<path>`). Keys are EC P-256: generating one takes
well under a millisecond, so even 500 HTTPS hosts start quickly.
"""

from __future__ import annotations

import datetime
import ipaddress
import pathlib
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=825)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class LabCA:
    """A self-signed CA that issues lab server certificates."""

    def __init__(
        self, directory: pathlib.Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
    ) -> None:
        self.directory = directory
        self._key = key
        self._cert = cert
        self.ca_path = directory / "lab-ca.pem"
        self._contexts: dict[tuple[tuple[str, ...], tuple[str, ...]], ssl.SSLContext] = {}

    @classmethod
    def create(cls, directory: pathlib.Path) -> LabCA:
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "remediate lab CA")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        ca = cls(directory, key, cert)
        ca.ca_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return ca

    def to_pem(self) -> tuple[bytes, bytes]:
        """(key, certificate) PEM: how a lab shard process gets the same CA (over a pipe, not disk)."""
        return _pem_key(self._key), self._cert.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def from_pem(cls, directory: pathlib.Path, key_pem: bytes, cert_pem: bytes) -> LabCA:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("lab CA key is not an EC key")
        return cls(directory, key, x509.load_pem_x509_certificate(cert_pem))

    def issue(self, hostnames: list[str], ips: list[str]) -> tuple[bytes, bytes]:
        """Return (certificate chain PEM, private key PEM) for a server with these names."""
        key = ec.generate_private_key(ec.SECP256R1())
        cn = hostnames[0] if hostnames else (ips[0] if ips else "lab-host")
        sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        chain = cert.public_bytes(serialization.Encoding.PEM) + self._cert.public_bytes(
            serialization.Encoding.PEM
        )
        return chain, _pem_key(key)

    def server_context(self, hostnames: list[str], ips: list[str]) -> ssl.SSLContext:
        """A server SSLContext presenting a certificate for these names (cached per name set)."""
        cache_key = (tuple(hostnames), tuple(ips))
        cached = self._contexts.get(cache_key)
        if cached is not None:
            return cached
        chain, key = self.issue(hostnames, ips)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        # ssl only loads certificates from files: write them to a private temp file, then drop it.
        with tempfile.NamedTemporaryFile("wb", dir=self.directory, suffix=".pem") as tmp:
            tmp.write(chain + key)
            tmp.flush()
            ctx.load_cert_chain(tmp.name)
        self._contexts[cache_key] = ctx
        return ctx
