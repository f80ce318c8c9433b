"""The PEtab objective prepared once per problem, as an optimiser evaluates it.

Everything that does not depend on the parameter vector is built once (the first time a
problem is evaluated) and kept on the problem: the condition -> model-parameter mapping
as index arrays, the initial-value overrides, the SBML initial assignments and the
observable and noise formulas compiled to numpy functions, the measurements and their
scales as flat arrays, the distinct preequilibration conditions, and the matrices that
carry a gradient from model parameters, PEtab-only parameters and placeholders to the
estimated parameters. One evaluation at K parameter vectors is then: fill the (K x
conditions) parameter and initial-state arrays (vectorised), one batched engine call for
all of them (:func:`nksim.engine._simulate.integrate`, without building a dataset), and
the likelihood of every measurement at once.

:func:`nksim.analysis._objective.evaluate_direct` is the plain implementation the tests
compare this one with (the same value to rounding).
"""

from __future__ import annotations

import math

import numpy as np

from nksim.engine import _rodas5p
from nksim.errors import UserError

LOG2PI = math.log(2 * math.pi)
_LIN, _LOG, _LOG10 = 0, 1, 2


def default_options():
    from nksim.engine import SolverOptions

    return SolverOptions(rtol=1e-8, atol=1e-10, max_steps=200_000, progress=False)


def _param_function(model, exprs: list):
    """``f(P)`` -> the values of ``exprs`` (sympy, of model parameters) for every row of
    the parameter array ``P`` (model order): one function over the parameters the
    expressions use only, each expression computed as the direct path computes it (no
    common-subexpression rewriting, so the values are the same to the last bit)."""
    import sympy as sp

    from nksim.model._symbolic import symbolic

    syms = list(symbolic(model).parameters)
    free = set().union(*(e.free_symbols for e in exprs))
    used = [i for i, sym in enumerate(syms) if sym in free]
    f = sp.lambdify([syms[i] for i in used], list(exprs), modules="numpy")

    def values(P):
        with np.errstate(all="ignore"):
            return [np.broadcast_to(np.asarray(v, dtype=float), (P.shape[0],))
                    for v in f(*(P[:, i] for i in used))]
    return values


class _Inputs:
    """One set of condition inputs (main or preequilibration) as index arrays."""

    def __init__(self, prob, pmap, pconst, x0_over, x0_const):
        model = prob.model
        self.pconst = np.asarray(pconst, float)              # (nc, npar)
        self.sel = pmap >= 0                                 # (nc, npar)
        self.src = pmap[self.sel]                            # PEtab indices
        self.derived = [(j, _param_function(model, [e])) for j, e in prob._derived]
        x0_exprs = [(si, e) for si, e in enumerate(prob._x0) if e is not None]
        self.x0_idx = [si for si, _ in x0_exprs]
        self.x0_fn = _param_function(model, [e for _, e in x0_exprs]) if x0_exprs else None
        self.x0_base = model.initial_vector()
        oc, os_ = np.nonzero(x0_over >= 0)
        self.over = (oc, os_, x0_over[oc, os_])              # condition, state, model param
        cc, cs = np.nonzero(~np.isnan(x0_const))
        self.const = (cc, cs, x0_const[cc, cs])
        self.keep = (x0_over >= 0) | ~np.isnan(x0_const)     # species the condition sets

    def fill(self, full: np.ndarray):
        """Model parameters (K*nc, npar) and initial states (K*nc, n) for ``full``
        (K, PEtab parameters, linear scale); the same arithmetic as
        :func:`nksim.analysis._objective._condition_inputs`."""
        K = full.shape[0]
        nc, npar = self.pconst.shape
        params = np.repeat(self.pconst[None], K, axis=0)
        params[:, self.sel] = full[:, self.src]
        params = params.reshape(K * nc, npar)
        for j, f in self.derived:
            params[:, j] = f(params)[0]
        x0 = np.tile(self.x0_base, (K * nc, 1))
        if self.x0_fn is not None:
            for si, v in zip(self.x0_idx, self.x0_fn(params), strict=True):
                x0[:, si] = v
        x0 = x0.reshape(K, nc, -1)
        oc, os_, oj = self.over
        if oc.size:
            x0[:, oc, os_] = params.reshape(K, nc, npar)[:, oc, oj]
        cc, cs, cv = self.const
        if cc.size:
            x0[:, cc, cs] = cv
        return params, x0.reshape(K * nc, -1)


