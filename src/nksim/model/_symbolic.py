"""From a declared model to sympy: right-hand side, analytic Jacobian, checks.

sympy is imported only here (and by the exporters), so that running a model whose
compiled code is already cached does not pay for it.
"""

from __future__ import annotations

import tokenize
from dataclasses import dataclass

import sympy as sp
from sympy.parsing.sympy_parser import parse_expr, standard_transformations

from nksim.model._declaration import (
    FUNCTION_NAMES,
    TIME,
    Model,
    check_extinction,
    rename_keywords,
    safe_identifier,
)

# Functions an equation may use (anything else is an error).
_FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "Abs": sp.Abs,
    "Min": sp.Min,
    "Max": sp.Max,
    "tanh": sp.tanh,
    "Piecewise": sp.Piecewise,
    "Eq": sp.Eq,
    "And": sp.And,
    "Or": sp.Or,
    "Not": sp.Not,
    "pi": sp.pi,
    # mostly for imported SBML
    "E": sp.E,
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "sinh": sp.sinh, "cosh": sp.cosh,
    "asin": sp.asin, "acos": sp.acos, "atan": sp.atan, "asinh": sp.asinh, "acosh": sp.acosh,
    "atanh": sp.atanh,
    "sec": lambda x: 1 / sp.cos(x), "csc": lambda x: 1 / sp.sin(x),
    "cot": lambda x: 1 / sp.tan(x), "sech": lambda x: 1 / sp.cosh(x),
    "csch": lambda x: 1 / sp.sinh(x), "coth": lambda x: 1 / sp.tanh(x),
    "asec": lambda x: sp.acos(1 / x), "acsc": lambda x: sp.asin(1 / x),
    "acot": lambda x: sp.atan(1 / x), "asech": lambda x: sp.acosh(1 / x),
    "acsch": lambda x: sp.asinh(1 / x), "acoth": lambda x: sp.atanh(1 / x),
    "floor": sp.floor, "ceiling": sp.ceiling, "factorial": lambda x: sp.gamma(x + 1),
    "Ne": sp.Ne, "Lt": sp.Lt, "Le": sp.Le, "Gt": sp.Gt, "Ge": sp.Ge,
    "Xor": sp.Xor,
    "Implies": lambda a, b: sp.Or(sp.Not(a), b),
    "Mod": sp.Mod,
}


assert set(_FUNCTIONS) <= FUNCTION_NAMES  # the declaration checks names against this list
TIME_SYMBOL = sp.Symbol(TIME, real=True)  # explicit time in a non-autonomous model


@dataclass(frozen=True)
class SymbolicModel:
    """The sympy form of a model.

    ``rhs`` has every expression substituted (what the backends compile);
    ``rhs_display`` keeps expression names (what people read).
    """

    model: Model
    states: tuple[sp.Symbol, ...]
    parameters: tuple[sp.Symbol, ...]
    expressions: dict[sp.Symbol, sp.Expr]  # display form: may refer to earlier expressions
    rhs_display: tuple[sp.Expr, ...]
    rhs: tuple[sp.Expr, ...]

    def jacobian(self) -> sp.Matrix:
        """d rhs_i / d state_j, analytic."""
        return sp.Matrix(self.rhs).jacobian(sp.Matrix(self.states))

    def name_of(self, symbol: sp.Symbol) -> str:
        """The model's own spelling of a symbol (``lambda_`` -> ``lambda``)."""
        m = self.model
        names = {
            safe_identifier(n): n for n in (*m.state_names, *m.parameter_names, *m.expressions)
        }
        names[TIME] = TIME
        return names[str(symbol)]


_rename_keywords = rename_keywords


def parse(text: str, symbols: dict[str, sp.Symbol], where: str) -> sp.Expr:
    """Parse one formula; every name must be a declared symbol or an allowed function."""
    try:
        expr = parse_expr(
            _rename_keywords(text),
            local_dict=dict(symbols),
            global_dict={
                "__builtins__": {},
                **_FUNCTIONS,
                "Integer": sp.Integer,
                "Float": sp.Float,
                "Rational": sp.Rational,
                "Symbol": sp.Symbol,
            },
            transformations=standard_transformations,
            evaluate=True,
        )
    except (SyntaxError, TypeError, tokenize.TokenError) as exc:
        raise ValueError(f"{where}: cannot parse {text!r}: {exc}") from None
    unknown = {str(s) for s in expr.free_symbols} - set(symbols)
    if unknown:
        raise ValueError(f"{where}: unknown names {sorted(unknown)} in {text!r}")
    return expr


_CACHE: dict[tuple, SymbolicModel] = {}


def symbolic(model: Model) -> SymbolicModel:
    """Parse and check a model (cached per model structure and extinction thresholds)."""
    key = (model.structure_key(), tuple(s.extinction for s in model.states))
    if key not in _CACHE:
        _CACHE[key] = _symbolic(model)
    return _CACHE[key]


def _symbolic(model: Model) -> SymbolicModel:
    table = {
        safe_identifier(n): sp.Symbol(safe_identifier(n), real=True)
        for n in (*model.state_names, *model.parameter_names)
    }
    table[TIME] = TIME_SYMBOL
    states = tuple(table[safe_identifier(n)] for n in model.state_names)
    params = tuple(table[safe_identifier(n)] for n in model.parameter_names)
    display: dict[sp.Symbol, sp.Expr] = {}
    substituted: dict[sp.Symbol, sp.Expr] = {}
    for name, (formula, _unit, _doc) in model.expressions.items():
        expr = parse(formula, table, f"{model.name}: expression {name}")
        sym = sp.Symbol(safe_identifier(name), real=True)
        display[sym] = expr
        substituted[sym] = expr.subs(substituted)
        table[safe_identifier(name)] = sym
    rhs_display = tuple(
        parse(model.equations[n], table, f"{model.name}: d{n}/dt") for n in model.state_names
    )
    rhs = tuple(e.subs(substituted) for e in rhs_display)
    sym_model = SymbolicModel(model, states, params, display, rhs_display, rhs)
    _check_extinction(sym_model)
    return sym_model


def source_free_states(sm: SymbolicModel) -> tuple[str, ...]:
    """States whose rate of change is 0 when the state is 0 (no source term)."""
    return tuple(
        s.name for s, sym, expr in zip(sm.model.states, sm.states, sm.rhs, strict=True)
        if _is_zero(expr.subs(sym, 0))
    )


def _is_zero(expr) -> bool:
    """``expr == 0`` identically: structural zero, else a nonzero value at a random positive
    point proves a source (fast), else ``sympy.simplify`` decides (slow on large models)."""
    if expr == 0:
        return True
    free = sorted(expr.free_symbols, key=str)
    rng = __import__("random").Random(1)
    for _ in range(3):
        try:
            value = complex(expr.subs({x: rng.uniform(0.3, 3.0) for x in free}).evalf())
        except (TypeError, ValueError):
            break
        if abs(value) > 1e-9:
            return False
    return sp.simplify(expr) == 0


def _check_extinction(sm: SymbolicModel) -> None:
    check_extinction(sm.model, source_free_states(sm))
