"""Simulation results: labelled arrays plus a per-patient status table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from nksim import __version__
from nksim.dosing import Dose
from nksim.engine import _rodas5p
from nksim.model import Model


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`nksim.engine.simulate` returns.

    Attributes
    ----------
    dataset : xarray.Dataset with dims ``patient`` and ``time`` and one variable per
        state (its unit and meaning in ``attrs``). Values after a patient's failure
        are NaN.
    patients : DataFrame indexed by patient: ``status`` ("ok" or "failed"),
        ``message``, ``t_reached`` (where the integration stopped), ``n_steps``,
        ``n_rejected`` and ``extinction_time_<state>`` (NaN if never extinct).
    """

    model: Model
    dataset: xr.Dataset
    patients: pd.DataFrame
    doses: list[list[Dose]] = field(repr=False)
    run_time: float = 0.0

    @property
    def status_counts(self) -> dict[str, int]:
        """``{"ok": n, "failed": m}`` (only statuses that occur)."""
        return {str(k): int(v) for k, v in self.patients["status"].value_counts().items()}

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per patient and time, columns ``patient, time, <states>``."""
        frame = self.dataset.to_dataframe().reset_index()
        return frame[["patient", "time", *self.model.state_names]]


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
) -> SimulationResult:
    """Assemble the dataset and the status table from the solver's arrays."""
    n_pat = out.shape[0]
    ids = np.arange(n_pat) if patient_ids is None else np.asarray(patient_ids)
    codes = stats[:, 0].astype(int)
    messages = [
        "parameters or initial state not finite" if bad else _rodas5p.STATUS_MESSAGES[c]
        for c, bad in zip(codes, bad_input, strict=True)
    ]
    table = pd.DataFrame({
        "patient": ids,
        "status": np.where(codes == _rodas5p.OK, "ok", "failed"),
        "message": messages,
        "t_reached": stats[:, 1],
        "n_steps": stats[:, 2].astype(int),
        "n_rejected": stats[:, 3].astype(int),
    })
    for i, s in enumerate(model.states):
        if s.extinction is not None:
            table[f"extinction_time_{s.name}"] = ext_time[:, i]
    table = table.set_index("patient")

    data_vars = {
        s.name: (("patient", "time"), out[:, :, i],
                 {"units": s.unit, "long_name": s.description})
        for i, s in enumerate(model.states)
    }
    dataset = xr.Dataset(
        data_vars,
        coords={"patient": ids, "time": ("time", times, {"units": model.time_unit})},
        attrs={
            "model": model.name,
            "parameter_set": model.parameter_set or "",
            "rtol": options.rtol,
            "solver": "Rodas5P (Steinebach 2023), nksim engine",
            "nksim_version": __version__,
            "note": "Research use only: nksim simulates; it does not advise patients.",
        },
    )
    return SimulationResult(model=model, dataset=dataset, patients=table, doses=doses,
                            run_time=run_time)
