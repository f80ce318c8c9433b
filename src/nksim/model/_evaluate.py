"""Evaluate a model's formulas on arrays with numpy (observables after integration).

Formulas are read with :mod:`ast` and rewritten for arrays (``and``/``or``/``not`` and
comparison chains to numpy logic, ``Piecewise`` to :func:`numpy.select`); only the names
the declaration allows are in scope, and Python builtins are not.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
from scipy import special


def _piecewise(*pieces):
    conds = [np.asarray(c, dtype=bool) for _, c in pieces]
    values = [np.asarray(v, dtype=float) for v, _ in pieces]
    shape = np.broadcast_shapes(*(c.shape for c in conds), *(v.shape for v in values))
    return np.select([np.broadcast_to(c, shape) for c in conds],
                     [np.broadcast_to(v, shape) for v in values], default=np.nan)


def _reduce(fn):
    def apply(*args):
        out = np.asarray(args[0], dtype=float)
        for a in args[1:]:
            out = fn(out, a)
        return out
    return apply


def _logic(fn):
    def apply(*args):
        out = np.asarray(args[0], dtype=bool)
        for a in args[1:]:
            out = fn(out, np.asarray(a, dtype=bool))
        return out
    return apply


_NAMESPACE = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "Abs": np.abs, "Min": _reduce(np.minimum),
    "Max": _reduce(np.maximum), "tanh": np.tanh, "Piecewise": _piecewise, "Eq": np.equal,
    "Ne": np.not_equal, "Lt": np.less, "Le": np.less_equal, "Gt": np.greater,
    "Ge": np.greater_equal, "And": _logic(np.logical_and), "Or": _logic(np.logical_or),
    "Not": np.logical_not, "Xor": _logic(np.logical_xor),
    "Implies": lambda a, b: np.logical_or(np.logical_not(a), b),
    "pi": np.pi, "E": np.e, "True": True, "False": False,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "sinh": np.sinh, "cosh": np.cosh,
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "asinh": np.arcsinh,
    "acosh": np.arccosh, "atanh": np.arctanh,
    "sec": lambda x: 1 / np.cos(x), "csc": lambda x: 1 / np.sin(x),
    "cot": lambda x: 1 / np.tan(x), "sech": lambda x: 1 / np.cosh(x),
    "csch": lambda x: 1 / np.sinh(x), "coth": lambda x: 1 / np.tanh(x),
    "asec": lambda x: np.arccos(1 / x), "acsc": lambda x: np.arcsin(1 / x),
    "acot": lambda x: np.arctan(1 / x), "asech": lambda x: np.arccosh(1 / x),
    "acsch": lambda x: np.arcsinh(1 / x), "acoth": lambda x: np.arctanh(1 / x),
    "floor": np.floor, "ceiling": np.ceil, "factorial": lambda x: special.gamma(x + 1.0),
    "Mod": np.mod,
}


class _ArrayLogic(ast.NodeTransformer):
    def visit_BoolOp(self, node):
        self.generic_visit(node)
        fn = "And" if isinstance(node.op, ast.And) else "Or"
        return ast.Call(ast.Name(fn, ast.Load()), node.values, [])

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return ast.Call(ast.Name("Not", ast.Load()), [node.operand], [])
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        ops = {ast.Lt: "Lt", ast.LtE: "Le", ast.Gt: "Gt", ast.GtE: "Ge", ast.Eq: "Eq",
               ast.NotEq: "Ne"}
        parts, left = [], node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            parts.append(ast.Call(ast.Name(ops[type(op)], ast.Load()), [left, right], []))
            left = right
        if len(parts) == 1:
            return parts[0]
        return ast.Call(ast.Name("And", ast.Load()), parts, [])


@lru_cache(maxsize=1024)
@lru_cache(maxsize=4096)
def _compiled(formula: str):
    """The formula parsed and compiled once (event triggers are evaluated many times)."""
    tree = ast.parse(formula.strip(), mode="eval")
    tree = ast.fix_missing_locations(_ArrayLogic().visit(tree))
    return compile(tree, "<formula>", "eval")


def evaluate(formula: str, values: Mapping[str, object]) -> np.ndarray:
    """The value of ``formula`` with ``values`` (numbers or arrays) for its names."""
    scope = {**_NAMESPACE, **values}
    with np.errstate(all="ignore"):
        return np.asarray(eval(_compiled(formula), {"__builtins__": {}}, scope),  # noqa: S307
                          dtype=float)


def observables(model, times: np.ndarray, states: np.ndarray,
                parameters: np.ndarray) -> dict[str, np.ndarray]:
    """``{observable: array (patients, times)}`` from recorded states (patients, times, n)
    and parameters (patients, n_parameters)."""
    if not model.observables:
        return {}
    from nksim.model._declaration import safe_identifier

    shape = states.shape[:2]
    values: dict[str, object] = {"t": np.broadcast_to(np.asarray(times, float)[None, :], shape)}
    for i, name in enumerate(model.state_names):
        values[safe_identifier(name)] = states[:, :, i]
    for j, name in enumerate(model.parameter_names):
        values[safe_identifier(name)] = np.asarray(parameters, float)[:, j][:, None]
    for name, (formula, _u, _d) in model.expressions.items():
        values[safe_identifier(name)] = evaluate(_safe(formula), values)
    out = {}
    for name, (formula, _u, _d) in model.observables.items():
        out[name] = np.broadcast_to(evaluate(_safe(formula), values), shape).copy()
        values[safe_identifier(name)] = out[name]
    return out


def _safe(formula: str) -> str:
    from nksim.model._declaration import rename_keywords

    return rename_keywords(formula)
