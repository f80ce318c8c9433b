"""Simulation results: labelled arrays, a per-patient status table, and provenance."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nksim import __version__
from nksim.dosing import Dose
from nksim.engine import _rodas5p
from nksim.model import Model
from nksim.model._declaration import FUNCTION_NAMES as _FUNCTIONS

if TYPE_CHECKING:  # imported when a dataset or a frame is built: a chunked run needs none
    import pandas as pd
    import xarray as xr

#: Names of the provenance variables in :attr:`SimulationResult.dataset` (a state name
#: cannot contain a dot, so they never collide with states).
PARAMETERS_VAR = "patient.parameters"
INITIAL_VAR = "patient.initial"
COVARIATE_PREFIX = "covariate."

#: Patient statuses: the solver's, plus ``implausible`` (finished, but a state left its
#: declared plausible range).
STATUSES = ("ok", "implausible", "failed")


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`nksim.engine.simulate` returns.

    Attributes
    ----------
    dataset : xarray.Dataset with dims ``patient`` and ``time`` and one variable per
        state and per observable (its unit and meaning in ``attrs``; an observable's
        formula in ``attrs["observable"]``); values after a patient's failure are NaN.
        Provenance travels with it (and through ``to_netcdf``): each patient's
        parameters (``"patient.parameters"``, dims patient x parameter), initial state
        (``"patient.initial"``, patient x state), covariates (``"covariate.<name>"``) and,
        in ``attrs``, the solver options, the model's structure key and nksim's version.
    patients : DataFrame indexed by patient: ``status`` ("ok", "implausible" or
        "failed"), ``message``, ``t_reached`` (where the integration stopped),
        ``n_steps``, ``n_rejected`` and ``extinction_time_<state>`` (NaN if never extinct).
    run_time : seconds spent integrating (compilation excluded).
    compile_time : seconds spent generating, compiling or loading the model's code.
    """

    model: Model
    dataset: xr.Dataset
    patients: pd.DataFrame
    doses: list[list[Dose]] = field(repr=False)
    run_time: float = 0.0
    compile_time: float = 0.0

    @property
    def status_counts(self) -> dict[str, int]:
        """``{"ok": n, "implausible": k, "failed": m}`` (only statuses that occur)."""
        return {str(k): int(v) for k, v in self.patients["status"].value_counts().items()}

    @property
    def parameters(self) -> pd.DataFrame:
        """Each patient's parameters (rows: patients, columns: parameters; model units)."""
        return parameters_frame(self.dataset)

    @property
    def initial(self) -> pd.DataFrame:
        """Each patient's initial state (rows: patients, columns: states)."""
        return initial_frame(self.dataset)

    @property
    def covariates(self) -> pd.DataFrame | None:
        """The patients' covariates, or ``None`` if none were given."""
        return covariates_frame(self.dataset)

    @property
    def provenance(self) -> dict:
        """Model, structure key, solver options, versions (as in ``dataset.attrs``)."""
        return provenance(self.dataset)

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per patient and time, columns ``patient, time, <states>,
        <observables>``."""
        names = [*self.model.state_names, *self.model.observables]
        frame = self.dataset[names].to_dataframe().reset_index()
        return frame[["patient", "time", *names]]

    def evaluate(self, formula: str) -> np.ndarray:
        """A formula of states, parameters, expressions, observables and ``t`` on the
        recorded trajectories: array (patients, times), in the units its terms imply."""
        from nksim.model._declaration import _names_in, rename_keywords, safe_identifier
        from nksim.model._evaluate import evaluate, observables

        m = self.model
        times = self.dataset["time"].values
        states = np.stack([self.dataset[s].values for s in m.state_names], axis=-1) \
            if m.states else np.zeros((self.dataset.sizes["patient"], times.size, 0))
        params = self.parameters.to_numpy() if PARAMETERS_VAR in self.dataset else \
            np.tile(m.parameter_vector(), (states.shape[0], 1))
        values: dict[str, object] = {"t": np.broadcast_to(times[None, :], states.shape[:2])}
        for i, name in enumerate(m.state_names):
            values[safe_identifier(name)] = states[:, :, i]
        for j, name in enumerate(m.parameter_names):
            values[safe_identifier(name)] = params[:, j][:, None]
        for name, (text, _u, _d) in m.expressions.items():
            values[safe_identifier(name)] = evaluate(rename_keywords(text), values)
        values.update({safe_identifier(k): v
                       for k, v in observables(m, times, states, params).items()})
        unknown = _names_in(formula) - set(values) - _FUNCTIONS
        if unknown:
            from nksim.errors import UserError

            raise UserError(f"unknown names {sorted(unknown)} in {formula!r}", field="formula")
        return np.broadcast_to(evaluate(rename_keywords(formula), values),
                               states.shape[:2]).copy()

    def to_netcdf(self, path: str | Path) -> Path:
        """Write the dataset with its provenance and the status table to a netCDF file."""
        ds = self.dataset.copy()
        for col in self.patients.columns:
            values = self.patients[col].to_numpy()
            ds[f"status.{col}"] = ("patient", values.astype(str) if values.dtype == object
                                   else values)
        path = Path(path)
        ds.to_netcdf(path)
        return path


def parameters_frame(dataset: xr.Dataset) -> pd.DataFrame:
    """Each patient's parameters from a result dataset (also one read back from netCDF)."""
    import pandas as pd

    var = dataset[PARAMETERS_VAR]
    return pd.DataFrame(var.values, index=pd.Index(dataset["patient"].values, name="patient"),
                        columns=[str(p) for p in var["parameter"].values])


