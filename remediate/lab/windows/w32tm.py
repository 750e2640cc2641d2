"""`w32tm` (/query /status|/source|/configuration, /config, /resync, /stripchart), `net start|stop
w32time` and `sc query w32time` over HostState's time fields.

The lab's domain controller (`dc01.<domain>`) is the time source the lab treats as correct: a
resync from the domain hierarchy (or from a peer inside the lab domain) sets the host's clock_offset
to 0. The lab has no Internet, so public NTP peers never answer (as activation never reaches
Microsoft). A Hyper-V VM IC provider is on when the registry says so (reg add ...VMICTimeProvider).

Sources of every string (en-US unless noted):
- status: "Leap Indicator: 0(no warning)", "Stratum: 3 (secondary reference - syncd by (S)NTP)",
  "Precision: -23 (119.209ns per tick)", "ReferenceId: 0x... (source IP:  a.b.c.d)", "Poll Interval:
  10 (1024s)" and /verbose "Phase Offset:", "ClockRate: 0.0156250s", "State Machine: 2 (Sync)",
  "Time Source Flags: 0 (None)", "Server Role: 0 (None)", "Last Sync Error: 0 (The command completed
  successfully.)", "Time since Last Good Sync Time: 8.8622583s" (https://pastebin.com/NFMfxpdp); the
  unsynchronized form "Leap Indicator: 3(not synchronized)", "Stratum: 0 (unspecified)", "ReferenceId:
  0x00000000 (unspecified)", "Last Successful Sync Time: unspecified", "Source: Local CMOS Clock"
  (public GitHub notes, code-search id 48191546660; https://pastebin.com/qULtU8Ks).
- ja-JP status: labels and values of a real ja-JP session (code-search id 62231477300): "閏インジケーター:
  0 (警告なし)", "階層: 3 (二次参照 - (S)NTP で同期)", "精度: -23 (ティックごとに 119.209ns)", "参照 ID: 0x...
  (ソース IP:  ...)", "最終正常同期時刻: 2022/01/10 1:45:54", "ソース:", "ポーリング間隔: 10 (1024s)";
  unsynchronized "閏インジケーター: 3 (同期未実行)", "階層: 0 (未指定)" (tooljp.com w32tm page); /verbose
  labels フェーズ オフセット, クロック レート, 最終同期エラー, 最終正常同期時刻からの時間 and
  未指定 (code-search id 71025958131). ja-JP lines without a source are left out
  (State Machine, Time Source Flags, Server Role).
- errors: "The following error occurred: The service has not been started. (0x80070426)"
  (code-search id 60787589800); /config and /resync: "The command completed successfully." and ja-JP
  "コマンドは正しく完了しました。" (code-search id 62231477300); /resync: "Sending resync command to local
  computer" (code-search id 70325560057), "The computer did not resync because no time data was
  available." (w32tm /resync usage text, datahunter.org/w32tm).
- /configuration: the layout of a real domain member (code-search id 67446603418).
- stripchart: "Tracking X [a.b.c.d:123].", "Collecting N samples.", "The current time is ...",
  "hh:mm:ss, +00.0349344s" / "hh:mm:ss, error: 0x800705B4" (github.com/Azure/azure-sphere-samples,
  Samples/PrivateNetworkServices/README.md).
- net: "The Windows Time service is starting." / "... was started successfully." / "... is
  stopping." / "... was stopped successfully." (https://pastebin.com/huqtVwfj); sc query w32time
  RUNNING (datahunter.org/w32tm).
Unverified (see docs/lab-commands.md): every ja-JP string other than the status labels and
"コマンドは正しく完了しました。" (ja-JP hosts print the English text), w32tm's exit codes, "Last Sync Error:
1 (...)", net's "already been started" text and the STOPPED form of sc query.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from remediate.lab.windows.kmsservice import sc_query_sppsvc
from remediate.lab.windows.state import HostState

LAB_DC = "dc01"
DC_ADDRESS = "127.0.0.1"  # the lab answers for its DC on loopback
SERVICE_NOT_STARTED = "The following error occurred: The service has not been started. (0x80070426)\r\n"
DONE = {"en-US": "The command completed successfully.", "ja-JP": "コマンドは正しく完了しました。"}
NO_DATA = "The computer did not resync because no time data was available."
VMIC_KEY = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\W32Time\\TimeProviders\\VMICTimeProvider"
VMIC_SOURCE = "VM IC Time Synchronization Provider"
LOCAL_CMOS = "Local CMOS Clock"
JA_LABELS = {
    "Leap Indicator": "閏インジケーター", "Stratum": "階層", "Precision": "精度", "Root Delay": "ルート遅延",
    "Root Dispersion": "ルート分散", "ReferenceId": "参照 ID",
    "Last Successful Sync Time": "最終正常同期時刻",
    "Source": "ソース", "Poll Interval": "ポーリング間隔", "Phase Offset": "フェーズ オフセット",
    "ClockRate": "クロック レート", "Last Sync Error": "最終同期エラー",
    "Time since Last Good Sync Time": "最終正常同期時刻からの時間",
}  # fmt: skip
# English value -> ja-JP value (sourced pairs only)
JA_VALUES = {
    "0(no warning)": "0 (警告なし)", "3(not synchronized)": "3 (同期未実行)",
    "(secondary reference - syncd by (S)NTP)": "(二次参照 - (S)NTP で同期)", "(unspecified)": "(未指定)",
    "(119.209ns per tick)": "(ティックごとに 119.209ns)", "(source IP:": "(ソース IP:",
    "unspecified": "未指定",
    "(The command completed successfully.)": "(コマンドは正しく完了しました。)",
}  # fmt: skip


def dc_name(state: HostState) -> str:
    return f"{LAB_DC}.{state.domain}"


def vmic_enabled(state: HostState) -> bool:
    values = next((v for k, v in state.registry.items() if k.upper() == VMIC_KEY.upper()), {})
    raw = next((d for n, (_, d) in values.items() if n.lower() == "enabled"), "0")
    try:
        return int(raw, 0) != 0
    except ValueError:
        return False


def current_source(state: HostState) -> str:
    if state.time_sync_type != "NoSync" and vmic_enabled(state):
        return VMIC_SOURCE
    if state.time_source is None or state.time_sync_type == "NoSync":
        return LOCAL_CMOS
    return dc_name(state) if state.time_source == "dc" else state.time_source


def _ja(state: HostState) -> bool:
    return state.locale == "ja-JP"


def _local(state: HostState, t: datetime) -> str:
    """A host-local timestamp as w32tm prints it (en-US M/D/YYYY h:mm:ss AM/PM; ja-JP YYYY/MM/DD H:mm:ss)."""
    t = t + state.clock_offset
    if _ja(state):
        return f"{t.year}/{t.month:02d}/{t.day:02d} {t.hour}:{t.minute:02d}:{t.second:02d}"
    hour = t.hour % 12 or 12
    return f"{t.month}/{t.day}/{t.year} {hour}:{t.minute:02d}:{t.second:02d} {'AM' if t.hour < 12 else 'PM'}"


def _lines(state: HostState, rows: list[tuple[str, str]]) -> str:
    out = []
    for label, value in rows:
        if not label:
            out.append(value)
            continue
        if _ja(state):
            if label not in JA_LABELS:
                continue
            label = JA_LABELS[label]
            for en, ja in JA_VALUES.items():
                value = value.replace(en, ja)
        out.append(f"{label}: {value}")
    return "".join(line + "\r\n" for line in out)


def status(state: HostState, verbose: bool) -> str:
    source = current_source(state)
    synced = source != LOCAL_CMOS and state.time_synced_at is not None
    now = datetime.now(UTC)
    if synced:
        assert state.time_synced_at is not None
        rows = [
            ("Leap Indicator", "0(no warning)"),
            ("Stratum", "3 (secondary reference - syncd by (S)NTP)"),
            ("Precision", "-23 (119.209ns per tick)"),
            ("Root Delay", "0.0312500s"),
            ("Root Dispersion", "7.7766409s"),
            ("ReferenceId", f"0x7F000001 (source IP:  {DC_ADDRESS})"),
            ("Last Successful Sync Time", _local(state, state.time_synced_at)),
            ("Source", source),
            ("Poll Interval", "10 (1024s)"),
        ]
        since = f"{(now - state.time_synced_at).total_seconds():.7f}s"
        error = "0 (The command completed successfully.)"
    else:
        rows = [
            ("Leap Indicator", "3(not synchronized)"),
            ("Stratum", "0 (unspecified)"),
            ("Precision", "-23 (119.209ns per tick)"),
            ("Root Delay", "0.0000000s"),
            ("Root Dispersion", "0.0000000s"),
            ("ReferenceId", "0x00000000 (unspecified)"),
            ("Last Successful Sync Time", "unspecified"),
            ("Source", source),
            ("Poll Interval", "6 (64s)"),
        ]
        since, error = "unspecified", f"1 ({NO_DATA})"
    if verbose:
        rows += [
            ("", " "),
            ("Phase Offset", "0.0000000s"),
            ("ClockRate", "0.0156250s"),
            ("State Machine", "2 (Sync)" if synced else "0 (Unset)"),
            ("Time Source Flags", "0 (None)"),
            ("Server Role", "0 (None)"),
            ("Last Sync Error", error),
            ("Time since Last Good Sync Time", since),
        ]
    return _lines(state, rows) + "\r\n"


def configuration(state: HostState) -> str:
    member = state.time_sync_type in ("NT5DS", "AllSync")
    client = [
        "NtpClient (Local)",
        "DllName: C:\\Windows\\system32\\w32time.dll (Local)",
        "Enabled: 1 (Local)",
        "InputProvider: 1 (Local)",
        *(["CrossSiteSyncFlags: 2 (Local)"] if member else []),
        "AllowNonstandardModeCombinations: 1 (Local)",
        "ResolvePeerBackoffMinutes: 15 (Local)",
        "ResolvePeerBackoffMaxTimes: 7 (Local)",
        "CompatibilityFlags: 2147483648 (Local)",
        "EventLogFlags: 1 (Local)",
        "LargeSampleSkew: 3 (Local)",
        "SpecialPollInterval: 1024 (Local)",
        f"Type: {state.time_sync_type} (Local)",
        *([f"NtpServer: {state.time_peers} (Local)"] if state.time_peers else []),
    ]
    vmic = [
        "VMICTimeProvider (Local)",
        "DllName: C:\\Windows\\System32\\vmictimeprovider.dll (Local)",
        f"Enabled: {int(vmic_enabled(state))} (Local)",
        "InputProvider: 1 (Local)",
    ]
    server = [
        "NtpServer (Local)",
        "DllName: C:\\Windows\\system32\\w32time.dll (Local)",
        "Enabled: 0 (Local)",
        "InputProvider: 0 (Local)",
    ]
    head = [
        "[Configuration]", "",
        "EventLogFlags: 2 (Local)", "AnnounceFlags: 10 (Local)", "TimeJumpAuditOffset: 28800 (Local)",
        "MinPollInterval: 6 (Local)", "MaxPollInterval: 10 (Local)",
        "MaxNegPhaseCorrection: 4294967295 (Local)", "MaxPosPhaseCorrection: 4294967295 (Local)",
        "MaxAllowedPhaseOffset: 300 (Local)", "",
        "FrequencyCorrectRate: 4 (Local)", "PollAdjustFactor: 5 (Local)",
        "LargePhaseOffset: 50000000 (Local)", "SpikeWatchPeriod: 900 (Local)",
        "LocalClockDispersion: 10 (Local)", "HoldPeriod: 5 (Local)", "PhaseCorrectRate: 1 (Local)",
        "UpdateInterval: 100 (Local)", "", "", "[TimeProviders]", "",
    ]  # fmt: skip
    lines = [*head, *client, "", *vmic, "", *server, "", ""]
    return "".join(line + "\r\n" for line in lines)


def _reachable_peer(state: HostState, peer: str) -> bool:
    """Only peers inside the lab's domain (its DC, or any name under the parent domain) answer."""
    name = peer.split(",")[0].strip().lower().rstrip(".")
    lab_domain = state.domain.split(".", 1)[-1] if state.domain.count(".") > 1 else state.domain
    return name in (dc_name(state), LAB_DC, state.domain) or name.endswith("." + lab_domain)


