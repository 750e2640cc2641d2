"""A real MIT Kerberos KDC for the lab: its own realm, on loopback, on a free port, in a temp dir.

Uses Debian's krb5-kdc / krb5-admin-server tools (kdb5_util, kadmin.local, krb5kdc):
`kdb5_util create` makes the database, `kadmin.local` adds the admin user (pre-authentication
required, as AD does) and one HTTP/<fqdn> service principal per lab host and exports those keys
to a keytab for the lab's acceptor. `env` is what a process needs to use the realm
(KRB5_CONFIG, KRB5_KDC_PROFILE); `apply_env()` sets it on this process. The KDC logs every
AS/TGS exchange to `log_path` (`PREAUTH_FAILED` lines count wrong passwords).

krb5.conf sets `dns_canonicalize_hostname = false` and `rdns = false`: the SPN is built from the
host name the client was given, no DNS or reverse lookups (the lab's names resolve nowhere).
`master_kdc` names the one KDC: without it MIT's client retries a failed pre-authentication
"against the master", so each wrong password reaches the KDC twice.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

TOOLS = ("krb5kdc", "kdb5_util", "kadmin.local")
SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((f"{d}/{name}" for d in SBIN if os.access(f"{d}/{name}", os.X_OK)), None)


def installed() -> bool:
    return all(tool(t) for t in TOOLS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MitKdc:
    def __init__(self, workdir: Path, realm: str = "LAB.TEST", domain: str = "lab.test") -> None:
        self.dir = Path(workdir)
        self.realm = realm
        self.domain = domain
        self.port = free_port()
        self.keytab = self.dir / "http.keytab"
        self.log_path = self.dir / "kdc.log"
        self.krb5_conf = self.dir / "krb5.conf"
        self.kdc_conf = self.dir / "kdc.conf"
        self._proc: subprocess.Popen[bytes] | None = None
        self._saved_env: dict[str, str | None] = {}

    @property
    def env(self) -> dict[str, str]:
        return {"KRB5_CONFIG": str(self.krb5_conf), "KRB5_KDC_PROFILE": str(self.kdc_conf)}

    def _write_conf(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.krb5_conf.write_text(
            f"""[libdefaults]
  default_realm = {self.realm}
  dns_lookup_kdc = false
  dns_lookup_realm = false
  dns_canonicalize_hostname = false
  rdns = false
  udp_preference_limit = 1
[realms]
  {self.realm} = {{
    kdc = 127.0.0.1:{self.port}
    master_kdc = 127.0.0.1:{self.port}
  }}
[domain_realm]
  .{self.domain} = {self.realm}
  {self.domain} = {self.realm}
"""
        )
        self.kdc_conf.write_text(
            f"""[kdcdefaults]
  kdc_listen = 127.0.0.1:{self.port}
  kdc_tcp_listen = 127.0.0.1:{self.port}
[realms]
  {self.realm} = {{
    database_name = {self.dir}/principal
    key_stash_file = {self.dir}/stash
    acl_file = {self.dir}/kadm5.acl
    max_life = 10h 0m 0s
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    default_principal_flags = +preauth
  }}
[logging]
  kdc = FILE:{self.log_path}
"""
        )
        (self.dir / "kadm5.acl").write_text("")

    def _run(self, args: list[str], stdin: str | None = None) -> str:
        env = {**os.environ, **self.env}
        out = subprocess.run(args, input=stdin, env=env, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({out.returncode}): {out.stderr.strip()[-500:]}")
        return out.stdout

    def create(self, users: dict[str, str], host_fqdns: Iterable[str]) -> None:
        """The realm's database: `users` (name -> password) and HTTP/<fqdn> keys in the keytab."""
        self._write_conf()
        master = secrets.token_urlsafe(16)
        self._run([tool("kdb5_util") or "kdb5_util", "create", "-s", "-r", self.realm, "-P", master])
        lines = [f"addprinc -pw {pw} +requires_preauth {name}" for name, pw in users.items()]
        spns = [f"HTTP/{fqdn}" for fqdn in host_fqdns]
        lines += [f"addprinc -randkey {spn}" for spn in spns]
        lines += [f"ktadd -k {self.keytab} {' '.join(spns[i : i + 50])}" for i in range(0, len(spns), 50)]
        self._run([tool("kadmin.local") or "kadmin.local", "-r", self.realm], stdin="\n".join(lines) + "\n")

    def start(self, timeout: float = 10.0) -> None:
        env = {**os.environ, **self.env}
        self._proc = subprocess.Popen(
            [tool("krb5kdc") or "krb5kdc", "-n", "-r", self.realm, "-P", str(self.dir / "kdc.pid")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"krb5kdc exited ({self._proc.returncode}); see {self.log_path}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"krb5kdc not listening on 127.0.0.1:{self.port}")

    def apply_env(self) -> None:
        """Point this process's krb5 library at the realm (undone by `stop`)."""
        for key, value in self.env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def log_lines(self, marker: str) -> list[str]:
        if not self.log_path.exists():
            return []
        return [line for line in self.log_path.read_text(errors="replace").splitlines() if marker in line]

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        for key, old in self._saved_env.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        self._saved_env.clear()
