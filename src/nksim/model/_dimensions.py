"""Dimensional analysis of a declared model (pint), run when the model is declared.

Every equation, named expression and observable is read with Python's :mod:`ast` (no
sympy at declaration time) and the unit of each sub-expression is computed from the
declared units of states, parameters, expressions and time:

* the terms of a sum, the arguments of ``Min``/``Max``, both sides of a comparison and
  the values of a ``Piecewise`` must have the same unit (same dimension and scale:
  ``mg/L`` and ``ug/L`` differ by a factor 1000, which is an error too);
* the arguments of ``exp``, ``log``, ``tanh`` and the other transcendental functions, and
  a power's exponent, must be dimensionless;
* ``d(state)/dt`` must be in ``state unit / time unit``; an expression or observable in
  its declared unit.

A plain number carries no unit (it adapts, as in SBML: ``1 - T/K`` is fine when ``T/K``
is dimensionless). A term may convert units with a literal factor: ``1440*X/tau`` with
``tau`` in minutes is accepted in cells/day because 1440 is exactly the factor from
cells/min to cells/day (any other number would be reported). A power with a parameter
as exponent (``T**l``) takes the parameter's declared value. The error names the
offending term and its unit.

Opt-out (``Model.unit_exempt``): ``{key: reason}`` where ``key`` is either the name of
what is checked (``"dM/dt"``, an expression or an observable: not checked at all) or a
sub-expression as written (``"exp(-M)"``: treated as dimensionless without looking
inside, e.g. drug amounts in arbitrary units in an exponent). Every exemption needs a
reason, shown with the model.

A model that passed (every unit known, every formula consistent) is remembered on disk
(:func:`remember_checked`, in nksim's cache folder, ``units/``) under a hash of
:func:`dimension_key` (units, formulas, exemptions and the values of parameters used as
exponents) and of the checking code and pint's version, so that declaring it again in
another process (:func:`checked_before`) needs neither pint (about 0.2 s of start-up) nor
the analysis. Failures are never remembered: a model with a bad unit or an inconsistent
formula is analysed, and refused, every time.
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
import tokenize
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from nksim.model._declaration import rename_keywords, safe_identifier
from nksim.units import parse_unit, registry

_DIMENSIONLESS_FUNCTIONS = frozenset({
    "exp", "log", "tanh", "sin", "cos", "tan", "sinh", "cosh", "asin", "acos", "atan",
    "asinh", "acosh", "atanh", "sec", "csc", "cot", "sech", "csch", "coth", "asec", "acsc",
    "acot", "asech", "acsch", "acoth", "factorial", "log10",
})
_SAME_UNIT_FUNCTIONS = frozenset({"Abs", "Min", "Max", "floor", "ceiling"})
_BOOLEAN_FUNCTIONS = frozenset({"And", "Or", "Not", "Xor", "Implies"})
_RELATIONS = frozenset({"Eq", "Ne", "Lt", "Le", "Gt", "Ge"})

_ANY = None  # a plain number: no unit of its own
_BOOL = "boolean"


class DimensionError(ValueError):
    """A formula whose terms do not have matching units."""


def normalise(formula: str) -> str:
    """The canonical spelling of a formula (for matching exemptions)."""
    try:
        return ast.unparse(ast.parse(formula.strip(), mode="eval"))
    except SyntaxError:
        return formula.strip()


def dimension_key(model) -> tuple:
    """Everything the unit and dimension checks of ``model`` depend on: the time unit, the
    units of states and parameters, the formulas and units of expressions, equations and
    observables, the exemptions, and the values of the parameters used in an exponent
    (``T**l``); not the model's name nor other parameter values."""
    exempt = tuple(sorted({*((normalise(k), v) for k, v in model.unit_exempt.items()),
                           *model.unit_exempt.items()}))
    formulas = (*(v[0] for v in model.expressions.values()),
                *(model.equations[s] for s in model.state_names),
                *(v[0] for v in model.observables.values()))
    powers = _exponent_names(formulas)
    return (
        model.time_unit,
        tuple((s.name, s.unit) for s in model.states),
        tuple((p.name, p.unit, p.value if safe_identifier(p.name) in powers else None)
              for p in model.parameters),
        tuple((k, v[0], v[1]) for k, v in model.expressions.items()),
        tuple((k, v[0], v[1]) for k, v in model.observables.items()),
        tuple((s, model.equations[s]) for s in model.state_names),
        exempt,
    )


def check_dimensions(model) -> None:
    """Raise :class:`DimensionError` naming the first term with inconsistent units."""
    message = _check(dimension_key(model))
    if message:
        raise DimensionError(f"model {model.name!r}: {message}")


