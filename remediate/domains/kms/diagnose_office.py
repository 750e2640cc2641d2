"""Office findings: per channel, and for KMS client SKUs the same network reasoning as Windows.

The action names what office-kms.yml would do: `/act` alone when the KMS host Office uses answers,
`/sethst` + `/act` only when that host is dead (or missing) and kms_host answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remediate.core.diagnosis import Diagnosis
from remediate.core.i18n import _ as tr
from remediate.domains.kms.evidence import KMS_CHANNEL, View, code_of, host_name, licensed, product_channel
from remediate.domains.kms.network import diag


def _name(p: Mapping[str, Any]) -> str:
    return str(p.get("license_name") or "Office")


def _grace_sku(p: Mapping[str, Any]) -> bool:
    text = f"{p.get('license_name') or ''} {p.get('license_description') or ''}".lower()
    return bool(p.get("grace_sku")) or "grace" in text


def office_findings(
    v: View,
    office_fact: Mapping[str, Any],
    kms_host: str | None,
    network_finding: Diagnosis | None,
    blocker: Diagnosis | None = None,
) -> list[Diagnosis]:
    """Office findings; `blocker`: a finding (clock, store, count) that stops any activation."""
    out: list[Diagnosis] = []
    if office_fact.get("no_keys") and not v.office:
        out.append(
            diag(
                "office.subscription",
                None,
                "ospp.vbs lists no product keys: Microsoft 365 Apps is licensed by the user's "
                "subscription (or shared computer activation), not by KMS.",
                "Nothing for KMS to do; licensing follows the signed-in user's Microsoft 365 account.",
                False,
                ["ospp /dstatus: no installed product keys"],
            )
        )
    pending = [p for p in v.office if not licensed(p)]
    kms_pending: list[Mapping[str, Any]] = []
    for p in pending:
        channel = product_channel(p) or "unknown"  # an unread channel is never taken for KMS
        ev = [f"{_name(p)}: {p.get('license_status')} ({channel})"]
        if channel == "RETAIL" and _grace_sku(p):
            out.append(
                diag(
                    "office.retail_grace",
                    code_of(p.get("error_code")),
                    f"{_name(p)} is a Click-to-Run retail grace license: it activates when a user "
                    "signs in with the account that owns the license, not through KMS.",
                    "Sign in to Office with the licensed account (File > Account), or deploy a "
                    "volume-licensed Office; no KMS setting applies.",
                    False,
                    ev,
                )
            )
        elif channel != KMS_CHANNEL:
            out.append(
                diag(
                    "office.not_kms_client",
                    code_of(p.get("error_code")),
                    f"{_name(p)} has a {channel} license, which a KMS host cannot activate.",
                    "Activate it through its own channel (online/phone for MAK and retail); "
                    "converting it to a KMS client key is a licensing decision made by hand "
                    "(ospp.vbs /inpkey:<GVLK>).",
                    False,
                    ev,
                )
            )
        else:
            kms_pending.append(p)
    if kms_pending and blocker is not None:
        out.append(
            diag(
                "office.blocked",
                blocker.code,
                f"{', '.join(_name(p) for p in kms_pending)} cannot activate until this is fixed: "
                f"{blocker.title}.",
                blocker.action,
                False,
                [f"{_name(p)}: {p.get('license_status')}" for p in kms_pending],
            )
        )
    elif kms_pending:
        out.append(_kms_office(v, kms_pending, kms_host, network_finding))
    return out


def _kms_office(
    v: View, pending: list[Mapping[str, Any]], kms_host: str | None, net: Diagnosis | None
) -> Diagnosis:
    names = ", ".join(_name(p) for p in pending)
    ev = [f"{_name(p)}: {p.get('license_status')}" for p in pending]
    code = next((c for p in pending if (c := code_of(p.get("error_code")))), None)
    given = host_name(kms_host)
    set_host = next((h for p in pending if (h := host_name(p.get("kms_machine")))), None)
    srv = v.srv_targets[0][0] if v.srv_targets else None
    current = set_host or srv
    if current is not None and v.reach.get(current) is True:
        return diag(
            "office.not_activated",
            code,
            f"{names} is not activated although the KMS host it uses ({current}) answers on TCP 1688.",
            "ospp.vbs /act (office-kms.yml).",
            True,
            [*ev, v.reach_words(current)],
        )
    if given and given != current and v.reach.get(given) is True:
        where = f"its KMS host {current} does not answer" if current else "it has no KMS host"
        return diag(
            "office.wrong_kms_host" if current else "office.no_kms_host",
            code,
            f"{names} is not activated: {where}; kms_host {given} answers on TCP 1688.",
            tr("ospp.vbs /sethst:{host} /setprt:1688 then /act (office-kms.yml with kms_host).").format(
                host=given
            ),
            True,
            [*ev, *([v.reach_words(current)] if current else []), v.reach_words(given)],
        )
    if current is None:
        return diag(
            "office.no_kms_host",
            code,
            f"{names} has no KMS host: none set with /sethst and DNS publishes no _vlmcs._tcp record.",
            "Publish the _vlmcs._tcp SRV record, or run office-kms.yml with kms_host set to a KMS "
            "host this machine can reach.",
            False,
            [*ev, v.srv_words()],
        )
    if v.reach.get(current) is False:
        see = f" (see: {net.title})" if net is not None else ""
        return diag(
            "office.unreachable",
            code,
            f"{names} cannot reach its KMS host {current} on TCP 1688{see}.",
            "Fix the KMS network path first, then ospp.vbs /act.",
            False,
            [*ev, v.reach_words(current)],
        )
    return diag(
        "office.unknown",
        code,
        f"{names} is not activated and TCP 1688 to {current} was not tested.",
        f"Test-NetConnection {current} -Port 1688, then ospp.vbs /act.",
        False,
        ev,
    )
