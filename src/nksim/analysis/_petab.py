"""PEtab problems: read with the ``petab`` package, simulated by the batched engine.

:func:`read_petab` turns a PEtab (v1) YAML file into a :class:`PetabProblem`: the SBML model
(:func:`nksim.model.from_sbml`), one simulation per condition, the observable and noise
formulas (sympy, differentiated for the gradient), the measurements and the parameter
table (scales, bounds, nominal values, priors). :meth:`PetabProblem.objective` evaluates the
negative log-likelihood (PEtab's definition: normal or Laplace noise on lin, log or log10
scale) and its gradient for many parameter vectors at once: every (parameter vector,
condition) pair is one patient of one batched engine call, and the gradient comes from the
forward sensitivity equations (:func:`nksim.analysis.sensitivity_model`). What does not
depend on the parameters is prepared on the first evaluation and kept
(:mod:`nksim.analysis._prepared`), so an optimiser's evaluation is array filling, one
batched solve and a vectorised likelihood.

Preequilibration runs to the steady state (:func:`nksim.analysis.steady_state`); the
main condition's species values then override it. Not supported (refused by name, one
line, exit 2 on the command line): steady-state (``inf``) measurement times, compartment
sizes set by conditions, formulas in the condition table and priors other than
(parameterScale)Normal, (parameterScale)Uniform, (parameterScale)Laplace, logNormal and
logLaplace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sympy as sp

from nksim._io import missing_file
from nksim.errors import UserError

# Models with SBML events get their gradient by batched central differences
# (nksim.analysis._objective.gradient_method).
_SCALES = {"lin", "log", "log10"}
_PRIORS = {"normal", "laplace", "uniform", "parameterScaleNormal", "parameterScaleUniform",
           "parameterScaleLaplace", "logNormal", "logLaplace"}


def to_linear(x, scale):
    with np.errstate(over="ignore"):  # an overflow is a failed vector (inf), not a warning
        return np.where(scale == 1, np.exp(x), np.where(scale == 2, 10.0 ** x, x))


def _scale_code(s: str) -> int:
    return {"lin": 0, "log": 1, "log10": 2}[s]


@dataclass
class PetabProblem:
    """A PEtab problem ready to be evaluated (see :func:`read_petab`)."""

    path: Path
    model: object                      # the imported Model (plus extra initial-value parameters)
    parameter_ids: list[str]           # every PEtab parameter (parameter table order)
    estimated: np.ndarray              # bool mask over parameter_ids
    scale: np.ndarray                  # 0 lin, 1 log, 2 log10
    lower: np.ndarray                  # bounds on the parameter scale
    upper: np.ndarray
    nominal: np.ndarray                # linear scale
    conditions: list[str]
    times: np.ndarray                  # output grid (union of measurement times)
    measurements: pd.DataFrame
    priors: list = field(default_factory=list)   # (index, type, params) on estimated ids
    # internal
    _pmap: np.ndarray = None           # (cond, model param) -> PEtab index or -1
    _pconst: np.ndarray = None         # (cond, model param) constant values
    _x0: list = None                   # per state: None or sympy expr of model params
    _x0_override: np.ndarray = None    # (cond, state): PEtab index or -1 (via extra params)
    _x0_const: np.ndarray = None       # (cond, state): constant override or NaN
    _rows: dict = None
    _obs: dict = None
    sens_params: list = None
    _pre: tuple | None = None         # preequilibration conditions' arrays (as above)
    _has_pre: np.ndarray | None = None
    _derived: list = field(default_factory=list)  # (model param index, sympy expr of params)
    gradient: str | None = None        # force "sensitivities" or "differences"
    _prepared: object = None           # nksim.analysis._prepared.PreparedProblem (first use)

    # -------------------------------------------------------------- parameters
    @property
    def n_estimated(self) -> int:
        return int(self.estimated.sum())

    @property
    def estimated_ids(self) -> list[str]:
        return [p for p, e in zip(self.parameter_ids, self.estimated, strict=True) if e]

    def nominal_scaled(self) -> np.ndarray:
        """The nominal values of the estimated parameters, on their scales."""
        x = self.nominal[self.estimated]
        sc = self.scale[self.estimated]
        with np.errstate(divide="ignore"):
            return np.where(sc == 1, np.log(x), np.where(sc == 2, np.log10(x), x))

    def full_linear(self, theta_scaled: np.ndarray) -> np.ndarray:
        """All PEtab parameters (linear scale) from the estimated ones (their scales)."""
        theta_scaled = np.atleast_2d(theta_scaled)
        full = np.tile(self.nominal, (theta_scaled.shape[0], 1))
        full[:, self.estimated] = to_linear(theta_scaled, self.scale[self.estimated])
        return full

    # -------------------------------------------------------------- objective
    def objective(self, theta_scaled, *, gradient: bool = True, options=None,
                  priors: bool = True):
        """Negative log-likelihood (plus negative log-priors if ``priors``) and its gradient
        with respect to the estimated parameters on their scales, for each row of
        ``theta_scaled`` (shape (k, n_estimated)). Returns ``(nll (k,), grad (k, n) or
        None, chi2 (k,))``; a parameter vector whose simulation failed gets ``inf``."""
        from nksim.analysis._objective import evaluate

        return evaluate(self, np.atleast_2d(np.asarray(theta_scaled, float)),
                        gradient=gradient, options=options, priors=priors)

    def nominal_summary(self, options=None) -> dict:
        """``{"llh", "chi2", "n_measurements"}`` at the table's nominal parameters
        (log-likelihood without priors, as PEtab defines it)."""
        nll, _, chi2 = self.objective(self.nominal_scaled()[None, :], gradient=False,
                                      options=options, priors=False)
        return {"llh": float(-nll[0]), "chi2": float(chi2[0]),
                "n_measurements": int(len(self.measurements))}


def _fail(message: str, fld: str = "petab") -> None:
    raise UserError(message, field=fld)


def read_petab(path: str | Path) -> PetabProblem:
    """Read and check a PEtab v1 problem (YAML file); bad tables raise a UserError."""
    import logging

    import petab.v1 as petab

    from nksim.model import Parameter, from_sbml
    from nksim.model._declaration import Citation

    path = Path(path)
    if not path.is_file():
        _fail(missing_file(path), "problem")
    import warnings

    logging.getLogger("petab").setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():  # pandas deprecation notices from inside petab
            warnings.simplefilter("ignore")
            problem = petab.Problem.from_yaml(path)
    except Exception as exc:  # petab raises many kinds on bad files
        _fail(f"cannot read the PEtab problem: {_first_line(exc)}", "problem")
    for name in ("measurement_df", "observable_df", "parameter_df", "condition_df"):
        if getattr(problem, name) is None:
            _fail(f"the problem has no {name.replace('_df', '')} table", "problem")
    _check_tables(problem)
    model = from_sbml(problem.model.to_sbml_str(), name=_model_name(problem))
    meas = problem.measurement_df.copy()
    par = problem.parameter_df
    if "preequilibrationConditionId" not in meas:
        meas["preequilibrationConditionId"] = ""
    meas["preequilibrationConditionId"] = meas["preequilibrationConditionId"] \
        .astype(object).fillna("").astype(str).replace("nan", "")
    times = pd.to_numeric(meas["time"], errors="coerce").to_numpy()
    if not np.isfinite(times).all():
        _fail("steady-state (inf) or non-numeric measurement times are not supported",
              "measurements.time")
    if (times < 0).any():
        _fail("negative measurement times", "measurements.time")

    ids = list(par.index.astype(str))
    scale = np.array([_scale_code(str(s)) for s in par["parameterScale"]])
    flags = pd.to_numeric(par["estimate"], errors="coerce")
    if not flags.isin([0, 1]).all():
        pid = ids[int(np.flatnonzero(~flags.isin([0, 1]).to_numpy())[0])]
        _fail("estimate must be 0 or 1", f"parameters.{pid}")
    est = flags.to_numpy().astype(bool)
    nominal = par["nominalValue"].astype(float).to_numpy()
    lo = par["lowerBound"].astype(float).to_numpy()
    hi = par["upperBound"].astype(float).to_numpy()
    for i, pid in enumerate(ids):
        if not np.isfinite(nominal[i]):  # a fixed one is used as is, an estimated one at
            _fail(f"nominalValue must be a finite number (got {nominal[i]})",  # --nominal
                  f"parameters.{pid}")
        if est[i] and not (np.isfinite(lo[i]) and np.isfinite(hi[i]) and lo[i] <= hi[i]):
            _fail(f"an estimated parameter needs finite bounds, lowerBound <= upperBound "
                  f"(got {lo[i]}, {hi[i]})", f"parameters.{pid}")

    def scaled(v, s):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s == 1, np.log(v), np.where(s == 2, np.log10(v), v))

    priors = []
    if "objectivePriorType" in par:
        k = 0
        for i, pid in enumerate(ids):
            if not est[i]:
                continue
            ptype = par["objectivePriorType"].iloc[i]
            if isinstance(ptype, str) and ptype:
                if ptype not in _PRIORS:
                    _fail(f"prior {ptype!r} is not supported", f"parameters.{pid}")
                pars = [float(v) for v in str(par["objectivePriorParameters"].iloc[i]).split(";")]
                priors.append((k, ptype, pars))
            k += 1

    # --- model parameters per condition
    extra_species_params: set[str] = set()
    cond_df = problem.condition_df
    pairs = list(dict.fromkeys(zip(meas["preequilibrationConditionId"],
                                   meas["simulationConditionId"].astype(str), strict=True)))
    conditions = [f"{pre}->{c}" if pre else c for pre, c in pairs]
    for pre, c in pairs:
        for cid, col in ((c, "simulationConditionId"), (pre, "preequilibrationConditionId")):
            if cid and cid not in cond_df.index:
                _fail(f"condition {cid!r} is not in the condition table", f"measurements.{col}")
    comps = {n for n in model.parameter_names if _is_compartment(model, n)}
    state_set = set(model.state_names)
    for col in cond_df.columns:
        if col == "conditionName":
            continue
        if col in comps:
            _fail(f"compartment sizes set by conditions are not supported ({col})",
                  f"conditions.{col}")
        if col not in state_set and col not in model.parameter_names:
            _fail(f"{col!r} is neither a model parameter nor a species state",
                  f"conditions.{col}")
        if col in state_set:
            for v in cond_df[col]:
                if isinstance(v, str) and v in ids:
                    extra_species_params.add(v)
                elif isinstance(v, str) and not _is_number(v):
                    _fail(f"formulas in the condition table are not supported (got {v!r})",
                          f"conditions.{col}")
    if extra_species_params - set(model.parameter_names):
        import dataclasses

        cite = Citation("PEtab", "initial value parameter of the PEtab problem", "UNVERIFIED")
        new = tuple(Parameter(pid, float(nominal[ids.index(pid)]), "dimensionless",
                              "initial value (PEtab condition table)", cite,
                              (-math.inf, math.inf))
                    for pid in sorted(extra_species_params - set(model.parameter_names)))
        model = dataclasses.replace(model, parameters=(*model.parameters, *new))

    pnames = list(model.parameter_names)
    idx = {p: i for i, p in enumerate(ids)}

    def arrays(cids):
        nc, npar, ns = len(cids), len(pnames), len(model.states)
        pmap = np.full((nc, npar), -1, dtype=int)
        pconst = np.tile(model.parameter_vector(), (nc, 1))
        x0_over = np.full((nc, ns), -1, dtype=int)
        x0_const = np.full((nc, ns), np.nan)
        for ci, c in enumerate(cids):
            if not c:
                continue
            row = cond_df.loc[c]
            for j, name in enumerate(pnames):
                value = row[name] if name in cond_df.columns else name
                if name not in cond_df.columns and name not in idx:
                    continue
                if isinstance(value, str) and value in idx:
                    pmap[ci, j] = idx[value]
                    pconst[ci, j] = nominal[idx[value]]
                elif _is_number(value):
                    if not np.isnan(float(value)):
                        pconst[ci, j] = float(value)
                else:
                    _fail(f"cannot use {value!r} for {name}", f"conditions.{c}.{name}")
            for si, name in enumerate(model.state_names):
                if name not in cond_df.columns:
                    continue
                value = row[name]
                if isinstance(value, str) and value in idx:
                    x0_over[ci, si] = pnames.index(value) if value in pnames else -1
                    if value in pnames:  # through the (extra) model parameter
                        pmap[ci, pnames.index(value)] = idx[value]
                elif _is_number(value) and not np.isnan(float(value)):
                    x0_const[ci, si] = float(value)
        return pmap, pconst, x0_over, x0_const

    pmap, pconst, x0_over, x0_const = arrays([c for _, c in pairs])
    pre_ids = [pre for pre, _ in pairs]
    pre_arrays = arrays(pre_ids) if any(pre_ids) else None

    formulas = _initial_formulas(problem, model)
    x0 = formulas[:len(model.states)]
    derived = [(j, e) for j, e in enumerate(formulas[len(model.states):]) if e is not None]
    obs = _observables(problem, model, ids)
    grid = np.unique(times)
    if grid[-1] <= 0:
        grid = np.append(grid, 1e-9)
    meas = meas.reset_index(drop=True)
    meas["_cond"] = [pairs.index((pre, str(c))) for pre, c in
                     zip(meas["preequilibrationConditionId"], meas["simulationConditionId"],
                         strict=True)]
    meas["_time"] = np.searchsorted(grid, times)
    sens = sorted({pnames[j] for j in np.unique(np.flatnonzero((pmap >= 0).any(axis=0)))
                   if est[pmap[:, j][pmap[:, j] >= 0]].any()})
    prob = PetabProblem(
        path=path, model=model, parameter_ids=ids, estimated=est, scale=scale,
        lower=scaled(lo, scale)[est], upper=scaled(hi, scale)[est], nominal=nominal,
        conditions=conditions, times=grid, measurements=meas, priors=priors,
    )
    prob._pmap, prob._pconst, prob._x0 = pmap, pconst, x0
    prob._x0_override, prob._x0_const = x0_over, x0_const
    prob._obs = obs
    prob._derived = derived
    prob._pre = pre_arrays
    prob._has_pre = np.array([bool(p) for p in pre_ids])
    if derived or pre_arrays is not None:  # gradient by differences
        prob.gradient = "differences"
    prob.sens_params = sens
    from nksim.analysis._objective import prepare_rows

    prob._rows = prepare_rows(prob)
    return prob


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _model_name(problem) -> str:
    import re

    mid = re.sub(r"[^A-Za-z0-9_]", "_", str(problem.model.model_id or "petab"))
    return mid if mid[:1].isalpha() else f"m_{mid}"


def _is_compartment(model, name: str) -> bool:
    p = model.parameter(name)
    return p.description.startswith("compartment")


def _check_tables(problem) -> None:
    """PEtab's own linter (one line per problem found; the first one is reported)."""
    import petab.v1 as petab

    obs = problem.observable_df
    for col, allowed in (("observableTransformation", _SCALES),
                         ("noiseDistribution", {"normal", "laplace"})):
        if col in obs:
            bad = set(obs[col].dropna().astype(str)) - allowed - {""}
            if bad:
                _fail(f"{sorted(bad)[0]!r} is not supported (use one of {sorted(allowed)})",
                      f"observables.{col}")
    for col in ("parameterScale",):
        bad = set(problem.parameter_df[col].astype(str)) - _SCALES
        if bad:
            _fail(f"unknown scale {sorted(bad)[0]!r}", f"parameters.{col}")
    try:
        for table, check in (
            ("parameters", lambda: petab.lint.check_parameter_df(
                problem.parameter_df, problem.model, problem.observable_df,
                problem.measurement_df, problem.condition_df)),
            ("measurements", lambda: petab.lint.check_measurement_df(
                problem.measurement_df, problem.observable_df)),
            ("observables", lambda: petab.lint.check_observable_df(problem.observable_df)),
        ):
            try:
                check()
            except (AssertionError, ValueError, KeyError) as exc:
                _fail(_first_line(exc), table)
    except UserError:
        raise
    m = problem.measurement_df
    if not pd.to_numeric(m["measurement"], errors="coerce").notna().all():
        _fail("measurements must be numbers", "measurements.measurement")
    unknown = set(m["observableId"]) - set(problem.observable_df.index)
    if unknown:
        _fail(f"observable {sorted(unknown)[0]!r} is not in the observable table",
              "measurements.observableId")


