"""Locale label tables: the strings slmgr.vbs / ospp.vbs / nslookup print, per field.

Parsers never match localized text with ad-hoc regexes; they look labels up here. Matching is
whitespace- and case-insensitive (`部分プロダクト キー` == `部分プロダクトキー`), and a colon may be
ASCII `:` or full-width `：` (zh-CN slmgr prints both, see tests/cases/slmgr-dlv/zh-cn-*).

Sources: English strings are slmgr.vbs / ospp.vbs resource strings as printed in Microsoft's
Volume Activation docs (https://learn.microsoft.com/en-us/previous-versions/tn-archive/ff793426(v=technet.10))
and the real outputs under tests/cases. zh-CN strings come from a real `slmgr /dlv` paste
(tests/cases/slmgr-dlv/zh-cn-vircloud.txt). ja-JP strings follow the Japanese slmgr.vbs; where
Windows versions differ (マシン / コンピューター) both spellings are listed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

# field -> every label that introduces it (en-US, ja-JP, zh-CN)
SLMGR: dict[str, tuple[str, ...]] = {
    "service_version": (
        "Software licensing service version",
        "ソフトウェア ライセンス サービスのバージョン",
        "软件授权服务版本",
        "软件授权服务器版本",
    ),
    "name": ("Name", "名前", "名称"),
    "description": ("Description", "説明", "描述"),
    "activation_id": ("Activation ID", "ライセンス認証 ID", "激活 ID"),
    "application_id": ("Application ID", "アプリケーション ID", "应用程序 ID"),
    "extended_pid": ("Extended PID", "拡張 PID", "扩展 PID"),
    "product_key_channel": ("Product Key Channel", "プロダクト キー チャネル", "产品密钥通道"),
    "installation_id": ("Installation ID", "インストール ID", "安装 ID"),
    "use_license_url": ("Use License URL", "使用ライセンス URL", "使用许可证 URL"),
    "validation_url": ("Validation URL", "検証 URL", "验证 URL"),
    "partial_key": ("Partial Product Key", "部分プロダクト キー", "プロダクト キーの一部", "部分产品密钥"),
    "license_status": ("License Status", "ライセンスの状態", "许可证状态", "许可状态"),
    "notification_reason": ("Notification Reason", "通知の理由", "通知原因"),
    "time_remaining": ("Time remaining", "残り時間", "剩余时间"),
    "volume_expiration": (
        "Volume activation expiration",
        "ボリューム ライセンス認証の有効期限",
        "ボリューム アクティベーションの有効期限",
        "批量激活过期",
        "批量激活到期",
    ),
    "timebased_expiration": (
        "Timebased activation expiration",
        "時間ベースのライセンス認証の有効期限",
        "基于时间的激活过期",
    ),
    "windows_rearm": (
        "Remaining Windows rearm count",
        "Windows の残りのリセット回数",
        "残りの Windows リセット回数",
        "剩余 Windows 重置计数",
    ),
    "sku_rearm": ("Remaining SKU rearm count", "残りの SKU リセット回数", "剩余 SKU 重置计数"),
    "trusted_time": ("Trusted time", "信頼された時刻", "信頼済みの時刻", "信任时间", "受信任的时间"),
    "evaluation_end": ("Evaluation End Date", "評価版の終了日", "评估结束日期"),
    "activation_type": (
        "Configured Activation Type",
        "構成されているライセンス認証の種類",
        "已配置的激活类型",
    ),
    "cmid": (
        "Client Machine ID (CMID)",
        "クライアント コンピューター ID (CMID)",
        "クライアント マシン ID (CMID)",
        "客户端计算机 ID (CMID)",
    ),
    "kms_registered": (
        "Registered KMS machine name",
        "登録されている KMS コンピューター名",
        "登録された KMS コンピューター名",
        "登録済みの KMS コンピューター名",
        "登録されている KMS マシン名",
        "已注册的 KMS 计算机名称",
        "注册的 KMS 计算机名称",
    ),
    "kms_dns": (
        "KMS machine name from DNS",
        # real ja-JP slmgr /dli (a public KMS check script greps `find " DNS の KMS コンピューター名"`
        # in `slmgr.vbs /dli` output; GitHub, KMS向き先変更確認バッチ by Huang TaiCheng)
        "DNS の KMS コンピューター名",
        "DNS からの KMS コンピューター名",
        "DNS からの KMS マシン名",
        "DNS から取得した KMS コンピューター名",
        "来自 DNS 的 KMS 计算机名称",
    ),
    "kms_ip": (
        "KMS machine IP address",
        "KMS コンピューターの IP アドレス",
        "KMS マシンの IP アドレス",
        "KMS 计算机 IP 地址",
    ),
    "kms_pid": (
        "KMS machine extended PID",
        "KMS コンピューターの拡張 PID",
        "KMS マシンの拡張 PID",
        "KMS 计算扩展的 PID",
        "KMS 计算机扩展的 PID",
    ),
    "activation_interval": ("Activation interval", "ライセンス認証の間隔", "激活时间间隔", "激活间隔"),
    "renewal_interval": ("Renewal interval", "更新間隔", "更新の間隔", "续订间隔"),
    "dns_autodiscovery": ("DNS auto-discovery", "DNS 自動検出", "DNS 自动发现"),
    "error": ("Error", "エラー", "错误"),
    # Active Directory-based activation and Automatic VM Activation (slmgr.vbs L_MsgADInfo*,
    # L_MsgAVMA*, L_MsgLicenseStatusAVMA_1). English only: no ja-JP / zh-CN output of these
    # sections has been found in public sources (docs/lab-commands.md lists them as unverified).
    "avma_expiration": ("Automatic VM activation expiration",),
    "ao_name": ("Activation Object name",),
    "ao_dn": ("AO DN",),
    "ao_pid": ("AO extended PID",),
    "ao_actid": ("AO activation ID",),
    "avma_host": ("Host machine name",),
}

# Header lines of slmgr's "Most recent activation information:" block, per kind of activation.
SLMGR_KMS_SECTION: tuple[str, ...] = (
    "Key Management Service client information",
    "キー管理サービス クライアント情報",
    "密钥管理服务客户端信息",
)
SLMGR_AD_SECTION: tuple[str, ...] = ("AD Activation client information",)
SLMGR_AVMA_SECTION: tuple[str, ...] = ("Automatic VM Activation client information",)

# slmgr `License Status:` values -> contract word. Values are matched as prefixes (slmgr appends
# "(KMS license expired or hardware out of tolerance)" and a trailing period to some).
SLMGR_STATUS: dict[str, tuple[str, ...]] = {
    "unlicensed": ("Unlicensed", "ライセンスされていません", "未授权", "未许可"),
    "licensed": ("Licensed", "ライセンスされています", "已授权", "已许可"),
    "oob_grace": ("Initial grace period", "初期猶予期間", "初始宽限期"),
    "oot_grace": ("Additional grace period", "追加の猶予期間", "其他宽限期", "附加宽限期"),
    "non_genuine_grace": ("Non-genuine grace period", "非正規の猶予期間", "非正版宽限期"),
    "notification": ("Notification", "通知"),
    "extended_grace": ("Extended grace period", "延長猶予期間", "延長された猶予期間", "扩展宽限期"),
}

# `slmgr /ato` success lines
ATO_SUCCESS: tuple[str, ...] = (
    "Product activated successfully",
    "製品は正常にライセンス認証されました",
    "製品のライセンス認証に成功しました",
    "成功地激活了产品",
    "已成功激活产品",
)

# `slmgr /xpr` lines
XPR_PERMANENT: tuple[str, ...] = (
    "The machine is permanently activated",
    "マシンは永続的にライセンス認証されています",
    "コンピューターは永続的にライセンス認証されています",
    "计算机已永久激活",
)
XPR_EXPIRES: tuple[str, ...] = (
    "will expire",
    "period ends",
    "有効期限",
    "終了します",
    "过期",
    "到期",
)
XPR_NOT_ACTIVATED: tuple[str, ...] = (
    "Notification mode",
    "not activated",
    "通知モード",
    "ライセンス認証されていません",
    "通知模式",
    "未激活",
)

OSPP: dict[str, tuple[str, ...]] = {
    "product_id": ("PRODUCT ID",),
    "sku_id": ("SKU ID",),
    "license_name": ("LICENSE NAME",),
    "license_description": ("LICENSE DESCRIPTION",),
    "beta_expiration": ("BETA EXPIRATION",),
    "license_status": ("LICENSE STATUS",),
    "error_code": ("ERROR CODE",),
    "error_description": ("ERROR DESCRIPTION",),
    "remaining_grace": ("REMAINING GRACE",),
    "partial_key": ("Last 5 characters of installed product key",),
    "activation_type": ("Activation Type Configuration",),
    "dns_autodiscovery": ("DNS auto-discovery",),
    "kms_dns": ("KMS machine name from DNS",),
    "kms_override": ("KMS machine registry override defined",),
    "activation_interval": ("Activation Interval",),
    "renewal_interval": ("Renewal Interval",),
    "kms_caching": ("KMS host caching",),
}

# ospp.vbs prints the status between dashes: `LICENSE STATUS:  ---OOB_GRACE---`
OSPP_STATUS: dict[str, tuple[str, ...]] = {
    "licensed": ("LICENSED",),
    "oob_grace": ("OOB_GRACE",),
    "oot_grace": ("OOT_GRACE",),
    "non_genuine_grace": ("NON_GENUINE_GRACE",),
    "notification": ("NOTIFICATIONS", "NOTIFICATION"),
    "unlicensed": ("UNLICENSED",),
    "extended_grace": ("EXTENDED GRACE", "EXTENDED_GRACE"),
}
OSPP_ACT_SUCCESS: tuple[str, ...] = ("<Product activation successful>",)
OSPP_NO_KEYS: tuple[str, ...] = ("No installed product keys detected",)

# nslookup: the SRV body is not localized; the failure lines are.
NSLOOKUP_SRV: dict[str, tuple[str, ...]] = {
    "priority": ("priority",),
    "weight": ("weight",),
    "port": ("port",),
    "target": ("svr hostname",),
}
NSLOOKUP_ERRORS: dict[str, tuple[str, ...]] = {
    "nxdomain": ("Non-existent domain", "存在しないドメイン", "不存在的域"),
    "servfail": ("Server failed", "サーバーでエラーが発生しました", "服务器失败"),
    "refused": ("Query refused", "クエリが拒否されました", "查询被拒绝"),
    "timeout": (
        # `*** UnKnown can't find NAME: No response from server`: nslookup got no answer at all
        "No response from server",
        "DNS request timed out",
        "timed-out",
        "DNS 要求がタイムアウトしました",
        "タイムアウトしました",
        "DNS 请求超时",
        "超时",
    ),
}
# Resolve-DnsName error-stream texts (Win32 DNS error messages 9003, 1460, 9002, 9005)
RESOLVE_ERRORS: dict[str, tuple[str, ...]] = {
    "nxdomain": ("DNS name does not exist", "DNS 名は存在しません", "DNS 名称不存在"),
    "timeout": ("timeout period expired", "タイムアウト期間が経過した", "超时时间已过"),
    "servfail": ("DNS server failure", "DNS サーバーのエラー", "DNS 服务器故障"),
    "refused": ("DNS request refused", "DNS 要求が拒否されました", "DNS 请求被拒绝"),
}


_WS = re.compile(r"\s+")


@functools.lru_cache(maxsize=4096)  # mostly the tables' own labels, normalised on every lookup
def norm(text: str) -> str:
    """Comparison key: no whitespace, casefolded."""
    return _WS.sub("", text).casefold()


def match_prefix(value: str, table: Mapping[str, Iterable[str]]) -> str | None:
    """The key whose longest candidate is a prefix of `value` (normalised)."""
    key = norm(value)
    best: tuple[int, str] | None = None
    for word, candidates in table.items():
        for cand in candidates:
            c = norm(cand)
            if c and key.startswith(c) and (best is None or len(c) > best[0]):
                best = (len(c), word)
    return best[1] if best else None


def contains_any(text: str, candidates: Iterable[str]) -> bool:
    key = norm(text)
    return any(norm(c) in key for c in candidates)


def find_in(text: str, table: Mapping[str, Iterable[str]]) -> str | None:
    """The first key (in table order) one of whose candidates occurs anywhere in `text`."""
    for word, candidates in table.items():
        if contains_any(text, candidates):
            return word
    return None


def find_exact(text: str, table: Mapping[str, Iterable[str]]) -> str | None:
    """The key one of whose candidates is the whole of `text` (normalised)."""
    key = norm(text)
    for word, candidates in table.items():
        if any(norm(c) == key for c in candidates):
            return word
    return None


_COLON = re.compile(r"[:：]")


class LabelTable:
    """Splits `Label: value` lines whose label is in a table into (field, value)."""

    def __init__(self, table: Mapping[str, Iterable[str]]) -> None:
        self._by_label: dict[str, str] = {}
        for field, labels in table.items():
            for label in labels:
                self._by_label[norm(label)] = field

    def split(self, line: str) -> tuple[str, str] | None:
        """(field, value) when the text before the first colon is a known label."""
        m = _COLON.search(line)
        if not m:
            return None
        field = self._by_label.get(norm(line[: m.start()]))
        if field is None:
            return None
        return field, line[m.end() :].strip()

    def labels(self) -> list[str]:
        return list(self._by_label)


def all_known_labels() -> list[str]:
    """Every label string (normalised); the decoder scores candidate codepages with them."""
    out: list[str] = []
    for table in (SLMGR, OSPP):
        for labels in table.values():
            out.extend(norm(x) for x in labels)
    for words in SLMGR_STATUS.values():
        out.extend(norm(x) for x in words)
    for phrases in (ATO_SUCCESS, XPR_PERMANENT, XPR_EXPIRES, XPR_NOT_ACTIVATED, SLMGR_KMS_SECTION):
        out.extend(norm(x) for x in phrases)
    for errors in (NSLOOKUP_ERRORS, RESOLVE_ERRORS):
        for words in errors.values():
            out.extend(norm(x) for x in words)
    return [x for x in out if not x.isascii()]
