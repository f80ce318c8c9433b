"""simulate(): integrate a population of virtual patients with their dose records."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nksim.dosing import Dose, resolve_doses, to_events
from nksim.engine import _rodas5p
from nksim.engine._results import SimulationResult, build_result
from nksim.errors import UserError, shown
from nksim.model import Model
from nksim.model._codegen import compile_model
from nksim.model._declaration import autonomous

if TYPE_CHECKING:  # pandas is imported only where a DataFrame comes in (start-up time)
    import pandas as pd


def _is_frame(value: object) -> bool:
    """``isinstance(value, pandas.DataFrame)`` without importing pandas (a DataFrame
    exists only once pandas has been imported)."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.DataFrame)


def _check_ids(patient_ids: Sequence, n_pat: int) -> None:
    """Refuse a wrong number of patient ids, or an id given twice (naming the first
    repeat, as pandas' ``Index.duplicated`` finds it)."""
    arr = np.asarray(patient_ids)
    if len(arr) != n_pat:
        raise UserError(f"{len(arr)} patient ids for {n_pat} patients", field="patient_ids")
    if arr.ndim == 1 and arr.dtype.kind in "iu":  # integers (the usual case): no pandas
        if arr.size < 2 or np.all(arr[1:] > arr[:-1]):
            return
        _, first = np.unique(arr, return_index=True)
        repeat = np.ones(arr.size, bool)
        repeat[first] = False
        if repeat.any():
            raise UserError(f"patient id {shown(arr[np.argmax(repeat)])} appears twice",
                            field="patient_ids")
        return
    import pandas as pd

    ids = pd.Index(arr)
    if ids.has_duplicates:
        raise UserError(f"patient id {shown(ids[ids.duplicated()][0])} appears twice",
                        field="patient_ids")


@dataclass(frozen=True)
class SolverOptions:
    """Integration settings.

    Parameters
    ----------
    rtol : relative tolerance (default 1e-6).
    atol : absolute tolerance, one number for every state or ``{state: value}``
        (missing states get 1e-6), in each state's unit.
    max_steps : step attempts allowed per patient before it is reported as failed.
    h_max : largest step, in the model's time unit.
    threads : worker threads (default: every CPU core). Results do not depend on it.
    progress : show a progress bar on runs longer than ~2 s (``None``: only when
        standard error is a terminal).
    """

    rtol: float = 1e-6
    atol: float | Mapping[str, float] = 1e-6
    max_steps: int = 100_000
    h_max: float = math.inf
    threads: int | None = None
    progress: bool | None = None

    def __post_init__(self) -> None:
        if not (1e-13 <= self.rtol < 1):
            raise UserError(f"must be in [1e-13, 1), got {self.rtol!r}", field="rtol")
        values = self.atol.values() if isinstance(self.atol, Mapping) else [self.atol]
        if any(not (0 < v < math.inf) for v in values):
            raise UserError(f"must be > 0, got {self.atol!r}", field="atol")
        if self.max_steps < 1:
            raise UserError("must be >= 1", field="max_steps")
        if not self.h_max > 0:
            raise UserError("must be > 0", field="h_max")


def simulate(
    model: Model,
    times: Sequence[float] | np.ndarray,
    *,
    parameters: np.ndarray | Mapping[str, float | Sequence[float]] | pd.DataFrame | None = None,
    initial: np.ndarray | None = None,
    doses: Sequence[Dose] | Sequence[Sequence[Dose]] = (),
    t_start: float = 0.0,
    options: SolverOptions | None = None,
    patient_ids: Sequence | None = None,
    covariates: pd.DataFrame | None = None,
) -> SimulationResult:
    """Integrate one or many virtual patients of ``model``.

    Parameters
    ----------
    model : the model, with its parameter values and initial state as defaults.
    times : output times (model time unit), sorted, within ``[t_start, max(times)]``;
        the integration runs to the last of them.
    parameters : array (patients, parameters) in the model's units and declaration
        order; or ``{name: value or one value per patient}``; or a DataFrame with one
        column per parameter named (one row per patient). Parameters not named keep the
        model's values. Default: one patient with the model's values.
    initial : array (patients, states); default the model's initial state for everyone.
    doses : dose records for every patient, or one list per patient; amounts per kg or
        per m² are resolved from ``covariates`` (``weight_kg``, ``bsa_m2``).
    options : tolerances, threads, progress bar.
    covariates : one row per patient (e.g. from
        :func:`nksim.population.sample_covariates`); kept in the result. With one
        parameter set and one initial state, every covariate row is a patient; its
        ``patient`` column gives the patient ids unless ``patient_ids`` does.
    patient_ids : one unique id per patient (default 0, 1, ...).

    Returns
    -------
    SimulationResult with an xarray Dataset (patient x time, one variable per state and
    per observable,
    plus each patient's parameters, initial state and covariates and the run's
    provenance in ``attrs``) and a per-patient table (status, message, extinction times).
    ``compile_time`` (s) is reported apart from ``run_time`` (s).
    """
    return integrate(model, times, parameters=parameters, initial=initial, doses=doses,
                     t_start=t_start, options=options, patient_ids=patient_ids,
                     covariates=covariates).result()


