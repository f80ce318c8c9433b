"""The PEtab objective: negative log-likelihood and its gradient, many parameter vectors at
once (see :class:`nksim.analysis.PetabProblem`)."""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from nksim.errors import UserError

LOG2PI = math.log(2 * math.pi)
# Above this many augmented states the gradient is taken by batched central differences:
# numba compiles large augmented models slowly (minutes for ~60 states on 2 cores).
MAX_SENSITIVITY_STATES = 40


def prepare_rows(prob) -> dict:
    """Per observable: its rows, placeholders and compiled (numpy) formulas."""
    from nksim.model._declaration import safe_identifier
    from nksim.model._symbolic import TIME_SYMBOL, symbolic

    model = prob.model
    sm = symbolic(model)
    ids = prob.parameter_ids
    idx = {p: i for i, p in enumerate(ids)}
    pnames = [safe_identifier(n) for n in model.parameter_names]
    only = [p for p in ids if safe_identifier(p) not in set(pnames)]
    only_syms = [sp.Symbol(p, real=True) for p in only]
    meas = prob.measurements
    groups = {}
    for oid, o in prob._obs.items():
        rows = np.flatnonzero(meas["observableId"].astype(str).to_numpy() == oid)
        if rows.size == 0:
            continue
        z = [*sm.states, *sm.parameters, *only_syms, *o["ph_o"], *o["ph_n"], TIME_SYMBOL]
        exprs = [o["h"], o["sigma"]]
        dh = [sp.diff(o["h"], v) for v in z]
        ds = [sp.diff(o["sigma"], v) for v in z]
        nz_h = [i for i, d in enumerate(dh) if d != 0]
        nz_s = [i for i, d in enumerate(ds) if d != 0]
        f = sp.lambdify(z, exprs, modules="numpy")
        fdh = sp.lambdify(z, [dh[i] for i in nz_h], modules="numpy")
        fds = sp.lambdify(z, [ds[i] for i in nz_s], modules="numpy")

        def placeholders(col, n, rows=rows, oid=oid):
            val = np.zeros((rows.size, n))
            pix = np.full((rows.size, n), -1, dtype=int)
            if n == 0:
                return val, pix
            for r, text in enumerate(meas[col].iloc[rows] if col in meas else [""] * rows.size):
                parts = [] if text is None or (isinstance(text, float) and math.isnan(text)) \
                    else str(text).split(";")
                if len(parts) != n:
                    raise UserError(f"observable {oid} needs {n} values (got {text!r})",
                                    field=f"measurements.{col}")
                for i, part in enumerate(parts):
                    part = part.strip()
                    if part in idx:
                        pix[r, i] = idx[part]
                    else:
                        try:
                            val[r, i] = float(part)
                        except ValueError:
                            raise UserError(f"{part!r} is neither a number nor a parameter",
                                            field=f"measurements.{col}") from None
            return val, pix

        ph_o = placeholders("observableParameters", len(o["ph_o"]))
        ph_n = placeholders("noiseParameters", len(o["ph_n"]))
        groups[oid] = dict(
            rows=rows, cond=meas["_cond"].to_numpy()[rows], tidx=meas["_time"].to_numpy()[rows],
            y=meas["measurement"].astype(float).to_numpy()[rows],
            time=meas["time"].astype(float).to_numpy()[rows],
            f=f, fdh=fdh, fds=fds, nz_h=nz_h, nz_s=nz_s, ph_o=ph_o, ph_n=ph_n,
            z=z, exprs=exprs, dh=[dh[i] for i in nz_h], ds=[ds[i] for i in nz_s],
            n_states=len(sm.states), n_par=len(sm.parameters), n_only=len(only),
            only_idx=np.array([idx[p] for p in only], dtype=int),
            trans=o["trans"], dist=o["dist"],
        )
        if o["trans"] in ("log", "log10") and (groups[oid]["y"] <= 0).any():
            raise UserError(f"observable {oid} is on {o['trans']} scale but has measurements "
                            "<= 0", field="measurements.measurement")
    return groups


