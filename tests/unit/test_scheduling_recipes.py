"""The scheduling recipes in contrib/ and docs/scheduling.md: valid for their scheduler, and every
`remediate` command line in them parses against the real CLI."""

from __future__ import annotations

import ntpath
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest
from defusedxml import ElementTree

from remediate.cli import main

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "contrib/systemd"
CRON = ROOT / "contrib/cron/remediate-sweep"
TASK_XML = ROOT / "contrib/windows/remediate-sweep.xml"
DOC = ROOT / "docs/scheduling.md"
VENV_BIN = "/opt/remediate/venv/bin/remediate"

# https://learn.microsoft.com/en-us/windows/win32/taskschd/task-scheduler-schema
TASK_NS = "{http://schemas.microsoft.com/windows/2004/02/mit/task}"
# triggerBaseType is an xs:sequence (Enabled, StartBoundary, EndBoundary, Repetition,
# ExecutionTimeLimit), extended by calendarTriggerType (RandomDelay, then the ScheduleBy* choice).
CALENDAR_TRIGGER_ORDER = [
    "Enabled", "StartBoundary", "EndBoundary", "Repetition", "ExecutionTimeLimit", "RandomDelay",
    "ScheduleByDay", "ScheduleByWeek", "ScheduleByMonth", "ScheduleByMonthDayOfWeek",
]  # fmt: skip


# -- finding command lines ---------------------------------------------------------------------


def _words(line: str, posix: bool = True) -> list[str]:
    """Shell words and operators; posix=False for PowerShell (backslashes are not escapes there;
    quotes around a word are stripped)."""
    # A `$(date +FMT)` in a file name stands for its output.
    line = re.sub(r"\$\(date \+[^)]*\)", "19700101-000000", line)
    lex = shlex.shlex(line, posix=posix, punctuation_chars=True)
    lex.whitespace_split = True
    return [w if posix else w.strip("'\"") for w in lex]


def _is_operator(word: str) -> bool:
    return bool(word) and set(word) <= set("();<>|&")


def remediate_argvs(line: str, posix: bool = True) -> list[list[str]]:
    """Every `remediate COMMAND ...` in one shell (or PowerShell: posix=False) line, up to the
    first operator; `sh -c SCRIPT` is searched too."""
    found: list[list[str]] = []
    words = _words(line, posix)
    commands = set(main.list_commands(click.Context(main)))
    for i, word in enumerate(words):
        if word == "-c" and i and words[i - 1].endswith("sh") and i + 1 < len(words):
            found += remediate_argvs(words[i + 1])
        name = ntpath.basename(word.replace("/", "\\"))
        if (
            name in ("remediate", "remediate.exe")
            and i + 1 < len(words)
            and words[i + 1] in commands | {"sweep"}
        ):
            argv = []
            for w in words[i + 1 :]:
                if _is_operator(w):
                    break
                argv.append(w)
            found.append(argv)
    return found


def _doc_lines() -> list[str]:
    """Lines of the doc's code blocks (continuations joined) and inline code spans."""
    text = DOC.read_text(encoding="utf-8")
    lines: list[str] = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, re.M | re.S):
        lines += block.replace("\\\n", " ").splitlines()
    # A unit-file snippet: unescape it as systemd would.
    lines = [_unescape_systemd(ln) if ln.startswith("ExecStart=") else ln for ln in lines]
    # Inline spans that name a command with options; `remediate run` alone is prose.
    lines += [s for s in re.findall(r"`([^`\n]+)`", text) if s.startswith("remediate ") and " -" in s]
    return lines


_SYSTEMD_ESCAPES = {"%%": "%", "$$": "$", "%d": "/run/credentials/remediate-sweep.service"}


def _systemd_exec(path: Path) -> list[str]:
    """ExecStart= values as the program receives them: %% and $$ are systemd's escapes for % and
    $, %d the credentials directory."""
    values = [ln.split("=", 1)[1] for ln in path.read_text().splitlines() if ln.startswith("ExecStart=")]
    return [_unescape_systemd(v) for v in values]


def _unescape_systemd(value: str) -> str:
    return re.sub(r"%%|\$\$|%d", lambda m: _SYSTEMD_ESCAPES[m[0]], value)


def _cron_command() -> str:
    (line,) = [ln for ln in CRON.read_text().splitlines() if ln[:1].isdigit() or ln.startswith("*")]
    return line


