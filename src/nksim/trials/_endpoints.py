"""Trial endpoints: per patient from a time course, then per arm with 95 % CIs.

Definitions (``docs/trials.md``; day 0 = first infusion):

- ``crs_any_rate``, ``crs_grade3plus_rate``, ``icans_any_rate``: among infused patients,
  ASTCT grade >= 1 / >= 3 from the cytokine model (``nksim.therapy.toxicity_table``).
- ``b_cell_return_day_median``: among infused patients whose CD19+ B cells stayed below
  10 cells/uL for at least 7 days (``nksim.disease.b_cell_depleted``), days until they
  are back above it; Kaplan-Meier median, censored at the end of follow-up.
- ``doris_remission_3m_rate`` / ``_6m_rate`` (days 91 / 182), ``sri4_6m_rate``,
  ``steroid_free_6m_rate`` (no prednisone prescribed at day 182 and no flare by then),
  ``flare_6m_rate``: over all allocated patients (intention to treat: a patient whose
  product could not be made counts as not in remission).
- ``manufacturing_failure_rate``: among allocated patients.
- ``cost_per_patient_median``: median total cost (RMB) over infused patients;
  ``cost_per_remission``: total cost of the arm / number of DORIS remissions at 6 months.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from nksim.disease import (
    any_flare,
    b_cell_depleted,
    b_cell_recovery_day,
    doris_remission,
    sledai,
    sri4_response,
    steroid_free_at,
)
from nksim.therapy import toxicity_table
from nksim.trials._statistics import StatisticalWarning, cost_per_remission, endpoint_summary

MONTH_3, MONTH_6 = 91.0, 182.0
VISITS = (0.0, 14.0, 28.0, 56.0, 91.0, 126.0, 154.0, 182.0)  # flare assessment visits


def patient_endpoints(dataset, prednisone: np.ndarray, rngs, follow_up: float) -> pd.DataFrame:
    """One row per patient: toxicity, B-cell return, remission, steroids, flares, SLEDAI."""
    times = dataset["time"].values
    tox = toxicity_table(dataset, rngs=rngs, t_from=0.0)
    b = dataset["B"].values
    depleted = b_cell_depleted(b, times, 0.0)
    score = np.asarray(sledai(dataset))
    flare = any_flare(dataset, VISITS)
    return pd.DataFrame({
        "crs_grade": tox["crs_grade"].to_numpy(),
        "icans_grade": tox["icans_grade"].to_numpy(),
        "peak_il6_pg_ml": tox["peak_il6"].to_numpy(),
        "peak_car_cells_ul": tox["peak_car"].to_numpy(),
        "b_depleted": depleted,
        "b_cell_return_day": b_cell_recovery_day(b, times, 0.0),
        "sledai_day0": score[:, np.searchsorted(times, 0.0)],
        "sledai_6m": score[:, np.searchsorted(times, MONTH_6)],
        "doris_3m": doris_remission(dataset, prednisone, MONTH_3),
        "doris_6m": doris_remission(dataset, prednisone, MONTH_6),
        "sri4_6m": sri4_response(dataset, MONTH_6),
        "flare_6m": flare,
        "steroid_free_6m": steroid_free_at(prednisone, times, MONTH_6) & ~flare,
    })


def summarise_arm(patients: pd.DataFrame, product: str, follow_up: float, *,
                  seed: int) -> dict[str, Any]:
    """The arm's block of ``summary.json``: counts and endpoints with 95 % CIs.

    Small-sample warnings of the statistics module are not shown: each endpoint's
    ``note`` says when it is undefined (e.g. no infused patient in a control arm).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return _summarise_arm(patients, product, follow_up, seed)


def _summarise_arm(patients: pd.DataFrame, product: str, follow_up: float,
                   seed: int) -> dict[str, Any]:
    ok = patients["status"].eq("ok").to_numpy()
    infused = patients["infused"].to_numpy(bool) & ok
    itt = ok  # a failed integration is reported, not counted as an outcome

    def prop(name: str, values, mask):
        v = pd.Series(values, dtype=object).where(mask, None)
        return endpoint_summary(name, v, "proportion")

    crs = patients["crs_grade"].to_numpy(float)
    depleted = patients["b_depleted"].to_numpy(bool) & infused
    endpoints = {
        "crs_any_rate": prop("crs_any_rate", crs >= 1, infused),
        "crs_grade3plus_rate": prop("crs_grade3plus_rate", crs >= 3, infused),
        "icans_any_rate": prop("icans_any_rate",
                               patients["icans_grade"].to_numpy(float) >= 1, infused),
        "b_cell_return_day_median": endpoint_summary(
            "b_cell_return_day_median", patients["b_cell_return_day"].to_numpy(float)[depleted],
            "time_to_event", followup=follow_up),
        "doris_remission_3m_rate": prop("doris_remission_3m_rate", patients["doris_3m"], itt),
        "doris_remission_6m_rate": prop("doris_remission_6m_rate", patients["doris_6m"], itt),
        "sri4_6m_rate": prop("sri4_6m_rate", patients["sri4_6m"], itt),
        "steroid_free_6m_rate": prop("steroid_free_6m_rate", patients["steroid_free_6m"], itt),
        "flare_6m_rate": prop("flare_6m_rate", patients["flare_6m"], itt),
        "manufacturing_failure_rate": prop("manufacturing_failure_rate",
                                           patients["manufacturing_failed"], itt),
        "cost_per_patient_median": _cost_median(patients, infused),
        "cost_per_remission": _cost_per_remission(patients, itt, seed),
    }
    return {
        "n": int(len(patients)),
        "n_infused": int(infused.sum()),
        "n_failed_integration": int((~ok).sum()),
        "n_b_depleted": int(depleted.sum()),
        "product": product,
        "endpoints": endpoints,
    }


def _cost_median(patients: pd.DataFrame, infused: np.ndarray) -> dict[str, Any]:
    cost = patients["cost_rmb"].to_numpy(float)[infused]
    return endpoint_summary("cost_per_patient_median", cost, "median")


def _cost_per_remission(patients: pd.DataFrame, itt: np.ndarray, seed: int) -> dict[str, Any]:
    cost = patients["cost_rmb"].to_numpy(float)[itt]
    remission = patients["doris_6m"].to_numpy(bool)[itt]
    if cost.size == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    return cost_per_remission(cost, remission, seed=seed).to_dict()
