"""remediate.core.errors: one exception tree, written out once in the module docstring."""

from __future__ import annotations

import inspect
import re

from remediate.core import errors
from remediate.domains.kms import parsers


def _classes() -> dict[str, type[BaseException]]:
    return {
        n: c
        for n, c in vars(errors).items()
        if inspect.isclass(c) and issubclass(c, BaseException) and c.__module__ == errors.__name__
    }


def test_the_docstring_tree_is_the_class_tree() -> None:
    """Every class is in the written tree, under the parent it really has."""
    doc = errors.__doc__ or ""
    rows = [(len(m.group(1)), m.group(2)) for m in re.finditer(r"^( *)[*+\-.] (\w+)", doc, re.M)]
    assert {name for _, name in rows} == set(_classes())
    stack: list[tuple[int, str]] = []
    for indent, name in rows:
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stack:
            assert _classes()[name].__bases__[0] is _classes()[stack[-1][1]], name
        stack.append((indent, name))


def test_one_root() -> None:
    for name, cls in _classes().items():
        assert issubclass(cls, errors.RemediateError), name
    assert issubclass(errors.WSManFault, errors.ProtocolError)
    assert issubclass(errors.CertificateError, errors.ConnectError)


def test_domain_parse_errors_are_core_parse_errors() -> None:
    assert issubclass(parsers.ParseError, errors.ParseError)
    assert issubclass(parsers.ParseError, ValueError)  # callers that catch ValueError still do
