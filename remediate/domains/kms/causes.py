"""The causes the KMS diagnoser names: stable ids a playbook's fixes declare they address.

A cause id is a promise: the diagnoser emits it only when the evidence shows that cause on a
product the fix may touch (channel-aware: RETAIL/OEM never get a KMS cause; MAK only with the
admin's opt-in). Titles are the recap's words.
"""

from __future__ import annotations

from types import MappingProxyType

_CAUSES = {
    # Windows, KMS client path (VOLUME_KMSCLIENT products that are not licensed)
    "kms.not_activated": "Windows not activated (KMS reachable)",
    "kms.no_srv": "No KMS SRV record",
    "kms.dns_failed": "DNS lookup of the KMS SRV record failed",
    "kms.wrong_kms_host": "Registered KMS host is wrong or decommissioned",
    "kms.firewall": "Firewall between host and KMS",
    "kms.insufficient": "Insufficient evidence: KMS contact",
    "kms.reachable_but_failed": "Insufficient evidence: KMS reachable but activation failed",
    "kms.count_low": "KMS count too low",
    "kms.clock_skew": "Clock skew",
    "kms.kms_host_clock": "Clock skew on the KMS host",
    "kms.store_damaged": "License store damaged",
    "kms.convert_key": "MAK key to convert to the KMS client key (opted in)",
    "kms.error": "Activation error",
    "kms.unknown": "Insufficient evidence: Windows not activated",
    "kms.off_network": "Off the corporate network: needs VPN",
    # Windows, other channels: explained, never given KMS settings or a GVLK
    "activation.mak": "MAK key not activated",
    "activation.no_gvlk": "No published KMS client key for this product",
    "activation.retail": "Retail/OEM Windows not activated (activates with Microsoft, not KMS)",
    "activation.no_internet": "Cannot reach Microsoft activation (proxy/firewall)",
    "activation.hardware_change": "Digital license lost after a hardware change",
    "activation.retry_later": "Retry later: Microsoft activation service busy",
    "activation.unknown_channel": "License channel unknown (not treated as a KMS client)",
    "activation.home": "Home edition: no volume activation",
    "activation.adba": "Activated by Active Directory (ADBA)",
    "activation.avma": "Automatic VM activation (AVMA)",
    # Office
    "office.not_activated": "Office not activated (KMS reachable)",
    "office.wrong_kms_host": "Office KMS host does not answer",
    "office.no_kms_host": "Office has no KMS host",
    "office.unreachable": "Office not activated: KMS unreachable",
    "office.not_kms_client": "Office product not a KMS client key",
    "office.retail_grace": "Office Click-to-Run retail in grace (activates by sign-in)",
    "office.subscription": "Microsoft 365 Apps (subscription licensing)",
    "office.blocked": "Office not activated (blocked: see the other findings)",
    "office.unknown": "Insufficient evidence: Office not activated",
    # KMS hosts themselves (kms-host-health.yml; diagnose_kmshost.py): read-only findings
    "kms_host.count_low": "KMS host count below the activation threshold",
    "kms_host.not_publishing": "KMS host does not publish its SRV record",
    "kms_host.service_stopped": "Software Protection service stopped on the KMS host",
    "kms_host.csvlk_scope": "KMS host key does not cover the clients' products",
    "kms_host.port": "KMS host listens on an unexpected port",
    "kms_host.not_kms_host": "Not a KMS host (no KMS host key active)",
    "kms_host.not_activated": "KMS host key not activated (0xC004F041)",
}
# Office license store (diagnose_office_store.py); the permission repair is opt-in
_CAUSES.update(
    {
        "office.store_permissions": "Office license store folder lacks NETWORK SERVICE rights",
        "office.store_damaged": "Office license store unusable",
        # diagnose_office_os.py: informational, no fix addresses it
        "office.unsupported_on_os": "Office version not supported on this version of Windows",
    }
)
CAUSES = MappingProxyType(_CAUSES)
