"""Local sensitivities from the forward sensitivity equations, derived from the declaration.

For dx/dt = f(x, p, t) the sensitivities S_ij = dx_i/dp_j obey

    dS/dt = J(x, p, t) S + df/dp,     S(0) = dx(0)/dp,

with J = df/dx. :func:`sensitivity_model` writes these equations symbolically (sympy, from
the one declaration) as a new :class:`~nksim.model.Model` whose states are the model's
states followed by one sensitivity state per (state, parameter) pair; the batched engine
integrates it like any other model (doses, many patients, tolerances), so the sensitivities
are computed with the same error control as the states. :func:`local_sensitivities` runs it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import sympy as sp

from nksim.errors import UserError
from nksim.model import Citation, Model, State

SOURCE = Citation("forward sensitivity equations",
                  "derived symbolically from the model's declaration by nksim.analysis",
                  "V-code")


def sensitivity_name(state: str, parameter: str) -> str:
    """Name of the state holding d state / d parameter in the augmented model."""
    return f"s__{state}__{parameter}"


def _clean(expr: sp.Expr) -> sp.Expr:
    """Rewrite what differentiation leaves that the model language does not know."""
    expr = expr.replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.Integer(0))
    expr = expr.replace(lambda e: isinstance(e, sp.Derivative), lambda e: sp.Integer(0))
    expr = expr.replace(
        lambda e: isinstance(e, sp.Heaviside),
        lambda e: sp.Piecewise((1, e.args[0] > 0), (0, True)))
    expr = expr.replace(
        lambda e: isinstance(e, sp.sign),
        lambda e: sp.Piecewise((1, e.args[0] > 0), (-1, e.args[0] < 0), (0, True)))
    expr = expr.replace(lambda e: isinstance(e, sp.Subs), lambda e: e.doit())
    return expr


_CACHE: dict = {}


def sensitivity_model(model: Model, parameters: Sequence[str] | None = None) -> Model:
    """Cached :func:`_sensitivity_model` (per model structure, values and parameters)."""
    names = tuple(model.parameter_names if parameters is None else parameters)
    key = (id(model), model.structure_key(), names)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    aug = _sensitivity_model(model, names)
    _CACHE[key] = (model, aug)
    return aug


def _sensitivity_model(model: Model, parameters: Sequence[str] | None = None) -> Model:
    """The model augmented with the forward sensitivity equations for ``parameters``
    (default: every parameter). Sensitivity states have the unit ``state unit / parameter
    unit``, may be negative and have no extinction threshold (extinction would break the
    derivative), so the augmented model's states follow the equations without holding."""
    from nksim.model._declaration import safe_identifier
    from nksim.model._symbolic import symbolic

    if model.events:
        raise UserError("sensitivities of models with discrete events are not supported "
                        "(the sensitivities jump at events)", field="model.events")
    names = list(model.parameter_names if parameters is None else parameters)
    for name in names:
        model.parameter(name, field=f"sensitivity.parameters.{name}")
    if len(set(names)) != len(names):
        raise UserError("a parameter is named twice", field="sensitivity.parameters")
    sm = symbolic(model)
    back = {sp.Symbol(safe_identifier(n), real=True): sp.Symbol(n, real=True)
            for n in (*model.state_names, *model.parameter_names)}
    rhs = sp.Matrix(sm.rhs)
    J = rhs.jacobian(sp.Matrix(sm.states))
    psyms = [sp.Symbol(safe_identifier(n), real=True) for n in names]
    dfdp = rhs.jacobian(sp.Matrix(psyms)) if psyms else sp.zeros(len(sm.states), 0)
    n = len(sm.states)
    S = sp.Matrix(n, len(names), lambda i, j: sp.Symbol(
        sensitivity_name(model.state_names[i], names[j]), real=True))
    dS = J * S + dfdp
    units = {p.name: p.unit for p in model.parameters}
    equations = {s: model.equations[s] for s in model.state_names}
    states = [dataclasses.replace(s, extinction=None) for s in model.states]
    exempt = dict(model.unit_exempt)
    for i, x in enumerate(model.state_names):
        for j, p in enumerate(names):
            key = sensitivity_name(x, p)
            expr = _clean(sp.expand(dS[i, j]) if dS[i, j].is_polynomial() else dS[i, j])
            equations[key] = str(expr.xreplace(back)) if expr != 0 else "0"
            states.append(State(key, f"({model.states[i].unit})/({units[p]})",
                                f"d {x} / d {p}", 0.0, nonnegative=False))
            exempt[f"d{key}/dt"] = "sensitivity equation (units follow from the model's)"
    return dataclasses.replace(
        model, name=f"{model.name}_sens", states=tuple(states), equations=equations,
        observables={}, unit_exempt=exempt,
        notes=(*model.notes, f"forward sensitivities for {', '.join(names)}"))


