"""Fleet spec: the YAML that describes a lab fleet, validated strictly with line numbers.

    hosts: 50
    seed: 7
    domain: lab.test
    locales: {en-US: 80, ja-JP: 15, zh-CN: 5}
    latency: zero                      # zero | realistic | {slmgr: 2.0, ...}
    kms_hosts: [{name: kms01, port: 1688, behaviour: ok}]   # + count: 0-50; behaviour below_threshold
    srv_records: [kms01]
    profiles: {healthy: 40, kms_unreachable: 10, ...}
    office: 40
    channels: {VOLUME_MAK: 20, RETAIL: 5, OEM_DM: 5}   # rest VOLUME_KMSCLIENT
    license_states: {licensed: 80, oob_grace: 10, notification: 10}   # Windows product state
    os_versions: {win10: 50, win11: 30, server2022: 20}
    editions: {Enterprise: 60, Professional: 20, ServerDatacenter: 20}
    activation: {ad: 10, avma: 5}      # of the fleet; only eligible KMS clients
    office_kinds: {msi: 50, c2r_volume: 30, c2r_retail: 10, m365: 10}
    office_versions: {"2013": 50, "2010": 50}   # MSI installs: Office 15 / Office 14 (default 2016-2024)
    matrix: false                      # true: one host per channel x state x profile x locale

Errors name the file, line and field path: `fleet.yml:7: profiles.kms_unreachable: expected a
number 0-100, got 'lots'`. Turning a spec into hosts is `fleet_hosts.build_hosts`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from remediate.lab.network.kms import KMS_BEHAVIOURS, KmsBehaviour
from remediate.lab.windows.os_releases import DEFAULT_OS_MIX, EDITIONS, OS_NAMES, OS_RELEASES

PROFILES: tuple[str, ...] = (
    "healthy",
    "kms_unreachable",
    "no_srv",
    "wrong_kms_host",
    "non_vl_key",
    "office_unactivated",
    "broken_store",
    "clock_skew",
    "winrm_down",
    "slow",
    "auth_fail",
    # retail / home-PC activation failures (issue "Every activation failure of a real estate")
    "retail_proxy",
    "hardware_change",
    "off_network",
)
# Office store / Click-to-Run / ADBA / cloned image (fleet/estate.py); not in the default matrix
ESTATE_PROFILES: tuple[str, ...] = ("office_store_damage", "office_c2r", "adba", "cloned_cmid")
PROFILES += ESTATE_PROFILES
# profiles whose Windows is RETAIL (a KMS client pick becomes RETAIL unless the channel is fixed)
RETAIL_PROFILES: tuple[str, ...] = ("retail_proxy", "hardware_change")
# the retail / home-PC profiles (their own integration test: the matrix keeps its size)
HOME_PROFILES: tuple[str, ...] = (*RETAIL_PROFILES, "off_network")
LOCALES: tuple[str, ...] = ("en-US", "ja-JP", "zh-CN")
CHANNELS: tuple[str, ...] = ("VOLUME_KMSCLIENT", "VOLUME_MAK", "RETAIL", "OEM_DM")
LICENSE_STATES: tuple[str, ...] = ("licensed", "oob_grace", "notification")
ACTIVATIONS: tuple[str, ...] = ("ad", "avma")
OFFICE_KINDS: tuple[str, ...] = ("msi", "c2r_retail", "c2r_volume", "m365")
# volume MSI Office releases a spec may ask for (office_versions); 2010/2013 are Office 14/15
OFFICE_VERSIONS: tuple[str, ...] = ("2010", "2013", "2016")
# matrix: true without `profiles:` crosses every profile but the ones that make a host unreachable
MATRIX_PROFILES: tuple[str, ...] = tuple(
    p for p in PROFILES if p not in ("winrm_down", "auth_fail", "slow", *ESTATE_PROFILES, *HOME_PROFILES)
)
# Latency kinds the host emulator (host.py) reads from HostState.latency, in seconds: "cmd" is paid
# by every WinRS/SSH command, "ps" by every PowerShell start, the others by that program.
LATENCY_KINDS: tuple[str, ...] = ("slmgr", "ospp", "nslookup", "ps", "cmd")
# "realistic": measured ranges on real machines (slmgr /ato and /dli take seconds: cscript start,
# WMI, SPP); a fixed value is (x, x).
REALISTIC_LATENCY: dict[str, tuple[float, float]] = {
    "slmgr": (1.5, 3.0),
    "ospp": (1.0, 2.0),
    "nslookup": (0.05, 0.05),
    "ps": (0.4, 0.4),
    "cmd": (0.03, 0.03),
}
TOP_FIELDS = (
    "hosts",
    "seed",
    "domain",
    "user",
    "password",
    "locales",
    "latency",
    "kms_hosts",
    "srv_records",
    "profiles",
    "office",
    "name_prefix",
    "decommissioned_kms",
    "slow_seconds",
    "channels",
    "license_states",
    "editions",
    "os_versions",
    "activation",
    "office_kinds",
    "office_versions",
    "matrix",
)
MAX_HOSTS = 20000  # 10,000 needs --procs (lab/shard.py)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,9}$")


class SpecError(ValueError):
    """A fleet spec is malformed; the message names file, line and field path."""


@dataclass(frozen=True)
class KmsHostSpec:
    name: str  # DNS label, the FQDN is <name>.<domain>
    port: int = 1688
    behaviour: KmsBehaviour = "ok"
    count: int | None = None  # the KMS count before any lab client asks (None: the behaviour's default)

    def fqdn(self, domain: str) -> str:
        return f"{self.name}.{domain}"

    def epid(self, seed: int) -> str:
        """A stable KMS host extended PID, shaped like Windows Server 2019's (build 17763)."""
        h = int(hashlib.sha256(f"{seed}:{self.name}".encode()).hexdigest(), 16)
        return f"06401-00206-{551 + h % 20:03d}-{h % 1_000_000:06d}-03-1033-17763.0000-{1 + h % 365:03d}2024"