@dataclass(frozen=True)
class RawRun:
    """The solver's arrays of a run, before they become a :class:`SimulationResult`
    (``out``: states x patients x times)."""

    model: Model
    times: np.ndarray
    out: np.ndarray
    ext_time: np.ndarray
    stats: np.ndarray
    bad_input: np.ndarray
    doses: list
    options: SolverOptions
    run_time: float
    patient_ids: Sequence | None
    parameters: np.ndarray
    initial: np.ndarray
    covariates: pd.DataFrame | None
    compile_time: float

    def result(self) -> SimulationResult:
        return build_result(
            self.model, self.times, self.out, self.ext_time, self.stats, self.bad_input,
            self.doses, options=self.options, run_time=self.run_time,
            patient_ids=self.patient_ids, parameters=self.parameters, initial=self.initial,
            covariates=self.covariates, compile_time=self.compile_time)


def integrate(
    model: Model,
    times: Sequence[float] | np.ndarray,
    *,
    parameters: np.ndarray | Mapping[str, float | Sequence[float]] | pd.DataFrame | None = None,
    initial: np.ndarray | None = None,
    doses: Sequence[Dose] | Sequence[Sequence[Dose]] = (),
    t_start: float = 0.0,
    options: SolverOptions | None = None,
    patient_ids: Sequence | None = None,
    covariates: pd.DataFrame | None = None,
) -> RawRun:
    """:func:`simulate` without assembling the result: the solver's arrays (a chunk of a
    large run tabulates them without building a dataset)."""
    options = options or SolverOptions()
    times = np.asarray(times, dtype=float)
    params, y0 = _population_arrays(model, parameters, initial)
    _check_initial(model, y0)
    n_pat = params.shape[0]
    _check_times(times, t_start)
    if covariates is not None:
        if not _is_frame(covariates):
            raise UserError(f"expected a DataFrame (got {type(covariates).__name__})",
                            field="covariates")
        if n_pat == 1 and len(covariates) > 1:  # one parameter set for every patient
            n_pat = len(covariates)
            params, y0 = np.tile(params, (n_pat, 1)), np.tile(y0, (n_pat, 1))
        if len(covariates) != n_pat:
            raise UserError(f"{len(covariates)} covariate rows for {n_pat} patients",
                            field="covariates")
        if patient_ids is None and "patient" in covariates:
            patient_ids = covariates["patient"].to_numpy()
    if patient_ids is not None:
        _check_ids(patient_ids, n_pat)
    per_patient = resolve_doses(doses, {s.name: s.unit for s in model.states}, covariates,
                                n_patients=n_pat)
    _check_dose_times(per_patient, float(t_start))

    # A model that uses the time t runs in its autonomous form: t is a last, hidden state.
    run_model = autonomous(model)
    fns = compile_model(run_model)
    t0 = time.perf_counter()
    ev_ptr, ev_time, ev_state, ev_bolus, ev_rate = _event_arrays(per_patient, model)

    n_user = len(model.states)
    n, n_rec = len(run_model.states), times.size
    y0_run = y0 if n == n_user else np.ascontiguousarray(
        np.hstack([y0, np.full((n_pat, 1), float(t_start))]))
    out = np.empty((n, n_pat, n_rec))  # state-major, as the solver writes it
    ext_time = np.empty((n_pat, n))
    stats = np.empty((n_pat, 4))
    threshold = np.array([s.extinction or 0.0 for s in run_model.states])
    nonneg = np.array([s.nonnegative for s in run_model.states])
    atol = np.append(_atol_vector(model, options.atol), [1e-6] * (n - n_user))

    # A patient whose inputs are not finite fails before integration.
    bad_input = ~(np.isfinite(params).all(axis=1) & np.isfinite(y0).all(axis=1))
    todo = np.flatnonzero(~bad_input)

    if model.events:  # discrete events: patient by patient, from event to event
        from nksim.engine._events import integrate_with_events

        if any(per_patient):
            raise UserError("dose records cannot be combined with a model's own events yet "
                            "(write the doses as events of the model)", field="doses")
        sel = np.flatnonzero(~bad_input)
        ext_time[:] = np.nan
        by_patient, ext_time[sel], stats[sel] = integrate_with_events(
            model, run_model, fns, times, params[sel], y0_run[sel], float(t_start), options,
            threshold, nonneg, atol)
        out[:, sel] = by_patient.transpose(2, 0, 1)
        todo = todo[:0]

    with _progress(todo.size, options.progress) as bar:
        solve_batch(fns, times, t_start, y0_run, params, todo,
                    (ev_ptr, ev_time, ev_state, ev_bolus, ev_rate), threshold, nonneg, atol,
                    options, out, ext_time, stats, on_done=bar.update)

    if bad_input.any():
        out[:, bad_input] = np.nan
        ext_time[bad_input] = np.nan
        stats[bad_input] = [_rodas5p.NON_FINITE, t_start, 0, 0]
    out, ext_time = out[:n_user], ext_time[:, :n_user]
    return RawRun(
        model, times, out, ext_time, stats, bad_input, per_patient,
        options=options, run_time=time.perf_counter() - t0, patient_ids=patient_ids,
        parameters=params, initial=y0, covariates=covariates,
        compile_time=fns.seconds + _rodas5p.take_load_seconds(),
    )


