"""Render a declared model as Markdown with LaTeX equations (for docs and ``nksim models``)."""

from __future__ import annotations

import math

import sympy as sp

from nksim.model._declaration import Model
from nksim.model._symbolic import symbolic

_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "kappa",
          "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega"}


def _latex_part(text: str) -> str:
    """A Greek letter, a one-letter symbol (digits after it as a subscript: ``r1`` is r_1),
    or upright text (``chemo`` is one name, not the product c h e m o)."""
    if text in _GREEK:
        return f"\\{text}"
    if len(text) == 1:
        return text
    if text[0].isalpha() and text[1:].isdigit():
        return f"{text[0]}_{{{text[1:]}}}"
    return "\\mathrm{" + text.replace("_", "\\_") + "}"


def _latex_name(name: str) -> str:
    head, _, sub = name.partition("_")
    return f"{_latex_part(head)}_{{{_latex_part(sub)}}}" if sub else _latex_part(head)


def _fmt(value: float) -> str:
    if value == math.inf:
        return "inf"
    return f"{value:.6g}"


def render_markdown(model: Model) -> str:
    """States, parameters (units, bounds, sources), expressions and equations of ``model``."""
    sm = symbolic(model)
    names = {s: _latex_name(sm.name_of(s)) for s in (*sm.states, *sm.parameters,
                                                      *sm.expressions)}

    def tex(expr: sp.Expr) -> str:
        return sp.latex(expr, symbol_names=names, mul_symbol="dot")  # BPRE·CARNK, not BPRECARNK

    lines = [f"# {model.name}: {model.title}", "", model.description, ""]
    if model.parameter_set:
        lines += [f"Parameter set: **{model.parameter_set}**", ""]
    lines += ["## States", "", "| state | unit | initial | meaning | extinct below |",
              "|---|---|---|---|---|"]
    for s in model.states:
        ext = "-" if s.extinction is None else f"{_fmt(s.extinction)} {s.unit}"
        lines.append(f"| {s.name} | {s.unit} | {_fmt(s.initial)} | {s.description} | {ext} |")
    lines += ["", "## Parameters", "", "| parameter | value | unit | bounds | meaning | source |",
              "|---|---|---|---|---|---|"]
    for p in model.parameters:
        lines.append(f"| {p.name} | {_fmt(p.value)} | {p.unit} | [{_fmt(p.bounds[0])}, "
                     f"{_fmt(p.bounds[1])}] | {p.description} | {p.source.label()} |")
    if sm.expressions:
        lines += ["", "## Expressions", ""]
        for sym, expr in sm.expressions.items():
            name = sm.name_of(sym)
            lines.append(f"- ${_latex_name(name)} = {tex(expr)}$ ({model.expressions[name][2]})")
    lines += ["", f"## Equations (time in {model.time_unit})", ""]
    for sym, expr in zip(sm.states, sm.rhs_display, strict=True):
        lines.append(f"$$\\frac{{d\\,{_latex_name(sm.name_of(sym))}}}{{dt}} = {tex(expr)}$$")
        lines.append("")
    if model.observables:
        lines += ["## Observables", "", "| observable | formula | unit | meaning |",
                  "|---|---|---|---|"]
        for name, (formula, unit, doc) in model.observables.items():
            lines.append(f"| {name} | `{formula}` | {unit} | {doc} |")
        lines.append("")
    if model.unit_exempt:
        lines += ["## Exempt from the dimensional analysis", ""]
        lines += [f"- `{key}`: {reason}" for key, reason in model.unit_exempt.items()]
        lines.append("")
    if model.notes:
        lines += ["## Notes", "", *[f"- {note}" for note in model.notes], ""]
    lines += ["## Sources", ""]
    for c in model.sources():
        doi = f" doi:{c.doi}" if c.doi else ""
        note = f" ({c.note})" if c.note else ""
        lines.append(f"- [{c.verified}] {c.text}{doi}{note}")
    return "\n".join(lines) + "\n"