def _inputs(prob, full):
    """Model parameters and initial states of every (parameter vector, condition) pair;
    preequilibrated conditions start from the steady state of their preequilibration."""
    params, x0 = _condition_inputs(prob, full, prob._pmap, prob._pconst, prob._x0_override,
                                   prob._x0_const)
    if getattr(prob, "_pre", None) is not None:
        from nksim.analysis._steady_state import steady_state

        K, nc = full.shape[0], len(prob.conditions)
        has = np.tile(prob._has_pre, K)
        p_pre, x_pre = _condition_inputs(prob, full, *prob._pre)
        ss = steady_state(prob.model, parameters=p_pre[has], guess=x_pre[has],
                          rtol=1e-10, atol=1e-12,
                          at=0.0 if prob.model.uses_time else None)
        start = ss.states.to_numpy()
        over = np.tile(prob._x0_override, (K, 1))[has]
        const = np.tile(prob._x0_const, (K, 1))[has]
        keep = (over >= 0) | ~np.isnan(const)  # the main condition sets these species
        x0[has] = np.where(keep, x0[has], start)
        del nc
    return params, x0


def _condition_inputs(prob, full, pmap, pconst, x0_over, x0_const):
    model = prob.model
    K, nc = full.shape[0], pmap.shape[0]
    params = np.repeat(pconst[None], K, axis=0)  # K, nc, npar
    sel = pmap >= 0
    params[:, sel] = full[:, pmap[sel]]
    params = params.reshape(K * nc, -1)
    for j, expr in getattr(prob, "_derived", []):  # SBML initial assignments of parameters
        params[:, j] = _lambdify_params(model, expr)(params)
    x0 = np.tile(model.initial_vector(), (K * nc, 1))
    for si, expr in enumerate(prob._x0):
        if expr is not None:
            x0[:, si] = _lambdify_params(model, expr)(params)
    over = np.repeat(x0_over[None], K, axis=0).reshape(K * nc, -1)
    const = np.repeat(x0_const[None], K, axis=0).reshape(K * nc, -1)
    for si in range(x0.shape[1]):
        has = over[:, si] >= 0
        x0[has, si] = params[has, over[has, si]]
        c = ~np.isnan(const[:, si])
        x0[c, si] = const[c, si]
    return params, x0


_LAMBDA_CACHE: dict = {}


def _lambdify_params(model, expr):
    from nksim.model._symbolic import symbolic

    key = (model.structure_key(), sp.srepr(expr))
    if key not in _LAMBDA_CACHE:
        sm = symbolic(model)
        f = sp.lambdify(list(sm.parameters), expr, modules="numpy")
        _LAMBDA_CACHE[key] = lambda P: np.broadcast_to(
            np.asarray(f(*P.T), dtype=float), (P.shape[0],))
    return _LAMBDA_CACHE[key]


def _initial_sensitivities(prob, params, sens):
    from nksim.model._symbolic import symbolic

    model = prob.model
    sm = symbolic(model)
    n, d = len(model.states), len(sens)
    s0 = np.zeros((params.shape[0], n, d))
    K = params.shape[0] // len(prob.conditions)
    over = np.repeat(prob._x0_override[None], K, axis=0).reshape(params.shape[0], -1)
    const = np.repeat(prob._x0_const[None], K, axis=0).reshape(params.shape[0], -1)
    pnames = list(model.parameter_names)
    for si, expr in enumerate(prob._x0):
        if expr is None:
            continue
        for j, name in enumerate(sens):
            dexpr = sp.diff(expr, sm.parameters[pnames.index(name)])
            if dexpr != 0:
                s0[:, si, j] = _lambdify_params(model, dexpr)(params)
    for si in range(n):
        has = over[:, si] >= 0
        s0[has, si, :] = 0.0
        for j, name in enumerate(sens):
            s0[has & (over[:, si] == pnames.index(name)), si, j] = 1.0
        s0[~np.isnan(const[:, si]), si, :] = 0.0
    return s0


