"""Stochastic single-cell serial killing: one event-driven history per NK cell (numba).

Each NK cell, on its own counter-based random stream (Philox4x32-10 keyed by the seed and
the cell's index, so a cell's history does not depend on batch or thread), repeats:

1. **search**: the next conjugate forms after an exponential time (``search_rate``);
2. **decision**: the encounter realises its own activating and inhibitory engagement
   (lognormal around the cell's own receptor level; :mod:`nksim.biology._decision`) and the
   Vav1 switch decides, all or none;
3. **kill by route**: an armed cell with at least one granule unit delivers perforin/
   granzyme B (Erlang time to death, mean ``grz_kill_min``, about 10 min) and spends one
   unit; granules refill slowly (``granule_refill_per_h``). Without granules the cell uses
   its death-receptor capacity (FasL/TRAIL; mean ``dr_kill_min``, 45-90 min), one unit
   that regenerates slowly (``dr_refill_per_h``): so later kills switch to death receptors
   (Prager 2019) and perforin-deficient cells kill at most about once in a day;
4. **detachment** after the target dies (``detach_min``) or after a non-activating contact
   (``noact_conjugate_min``); IFN-gamma/TNF are secreted for the time spent in activated
   contact (``cytokine_per_min``);
5. **exhaustion**: after each kill the cell stops killing with probability ``exhaustion``.

Times in minutes inside the kernel; parameters carry their units and sources in
:data:`KILLING_PARAMETERS`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numba
import numpy as np

from nksim.biology._decision import _DEFAULT as _DECISION
from nksim.biology._decision import Signals
from nksim.biology._sources import (
    GULDEVALL2016,
    HOFFMAN2018,
    JENKINS2015,
    KILLING_ASSUMPTION,
    LI2015,
    PRAGER2019,
    VANHERBERGHEN2013,
)
from nksim.biology._vav1_switch import MODEL as _VAV1_MODEL
from nksim.errors import UserError, shown
from nksim.model import Parameter

MAX_KILLS = 32  # kills recorded per cell (more are counted but not itemised)
GRANZYME, DEATH_RECEPTOR = 1, 2


def _k(name, value, unit, description, source=KILLING_ASSUMPTION, upper=math.inf):
    return Parameter(name, value, unit, description, source, bounds=(0.0, upper))


#: Kill-process parameters (defaults: IL-2-activated human NK). Ranges in docs/nk-biology.md.
KILLING_PARAMETERS: tuple[Parameter, ...] = (
    _k("search_rate_per_h", 3.0, "1/hour", "conjugates formed per hour of search "
       "(range 0.5-10)"),
    _k("noact_conjugate_min", 5.0, "minute", "mean duration of a non-lethal conjugate "
       "(range 2-15)"),
    _k("grz_kill_min", 10.0, "minute", "mean time from conjugation to death, granzyme route "
       "(about 10 min, Vanherberghen 2013 via Hoffman 2018)", VANHERBERGHEN2013),
    _k("grz_shape", 4.0, "dimensionless", "Erlang shape of the granzyme kill time (range 2-8)"),
    _k("dr_kill_min", 65.0, "minute", "mean time from conjugation to death, death-receptor "
       "route (assumption within 45-90 min: Li 2014/2015 [V-src])"),
    _k("dr_shape", 5.0, "dimensionless", "Erlang shape of the death-receptor kill time "
       "(range 3-10); SD about 29 min, cf. Prf-/- detachment 67.7 +/- 5.3 (SEM, n = 34) min "
       "(Jenkins 2015 [V-src])"),
    _k("detach_min", 3.0, "minute", "detachment after target death (range 1-10); WT "
       "conjugate about 13 min, cf. 12.8 min mouse WT detachment (Jenkins 2015 [V-src])"),
    _k("granules_max", 3.0, "dimensionless", "lytic granule content in kills' worth "
       "(range 2-6; contact lowers GrzB/perforin, Prager 2019 [V-src])"),
    _k("granule_refill_per_h", 0.1, "1/hour", "granule units restored per hour "
       "(range 0.03-0.5)"),
    _k("grz_success", 0.9, "dimensionless", "probability that a lytic hit kills (range 0.7-1)",
       upper=1.0),
    _k("dr_refill_per_h", 1.0 / 24.0, "1/hour", "death-receptor capacity restored per hour "
       "(range 1/48-1/12; perforin-deficient NK kill once, Prager 2019 [V-src])"),
    _k("dr_success", 0.8, "dimensionless", "probability that a death-receptor attack kills a "
       "CD95+ target (0 for CD95-negative targets; range 0.5-1)", upper=1.0),
    _k("exhaustion", 0.1, "dimensionless", "probability of exhaustion after each kill "
       "(range 0-0.3)", upper=1.0),
    _k("cytokine_per_min", 1.0, "dimensionless", "IFN-gamma/TNF released per minute of "
       "activated contact (relative units)"),
    _k("sigma_cell", 1.0, "dimensionless", "lognormal SD of activating-receptor level between "
       "NK cells (range 0.1-1.5); calibrated to ~50 % non-killers (Vanherberghen 2013 "
       "[V-src])"),
)
_NAMES = tuple(p.name for p in KILLING_PARAMETERS)
_DEFAULTS = {p.name: p.value for p in KILLING_PARAMETERS}


@dataclass(frozen=True)
class KillingParameters:
    """Values of :data:`KILLING_PARAMETERS` (override any by keyword)."""

    search_rate_per_h: float = _DEFAULTS["search_rate_per_h"]
    noact_conjugate_min: float = _DEFAULTS["noact_conjugate_min"]
    grz_kill_min: float = _DEFAULTS["grz_kill_min"]
    grz_shape: float = _DEFAULTS["grz_shape"]
    dr_kill_min: float = _DEFAULTS["dr_kill_min"]
    dr_shape: float = _DEFAULTS["dr_shape"]
    detach_min: float = _DEFAULTS["detach_min"]
    granules_max: float = _DEFAULTS["granules_max"]
    granule_refill_per_h: float = _DEFAULTS["granule_refill_per_h"]
    grz_success: float = _DEFAULTS["grz_success"]
    dr_refill_per_h: float = _DEFAULTS["dr_refill_per_h"]
    dr_success: float = _DEFAULTS["dr_success"]
    exhaustion: float = _DEFAULTS["exhaustion"]
    cytokine_per_min: float = _DEFAULTS["cytokine_per_min"]
    sigma_cell: float = _DEFAULTS["sigma_cell"]
    perforin: bool = True

    def __post_init__(self) -> None:
        for p in KILLING_PARAMETERS:
            v = getattr(self, p.name)
            lo, hi = p.bounds
            if not (isinstance(v, int | float) and math.isfinite(v) and lo <= v <= hi):
                raise UserError(f"must be a number in [{lo:g}, {hi:g}] (got {shown(v)})",
                                field=f"killing.{p.name}")
        for name in ("grz_shape", "dr_shape"):
            v = getattr(self, name)
            if v < 1 or v != int(v):
                raise UserError(f"must be a whole number >= 1 (got {shown(v)})",
                                field=f"killing.{name}")
        for name in ("search_rate_per_h", "grz_kill_min", "dr_kill_min", "noact_conjugate_min"):
            if getattr(self, name) <= 0:
                raise UserError(f"must be > 0 (got {getattr(self, name)!r})",
                                field=f"killing.{name}")

    def replace(self, **changes) -> KillingParameters:
        return dataclasses.replace(self, **changes)

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, n) for n in _NAMES], dtype=np.float64)


# ------------------------------------------------------------------ counter-based RNG
_M32 = np.uint64(0xFFFFFFFF)


@numba.njit(cache=True, inline="always")
def _philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 (Salmon et al. 2011): four 32-bit words from counter and key."""
    m0 = np.uint64(0xD2511F53)
    m1 = np.uint64(0xCD9E8D57)
    w0 = np.uint64(0x9E3779B9)
    w1 = np.uint64(0xBB67AE85)
    mask = np.uint64(0xFFFFFFFF)
    s32 = np.uint64(32)
    for _ in range(10):
        p0 = m0 * c0
        p1 = m1 * c2
        hi0, lo0 = p0 >> s32, p0 & mask
        hi1, lo1 = p1 >> s32, p1 & mask
        c0, c1, c2, c3 = (hi1 ^ c1 ^ k0) & mask, lo1, (hi0 ^ c3 ^ k1) & mask, lo0
        k0 = (k0 + w0) & mask
        k1 = (k1 + w1) & mask
    return c0, c1, c2, c3


