"""Steady states: Newton's method with the analytic Jacobian, falling back to integration.

``steady_state(model, parameters=..., guess=...)`` solves f(x, p) = 0 for every patient
(a row of ``parameters``), starting from ``guess`` (default: the model's initial state).
Newton uses the compiled right-hand side and the analytic Jacobian derived from the
declaration (:func:`nksim.model.compile_model`); a patient whose Newton iteration does not
converge is integrated forward (the batched engine) until the right-hand side is small,
and Newton is tried again from there. Each patient's outcome is reported in a status
table (as :func:`nksim.engine.simulate` does): ``newton``, ``integration`` or ``failed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nksim.errors import UserError
from nksim.model import Model, compile_model

STATUSES = ("newton", "integration", "failed")


@dataclass(frozen=True)
class SteadyState:
    """What :func:`steady_state` returns.

    Attributes
    ----------
    states : DataFrame (patients x states, model units): the steady states (NaN where failed).
    patients : DataFrame indexed by patient: ``status`` (``newton``: Newton from the guess
        converged; ``integration``: reached after integrating forward; ``failed``),
        ``residual`` (max |f_i| scaled by max(|x_i|, atol), per model time unit),
        ``iterations`` (Newton steps), ``t_integrated`` and ``message``.
    """

    model: Model
    states: pd.DataFrame
    patients: pd.DataFrame

    @property
    def status_counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.patients["status"].value_counts().items()}


def steady_state(
    model: Model,
    *,
    parameters: np.ndarray | Mapping[str, float | Sequence[float]] | pd.DataFrame | None = None,
    guess: np.ndarray | Mapping[str, float] | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_iter: int = 50,
    integrate: bool = True,
    t_max: float = 1e6,
    at: float | None = None,
) -> SteadyState:
    """Steady state of ``model`` for each patient (row of ``parameters``).

    Parameters
    ----------
    parameters : as for :func:`nksim.engine.simulate` (array, mapping or DataFrame).
    guess : starting state(s), array (patients, states) or ``{state: value}``; default the
        model's initial state. Newton converges to the equilibrium nearest (in its basin)
        to the guess; with the integration fallback, to the one the dynamics reach.
    rtol, atol : convergence when |f_i(x)| <= rtol*max(|x_i|, atol/rtol) for every state
        (a relative residual per model time unit) and the last Newton step is below
        ``rtol*|x| + atol``.
    max_iter : Newton steps from the guess (at least 20 to polish after integration).
    integrate : fall back to integrating forward (to ``t_max`` at most, model time unit).
    at : for a model that uses ``t``: solve f(x, p, t=at) = 0 with the time held fixed
        (Newton only, no integration fallback), as PEtab's preequilibration does.
    """
    from nksim.engine._simulate import _population_arrays

    frozen = model.uses_time  # Newton at the fixed time ``at`` (PEtab preequilibration)
    if frozen and at is None:
        raise UserError("a model that uses the time t has no steady state in general "
                        "(give at= to solve with t held fixed)", field="model")
    if model.events:
        raise UserError("steady states of models with discrete events are not supported",
                        field="model")
    initial = None
    if guess is not None:
        if isinstance(guess, Mapping):
            y = model.initial_vector()
            for name, value in guess.items():
                model.state(name, field=f"guess.{name}")
                y[model.state_names.index(name)] = float(value)
            initial = y[None, :]
        else:
            initial = np.atleast_2d(np.asarray(guess, dtype=float))
    params, y0 = _population_arrays(model, parameters, initial)
    fns = prepare_functions(model, at)
    x, status, residual, iters, t_int, messages = solve_arrays(
        model, fns, params, y0, rtol=rtol, atol=atol, max_iter=max_iter,
        integrate=integrate and not frozen, t_max=t_max)
    states = pd.DataFrame(x, columns=list(model.state_names))
    states.index.name = "patient"
    table = pd.DataFrame({"status": status, "residual": residual, "iterations": iters,
                          "t_integrated": t_int, "message": messages})
    table.index.name = "patient"
    return SteadyState(model, states, table)


def prepare_functions(model: Model, at: float | None = None):
    """The compiled right-hand side and Jacobian Newton uses (with the time held at ``at``
    for a model that uses ``t``); made once by a caller that solves many times."""
    fns = compile_model(model)
    return _Frozen(fns, len(model.states), float(at)) if model.uses_time else fns


def solve_arrays(model: Model, fns, params: np.ndarray, y0: np.ndarray, *, rtol: float,
                 atol: float, max_iter: int = 50, integrate: bool = True,
                 t_max: float = 1e6):
    """:func:`steady_state` on arrays: ``(x, status, residual, iterations, t_integrated,
    messages)``, one row per patient (``fns`` from :func:`prepare_functions`)."""
    n_pat, n = y0.shape
    x = np.full((n_pat, n), np.nan)
    status = np.array(["failed"] * n_pat, dtype=object)
    residual = np.full(n_pat, np.nan)
    iters = np.zeros(n_pat, dtype=int)
    t_int = np.zeros(n_pat)
    messages = np.array([""] * n_pat, dtype=object)
    nonneg = np.array([s.nonnegative for s in model.states])
    for i in range(n_pat):
        ok, xi, res, k, msg = _newton(fns, y0[i], params[i], nonneg, rtol, atol, max_iter)
        iters[i], residual[i], messages[i] = k, res, msg
        if ok:
            x[i], status[i] = xi, "newton"
    todo = np.flatnonzero(status == "failed")
    if integrate and todo.size:
        reached = _integrate(model, params[todo], y0[todo], fns, rtol, atol, t_max)
        for i, (xi, t_end) in zip(todo, reached, strict=True):
            t_int[i] = t_end
            if not np.isfinite(xi).all():
                messages[i] = "integration failed"
                continue
            ok, xs, res, k, msg = _newton(fns, xi, params[i], nonneg, rtol, atol,
                                          max(max_iter, 20), origin=y0[i])
            iters[i] += k
            residual[i] = res
            if ok:
                x[i], status[i], messages[i] = xs, "integration", ""
            else:
                messages[i] = f"no steady state reached by t = {t_end:g} ({msg})"
    return x, status, residual, iters, t_int, messages


class _Frozen:
    """The compiled functions of a non-autonomous model (time as a last state) with the
    time held at ``at``: the first ``n`` equations and their Jacobian block."""

    def __init__(self, fns, n: int, at: float):
        self.fns, self.n, self.at = fns, n, at
        self._f = np.empty(n + 1)
        self._J = np.empty((n + 1, n + 1))

    def _y(self, x):
        return np.append(x, self.at)

    def rhs(self, x, p, out):
        self.fns.rhs(self._y(x), p, self._f)
        out[:] = self._f[:self.n]

    def jac(self, x, p, out):
        self.fns.jac(self._y(x), p, self._J)
        out[:, :] = self._J[:self.n, :self.n]


def _scaled_residual(f: np.ndarray, x: np.ndarray, rtol: float, atol: float) -> float:
    return float(np.max(np.abs(f) / np.maximum(np.abs(x), atol / rtol))) if f.size else 0.0


_RANK_RTOL = 1e-11  # singular values below this fraction of the largest count as zero


def _conservation_laws(fns, x0, p, f0, J0):
    """Rows c (r, n) with c . f(x) = 0 for every x: the linear conservation laws, which make
    the Jacobian singular everywhere (c J = 0). Found as the common left null space of the
    Jacobian at ``x0`` and at two perturbed points, each kept only if c . f vanishes there
    too (a Jacobian singular at ``x0`` alone, e.g. x' = 1 - x^2 at 0, conserves nothing).
    Empty (0, n) when the Jacobian at ``x0`` is regular."""
    n = x0.size
    none = np.zeros((0, n))
    if n == 0 or not np.isfinite(J0).all():
        return none
    s = np.linalg.svd(J0, compute_uv=False)
    if s[0] > 0 and s[-1] > _RANK_RTOL * s[0]:
        return none
    rng = np.random.default_rng(12345)
    jacs, rhs = [J0], [f0]
    scale = np.maximum(np.abs(x0), max(float(np.abs(x0).max(initial=0.0)) * 1e-3, 1e-3))
    for _ in range(2):  # nonnegative points away from x0 (and from zero)
        xp = np.abs(x0 + 0.2 * rng.uniform(0.2, 1.0, n) * scale)
        Jp, fp = np.empty((n, n)), np.empty(n)
        fns.jac(xp, p, Jp)
        fns.rhs(xp, p, fp)
        if np.isfinite(Jp).all() and np.isfinite(fp).all():
            jacs.append(Jp)
            rhs.append(fp)
    U, sv, _ = np.linalg.svd(np.hstack(jacs))
    top = sv[0] if sv.size and sv[0] > 0 else 1.0
    rank = int(np.sum(sv > _RANK_RTOL * top))
    keep = [c for c in U[:, rank:].T
            if all(abs(c @ f) <= 1e-8 * (np.abs(c) @ np.abs(f)) for f in rhs)]
    return np.array(keep) if keep else none


def _newton(fns, x0, p, nonneg, rtol, atol, max_iter, origin=None):
    """Damped Newton on f(x) = 0; returns (converged, x, scaled residual, steps, message).

    With linear conservation laws c . f = 0 (the Jacobian singular everywhere), the step
    solves J dx = -f together with c . (x + dx) = c . x0, so the steady state keeps the
    conserved totals of ``origin`` (default ``x0``; the dynamics conserve them, and an
    unconstrained least-squares step reaches an equilibrium with other totals)."""
    n = x0.size
    x = np.array(x0, dtype=float)
    f = np.empty(n)
    J = np.empty((n, n))
    fns.rhs(x, p, f)
    res = _scaled_residual(f, x, rtol, atol)
    C = None
    for k in range(1, max_iter + 1):
        if not np.isfinite(f).all():
            return False, x, res, k, "non-finite right-hand side"
        fns.jac(x, p, J)
        if C is None:  # once, at the starting point
            C = _conservation_laws(fns, x, p, f, J)
            totals = C @ (x if origin is None else origin)
        if C.shape[0]:
            A = np.vstack([J, C])
            dx = np.linalg.lstsq(A, np.concatenate([-f, totals - C @ x]), rcond=None)[0]
        else:
            try:
                dx = np.linalg.solve(J, -f)
            except np.linalg.LinAlgError:
                dx = np.linalg.lstsq(J, -f, rcond=None)[0]
        norm0 = float(np.linalg.norm(f))
        lam = 1.0
        while True:  # backtracking on ||f||
            xn = x + lam * dx
            if nonneg.any():
                xn[nonneg] = np.maximum(xn[nonneg], 0.0)
            fn = np.empty(n)
            fns.rhs(xn, p, fn)
            if np.isfinite(fn).all() and (
                    np.linalg.norm(fn) <= (1 - 1e-4 * lam) * norm0
                    or _scaled_residual(fn, xn, rtol, atol) <= rtol):
                break
            lam *= 0.5
            if lam < 1e-8:
                return False, x, res, k, "line search failed (singular or no nearby root)"
        step = np.abs(xn - x)
        x, f = xn, fn
        res = _scaled_residual(f, x, rtol, atol)
        if res <= rtol and np.all(step <= 1e3 * (rtol * np.abs(x) + atol)):
            return True, x, res, k, ""
    return False, x, res, max_iter, f"no convergence in {max_iter} Newton steps"


def _integrate(model, params, y0, fns, rtol, atol, t_max):
    """Integrate forward on a geometric time grid, stopping per patient at the first time
    where the scaled right-hand side is below sqrt(rtol) (then Newton polishes)."""
    from nksim.engine import SolverOptions, simulate

    times = np.geomspace(1e-3, t_max, 60)
    res = simulate(model, times, parameters=params, initial=y0,
                   options=SolverOptions(rtol=1e-8, atol=1e-10, threads=1, progress=False))
    traj = np.stack([res.dataset[s].values for s in model.state_names], axis=-1)
    out = []
    f = np.empty(y0.shape[1])
    for i in range(y0.shape[0]):
        best = (traj[i, -1], times[-1])
        for j, t in enumerate(times):
            xj = traj[i, j]
            if not np.isfinite(xj).all():
                break
            fns.rhs(xj, params[i], f)
            if _scaled_residual(f, xj, rtol, atol) <= max(np.sqrt(rtol), 1e-6):
                best = (xj, t)
                break
        out.append(best)
    return out
