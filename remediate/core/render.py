"""Jinja2 rendering for step scripts, describe strings and when/expect expressions.

Templates run in a SandboxedEnvironment with StrictUndefined. In `script()`, the template's AST
is rewritten so that every `{{ expression }}` passes through a quoting filter for the step's
shell (quoting.py); `raw` anywhere in an expression's filter chain (`{{ value | raw }}`) opts out,
and a `raw` that cannot apply to a whole `{{ }}` is refused. Before that, scriptctx.check refuses a
non-raw `{{ }}` inside a string, comment or here-string of the script. Errors name the step and
the variable.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.environment import Template, TemplateExpression
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from remediate.core import domain, scriptctx
from remediate.core.errors import RenderError
from remediate.core.model import Shell
from remediate.core.quoting import UnsafeValue, quote

_QUOTE_FILTER = "_remediate_quote"
# Rendered scripts kept per Renderer (one per run): the same template with the same values for
# the names it reads renders the same text, so a fleet sharing its playbook vars renders each
# step once. Bounded: hosts with their own values (LAPS-style per-host vars) evict the oldest.
RENDERED_MAX = 1024
_PLAIN = (str, int, float, bool, type(None))  # values whose equality is the rendering's equality
_IMPURE_FILTERS = {"random"}  # jinja's only builtin whose output is not a function of its input


def _raw(value: Any) -> Any:
    return value  # a marker: script() leaves `{{ x | raw }}` unquoted


def expression_label(node: nodes.Node) -> str:
    """A readable name for an expression: kms_host, facts.license.products[0], ..."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{expression_label(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{expression_label(node.node)}[{node.arg.value!r}]"
    if isinstance(node, nodes.Filter) and node.node is not None:
        return expression_label(node.node)
    return f"expression on line {node.lineno}"


def new_environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters["raw"] = _raw
    env.filters[_QUOTE_FILTER] = _quote_value
    env.globals.update(domain.functions())  # every domain's template functions
    return env


class Renderer:
    """Renders step templates; compiled templates (and the names they read) are cached."""

    def __init__(self) -> None:
        self.env = new_environment()
        self._scripts: dict[tuple[str, str], Template] = {}
        self._texts: dict[str, Template] = {}
        self._exprs: dict[str, TemplateExpression] = {}
        self._variables: dict[str, frozenset[str]] = {}
        self._pure: dict[str, bool] = {}
        self._rendered: OrderedDict[tuple[object, ...], str] = OrderedDict()

    # -- compile (also used by the playbook loader to report syntax errors early) ----------------

    def compile_script(self, template: str, shell: Shell) -> Template:
        key = (template, shell)
        if key not in self._scripts:
            tree = self.env.parse(template)
            bad = scriptctx.misplaced_raw(tree)
            if bad is not None:
                raise TemplateSyntaxError(
                    f"`raw` on {expression_label(bad)} does not apply to a whole {{{{ }}}} expression "
                    "(it only works in the filter chain of the expression itself, e.g. {{ x | raw }})",
                    bad.lineno,
                )
            scriptctx.check(self.env, template, shell)
            for output in tree.find_all(nodes.Output):
                if shell == "powershell":
                    _check_ps_glue(output.nodes)
                output.nodes = [_wrap(n, shell) for n in output.nodes]
            self._scripts[key] = self.env.from_string(tree)
        return self._scripts[key]

    def compile_text(self, template: str) -> Template:
        if template not in self._texts:
            self._texts[template] = self.env.from_string(template)
        return self._texts[template]

    def compile_expr(self, expression: str) -> TemplateExpression:
        if expression not in self._exprs:
            self._exprs[expression] = self.env.compile_expression(expression, undefined_to_none=False)
        return self._exprs[expression]

    def variables(self, template: str) -> frozenset[str]:
        """The names `template` reads from its context."""
        if template not in self._variables:
            tree = self.env.parse(template)
            self._variables[template] = frozenset(meta.find_undeclared_variables(tree))
            self._pure[template] = not any(
                n.name in _IMPURE_FILTERS for n in tree.find_all((nodes.Filter, nodes.Test))
            )
        return self._variables[template]

    def _render_key(
        self, template: str, shell: Shell, context: Mapping[str, Any]
    ) -> tuple[object, ...] | None:
        """What a script's text depends on, or None when it cannot be cached: a name read that
        is not a plain value of the context (a global function, a dict of facts) or `random`."""
        names = self.variables(template)
        if not self._pure[template]:
            return None
        values: list[object] = [template, shell]
        for name in sorted(names):
            if name not in context:
                return None
            value = context[name]
            if not isinstance(value, _PLAIN):
                return None
            values += (name, type(value), value)  # the type: True == 1 == 1.0 render differently
        return tuple(values)

    # -- render ---------------------------------------------------------------------------------

    def script(
        self, template: str, shell: Shell, context: Mapping[str, Any], *, step: str | None = None
    ) -> str:
        """Render a script; every interpolated value is quoted for `shell` unless `| raw`."""
        try:
            compiled = self.compile_script(template, shell)
            key = self._render_key(template, shell, context)
            if key is not None and (hit := self._rendered.get(key)) is not None:
                self._rendered.move_to_end(key)
                return hit
            text = compiled.render(dict(context))
            if key is not None:
                self._rendered[key] = text
                if len(self._rendered) > RENDERED_MAX:
                    self._rendered.popitem(last=False)
            return text
        except UnsafeValue as exc:
            raise RenderError(str(exc), step=step) from None
        except RenderError as exc:
            raise RenderError(exc.message, step=step, variable=exc.variable) from None
        except (TemplateError, SecurityError) as exc:
            raise _render_error(exc, step) from None

    def text(self, template: str, context: Mapping[str, Any], *, step: str | None = None) -> str:
        """Render a describe/description string: no quoting."""
        try:
            return self.compile_text(template).render(dict(context))
        except (TemplateError, SecurityError) as exc:
            raise _render_error(exc, step) from None

    def expr(self, expression: str, context: Mapping[str, Any], *, step: str | None = None) -> Any:
        """Evaluate a `when` / `expect` expression."""
        try:
            return self.compile_expr(expression)(**dict(context))
        except (TemplateError, SecurityError) as exc:
            raise _render_error(exc, step) from None