def simulate_problem(prob, full, *, sensitivities=False, options=None):
    """Trajectories (K*nc, T, n) and, if asked, sensitivities (K*nc, T, n, |sens|)."""
    from nksim.analysis._sensitivity import local_sensitivities
    from nksim.engine import SolverOptions, simulate

    options = options or SolverOptions(rtol=1e-8, atol=1e-10, max_steps=200_000,
                                       progress=False)
    params, x0 = _inputs(prob, full)
    model = prob.model
    if sensitivities:
        sens = prob.sens_params
        s0 = _initial_sensitivities(prob, params, sens)
        res, S = local_sensitivities(model, prob.times, parameters=sens, values=params,
                                     initial=x0, initial_sensitivities=s0, options=options)
    else:
        res, S = simulate(model, prob.times, parameters=params, initial=x0, options=options), None
    traj = np.stack([res.dataset[s].values for s in model.state_names], axis=-1)
    ok = (res.patients["status"] != "failed").to_numpy()
    return params, traj, S, ok


def evaluate(prob, thetas, *, gradient=True, options=None, priors=True):
    """See :meth:`PetabProblem.objective`: the prepared evaluation
    (:mod:`nksim.analysis._prepared`, built once per problem)."""
    from nksim.analysis._prepared import prepared

    _check_size(prob, thetas)
    if gradient and gradient_method(prob) == "differences":
        return _finite_difference(prob, thetas, options, priors, evaluate)
    return prepared(prob).evaluate(prob, thetas, gradient=gradient, options=options,
                                   priors=priors)


def _check_size(prob, thetas) -> None:
    nest = thetas.shape[1]
    if nest != prob.n_estimated:
        raise UserError(f"expected {prob.n_estimated} parameters, got {nest}", field="theta")