@dataclass(frozen=True)
class FleetSpec:
    hosts: int = 10
    seed: int = 1
    domain: str = "lab.test"
    user: str = "admin"
    password: str | None = field(default=None, repr=False)  # None: generated per lab
    locales: Mapping[str, int] = field(default_factory=lambda: {"en-US": 100})
    latency: str | Mapping[str, float] = "zero"
    kms_hosts: tuple[KmsHostSpec, ...] = (KmsHostSpec("kms01"),)
    srv_records: tuple[str, ...] = ("kms01",)
    profiles: Mapping[str, int] = field(default_factory=lambda: {"healthy": 100})
    office: int = 30  # percent of hosts with Office installed
    name_prefix: str = "WIN-"
    decommissioned_kms: str = "oldkms"  # wrong_kms_host points here: an A record, nothing listening
    slow_seconds: float = 5.0  # per-command latency floor of the `slow` profile
    # None: not given (the fleet is built as before these keys existed)
    channels: Mapping[str, int] | None = None
    license_states: Mapping[str, int] | None = None
    editions: Mapping[str, int] | None = None
    os_versions: Mapping[str, int] | None = None
    activation: Mapping[str, int] | None = None
    office_kinds: Mapping[str, int] | None = None
    office_versions: Mapping[str, int] | None = None  # MSI Office releases (None: 2016/2019/...)
    matrix: bool = False
    matrix_profiles: tuple[str, ...] = MATRIX_PROFILES  # the profile axis of matrix: true
    source: str = "<spec>"

    # -- loading ---------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path | str) -> FleetSpec:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"{p}: cannot read fleet spec: {exc.strerror}") from exc
        return cls.from_yaml(text, source=str(p))

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<spec>") -> FleetSpec:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"{mark.line + 1}:" if mark is not None else ""
            raise SpecError(f"{source}:{line} invalid YAML: {getattr(exc, 'problem', exc)}") from exc
        lines: dict[str, int] = {}
        if node is not None:
            _collect_lines(node, "", lines)
        return cls.from_dict(data if data is not None else {}, source=source, lines=lines)

    @classmethod
    def from_dict(
        cls, data: Any, *, source: str = "<spec>", lines: Mapping[str, int] | None = None
    ) -> FleetSpec:
        return _Validator(source, lines or {}).spec(data)

    def with_overrides(self, *, hosts: int | None = None, seed: int | None = None) -> FleetSpec:
        """The CLI's --hosts / --seed on top of a spec."""
        spec = self
        if hosts is not None and self.matrix and hosts != self.hosts:
            raise SpecError(f"--hosts: matrix: true builds {self.hosts} hosts, got --hosts {hosts}")
        if hosts is not None:
            if not 1 <= hosts <= MAX_HOSTS:
                raise SpecError(f"--hosts: expected a number 1-{MAX_HOSTS}, got {hosts}")
            spec = replace(spec, hosts=hosts)
        if seed is not None:
            spec = replace(spec, seed=seed)
        return spec

    # -- derived ---------------------------------------------------------------------------------
    def kms(self, name: str) -> KmsHostSpec:
        return next(k for k in self.kms_hosts if k.name == name)

    def resolved_password(self) -> str:
        """The spec's password, or a fresh one meeting Windows complexity rules."""
        return self.password or f"Lab-{secrets.token_hex(6)}!9aZ"


