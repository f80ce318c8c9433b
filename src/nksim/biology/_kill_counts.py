"""Kill counts per NK cell: Poisson, zero-inflated Poisson and Gamma-Poisson fits by ML.

The families of the Orca package (sthsci/Orca [V-code]) fitted by maximum likelihood with
scipy and compared by AIC (lower is better) and AIC weights:

- ``poisson``: every cell kills at the same rate, ``P(k) = Pois(k; mu)``;
- ``zip``: a fraction ``pi`` never kills, the rest are Poisson(``mu``);
- ``gamma_poisson`` (negative binomial): rates vary continuously between cells,
  ``lambda ~ Gamma(shape r, mean mu)``, variance ``mu + mu^2/r``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from nksim.errors import UserError

FAMILIES = ("poisson", "zip", "gamma_poisson")


@dataclass(frozen=True)
class CountFit:
    """One fitted family: parameters (MLE), log-likelihood and AIC."""

    family: str
    params: dict[str, float]
    loglik: float
    aic: float

    def pmf(self, k) -> np.ndarray:
        k = np.asarray(k)
        p = self.params
        if self.family == "poisson":
            return stats.poisson.pmf(k, p["mu"])
        if self.family == "zip":
            return (1 - p["pi"]) * stats.poisson.pmf(k, p["mu"]) + p["pi"] * (k == 0)
        r = p["r"]
        return stats.nbinom.pmf(k, r, r / (r + p["mu"]))


def _check(counts) -> np.ndarray:
    k = np.asarray(counts)
    if k.ndim != 1 or k.size < 2:
        raise UserError("need at least two kill counts", field="counts")
    if not np.all(np.isfinite(k)) or np.any(k < 0) or np.any(k != np.round(k)):
        raise UserError("kill counts must be whole numbers >= 0", field="counts")
    if k.sum() == 0:
        raise UserError("no kills at all: nothing to fit", field="counts")
    return k.astype(np.int64)


def _hist(k):
    """Distinct counts and how many cells have each (likelihoods are sums over these)."""
    return np.unique(k, return_counts=True)


def _fit_poisson(k):
    mu = k.mean()
    v, c = _hist(k)
    ll = float(np.dot(c, stats.poisson.logpmf(v, mu)))
    return CountFit("poisson", {"mu": float(mu)}, ll, 2 * 1 - 2 * ll)


def _fit_zip(k):
    v, c = _hist(k)
    pos, cpos, n0 = v[v > 0], c[v > 0], int(np.sum(k == 0))

    def nll(x):
        mu, pi = math.exp(x[0]), 1 / (1 + math.exp(-x[1]))
        p0 = pi + (1 - pi) * math.exp(-mu)
        return -(n0 * math.log(p0) + cpos.sum() * math.log(1 - pi)
                 + np.dot(cpos, stats.poisson.logpmf(pos, mu)))

    best = min((optimize.minimize(nll, [math.log(max(k.mean(), 1e-3)) + s, z],
                                  method="Nelder-Mead",
                                  options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000})
                for s in (0.0, 0.5) for z in (-3.0, 0.0)), key=lambda r: r.fun)
    mu, pi = math.exp(best.x[0]), 1 / (1 + math.exp(-best.x[1]))
    return CountFit("zip", {"mu": mu, "pi": pi}, -best.fun, 2 * 2 + 2 * best.fun)


def _fit_gamma_poisson(k):
    mu = k.mean()
    v, c = _hist(k)

    def nll(x):
        r = math.exp(x[0])
        return -np.dot(c, stats.nbinom.logpmf(v, r, r / (r + mu)))  # ML of mu: sample mean

    res = optimize.minimize_scalar(lambda y: nll([y]), bounds=(-8.0, 12.0), method="bounded",
                                   options={"xatol": 1e-9})
    r = math.exp(res.x)
    return CountFit("gamma_poisson", {"mu": float(mu), "r": r}, -float(res.fun),
                    2 * 2 + 2 * float(res.fun))


def fit_kill_counts(counts) -> dict[str, CountFit]:
    """Fit the three families to per-cell kill counts; AIC in each :class:`CountFit`."""
    k = _check(counts)
    return {"poisson": _fit_poisson(k), "zip": _fit_zip(k), "gamma_poisson": _fit_gamma_poisson(k)}


def compare_kill_count_models(counts) -> dict:
    """Fits, AIC differences and Akaike weights; ``best`` is the lowest AIC."""
    fits = fit_kill_counts(counts)
    aic = {n: f.aic for n, f in fits.items()}
    best = min(aic, key=aic.get)
    delta = {n: a - aic[best] for n, a in aic.items()}
    w = {n: math.exp(-d / 2) for n, d in delta.items()}
    total = sum(w.values())
    k = np.asarray(counts)
    return {
        "n_cells": int(k.size),
        "mean": float(k.mean()),
        "variance": float(k.var(ddof=1)),
        "zero_fraction": float(np.mean(k == 0)),
        "best": best,
        "models": {n: {"params": f.params, "loglik": f.loglik, "aic": f.aic,
                       "delta_aic": delta[n], "akaike_weight": w[n] / total}
                   for n, f in fits.items()},
    }


def counts_from_table(table: dict[int, int]) -> np.ndarray:
    """Per-cell counts from a histogram ``{kills: number of cells}``."""
    return np.repeat(np.array(list(table), dtype=np.int64), list(table.values()))