def _sbml_symbols(model):
    from nksim.model._symbolic import symbolic

    sm = symbolic(model)
    table = {str(s): s for s in (*sm.states, *sm.parameters)}
    # expressions (assignment rules, reaction rates) substituted down to states/parameters
    subs = {}
    for sym, expr in sm.expressions.items():
        subs[sym] = expr.xreplace(subs)
    return sm, table, subs


# MathML operators libSBML may print as calls (e.g. ``times(x)`` for a one-argument times)
_MATHML_CALLS = {"times": lambda *a: sp.Mul(*a), "plus": lambda *a: sp.Add(*a),
                 "minus": lambda a, b=None: -a if b is None else a - b,
                 "divide": lambda a, b: a / b, "power": sp.Pow, "pow": sp.Pow}


def _initial_formulas(problem, model):
    """Per state: a sympy expression of model parameters for its initial value if the SBML
    sets it by an initial assignment (re-evaluated for every parameter vector), else None."""
    import libsbml

    from nksim.model._symbolic import parse

    sm, table, subs = _sbml_symbols(model)
    doc = libsbml.readSBMLFromString(problem.model.to_sbml_str())
    props = libsbml.ConversionProperties()
    props.addOption("expandFunctionDefinitions", True)
    doc.convert(props)
    m = doc.getModel()
    names = [*model.state_names, *model.parameter_names]
    out = [None] * len(names)
    for ia in m.getListOfInitialAssignments():
        sid = ia.getSymbol()
        if sid not in names or ia.getMath() is None:
            continue
        text = libsbml.formulaToL3String(ia.getMath()).replace("^", "**")
        try:
            expr = parse(text, {**table, **{str(k): k for k in subs}, **_MATHML_CALLS},
                         f"initial {sid}")
        except Exception:  # noqa: BLE001 - e.g. function calls: keep the imported value
            continue
        expr = expr.xreplace(subs)
        if expr.free_symbols - set(sm.parameters):
            continue
        out[names.index(sid)] = expr
    return out


