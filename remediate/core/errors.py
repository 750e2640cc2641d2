"""The exception tree users see: one place, one format ("file:line: field: message")."""

from __future__ import annotations

from collections.abc import Iterable


class RemediateError(Exception):
    """Base of every error remediate raises on purpose (exit code 1 at the CLI)."""


class ConfigError(RemediateError):
    """A broken inventory, playbook, pattern or template, found before anything connects.

    str(e) == "inventories/prod.yml:12: hosts.web1.ansible_port: expected an integer, got 'abc'"
    """

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, field: str | None = None
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        elif self.line:
            where = f"line {self.line}: "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"

    def __str__(self) -> str:
        return self._format()


class RenderError(RemediateError):
    """A template could not be rendered for one host (undefined variable, unsafe value)."""

    def __init__(self, message: str, *, step: str | None = None, variable: str | None = None) -> None:
        self.message = message
        self.step = step
        self.variable = variable
        super().__init__(f"step {step}: {message}" if step else message)


class CredentialError(RemediateError):
    """A password reference could not be resolved (unset variable, unreadable file)."""


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """' (did you mean 'hosts'?)' when a close option exists, else ''."""
    import difflib

    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def error_text(e: BaseException) -> str:
    """'ConnectError: host refused' (or just the type's name when the exception has no text)."""
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