# ---------------------------------------------------------------- remembered passes
#: Files whose code decides whether a model passes (the grammar and registry of units, the
#: checks at declaration, this analysis): a change to any of them forgets every pass.
_CHECK_FILES = ("units.py", "model/_declaration.py", "model/_dimensions.py")
_PASSED: set[str] = set()  # passes known to this process


@lru_cache(maxsize=1)
def _checker_version() -> str | None:
    """Hash of the checking code and pint's version (``None``, and nothing remembered, if
    the source files cannot be read)."""
    from importlib import metadata

    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    try:
        for name in _CHECK_FILES:
            h.update((root / name).read_bytes())
    except OSError:
        return None
    try:
        h.update(f"pint {metadata.version('pint')}".encode())
    except metadata.PackageNotFoundError:
        h.update(b"pint not installed")
    return h.hexdigest()


def _pass_file(model) -> Path | None:
    """The cache file that records a pass of ``model`` (``None`` if it has no key: a
    malformed declaration, refused by the checks themselves)."""
    from nksim._io import cache_dir

    version = _checker_version()
    if version is None:
        return None
    try:
        key = repr(dimension_key(model))
        folder = cache_dir() / "units"
    except Exception:  # noqa: BLE001 - malformed: let the declaration checks report it
        return None
    digest = hashlib.sha256(f"{version}\n{key}".encode()).hexdigest()[:32]
    return folder / f"{digest}.ok"


def checked_before(model) -> bool:
    """True if a model with the same :func:`dimension_key` passed the unit and dimension
    checks before, with the same checking code and pint (in this process or, recorded by
    :func:`remember_checked`, in nksim's cache folder)."""
    path = _pass_file(model)
    if path is None:
        return False
    if path.name in _PASSED:
        return True
    try:
        found = path.is_file()
    except OSError:
        return False
    if found:
        _PASSED.add(path.name)
    return found


def remember_checked(model) -> None:
    """Record that ``model`` passed the unit and dimension checks (call only after it
    did). A cache folder that cannot be written is ignored: the checks run again."""
    from nksim._io import write_text_atomic

    path = _pass_file(model)
    if path is None or path.name in _PASSED:
        return
    _PASSED.add(path.name)
    try:
        if not path.is_file():
            write_text_atomic(path, f"{model.name}: units and dimensions checked\n")
    except OSError:
        pass


@lru_cache(maxsize=512)
def _exponent_names(formulas: tuple[str, ...]) -> frozenset[str]:
    """Names used in an exponent (``a**b``, ``pow(a, b)``) in any of ``formulas``."""
    names: set[str] = set()
    for formula in formulas:
        tree = _parse(formula)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
                exponent = node.right
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id == "pow" and len(node.args) == 2:
                exponent = node.args[1]
            else:
                continue
            names |= {n.id for n in ast.walk(exponent) if isinstance(n, ast.Name)}
    return frozenset(names)


@lru_cache(maxsize=512)
def _check(key) -> str | None:
    time_unit, states, params, expressions, observables, equations, exempt = key
    reg = registry()
    exempt_keys = {k for k, _ in exempt}
    units: dict[str, object] = {"t": parse_unit(time_unit)}  # by name as parsed (lambda_)
    values: dict[str, float] = {}
    for name, unit in states:
        units[safe_identifier(name)] = parse_unit(unit)
    for name, unit, value in params:
        units[safe_identifier(name)] = parse_unit(unit)
        if value is not None:  # (only the values of parameters used in an exponent)
            values[safe_identifier(name)] = value
    targets = []
    for name, formula, unit in expressions:
        targets.append((f"expression {name}", name, formula, parse_unit(unit)))
    for name, formula in equations:
        targets.append((f"d{name}/dt", f"d{name}/dt", formula,
                        units[name] / parse_unit(time_unit)))
    for name, formula, unit in observables:
        targets.append((f"observable {name}", name, formula, parse_unit(unit)))
    for name, _formula, unit in expressions:
        units[safe_identifier(name)] = parse_unit(unit)
    checker = _Checker(reg, units, values, exempt_keys)
    for where, name, formula, expected in targets:
        if name in exempt_keys:
            continue
        tree = _parse(formula)
        if tree is None:
            continue  # the parser reports it with its own message
        tree = tree.body
        try:
            checker.expect(tree, expected)
        except DimensionError as exc:
            return f"{where} = {formula.strip()!r}: {_original_names(str(exc), key)}"
    return None


def _original_names(message: str, key) -> str:
    """``message`` with renamed keywords spelled as in the model (``lambda_`` -> ``lambda``)."""
    _, states, params, expressions, *_ = key
    names = [s[0] for s in states] + [p[0] for p in params] + [e[0] for e in expressions]
    for name in names:
        if safe_identifier(name) != name:
            message = re.sub(rf"\b{re.escape(safe_identifier(name))}\b", name, message)
    return message