def _observables(problem, model, ids):
    """Observable and noise formulas as sympy expressions of states, model parameters,
    PEtab-only parameters and the row's placeholders."""
    from nksim.model._symbolic import TIME_SYMBOL

    sm, table, subs = _sbml_symbols(model)
    obs_df = problem.observable_df
    out = {}
    for oid, row in obs_df.iterrows():
        local = dict(table)
        local.update({str(k): k for k in subs})
        for pid in ids:
            local.setdefault(pid, sp.Symbol(pid, real=True))
        n_obs = _count_placeholders(str(row["observableFormula"]), "observableParameter", oid)
        n_noise = _count_placeholders(str(row.get("noiseFormula", "")), "noiseParameter", oid)
        ph_o = [sp.Symbol(f"observableParameter{i + 1}_{oid}", real=True) for i in range(n_obs)]
        ph_n = [sp.Symbol(f"noiseParameter{i + 1}_{oid}", real=True) for i in range(n_noise)]
        local.update({str(s): s for s in (*ph_o, *ph_n)})
        local["time"] = TIME_SYMBOL
        local["t"] = TIME_SYMBOL
        h = _parse_formula(str(row["observableFormula"]), local, f"observables.{oid}")
        noise = row.get("noiseFormula", 1.0)
        s = _parse_formula(str(noise), local, f"observables.{oid}.noiseFormula")
        trans = str(row.get("observableTransformation", "lin") or "lin")
        trans = "lin" if trans == "nan" else trans
        dist = str(row.get("noiseDistribution", "normal") or "normal")
        dist = "normal" if dist == "nan" else dist
        out[oid] = dict(h=h.xreplace(subs), sigma=s.xreplace(subs), ph_o=ph_o, ph_n=ph_n,
                        trans=trans, dist=dist)
    return out