def evaluate_direct(prob, thetas, *, gradient=True, options=None, priors=True):
    """The objective computed directly from the problem's tables each call (condition
    mapping, formulas and solve through :func:`nksim.engine.simulate`): the plain
    reference the prepared :func:`evaluate` is tested against."""
    K, nest = thetas.shape
    _check_size(prob, thetas)
    use_fd = gradient and gradient_method(prob) == "differences"

    if use_fd:
        return _finite_difference(prob, thetas, options, priors, evaluate_direct)
    full = prob.full_linear(thetas)
    params, traj, S, ok = simulate_problem(prob, full, sensitivities=gradient, options=options)
    nc = len(prob.conditions)
    est_idx = np.flatnonzero(prob.estimated)
    pos = {int(i): m for m, i in enumerate(est_idx)}  # PEtab index -> estimated position
    nll = np.zeros(K)
    chi2 = np.zeros(K)
    grad = np.zeros((K, nest)) if gradient else None
    # condition -> (sens param j -> estimated m) and (model param j -> estimated m)
    pnames = list(prob.model.parameter_names)
    sens = prob.sens_params or []
    Mc = np.zeros((nc, len(sens), nest))
    Pc = np.zeros((nc, len(pnames), nest))
    for c in range(nc):
        for j, name in enumerate(pnames):
            i = prob._pmap[c, j]
            if i >= 0 and int(i) in pos:
                Pc[c, j, pos[int(i)]] = 1.0
                if name in sens:
                    Mc[c, sens.index(name), pos[int(i)]] = 1.0
    failed = ~ok.reshape(K, nc).all(axis=1)
    for g in prob._rows.values():
        pid = np.arange(K)[:, None] * nc + g["cond"][None, :]  # K, R
        x = traj[pid, g["tidx"][None, :]]                     # K, R, n
        p = params[pid]                                        # K, R, npar
        only = full[:, g["only_idx"]][:, None, :] if g["n_only"] else np.zeros((K, 1, 0))
        only = np.broadcast_to(only, (*pid.shape, g["n_only"]))

        def ph(pair, pid=pid):
            val, pix = pair
            v = np.broadcast_to(val, (*pid.shape, val.shape[1])).copy()
            for i in range(val.shape[1]):
                m = pix[:, i] >= 0
                v[:, m, i] = full[:, pix[m, i]]
            return v

        pho, phn = ph(g["ph_o"]), ph(g["ph_n"])
        t = np.broadcast_to(g["time"], pid.shape)
        z = [*np.moveaxis(x, -1, 0), *np.moveaxis(p, -1, 0), *np.moveaxis(only, -1, 0),
             *np.moveaxis(pho, -1, 0), *np.moveaxis(phn, -1, 0), t]
        h, sigma = (np.broadcast_to(np.asarray(v, float), pid.shape) for v in g["f"](*z))
        y = g["y"][None, :]
        if g["trans"] == "log":
            hy, yy, dtr = np.log(h), np.log(y), 1.0 / h
            jac_term = np.log(y)
        elif g["trans"] == "log10":
            hy, yy, dtr = np.log10(h), np.log10(y), 1.0 / (h * math.log(10))
            jac_term = np.log(y * math.log(10))
        else:
            hy, yy, dtr, jac_term = h, y, 1.0, 0.0
        r = (yy - hy) / sigma
        with np.errstate(invalid="ignore"):
            if g["dist"] == "laplace":
                terms = np.log(2 * sigma) + np.abs(r) + jac_term
                dn_dh = -np.sign(r) / sigma * dtr
                dn_ds = 1.0 / sigma - np.abs(r) / sigma
            else:
                terms = 0.5 * LOG2PI + np.log(sigma) + 0.5 * r**2 + jac_term
                dn_dh = -r / sigma * dtr
                dn_ds = 1.0 / sigma - r**2 / sigma
        nll += terms.sum(axis=1)
        chi2 += (r**2).sum(axis=1)
        if not gradient:
            continue
        dz_h = [np.broadcast_to(np.asarray(v, float), pid.shape) for v in g["fdh"](*z)]
        dz_s = [np.broadcast_to(np.asarray(v, float), pid.shape) for v in g["fds"](*z)]
        # d nll / d z for every variable z (sum of the h and sigma paths)
        nzs = g["n_states"]
        dn_dz: dict[int, np.ndarray] = {}
        for i, d in zip(g["nz_h"], dz_h, strict=True):
            dn_dz[i] = dn_dz.get(i, 0) + dn_dh * d
        for i, d in zip(g["nz_s"], dz_s, strict=True):
            dn_dz[i] = dn_dz.get(i, 0) + dn_ds * d
        off_p = nzs
        off_o = off_p + g["n_par"]
        off_ph = off_o + g["n_only"]
        n_pho = g["ph_o"][0].shape[1]
        conds = g["cond"]
        for i, w in dn_dz.items():
            if i < nzs:  # state: through the sensitivities
                if S is None or not sens:
                    continue
                Si = S[pid, g["tidx"][None, :], i, :]           # K, R, |sens|
                dx = np.einsum("krj,rjm->krm", Si, Mc[conds])   # K, R, nest
                grad += np.einsum("kr,krm->km", w, dx)
            elif i < off_o:  # model parameter (per condition)
                grad += np.einsum("kr,rm->km", w, Pc[conds, i - off_p, :])
            elif i < off_ph:  # PEtab-only parameter
                m = pos.get(int(g["only_idx"][i - off_o]))
                if m is not None:
                    grad[:, m] += w.sum(axis=1)
            elif i < off_ph + n_pho + g["ph_n"][0].shape[1]:  # placeholder
                k = i - off_ph
                pix = g["ph_o"][1][:, k] if k < n_pho else g["ph_n"][1][:, k - n_pho]
                for r_i in np.flatnonzero(pix >= 0):
                    m = pos.get(int(pix[r_i]))
                    if m is not None:
                        grad[:, m] += w[:, r_i]
    if gradient:  # chain rule to the parameters' scales
        lin = full[:, est_idx]
        sc = prob.scale[est_idx]
        grad *= np.where(sc == 1, lin, np.where(sc == 2, lin * math.log(10), 1.0))
    return finish(prob, thetas, nll, grad, chi2, failed, gradient=gradient, priors=priors)