class _Group:
    """One observable's measurements, prepared: its formulas compiled over the variables
    they use only, and how each variable moves the estimated parameters."""

    def __init__(self, g, cols: slice, pos: dict, Pc, nest: int):
        import sympy as sp

        self.cond, self.tidx, self.cols = g["cond"], g["tidx"], cols
        self.nz_h, self.nz_s = g["nz_h"], g["nz_s"]
        self.only_idx, self.n_states, self.n_par = g["only_idx"], g["n_states"], g["n_par"]
        R = self.cond.size
        (vo, po), (vn, pn) = g["ph_o"], g["ph_n"]
        val, pix = np.hstack([vo, vn]), np.hstack([po, pn])
        z = g["z"]
        free = set().union(*(e.free_symbols for e in g["exprs"] if isinstance(e, sp.Basic)))
        self.used = [i for i, v in enumerate(z) if v in free]
        args = [z[i] for i in self.used]
        self.f = sp.lambdify(args, g["exprs"], modules="numpy")
        self.fdh = sp.lambdify(args, g["dh"], modules="numpy")
        self.fds = sp.lambdify(args, g["ds"], modules="numpy")
        off_o = self.n_states + self.n_par
        off_ph = off_o + self.only_idx.size
        off_t = off_ph + pix.shape[1]
        # how to build each used variable: (kind, index)
        self.kinds = []
        for i in self.used:
            if i < self.n_states:
                self.kinds.append(("x", i))
            elif i < off_o:
                self.kinds.append(("p", i - self.n_states))
            elif i < off_ph:
                self.kinds.append(("only", int(self.only_idx[i - off_o])))
            elif i < off_t:
                k = i - off_ph
                rows = np.flatnonzero(pix[:, k] >= 0)
                self.kinds.append(("ph", (val[:, k].copy(), rows, pix[rows, k])))
            else:
                self.kinds.append(("t", g["time"][None, :]))
        # d z / d theta_estimated (R, nest) for every non-state variable z the formulas use
        self.Z: dict[int, np.ndarray] = {}
        for i in self.used:
            if i < self.n_states or i >= off_t:
                continue
            Zi = np.zeros((R, nest))
            if i < off_o:                      # model parameter, per condition
                Zi[:] = Pc[self.cond, i - self.n_states, :]
            elif i < off_ph:                   # PEtab-only parameter
                m = pos.get(int(self.only_idx[i - off_o]))
                if m is not None:
                    Zi[:, m] = 1.0
            else:                              # placeholder
                k = i - off_ph
                for r in np.flatnonzero(pix[:, k] >= 0):
                    m = pos.get(int(pix[r, k]))
                    if m is not None:
                        Zi[r, m] = 1.0
            if Zi.any():
                self.Z[i] = Zi

    def arguments(self, X, Pm, full):
        """The used variables (each broadcastable to (K, R)) from the states ``X`` and model
        parameters ``Pm`` at every measurement (n or npar, K, M) and ``full`` (K, PEtab)."""
        sl = self.cols
        out = []
        for kind, v in self.kinds:
            if kind == "x":
                out.append(X[v][:, sl])
            elif kind == "p":
                out.append(Pm[v][:, sl])
            elif kind == "only":
                out.append(full[:, v][:, None])
            elif kind == "ph":
                values, rows, src = v
                a = np.repeat(values[None, :], full.shape[0], axis=0)
                if rows.size:
                    a[:, rows] = full[:, src]
                out.append(a)
            else:
                out.append(v)
        return out


