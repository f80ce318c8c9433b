"""Global sensitivity: Sobol indices (SALib) with the model evaluated by the batched engine.

Every sample of the parameter space is one virtual patient, so the whole Saltelli design
runs as one batched :func:`nksim.engine.simulate` call.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from nksim.errors import UserError
from nksim.model import Model


def sobol_indices(
    model: Model,
    bounds: Mapping[str, tuple[float, float]],
    *,
    output: str,
    at: float,
    n: int = 1024,
    seed: int = 0,
    doses=(),
    options=None,
    second_order: bool = False,
) -> pd.DataFrame:
    """First-order (``S1``) and total (``ST``) Sobol indices of ``output`` at time ``at``.

    Parameters
    ----------
    bounds : ``{parameter: (low, high)}``, sampled uniformly (model units).
    output : a state, an observable or a formula of them (see
        :meth:`nksim.engine.SimulationResult.evaluate`).
    n : base sample size (a power of two); the engine runs ``n * (k + 2)`` patients
        (``n * (2k + 2)`` with ``second_order``).

    Returns a DataFrame indexed by parameter with ``S1``, ``S1_conf``, ``ST``, ``ST_conf``
    (95 % bootstrap half-widths, SALib). Patients whose integration failed make the
    analysis impossible and raise a UserError naming how many failed.
    """
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    from nksim.engine import simulate

    if not bounds:
        raise UserError("name at least one parameter with its range", field="bounds")
    for name, (lo, hi) in bounds.items():
        model.parameter(name, field=f"bounds.{name}")
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise UserError(f"expected low < high (got {lo!r}, {hi!r})", field=f"bounds.{name}")
    if n < 2 or n & (n - 1):
        raise UserError(f"must be a power of two (got {n})", field="n")
    problem = {"num_vars": len(bounds), "names": list(bounds),
               "bounds": [list(map(float, b)) for b in bounds.values()]}
    X = sample.sample(problem, n, calc_second_order=second_order, seed=seed)
    frame = pd.DataFrame(X, columns=list(bounds))
    if not at > 0:
        raise UserError(f"must be after the start 0 (got {at!r})", field="at")
    res = simulate(model, np.array([float(at)]), parameters=frame, doses=doses,
                   options=options)
    failed = int((res.patients["status"] == "failed").sum())
    if failed:
        raise UserError(f"{failed} of {len(frame)} samples failed to integrate",
                        field="sensitivity")
    Y = res.evaluate(output)[:, -1]
    Si = analyze.analyze(problem, Y, calc_second_order=second_order, seed=seed)
    table = pd.DataFrame({"S1": Si["S1"], "S1_conf": Si["S1_conf"],
                          "ST": Si["ST"], "ST_conf": Si["ST_conf"]}, index=list(bounds))
    table.index.name = "parameter"
    return table