def _task() -> ElementTree.Element:  # type: ignore[name-defined]
    return ElementTree.parse(TASK_XML).getroot()


def all_argvs() -> list[tuple[str, list[str]]]:
    sources: list[tuple[str, str, bool]] = [("docs/scheduling.md", ln, True) for ln in _doc_lines()]
    sources += [
        ("remediate-sweep.service", v, True) for v in _systemd_exec(SYSTEMD / "remediate-sweep.service")
    ]
    sources.append(("cron", " ".join(_cron_command().split()[6:]).replace("\\%", "%"), True))
    args = _task().find(f"{TASK_NS}Actions/{TASK_NS}Exec/{TASK_NS}Arguments")
    assert args is not None and args.text
    # The PowerShell -Command "..." string.
    (script,) = [w for w in _words(args.text) if "remediate.exe" in w]
    sources.append(("remediate-sweep.xml", script, False))
    return [(where, argv) for where, line, posix in sources for argv in remediate_argvs(line, posix)]


# -- option checks -------------------------------------------------------------------------------


def _check_argv(argv: list[str]) -> None:
    name, args = argv[0], argv[1:]
    cmd = main.get_command(click.Context(main), name)
    assert cmd is not None, f"no command {name!r}"
    with cmd.make_context(name, args) as sub:  # raises click.UsageError on any unknown option
        assert sub.params


def test_recipes_have_the_sweep_command_everywhere() -> None:
    argvs = all_argvs()
    where = {w for w, argv in argvs if argv[0] == "sweep"}
    assert where == {"docs/scheduling.md", "remediate-sweep.service", "cron", "remediate-sweep.xml"}
    assert any(argv[0] == "history" for _, argv in argvs)
    for _, argv in argvs:
        if argv[0] == "sweep":
            assert "--jsonl" in argv and "--db" in argv and "-i" in argv


@pytest.mark.parametrize(
    ("where", "argv"), all_argvs(), ids=lambda v: v if isinstance(v, str) else " ".join(v[:1])
)
def test_command_line_uses_existing_options(where: str, argv: list[str]) -> None:
    _check_argv(argv)


def test_option_check_rejects_an_unknown_option() -> None:
    with pytest.raises(click.UsageError):
        _check_argv(["sweep", "pb.yml", "-i", "inv.yml", "--jsnl", "x.jsonl"])
    with pytest.raises(click.UsageError):
        _check_argv(["history", "--runs", "3"])


# -- systemd -------------------------------------------------------------------------------------


def _unit(path: Path) -> dict[str, str]:
    return dict(
        ln.split("=", 1)
        for ln in path.read_text().splitlines()
        if "=" in ln and not ln.startswith(("#", ";"))
    )


def test_service_and_timer_settings() -> None:
    svc, timer = _unit(SYSTEMD / "remediate-sweep.service"), _unit(SYSTEMD / "remediate-sweep.timer")
    assert timer["Persistent"] == "true" and "RandomizedDelaySec" in timer and "OnCalendar" in timer
    assert svc["User"] == "remediate" and svc["NoNewPrivileges"] == "yes" and svc["PrivateTmp"] == "yes"
    assert svc["ProtectSystem"] == "strict" and svc["ReadWritePaths"] == "/var/lib/remediate"
    assert "PrivateNetwork" not in svc and "IPAddressDeny" not in svc
    assert {"AF_INET", "AF_INET6"} <= set(svc["RestrictAddressFamilies"].split())
    assert svc["LoadCredential"].startswith("vault-pass:")
    assert svc["SuccessExitStatus"].split() == ["2", "4", "6"]
    assert "%" not in re.sub(r"%%|%d", "", svc["ExecStart"]), "a specifier other than %d"
    (exec_start,) = _systemd_exec(SYSTEMD / "remediate-sweep.service")
    assert "$(date +%Y%m%d-%H%M%S)" in exec_start
    for where in ("/var/lib/remediate/history.db", "/var/lib/remediate/results/"):
        assert where in exec_start


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify checks that ExecStart's programs exist: point the venv at a file made here.
    fake = tmp_path / "venv/bin/remediate"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    units = []
    for src in sorted(SYSTEMD.glob("remediate-sweep.*")):
        dst = tmp_path / src.name
        dst.write_text(src.read_text().replace(VENV_BIN, str(fake)))
        units.append(str(dst))
    assert len(units) == 2
    out = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, check=False)
    # Unknown keys and bad values are only warnings: any line naming our files is a failure.
    complaints = [ln for ln in out.stderr.splitlines() if "remediate-sweep" in ln]
    assert out.returncode == 0 and not complaints, out.stderr


