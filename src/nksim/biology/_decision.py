"""The decision of one NK cell meeting one target: receptor balance -> all-or-none activation.

Encounter model (per conjugate)
-------------------------------
Activating inputs add up to an equivalent activating-ligand density ``LA`` (in units of the
receptor's 2-D dissociation constant, as in :mod:`nksim.biology._vav1_switch`)::

    LA = w_nkg2d * NKG2D * ligand * block(sMICA) * down(TGF-b)      (induced self)
       + w_cd16 * CD16 * affinity(V158/F158) * antibody coating     (ADCC)
       + w_car * CAR * antigen                                       (CAR)
    LI = w_mhc * iKIR * licensed * MHC-I + w_pd1 * PD-1 * PD-L1      (self, checkpoints)

Each encounter realises its own densities (lognormal, ``sigma_a``, ``sigma_i``: how many
molecules reach the synapse) and the NK cell activates, all or none, when the steady-state
pVav1 fraction of the Vav1 switch exceeds 1/2, i.e. (equal Michaelis constants) when the
kinase activity ``gain * kcat_K * K*(LA)`` exceeds the phosphatase activity
``kcat_P0 + kcat_P * S*(LI)``. Education (licensing) sets ``gain``: NK cells whose
inhibitory receptors see self MHC are armed (gain 1); unlicensed cells are hyporesponsive
(``gain_unlicensed``) but also deaf to MHC-I.

Closed form for population models
---------------------------------
Let ``LA_thr(LI)`` solve ``gain kcat_K K*(LA) = kcat_P0 + kcat_P S*(LI)`` (explicit:
``K* = kappa = brake/(gain kcat_K)``, ``A = kappa koff_K/(kon_K (1 - kappa))``,
``LA_thr = A/(1 - A)``; infinite when the brake exceeds the maximal kinase activity:
inhibition then vetoes any activating signal). With lognormal ``LA`` the activation
probability is exactly ``Phi((ln LA - ln LA_thr(LI)) / sigma_a)`` at fixed ``LI``;
the logistic approximation of the normal CDF (``Phi(x) ~ 1/(1 + exp(-1.702 x))``, absolute
error < 0.01, relative error large in the tails) turns this into the Hill law
``p = S^n/(S^n + 1)``, ``S = LA/LA_thr(LI)``, ``n = 1.702/sigma_a`` (the form suggested in
science.md §6, here derived). Averaging over the lognormal ``LI``: encounters with
``LI > LI_c`` are vetoed (probability ``1 - Tc``, ``Tc = Phi(ln(LI_c/LI)/sigma_i)``,
logistic form ``1/(1 + (LI/LI_c)^ni)``); over the rest the average is a midpoint rule in
probability, so the rate law is ``Tc`` times a mean of ``m`` explicit Hill terms
(:func:`activation_rate_law`; :func:`activation_probability` is the same integral with the
exact normal CDF and fine quadrature); tests compare both with Monte-Carlo encounters.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from nksim.biology._sources import (
    ENCOUNTER_ASSUMPTION,
    KOENE1997,
    MESECKE2011,
    PEREIRA2019,
    SAGIV2016,
    WELLS2010,
)
from nksim.biology._vav1_switch import MODEL as VAV1_MODEL
from nksim.biology._vav1_switch import goldbeter_koshland
from nksim.errors import UserError
from nksim.model import Citation, Parameter

_VAV1 = {p.name: p.value for p in VAV1_MODEL.parameters}

_UNVERIFIED_CD16 = Citation(
    "FcgRIIIa F158 affinity factor",
    "F158 binds IgG1 less than V158 (Koene 1997 [V-src]); the 5-fold factor (0.2) is within the "
    "'5-10-fold' of science-nk-cancer-ageing.md §2b.",
    verified="UNVERIFIED",
    note="Range 0.1-0.5 relative to V158.",
)
_TGF = Citation(
    "TGF-beta on NK (nksim)",
    "TGF-beta down-regulates NKG2D and dampens activation; no NK-specific TGF-beta ODE model "
    "was found (science-nk-cancer-ageing.md §2a).",
    verified="assumption",
    note="Half-maximal 2 ng/mL (range 0.5-10); maximal NKG2D loss 0.7 (0.3-0.9); maximal gain "
    "loss 0.5 (0.2-0.8).",
)


def _a(name, value, unit, description, source=ENCOUNTER_ASSUMPTION, upper=math.inf):
    return Parameter(name, value, unit, description, source, bounds=(0.0, upper))


#: Parameters of the decision (value, unit, source). Ranges are in the citations' notes or
#: in ``docs/nk-biology.md``.
PARAMETERS: tuple[Parameter, ...] = (
    _a("w_nkg2d", 0.0075, "dimensionless", "equivalent activating density per unit NKG2D-ligand "
       "level (1 = K562-like) at NKG2D expression 1 (range 0.003-0.03); calibrated with "
       "sigma_cell to ~50 % IL-2 NK non-killers; induced self: Sagiv 2016 [V-src]"),
    _a("w_cd16", 0.2, "dimensionless", "equivalent activating density of fully antibody-coated "
       "targets at CD16 expression 1, V158 (range 0.05-1)"),
    _a("w_car", 0.5, "dimensionless", "equivalent activating density per unit CAR antigen at "
       "CAR expression 1 (range 0.1-5)"),
    _a("w_mhc", 0.25, "dimensionless", "equivalent inhibitory density of MHC-I at healthy-cell "
       "level 1, licensed NK (range 0.1-1; HLA-E/NKG2A inhibition: Pereira 2019 [V-src])"),
    _a("w_pd1", 0.2, "dimensionless", "equivalent inhibitory density per unit PD-1 x PD-L1 "
       "(range 0-1)"),
    _a("affinity_f158", 0.2, "dimensionless", "CD16 IgG1 affinity of F158 relative to V158",
       _UNVERIFIED_CD16, upper=1.0),
    _a("gain_unlicensed", 0.35, "dimensionless", "kinase gain of unlicensed (uneducated) NK "
       "relative to licensed (range 0.2-0.6)", upper=1.0),
    _a("sigma_a", 0.5, "dimensionless", "lognormal SD of activating engagement per encounter "
       "(range 0.2-1)"),
    _a("sigma_i", 0.5, "dimensionless", "lognormal SD of inhibitory engagement per encounter "
       "(range 0.2-1)"),
    _a("K_smica", 1.0, "ng/mL", "soluble MICA halving available NKG2D (range 0.2-5; "
       "qualitative effect: Wells 2010 [V-src abstract])"),
    _a("K_tgfb", 2.0, "ng/mL", "TGF-beta for half-maximal suppression", _TGF),
    _a("tgfb_nkg2d_max", 0.7, "dimensionless", "maximal NKG2D loss by TGF-beta", _TGF, 1.0),
    _a("tgfb_gain_max", 0.5, "dimensionless", "maximal kinase-gain loss by TGF-beta", _TGF, 1.0),
)
_DEFAULT = {p.name: p.value for p in PARAMETERS}
DECISION_PARAMETERS = PARAMETERS


@dataclass(frozen=True)
class NKReceptors:
    """Receptor make-up of an NK cell (expression relative to a typical IL-2-activated cell)."""

    nkg2d: float = 1.0
    cd16: float = 1.0
    cd16_allele: str = "V158"  # "V158", "F158" or "high_affinity" (engineered, = V158)
    car: float = 0.0
    inhibitory: float = 1.0  # self-specific KIR/NKG2A
    licensed: bool = True
    pd1: float = 0.0
    gain: float = 1.0  # kinase gain of this cell type (e.g. resting < activated)


@dataclass(frozen=True)
class TargetLigands:
    """Ligands on a target cell (relative levels; 1 = K562-like NKG2D ligand, healthy MHC-I)."""

    nkg2d_ligand: float = 1.0
    mhc_i: float = 1.0
    antibody_coating: float = 0.0  # fraction of Fc sites available to CD16 (0-1)
    car_antigen: float = 0.0
    pdl1: float = 0.0


@dataclass(frozen=True)
class Microenvironment:
    """Soluble escape factors: shed MICA (ng/mL) and TGF-beta (ng/mL)."""

    soluble_mica: float = 0.0
    tgf_beta: float = 0.0


@dataclass(frozen=True)
class Signals:
    """Mean equivalent ligand densities and kinase gain of one NK-target pairing."""

    LA: float
    LI: float
    gain: float


def _check_nonneg(obj, prefix: str) -> None:
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, bool) or isinstance(v, str):
            continue
        if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
            raise UserError(f"must be a finite number >= 0 (got {v!r})", field=f"{prefix}.{f.name}")


def signals(nk: NKReceptors, target: TargetLigands, env: Microenvironment | None = None,
            **overrides: float) -> Signals:
    """Equivalent activating/inhibitory densities and gain for ``nk`` meeting ``target``."""
    env = env or Microenvironment()
    _check_nonneg(nk, "nk")
    _check_nonneg(target, "target")
    _check_nonneg(env, "environment")
    if nk.cd16_allele not in ("V158", "F158", "high_affinity"):
        raise UserError(f"must be 'V158', 'F158' or 'high_affinity' (got {nk.cd16_allele!r})",
                        field="nk.cd16_allele")
    if target.antibody_coating > 1:
        raise UserError(f"must be between 0 and 1 (got {target.antibody_coating!r})",
                        field="target.antibody_coating")
    p = {**_DEFAULT, **overrides}
    tgf = env.tgf_beta / (p["K_tgfb"] + env.tgf_beta)
    nkg2d = nk.nkg2d * (1.0 - p["tgfb_nkg2d_max"] * tgf) / (1.0 + env.soluble_mica / p["K_smica"])
    affinity = p["affinity_f158"] if nk.cd16_allele == "F158" else 1.0
    la = (p["w_nkg2d"] * nkg2d * target.nkg2d_ligand
          + p["w_cd16"] * nk.cd16 * affinity * target.antibody_coating
          + p["w_car"] * nk.car * target.car_antigen)
    li = (p["w_mhc"] * nk.inhibitory * target.mhc_i * (1.0 if nk.licensed else 0.0)
          + p["w_pd1"] * nk.pd1 * target.pdl1)
    gain = (nk.gain * (1.0 if nk.licensed else p["gain_unlicensed"])
            * (1.0 - p["tgfb_gain_max"] * tgf))
    return Signals(float(la), float(li), float(gain))


# ------------------------------------------------------------------ the switch
def _occupancy_kinase(LA, v):
    a = LA / (1.0 + LA)
    return v["kon_K"] * a / (v["kon_K"] * a + v["koff_K"])


def _brake(LI, v):
    i = LI / (1.0 + LI)
    return v["kcat_P0"] + v["kcat_P"] * v["kon_S"] * i / (v["kon_S"] * i + v["koff_S"])


def encounter_pvav(LA, LI, gain=1.0, **vav1):
    """Steady-state pVav1 of encounters with realised densities ``LA``, ``LI`` (arrays)."""
    v = {**_VAV1, **vav1}
    LA, LI = np.asarray(LA, dtype=float), np.asarray(LI, dtype=float)
    return goldbeter_koshland(gain * v["kcat_K"] * _occupancy_kinase(LA, v), _brake(LI, v),
                              v["Km_K"], v["Km_P"])


def simulate_encounters(sig: Signals, n: int, rng: np.random.Generator, *,
                        sigma_a: float | None = None, sigma_i: float | None = None,
                        **vav1) -> tuple[np.ndarray, np.ndarray]:
    """Monte-Carlo encounters: (pVav1 per encounter, activated yes/no) for ``n`` conjugates."""
    sa = _DEFAULT["sigma_a"] if sigma_a is None else sigma_a
    si = _DEFAULT["sigma_i"] if sigma_i is None else sigma_i
    la = sig.LA * np.exp(sa * rng.standard_normal(n))
    li = sig.LI * np.exp(si * rng.standard_normal(n))
    pv = encounter_pvav(la, li, sig.gain, **vav1)
    return pv, pv > 0.5


def activation_threshold(LI, gain=1.0, **vav1):
    """``LA_thr(LI)``: activating density at which pVav1* = 1/2 (inf where impossible).

    Exact for equal Michaelis constants of kinase and SHP-1 (the model's default).
    """
    v = {**_VAV1, **vav1}
    if not math.isclose(v["Km_K"], v["Km_P"]):
        raise ValueError("activation_threshold needs Km_K == Km_P")
    kappa = np.asarray(_brake(np.asarray(LI, dtype=float), v) / (gain * v["kcat_K"]))
    kmax = v["kon_K"] / (v["kon_K"] + v["koff_K"])
    with np.errstate(divide="ignore", invalid="ignore"):
        a = kappa * v["koff_K"] / (v["kon_K"] * (1.0 - kappa))
        out = np.where((kappa < kmax) & (a < 1.0), a / (1.0 - a), np.inf)
    return out


def inhibitory_cutoff(gain=1.0, **vav1) -> float:
    """``LI_c``: inhibitory density above which no activating signal can win (inf if none)."""
    v = {**_VAV1, **vav1}
    kmax = v["kon_K"] / (v["kon_K"] + v["koff_K"])
    s = (gain * v["kcat_K"] * kmax - v["kcat_P0"]) / v["kcat_P"]  # SHP-1 fraction that balances
    if s <= 0:
        return 0.0
    if s >= 1:
        return math.inf
    i = s * v["koff_S"] / (v["kon_S"] * (1.0 - s))
    return i / (1.0 - i) if i < 1 else math.inf


def _sigmas(sigma_a, sigma_i):
    return (_DEFAULT["sigma_a"] if sigma_a is None else sigma_a,
            _DEFAULT["sigma_i"] if sigma_i is None else sigma_i)


def activation_probability(sig: Signals, *, sigma_a: float | None = None,
                           sigma_i: float | None = None, nodes: int = 400, **vav1) -> float:
    """Probability that one encounter activates the NK cell (exact up to quadrature).

    ``p = int_0^Tc Phi((ln LA - ln LA_thr(LI exp(sigma_i Phi^-1(t))))/sigma_a) dt`` with
    ``Tc = Phi(ln(LI_c/LI)/sigma_i)`` the probability that inhibition does not veto;
    midpoint rule with ``nodes`` points in ``t``.
    """
    sa, si = _sigmas(sigma_a, sigma_i)
    if sig.LA <= 0 or sig.gain <= 0:
        return 0.0
    if sig.LI <= 0:
        thr = float(activation_threshold(0.0, sig.gain, **vav1))
        return float(ndtr((math.log(sig.LA) - math.log(thr)) / sa)) if math.isfinite(thr) else 0.0
    lic = inhibitory_cutoff(sig.gain, **vav1)
    if lic <= 0:
        return 0.0
    tc = float(ndtr(math.log(lic / sig.LI) / si)) if math.isfinite(lic) else 1.0
    t = (np.arange(nodes) + 0.5) / nodes * tc
    thr = activation_threshold(sig.LI * np.exp(si * ndtri(t)), sig.gain, **vav1)
    with np.errstate(divide="ignore"):
        z = np.where(np.isfinite(thr), (math.log(sig.LA) - np.log(thr)) / sa, -np.inf)
    return float(tc * np.mean(ndtr(z)))


def activation_rate_law(sig: Signals, *, sigma_a: float | None = None,
                        sigma_i: float | None = None, m: int = 8, **vav1) -> float:
    """Closed-form rate law for population models (derivation in the module docstring).

    ``p = Tc/m * sum_k S_k^na/(S_k^na + 1)`` with ``na = 1.702/sigma_a``, ``ni = 1.702/sigma_i``,
    ``Tc = 1/(1 + (LI/LI_c)^ni)`` (no veto), ``S_k = LA/LA_thr(LI_k)`` and
    ``LI_k = LI (q_k/(1 - q_k))^(1/ni)``, ``q_k = Tc (k - 1/2)/m``: the exact integral of
    :func:`activation_probability` with the logistic form of Phi and ``m`` midpoints.
    """
    sa, si = _sigmas(sigma_a, sigma_i)
    if sig.LA <= 0 or sig.gain <= 0:
        return 0.0
    na, ni = 1.702 / sa, 1.702 / si
    if sig.LI <= 0:
        thr = float(activation_threshold(0.0, sig.gain, **vav1))
        if not math.isfinite(thr):
            return 0.0
        s = (sig.LA / thr) ** na
        return s / (s + 1.0)
    lic = inhibitory_cutoff(sig.gain, **vav1)
    if lic <= 0:
        return 0.0
    tc = 1.0 / (1.0 + (sig.LI / lic) ** ni) if math.isfinite(lic) else 1.0
    total = 0.0
    for k in range(m):
        q = tc * (k + 0.5) / m
        thr = float(activation_threshold(sig.LI * (q / (1.0 - q)) ** (1.0 / ni), sig.gain, **vav1))
        if math.isfinite(thr):
            s = (sig.LA / thr) ** na
            total += s / (s + 1.0)
    return tc * total / m


def decision_sources() -> list[Citation]:
    """Citations behind the decision model."""
    return [MESECKE2011, KOENE1997, SAGIV2016, PEREIRA2019, WELLS2010, ENCOUNTER_ASSUMPTION,
            *(p.source for p in PARAMETERS)]
