"""`type C:\\flood.txt`: a lab file of HostState.flood_bytes bytes, for tests of huge output.

The content is ASCII lines between a `FLOOD-BEGIN` and a `FLOOD-END` line (so a capped result
shows both its head and its tail) and is built once per size and shared by every host, so ten
hosts flooding 200 MB cost the lab 200 MB, not 2 GB.
"""

from __future__ import annotations

from functools import lru_cache

FLOOD_PATH = "c:\\flood.txt"
HEAD = b"FLOOD-BEGIN\r\n"
TAIL = b"FLOOD-END\r\n"
LINE = b"flood 0123456789abcdefghijklmnopqrstuvwxyz 0123456789abcdefghijklmnopqrstuvwxyz\r\n"
# `type` of a missing file prints ERROR_FILE_NOT_FOUND's text and exits 1:
# https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-
NOT_FOUND = "The system cannot find the file specified.\r\n"


@lru_cache(maxsize=2)
def flood_content(size: int) -> bytes:
    """`size` bytes: HEAD, repeated LINEs, TAIL (cut to fit when size is small)."""
    if size <= len(HEAD) + len(TAIL):
        return (HEAD + TAIL)[:size]
    middle = size - len(HEAD) - len(TAIL)
    body = LINE * (middle // len(LINE)) + LINE[: middle % len(LINE)]
    return HEAD + body + TAIL


def is_flood_command(line: str) -> bool:
    """`type C:\\flood.txt` (any case, optional quotes): the lab's huge-output command."""
    parts = line.strip().lstrip("@").split(None, 1)
    if len(parts) != 2 or parts[0].lower() != "type":
        return False
    return parts[1].strip().strip('"').lower() == FLOOD_PATH
