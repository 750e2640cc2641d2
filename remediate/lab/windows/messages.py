"""Locale tables for the emulated commands (en-US, ja-JP, zh-CN).

Sources (cited so the strings can be checked, never invented):
- en-US slmgr strings: the `L_Msg*` constants of slmgr.vbs (Windows 8+; a copy of the script is
  public in github.com/jasonadsit/powershell-scripts, PsTokenBasedActivation/1.6/slmgr.vbs), e.g.
  "License Status: Licensed",
  "Volume activation expiration: %MINUTE% minute(s) (%DAY% day(s))", the `L_MsgError_*` table
  (C004F074, C004F050, C004F038, C004F042, 8007232B) and L_MsgErrorText_6 (the slui fallback used for
  codes outside that table, e.g. 0xC004F012, 0xC004F06C, 0xC004F069, 0x80072EE7).
- zh-CN slmgr /dlv, nslookup and ospp output: a real Windows LTSC 2019 session pasted in
  "配置 DNS 自动发现服务实现局域网内 Windows/Office 无干预自动激活" (xtboke.cn, 2020), incl. the
  WSH banner "版权所有(C) Microsoft Corporation。保留所有权利。" and the slui error sentence.
- ja-JP: "ライセンスの状態: ライセンスされています" as matched by a real inventory script
  (`slmgr.vbs -dli | select-string "ライセンスの状態:"`); the other ja-JP labels follow the ja-JP
  slmgr.ini wording as best known and are the least certain strings here (see docs/lab-commands.md).
"""

from __future__ import annotations

Table = dict[str, str]

EN: Table = {
    "wsh_banner": "Microsoft (R) Windows Script Host Version 5.812\r\n"
    "Copyright (C) Microsoft Corporation. All rights reserved.\r\n\r\n",
    "name": "Name: ",
    "desc": "Description: ",
    "act_id": "Activation ID: ",
    "app_id": "Application ID: ",
    "pid4": "Extended PID: ",
    "channel": "Product Key Channel: ",
    "iid": "Installation ID: ",
    "partial": "Partial Product Key: ",
    "service_version": "Software licensing service version: ",
    "ls_0": "License Status: Unlicensed",
    "ls_1": "License Status: Licensed",
    "ls_2": "License Status: Initial grace period",
    "ls_3": "License Status: Additional grace period (KMS license expired or hardware out of tolerance)",
    "ls_4": "License Status: Non-genuine grace period.",
    "ls_5": "License Status: Notification",
    "ls_6": "License Status: Extended grace period",
    "vl_exp": "Volume activation expiration: %MINUTE% minute(s) (%DAY% day(s))",
    "tbl_exp": "Timebased activation expiration: %MINUTE% minute(s) (%DAY% day(s))",
    "avma_exp": "Automatic VM activation expiration: %MINUTE% minute(s) (%DAY% day(s))",
    "time_remaining": "Time remaining: %MINUTE% minute(s) (%DAY% day(s))",
    "notif_reason": "Notification Reason: 0x%ERRCODE%.",
    "notif_reason_exp": "Notification Reason: 0x%ERRCODE% (grace time expired).",
    "win_rearm": "Remaining Windows rearm count: %COUNT%",
    "sku_rearm": "Remaining SKU rearm count: %COUNT%",
    "trusted_time": "Trusted time: ",
    "act_type_all": "Configured Activation Type: All",
    "please_activate": "Please use slmgr.vbs /ato to activate and update KMS client information in order to "
    "update values.",
    "recent": "Most recent activation information:",
    "kms_info": "Key Management Service client information",
    "cmid": "Client Machine ID (CMID): ",
    "registered_kms": "Registered KMS machine name: ",
    "kms_dns_unavail": "DNS auto-discovery: KMS name not available",
    "kms_dns": "KMS machine name from DNS: ",
    "kms_ip": "KMS machine IP address: ",
    "kms_ip_unavail": "KMS machine IP address: not available",
    "kms_pid4": "KMS machine extended PID: ",
    "act_interval": "Activation interval: %INTERVAL% minutes",
    "renew_interval": "Renewal interval: %INTERVAL% minutes",
    "caching_on": "KMS host caching is enabled",
    "caching_off": "KMS host caching is disabled",
    # slmgr.vbs L_MsgUseLicenseCertUrl / L_MsgValidationUrl (/dlv, products that activate online)
    "use_license_url": "Use License URL: ",
    "validation_url": "Validation URL: ",
    # slmgr.vbs L_MsgADInfo* (DisplayADClientInformation) and L_MsgAVMA* (DisplayAVMAClientInformation).
    # No ja-JP / zh-CN output of these sections is public: every locale prints English (unverified).
    "ad_info": "AD Activation client information",
    "ao_name": "Activation Object name: ",
    "ao_dn": "AO DN: ",
    "ao_pid": "AO extended PID: ",
    "ao_actid": "AO activation ID: ",
    "avma_info": "Automatic VM Activation client information",
    "avma_iaid": "Guest IAID: ",
    "avma_host": "Host machine name: ",
    "avma_time": "Activation time: ",
    "avma_pid2": "Host Digital PID2: ",
    "not_available": "Not Available",
    "xpr_unlicensed": "Unlicensed",
    "xpr_vl": "Volume activation will expire %ENDDATE%",
    "xpr_tbl": "Timebased activation will expire %ENDDATE%",
    "xpr_avma": "Automatic VM activation will expire %ENDDATE%",
    "xpr_perm": "The machine is permanently activated.",
    "xpr_grace": "Initial grace period ends %ENDDATE%",
    "xpr_addgrace": "Additional grace period ends %ENDDATE%",
    "xpr_notif": "Windows is in Notification mode",
    "activating": "Activating %PRODUCTNAME% (%PRODUCTID%) ...",
    "activated": "Product activated successfully.",
    "installed_pkey": "Installed product key %PKEY% successfully.",
    "kms_set": "Key Management Service machine name set to %KMS% successfully.",
    "kms_cleared": "Key Management Service machine name cleared successfully.",
    "rilc_start": "Re-installing license files ...",
    "rilc_file": "License file %LICENSEFILE% installed successfully.",
    "rilc_done": "License files re-installed successfully.",
    "err_prefix": "Error: ",
    "err_pkey": "Error: product key not found.",
    "err_slui": "On a computer running Microsoft Windows non-core edition, run 'slui.exe 0x2a 0x%ERRCODE%' "
    "to display the error text.",
    "unrecognized": "Unrecognized option: ",
    "invalid_options": "Invalid combination of command parameters.",
    "err_option_param": "Error: option %OPTION% needs %PARAM%",
    "script_not_found": 'Input Error: Can not find script file "%PATH%".',
    # cmd.exe
    "not_recognized": "'%NAME%' is not recognized as an internal or external command,\r\n"
    "operable program or batch file.",
    "chcp": "Active code page: %CP%",
    "chcp_invalid": "Invalid code page",
    # nslookup
    "ns_server": "Server:  ",
    "ns_address": "Address:  ",
    "ns_nonauth": "Non-authoritative answer:",
    "ns_cant_find": "*** %SERVER% can't find %NAME%: %REASON%",
    "ns_srv": "%NAME%\tSRV service location:",
    "ns_inet": "%NAME%\tinternet address = %IP%",
}

