"""NK clearance of senescent cells over age, and the interventions that change it.

The SR removal rate of one arm at age t (days) is (:data:`~._sources.NK_BRIDGE`)::

    beta(t)  = beta0 * [(1 - s) + s * C(t) / C_ref(t)]            s = NK share of removal
    C(t)     = F(t) * [kill(t) * count(t) * r_prf + a_inf * N_inf(t) / N_pool]
    count(t) = 1 + c_count * max(0, age - age0)                   (relative NK number)
    kill(t)  = max(0.05, 1 - d_cell * max(0, age - age0))         (per-cell killing)
    F(t)     = cytokine factor while a course runs, else 1
    N_inf(t) = sum_j cells_j * 2^(-(t - t_j)/t_half)              (infused NK, t >= t_j)

(the age decline kill(t) is the patient's own cells'; the infused cells' killing is
``a_inf`` relative to young endogenous cells, times the cytokine factor), and senolysis
adds first-order removal ``- delta X`` while it runs.

``C_ref(t)``: with ``relative_to_fit`` (the default) it is the wild-type endogenous
capacity ``count(t) * kill(t)`` without interventions: the published fits were made on real
survival data, which already carry the age-related NK decline, so the fitted beta0 is taken
to include it; the control arm stays the published model, and interventions (infusions,
cytokines) and genotypes (perforin loss) act relative to it (infused young-like cells then
count for more where endogenous killing has declined). With ``relative_to_fit = false``,
``C_ref = 1`` (young adult) and the decline itself lowers removal with age.
Without an ``[arms.nk]`` table an arm has ``beta(t) = beta0``: the published model.
The result is a per-step table of inputs ``(beta multiplier, eta multiplier, delta)``
read by the SR drift (:mod:`._cohort`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nksim.disease.ageing._sources import DEFAULTS

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class NKLayer:
    """NK capacity over age (all rates per year of age after ``decline_start_years``)."""

    share: float = DEFAULTS["nk_share"].value
    per_cell_decline_per_year: float = DEFAULTS["per_cell_decline_per_year"].value
    count_change_per_year: float = DEFAULTS["count_change_per_year"].value
    decline_start_years: float = 0.0
    perforin_residual: float = DEFAULTS["perforin_residual"].value
    pool_cells: float = DEFAULTS["endogenous_nk_human"].value
    relative_to_fit: bool = True


@dataclass(frozen=True)
class Senolysis:
    """First-order removal ``rate_per_day`` from ``start_years`` (to ``stop_years``)."""

    rate_per_day: float
    start_years: float
    stop_years: float = math.inf


@dataclass(frozen=True)
class Infusions:
    """Adoptive NK infusions: ``count`` doses of ``cells`` every ``every_years``."""

    start_years: float
    every_years: float
    count: int
    cells: float
    half_life_days: float
    activity: float = DEFAULTS["infused_activity"].value
    product: str = "autologous_nk"

    def times_days(self) -> np.ndarray:
        return (self.start_years + self.every_years * np.arange(self.count)) * DAYS_PER_YEAR


@dataclass(frozen=True)
class Cytokines:
    """NK-boosting cytokine courses: per-cell killing x ``factor`` for ``duration_days``."""

    start_years: float
    every_years: float
    count: int
    duration_days: float
    factor: float = DEFAULTS["cytokine_factor"].value


@dataclass(frozen=True)
class ArmInputs:
    """What changes removal in one arm."""

    nk: NKLayer | None = None
    senolysis: tuple[Senolysis, ...] = ()
    infusions: tuple[Infusions, ...] = ()
    cytokines: tuple[Cytokines, ...] = ()
    extra: dict = field(default_factory=dict)


def _cytokine_factor(t: np.ndarray, courses: tuple[Cytokines, ...]) -> np.ndarray:
    f = np.ones_like(t)
    for c in courses:
        for j in range(c.count):
            a = (c.start_years + j * c.every_years) * DAYS_PER_YEAR
            f = np.where((t >= a) & (t < a + c.duration_days), f * c.factor, f)
    return f


def _endogenous(t: np.ndarray, nk: NKLayer) -> tuple[np.ndarray, np.ndarray]:
    over = np.maximum(0.0, t / DAYS_PER_YEAR - nk.decline_start_years)
    count = np.maximum(0.0, 1.0 + nk.count_change_per_year * over)
    kill = np.maximum(0.05, 1.0 - nk.per_cell_decline_per_year * over)
    return count, kill


def nk_capacity(t_days: np.ndarray, arm: ArmInputs) -> np.ndarray:
    """C(t): NK killing capacity relative to a young adult (1 = young, no infusions)."""
    t = np.asarray(t_days, dtype=float)
    nk = arm.nk or NKLayer(share=0.0)
    count, kill = _endogenous(t, nk)
    act = _cytokine_factor(t, arm.cytokines)
    infused = np.zeros_like(t)
    for inf in arm.infusions:
        for t_j in inf.times_days():
            on = t >= t_j
            decay = np.exp(-math.log(2.0) * np.where(on, t - t_j, 0.0) / inf.half_life_days)
            infused += np.where(on, inf.cells * inf.activity * decay, 0.0)
    return act * (kill * count * nk.perforin_residual + infused / nk.pool_cells)


def removal_multiplier(t_days: np.ndarray, arm: ArmInputs) -> np.ndarray:
    """beta(t)/beta0 of an arm (1 everywhere for an arm without an NK layer)."""
    t = np.asarray(t_days, dtype=float)
    if arm.nk is None and not arm.infusions and not arm.cytokines:
        return np.ones_like(t)
    nk = arm.nk or NKLayer()
    ref = np.ones_like(t)
    if nk.relative_to_fit:
        count, kill = _endogenous(t, nk)
        ref = count * kill
    return (1.0 - nk.share) + nk.share * nk_capacity(t, arm) / np.maximum(ref, 1e-12)


def senolysis_rate(t_days: np.ndarray, arm: ArmInputs) -> np.ndarray:
    """delta(t), 1/day: first-order senolytic removal."""
    t = np.asarray(t_days, dtype=float)
    d = np.zeros_like(t)
    for s in arm.senolysis:
        on = (t >= s.start_years * DAYS_PER_YEAR) & (t < s.stop_years * DAYS_PER_YEAR)
        d += np.where(on, s.rate_per_day, 0.0)
    return d


def input_table(arm: ArmInputs, dt: float, t_end: float) -> np.ndarray:
    """Per-step table ``(beta multiplier, eta multiplier, delta)`` for steps 0..t_end/dt.

    Each step is evaluated at its midpoint, so a schedule is integrated to O(dt^2).
    """
    k = np.arange(int(round(t_end / dt)) + 1)
    t = (k + 0.5) * dt
    return np.ascontiguousarray(np.column_stack([
        removal_multiplier(t, arm), np.ones_like(t), senolysis_rate(t, arm)]))