def _check_initial(model: Model, y0: np.ndarray) -> None:
    """Initial values the model's states cannot take are refused by name (NaN is a failed
    patient): a negative one of a non-negative state, and one between 0 and a state's
    extinction threshold (the population would never be counted extinct: extinction is
    the crossing of the threshold)."""
    for i, state in enumerate(model.states):
        col = y0[:, i]
        bad = np.flatnonzero(col < 0) if state.nonnegative else np.zeros(0, int)
        if bad.size:
            raise UserError(f"{state.name} must be >= 0 (got {shown(col[bad[0]])} for "
                            f"patient {bad[0]})", field="initial")
        thr = state.extinction or 0.0
        bad = np.flatnonzero((col > 0) & (col < thr))
        if bad.size:
            raise UserError(f"{state.name} = {shown(col[bad[0]])} {state.unit} (patient "
                            f"{bad[0]}) is below its extinction threshold {thr:g} {state.unit}: "
                            "start at 0 (absent) or at the threshold or above",
                            field="initial")


def _population_arrays(model: Model, parameters, initial) -> tuple[np.ndarray, np.ndarray]:
    n_par, n = len(model.parameters), len(model.states)
    if _is_frame(parameters) or isinstance(parameters, Mapping):
        params = _parameters_by_name(model, parameters)
    else:
        params = (model.parameter_vector()[None, :] if parameters is None
                  else np.atleast_2d(np.asarray(parameters, dtype=float)))
    if params.ndim != 2 or params.shape[1] != n_par:
        raise UserError(f"expected {n_par} columns (one per parameter), got {params.shape[-1]}",
                        field="parameters")
    y0 = (np.tile(model.initial_vector(), (params.shape[0], 1)) if initial is None
          else np.atleast_2d(np.asarray(initial, dtype=float)))
    if y0.shape[1] != n:
        raise UserError(f"expected {n} columns (one per state), got {y0.shape[1]}",
                        field="initial")
    if y0.shape[0] == 1 and params.shape[0] > 1:
        y0 = np.tile(y0, (params.shape[0], 1))
    if params.shape[0] == 1 and y0.shape[0] > 1:
        params = np.tile(params, (y0.shape[0], 1))
    if params.shape[0] != y0.shape[0]:
        raise UserError(f"{params.shape[0]} parameter rows but {y0.shape[0]} initial states",
                        field="initial")
    if params.shape[0] == 0:
        raise UserError("no patients to simulate", field="parameters")
    # C-contiguous and writable (a read-only frame column, e.g. a steady state, is copied)
    return np.require(params, float, ["C", "W"]), np.require(y0, float, ["C", "W"])