# -- cron ----------------------------------------------------------------------------------------


def test_cron_line_fields_and_flock() -> None:
    fields = _cron_command().split()
    minute, hour, dom, month, dow, user = fields[:6]
    for value in (minute, hour, dom, month, dow):
        assert re.fullmatch(r"[\d*,/-]+", value), value
    assert 0 <= int(minute) < 60 and 0 <= int(hour) < 24 and user == "remediate"
    assert fields[6:9] == ["flock", "-n", "-E"], "the command must take the lock first"
    assert "%" not in _cron_command().replace("\\%", ""), "an unescaped % ends a cron command"


@pytest.mark.parametrize(
    ("rc", "locked", "mail"),
    [(0, False, ""), (2, False, ""), (6, False, ""), (10, False, "exit 10"), (1, False, "exit 1"),
     (0, True, "still going")],
)  # fmt: skip
def test_cron_command_runs_and_only_prints_on_failure(
    tmp_path: Path, rc: int, locked: bool, mail: str
) -> None:
    """The cron command as /bin/sh runs it, with remediate replaced by a stub exiting `rc`."""
    if shutil.which("flock") is None:
        pytest.skip("flock (util-linux) is not installed")
    stub = tmp_path / "remediate"
    stub.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/argv\nexit {rc}\n')
    stub.chmod(0o755)
    (tmp_path / "results").mkdir()
    command = " ".join(_cron_command().split()[6:]).replace("\\%", "%")
    command = command.replace(VENV_BIN, str(stub)).replace("/var/lib/remediate", str(tmp_path))
    holder = None
    if locked:
        holder = subprocess.Popen(["flock", str(tmp_path / "sweep.lock"), "sleep", "30"])
        for _ in range(100):
            if (tmp_path / "sweep.lock").exists():
                break
            subprocess.run(["sleep", "0.05"], check=True)
    try:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        out = subprocess.run(
            ["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=30, check=False
        )
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
    assert (mail in out.stdout) if mail else out.stdout == "", out.stdout
    if not locked:
        argv = (tmp_path / "argv").read_text()
        assert re.search(r"/results/sweep-\d{8}-\d{6}\.jsonl$", argv.strip()), argv


# -- Windows Task Scheduler ------------------------------------------------------------------------


def test_task_xml_follows_the_schema() -> None:
    task = _task()
    assert task.tag == f"{TASK_NS}Task" and task.get("version") == "1.2"
    (trigger,) = task.findall(f"{TASK_NS}Triggers/{TASK_NS}CalendarTrigger")
    order = [child.tag.removeprefix(TASK_NS) for child in trigger]
    assert order == sorted(order, key=CALENDAR_TRIGGER_ORDER.index), order
    assert trigger.findtext(f"{TASK_NS}ScheduleByDay/{TASK_NS}DaysInterval") == "1"
    assert re.fullmatch(r"PT\d+M", trigger.findtext(f"{TASK_NS}RandomDelay") or "")
    settings = task.find(f"{TASK_NS}Settings")
    assert settings is not None
    assert settings.findtext(f"{TASK_NS}MultipleInstancesPolicy") == "IgnoreNew"
    assert settings.findtext(f"{TASK_NS}StartWhenAvailable") == "true"
    actions = task.find(f"{TASK_NS}Actions")
    principal = task.find(f"{TASK_NS}Principals/{TASK_NS}Principal")
    assert actions is not None and principal is not None
    assert actions.get("Context") == principal.get("id")  # the schema's ContextKeyRef
    exec_ = actions.find(f"{TASK_NS}Exec")
    assert exec_ is not None and (exec_.findtext(f"{TASK_NS}Command") or "").endswith("powershell.exe")
    arguments = exec_.findtext(f"{TASK_NS}Arguments") or ""
    # The task's Last Run Result must be remediate's exit code, not PowerShell's.
    assert arguments.rstrip('"').endswith("exit $LASTEXITCODE") and r"venv\Scripts\remediate.exe" in arguments