# slmgr's own L_MsgError_* table (slmgr.vbs); codes not listed print the slui sentence instead.
ERROR_TEXT_EN: dict[int, str] = {
    0xC004F074: "The Software Licensing Service reported that the computer could not be activated. "
    "No Key Management Service (KMS) could be contacted. Please see the Application Event Log for "
    "additional information.",
    0xC004F050: "The Software Licensing Service reported that the product key is invalid",
    0xC004F038: "The software Licensing Service reported that the computer could not be activated. The count "
    "reported by your Key Management Service (KMS) is insufficient. Please contact your system "
    "administrator",
    0xC004F042: "The software Licensing Service determined that the specified Key Management Service (KMS) "
    "cannot be used",
    0xC004F039: "The software Licensing Service reported that the computer could not be activated. The Key "
    "Management Service (KMS) is not enabled",
    0xC004F035: "The software Licensing Service reported that the computer could not be activated with a "
    "Volume license product key. Volume licensed systems require upgrading from a qualified operating "
    "system. Please contact your system administrator or use a different type of key",
    0x8007232A: "DNS server failure",
    0x8007232B: "DNS name does not exist",
    0x8007251D: "No records found for DNS query",
    0x800706BA: "The RPC server is unavailable",
}

JA: Table = {
    **EN,
    "name": "名前: ",
    "desc": "説明: ",
    "act_id": "ライセンス認証 ID: ",
    "app_id": "アプリケーション ID: ",
    "pid4": "拡張 PID: ",
    "channel": "プロダクト キー チャネル: ",
    "iid": "インストール ID: ",
    "partial": "プロダクト キーの一部: ",
    "service_version": "ソフトウェア ライセンス サービスのバージョン: ",
    "ls_0": "ライセンスの状態: ライセンスされていません",
    "ls_1": "ライセンスの状態: ライセンスされています",
    "ls_2": "ライセンスの状態: 初期猶予期間",
    "ls_3": "ライセンスの状態: 追加の猶予期間 (KMS ライセンスの期限切れまたはハードウェアの許容範囲外)",
    "ls_5": "ライセンスの状態: 通知",
    "vl_exp": "ボリューム ライセンス認証の有効期限: %MINUTE% 分 (%DAY% 日)",
    "time_remaining": "残り時間: %MINUTE% 分 (%DAY% 日)",
    "notif_reason": "通知の理由: 0x%ERRCODE%。",
    "act_type_all": "構成されているライセンス認証の種類: すべて",
    "please_activate": "値を更新するには、slmgr.vbs /ato を使用してライセンス認証を行い、"
    "KMS クライアント情報を更新してください。",
    "recent": "最新のライセンス認証情報:",
    "kms_info": "キー管理サービス クライアント情報",
    "cmid": "クライアント コンピューター ID (CMID): ",
    "registered_kms": "登録された KMS コンピューター名: ",
    "kms_dns_unavail": "DNS 自動検出: KMS 名を使用できません",
    # real ja-JP /dli label, as grepped by a public KMS check script (`find " DNS の KMS コンピューター名"`,
    # GitHub "KMS向き先変更確認バッチ", Huang TaiCheng); the old `DNS からの ...` had no source
    "kms_dns": "DNS の KMS コンピューター名: ",
    "kms_ip": "KMS コンピューターの IP アドレス: ",
    "kms_ip_unavail": "KMS コンピューターの IP アドレス: 使用できません",
    "kms_pid4": "KMS コンピューターの拡張 PID: ",
    "act_interval": "ライセンス認証の間隔: %INTERVAL% 分",
    "renew_interval": "更新の間隔: %INTERVAL% 分",
    "caching_on": "KMS ホストのキャッシュが有効です",
    "caching_off": "KMS ホストのキャッシュが無効です",
    "xpr_vl": "ボリューム ライセンス認証の有効期限は %ENDDATE% です",
    "xpr_perm": "このコンピューターは永続的にライセンス認証されています。",
    "activating": "%PRODUCTNAME% (%PRODUCTID%) のライセンス認証を行っています...",
    "activated": "製品のライセンス認証に成功しました。",
    "installed_pkey": "プロダクト キー %PKEY% を正常にインストールしました。",
    "kms_set": "キー管理サービスのコンピューター名を %KMS% に正しく設定しました。",
    "kms_cleared": "キー管理サービスのコンピューター名を正常にクリアしました。",
    "err_prefix": "エラー: ",
    "err_slui": "Microsoft Windows 非コア エディションを実行しているコンピューターで、"
    "'slui.exe 0x2a 0x%ERRCODE%' を実行して、エラー テキストを表示してください。",
    "not_recognized": "'%NAME%' は、内部コマンドまたは外部コマンド、\r\n"
    "操作可能なプログラムまたはバッチ ファイルとして認識されていません。",
    "chcp": "現在のコード ページ: %CP%",
    "ns_server": "サーバー:  ",
    "ns_nonauth": "権限のない回答:",
    "ns_cant_find": "*** %SERVER% が %NAME% を見つけられません: %REASON%",
}