def _count_placeholders(text: str, kind: str, oid: str) -> int:
    import re

    found = [int(m) for m in re.findall(rf"{kind}(\d+)_{re.escape(oid)}\b", text)]
    return max(found, default=0)


def _parse_formula(text: str, local: dict, fld: str):
    from sympy.parsing.sympy_parser import parse_expr

    from nksim.model._symbolic import _FUNCTIONS

    text = text.replace("^", "**")
    try:
        expr = parse_expr(text, local_dict=local,
                          global_dict={"__builtins__": {}, **_FUNCTIONS, "Integer": sp.Integer,
                                       "Float": sp.Float, "Rational": sp.Rational,
                                       "Symbol": sp.Symbol, "ln": sp.log,
                                       "log10": lambda x: sp.log(x, 10),
                                       "piecewise": _piecewise})
    except Exception as exc:  # noqa: BLE001 - any parse error is the user's table
        _fail(f"cannot read formula {text!r}: {_first_line(exc)}", fld)
    unknown = {str(s) for s in expr.free_symbols} - set(local)
    if unknown:
        _fail(f"unknown names {sorted(unknown)} in {text!r}", fld)
    return expr


def _piecewise(*args):
    pairs = [(args[i], args[i + 1]) for i in range(0, len(args) - 1, 2)]
    return sp.Piecewise(*pairs, (args[-1], True)) if len(args) % 2 else sp.Piecewise(*pairs)