def _parameters_by_name(model: Model, parameters) -> np.ndarray:
    """Parameters given by name (a mapping or a DataFrame); others keep the model's values."""
    if _is_frame(parameters):
        columns = {str(c): parameters[c].to_numpy() for c in parameters.columns}
        n_rows = len(parameters)
    else:
        columns = {str(k): np.atleast_1d(np.asarray(v, dtype=float))
                   for k, v in parameters.items()}
        sizes = {c.size for c in columns.values()} - {1}
        if len(sizes) > 1:
            raise UserError(f"parameters given for different numbers of patients {sorted(sizes)}",
                            field="parameters")
        n_rows = sizes.pop() if sizes else 1
    for name in columns:
        model.parameter(name, field=f"parameters.{name}")
    if n_rows == 0:
        raise UserError("no patients to simulate", field="parameters")
    params = np.tile(model.parameter_vector(), (n_rows, 1))
    for j, name in enumerate(model.parameter_names):
        if name in columns:
            try:
                col = np.asarray(columns[name], dtype=float)
            except (TypeError, ValueError):
                raise UserError("must be numbers", field=f"parameters.{name}") from None
            if col.ndim != 1:
                raise UserError("expected one value per patient", field=f"parameters.{name}")
            params[:, j] = col
    return params


def _check_dose_times(per_patient: list[list[Dose]], t_start: float) -> None:
    """A dose before the start is refused: the solver would give a bolus in full at the
    start and only part of an infusion (or none), silently."""
    for doses in {id(ds): ds for ds in per_patient}.values():  # shared lists once
        for d in doses:
            first = float(d.time)  # the earliest administration (repeats follow it)
            if first < t_start:
                raise UserError(f"a dose into {d.state} at t = {first:g} is before the start "
                                f"{t_start:g}; give doses from the start on (the state's "
                                "value at the start is its initial value)", field="doses")


def _check_times(times: np.ndarray, t_start: float) -> None:
    if times.ndim != 1 or times.size == 0:
        raise UserError("need at least one output time", field="times")
    if not np.isfinite(times).all() or np.any(np.diff(times) < 0):
        raise UserError("output times must be finite and sorted", field="times")
    if times[0] < t_start:
        raise UserError(f"output time {times[0]:g} is before the start {t_start:g}",
                        field="times")
    if not times[-1] > t_start:
        raise UserError(f"the last time must be after the start ({t_start:g})",
                        field="times")