def _collect_lines(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    """Map every field path (`profiles.slow`, `kms_hosts[0].port`) to its 1-based line."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = f"{path}.{key.value}" if path else str(key.value)
            lines[sub] = key.start_mark.line + 1
            _collect_lines(value, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _collect_lines(item, f"{path}[{i}]", lines)


class _Validator:
    def __init__(self, source: str, lines: Mapping[str, int]) -> None:
        self.source, self.lines = source, lines

    def fail(self, path: str, msg: str) -> SpecError:
        probe = path
        while probe and probe not in self.lines:  # fall back to the nearest parent with a line
            probe = probe.rsplit(".", 1)[0] if "." in probe else ""
        line = self.lines.get(probe)
        where = f"{self.source}:{line}" if line else self.source
        return SpecError(f"{where}: {path or '(top level)'}: {msg}")

    def integer(self, v: Any, path: str, lo: int, hi: int, what: str = "a number") -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise self.fail(path, f"expected {what} {lo}-{hi}, got {v!r}")
        return v

    def number(self, v: Any, path: str, lo: float, hi: float) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise self.fail(path, f"expected a number {lo:g}-{hi:g}, got {v!r}")
        return float(v)

    def string(self, v: Any, path: str) -> str:
        if not isinstance(v, str) or not v:
            raise self.fail(path, f"expected a non-empty string, got {v!r}")
        return v

    def mapping(self, v: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(v, Mapping):
            raise self.fail(path, f"expected a mapping, got {type(v).__name__} {v!r}")
        return v

    def sequence(self, v: Any, path: str) -> Sequence[Any]:
        if not isinstance(v, list):
            raise self.fail(path, f"expected a list, got {type(v).__name__} {v!r}")
        return v

    def label(self, v: Any, path: str) -> str:
        s = self.string(v, path).lower()
        if not _LABEL.match(s):
            raise self.fail(path, f"expected a DNS label (letters, digits, '-'), got {v!r}")
        return s

    def percentages(self, v: Any, path: str, allowed: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for key, pct in self.mapping(v, path).items():
            if key not in allowed:
                raise self.fail(f"{path}.{key}", f"unknown name; expected one of {', '.join(allowed)}")
            out[str(key)] = self.integer(pct, f"{path}.{key}", 0, 100)
        if sum(out.values()) > 100:
            raise self.fail(path, f"percentages add up to {sum(out.values())}, more than 100")
        return out

    def spec(self, data: Any) -> FleetSpec:
        d = self.mapping(data, "")
        for key in d:
            if key not in TOP_FIELDS:
                raise self.fail(str(key), f"unknown field; expected one of {', '.join(TOP_FIELDS)}")
        kw: dict[str, Any] = {"source": self.source}
        if "hosts" in d:
            kw["hosts"] = self.integer(d["hosts"], "hosts", 1, MAX_HOSTS)
        if "seed" in d:
            kw["seed"] = self.integer(d["seed"], "seed", 0, 2**63, "an integer")
        domain = "lab.test"
        if "domain" in d:
            domain = self.string(d["domain"], "domain").lower().rstrip(".")
            if "." not in domain or not all(_LABEL.match(p) for p in domain.split(".")):
                raise self.fail("domain", f"expected a DNS domain like lab.test, got {d['domain']!r}")
            kw["domain"] = domain
        if "user" in d:
            kw["user"] = self.string(d["user"], "user")
        if d.get("password") is not None:
            kw["password"] = self.string(d["password"], "password")
        if "locales" in d:
            kw["locales"] = self.percentages(d["locales"], "locales", LOCALES)
        if "profiles" in d:
            kw["profiles"] = self.percentages(d["profiles"], "profiles", PROFILES)
        if "office" in d:
            kw["office"] = self.integer(d["office"], "office", 0, 100)
        if "latency" in d:
            kw["latency"] = self.latency(d["latency"])
        if "name_prefix" in d:
            prefix = self.string(d["name_prefix"], "name_prefix")
            if not _PREFIX.match(prefix):
                raise self.fail("name_prefix", f"expected up to 10 letters/digits/'-', got {prefix!r}")
            kw["name_prefix"] = prefix
        if "decommissioned_kms" in d:
            kw["decommissioned_kms"] = self.label(d["decommissioned_kms"], "decommissioned_kms")
        if "slow_seconds" in d:
            kw["slow_seconds"] = self.number(d["slow_seconds"], "slow_seconds", 0, 600)
        kms = self.kms_hosts(d["kms_hosts"]) if "kms_hosts" in d else (KmsHostSpec("kms01"),)
        kw["kms_hosts"] = kms
        names = [k.name for k in kms]
        if "srv_records" in d:
            srv = []
            for i, item in enumerate(self.sequence(d["srv_records"], "srv_records")):
                name = self.label(item, f"srv_records[{i}]")
                if name not in names:
                    raise self.fail(
                        f"srv_records[{i}]", f"{item!r} is not one of kms_hosts ({', '.join(names)})"
                    )
                srv.append(name)
            kw["srv_records"] = tuple(srv)
        else:
            kw["srv_records"] = tuple(names)
        if kw.get("decommissioned_kms", "oldkms") in names:
            raise self.fail("decommissioned_kms", "must differ from every kms_hosts name")
        self.license_mix(d, kw)
        return FleetSpec(**kw)

    def license_mix(self, d: Mapping[str, Any], kw: dict[str, Any]) -> None:
        """channels, license_states, editions, os_versions, activation, office_kinds, matrix."""
        for key, allowed in (
            ("channels", CHANNELS),
            ("license_states", LICENSE_STATES),
            ("editions", EDITIONS),
            ("os_versions", OS_NAMES),
            ("activation", ACTIVATIONS),
            ("office_kinds", OFFICE_KINDS),
            ("office_versions", OFFICE_VERSIONS),
        ):
            if key in d:
                kw[key] = self.percentages(d[key], key, allowed)
        releases = [r for r, p in (kw.get("os_versions") or DEFAULT_OS_MIX).items() if p > 0]
        if "os_versions" in kw and not releases:
            releases = ["win10"]  # every percentage 0: the remainder goes to win10
        for edition, pct in (kw.get("editions") or {}).items():
            if pct and not any(edition in OS_RELEASES[r].editions for r in releases):
                raise self.fail(
                    f"editions.{edition}",
                    f"no OS release of the mix ({', '.join(releases)}) has this edition",
                )
        activation = kw.get("activation") or {}
        if activation.get("ad") and not any(OS_RELEASES[r].adba for r in releases):
            raise self.fail("activation.ad", "needs Windows 8 / Server 2012 or later in os_versions")
        if activation.get("avma") and not any(OS_RELEASES[r].avma for r in releases):
            raise self.fail("activation.avma", "needs Windows Server 2012 R2-2022 in os_versions")
        if "matrix" in d:
            if not isinstance(d["matrix"], bool):
                raise self.fail("matrix", f"expected true or false, got {d['matrix']!r}")
            kw["matrix"] = d["matrix"]
        if not kw.get("matrix"):
            return
        if "activation" in d:
            raise self.fail("activation", "not used with matrix: true (it would change channels)")
        if "profiles" in d:
            kw["matrix_profiles"] = tuple(kw["profiles"])
        locales = kw.get("locales", {"en-US": 100})
        total = len(CHANNELS) * len(LICENSE_STATES) * len(kw.get("matrix_profiles", MATRIX_PROFILES))
        total *= len(locales)
        if total > MAX_HOSTS:
            raise self.fail("matrix", f"the matrix has {total} hosts, more than {MAX_HOSTS}")
        if "hosts" in d and kw["hosts"] != total:
            raise self.fail("hosts", f"matrix: true builds {total} hosts; remove hosts or set it to {total}")
        kw["hosts"] = total

    def latency(self, v: Any) -> str | dict[str, float]:
        if isinstance(v, str):
            if v not in ("zero", "realistic"):
                raise self.fail("latency", f"expected zero, realistic or a mapping, got {v!r}")
            return v
        out = {}
        for kind, secs in self.mapping(v, "latency").items():
            if kind not in LATENCY_KINDS:
                raise self.fail(
                    f"latency.{kind}", f"unknown kind; expected one of {', '.join(LATENCY_KINDS)}"
                )
            out[str(kind)] = self.number(secs, f"latency.{kind}", 0, 600)
        return out

    def kms_hosts(self, v: Any) -> tuple[KmsHostSpec, ...]:
        items = self.sequence(v, "kms_hosts")
        if not items:
            raise self.fail("kms_hosts", "expected at least one KMS host")
        out: list[KmsHostSpec] = []
        for i, item in enumerate(items):
            path = f"kms_hosts[{i}]"
            if isinstance(item, str):
                item = {"name": item}
            m = self.mapping(item, path)
            for key in m:
                if key not in ("name", "port", "behaviour", "count"):
                    raise self.fail(f"{path}.{key}", "unknown field; expected name, port, behaviour, count")
            if "name" not in m:
                raise self.fail(path, "missing field 'name'")
            name = self.label(m["name"], f"{path}.name")
            if any(k.name == name for k in out):
                raise self.fail(f"{path}.name", f"duplicate KMS host {name!r}")
            port = self.integer(m.get("port", 1688), f"{path}.port", 1, 65535, "a port")
            behaviour = m.get("behaviour", "ok")
            if behaviour not in KMS_BEHAVIOURS:
                raise self.fail(
                    f"{path}.behaviour", f"expected one of {', '.join(KMS_BEHAVIOURS)}, got {behaviour!r}"
                )
            count = self.integer(m["count"], f"{path}.count", 0, 50, "a KMS count") if "count" in m else None
            out.append(KmsHostSpec(name, port, behaviour, count))
        return tuple(out)


def exact_counts(percentages: Mapping[str, int], total: int, remainder_to: str) -> dict[str, int]:
    """Whole counts from percentages (largest remainder), summing to `total`.

    Percentages under 100 leave the rest to `remainder_to`. Deterministic: ties go to the
    earlier key.
    """
    pct = dict(percentages)
    pct[remainder_to] = pct.get(remainder_to, 0) + 100 - sum(percentages.values())
    raw = {k: p * total / 100 for k, p in pct.items()}
    counts = {k: int(r) for k, r in raw.items()}
    order = sorted(raw, key=lambda k: (-(raw[k] - counts[k]), list(pct).index(k)))
    for k in order[: total - sum(counts.values())]:
        counts[k] += 1
    return {k: c for k, c in counts.items() if c}