def initial_frame(dataset: xr.Dataset) -> pd.DataFrame:
    """Each patient's initial state from a result dataset."""
    import pandas as pd

    var = dataset[INITIAL_VAR]
    return pd.DataFrame(var.values, index=pd.Index(dataset["patient"].values, name="patient"),
                        columns=[str(s) for s in var["state"].values])


def covariates_frame(dataset: xr.Dataset) -> pd.DataFrame | None:
    """The patients' covariates from a result dataset (``None`` if there are none)."""
    names = [str(v) for v in dataset.data_vars if str(v).startswith(COVARIATE_PREFIX)]
    if not names:
        return None
    import pandas as pd

    order = json.loads(dataset.attrs.get("covariate_columns", "[]"))
    names.sort(key=lambda n: order.index(n) if n in order else len(order))
    frame = pd.DataFrame({n[len(COVARIATE_PREFIX):]: dataset[n].values for n in names},
                         index=pd.Index(dataset["patient"].values, name="patient"))
    if "bsa_formula" in dataset.attrs:
        frame.attrs["bsa_formula"] = dataset.attrs["bsa_formula"]
    return frame


def provenance(dataset: xr.Dataset) -> dict:
    """Provenance kept in a result dataset's ``attrs`` (solver options decoded from JSON)."""
    out = dict(dataset.attrs)
    if "solver_options" in out:
        out["solver_options"] = json.loads(out["solver_options"])
    return out


def _options_dict(options) -> dict:
    raw = dataclasses.asdict(options)
    return {k: (v if not (isinstance(v, float) and math.isinf(v)) else "inf")
            for k, v in raw.items() if k not in ("threads", "progress")}


def _message(code: int) -> str:
    if code in _rodas5p.STATUS_MESSAGES:
        return _rodas5p.STATUS_MESSAGES[code]
    from nksim.engine._events import MESSAGES

    return MESSAGES.get(code, f"solver status {code}")


def _plausibility(model: Model, times: np.ndarray, out: np.ndarray, ok: np.ndarray):
    """Index of the first patients whose trajectory leaves a state's plausible range."""
    found: dict[int, str] = {}
    for i, s in enumerate(model.states):
        if s.plausible is None:
            continue
        lo, hi = s.plausible
        values = out[i]
        outside = ((values < lo) | (values > hi)) & ok[:, None]
        for p in np.flatnonzero(outside.any(axis=1)):
            if p in found:
                continue
            k = int(np.argmax(outside[p]))
            found[int(p)] = (
                f"implausible: {s.name} = {values[p, k]:.3g} {s.unit} at t = {times[k]:g} "
                f"{model.time_unit}, outside its plausible range [{lo:g}, {hi:g}]")
    return found


def status_columns(model: Model, times: np.ndarray, out: np.ndarray, ext_time: np.ndarray,
                   stats: np.ndarray, bad_input: np.ndarray) -> dict[str, object]:
    """The columns of the per-patient status table after ``patient``, in order, from the
    solver's arrays: ``status`` (object array of str), ``message`` (list of str),
    ``t_reached`` (float), ``n_steps``, ``n_rejected`` (int) and
    ``extinction_time_<state>`` (float, NaN if never extinct) for each state with an
    extinction threshold."""
    codes = stats[:, 0].astype(int)
    messages = [
        "parameters or initial state not finite" if bad else _message(c)
        for c, bad in zip(codes, bad_input, strict=True)
    ]
    status = np.where(codes == _rodas5p.OK, "ok", "failed").astype(object)
    for p, message in _plausibility(model, times, out, codes == _rodas5p.OK).items():
        status[p], messages[p] = "implausible", message
    columns: dict[str, object] = {
        "status": status,
        "message": messages,
        "t_reached": stats[:, 1],
        "n_steps": stats[:, 2].astype(int),
        "n_rejected": stats[:, 3].astype(int),
    }
    for i, s in enumerate(model.states):
        if s.extinction is not None:
            columns[f"extinction_time_{s.name}"] = ext_time[:, i]
    return columns


