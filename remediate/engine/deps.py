"""Which checks' facts a step reads: `facts.<id>` / `facts['<id>']` in its `run` or `when`.

A step that reads the facts of a check that did not complete (timed out, errored, skipped for the
same reason) is not evaluated: the host records it as skipped, `depends on <id> (timed out)`,
instead of failing on an undefined fact. Only literal references are seen; a template function
handed the whole `facts` (kms_target(facts, ...)) must cope with a missing fact itself.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment()


def _is_facts(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Name) and node.name == "facts"


@lru_cache(maxsize=1024)
def _refs(template: str) -> frozenset[str]:
    try:
        tree = _ENV.parse(template)
    except Exception:
        return frozenset()  # a template that does not parse fails where it is rendered, with its error
    found: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr) and _is_facts(node.node):
            found.add(node.attr)
        elif isinstance(node, nodes.Getitem) and _is_facts(node.node):
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                found.add(node.arg.value)
    return frozenset(found)


def fact_refs(run: str, when: str | None) -> frozenset[str]:
    """The check ids whose facts `run` (a template) or `when` (an expression) name."""
    refs = _refs(run)
    if when:
        refs |= _refs(f"{{{{ {when} }}}}")
    return refs
