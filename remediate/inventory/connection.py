"""Host variables -> ConnectionSpec, with Ansible's names and defaults.

Sources for the names/defaults: ansible.builtin winrm and ansible.windows psrp connection plugin
docs (ansible_winrm_* / ansible_psrp_*), ansible.builtin.ssh (ansible_ssh_*). Invalid values
raise ConfigError naming the file, line and variable where the value was defined.
"""

from __future__ import annotations

import codecs
import ipaddress
from collections.abc import Mapping
from typing import Any, Literal, cast

from remediate.core.capture import DEFAULT_MAX_OUTPUT, parse_size
from remediate.core.errors import ConfigError, did_you_mean
from remediate.core.model import (
    NATIVE_WINRM_AUTH,
    WINRM_CLIENTS,
    WSMAN_HTTP_PORT,
    ConnectionSpec,
    WinRMClient,
    wsman_port,
)
from remediate.inventory.credentials import CredentialResolver
from remediate.inventory.model import Host

CONNECTIONS = ("winrm", "psrp", "ssh", "fake")
# ansible_winrm_transport names -> ConnectionSpec.auth (plaintext/ssl are pywinrm's Basic)
_WINRM_TRANSPORTS = {
    "ntlm": "ntlm",
    "kerberos": "kerberos",
    "credssp": "credssp",
    "basic": "basic",
    "plaintext": "basic",
    "ssl": "basic",
    "certificate": "certificate",
    "negotiate": "negotiate",
}
_PSRP_AUTH = ("basic", "certificate", "negotiate", "kerberos", "ntlm", "credssp")
_BOOL_TRUE = ("yes", "on", "1", "true", "y", "t")
_BOOL_FALSE = ("no", "off", "0", "false", "n", "f")

REMEDIATE_VARS = (
    "remediate_output_encoding",
    "remediate_codepage",
    "remediate_ssh_port",
    "remediate_https_port",
    "remediate_ssh_known_hosts",
    "remediate_connect_timeout",
    "remediate_operation_timeout",
    "remediate_password_env",
    "remediate_password_file",
    "remediate_password_prompt",
    "remediate_winrm_client",
    "remediate_allow_basic_http",
    "remediate_max_output",
    "remediate_site",  # the site whose workers reach this host (remediate run --workers)
)


class _Vars:
    """Typed access to a host's vars; errors point at the value's origin."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def fail(self, key: str, message: str) -> ConfigError:
        o = self.host.origin(key)
        return ConfigError(message, file=o.file, line=o.line, field=o.field)

    def first(self, *keys: str) -> tuple[str, Any] | None:
        for k in keys:
            if self.host.vars.get(k) not in (None, ""):
                return k, self.host.vars[k]
        return None

    def text(self, *keys: str) -> str | None:
        found = self.first(*keys)
        if found is None:
            return None
        k, v = found
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise self.fail(k, f"expected a string, got {_kind(v)}")
        return str(v)

    def integer(self, *keys: str, low: int = 1, high: int = 65535) -> int | None:
        found = self.first(*keys)
        if found is None:
            return None
        k, v = found
        try:
            if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
                raise ValueError
            n = int(str(v).strip()) if isinstance(v, str) else int(v)
        except (TypeError, ValueError):
            raise self.fail(k, f"expected an integer, got {v!r}") from None
        if not low <= n <= high:
            raise self.fail(k, f"expected an integer from {low} to {high}, got {n}")
        return n

    def number(self, *keys: str) -> float | None:
        found = self.first(*keys)
        if found is None:
            return None
        k, v = found
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise self.fail(k, f"expected a number of seconds, got {v!r}") from None
        if f <= 0:
            raise self.fail(k, f"expected a positive number of seconds, got {v!r}")
        return f

    def choice(self, key: str, choices: tuple[str, ...]) -> str | None:
        v = self.text(key)
        if v is None:
            return None
        if v.lower() not in choices:
            raise self.fail(key, f"expected one of {', '.join(choices)}, got {v!r}{did_you_mean(v, choices)}")
        return v.lower()

    def boolean(self, *keys: str) -> bool | None:
        found = self.first(*keys)
        if found is None:
            return None
        k, v = found
        if isinstance(v, bool):
            return v
        s = str(v).strip().lower()
        if s in _BOOL_TRUE or s in _BOOL_FALSE:
            return s in _BOOL_TRUE
        raise self.fail(k, f"expected a boolean (true/false), got {v!r}")


def _kind(v: Any) -> str:
    """What the user wrote, in YAML words (not internal class names such as PosList)."""
    if isinstance(v, bool):
        return f"a boolean ({str(v).lower()})"
    if isinstance(v, list | tuple):
        return "a list"
    if isinstance(v, Mapping):
        return "a mapping"
    return "nothing" if v is None else type(v).__name__


def _scheme_and_port(v: _Vars, scheme_key: str, port_keys: tuple[str, ...]) -> tuple[str, int]:
    """Ansible: port defaults to 5986; scheme is http when the port is 5985, else https."""
    port = v.integer(*port_keys)
    scheme = v.choice(scheme_key, ("http", "https"))
    if scheme is None:
        scheme = "http" if port == WSMAN_HTTP_PORT else "https"
    if port is None:
        port = wsman_port(scheme)
    return scheme, port


def _winrm_auth(v: _Vars, user: str | None) -> str:
    found = v.first("ansible_winrm_transport")
    if found is None:
        # Ansible would fall back to Basic; remediate uses NTLM (Basic over HTTP is cleartext).
        return "kerberos" if user and "@" in user else "ntlm"
    key, raw = found
    items = raw if isinstance(raw, list) else str(raw).split(",")
    for item in (str(i).strip().lower() for i in items):
        if item in _WINRM_TRANSPORTS:
            return _WINRM_TRANSPORTS[item]
    raise v.fail(key, f"expected one of {', '.join(_WINRM_TRANSPORTS)}, got {raw!r}")


def _cert_validation(v: _Vars, key: str) -> bool:
    return v.choice(key, ("validate", "ignore")) != "ignore"


def _strip_fqcn(name: str) -> str:
    return name.rsplit(".", 1)[-1]  # ansible.builtin.winrm / ansible.windows.psrp -> winrm / psrp


def connection_spec(
    host: Host, credentials: CredentialResolver, *, max_output: int = DEFAULT_MAX_OUTPUT
) -> ConnectionSpec:
    """The host's ConnectionSpec with its password resolved (prompting at most once per credential).

    `max_output`: the run's output cap per stream, unless the host sets `remediate_max_output`."""
    password, credential_id = credentials.password_for(host)
    return build_spec(host, password=password, credential_id=credential_id, max_output=max_output)