def finish(prob, thetas, nll, grad, chi2, failed, *, gradient: bool, priors: bool):
    """Add the priors, then mark failed or non-finite vectors: objective and chi2 ``inf``,
    gradient NaN (shared by the direct and the prepared objective)."""
    if priors and prob.priors:
        pn, pg = _priors(prob, thetas)
        nll += pn
        if gradient:
            grad += pg
    bad = failed | ~np.isfinite(nll)
    nll[bad] = np.inf
    chi2[bad] = np.inf
    if gradient:
        grad[bad] = np.nan
    return nll, grad, chi2


def gradient_method(prob) -> str:
    """``"sensitivities"`` (forward sensitivity equations) or ``"differences"`` (batched
    central differences: models with events, or augmented models too large to compile
    quickly); ``prob.gradient`` overrides the automatic choice."""
    forced = getattr(prob, "gradient", None)
    if forced:
        return forced
    if prob.model.events:
        return "differences"
    size = len(prob.model.states) * (1 + len(prob.sens_params or []))
    return "sensitivities" if size <= MAX_SENSITIVITY_STATES else "differences"


def _finite_difference(prob, thetas, options, priors, fn, h=1e-5):
    """Objective and a central-difference gradient, every perturbation in one batch. The
    differences are of the likelihood alone; the priors and their analytic gradient are
    added at the point itself (a step across a bound of a uniform prior would otherwise give
    an infinite difference at the bound)."""
    K, n = thetas.shape
    steps = h * np.maximum(1.0, np.abs(thetas))
    batch = [thetas]
    for m in range(n):
        e = np.zeros(n)
        e[m] = 1.0
        batch += [thetas + steps[:, m:m + 1] * e, thetas - steps[:, m:m + 1] * e]
    allx = np.concatenate(batch)
    from nksim.engine import SolverOptions

    options = options or SolverOptions(rtol=1e-10, atol=1e-12, max_steps=200_000,
                                       progress=False)
    nll, _, chi2 = fn(prob, allx, gradient=False, options=options, priors=False)
    f0 = nll[:K].copy()
    grad = np.empty((K, n))
    for m in range(n):
        up = nll[K * (1 + 2 * m):K * (2 + 2 * m)]
        dn = nll[K * (2 + 2 * m):K * (3 + 2 * m)]
        grad[:, m] = (up - dn) / (2 * steps[:, m])
    return finish(prob, thetas, f0, grad, chi2[:K].copy(), ~np.isfinite(f0), gradient=True,
                  priors=priors)


def _priors(prob, thetas):
    """Negative log-prior density and its gradient (on the parameters' scales)."""
    K = thetas.shape[0]
    val = np.zeros(K)
    grad = np.zeros_like(thetas)
    sc = prob.scale[prob.estimated]
    for m, kind, pars in prob.priors:
        x = thetas[:, m]
        lin = to_lin = np.where(sc[m] == 1, np.exp(x), np.where(sc[m] == 2, 10.0**x, x))
        dlin = np.where(sc[m] == 1, lin, np.where(sc[m] == 2, lin * math.log(10), 1.0))
        if kind.startswith("parameterScale"):
            v, dv = x, np.ones(K)
            kind = kind[len("parameterScale"):]
        else:
            v, dv = to_lin, dlin
        kind = kind.lower()  # PEtab spells them logNormal, logLaplace, parameterScaleNormal
        a, b = pars[0], pars[1]
        if kind == "normal":
            val += 0.5 * LOG2PI + math.log(b) + 0.5 * ((v - a) / b) ** 2
            grad[:, m] += (v - a) / b**2 * dv
        elif kind == "laplace":
            val += math.log(2 * b) + np.abs(v - a) / b
            grad[:, m] += np.sign(v - a) / b * dv
        elif kind == "uniform":
            val += np.where((v >= a) & (v <= b), math.log(b - a), np.inf)
        elif kind in ("lognormal", "loglaplace"):
            lv = np.log(v)
            if kind == "lognormal":
                val += 0.5 * LOG2PI + math.log(b) + lv + 0.5 * ((lv - a) / b) ** 2
                grad[:, m] += (1 / v + (lv - a) / (b**2 * v)) * dv
            else:
                val += math.log(2 * b) + lv + np.abs(lv - a) / b
                grad[:, m] += (1 / v + np.sign(lv - a) / (b * v)) * dv
    return val, grad