def status_frame(model: Model, times: np.ndarray, out: np.ndarray, ext_time: np.ndarray,
                 stats: np.ndarray, bad_input: np.ndarray, ids: np.ndarray) -> pd.DataFrame:
    """The per-patient status table (index ``patient``) from the solver's arrays (the
    columns of :func:`status_columns`)."""
    import pandas as pd

    columns = status_columns(model, times, out, ext_time, stats, bad_input)
    table = pd.DataFrame({"patient": ids, **columns})
    return table.set_index("patient")


def build_result(
    model: Model,
    times: np.ndarray,
    out: np.ndarray,
    ext_time: np.ndarray,
    stats: np.ndarray,
    bad_input: np.ndarray,
    doses: list[list[Dose]],
    *,
    options,
    run_time: float,
    patient_ids: Sequence | None,
    parameters: np.ndarray | None = None,
    initial: np.ndarray | None = None,
    covariates: pd.DataFrame | None = None,
    compile_time: float = 0.0,
) -> SimulationResult:
    """Assemble the dataset, its provenance and the status table from the solver's arrays
    (``out``: states x patients x times, as the solver writes it; each state's values become
    a dataset variable without a copy)."""
    from nksim.model._codegen import toolchain_key

    n_pat = out.shape[1]
    ids = np.arange(n_pat) if patient_ids is None else np.asarray(patient_ids)
    table = status_frame(model, times, out, ext_time, stats, bad_input, ids)

    data_vars = {
        s.name: (("patient", "time"), out[i],
                 {"units": s.unit, "long_name": s.description})
        for i, s in enumerate(model.states)
    }
    if model.observables:
        from nksim.model._evaluate import observables

        par = (np.tile(model.parameter_vector(), (n_pat, 1)) if parameters is None
               else np.asarray(parameters, float))
        for name, values in observables(model, times, np.moveaxis(out, 0, -1), par).items():
            formula, unit, description = model.observables[name]
            data_vars[name] = (("patient", "time"), values,
                               {"units": unit, "long_name": description,
                                "observable": formula})
    coords = {"patient": ids, "time": ("time", times, {"units": model.time_unit})}
    if parameters is not None:
        data_vars[PARAMETERS_VAR] = (("patient", "parameter"), np.asarray(parameters, float),
                                     {"long_name": "each patient's parameters (model units)"})
        coords["parameter"] = list(model.parameter_names)
        coords["parameter_unit"] = ("parameter", [p.unit for p in model.parameters])
    if initial is not None:
        data_vars[INITIAL_VAR] = (("patient", "state"), np.asarray(initial, float),
                                  {"long_name": "each patient's initial state"})
        coords["state"] = list(model.state_names)
        coords["state_unit"] = ("state", [s.unit for s in model.states])
    attrs = {
        "model": model.name,
        "parameter_set": model.parameter_set or "",
        "structure_key": model.structure_key(),
        "rtol": options.rtol,
        "solver": "Rodas5P (Steinebach 2023), nksim engine",
        "solver_options": json.dumps(_options_dict(options)),
        "toolchain": toolchain_key(),
        "nksim_version": __version__,
        "run_time_s": run_time,
        "compile_time_s": compile_time,
        "note": "Research use only: nksim simulates; it does not advise patients.",
    }
    if covariates is not None:
        attrs["covariate_columns"] = json.dumps(
            [f"{COVARIATE_PREFIX}{c}" for c in covariates.columns if str(c) != "patient"])
        for col in covariates.columns:
            if str(col) == "patient":
                continue
            values = covariates[col].to_numpy()
            if values.dtype == object:
                values = values.astype(str)
            data_vars[f"{COVARIATE_PREFIX}{col}"] = ("patient", values)
        if "bsa_formula" in covariates.attrs:
            attrs["bsa_formula"] = str(covariates.attrs["bsa_formula"])
    import xarray as xr

    dataset = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    return SimulationResult(model=model, dataset=dataset, patients=table, doses=doses,
                            run_time=run_time, compile_time=compile_time)


def read_netcdf(path: str | Path) -> tuple[xr.Dataset, pd.DataFrame]:
    """Read a file written by :meth:`SimulationResult.to_netcdf`: ``(dataset, patients)``.

    Provenance helpers work on the dataset: :func:`parameters_frame`,
    :func:`initial_frame`, :func:`covariates_frame`, :func:`provenance`.
    """
    import xarray as xr

    with xr.open_dataset(path) as ds:
        ds = ds.load()
    import pandas as pd

    status_vars = [str(v) for v in ds.data_vars if str(v).startswith("status.")]
    patients = pd.DataFrame({v[len("status."):]: ds[v].values for v in status_vars},
                            index=pd.Index(ds["patient"].values, name="patient"))
    return ds.drop_vars(status_vars), patients