class PreparedProblem:
    """What a :class:`~nksim.analysis.PetabProblem` evaluation needs, built once."""

    def __init__(self, prob):
        model = prob.model
        self.model = model
        self.times = np.asarray(prob.times, float)
        self.nc = len(prob.conditions)
        self.ns = len(model.states)
        self.main = _Inputs(prob, prob._pmap, prob._pconst, prob._x0_override,
                            prob._x0_const)
        # preequilibration: solved once per distinct preequilibration condition
        self.pre, self.pre_fns = None, None
        self.uses_time = model.uses_time
        if getattr(prob, "_pre", None) is not None:
            has = np.flatnonzero(prob._has_pre)
            pm, pc, xo, xc = prob._pre
            key = np.hstack([pm[has], pc[has], xo[has], xc[has]])
            nan = np.isnan(key)  # np.unique does not take NaN as equal to NaN
            key = np.hstack([np.where(nan, 0.0, key), nan])
            uniq, first, back = np.unique(key, axis=0, return_index=True,
                                          return_inverse=True)
            del uniq
            rows = has[first]
            self.pre = _Inputs(prob, pm[rows], pc[rows], xo[rows], xc[rows])
            self.pre_has = has                     # conditions with a preequilibration
            self.pre_of = np.asarray(back).ravel()  # their distinct preequilibration
            self.pre_n = rows.size
        est_idx = np.flatnonzero(prob.estimated)
        self.est_idx = est_idx
        self.est_scale = prob.scale[est_idx]
        pos = {int(i): m for m, i in enumerate(est_idx)}
        nest = est_idx.size
        pnames = list(model.parameter_names)
        self.sens = list(prob.sens_params or [])
        Pc = np.zeros((self.nc, len(pnames), nest))
        Mc = np.zeros((self.nc, len(self.sens), nest))
        for c in range(self.nc):
            for j, name in enumerate(pnames):
                i = int(prob._pmap[c, j])
                if i >= 0 and i in pos:
                    Pc[c, j, pos[i]] = 1.0
                    if name in self.sens:
                        Mc[c, self.sens.index(name), pos[i]] = 1.0
        self.Mc = Mc
        # measurements, group after group, as flat arrays
        self.groups, y, trans, laplace = [], [], [], []
        a = 0
        for g in prob._rows.values():
            R = g["cond"].size
            grp = _Group(g, slice(a, a + R), pos, Pc, nest)
            grp.McR = Mc[g["cond"]].reshape(R * len(self.sens), nest) if self.sens else None
            self.groups.append(grp)
            y.append(g["y"])
            trans.append(np.full(R, {"lin": _LIN, "log": _LOG, "log10": _LOG10}[g["trans"]]))
            laplace.append(np.full(R, g["dist"] == "laplace"))
            a += R
        self.m = a
        self.cond_all = np.concatenate([g.cond for g in self.groups]) if self.groups \
            else np.zeros(0, int)
        self.tidx_all = np.concatenate([g.tidx for g in self.groups]) if self.groups \
            else np.zeros(0, int)
        self.uses_params = any(k == "p" for g in self.groups for k, _ in g.kinds)
        y = np.concatenate(y) if y else np.zeros(0)
        self.trans = np.concatenate(trans) if trans else np.zeros(0, int)
        self.laplace = np.concatenate(laplace) if laplace else np.zeros(0, bool)
        self.is_log = self.trans == _LOG
        self.is_log10 = self.trans == _LOG10
        self.any_laplace = bool(self.laplace.any())
        with np.errstate(divide="ignore", invalid="ignore"):
            self.yy = np.where(self.is_log, np.log(y), np.where(self.is_log10, np.log10(y), y))
            self.jac_term = np.where(self.is_log, np.log(y),
                                     np.where(self.is_log10, np.log(y * math.log(10)), 0.0))
        self.sens_s0 = None  # built on the first gradient by sensitivities
        self._runners: dict = {}  # (model, options) -> _Runner

    # ---------------------------------------------------------------- inputs
    def inputs(self, full: np.ndarray):
        """Model parameters and initial states of every (vector, condition) pair; a
        preequilibrated condition starts from the steady state of its preequilibration,
        computed once per (vector, distinct preequilibration condition)."""
        params, x0 = self.main.fill(full)
        if self.pre is None:
            return params, x0
        from nksim.analysis._steady_state import prepare_functions, solve_arrays

        K, nc = full.shape[0], self.nc
        p_pre, x_pre = self.pre.fill(full)
        if self.pre_fns is None:  # as steady_state(..., rtol=1e-10, atol=1e-12, at=0)
            self.pre_fns = prepare_functions(self.model, 0.0)
        x = solve_arrays(self.model, self.pre_fns, np.require(p_pre, float, ["C", "W"]),
                         np.require(x_pre, float, ["C", "W"]), rtol=1e-10, atol=1e-12,
                         integrate=not self.uses_time)[0]
        start = x.reshape(K, self.pre_n, -1)[:, self.pre_of]  # K, H, n
        x0 = x0.reshape(K, nc, -1)
        sub = x0[:, self.pre_has]
        keep = self.main.keep[self.pre_has][None]
        x0[:, self.pre_has] = np.where(keep, sub, start)
        return params, x0.reshape(K * nc, -1)

    def _initial_sensitivities(self, prob, params):
        """dx(0)/dp (P, n, |sens|) for the sensitivity parameters: derivatives of the SBML
        initial assignments (compiled once), 1 where a condition sets a species to a
        sensitivity parameter, 0 where it sets it otherwise (as the direct path)."""
        if self.sens_s0 is None:
            import sympy as sp

            from nksim.model._symbolic import symbolic

            model = self.model
            sm = symbolic(model)
            pnames = list(model.parameter_names)
            where, dexprs = [], []
            for si, expr in enumerate(prob._x0):
                if expr is None:
                    continue
                for j, name in enumerate(self.sens):
                    dexpr = sp.diff(expr, sm.parameters[pnames.index(name)])
                    if dexpr != 0:
                        where.append((si, j))
                        dexprs.append(dexpr)
            fns = (where, _param_function(model, dexprs) if dexprs else None)
            over, const = prob._x0_override, prob._x0_const
            zero = (over >= 0) | ~np.isnan(const)                 # (nc, n)
            ones = [(c, si, self.sens.index(pnames[over[c, si]]))
                    for c, si in zip(*np.nonzero((over >= 0) & np.isnan(const)), strict=True)
                    if pnames[over[c, si]] in self.sens]
            one = tuple(np.array(v, dtype=int) for v in zip(*ones, strict=True)) \
                if ones else None
            self.sens_s0 = (fns, zero, one)
        fns, zero, one = self.sens_s0
        P, n, d = params.shape[0], self.ns, len(self.sens)
        s0 = np.zeros((P, n, d))
        where, f = fns
        if f is not None:
            for (si, j), v in zip(where, f(params), strict=True):
                s0[:, si, j] = v
        s0 = s0.reshape(P // self.nc, self.nc, n, d)
        s0[:, zero] = 0.0
        if one is not None:
            s0[:, one[0], one[1], one[2]] = 1.0
        return s0.reshape(P, n, d)

    # ---------------------------------------------------------------- solve
    def solve(self, prob, params, x0, options, sensitivities: bool):
        """States (n, P, T), sensitivities (n, |sens|, P, T) or None, and success (P,)."""
        n = self.ns
        if not sensitivities or not self.sens:
            model, y0 = self.model, x0
        else:
            from nksim.analysis._sensitivity import sensitivity_model, sensitivity_options

            model = sensitivity_model(self.model, self.sens)
            options = sensitivity_options(self.model, self.sens, options)  # as the direct path
            s0 = self._initial_sensitivities(prob, params)
            y0 = np.hstack([x0, s0.reshape(x0.shape[0], -1)])
        key = (id(model), repr(options))
        runner = self._runners.get(key)
        if runner is None or runner.model is not model:
            runner = self._runners[key] = _Runner(model, self.times, options)
        out, ok = runner(params, y0)
        if not sensitivities or not self.sens:
            return out[:n], None, ok
        d = len(self.sens)
        return out[:n], out[n:n + n * d].reshape(n, d, *out.shape[1:]), ok

    # ---------------------------------------------------------------- objective
    def evaluate(self, prob, thetas, *, gradient, options, priors):
        K = thetas.shape[0]
        nest = self.est_idx.size
        full = prob.full_linear(thetas)
        params, x0 = self.inputs(full)
        out, S, ok = self.solve(prob, params, x0, options or default_options(), gradient)
        failed = ~ok.reshape(K, self.nc).all(axis=1)
        H = np.empty((K, self.m))
        SIG = np.empty((K, self.m))
        pid = (np.arange(K) * self.nc)[:, None] + self.cond_all[None, :]   # K, M
        X = out[:, pid, self.tidx_all]                                     # n, K, M
        Pm = params.T[:, pid] if self.uses_params else None                # npar, K, M
        args = []
        with np.errstate(all="ignore"):
            for g in self.groups:
                z = g.arguments(X, Pm, full)
                h, sigma = g.f(*z)
                H[:, g.cols] = h
                SIG[:, g.cols] = sigma
                args.append(z)
        with np.errstate(all="ignore"):
            hy = H.copy()
            dtr = np.ones_like(H)
            if self.is_log.any():
                hy[:, self.is_log] = np.log(H[:, self.is_log])
                dtr[:, self.is_log] = 1.0 / H[:, self.is_log]
            if self.is_log10.any():
                hy[:, self.is_log10] = np.log10(H[:, self.is_log10])
                dtr[:, self.is_log10] = 1.0 / (H[:, self.is_log10] * math.log(10))
            r = (self.yy - hy) / SIG
            r2 = r * r
            terms = 0.5 * LOG2PI + np.log(SIG) + 0.5 * r2 + self.jac_term
            if self.any_laplace:
                lap = self.laplace
                terms[:, lap] = (np.log(2 * SIG[:, lap]) + np.abs(r[:, lap])
                                 + self.jac_term[lap])
            nll, chi2 = np.zeros(K), np.zeros(K)
            for g in self.groups:  # summed observable by observable, as the direct path
                nll += terms[:, g.cols].sum(axis=1)
                chi2 += r2[:, g.cols].sum(axis=1)
            grad = None
            if gradient:
                dn_dh = -r / SIG * dtr
                dn_ds = 1.0 / SIG - r2 / SIG
                if self.any_laplace:
                    dn_dh[:, lap] = -np.sign(r[:, lap]) / SIG[:, lap] * dtr[:, lap]
                    dn_ds[:, lap] = 1.0 / SIG[:, lap] - np.abs(r[:, lap]) / SIG[:, lap]
                grad = self._gradient(K, nest, dn_dh, dn_ds, args, S, pid)
                lin = full[:, self.est_idx]
                sc = self.est_scale
                grad *= np.where(sc == 1, lin, np.where(sc == 2, lin * math.log(10), 1.0))
        from nksim.analysis._objective import finish

        return finish(prob, thetas, nll, grad, chi2, failed, gradient=gradient, priors=priors)

    def _gradient(self, K, nest, dn_dh, dn_ds, args, S, pid):
        grad = np.zeros((K, nest))
        d = len(self.sens)
        for g, z in zip(self.groups, args, strict=True):
            wh, ws = dn_dh[:, g.cols], dn_ds[:, g.cols]
            R = wh.shape[1]
            w: dict[int, np.ndarray] = {}
            for i, v in zip(g.nz_h, g.fdh(*z), strict=True):
                w[i] = w.get(i, 0) + wh * np.broadcast_to(v, (K, R))
            for i, v in zip(g.nz_s, g.fds(*z), strict=True):
                w[i] = w.get(i, 0) + ws * np.broadcast_to(v, (K, R))
            G = None  # sum over states of w_i * dx_i/dp_sens: (|sens|, K, R)
            for i, wi in w.items():
                if i < g.n_states:
                    if S is None or d == 0:
                        continue
                    term = wi[None] * S[i][:, pid[:, g.cols], g.tidx]
                    G = term if G is None else G + term
                elif i in g.Z:
                    grad += wi @ g.Z[i]
            if G is not None:
                grad += G.transpose(1, 2, 0).reshape(K, R * d) @ g.McR
        return grad


class _Runner:
    """One model's batched solve, set up once: the engine's :func:`solve_batch` (as
    :func:`nksim.engine._simulate.integrate` calls it) for runs without doses, with what does
    not change between calls (the autonomous form, the compiled functions, atol and threshold
    vectors) built once and no dataset. Models with SBML events go through ``integrate``
    itself (event by event)."""

    def __init__(self, model, times, options):
        from nksim.engine._simulate import _atol_vector
        from nksim.model import compile_model
        from nksim.model._declaration import autonomous

        self.model, self.times, self.options = model, np.asarray(times, float), options
        self.events = bool(model.events)
        if self.events:
            return
        run = autonomous(model)
        self.fns = compile_model(run)
        self.n_user, self.n = len(model.states), len(run.states)
        self.threshold = np.array([s.extinction or 0.0 for s in run.states])
        self.nonneg = np.array([s.nonnegative for s in run.states])
        self.atol = np.append(_atol_vector(model, options.atol),
                              [1e-6] * (self.n - self.n_user))

    def __call__(self, params, y0):
        """``(out (states, P, T), ok (P,))`` for parameter rows ``params`` and initial
        states ``y0`` (the model's own states)."""
        if self.events:
            from nksim.engine._simulate import integrate

            raw = integrate(self.model, self.times, parameters=params, initial=y0,
                            options=self.options)
            return raw.out, raw.stats[:, 0] == _rodas5p.OK
        from nksim.engine._simulate import no_events, solve_batch

        params = np.require(params, float, ["C", "W"])
        P, n, T = params.shape[0], self.n, self.times.size
        y0 = np.require(y0 if n == self.n_user else np.hstack([y0, np.zeros((P, 1))]),
                        float, ["C", "W"])
        out = np.full((n, P, T), np.nan)
        ext = np.empty((P, n))
        stats = np.full((P, 4), float(_rodas5p.NON_FINITE))
        good = np.isfinite(params).all(axis=1) & np.isfinite(y0).all(axis=1)
        solve_batch(self.fns, self.times, 0.0, y0, params, np.flatnonzero(good), no_events(P),
                    self.threshold, self.nonneg, self.atol, self.options, out, ext, stats)
        return out[:self.n_user], stats[:, 0] == _rodas5p.OK


def prepared(prob) -> PreparedProblem:
    """The problem's prepared evaluation (built on first use, kept on the problem)."""
    prep = getattr(prob, "_prepared", None)
    if prep is None:
        if prob._rows is None:
            raise UserError("the problem has not been read with read_petab", field="problem")
        prep = PreparedProblem(prob)
        prob._prepared = prep
    return prep