@numba.njit(cache=True, inline="always")
def _uniform2(ctr, cell, k0, k1):
    """Two uniforms in (0, 1) from draw ``ctr`` of stream ``cell``."""
    mask = np.uint64(0xFFFFFFFF)
    a, b, c, d = _philox(ctr & mask, ctr >> np.uint64(32), cell & mask,
                         cell >> np.uint64(32), k0, k1)
    scale = 1.0 / 9007199254740992.0  # 2^-53
    u1 = (float((a >> np.uint64(5)) * np.uint64(67108864) + (b >> np.uint64(6))) + 0.5) * scale
    u2 = (float((c >> np.uint64(5)) * np.uint64(67108864) + (d >> np.uint64(6))) + 0.5) * scale
    return u1, u2


@numba.njit(cache=True, inline="always")
def _gk(v1, v2, j1, j2):
    if v1 <= 0.0:
        return 0.0
    b = v2 - v1 + j1 * v2 + j2 * v1
    disc = b * b - 4.0 * (v2 - v1) * v1 * j2
    disc = math.sqrt(disc) if disc > 0.0 else 0.0
    if b + disc <= 0.0:
        return 1.0
    return 2.0 * v1 * j2 / (b + disc)


# indices into the parameter vector (order of KILLING_PARAMETERS)
(_SEARCH, _NOACT, _GRZ, _GRZK, _DR, _DRK, _DETACH, _GMAX, _GREFILL, _GSUCC, _DRREFILL,
 _DRSUCC, _EXH, _CYTO, _SIGCELL) = range(15)


