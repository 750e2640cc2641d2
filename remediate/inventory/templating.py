"""Jinja in inventory variables, evaluated like Ansible: from the host's other variables, sandboxed.

Ansible templates a variable when it is used, with every other variable of the host in scope
(https://docs.ansible.com/ansible/latest/playbook_guide/playbooks_templating.html; precedence is
already applied by builder.py, so `{{ site_kms }}` sees the winning value of `site_kms`).
remediate evaluates every templated value once at load, per host, in dependency order:

- only the names a template reads are resolved first (meta.find_undeclared_variables), so a
  broken variable nobody uses does not fail the load (Ansible's laziness, as far as it matters);
- a template that is exactly one `{{ expression }}` keeps the expression's type (a mapping, a
  number), like Ansible with native types; anything else renders to a string;
- the environment is render.py's SandboxedEnvironment (StrictUndefined, jinja2's builtin
  filters/tests plus the domains' template functions) with `lookup('env', NAME, default='')`
  added (https://docs.ansible.com/ansible/latest/collections/ansible/builtin/env_lookup.html);
- a reference cycle or a chain deeper than MAX_DEPTH, an undefined name, a syntax error, a
  sandbox refusal or any other evaluation error (`{{ 1/0 }}`) is a ConfigError naming the file,
  line and variable;
- what a template may compute is bounded: jinja2's sandbox refuses range() past MAX_RANGE, `*` and
  `**` may not build a value past MAX_VALUE_CHARS (characters, items) / MAX_POWER_BITS, and a
  value longer than MAX_VALUE_CHARS once rendered is refused.

The values stay data: a resolved value is interpolated into scripts through the same quoting
filters as a literal (render.py). Which values are secrets (docs/inventory.md, "Secrets"):
- a secret-named variable (ansible_password, *_token...), every variable it reads (directly or
  through others: `ansible_password: "{{ winrm_cred }}"` makes winrm_cred a secret) and every
  variable computed from one of those: masked, redacted from output, hidden from templates;
- a value decrypted from Ansible Vault, or computed from one, under any other name
  (`kms_host: "{{ vault_kms_host }}"`): masked in listings only; templates use it and output
  shows it, as with Ansible.
The dependency graph is static (the names each template reads), so a name read in any branch counts.
"""

from __future__ import annotations

import math
import operator
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateSyntaxError, Undefined, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from remediate.core.errors import ConfigError
from remediate.core.render import new_environment
from remediate.inventory.model import is_secret_name
from remediate.inventory.vault import VaultSecret

if TYPE_CHECKING:
    from remediate.inventory.model import Host

PASSWORD_VARS = ("ansible_password", "ansible_ssh_pass", "ansible_ssh_password")
MAX_DEPTH = 20  # variables referring to templated variables referring to ...
CONNECTION_PREFIXES = ("ansible_", "remediate_")  # needed before anything connects: fail at load
MAX_VALUE_CHARS = 64 * 1024  # a rendered inventory value (or a * repetition) longer than this fails
MAX_POWER_BITS = 64 * 1024  # a ** result wider than this (in bits) fails
_MARKERS = ("{{", "{%", "{#")  # Ansible's is_template test looks for these
_SINGLE_EXPR = re.compile(r"^\{\{(?P<expr>.*)\}\}$", re.S)
# The form the credential resolver reads as an env reference (kept unresolved: see credentials.py)
ENV_LOOKUP = re.compile(
    r"""^\{\{\s*lookup\(\s*['"](?:ansible\.builtin\.)?env['"]\s*,\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\)\s*\}\}$"""
)


