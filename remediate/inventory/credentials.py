"""Where passwords come from, resolved once per run before the first connection (preflight),
kept in the CredentialResolver and never copied anywhere else.

Sources, first match wins (see docs/inventory.md):
  remediate_password_env: VAR          environment variable
  remediate_password_file: PATH        first line of a file (relative to the declaring file)
  remediate_password_prompt: LABEL     ask once (true: label "<user>")
  ansible_password / ansible_ssh_pass / ansible_ssh_password:
      {env: VAR} | {file: PATH} | {prompt: LABEL}     the same, as a reference
      "{{ lookup('env', 'VAR') }}"                     Ansible's env lookup, recognised as-is
      "{{ other_variable }}"                           templated (templating.py) at load
      "literal"                                        works, but `remediate inventory` warns
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remediate.core.errors import ConfigError, CredentialError
from remediate.inventory.templating import ENV_LOOKUP, PASSWORD_VARS, literal_sources
from remediate.inventory.vault import VaultSecret

if TYPE_CHECKING:
    from remediate.inventory.model import Host

MAX_LISTED = 10  # hosts named in the preflight's error; the rest are counted
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def password_source(host: Host) -> tuple[str, str, str] | None:
    """(kind, detail, var) for the host's password: kind is env|file|prompt|literal.

    For literals `detail` is the secret itself: callers must not show it.
    """
    v = host.vars
    user = str(v.get("ansible_user") or v.get("ansible_ssh_user") or "")
    if v.get("remediate_password_env"):
        return "env", str(v["remediate_password_env"]), "remediate_password_env"
    if v.get("remediate_password_file"):
        return "file", str(v["remediate_password_file"]), "remediate_password_file"
    prompt = v.get("remediate_password_prompt")
    if prompt:
        return "prompt", user if prompt is True else str(prompt), "remediate_password_prompt"
    for var in PASSWORD_VARS:
        value = v.get(var)
        if value is None or value == "":
            continue
        if isinstance(value, Mapping):
            if len(value) != 1 or next(iter(value)) not in ("env", "file", "prompt"):
                o = host.origin(var)
                raise ConfigError(
                    "a password reference is one of {env: VAR}, {file: PATH} or {prompt: LABEL}",
                    file=o.file,
                    line=o.line,
                    field=o.field,
                )
            kind, detail = next(iter(value.items()))
            return str(kind), str(detail), var
        if not isinstance(value, str | int | float):
            o = host.origin(var)
            raise ConfigError("expected a string or a reference", file=o.file, line=o.line, field=o.field)
        m = ENV_LOOKUP.match(str(value))
        if m:
            return "env", m.group(1), var
        return "literal", str(value), var
    return None


def validate_source(host: Host) -> str | None:
    """Check a host's password reference at load time; returns a warning for literals."""
    src = password_source(host)
    if src is None:
        return None
    kind, detail, var = src
    if kind == "env" and not _ENV_NAME.match(detail):
        o = host.origin(var)
        raise ConfigError(
            f"invalid environment variable name {detail!r}", file=o.file, line=o.line, field=o.field
        )
    if kind != "literal":
        return None
    if var in host.templates:  # templated: judge the end of the chain (vault, env or a literal)
        sources = literal_sources(host, var)
        if not sources:
            return None
        o = host.origin(sources[0])
        where = f"{o.file}:{o.line}" if o.file else o.field
        return (
            f"{where}: {sources[0]} is a literal password (it feeds {var};"
            " discouraged: use {env: VAR}, {file: PATH}, a prompt or Ansible Vault)"
        )
    if is_vault_secret(host.vars.get(var)):
        return None
    o = host.origin(var)
    where = f"{o.file}:{o.line}" if o.file else o.field
    return f"{where}: {var} is a literal password (discouraged: use {{env: VAR}}, {{file: PATH}} or a prompt)"


