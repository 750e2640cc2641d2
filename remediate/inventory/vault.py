"""Ansible Vault decryption (formats 1.1 and 1.2, cipher AES256) with `cryptography`, no ansible import.

The format, as Ansible's own code writes and reads it (ansible-core lib/ansible/parsing/vault/__init__.py,
`VaultLib.encrypt`, `parse_vaulttext_envelope`, `parse_vaulttext`, `VaultAES256`;
https://github.com/ansible/ansible/blob/devel/lib/ansible/parsing/vault/__init__.py) and its docs
(https://docs.ansible.com/ansible/latest/vault_guide/vault_using_encrypted_content.html#format-of-files-encrypted-with-ansible-vault):

    $ANSIBLE_VAULT;1.1;AES256            header; 1.2 adds a label: $ANSIBLE_VAULT;1.2;AES256;prod
    6237...                              body, hexlified and wrapped at 80 columns; unhexlified it is
                                         hex(salt) \\n hex(hmac) \\n hex(ciphertext)

    key material = PBKDF2-HMAC-SHA256(password, salt, 10000 iterations, 80 bytes)
    aes key = [0:32], hmac key = [32:64], CTR nonce = [64:80]
    hmac = HMAC-SHA256(hmac key, ciphertext), checked (in constant time) before decrypting
    plaintext = PKCS7-unpad(AES-256-CTR(aes key, nonce).decrypt(ciphertext))

Passwords come from files (whitespace stripped, like Ansible's FileVaultSecret), from executable
files (run; stdout without trailing newlines is the password, like ScriptVaultSecret; a script named
`*-client[.ext]` gets `--vault-id LABEL`, like ClientScriptVaultSecret) or a prompt. Each password has
a vault id (label, "default" when none is given). A 1.2 envelope's label is tried first, then the
others in order, as Ansible does with the default `vault_id_match = False`.

Decrypted values are `VaultSecret` strings: the inventory masks them like passwords.
"""

from __future__ import annotations

import os
import subprocess
from binascii import Error as BinasciiError
from binascii import unhexlify
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from remediate.core.errors import ConfigError

HEADER = "$ANSIBLE_VAULT"
DEFAULT_ID = "default"  # Ansible's DEFAULT_VAULT_IDENTITY
ITERATIONS = 10000
HOW_TO_GIVE = (
    "pass one with --vault-password-file FILE, --vault-id [LABEL@]FILE, "
    "ANSIBLE_VAULT_PASSWORD_FILE or vault_password_file in ansible.cfg"
)