def _parse(formula: str) -> ast.Expression | None:
    """The syntax tree of ``formula`` with keyword names renamed (``lambda`` -> ``lambda_``,
    as the code generator does), or ``None`` if it does not parse."""
    try:
        return ast.parse(rename_keywords(formula.strip()), mode="eval")
    except (SyntaxError, tokenize.TokenError, IndentationError):
        return None


def _fmt(unit) -> str:
    if unit is _ANY:
        return "a plain number"
    if unit == _BOOL:
        return "a condition"
    text = f"{unit:~}" if str(unit) != "dimensionless" else "dimensionless"
    return text or "dimensionless"


class _Checker:
    def __init__(self, reg, units, values, exempt) -> None:
        self.reg = reg
        self.units = units
        self.values = values
        self.exempt = exempt
        self.one = reg.dimensionless

    # ------------------------------------------------------------ comparisons
    def same(self, a, b) -> bool:
        if a is _ANY or b is _ANY:
            return True
        if a == _BOOL or b == _BOOL:
            return a == b
        try:
            factor = (1.0 * a).to(b).magnitude
        except Exception:  # noqa: BLE001 - pint raises several kinds
            return False
        return math.isclose(factor, 1.0, rel_tol=1e-9)

    def converts(self, term, unit, reference) -> bool:
        """``unit`` differs from ``reference`` only by a factor written as a literal in ``term``."""
        if unit is _ANY or reference is _ANY or _BOOL in (unit, reference):
            return False
        try:
            factor = (1.0 * unit).to(reference).magnitude
        except Exception:  # noqa: BLE001 - different dimensions
            return False
        up, down = _literals(term)
        candidates = [*up, *(1.0 / d for d in down if d)]
        if up or down:
            candidates.append(math.prod(up) / math.prod(down))
        return any(math.isclose(c, factor, rel_tol=1e-6) for c in candidates)

    def expect(self, node, expected) -> None:
        """Check ``node`` is in ``expected``, naming the first term that is not."""
        terms = _terms(node)
        for term in terms:
            unit = self.unit(term)
            if not self.same(unit, expected) and not self.converts(term, unit, expected):
                if len(terms) == 1:
                    raise DimensionError(f"is in {_fmt(unit)} but must be in {_fmt(expected)}")
                raise DimensionError(
                    f"term {ast.unparse(term)!r} is in {_fmt(unit)} but the sum must be in "
                    f"{_fmt(expected)}"
                )

    def dimensionless(self, node, what: str) -> None:
        unit = self.unit(node)
        if unit == _BOOL or not (unit is _ANY or self.same(unit, self.one)):
            raise DimensionError(
                f"{what} {ast.unparse(node)!r} must be dimensionless, but is in {_fmt(unit)} "
                "(if that is a convention of the source, exempt it in unit_exempt with a reason)"
            )

    # ------------------------------------------------------------ units
    def unit(self, node):
        if ast.unparse(node) in self.exempt:
            return self.one
        if isinstance(node, ast.Constant):
            return _BOOL if isinstance(node.value, bool) else _ANY
        if isinstance(node, ast.Name):
            if node.id in ("True", "False"):
                return _BOOL
            if node.id == "pi":
                return _ANY
            return self.units.get(node.id, _ANY)
        if isinstance(node, ast.UnaryOp):
            inner = self.unit(node.operand)
            if isinstance(node.op, ast.Not):
                return _BOOL
            return inner
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                self.unit(v)
            return _BOOL
        if isinstance(node, ast.Compare):
            self.relation([node.left, *node.comparators], ast.unparse(node))
            return _BOOL
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node.func.id, node.args, node)
        if isinstance(node, ast.Tuple):
            return _ANY
        return _ANY

    def relation(self, nodes, text: str) -> None:
        units = [self.unit(n) for n in nodes]
        known = [(n, u) for n, u in zip(nodes, units, strict=True) if u is not _ANY]
        for n, u in known[1:]:
            if not self.same(u, known[0][1]):
                raise DimensionError(
                    f"{ast.unparse(known[0][0])!r} ({_fmt(known[0][1])}) and "
                    f"{ast.unparse(n)!r} ({_fmt(u)}) are compared in {text!r}"
                )

    def binop(self, node):
        if isinstance(node.op, ast.Add | ast.Sub):
            terms = _terms(node)
            first = None
            for term in terms:
                u = self.unit(term)
                if u is _ANY:
                    continue
                if first is None:
                    first = (term, u)
                elif not self.same(u, first[1]) and not self.converts(term, u, first[1]):
                    raise DimensionError(
                        f"term {ast.unparse(term)!r} is in {_fmt(u)} but "
                        f"{ast.unparse(first[0])!r} is in {_fmt(first[1])}"
                    )
            return _ANY if first is None else first[1]
        left, right = self.unit(node.left), self.unit(node.right)
        if isinstance(node.op, ast.Mult):
            if left is _ANY:
                return right
            if right is _ANY:
                return left
            return _simplify(left * right)
        if isinstance(node.op, ast.Div):
            if right is _ANY:
                return left
            if left is _ANY:
                return _simplify(1 / right)
            return _simplify(left / right)
        if isinstance(node.op, ast.Pow):
            return self.power(node.left, node.right, left, right)
        return _ANY

    def power(self, base_node, exp_node, base, exp):
        if exp is not _ANY:
            self.dimensionless(exp_node, "exponent")
        if base is _ANY or self.same(base, self.one):
            return base
        value = _number(exp_node, self.values)
        if value is None:
            raise DimensionError(
                f"{ast.unparse(base_node)!r} ({_fmt(base)}) is raised to "
                f"{ast.unparse(exp_node)!r}, whose value is not known when the model is declared"
            )
        return _simplify(base**value)

    def call(self, name: str, args, node):
        if name in _DIMENSIONLESS_FUNCTIONS:
            for a in args:
                self.dimensionless(a, f"the argument of {name}:")
            return self.one
        if name == "sqrt":
            u = self.unit(args[0])
            return u if u is _ANY else _simplify(u**0.5)
        if name in ("root",):
            return _ANY
        if name == "pow" and len(args) == 2:
            return self.power(args[0], args[1], self.unit(args[0]), self.unit(args[1]))
        if name in _SAME_UNIT_FUNCTIONS:
            units = [self.unit(a) for a in args]
            self.relation(list(args), ast.unparse(node))
            known = [u for u in units if u is not _ANY]
            return known[0] if known else _ANY
        if name in _BOOLEAN_FUNCTIONS:
            for a in args:
                self.unit(a)
            return _BOOL
        if name in _RELATIONS:
            self.relation(list(args), ast.unparse(node))
            return _BOOL
        if name == "Piecewise":
            values, found = [], []
            for piece in args:
                if isinstance(piece, ast.Tuple) and len(piece.elts) == 2:
                    values.append(piece.elts[0])
                    self.unit(piece.elts[1])
            for v in values:
                u = self.unit(v)
                if u is _ANY:
                    continue
                if found and not self.same(u, found[0][1]):
                    raise DimensionError(
                        f"the pieces {ast.unparse(found[0][0])!r} ({_fmt(found[0][1])}) and "
                        f"{ast.unparse(v)!r} ({_fmt(u)}) of {ast.unparse(node)!r} differ"
                    )
                found.append((v, u))
            return found[0][1] if found else _ANY
        for a in args:  # unknown function (refused elsewhere): check inside only
            self.unit(a)
        return _ANY