def resync(state: HostState) -> tuple[int, str]:
    head = "Sending resync command to local computer\r\n"
    if state.time_sync_type == "NoSync":
        return 1, head + NO_DATA + "\r\n"
    if vmic_enabled(state):
        state.time_synced_at = datetime.now(UTC)  # the virtualization host's clock: not corrected here
        return 0, head + _done(state)
    if state.time_sync_type in ("NT5DS", "AllSync"):
        peer: str | None = "dc"
    else:
        peer = next((p for p in state.time_peers.split() if _reachable_peer(state, p)), None)
    if peer is None:
        return 1, head + NO_DATA + "\r\n"
    state.time_source, state.time_synced_at = peer, datetime.now(UTC)
    state.clock_offset = timedelta(0)  # synchronized with the lab's reference clock
    return 0, head + _done(state)


def _done(state: HostState) -> str:
    return DONE["ja-JP" if _ja(state) else "en-US"] + "\r\n"


def config(state: HostState, opts: dict[str, str]) -> tuple[int, str]:
    flags = opts.get("syncfromflags", "").lower()
    peers = opts.get("manualpeerlist")
    if peers is not None:
        state.time_peers = peers.strip()
    if flags:
        words = {w.strip() for w in flags.split(",")}
        state.time_sync_type = (
            "AllSync" if "all" in words or {"manual", "domhier"} <= words
            else "NT5DS" if "domhier" in words
            else "NTP" if "manual" in words
            else "NoSync" if "no" in words
            else state.time_sync_type
        )  # fmt: skip
    if "update" in opts:
        if not state.time_service_running:
            return 1, SERVICE_NOT_STARTED
        state.time_source = None  # the service rediscovers its source: Local CMOS Clock until a sync
    return 0, _done(state)