class CredentialResolver:
    """Resolves each host's password, prompting at most once per credential."""

    def __init__(self, prompt: Callable[[str], str] | None = None) -> None:
        self._prompt = prompt
        self._cache: dict[str, str] = {}
        self._key = secrets.token_bytes(32)  # per-run key: literal ids are stable now, unguessable later

    def password_for(self, host: Host) -> tuple[str | None, str]:
        """(secret, credential_id); the id names the source and user, never the secret."""
        user = str(host.vars.get("ansible_user") or host.vars.get("ansible_ssh_user") or "")
        src = password_source(host)
        if src is None:
            return None, f"{user or '-'}@none"
        kind, detail, var = src
        if kind == "literal":
            digest = hmac.new(self._key, f"{user}\0{detail}".encode(), hashlib.sha256).hexdigest()[:12]
            return detail, f"{user or '-'}@literal:{digest}"
        cred_id = f"{user or '-'}@{kind}:{detail}"
        if cred_id not in self._cache:
            self._cache[cred_id] = self._resolve(kind, detail, user, host, var)
        return self._cache[cred_id], cred_id

    def preflight(self, hosts: Sequence[Host], *, interactive: bool) -> None:
        """Resolve every host's password now, before anything connects (prompting once per label
        when `interactive`); one ConfigError lists every host whose password cannot be had (the
        first MAX_LISTED, then a count). Secrets stay in this resolver's cache."""
        problems: list[str] = []
        for host in hosts:
            problem = self._check(host, interactive)
            if problem:
                problems.append(problem)
        if problems:
            shown = problems[:MAX_LISTED]
            more = len(problems) - len(shown)
            raise ConfigError(
                f"{len(problems)} host(s) have no usable password; nothing was contacted:\n  "
                + "\n  ".join(shown)
                + (f"\n  ... and {more} more" if more else "")
            )

    def _check(self, host: Host, interactive: bool) -> str | None:
        for var in PASSWORD_VARS:  # a templated password whose env lookup found nothing
            unset = host.unset_env.get(var)
            if unset and not host.vars.get(var):
                o = host.origin(var)
                where = f" ({o.file}:{o.line})" if o.file else ""
                return (
                    f"host {host.name}: {var}: environment variable {', '.join(sorted(unset))}"
                    f" is not set{where}"
                )
        try:
            src = password_source(host)
            if src is None:
                return None
            kind, detail, var = src
            if kind == "prompt" and not interactive:
                o = host.origin(var)
                where = f" ({o.file}:{o.line})" if o.file else ""
                return (
                    f"host {host.name}: {var}: password prompt {detail!r}{where} needs an interactive"
                    " terminal and this run is not interactive (use remediate_password_env or _file)"
                )
            self.password_for(host)
        except (CredentialError, ConfigError) as e:
            return str(e)
        return None

    def secrets(self) -> list[str]:
        """Every secret resolved so far (for redacting command output)."""
        return [s for s in self._cache.values() if s]

    def _resolve(self, kind: str, detail: str, user: str, host: Host, var: str) -> str:
        o = host.origin(var)
        where = f" ({o.file}:{o.line})" if o.file else ""
        if kind == "env":
            value = os.environ.get(detail)
            if value is None:
                raise CredentialError(
                    f"host {host.name}: {var}: environment variable {detail} is not set{where}"
                )
            return value
        if kind == "file":
            try:
                lines = Path(detail).expanduser().read_text(encoding="utf-8-sig").splitlines()
            except OSError as exc:
                raise CredentialError(
                    f"host {host.name}: {var}: cannot read password file {detail}: {exc.strerror}{where}"
                ) from None
            return lines[0] if lines else ""
        if kind == "prompt":
            if self._prompt is None:
                raise CredentialError(
                    f"host {host.name}: {var}: password prompt {detail!r} needs an interactive terminal"
                )
            label = f"Password for {user}" if not detail or detail == user else f"Password for {detail}"
            return self._prompt(label + (f" ({user})" if user and user not in label else "") + ": ")
        raise CredentialError(f"host {host.name}: unknown password source {kind!r}")


def is_vault_secret(value: Any) -> bool:
    """Decrypted from Ansible Vault: a literal, but not one to warn about."""
    return isinstance(value, VaultSecret)


def is_reference(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in ("env", "file", "prompt")