def _terms(node) -> list:
    """The terms of a sum or difference, flattened (a unary minus kept with its term)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        return _terms(node.left) + _terms(node.right)
    return [node]


def _literals(node) -> tuple[list[float], list[float]]:
    """Numeric literals multiplying (first list) and dividing (second) a product term."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return _literals(node.operand)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
            and not isinstance(node.value, bool):
        return [float(node.value)], []
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        (a, b), (c, d) = _literals(node.left), _literals(node.right)
        return a + c, b + d
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        (a, b), (c, d) = _literals(node.left), _literals(node.right)
        return a + d, b + c
    return [], []


def _number(node, values: Mapping[str, float]) -> float | None:
    """The value of a constant exponent: a number, a parameter, or arithmetic of them."""
    try:
        tree = ast.Expression(body=node)
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        if not names <= set(values):
            return None
        if any(isinstance(n, ast.Call) for n in ast.walk(tree)):
            return None
        return float(eval(compile(tree, "<exponent>", "eval"),  # noqa: S307 - names checked
                          {"__builtins__": {}}, dict(values)))
    except Exception:  # noqa: BLE001
        return None


def _simplify(unit):
    """Cancel units of the same dimension that differ only by name (``L/liter``), and round
    exponents that differ from an integer by rounding errors (``L**1.4*T/L**1.4`` is ``T``,
    not ``T**0.9999999999999998``)."""
    try:
        unit = unit.to_reduced_units() if hasattr(unit, "to_reduced_units") else unit
    except Exception:  # noqa: BLE001
        pass
    exponents = getattr(unit, "_units", None)
    if exponents is None or not hasattr(unit, "dimensionality") or hasattr(unit, "magnitude"):
        return unit
    tidy = {name: (round(e) if abs(e - round(e)) < 1e-9 else e) for name, e in exponents.items()}
    if tidy == dict(exponents):
        return unit
    from pint.util import UnitsContainer

    return type(unit)(UnitsContainer({name: e for name, e in tidy.items() if e != 0}))