ERROR_TEXT_JA: dict[int, str] = {
    0xC004F074: "ソフトウェア ライセンス サービスは、コンピューターをライセンス認証できなかったことを報告しました。"  # noqa: E501
    "キー管理サービス (KMS) に接続できませんでした。追加情報については、アプリケーション イベント ログを"
    "参照してください。",
    0x8007232B: "DNS 名が存在しません",
}

ZH: Table = {
    **EN,
    "wsh_banner": "Microsoft (R) Windows Script Host Version 5.812\r\n"
    "版权所有(C) Microsoft Corporation。保留所有权利。\r\n\r\n",
    "name": "名称: ",
    "desc": "描述: ",
    "act_id": "激活 ID: ",
    "app_id": "应用程序 ID: ",
    "pid4": "扩展 PID： ",
    "channel": "产品密钥通道: ",
    "iid": "安装 ID： ",
    "partial": "部分产品密钥: ",
    "service_version": "软件授权服务器版本：",
    "ls_0": "许可证状态: 未授权",
    "ls_1": "许可证状态: 已授权",
    "ls_2": "许可证状态: 初始宽限期",
    "ls_5": "许可证状态: 通知",
    "vl_exp": "批量激活过期: %MINUTE% 分钟(%DAY%天）",
    "win_rearm": "剩余 Windows 重置计数: %COUNT%",
    "sku_rearm": "剩余 SKU 重置计数: %COUNT%",
    "trusted_time": "信任时间:",
    "act_type_all": "已配置的激活类型：全部",
    "recent": "最新激活信息",
    "kms_info": "密钥管理服务客户端信息",
    "cmid": "客户端计算机 ID (CMID): ",
    "registered_kms": "已注册的 KMS 计算机名称: ",
    "kms_dns_unavail": "DNS 自动发现: KMS 名称不可用",
    "kms_dns": "来自 DNS 的 KMS 计算机名称: ",
    "kms_ip": "KMS 计算机 IP 地址: ",
    "kms_ip_unavail": "KMS 计算机 IP 地址: 不可用",
    "kms_pid4": "KMS 计算扩展的 PID: ",
    "act_interval": "激活时间间隔: %INTERVAL% 分钟",
    "renew_interval": "续订间隔：%INTERVAL% 分钟",
    "caching_on": "已启用 KMS 主机缓存",
    "caching_off": "已禁用 KMS 主机缓存",
    # zh-CN /xpr: "批量激活将于 2027/2/4 17:50:22 过期" as quoted from real `slmgr -xpr` output in a public
    # Windows activation checker (GitHub, Rust, comment "-xpr 输出:批量激活将于 2027/2/4 17:50:22 过期")
    # and a vlmcsd how-to ("一般显示`批量激活将于 xxxx/x/x xx:xx:xx 过期`", GitHub markdown);
    # "计算机已永久激活" is matched against real zh-CN /xpr output by the same kind of tools.
    "xpr_vl": "批量激活将于 %ENDDATE% 过期",
    "xpr_perm": "计算机已永久激活。",
    "activating": "正在激活 %PRODUCTNAME% (%PRODUCTID%)...",
    "activated": "成功地激活了产品。",
    "err_prefix": "错误: ",
    "err_slui": "在运行 Microsoft Windows 非核心版本的计算机上，运行“slui.exe 0x2a 0x%ERRCODE%”以显示错误文本。",  # noqa: E501
    "not_recognized": "'%NAME%' 不是内部或外部命令，也不是可运行的程序\r\n或批处理文件。",
    "chcp": "活动代码页: %CP%",
    "ns_server": "服务器:  ",
    "ns_nonauth": "非权威应答:",
    "ns_cant_find": "*** %SERVER% 找不到 %NAME%: %REASON%",
}

