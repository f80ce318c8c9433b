"""Parameter variability across virtual patients.

Every patient has its own random stream, derived from the run's seed and the
patient's index (``SeedSequence(seed, spawn_key=(index,))``), so patient 7 gets the
same parameters whether 10 or 10,000 patients are generated, in any batch order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nksim.errors import UserError
from nksim.model import Model


def patient_rng(seed: int, index: int, stream: int = 0) -> np.random.Generator:
    """The random generator of patient ``index`` (``stream`` separates independent uses)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, index)))


def lognormal_parameters(
    model: Model,
    size: int,
    seed: int,
    sigma: float | Mapping[str, float],
) -> np.ndarray:
    """Parameters (size x n_parameters) log-normal around the model's values.

    ``value_i = typical * exp(sigma * z_i)`` with ``z_i ~ N(0, 1)``; ``sigma`` is one
    number for every parameter (``{"all": 0.2}`` in scenario files) or per parameter.
    One normal draw is made per parameter in declaration order whatever ``sigma``
    says, so giving one parameter variability does not change the others' draws.
    Values outside a parameter's bounds are clipped to them.
    """
    if size < 1:
        raise UserError(f"must be >= 1, got {size}", field="size")
    sig = _sigma_vector(model, sigma)
    typical = model.parameter_vector()
    lo = np.array([p.bounds[0] for p in model.parameters])
    hi = np.array([p.bounds[1] for p in model.parameters])
    z = np.empty((size, typical.size))
    for i in range(size):
        z[i] = patient_rng(seed, i).standard_normal(typical.size)
    return np.clip(typical * np.exp(sig * z), lo, hi)


def _sigma_vector(model: Model, sigma: float | Mapping[str, float]) -> np.ndarray:
    if not isinstance(sigma, Mapping):
        sigma = {"all": float(sigma)}
    unknown = set(sigma) - {"all"} - set(model.parameter_names)
    if unknown:
        raise UserError(f"unknown parameter(s) {sorted(unknown)} "
                        f"(parameters: {', '.join(model.parameter_names)})",
                        field="sigma")
    default = float(sigma.get("all", 0.0))
    vec = np.array([float(sigma.get(name, default)) for name in model.parameter_names])
    if not np.all(np.isfinite(vec)) or np.any(vec < 0):
        raise UserError("every sigma must be a finite number >= 0",
                        field="sigma")
    return vec


def read_parameters_file(model: Model, path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one row per patient, one column per parameter (model units) from CSV/Parquet.

    Columns not named keep the model's value; an optional ``patient`` column gives
    patient ids. Returns ``(parameters, patient_ids)``.
    """
    import pandas as pd

    path = Path(path)
    field = "population.parameters_file"
    if not path.is_file():
        raise UserError(f"file not found: {path}", field=field)
    try:
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # pandas raises many kinds; report them all the same way
        raise UserError(f"cannot read {path}: {exc}".splitlines()[0], field=field) from None
    ids = table.pop("patient").to_numpy() if "patient" in table else np.arange(len(table))
    unknown = set(table.columns) - set(model.parameter_names)
    if unknown:
        raise UserError(f"unknown parameter column(s) {sorted(unknown)}", field=field)
    if len(table) == 0:
        raise UserError(f"{path} has no rows", field=field)
    params = np.tile(model.parameter_vector(), (len(table), 1))
    for j, name in enumerate(model.parameter_names):
        if name in table:
            col = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(col)
            if bad.any():
                raise UserError(f"column {name!r} row {int(np.argmax(bad)) + 1}: not a number",
                                field=field)
            lo, hi = model.parameter(name).bounds
            if np.any((col < lo) | (col > hi)):
                raise UserError(f"column {name!r} has values outside [{lo:g}, {hi:g}]",
                                field=field)
            params[:, j] = col
    return params, ids


