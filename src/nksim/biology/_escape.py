"""Tumour escape from NK (and CD8+ T) cells: parameters with documented effects (issue 9 §5).

Four mechanisms act on the decision model (:mod:`nksim.biology._decision`), hence on the
assay and on the kill rates of a tumour model:

- **MHC-I down-regulation** (``mhc_loss``, fraction lost): less inhibitory input to
  licensed NK cells (missing self: NK killing rises) and less antigen presentation to
  CD8+ T cells (their killing falls, ``mhc / (mhc + K_mhc_T)``);
- **NKG2D-ligand shedding** (``ligand_shedding``, fraction of membrane MICA/ULBP shed,
  and the soluble MICA it produces, ``soluble_mica`` ng/mL): less membrane ligand, and
  soluble MICA blocks NKG2D (``1/(1 + sMICA/K_smica)``, Wells 2010 qualitatively);
- **PD-L1** (``pdl1``, relative level) on PD-1+ NK cells (``nk_pd1``): an extra
  phosphatase input on the same Vav1 node as KIR/NKG2A (assumption); on PD-1+ CD8+ T cells
  ``1/(1 + pd1_T pdl1/K_pd1_T)``;
- **TGF-beta** (``tgf_beta`` ng/mL): NKG2D down-regulation and a lower kinase gain in NK
  cells; CD8+ cytotoxicity ``1/(1 + tgf/K_tgfb_T)``.

The tumour model is the de Pillis 2005 tumour-NK-CD8+ model of nksim's library, composed
by scaling its NK kill rate ``c`` by the ratio of NK activation probabilities (escaped /
baseline; closed-form rate law) and its CD8+ kill rate ``d`` by the CD8+ factor.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from nksim.biology._decision import _DEFAULT as _DECISION
from nksim.biology._decision import (
    Microenvironment,
    NKReceptors,
    TargetLigands,
    activation_probability,
    signals,
)
from nksim.biology._serial_killing import KillingParameters
from nksim.biology._sources import DEPILLIS2005_ESCAPE
from nksim.errors import UserError
from nksim.model import Citation, Parameter

_T_ASSUMPTION = Citation(
    "nksim escape factors",
    "CD8+ T-cell recognition scales with presented MHC-I; PD-1/PD-L1 and TGF-beta damp "
    "CD8+ killing (hyperbolic forms chosen by nksim); sMICA produced by shedding.",
    verified="assumption",
    note="K_mhc_T 0.2 (range 0.05-0.5, relative MHC-I); K_pd1_T 0.5 (0.2-2); K_tgfb_T 2 ng/mL "
    "(0.5-10).",
)
ESCAPE_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("K_mhc_T", 0.2, "dimensionless", "MHC-I level (relative) for half-maximal CD8+ "
              "recognition", _T_ASSUMPTION),
    Parameter("K_pd1_T", 0.5, "dimensionless", "PD-1 x PD-L1 halving CD8+ killing",
              _T_ASSUMPTION),
    Parameter("K_tgfb_T", 2.0, "ng/mL", "TGF-beta halving CD8+ killing", _T_ASSUMPTION),
    Parameter("smica_per_shedding", 2.0, "ng/mL", "soluble MICA produced when all membrane "
              "ligand is shed (range 0.5-10; serum sMICA in patients ~0.1-several ng/mL "
              "[UNVERIFIED])", _T_ASSUMPTION),
)
_E = {p.name: p.value for p in ESCAPE_PARAMETERS}


@dataclass(frozen=True)
class EscapeProfile:
    """Escape mechanisms of a tumour (0 = none)."""

    mhc_loss: float = 0.0  # fraction of MHC-I lost (0-1)
    ligand_shedding: float = 0.0  # fraction of membrane NKG2D ligand shed (0-1)
    soluble_mica: float | None = None  # ng/mL; default produced by shedding
    pdl1: float = 0.0  # PD-L1 level on the tumour (relative)
    tgf_beta: float = 0.0  # ng/mL in the tumour microenvironment
    nk_pd1: float = 1.0  # PD-1 on NK cells (relative; 0 = PD-1 negative)
    t_pd1: float = 1.0  # PD-1 on CD8+ T cells (relative)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise UserError(f"must be a finite number >= 0 (got {v!r})",
                                field=f"escape.{f.name}")
        for name in ("mhc_loss", "ligand_shedding"):
            if getattr(self, name) > 1:
                raise UserError(f"must be a fraction in [0, 1] (got {getattr(self, name)!r})",
                                field=f"escape.{name}")

    @property
    def smica(self) -> float:
        if self.soluble_mica is not None:
            return self.soluble_mica
        return self.ligand_shedding * _E["smica_per_shedding"]


def apply_escape(nk: NKReceptors, target: TargetLigands, env: Microenvironment,
                 esc: EscapeProfile) -> tuple[NKReceptors, TargetLigands, Microenvironment]:
    """The NK cell, target and microenvironment after the tumour's escape mechanisms."""
    target = dataclasses.replace(
        target, mhc_i=target.mhc_i * (1.0 - esc.mhc_loss),
        nkg2d_ligand=target.nkg2d_ligand * (1.0 - esc.ligand_shedding),
        pdl1=target.pdl1 + esc.pdl1)
    nk = dataclasses.replace(nk, pd1=max(nk.pd1, esc.nk_pd1))
    env = dataclasses.replace(env, soluble_mica=env.soluble_mica + esc.smica,
                              tgf_beta=env.tgf_beta + esc.tgf_beta)
    return nk, target, env