_PS_GLUE = set("\"'.:\\/_$`")


def _check_ps_glue(items: list[nodes.Expr]) -> None:
    """A quoted PowerShell value glued to other text ('kms':1688) becomes two arguments: refuse it."""
    for i, node in enumerate(items):
        if isinstance(node, nodes.TemplateData) or scriptctx.raw_in_chain(node):
            continue
        before = items[i - 1] if i else None
        after = items[i + 1] if i + 1 < len(items) else None
        glued = (isinstance(before, nodes.TemplateData) and before.data and _glues(before.data[-1])) or (
            isinstance(after, nodes.TemplateData) and after.data and _glues(after.data[0])
        )
        if (
            glued
            or not isinstance(before, nodes.TemplateData | None)
            or not isinstance(after, nodes.TemplateData | None)
        ):
            raise TemplateSyntaxError(
                f"{{{{ {expression_label(node)} }}}} is glued to other text; in PowerShell a quoted value "
                "cannot share a token: build the whole token in one expression, e.g. {{ host ~ ':' ~ port }}",
                node.lineno,
            )


def _glues(ch: str) -> bool:
    return ch.isalnum() or ch in _PS_GLUE


def _wrap(node: nodes.Expr, shell: str) -> nodes.Expr:
    if isinstance(node, nodes.TemplateData):
        return node
    if scriptctx.raw_in_chain(node):
        return node
    label = expression_label(node)
    args: list[nodes.Expr] = [nodes.Const(shell), nodes.Const(label)]
    return nodes.Filter(node, _QUOTE_FILTER, args, [], None, None, lineno=node.lineno)


def _quote_value(value: Any, shell: str, label: str) -> str:
    try:
        return quote(value, shell)
    except UnsafeValue as exc:
        raise RenderError(
            f"variable {label!r} {exc}; refusing to render it for {shell}", variable=label
        ) from None


def _render_error(exc: Exception, step: str | None) -> RenderError:
    if isinstance(exc, UndefinedError):
        return RenderError(f"undefined variable: {exc.message}", step=step)
    if isinstance(exc, TemplateSyntaxError):
        return RenderError(f"template syntax error on line {exc.lineno}: {exc.message}", step=step)
    if isinstance(exc, SecurityError):
        return RenderError(f"blocked by the template sandbox: {exc}", step=step)
    return RenderError(f"template error: {exc}", step=step)


def context_for(
    playbook_vars: Mapping[str, Any],
    host_vars: Mapping[str, Any],
    *,
    host: str,
    facts: Mapping[str, Any] | None = None,
    applied: Sequence[str] = (),
) -> dict[str, Any]:
    """What templates and expressions see; the one definition (the engine's host runs and
    `remediate render` both call it). Playbook vars (defaults) < host vars (secrets removed; -e
    extra vars are their top layer, set by the inventory loader), plus `facts`, `host` and
    `inventory_hostname` (the inventory name) and `applied` (ids of the fixes planned or run so
    far, so a later fix can depend on them)."""
    ctx: dict[str, Any] = {**playbook_vars, **host_vars}
    ctx["facts"] = facts if facts is not None else {}
    ctx["host"] = host
    ctx["inventory_hostname"] = host
    ctx["applied"] = list(applied)
    return ctx