@numba.njit(cache=True)
def _cell(cell, k0, k1, kp, perforin, sig, vav, t_end, kills, routes, times, delays, extra):
    """Simulate one NK cell; writes its kills, routes, kill times and [contacts, cytokine]."""
    la0, li0, gain, sa, si = sig[0], sig[1], sig[2], sig[3], sig[4]
    kon_k, koff_k, kon_s, koff_s, kcat_k, kcat_p0, kcat_p, km_k, km_p = (
        vav[0], vav[1], vav[2], vav[3], vav[4], vav[5], vav[6], vav[7], vav[8])
    ctr = np.uint64(0)
    one = np.uint64(1)
    u1, u2 = _uniform2(ctr, cell, k0, k1)
    ctr += one
    rc = math.exp(kp[_SIGCELL] * math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * u2))
    search = kp[_SEARCH] / 60.0
    t, t_last = 0.0, 0.0
    g, dr = kp[_GMAX], 1.0
    n, contacts, cyto = 0, 0, 0.0
    grz_k, dr_k = int(kp[_GRZK]), int(kp[_DRK])
    while True:
        u1, u2 = _uniform2(ctr, cell, k0, k1)
        ctr += one
        t += -math.log(u1) / search
        if t >= t_end:
            break
        contacts += 1
        dt = t - t_last
        t_last = t
        g = min(kp[_GMAX], g + kp[_GREFILL] / 60.0 * dt)
        dr = min(1.0, dr + kp[_DRREFILL] / 60.0 * dt)
        # decision: this encounter's engagement and the Vav1 switch
        u1, u2 = _uniform2(ctr, cell, k0, k1)
        ctr += one
        r = math.sqrt(-2.0 * math.log(u1))
        z1, z2 = r * math.cos(2 * math.pi * u2), r * math.sin(2 * math.pi * u2)
        la = la0 * rc * math.exp(sa * z1)
        li = li0 * math.exp(si * z2)
        a = la / (1.0 + la)
        i = li / (1.0 + li)
        kk = kon_k * a / (kon_k * a + koff_k)
        ss = kon_s * i / (kon_s * i + koff_s) if i > 0 else 0.0
        pv = _gk(gain * kcat_k * kk, kcat_p0 + kcat_p * ss, km_k, km_p)
        u1, u2 = _uniform2(ctr, cell, k0, k1)
        ctr += one
        if pv <= 0.5:
            t += -kp[_NOACT] * math.log(u1)
            continue
        route = 0
        success = False
        if perforin and g >= 1.0:
            g -= 1.0
            route = 1
            success = u2 < kp[_GSUCC]
            mean, shape = kp[_GRZ], grz_k
        elif dr >= 1.0:
            dr -= 1.0
            route = 2
            success = u2 < kp[_DRSUCC]
            mean, shape = kp[_DR], dr_k
        else:  # activated but unarmed: a cytokine-only contact
            mean, shape = kp[_NOACT], 1
        dur = 0.0
        for pair in range((shape + 1) // 2):  # Erlang: sum of `shape` exponentials
            u1, u2 = _uniform2(ctr, cell, k0, k1)
            ctr += one
            dur += -math.log(u1)
            if 2 * (pair + 1) <= shape:
                dur += -math.log(u2)
        dur *= mean / shape
        cyto += kp[_CYTO] * min(dur, t_end - t)
        if success and t + dur <= t_end:
            if n < routes.shape[0]:
                routes[n] = route
                times[n] = t + dur
                delays[n] = dur
            n += 1
            u1, u2 = _uniform2(ctr, cell, k0, k1)
            ctr += one
            if u1 < kp[_EXH]:
                break
        t += dur + (kp[_DETACH] if success else 0.0)
    kills[0] = n
    extra[0] = contacts
    extra[1] = cyto


@numba.njit(cache=True, parallel=True)
def _run(first, n, k0, k1, kp, perforin, sig, vav, t_end, kills, routes, times, delays,
         extra):
    for j in numba.prange(n):
        _cell(np.uint64(first + j), k0, k1, kp, perforin, sig, vav, t_end,
              kills[j:j + 1], routes[j], times[j], delays[j], extra[j])


@dataclass(frozen=True)
class SerialKillingResult:
    """Per-cell kill histories of :func:`simulate_serial_killing`."""

    kills: np.ndarray  # (cells,) number of targets killed
    routes: np.ndarray  # (cells, MAX_KILLS) 1 granzyme, 2 death receptor, 0 none
    kill_times_min: np.ndarray  # (cells, MAX_KILLS) time of each target death (min), NaN none
    kill_delays_min: np.ndarray  # (cells, MAX_KILLS) conjugation-to-death time (min), NaN none
    contacts: np.ndarray  # (cells,) conjugates formed
    cytokine: np.ndarray  # (cells,) IFN-gamma/TNF released (relative units)
    duration_h: float

    def kill_count_fractions(self, max_count: int | None = None) -> list[float]:
        """Fraction of NK cells with 0, 1, 2, ... kills (up to the largest count)."""
        top = int(self.kills.max()) if max_count is None else max_count
        counts = np.bincount(np.minimum(self.kills, top), minlength=top + 1)
        return (counts / self.kills.size).tolist()

    @property
    def nonkiller_fraction(self) -> float:
        return float(np.mean(self.kills == 0))

    def route_share_by_kill_index(self, route: int = DEATH_RECEPTOR) -> np.ndarray:
        """Share of the k-th kills (k = 1, 2, ...) made by ``route``; NaN where none."""
        made = self.routes > 0
        with np.errstate(invalid="ignore"):
            return (np.sum(self.routes == route, axis=0) / np.sum(made, axis=0))


def simulate_serial_killing(sig: Signals, n_cells: int, *, duration_h: float = 16.0,
                            params: KillingParameters | None = None, seed: int = 0,
                            first_cell: int = 0, sigma_a: float | None = None,
                            sigma_i: float | None = None) -> SerialKillingResult:
    """Simulate ``n_cells`` NK cells each meeting targets with ``sig`` for ``duration_h``.

    Cell ``first_cell + j`` always has the same history for a given ``seed``, whatever the
    batch it is simulated in or the number of threads (counter-based streams).
    """
    params = params or KillingParameters()
    if not (isinstance(n_cells, int) and n_cells >= 1):
        raise UserError(f"must be a whole number >= 1 (got {n_cells!r})", field="n_cells")
    if not (math.isfinite(duration_h) and duration_h > 0):
        raise UserError(f"must be > 0 (got {duration_h!r})", field="duration_h")
    sa = _DECISION["sigma_a"] if sigma_a is None else sigma_a
    si = _DECISION["sigma_i"] if sigma_i is None else sigma_i
    vals = {p.name: p.value for p in _VAV1_MODEL.parameters}
    vav = np.array([vals[k] for k in ("kon_K", "koff_K", "kon_S", "koff_S", "kcat_K",
                                      "kcat_P0", "kcat_P", "Km_K", "Km_P")])
    sigv = np.array([sig.LA, sig.LI, sig.gain, sa, si], dtype=np.float64)
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)
    kills = np.zeros(n_cells, dtype=np.int64)
    routes = np.zeros((n_cells, MAX_KILLS), dtype=np.int8)
    times = np.full((n_cells, MAX_KILLS), np.nan)
    delays = np.full((n_cells, MAX_KILLS), np.nan)
    extra = np.zeros((n_cells, 2))
    _run(int(first_cell), n_cells, k0, k1, params.vector(), bool(params.perforin), sigv, vav,
         duration_h * 60.0, kills, routes, times, delays, extra)
    return SerialKillingResult(kills, routes, times, delays, extra[:, 0].astype(np.int64),
                               extra[:, 1], float(duration_h))


