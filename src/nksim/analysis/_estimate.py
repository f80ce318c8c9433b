"""Multi-start estimation and profile likelihoods for :class:`PetabProblem` s.

The starts run side by side: each start's optimiser (scipy L-BFGS-B, bounded, on the
parameters' scales) runs in its own thread and asks for its objective and gradient; the
requests of all running optimisers are gathered and evaluated as one batched engine call
(every start x condition is one patient). Profile likelihoods re-optimise the other
parameters along a grid of each parameter (warm starts), with the chains of all parameters
and both directions batched the same way; the 95 % interval is where twice the rise of the
negative log-likelihood stays below the chi-square(1) quantile 3.84.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

FAILED = 1e20  # objective value given to the optimiser where the simulation failed


class _Batcher:
    """Gather objective requests from worker threads and evaluate them in one batch."""

    def __init__(self, fn, n_workers: int):
        self.fn = fn
        self.cv = threading.Condition()
        self.active = n_workers
        self.pending: dict[int, np.ndarray] = {}
        self.results: dict[int, tuple] = {}
        self.n_batches = 0
        self.n_evals = 0

    def __call__(self, wid: int, x: np.ndarray):
        with self.cv:
            self.pending[wid] = np.array(x, dtype=float)
            self.cv.notify_all()
            while wid not in self.results:
                self.cv.wait()
            return self.results.pop(wid)

    def done(self) -> None:
        with self.cv:
            self.active -= 1
            self.cv.notify_all()

    def run(self) -> None:
        while True:
            with self.cv:
                while self.active > 0 and len(self.pending) < self.active:
                    self.cv.wait()
                if self.active == 0 and not self.pending:
                    return
                batch, self.pending = self.pending, {}
            ids = list(batch)
            f, g = self.fn(np.stack([batch[i] for i in ids]))
            self.n_batches += 1
            self.n_evals += len(ids)
            with self.cv:
                for i, wid in enumerate(ids):
                    self.results[wid] = (f[i], g[i])
                self.cv.notify_all()


def _batched_objective(problem, options):
    def fn(X):
        nll, grad, _ = problem.objective(X, options=options)
        bad = ~np.isfinite(nll) | ~np.isfinite(grad).all(axis=1)
        nll = np.where(bad, FAILED, nll)
        grad = np.where(bad[:, None], 0.0, grad)
        return nll, grad
    return fn


def _run_workers(batcher: _Batcher, tasks):
    """Run ``tasks`` (callables taking the worker id) in threads, batching their requests."""
    results = [None] * len(tasks)

    def work(i):
        try:
            results[i] = tasks[i](i)
        except Exception as exc:  # noqa: BLE001 - reported per start, never a crash
            results[i] = exc
        finally:
            batcher.done()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(tasks))]
    for t in threads:
        t.start()
    batcher.run()
    for t in threads:
        t.join()
    return results


@dataclass
class FitResult:
    """What :func:`fit` returns (parameters on their PEtab scales unless said otherwise)."""

    parameter_ids: list[str]
    best: np.ndarray
    best_nll: float
    starts: pd.DataFrame             # one row per start: nll, iterations, status, x...
    profiles: dict = field(default_factory=dict)  # id -> DataFrame(value, nll)
    intervals: pd.DataFrame | None = None         # id -> lower, upper (scale and linear)
    seconds: float = 0.0
    n_batches: int = 0


#: A start counts as converged when the largest projected gradient component (on the
#: parameters' scales) is at most GTOL x max(1, |objective|); otherwise L-BFGS-B is restarted
#: from where it stopped.
GTOL = 1e-4
MAX_RESTARTS = 50


def _projected_gradient(x, g, lo, hi) -> float:
    """Largest component of the gradient that the bounds do not block."""
    g = np.where((x <= lo) & (g > 0) | (x >= hi) & (g < 0), 0.0, g)
    return float(np.abs(g).max()) if g.size else 0.0


def _lbfgsb(fun, x0, bounds, max_iter, lo, hi):
    """L-BFGS-B, restarted (fresh curvature memory) from where it stopped while the projected
    gradient is still above :data:`GTOL` (relative), up to ``max_iter`` iterations in all.

    L-BFGS-B also stops when one iteration lowers the objective by less than ~2e-9
    relative, which in a long curved valley happens far from a stationary point
    (Fiedler_BMCSystBiol2016: stopped at nll -56.17 with a projected gradient of 0.9; the
    restarted run reaches the published optimum -58.58)."""
    x, used, restarts, f_prev = np.asarray(x0, float), 0, 0, np.inf
    while True:
        r = optimize.minimize(fun, x, jac=True, method="L-BFGS-B", bounds=bounds,
                              options={"maxiter": max(1, max_iter - used)})
        used += int(r.nit)
        pg = _projected_gradient(r.x, np.asarray(r.jac, float), lo, hi) \
            if r.fun < FAILED else np.inf
        scale = max(1.0, abs(float(r.fun)))
        # stop: stationary, out of iterations, failed, or a restart that gained nothing
        # (a gradient with noise, e.g. from finite differences, may never pass the test)
        if pg <= GTOL * scale or used >= max_iter or r.fun >= FAILED or \
                f_prev - r.fun <= 1e-12 * scale or restarts >= MAX_RESTARTS:
            break
        x, restarts, f_prev = r.x, restarts + 1, float(r.fun)
    r.nit, r.projected_gradient, r.restarts = used, pg, restarts
    r.success = pg <= GTOL * max(1.0, abs(float(r.fun)))
    return r


def multistart(problem, starts: int = 100, *, seed: int = 0, max_iter: int = 2000,
               options=None, x0: np.ndarray | None = None) -> FitResult:
    """Minimise the negative log-posterior from ``starts`` points drawn uniformly within the
    bounds (on the parameters' scales; ``x0`` adds given points first), side by side.

    Each start runs L-BFGS-B until its projected gradient is below :data:`GTOL` (restarting
    it where it stops early) or ``max_iter`` iterations in all; ``starts`` in the result
    gives each start's objective, iterations, restarts, final projected gradient and status
    (``converged`` only when the gradient criterion is met)."""
    t0 = time.perf_counter()
    lo, hi = problem.lower, problem.upper
    rng = np.random.default_rng(seed)
    points = rng.uniform(lo, hi, size=(starts, lo.size))
    if x0 is not None:
        points = np.vstack([np.atleast_2d(x0), points])[:starts]
    batcher = _Batcher(_batched_objective(problem, options), len(points))
    bounds = list(zip(lo, hi, strict=True))

    def task(x_start):
        def run(wid):
            return _lbfgsb(lambda x: batcher(wid, x), x_start, bounds, max_iter, lo, hi)
        return run

    results = _run_workers(batcher, [task(p) for p in points])
    rows = []
    for i, r in enumerate(results):
        if isinstance(r, Exception):
            rows.append({"start": i, "nll": np.inf, "iterations": 0, "status": "failed",
                         "message": str(r)[:200], **dict.fromkeys(problem.estimated_ids,
                                                                  np.nan)})
            continue
        value = float(r.fun) if r.fun < FAILED else np.inf
        rows.append({"start": i, "nll": value, "iterations": int(r.nit),
                     "restarts": r.restarts, "projected_gradient": r.projected_gradient,
                     "status": "converged" if r.success else "stopped",
                     "message": str(r.message)[:200],
                     **dict(zip(problem.estimated_ids, r.x, strict=True))})
    table = pd.DataFrame(rows).sort_values("nll", kind="stable").reset_index(drop=True)
    best = table.iloc[0]
    return FitResult(problem.estimated_ids, best[problem.estimated_ids].to_numpy(float),
                     float(best["nll"]), table, seconds=time.perf_counter() - t0,
                     n_batches=batcher.n_batches)


def profiles(problem, result: FitResult, *, level: float = 0.95, steps: int = 30,
             options=None, which: list[str] | None = None) -> FitResult:
    """Profile likelihoods and their ``level`` confidence intervals around ``result.best``.

    Each profile walks from the optimum in both directions with a step of 1/``steps`` of
    the bounded range (scale of the parameter), re-optimising the others from the previous
    point, until the rise 2*(nll - nll*) exceeds the chi-square(1) quantile by 50 % or a
    bound is hit (the last step is shortened to end on the bound, which is evaluated).
    The interval ends are where the rise crosses the quantile, interpolated linearly in
    sqrt(2*(nll - nll*)) between grid points (exact for a quadratic profile, where that
    root is linear in the parameter; interpolating the rise itself puts the ends too close
    to the optimum on a coarse grid); an end not reached within the bounds is reported as
    the bound with ``*_open = True`` (a non-identifiable direction).
    """
    ids = problem.estimated_ids
    which = which or ids
    best, f0 = result.best.copy(), result.best_nll
    lo, hi = problem.lower, problem.upper
    q = stats.chi2.ppf(level, 1)
    batcher = _Batcher(_batched_objective(problem, options), 2 * len(which))
    chains = []

    def chain(m, direction):
        def run(wid):
            free = [i for i in range(best.size) if i != m]
            x = best.copy()
            pts = [(best[m], f0)]
            step = (hi[m] - lo[m]) / steps
            bound = lo[m] if direction < 0 else hi[m]
            while x[m] != bound:
                value = x[m] + direction * step
                # the last step is clamped to the bound, so the bound itself is evaluated
                # (a crossing between the last grid point and the bound is found there)
                if direction * (value - bound) >= -1e-12 * max(1.0, abs(bound)):
                    value = bound
                x[m] = value

                def fun(z, x=x):
                    full = x.copy()
                    full[free] = z
                    f, g = batcher(wid, full)
                    return f, g[free]
                if free:
                    r = optimize.minimize(fun, x[free], jac=True, method="L-BFGS-B",
                                          bounds=[(lo[i], hi[i]) for i in free],
                                          options={"maxiter": 200})
                    x[free], f = r.x, float(r.fun)
                else:
                    f = float(fun(np.array([]))[0])
                pts.append((x[m], f))
                if 2 * (f - f0) > 1.5 * q or f >= FAILED:
                    break
            return pts
        return run

    for m in [ids.index(w) for w in which]:
        chains += [(m, -1), (m, +1)]
    out = _run_workers(batcher, [chain(m, d) for m, d in chains])
    prof, rows = {}, []
    for (m, _d), pts in zip(chains, out, strict=True):
        if isinstance(pts, Exception):
            pts = [(best[m], f0)]
        frame = pd.DataFrame(pts, columns=["value", "nll"])
        prof.setdefault(ids[m], []).append(frame)
    sc = problem.scale[problem.estimated]
    for m_id, frames in prof.items():
        m = ids.index(m_id)
        frame = pd.concat(frames).drop_duplicates("value").sort_values("value")
        prof[m_id] = frame.reset_index(drop=True)
        ends, notes = {}, []
        for side, sub in (("lower", frame[frame["value"] <= best[m]].iloc[::-1]),
                          ("upper", frame[frame["value"] >= best[m]])):
            v, nll = sub["value"].to_numpy(), sub["nll"].to_numpy()
            failed = np.flatnonzero(~(nll < FAILED))  # a failed simulation is no crossing
            if failed.size:
                v, nll = v[:failed[0]], nll[:failed[0]]
            f = 2 * (nll - f0)
            cross = np.flatnonzero(f > q)
            if failed.size and not cross.size:
                notes.append(f"the simulation failed beyond {v[-1]:.6g} before the {side} "
                             "end was reached: open there")
            if cross.size:
                k = cross[0]
                v0, v1 = v[k - 1], v[k]
                r_a, r_b, r_q = np.sqrt(max(f[k - 1], 0.0)), np.sqrt(f[k]), np.sqrt(q)
                ends[side] = v0 + (r_q - r_a) * (v1 - v0) / (r_b - r_a) if r_b != r_a else v1
                ends[f"{side}_open"] = False
            else:
                ends[side] = v[-1] if failed.size else (lo[m] if side == "lower" else hi[m])
                ends[f"{side}_open"] = True
        lin = _to_lin(np.array([ends["lower"], ends["upper"], best[m]]), sc[m])
        rows.append({"parameter": m_id, "estimate": best[m], "lower": ends["lower"],
                     "upper": ends["upper"], "lower_open": ends["lower_open"],
                     "upper_open": ends["upper_open"], "estimate_linear": lin[2],
                     "lower_linear": lin[0], "upper_linear": lin[1],
                     "note": "; ".join(notes)})
    result.profiles = prof
    result.intervals = pd.DataFrame(rows).set_index("parameter")
    return result


def _to_lin(x, s):
    return np.exp(x) if s == 1 else (10.0 ** x if s == 2 else x)