def nk_kill_factor(esc: EscapeProfile, nk: NKReceptors | None = None,
                   target: TargetLigands | None = None) -> float:
    """NK activation probability with escape, relative to without.

    Computed with the exact integral (:func:`activation_probability`), not the closed-form
    rate law: the rate law's logistic stand-in for the normal CDF is close in absolute
    terms (< 0.01) but not in relative terms where activation is rare (about 0.01 here),
    and a ratio of two such probabilities was off by up to 4x (shedding 0.5: 0.125 against
    0.030).
    """
    nk = nk or NKReceptors()
    target = target or TargetLigands(nkg2d_ligand=1.0, mhc_i=0.5)
    env = Microenvironment()
    sa = math.hypot(_DECISION["sigma_a"], KillingParameters().sigma_cell)  # cells pooled
    base = activation_probability(signals(dataclasses.replace(nk, pd1=max(nk.pd1, esc.nk_pd1)),
                                          target, env), sigma_a=sa)
    if base <= 0:
        raise UserError("the NK cells are not activated by this target even without escape",
                        field="target")
    return activation_probability(signals(*apply_escape(nk, target, env, esc)), sigma_a=sa) / base


def cd8_kill_factor(esc: EscapeProfile, mhc_i: float = 1.0) -> float:
    """CD8+ T-cell killing with escape, relative to without (MHC-I, PD-L1, TGF-beta)."""
    def rec(m):
        return m / (m + _E["K_mhc_T"])

    mhc = rec(mhc_i * (1.0 - esc.mhc_loss)) / rec(mhc_i)
    pd = 1.0 / (1.0 + esc.t_pd1 * esc.pdl1 / _E["K_pd1_T"])
    tgf = 1.0 / (1.0 + esc.tgf_beta / _E["K_tgfb_T"])
    return mhc * pd * tgf


def escape_tumour_model(esc: EscapeProfile, parameter_set: str = "ln", **decision):
    """de Pillis 2005 with NK kill ``c`` and CD8+ kill ``d`` scaled by the escape factors."""
    from nksim.library import get_model

    model = get_model("depillis2005", parameter_set)
    c = model.parameter("c").value
    d = model.parameter("d").value
    fn, ft = nk_kill_factor(esc, **decision), cd8_kill_factor(esc)
    out = model.with_values({"c": c * fn, "d": d * ft})
    return dataclasses.replace(out, references=(*out.references, DEPILLIS2005_ESCAPE))


def tumour_after(esc: EscapeProfile, days: float = 60.0, *, parameter_set: str = "ln",
                 nk_only: bool = False, cd8_only: bool = False, T0: float = 1e6) -> float:
    """Tumour cells after ``days`` in the composed model (optionally one effector only)."""
    from nksim.engine import SolverOptions, simulate

    model = escape_tumour_model(esc, parameter_set)
    if nk_only:
        model = model.with_values({"d": 0.0})
    if cd8_only:
        model = model.with_values({"c": 0.0})
    y0 = model.initial_vector()
    y0[model.state_names.index("T")] = T0
    res = simulate(model, np.array([0.0, days]), initial=y0[None, :],
                   options=SolverOptions(rtol=1e-8, atol=1e-8, threads=1))
    if res.status_counts.get("ok", 0) != 1:
        raise RuntimeError(f"tumour model failed: {res.patients['message'].iloc[0]}")
    return float(res.dataset["T"].values[0, -1])
