"""A chunk's long time-course table back as the labelled dataset of
:class:`nksim.engine.SimulationResult` (for what is computed from the trajectories after a
streamed run: a trial's endpoints and report panels)."""

from __future__ import annotations

import numpy as np

from nksim.engine._results import INITIAL_VAR, PARAMETERS_VAR
from nksim.model import Model


def dataset_from_table(model: Model, times: np.ndarray, table, *,
                       parameters: np.ndarray | None = None,
                       initial: np.ndarray | None = None):
    """``table`` (``pyarrow.Table``: ``patient, time, <states>, <observables>``, patient
    after patient, every output time of each, as :func:`nksim.engine.timecourse_table`
    writes it) as an ``xarray.Dataset`` with dims ``patient`` and ``time``: the same values
    (no arithmetic), plus each patient's ``parameters`` and ``initial`` state if given."""
    import xarray as xr

    times = np.asarray(times, float)
    n_times = times.size
    if n_times == 0 or table.num_rows % n_times:
        raise ValueError(f"{table.num_rows} rows are not whole patients of {n_times} times")
    n = table.num_rows // n_times
    recorded = table.column("time").to_numpy().reshape(n, n_times)
    if n and not (recorded == times[None, :]).all():
        raise ValueError("the table's times are not the output times, patient after patient")
    ids = table.column("patient").to_numpy()[::n_times]
    data_vars = {}
    for s in model.states:
        data_vars[s.name] = (("patient", "time"), _column(table, s.name, n, n_times),
                             {"units": s.unit, "long_name": s.description})
    for name, (formula, unit, description) in model.observables.items():
        data_vars[name] = (("patient", "time"), _column(table, name, n, n_times),
                           {"units": unit, "long_name": description, "observable": formula})
    coords = {"patient": ids, "time": ("time", times, {"units": model.time_unit})}
    if parameters is not None:
        data_vars[PARAMETERS_VAR] = (("patient", "parameter"), np.asarray(parameters, float))
        coords["parameter"] = list(model.parameter_names)
    if initial is not None:
        data_vars[INITIAL_VAR] = (("patient", "state"), np.asarray(initial, float))
        coords["state"] = list(model.state_names)
    return xr.Dataset(data_vars, coords=coords)


def _column(table, name: str, n: int, n_times: int) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(), dtype=float).reshape(n, n_times)