def build_spec(
    host: Host, *, password: str | None, credential_id: str | None, max_output: int = DEFAULT_MAX_OUTPUT
) -> ConnectionSpec:
    v = _Vars(host)
    for key in host.vars:  # a near miss of one of our own names is a typo, not a user variable
        if key.startswith("remediate_") and key not in REMEDIATE_VARS and did_you_mean(key, REMEDIATE_VARS):
            raise v.fail(key, f"unknown remediate variable{did_you_mean(key, REMEDIATE_VARS)}")
    raw_conn = v.text("ansible_connection") or "winrm"
    connection = _strip_fqcn(raw_conn)
    if connection not in CONNECTIONS:
        raise v.fail(
            "ansible_connection",
            f"expected one of {', '.join(CONNECTIONS)}, got {raw_conn!r}"
            + did_you_mean(connection, CONNECTIONS),
        )
    encoding = v.text("remediate_output_encoding")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise v.fail("remediate_output_encoding", f"unknown encoding {encoding!r}") from None
    common: dict[str, Any] = {
        "host": host.name,
        "password": password,
        "credential_id": credential_id,
        "codepage": v.integer("remediate_codepage", low=1, high=65535) or 65001,
        "output_encoding": encoding,
        "max_output": _max_output(v) or max_output,
    }
    connect_timeout = v.number("remediate_connect_timeout")
    operation_timeout = v.number("remediate_operation_timeout")
    if connection == "ssh":
        host_key_checking = v.boolean("ansible_ssh_host_key_checking", "ansible_host_key_checking")
        spec = ConnectionSpec(
            address=v.text("ansible_host", "ansible_ssh_host") or host.name,
            port=v.integer("remediate_ssh_port", "ansible_port", "ansible_ssh_port") or 22,
            user=v.text("ansible_user", "ansible_ssh_user"),
            connection="ssh",
            auth="password",
            cert_validation=host_key_checking is not False,
            ssh_known_hosts=v.text("remediate_ssh_known_hosts"),
            connect_timeout=connect_timeout or v.number("ansible_ssh_timeout", "ansible_timeout") or 30.0,
            **common,
        )
    elif connection == "psrp":
        user = v.text("ansible_user", "ansible_psrp_user")
        scheme, port = _scheme_and_port(v, "ansible_psrp_protocol", ("ansible_port", "ansible_psrp_port"))
        spec = ConnectionSpec(
            address=v.text("ansible_host", "ansible_psrp_host") or host.name,
            port=port,
            user=user,
            connection="psrp",
            scheme=cast(Literal["http", "https"], scheme),
            auth=v.choice("ansible_psrp_auth", _PSRP_AUTH) or "negotiate",
            cert_validation=_cert_validation(v, "ansible_psrp_cert_validation"),
            ca_path=v.text("ansible_psrp_ca_cert"),
            cert_pem=v.text("ansible_psrp_certificate_pem"),
            cert_key_pem=v.text("ansible_psrp_certificate_key_pem"),
            message_encryption=cast(
                Literal["auto", "always", "never"],
                v.choice("ansible_psrp_message_encryption", ("auto", "always", "never")) or "auto",
            ),
            path=(v.text("ansible_psrp_path") or "wsman").lstrip("/"),
            connect_timeout=connect_timeout or v.number("ansible_psrp_connection_timeout") or 30.0,
            operation_timeout=operation_timeout or v.number("ansible_psrp_operation_timeout") or 20.0,
            kerberos_host=v.text("ansible_psrp_negotiate_hostname_override"),
            **common,
        )
    else:  # winrm (and fake, which takes the same vars)
        user = v.text("ansible_user", "ansible_winrm_user")
        scheme, port = _scheme_and_port(v, "ansible_winrm_scheme", ("ansible_port", "ansible_winrm_port"))
        auth = _winrm_auth(v, user)
        cert_pem = v.text("ansible_winrm_cert_pem")
        client = cast(WinRMClient, v.choice("remediate_winrm_client", WINRM_CLIENTS) or "auto")
        if client == "native" and (auth not in NATIVE_WINRM_AUTH or cert_pem):
            raise v.fail(
                "remediate_winrm_client",
                f"the native client speaks {', '.join(NATIVE_WINRM_AUTH)} without a client certificate;"
                f" auth {'certificate' if cert_pem else auth} needs pywinrm (or auto)",
            )
        spec = ConnectionSpec(
            address=v.text("ansible_host", "ansible_winrm_host") or host.name,
            port=port,
            user=user,
            connection=cast(Literal["winrm", "fake"], connection),
            scheme=cast(Literal["http", "https"], scheme),
            auth=auth,
            cert_validation=_cert_validation(v, "ansible_winrm_server_cert_validation"),
            ca_path=v.text("ansible_winrm_ca_trust_path"),
            cert_pem=cert_pem,
            cert_key_pem=v.text("ansible_winrm_cert_key_pem"),
            message_encryption=cast(
                Literal["auto", "always", "never"],
                v.choice("ansible_winrm_message_encryption", ("auto", "always", "never")) or "auto",
            ),
            path=(v.text("ansible_winrm_path") or "wsman").lstrip("/"),
            connect_timeout=connect_timeout or v.number("ansible_winrm_connection_timeout") or 30.0,
            operation_timeout=operation_timeout or v.number("ansible_winrm_operation_timeout_sec") or 20.0,
            winrm_client=client,
            kerberos_host=v.text("ansible_winrm_kerberos_hostname_override"),
            **common,
        )
    if spec.auth == "basic" and spec.scheme == "http" and not v.boolean("remediate_allow_basic_http"):
        key = "ansible_psrp_auth" if spec.connection == "psrp" else "ansible_winrm_transport"
        raise v.fail(
            key,
            "Basic authentication over http sends the password base64-encoded in clear text; use "
            "https (ansible_winrm_scheme / ansible_psrp_protocol: https) or ntlm/negotiate, or set "
            "remediate_allow_basic_http: true on this host to accept that",
        )
    if spec.auth == "kerberos" and spec.connection in ("winrm", "psrp") and not spec.kerberos_host:
        _kerberos_host_name(v, spec)
    return spec