def stripchart(state: HostState, opts: dict[str, str]) -> tuple[int, str]:
    target = opts.get("computer", "")
    samples = max(1, int(opts["samples"])) if opts.get("samples", "").isdigit() else 1
    now = datetime.now(UTC) + state.clock_offset
    answers = _reachable_peer(state, target)
    out = [
        f"Tracking {target} [{DC_ADDRESS if answers else '192.0.2.1'}:123].",
        f"Collecting {samples} samples.",
    ]
    out.append(f"The current time is {_local(state, datetime.now(UTC))}.")
    for i in range(samples):
        t = now + timedelta(seconds=2 * i)
        stamp = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        offset = -state.clock_offset.total_seconds()  # the reference's time minus this clock
        out.append(f"{stamp}, {offset:+011.7f}s" if answers else f"{stamp}, error: 0x800705B4")
    return 0, "".join(line + "\r\n" for line in out)


def _opts(args: list[str]) -> tuple[list[str], dict[str, str]]:
    words, opts = [], {}
    for a in args:
        if a[:1] in "/-":
            name, _, value = a[1:].partition(":")
            opts[name.lower()] = value
            words.append(name.lower())
    return words, opts


def run_w32tm(state: HostState, args: list[str]) -> tuple[int, str, str]:
    words, opts = _opts(args)
    if "query" in words:
        if not state.time_service_running:
            return 1, SERVICE_NOT_STARTED, ""
        if "status" in words:
            return 0, status(state, "verbose" in words), ""
        if "source" in words:
            return 0, current_source(state) + "\r\n", ""
        if "configuration" in words:
            return 0, configuration(state), ""
    elif "resync" in words:
        if not state.time_service_running:
            return 1, SERVICE_NOT_STARTED, ""
        rc, out = resync(state)
        return rc, out, ""
    elif "config" in words:
        rc, out = config(state, opts)
        return rc, out, ""
    elif "stripchart" in words and opts.get("computer"):
        rc, out = stripchart(state, opts)
        return rc, out, ""
    return 1, "The following error occurred: The parameter is incorrect. (0x80070057)\r\n", ""