ERROR_TEXT_ZH: dict[int, str] = {
    0xC004F074: "软件授权服务报告无法激活计算机。无法联系任何密钥管理服务(KMS)。有关其他信息，请参阅应用程序事件日志。",  # noqa: E501
    0x8007232B: "DNS 名称不存在",
}

_TABLES = {"en-US": EN, "ja-JP": JA, "zh-CN": ZH}
_ERRORS = {"en-US": ERROR_TEXT_EN, "ja-JP": ERROR_TEXT_JA, "zh-CN": ERROR_TEXT_ZH}

LAB_NOTE = "[remediate lab] '%NAME%' is not emulated by the lab (see docs/lab-commands.md)."


def table(locale: str) -> Table:
    return _TABLES.get(locale, EN)


def msg(locale: str, key: str, **subs: object) -> str:
    """The localized string `key`, with %NAME% placeholders replaced (slmgr's own convention)."""
    text = table(locale)[key]
    for k, v in subs.items():
        text = text.replace(f"%{k.upper()}%", str(v))
    return text


def error_line(locale: str, hresult: int) -> str:
    """slmgr's ShowError: `Error: 0xC004F074 <text>`; unknown codes get the slui sentence."""
    code = f"{hresult & 0xFFFFFFFF:08X}"
    text = _ERRORS.get(locale, {}).get(hresult) or ERROR_TEXT_EN.get(hresult)
    if text is None:
        text = msg(locale, "err_slui", errcode=code)
    return f"{msg(locale, 'err_prefix')}0x{code} {text}"


def date_format(locale: str) -> str:
    """VBScript's Now/CStr(Date) rendering per locale (Windows short date + long time)."""
    return {"ja-JP": "%Y/%m/%d %H:%M:%S", "zh-CN": "%Y/{m}/{d} {H}:%M:%S"}.get(
        locale, "{m}/{d}/%Y {I}:%M:%S %p"
    )


def format_date(locale: str, when: object) -> str:
    from datetime import datetime

    assert isinstance(when, datetime)
    fmt = date_format(locale)
    hour12 = when.hour % 12 or 12
    fmt = fmt.replace("{m}", str(when.month)).replace("{d}", str(when.day))
    fmt = fmt.replace("{H}", str(when.hour)).replace("{I}", str(hour12))
    return when.strftime(fmt)