def _event_arrays(per_patient: list[list[Dose]], model: Model):
    """Dose events of all patients in CSR form (events of patient i at ptr[i]:ptr[i+1]).

    Patients sharing one dose list (the usual case) share its expansion.
    """
    expanded: dict[int, object] = {}
    events = []
    for doses in per_patient:
        if id(doses) not in expanded:
            expanded[id(doses)] = to_events(doses, model.state_names)
        events.append(expanded[id(doses)])
    counts = np.array([e.time.size for e in events], dtype=np.int64)
    ptr = np.zeros(len(events) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    if len(expanded) == 1:  # one shared list: tile it
        ev = events[0]

        def cat(name, dt):
            return np.ascontiguousarray(np.tile(getattr(ev, name), len(events)).astype(dt))
    else:
        def cat(name, dt):
            return np.ascontiguousarray(
                np.concatenate([getattr(e, name) for e in events]).astype(dt))
    return ptr, cat("time", float), cat("state", np.int64), cat("bolus", float), cat("rate", float)


def solve_batch(fns, times, t_start, y0, params, todo, events, threshold, nonneg, atol,
                options, out, ext_time, stats, *, on_done=None) -> None:
    """Integrate the patients ``todo`` (indices into ``y0``/``params``, the run model's
    states) into ``out`` (states x patients x times), ``ext_time`` and ``stats``: in ranges
    of at least :data:`LANES` patients over ``options.threads`` threads, each range in one
    solver call (written in place when its patients are contiguous). ``events``: the dose
    arrays of every patient (``ev_ptr, ev_time, ev_state, ev_bolus, ev_rate``);
    ``on_done(n)`` after each range (progress). The one place that calls the solver for a
    batch (:func:`integrate`, the prepared PEtab objective)."""
    n, n_rec = out.shape[0], times.size
    ev_ptr, ev_time, ev_state, ev_bolus, ev_rate = events

    def run(lo: int, hi: int) -> int:
        idx = todo[lo:hi]
        if idx.size == 0:
            return 0
        a, b = int(idx[0]), int(idx[-1]) + 1
        whole = b - a == idx.size  # a contiguous range: the solver writes in place
        if whole:
            sub_out, sub_ext, sub_stats = out[:, a:b], ext_time[a:b], stats[a:b]
            sub_y0, sub_par = y0[a:b], params[a:b]
        else:
            sub_out = np.empty((n, idx.size, n_rec))
            sub_ext = np.empty((idx.size, n))
            sub_stats = np.empty((idx.size, 4))
            sub_y0 = np.ascontiguousarray(y0[idx])
            sub_par = np.ascontiguousarray(params[idx])
        sub_ptr, sub_time, sub_state, sub_bolus, sub_rate = _select_events(
            idx, ev_ptr, ev_time, ev_state, ev_bolus, ev_rate)
        _rodas5p.integrate_range(
            *fns.kernels,
            0, idx.size, sub_y0, sub_par,
            times, float(t_start), float(times[-1]),
            sub_ptr, sub_time, sub_state, sub_bolus, sub_rate,
            threshold, nonneg, float(options.rtol), atol, float(options.h_max),
            int(options.max_steps), sub_out, sub_ext, sub_stats,
        )
        if not whole:
            out[:, idx], ext_time[idx], stats[idx] = sub_out, sub_ext, sub_stats
        return idx.size

    threads = max(1, options.threads or os.cpu_count() or 1)
    chunk = max(_rodas5p.LANES, min(4096, -(-todo.size // (threads * 4))))
    starts = range(0, todo.size, chunk)
    done = on_done or (lambda k: None)
    if threads == 1 or len(starts) <= 1:
        for lo in starts:
            done(run(lo, lo + chunk))
    else:
        with ThreadPoolExecutor(threads, thread_name_prefix="nksim") as pool:
            for k in pool.map(lambda lo: run(lo, lo + chunk), starts):
                done(k)


def no_events(n_patients: int) -> tuple:
    """The dose arrays of ``n_patients`` patients without doses (for :func:`solve_batch`)."""
    empty_f = np.zeros(0)
    return (np.zeros(n_patients + 1, dtype=np.int64), empty_f, np.zeros(0, dtype=np.int64),
            empty_f, empty_f)


def _select_events(idx, ptr, ev_time, ev_state, ev_bolus, ev_rate):
    counts = ptr[idx + 1] - ptr[idx]
    sub_ptr = np.zeros(idx.size + 1, dtype=np.int64)
    np.cumsum(counts, out=sub_ptr[1:])
    take = np.repeat(ptr[idx] - sub_ptr[:-1], counts) + np.arange(sub_ptr[-1])
    return (sub_ptr, np.ascontiguousarray(ev_time[take]), np.ascontiguousarray(ev_state[take]),
            np.ascontiguousarray(ev_bolus[take]), np.ascontiguousarray(ev_rate[take]))


def _atol_vector(model: Model, atol) -> np.ndarray:
    if isinstance(atol, Mapping):
        for name in atol:
            model.state(name, field=f"atol.{name}")
        return np.array([float(atol.get(s.name, 1e-6)) for s in model.states])
    return np.full(len(model.states), float(atol))


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def _progress(total: int, enabled: bool | None):
    """A tqdm bar that appears only if the run lasts more than ~2 s."""
    import sys

    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="patient", delay=2.0, file=sys.stderr, dynamic_ncols=True)
