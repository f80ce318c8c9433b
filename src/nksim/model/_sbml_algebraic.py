"""SBML algebraic rules solved symbolically into assignment rules (sympy).

An algebraic rule ``0 = f(x, ...)`` determines one quantity that nothing else determines
(SBML L3V2 section 4.11.4: not constant, not set by another rule, not a species that
reactions change). Where the rules can be solved for those quantities in closed form,
with one solution (``sympy.solve``), each becomes an assignment rule ``x = g(...)`` and
the model stays an ODE system. Rules that cannot be solved so (implicit or with several
roots, true differential-algebraic systems) are refused by name, as before.
"""

from __future__ import annotations

import re

import libsbml
import sympy

_PREFIX = "nksimalg_"
_BOOLEANS = (sympy.logic.boolalg.BooleanFunction, sympy.logic.boolalg.BooleanAtom,
             sympy.core.relational.Relational)


class SolvedRule:
    """An assignment rule obtained by solving algebraic rules (duck-types a libSBML rule:
    :meth:`getMath` returns the rule itself, rendered by the importer's ``math``)."""

    def __init__(self, variable: str, expr: sympy.Expr) -> None:
        self.variable = variable
        self.expr = expr

    def getVariable(self) -> str:  # noqa: N802 - libSBML's spelling
        return self.variable

    def getMath(self) -> SolvedRule:  # noqa: N802
        return self

    def isAssignment(self) -> bool:  # noqa: N802
        return True

    def isRate(self) -> bool:  # noqa: N802
        return False

    def isAlgebraic(self) -> bool:  # noqa: N802
        return False

    def render(self, symbols: dict[str, str]) -> str:
        """The solution as an nksim formula (SBML ids replaced by their formulas)."""
        def sub(match: re.Match) -> str:
            sid = match.group(1)
            return f"({symbols[sid]})" if sid in symbols else match.group(0)

        return re.sub(rf"\b{_PREFIX}(\w+)", sub, str(self.expr))


def determined_elsewhere(m: libsbml.Model) -> set[str]:
    """Ids fixed by something other than an algebraic rule: constants, other rules,
    species changed by reactions, reactions."""
    fixed: set[str] = set()
    for r in m.getListOfRules():
        if not r.isAlgebraic() and r.getMath() is not None:
            fixed.add(r.getVariable())
    for c in m.getListOfCompartments():
        if c.getConstant():
            fixed.add(c.getId())
    for p in m.getListOfParameters():
        if p.getConstant():
            fixed.add(p.getId())
    for s in m.getListOfSpecies():
        if s.getConstant():
            fixed.add(s.getId())
    for r in m.getListOfReactions():
        fixed.add(r.getId())
        for ref in (*r.getListOfReactants(), *r.getListOfProducts()):
            sp = m.getSpecies(ref.getSpecies())
            if sp is not None and not sp.getBoundaryCondition():
                fixed.add(sp.getId())
            if ref.isSetId() and ref.getConstant():
                fixed.add(ref.getId())
    return fixed


def solve_algebraic(importer, fail) -> dict[str, SolvedRule]:
    """``{SBML id: SolvedRule}`` for the model's algebraic rules (``{}`` if it has none).

    ``importer`` is the :class:`~nksim.model._sbml_import._Importer` (its ``_m`` renders
    libSBML maths; names are mapped to prefixed sympy symbols); ``fail(message)`` raises
    the one-line refusal."""
    m = importer.m
    rules = [r for r in m.getListOfRules() if r.isAlgebraic() and r.getMath() is not None]
    if not rules:
        return {}
    ids = {c.getId() for c in m.getListOfCompartments()} | \
        {p.getId() for p in m.getListOfParameters()} | \
        {s.getId() for s in m.getListOfSpecies()} | \
        {r.getId() for r in m.getListOfReactions()}
    for r in m.getListOfReactions():
        for ref in (*r.getListOfReactants(), *r.getListOfProducts()):
            if ref.isSetId():
                ids.add(ref.getId())
    fixed = determined_elsewhere(m)
    saved = getattr(importer, "symbols", None)
    importer.symbols = {sid: f"{_PREFIX}{sid}" for sid in ids}
    try:
        eqs = []
        unknown: set[str] = set()
        for k, r in enumerate(rules):
            text = importer._m(r.getMath(), f"algebraic rule {k + 1}", {})
            try:
                expr = sympy.sympify(text, locals={n: sympy.Symbol(n) for n in
                                                   (f"{_PREFIX}{sid}" for sid in ids)})
            except (sympy.SympifyError, TypeError, SyntaxError):
                fail(f"SBML algebraic rule {k + 1} ({libsbml.formulaToL3String(r.getMath())}) "
                     "cannot be read as an equation (not supported)")
            if isinstance(expr, _BOOLEANS):
                fail(f"SBML algebraic rule {k + 1} ({libsbml.formulaToL3String(r.getMath())}) "
                     "is a boolean (booleans used as numbers are not supported)")
            eqs.append(expr)
            unknown |= {s.name[len(_PREFIX):] for s in expr.free_symbols
                        if s.name.startswith(_PREFIX)} - fixed
    finally:
        if saved is None:
            del importer.symbols
        else:
            importer.symbols = saved
    unknown_list = sorted(unknown)
    if len(unknown_list) != len(eqs):
        fail(f"SBML algebraic rules: {len(eqs)} rule(s) but {len(unknown_list)} quantity(ies) "
             f"they could determine ({', '.join(unknown_list) or 'none'}); only rules that "
             "determine one quantity each are supported")
    syms = [sympy.Symbol(f"{_PREFIX}{sid}") for sid in unknown_list]
    try:
        sols = sympy.solve(eqs, syms, dict=True)
    except (NotImplementedError, TypeError, ValueError):
        sols = []
    if len(sols) != 1 or set(sols[0]) != set(syms):
        fail(f"SBML algebraic rules cannot be solved for {', '.join(unknown_list)} in closed "
             "form with one solution (differential-algebraic systems are not supported)")
    return {sid: SolvedRule(sid, sols[0][sym]) for sid, sym in zip(unknown_list, syms,
                                                                      strict=True)}