def killing_sources():
    """Citations behind the serial-killing model."""
    return [PRAGER2019, VANHERBERGHEN2013, GULDEVALL2016, LI2015, JENKINS2015, HOFFMAN2018,
            KILLING_ASSUMPTION]


@dataclass(frozen=True)
class KillingPreset:
    """A documented single-cell experiment: NK cells, targets, kill parameters, duration."""

    name: str
    description: str
    nk: object  # NKReceptors
    target: object  # TargetLigands
    params: KillingParameters
    duration_h: float
    calibration: str

    def signals(self) -> Signals:
        from nksim.biology._decision import signals

        return signals(self.nk, self.target)


def _presets() -> dict[str, KillingPreset]:
    from nksim.biology._decision import NKReceptors, TargetLigands

    k562 = TargetLigands(nkg2d_ligand=1.0, mhc_i=0.05)
    homogeneous = KillingParameters(sigma_cell=0.1)
    return {
        "il2_human_k562": KillingPreset(
            "il2_human_k562", "IL-2-activated human NK cells vs K562-like targets, 16 h",
            NKReceptors(), k562, KillingParameters(), 16.0,
            "w_nkg2d and sigma_cell chosen so that about half of the cells kill nobody "
            "(Vanherberghen 2013 [V-src abstract]); everything else is a prediction."),
        "resting_human_k562": KillingPreset(
            "resting_human_k562", "resting human NK cells vs K562, 12 h",
            NKReceptors(gain=0.6), k562, KillingParameters(), 12.0,
            "gain 0.6 (ASSUMPTION, range 0.4-0.8) chosen for ~75 % non-cytotoxic cells "
            "(Guldevall 2016 [V-src])."),
        "mouse_rma_mult1": KillingPreset(
            "mouse_rma_mult1", "mouse NK-WT vs RMA-MULT1, 12 h (homogeneous cells)",
            NKReceptors(), TargetLigands(nkg2d_ligand=1.2, mhc_i=0.05), homogeneous, 12.0,
            "ligand 1.2 chosen for the observed mean of 1.03 kills (Sharks data [V-code]); "
            "the shape of the distribution is a prediction."),
        "mouse_rma_rae1": KillingPreset(
            "mouse_rma_rae1", "mouse NK-WT vs RMA-RAE1, 12 h (homogeneous cells)",
            NKReceptors(), TargetLigands(nkg2d_ligand=1.13, mhc_i=0.05), homogeneous, 12.0,
            "ligand 1.13 chosen for the observed mean of 0.80 kills (Sharks data [V-code])."),
    }


KILLING_PRESETS: dict[str, KillingPreset] = _presets()
