"""Between-patient variability: an OMEGA block, covariate models, uncertain THETA.

For patient ``i`` and parameter ``p`` (NONMEM's exponential model)::

    P_ip = THETA_p * prod_k g_k(covariates_i) * exp(eta_ip),   eta_i ~ N(0, OMEGA)

* ``OMEGA`` is the covariance of the log-scale random effects (variances on the
  diagonal, covariances off it), declared for some parameters; it must be symmetric
  and positive semi-definite. ``eta_i = A z_i`` with ``A`` a Cholesky factor of OMEGA
  and ``z_i`` standard normals from the patient's own stream
  (``patient_rng(seed, i, STREAM_ETA)``): same seed, same patient whatever the
  population size, batch, threads or arms.
* covariate models ``g_k`` (:class:`CovariateEffect`): power/allometric
  ``(cov/ref)^exponent`` (e.g. clearance ~ (weight/70)^0.75), exponential
  ``exp(coefficient (cov - ref))`` and categorical ``factors[cov]``.
* uncertainty in the population parameters: with ``theta_uncertainty`` (a covariance of
  log THETA) each replicate ``r`` of a study draws its own THETA,
  ``THETA_r = THETA exp(B w_r)``, ``w_r`` from ``patient_rng(seed, r, STREAM_THETA)``.

Values outside a parameter's declared bounds are clipped to them (as in
:func:`nksim.population.lognormal_parameters`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nksim.errors import UserError
from nksim.model import Citation, Model
from nksim.population._sampling import patient_rng

if TYPE_CHECKING:  # pandas is imported where a table is read or built (start-up time)
    import pandas as pd

#: Random streams of the individual (eta) and parameter-uncertainty (theta) draws; they
#: must differ from every other stream keyed by the same patient (tests/test_population.py;
#: they were 201 and 301, the numbers of manufacturing's apheresis wait and the bootstrap).
STREAM_ETA = 6201
STREAM_THETA = 6301

#: What :func:`omega_matrix` accepts (a string: pandas is not imported to define it).
OmegaLike = "Mapping[str, float] | pd.DataFrame | tuple[Sequence[str], Sequence[Sequence[float]]]"


def omega_matrix(omega: OmegaLike, *, field: str = "omega") -> pd.DataFrame:
    """OMEGA as a labelled, validated covariance matrix (index = columns = parameter names).

    ``omega`` is ``{name: variance}`` (a diagonal block), a square DataFrame,
    ``(names, matrix)`` or ``{"names": [...], "matrix": [[...], ...]}`` (a scenario
    table). Raises :class:`UserError` unless the matrix is square, finite, symmetric and
    positive semi-definite.
    """
    import pandas as pd

    if isinstance(omega, pd.DataFrame):
        names, matrix = list(omega.index), omega.to_numpy(dtype=float)
        if list(omega.columns) != names:
            raise UserError("rows and columns must name the same parameters in the same order",
                            field=field)
    elif isinstance(omega, Mapping) and set(omega) == {"names", "matrix"}:
        return omega_matrix((omega["names"], omega["matrix"]), field=field)
    elif isinstance(omega, Mapping):
        names = list(omega)
        try:
            matrix = np.diag([float(v) for v in omega.values()])
        except (TypeError, ValueError):
            raise UserError(f"variances must be numbers (got {dict(omega)!r})",
                            field=field) from None
    else:
        try:
            names, matrix = list(omega[0]), np.asarray(omega[1], dtype=float)
        except (TypeError, ValueError, IndexError):
            raise UserError("expected {name: variance}, a DataFrame or (names, matrix)",
                            field=field) from None
    k = len(names)
    if len(set(names)) != k:
        raise UserError(f"parameter names repeat: {names}", field=field)
    if matrix.shape != (k, k):
        raise UserError(f"expected a {k} x {k} matrix for {names} (got shape {matrix.shape})",
                        field=field)
    if not np.isfinite(matrix).all():
        raise UserError("entries must be finite numbers", field=field)
    if not np.allclose(matrix, matrix.T, rtol=1e-10, atol=1e-14):
        i, j = np.unravel_index(np.argmax(np.abs(matrix - matrix.T)), matrix.shape)
        raise UserError(f"must be symmetric: [{names[i]}, {names[j]}] = {matrix[i, j]:g} but "
                        f"[{names[j]}, {names[i]}] = {matrix[j, i]:g}", field=field)
    if k:
        eig = np.linalg.eigvalsh(matrix)
        scale = max(1.0, float(np.abs(eig).max()))
        if eig.min() < -1e-10 * scale:
            raise UserError(
                f"is not positive semi-definite (smallest eigenvalue {eig.min():.3g}): it is "
                "not a covariance matrix; check that each |covariance| <= "
                "sqrt(variance_a * variance_b) and that the correlations are consistent",
                field=field)
    return pd.DataFrame(matrix, index=names, columns=names)


def omega_from_sd(sd: Mapping[str, float], correlation: Mapping[tuple[str, str], float]
                  | None = None, *, field: str = "population.omega") -> pd.DataFrame:
    """OMEGA from log-scale SDs (``omega_pp = sd_p^2``) and correlations ``{(a, b): r}``."""
    import pandas as pd

    names = list(sd)
    s = np.array([float(sd[n]) for n in names])
    if not (np.isfinite(s).all() and (s >= 0).all()):
        raise UserError(f"standard deviations must be finite and >= 0 (got {dict(sd)!r})",
                        field=field)
    corr = np.eye(len(names))
    for (a, b), r in (correlation or {}).items():
        if a not in sd or b not in sd or a == b:
            raise UserError(f"correlation ({a}, {b}) must name two parameters of {names}",
                            field=field)
        if not -1 <= float(r) <= 1:
            raise UserError(f"correlation ({a}, {b}) must be in [-1, 1] (got {r!r})",
                            field=field)
        i, j = names.index(a), names.index(b)
        corr[i, j] = corr[j, i] = float(r)
    return omega_matrix(pd.DataFrame(corr * np.outer(s, s), index=names, columns=names),
                        field=field)


def _factor(matrix: np.ndarray) -> np.ndarray:
    """Lower-triangular A with A A^T = matrix for a PSD matrix (Cholesky; zero columns
    where a pivot vanishes, so singular blocks such as perfect correlation work)."""
    k = matrix.shape[0]
    a = np.zeros_like(matrix)
    tol = 1e-12 * max(1.0, float(np.abs(np.diag(matrix)).max(initial=0.0)))
    for j in range(k):
        d = matrix[j, j] - a[j, :j] @ a[j, :j]
        if d <= tol:
            continue
        a[j, j] = math.sqrt(d)
        for i in range(j + 1, k):
            a[i, j] = (matrix[i, j] - a[i, :j] @ a[j, :j]) / a[j, j]
    return a


@dataclass(frozen=True)
class CovariateEffect:
    """A covariate model on one parameter: ``P = THETA * g(covariate)``.

    ``model``:

    * ``"power"``: ``g = (cov / reference) ** exponent`` (allometric: weight, reference
      70 kg, exponent 0.75 for clearances, 1 for volumes);
    * ``"exponential"``: ``g = exp(coefficient * (cov - reference))``;
    * ``"categorical"``: ``g = factors[cov]`` (e.g. ``{"F": 0.8, "M": 1.0}``).

    ``source`` should say where the effect comes from (or that it is an assumption).
    """

    parameter: str
    covariate: str
    model: str = "power"
    reference: float | None = None
    exponent: float | None = None
    coefficient: float | None = None
    factors: Mapping[str, float] | None = None
    source: Citation | None = None

    def __post_init__(self) -> None:
        f = f"population.covariate_effects.{self.parameter}"
        need = {"power": ("reference", "exponent"), "exponential": ("reference", "coefficient"),
                "categorical": ("factors",)}
        if self.model not in need:
            raise UserError(f"model must be one of {', '.join(need)} (got {self.model!r})",
                            field=f"{f}.model")
        for name in need[self.model]:
            value = getattr(self, name)
            if value is None:
                raise UserError(f"a {self.model} effect needs {name}", field=f"{f}.{name}")
            if name != "factors" and (isinstance(value, bool) or not math.isfinite(value)):
                raise UserError(f"must be a finite number (got {value!r})", field=f"{f}.{name}")
        if self.model == "power" and not self.reference > 0:
            raise UserError(f"must be > 0 (got {self.reference!r})", field=f"{f}.reference")
        if self.model == "categorical" and any(
                not (isinstance(v, int | float) and math.isfinite(v) and v >= 0)
                for v in self.factors.values()):
            raise UserError(f"factors must be finite numbers >= 0 (got {dict(self.factors)!r})",
                            field=f"{f}.factors")

    def factor(self, values) -> np.ndarray:
        """``g(values)`` for an array of covariate values."""
        import pandas as pd

        f = f"population.covariate_effects.{self.parameter}"
        if self.model == "categorical":
            values = list(values)
            unknown = sorted({str(v) for v in values if v not in self.factors})
            if unknown:
                raise UserError(f"no factor for {self.covariate} = {unknown} "
                                f"(factors: {dict(self.factors)})", field=f"{f}.factors")
            return np.array([float(self.factors[v]) for v in values])
        x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(x).all() or (self.model == "power" and (x <= 0).any()):
            raise UserError(f"covariate {self.covariate} must be finite"
                            f"{' and > 0' if self.model == 'power' else ''} for a {self.model} "
                            "effect", field=f"{f}.covariate")
        if self.model == "power":
            return (x / self.reference) ** self.exponent
        return np.exp(self.coefficient * (x - self.reference))


def population_parameters(
    model: Model,
    size: int,
    seed: int,
    *,
    omega: OmegaLike | None = None,
    covariates: pd.DataFrame | None = None,
    effects: Sequence[CovariateEffect] = (),
    theta_uncertainty: OmegaLike | None = None,
    replicate: int = 0,
    start: int = 0,
) -> np.ndarray:
    """Parameters (size x n_parameters, model units and order) of patients ``start..``.

    See the module notes for the model. ``covariates`` has one row per patient, in the
    order of the patients (as from :func:`sample_covariates` with the same ``start``).
    Without ``omega``, ``effects`` and ``theta_uncertainty`` every patient gets the
    model's values.
    """
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise UserError(f"must be an integer >= 1 (got {size!r})", field="size")
    names = list(model.parameter_names)
    typical = model.parameter_vector()

    def columns(block: pd.DataFrame, field: str) -> list[int]:
        for n in block.index:
            model.parameter(n, field=f"{field}.{n}")
        return [names.index(n) for n in block.index]

    if theta_uncertainty is not None:
        block = omega_matrix(theta_uncertainty, field="theta_uncertainty")
        cols = columns(block, "theta_uncertainty")
        w = patient_rng(seed, replicate, STREAM_THETA).standard_normal(len(cols))
        typical = typical.copy()
        typical[cols] *= np.exp(_factor(block.to_numpy()) @ w)
    params = np.tile(typical, (size, 1))

    if effects:
        if covariates is None:
            raise UserError("covariate effects need covariates (none were given)",
                            field="effects")
        if len(covariates) != size:
            raise UserError(f"{len(covariates)} covariate rows for {size} patients",
                            field="covariates")
        for eff in effects:
            j = names.index(model.parameter(
                eff.parameter, field=f"effects.{eff.parameter}").name)
            if eff.covariate not in covariates:
                raise UserError(f"unknown covariate {eff.covariate!r} (covariates: "
                                f"{', '.join(map(str, covariates.columns))})",
                                field=f"effects.{eff.parameter}.covariate")
            params[:, j] *= eff.factor(covariates[eff.covariate].to_numpy())

    if omega is not None:
        block = omega_matrix(omega)
        cols = columns(block, "omega")
        a = _factor(block.to_numpy())
        z = np.array([patient_rng(seed, int(i), STREAM_ETA).standard_normal(len(cols))
                      for i in range(start, start + size)]).reshape(size, len(cols))
        params[:, cols] *= np.exp(z @ a.T)

    lo = np.array([p.bounds[0] for p in model.parameters])
    hi = np.array([p.bounds[1] for p in model.parameters])
    return np.clip(params, lo, hi)