def _kerberos_host_name(v: _Vars, spec: ConnectionSpec) -> None:
    """Kerberos names the service HTTP/<host name>: an IP address cannot be one (no ticket)."""
    try:
        ipaddress.ip_address(spec.address.strip("[]"))
    except ValueError:
        return
    override = (
        "ansible_winrm_kerberos_hostname_override"
        if spec.connection == "winrm"
        else "ansible_psrp_negotiate_hostname_override"
    )
    raise v.fail(
        "ansible_host",
        f"Kerberos needs a host name, not the address {spec.address!r}"
        f" (use the host's DNS name, or set {override})",
    )


def security_optouts(spec: ConnectionSpec) -> list[str]:
    """The protections this host's connection does without, one phrase each."""
    out = []
    if spec.connection == "ssh":
        if not spec.cert_validation and not spec.ssh_known_hosts:
            out.append("ssh host key checking is off (ansible_ssh_host_key_checking: false)")
    elif spec.scheme == "https" and not spec.cert_validation:
        out.append("TLS server certificate validation is off (*_cert_validation: ignore)")
    if spec.connection != "ssh" and spec.auth == "basic" and spec.scheme == "http":
        out.append("Basic authentication over http sends the password in clear (remediate_allow_basic_http)")
    return out


def security_warnings(specs: Mapping[str, ConnectionSpec], show: int = 5) -> list[str]:
    """One line per kind of opt-out for the whole run, naming (the first few) hosts."""
    hosts: dict[str, list[str]] = {}
    for name, spec in specs.items():
        for what in security_optouts(spec):
            hosts.setdefault(what, []).append(name)
    lines = []
    for what, names in hosts.items():
        more = f" and {len(names) - show} more" if len(names) > show else ""
        lines.append(f"{what}: {len(names)} host(s): {', '.join(names[:show])}{more}")
    return lines


def _max_output(v: _Vars) -> int | None:
    found = v.first("remediate_max_output")
    if found is None:
        return None
    try:
        return parse_size(found[1])
    except ValueError as e:
        raise v.fail("remediate_max_output", str(e)) from None


def validate(host: Host) -> None:
    """Check every connection variable at load time, before anything connects."""
    build_spec(host, password=None, credential_id=None)