NET_HELP = "\r\n\r\nMore help is available by typing NET HELPMSG {n}.\r\n\r\n"
NET_STARTING = (
    "The Windows Time service is starting.\r\nThe Windows Time service was started successfully.\r\n"
)
NET_STOPPING = (
    "The Windows Time service is stopping.\r\nThe Windows Time service was stopped successfully.\r\n"
)


def run_net(state: HostState, args: list[str]) -> tuple[int, str, str] | None:
    """`net start|stop w32time`; None for anything else (not emulated)."""
    verb = args[0].lower() if args else ""
    if len(args) != 2 or verb not in ("start", "stop") or args[1].lower() not in ("w32time", "windows time"):
        return None
    if verb == "start":
        if state.time_service_running:
            return 2, "", "The requested service has already been started." + NET_HELP.format(n=2182)
        state.time_service_running = True
        return 0, NET_STARTING + "\r\n", ""
    if not state.time_service_running:
        return 2, "", "The Windows Time service is not started." + NET_HELP.format(n=3521)
    state.time_service_running = False
    return 0, NET_STOPPING + "\r\n", ""


def run_sc(state: HostState, args: list[str]) -> tuple[int, str, str] | None:
    """`sc query w32time` / `sc query sppsvc`; None for anything else (not emulated)."""
    if len(args) == 2 and args[0].lower() == "query" and args[1].lower() == "sppsvc":
        svc = state.kms_service  # on a KMS host, sppsvc is its listener; elsewhere always running
        return 0, sc_query_sppsvc(svc.running if svc is not None else True), ""
    if len(args) != 2 or args[0].lower() != "query" or args[1].lower() != "w32time":
        return None
    if state.time_service_running:
        body = (
            "4  RUNNING \r\n                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)",
            "0  (0x0)",
        )
    else:
        body = ("1  STOPPED ", "1077  (0x435)")
    return (
        0,
        (
            "\r\nSERVICE_NAME: w32time \r\n"
            "        TYPE               : 20  WIN32_SHARE_PROCESS  \r\n"
            f"        STATE              : {body[0]}\r\n"
            f"        WIN32_EXIT_CODE    : {body[1]}\r\n"
            "        SERVICE_EXIT_CODE  : 0  (0x0)\r\n"
            "        CHECKPOINT         : 0x0\r\n"
            "        WAIT_HINT          : 0x0\r\n"
        ),
        "",
    )