def is_template(value: Any) -> bool:
    """Does this value (or anything inside it) contain Jinja markers?"""
    if isinstance(value, str):
        return any(m in value for m in _MARKERS)
    if isinstance(value, Mapping):
        return any(is_template(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_template(v) for v in value)
    return False


def is_connection_var(name: str) -> bool:
    return name.startswith(CONNECTION_PREFIXES)


@dataclass
class _Lookups:
    """What one evaluation touched: env variables that were unset (they gave their default)."""

    unset_env: set[str] = field(default_factory=set)


def _environment(templates: Templates) -> SandboxedEnvironment:
    env = new_environment()

    def lookup(plugin: str, *terms: Any, default: Any = "", **_kw: Any) -> Any:
        if plugin not in ("env", "ansible.builtin.env"):
            raise UndefinedError(f"lookup plugin {plugin!r} is not supported (only 'env')")
        values = []
        for term in terms:
            value = os.environ.get(str(term))
            if value is None:
                templates.current.unset_env.add(str(term))
                value = default
            values.append(value)
        return values[0] if len(values) == 1 else ",".join(str(v) for v in values)

    env.globals["lookup"] = lookup
    env.intercepted_binops = frozenset({"*", "**"})
    env.call_binop = _bounded_binop  # type: ignore[method-assign,assignment]
    return env


def _bounded_binop(_context: Any, op: str, left: Any, right: Any) -> Any:
    """`*` and `**` in inventory templates, refused before they build something huge."""
    if op == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(n, int) and len(seq) * n > MAX_VALUE_CHARS:
                raise SecurityError(f"the result of * would be longer than {MAX_VALUE_CHARS}")
        return operator.mul(left, right)
    if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
        if right * math.log2(abs(left)) > MAX_POWER_BITS:
            raise SecurityError(f"the result of ** would be wider than {MAX_POWER_BITS} bits")
    return operator.pow(left, right)


@dataclass(frozen=True)
class _Compiled:
    names: frozenset[str]  # the variables the text reads (meta.find_undeclared_variables)
    run: Callable[[dict[str, Any]], Any] | None  # context -> value; None: `error`
    error: str | None = None


class Templates:
    """The inventory templates of one Inventory.load: one sandboxed environment, and each distinct
    text parsed, analysed and compiled once (10,000 hosts sharing a group's `kms_host:
    "{{ site_kms }}"` compile it once, not 10,000 times). Bounded by the load's distinct texts."""

    def __init__(self) -> None:
        self.current = _Lookups()  # where `lookup('env', ...)` records unset variables right now
        self.env = _environment(self)
        self._cache: dict[str, _Compiled] = {}
        self.compilations = 0

    def get(self, text: str) -> _Compiled:
        found = self._cache.get(text)
        if found is None:
            found = self._cache[text] = self._compile(text)
        return found

    def _compile(self, text: str) -> _Compiled:
        self.compilations += 1
        env = self.env
        try:
            tree = env.parse(text)
            names = frozenset(meta.find_undeclared_variables(tree))
            single = _SINGLE_EXPR.match(text)
            if single and _is_single_output(tree):
                expr = env.compile_expression(single.group("expr"), undefined_to_none=False)

                def run(context: dict[str, Any]) -> Any:
                    value = expr(**context)
                    if isinstance(value, Undefined):
                        str(value)  # StrictUndefined: raises UndefinedError naming what is missing
                    return value

                return _Compiled(names, run)
            return _Compiled(names, env.from_string(tree).render)
        except TemplateSyntaxError as e:
            return _Compiled(frozenset(), None, f"template syntax error: {e.message}")
        except Exception as e:  # RecursionError on absurd nesting
            return _Compiled(frozenset(), None, f"template syntax error: {type(e).__name__}: {e}")

    def names_read(self, raw: Any) -> set[str]:
        """The variable names the templates in `raw` read (none for a text that does not parse)."""
        if isinstance(raw, Mapping):
            return set().union(*(self.names_read(v) for v in raw.values()))
        if isinstance(raw, list | tuple):
            return set().union(*(self.names_read(v) for v in raw))
        if not isinstance(raw, str) or not is_template(raw):
            return set()
        return set(self.get(raw).names)

    def run(self, compiled: _Compiled, context: dict[str, Any], lookups: _Lookups) -> Any:
        assert compiled.run is not None
        previous, self.current = self.current, lookups
        try:
            return compiled.run(context)
        finally:
            self.current = previous


@dataclass
class Resolved:
    """The result of templating one host's variables."""

    values: dict[str, Any]  # name -> value after templating (only the templated names)
    errors: dict[str, ConfigError]  # name -> why it could not be evaluated
    secret: set[str]  # non-secret-named names that are secrets (read by or computed from one)
    vault: set[str]  # other names whose value is (or is computed from) a vault value
    deps: dict[str, set[str]]  # templated name -> the host's variables its template reads
    unset_env: dict[str, set[str]]  # name -> env variables its evaluation found unset


class _HostTemplar:
    def __init__(self, host: Host, templates: Templates) -> None:
        self.host, self.templates = host, templates
        self.raw = dict(host.vars)
        self.lookups: dict[str, _Lookups] = {}
        self.done: dict[str, Any] = {}
        self.failed: dict[str, ConfigError] = {}
        self.magic: dict[str, Any] = {
            "inventory_hostname": host.name,
            "inventory_hostname_short": host.name.split(".")[0],
            "group_names": list(host.groups),
        }

    def fail(self, name: str, message: str) -> ConfigError:
        o = self.host.origin(name)
        return ConfigError(message, file=o.file, line=o.line, field=o.field)

    def resolve(self, name: str, stack: tuple[str, ...] = ()) -> Any:
        """The value of `name` with its templates evaluated (dependencies first)."""
        if name in self.done:
            return self.done[name]
        if name in self.failed:
            raise self.failed[name]
        if name in stack:
            chain = " -> ".join((*stack[stack.index(name) :], name))
            raise self.fail(stack[0], f"variables refer to each other in a loop: {chain}")
        if len(stack) >= MAX_DEPTH:
            raise self.fail(
                stack[0], f"templated variables nest deeper than {MAX_DEPTH}: {' -> '.join(stack)} -> ..."
            )
        raw = self.raw[name]
        if not is_template(raw) or (name in PASSWORD_VARS and ENV_LOOKUP.match(str(raw))):
            return raw
        lookups = self.lookups.setdefault(name, _Lookups())
        try:
            value, deps = self._evaluate(name, raw, lookups, (*stack, name))
        except ConfigError as e:
            self.failed[name] = e
            raise
        for dep in deps:
            lookups.unset_env |= self.lookups.get(dep, _Lookups()).unset_env
        self.done[name] = value
        return value

    def _evaluate(
        self, name: str, raw: Any, lookups: _Lookups, stack: tuple[str, ...]
    ) -> tuple[Any, set[str]]:
        deps: set[str] = set()
        if isinstance(raw, Mapping):
            out: dict[Any, Any] = {}
            for k, v in raw.items():
                out[k], d = self._evaluate(name, v, lookups, stack)
                deps |= d
            return out, deps
        if isinstance(raw, list | tuple):
            items = []
            for v in raw:
                item, d = self._evaluate(name, v, lookups, stack)
                items.append(item)
                deps |= d
            return items, deps
        if not isinstance(raw, str) or not is_template(raw):
            return raw, deps
        compiled = self.templates.get(raw)
        if compiled.error is not None:
            raise self.fail(name, compiled.error)
        context: dict[str, Any] = dict(self.magic)
        for dep in sorted(compiled.names):
            if dep in self.raw:
                context[dep] = self.resolve(dep, stack)
                deps.add(dep)
        try:
            return self._bounded(name, self.templates.run(compiled, context, lookups)), deps
        except UndefinedError as e:
            raise self.fail(name, f"undefined variable in template {raw!r}: {e.message}") from None
        except SecurityError as e:
            raise self.fail(name, f"blocked by the template sandbox: {e}") from None
        except TemplateError as e:
            raise self.fail(name, f"template error: {e}") from None
        except ConfigError:
            raise
        except Exception as e:  # ZeroDivisionError, ValueError, OverflowError, MemoryError...
            raise self.fail(name, f"template error: {type(e).__name__}: {e}") from None

    def _bounded(self, name: str, value: Any) -> Any:
        size = len(value) if isinstance(value, str) else len(str(value))
        if size > MAX_VALUE_CHARS:
            raise self.fail(
                name, f"template value too long: {size} characters (the limit is {MAX_VALUE_CHARS})"
            )
        return value


def _is_single_output(tree: nodes.Template) -> bool:
    """`{{ a }}` but not `{{ a }} and {{ b }}` (which the regex alone would also match)."""
    body = tree.body
    return len(body) == 1 and isinstance(body[0], nodes.Output) and len(body[0].nodes) == 1


def resolve_host(host: Host, templates: Templates | None = None) -> Resolved:
    """Evaluate every templated variable of `host` (errors are collected, not raised); pass one
    `templates` for every host of a load so each text compiles once."""
    templates = templates if templates is not None else Templates()
    t = _HostTemplar(host, templates)
    values: dict[str, Any] = {}
    errors: dict[str, ConfigError] = {}
    for name, raw in host.vars.items():
        if not is_template(raw) or (name in PASSWORD_VARS and ENV_LOOKUP.match(str(raw))):
            continue
        try:
            value = t.resolve(name)
        except ConfigError as e:
            errors[name] = e
            continue
        if value is not raw:
            values[name] = value
    deps = {
        n: templates.names_read(raw) & host.vars.keys()
        for n, raw in host.vars.items()
        if _is_evaluated(n, raw)
    }
    secret = _closure({n for n in host.vars if is_secret_name(n)}, deps, backward=True)
    vault = _closure({n for n, v in host.vars.items() if _has_vault(v)}, deps, backward=False) - secret
    unset = {n: t.lookups[n].unset_env for n in values if n in t.lookups and t.lookups[n].unset_env}
    derived = {n for n in secret if not is_secret_name(n)}
    return Resolved(values, errors, secret=derived, vault=vault, deps=deps, unset_env=unset)


def _is_evaluated(name: str, raw: Any) -> bool:
    return is_template(raw) and not (name in PASSWORD_VARS and ENV_LOOKUP.match(str(raw)))


def _closure(start: set[str], deps: Mapping[str, set[str]], *, backward: bool) -> set[str]:
    """`start` plus every templated variable computed from a member; with `backward`, also every
    variable a member reads (the password's source is as secret as the password)."""
    found = set(start)
    changed = True
    while changed:
        changed = False
        for name, reads in deps.items():
            new = (reads - found) if backward and name in found else set()
            if name not in found and reads & found:
                new.add(name)
            if new:
                found |= new
                changed = True
    return found


def _has_vault(value: Any) -> bool:
    if isinstance(value, VaultSecret):
        return True
    if isinstance(value, Mapping):
        return any(_has_vault(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_vault(v) for v in value)
    return False


def literal_sources(host: Host, name: str) -> list[str]:
    """The variables at the end of `name`'s template chain that hold a plain literal string (not
    from vault, not a reference): a password built from them is a literal password."""
    seen: set[str] = set()
    stack = [name]
    found: list[str] = []
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n in host.template_deps:
            stack.extend(sorted(host.template_deps[n], reverse=True))
        elif n != name and isinstance(host.vars.get(n), str | int) and host.vars[n] != "":
            if not isinstance(host.vars[n], VaultSecret):
                found.append(n)
    return found


def apply(host: Host, templates: Templates | None = None) -> None:
    """Replace `host`'s templated variables by their values (keeping the text in host.templates).

    A connection variable (ansible_*, remediate_*) that cannot be evaluated raises ConfigError
    now; any other keeps its text, is listed in host.unresolved, and a playbook template that
    uses it fails with that message (Ansible's lazy evaluation: unused, it is harmless)."""
    r = resolve_host(host, templates)
    for name, error in r.errors.items():
        if is_connection_var(name):
            raise error
        host.unresolved[name] = str(error)
    for name, value in r.values.items():
        host.templates[name] = host.vars[name]
        host.vars[name] = value
    host.derived_secrets |= r.secret
    host.from_vault |= r.vault
    host.template_deps.update(r.deps)
    host.unset_env.update(r.unset_env)