class VaultSecret(str):
    """A value decrypted from Ansible Vault: shown masked, like a password."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "VaultSecret('********')"


@dataclass(frozen=True)
class VaultPassword:
    label: str
    source: str  # the file (or "prompt"), for messages
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class Envelope:
    version: str
    cipher: str
    label: str | None
    body: bytes  # the hexlified vaulttext (newlines removed)


def is_vault(text: str | bytes) -> bool:
    head = text.lstrip()[: len(HEADER)]
    return (head.decode("ascii", "replace") if isinstance(head, bytes) else head) == HEADER


def parse_envelope(text: str, *, file: str, line: int | None = None) -> Envelope:
    lines = text.strip().splitlines()
    fields = [f.strip() for f in lines[0].split(";")] if lines else []
    if len(fields) < 3 or fields[0] != HEADER:
        raise ConfigError("not an Ansible Vault envelope (no $ANSIBLE_VAULT header)", file=file, line=line)
    version, cipher = fields[1], fields[2]
    if version not in ("1.1", "1.2") or cipher != "AES256":
        raise ConfigError(
            f"vault format {version};{cipher} is not supported (1.1 and 1.2 with AES256 are)",
            file=file,
            line=line,
        )
    label = fields[3] if len(fields) >= 4 and fields[3] else None
    body = "".join(x.strip() for x in lines[1:]).encode("ascii", "replace")
    return Envelope(version, cipher, label, body)


def _keys(password: bytes, salt: bytes) -> tuple[bytes, bytes, bytes]:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=80, salt=salt, iterations=ITERATIONS)
    derived = kdf.derive(password)
    return derived[:32], derived[32:64], derived[64:80]


def split_body(body: bytes) -> tuple[bytes, bytes, bytes]:
    """(salt, hmac, ciphertext) from the hexlified vaulttext; ValueError when malformed."""
    try:
        salt_hex, hmac_hex, data_hex = unhexlify(body).split(b"\n", 2)
        return unhexlify(salt_hex), unhexlify(hmac_hex), unhexlify(data_hex)
    except (BinasciiError, ValueError) as exc:
        raise ValueError(f"malformed vault data ({exc})") from None


def decrypt_bytes(body: bytes, password: bytes) -> bytes | None:
    """The plaintext, or None when the HMAC says this is not the password."""
    salt, mac, data = split_body(body)
    aes_key, hmac_key, nonce = _keys(password, salt)
    h = HMAC(hmac_key, hashes.SHA256())
    h.update(data)
    try:
        h.verify(mac)  # constant-time comparison
    except InvalidSignature:
        return None
    dec = Cipher(algorithms.AES(aes_key), modes.CTR(nonce)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(dec.update(data) + dec.finalize()) + unpadder.finalize()
    except ValueError:
        raise ValueError("malformed vault data (bad padding)") from None


class VaultKeys:
    """The run's vault passwords, tried in order (an envelope's own label first)."""

    def __init__(self, passwords: Sequence[VaultPassword] = ()) -> None:
        self.passwords = list(passwords)

    def __bool__(self) -> bool:
        return bool(self.passwords)

    def __repr__(self) -> str:
        return f"VaultKeys({[p.label for p in self.passwords]!r})"

    def decrypt(self, text: str, *, file: str, line: int | None = None, field: str | None = None) -> str:
        """Decrypt one envelope; ConfigError naming the file (and line, field) when it cannot."""
        try:
            return self._decrypt(text, file=file, line=line)
        except ConfigError as exc:
            raise ConfigError(exc.message, file=exc.file, line=exc.line, field=field) from None

    def _decrypt(self, text: str, *, file: str, line: int | None) -> str:
        env = parse_envelope(text, file=file, line=line)
        what = f"vault-encrypted {'value' if line else 'file'}"
        if not self.passwords:
            raise ConfigError(f"{what} but no vault password was given: {HOW_TO_GIVE}", file=file, line=line)
        ordered = [p for p in self.passwords if p.label == env.label]
        ordered += [p for p in self.passwords if p.label != env.label]
        try:
            for p in ordered:
                plain = decrypt_bytes(env.body, p.secret)
                if plain is not None:
                    try:
                        return plain.decode("utf-8")
                    except UnicodeDecodeError:
                        raise ConfigError(
                            f"{what}: decrypted data is not UTF-8 text", file=file, line=line
                        ) from None
        except ValueError as exc:
            raise ConfigError(f"{what}: {exc}", file=file, line=line) from None
        tried = ", ".join(dict.fromkeys(p.label for p in ordered))
        own = f" (encrypted with vault id {env.label!r})" if env.label else ""
        raise ConfigError(
            f"{what}{own}: no vault password given decrypts it (tried vault ids: {tried}); "
            "wrong vault password?",
            file=file,
            line=line,
        )


# -- where passwords come from -----------------------------------------------------------------


def split_vault_id(spec: str) -> tuple[str, str]:
    """'prod@file' -> ('prod', 'file'); 'file' -> ('default', 'file'), like Ansible's split_vault_id."""
    label, at, source = spec.partition("@")
    return (label or DEFAULT_ID, source) if at else (DEFAULT_ID, spec)


def _is_client_script(path: Path) -> bool:
    return os.path.splitext(path.name)[0].endswith("-client")


def read_password(label: str, source: str, *, prompt: Callable[[str], str] | None = None) -> VaultPassword:
    """One password: from a file, an executable file's stdout, or a prompt (`prompt` / `@prompt`)."""
    where = f"vault id {label!r}"
    if source == "prompt":
        if prompt is None:
            raise ConfigError(
                f"{where}: a vault password prompt needs an interactive terminal; {HOW_TO_GIVE}"
            )
        secret = prompt(f"Vault password ({label}): ").encode()
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise ConfigError(f"{where}: vault password file not found", file=str(path))
        if path.is_dir():
            raise ConfigError(f"{where}: the vault password file is a directory", file=str(path))
        if os.access(path, os.X_OK):
            cmd = [str(path)] + (["--vault-id", label] if _is_client_script(path) else [])
            try:
                proc = subprocess.run(cmd, stdout=subprocess.PIPE, check=False)
            except OSError as exc:
                raise ConfigError(
                    f"{where}: cannot run the vault password script ({exc.strerror}); "
                    "if it is not a script, remove its executable bit",
                    file=str(path),
                ) from None
            if proc.returncode != 0:
                raise ConfigError(
                    f"{where}: the vault password script exited with {proc.returncode}", file=str(path)
                )
            secret = proc.stdout.strip(b"\r\n")
        else:
            try:
                secret = path.read_bytes().strip()
            except OSError as exc:
                raise ConfigError(
                    f"{where}: cannot read vault password file: {exc.strerror}", file=str(path)
                ) from None
    if not secret:
        raise ConfigError(
            f"{where}: the vault password is empty", file=None if source == "prompt" else source
        )
    return VaultPassword(label, source, secret)


def load_keys(
    vault_ids: Sequence[str] = (),
    password_files: Sequence[str] = (),
    *,
    prompt: Callable[[str], str] | None = None,
) -> VaultKeys:
    """Passwords in Ansible's order: every --vault-id, then every --vault-password-file (label default)."""
    specs = [split_vault_id(s) for s in vault_ids] + [(DEFAULT_ID, f) for f in password_files]
    seen: set[tuple[str, str]] = set()
    out = []
    for label, source in specs:
        if (label, source) not in seen:
            seen.add((label, source))
            out.append(read_password(label, source, prompt=prompt))
    return VaultKeys(out)