def sensitivity_options(model: Model, names: Sequence[str], options):
    """``options`` with each sensitivity's absolute tolerance that of its state divided by
    the parameter's magnitude (its nominal value), as CVODES scales them (``pbar``): dx/dp
    of a parameter of 6.5e-11 is ~1e10 times its state, and the state's own tolerance would
    ask for absurd accuracy (the first step fell below the smallest allowed). A tolerance the
    caller gave for a sensitivity variable by name is kept."""
    from nksim.engine import SolverOptions

    options = options or SolverOptions()
    given = options.atol if isinstance(options.atol, Mapping) else {}
    state = {x: float(given.get(x, 1e-6) if given else options.atol)
             for x in model.state_names}
    atol = dict(state)
    for p in names:
        scale = abs(model.parameter(p).value) or 1.0
        for x in model.state_names:
            atol[sensitivity_name(x, p)] = state[x] / scale
    atol.update(given)
    return dataclasses.replace(options, atol=atol)


def local_sensitivities(
    model: Model,
    times: Sequence[float] | np.ndarray,
    *,
    parameters: Sequence[str] | None = None,
    values: np.ndarray | Mapping[str, float | Sequence[float]] | pd.DataFrame | None = None,
    initial: np.ndarray | None = None,
    initial_sensitivities: np.ndarray | None = None,
    doses=(),
    options=None,
    t_start: float = 0.0,
):
    """States and sensitivities d state / d parameter at ``times``, for each patient.

    Returns ``(result, S)``: the :class:`~nksim.engine.SimulationResult` of the augmented
    model (its sensitivity variables are named by :func:`sensitivity_name`) and an array
    ``S`` of shape (patients, times, states, parameters) in state unit / parameter unit.
    ``values`` sets the parameter values (as ``parameters`` of
    :func:`nksim.engine.simulate`); ``initial_sensitivities`` (patients, states, parameters)
    is dx(t_start)/dp (default zero: initial states that do not depend on the parameters).
    ``t_start`` is the time of ``initial`` (as for :func:`nksim.engine.simulate`; a
    scenario's ``[simulation] t_start``).
    """
    from nksim.engine import simulate

    names = list(model.parameter_names if parameters is None else parameters)
    aug = sensitivity_model(model, names)
    from nksim.engine._simulate import _population_arrays

    params, y0 = _population_arrays(model, values, initial)
    n_pat, n = y0.shape
    s0 = (np.zeros((n_pat, n, len(names))) if initial_sensitivities is None
          else np.broadcast_to(np.asarray(initial_sensitivities, float),
                               (n_pat, n, len(names))))
    y0_aug = np.hstack([y0, s0.reshape(n_pat, -1)])
    res = simulate(aug, times, parameters=params, initial=y0_aug, doses=doses,
                   options=sensitivity_options(model, names, options), t_start=t_start)
    S = np.stack([np.stack([res.dataset[sensitivity_name(x, p)].values for p in names], -1)
                  for x in model.state_names], axis=2)
    return res, S
