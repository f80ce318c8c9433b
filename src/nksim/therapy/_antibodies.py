"""Rituximab pharmacokinetics and antibody-dependent cellular cytotoxicity (ADCC) by CD16.

Research use only. Two pieces, each a model :class:`~nksim.model.Component`:

**Rituximab PK** (:func:`rituximab_pk_component`): two compartments with a time-varying
clearance (Rozman et al. 2017, Br J Clin Pharmacol 83:1782)::

    C        = RTX1/rtx_v1                                   (mg/L = ug/mL)
    CL(t)    = rtx_cl + rtx_cl_spec*RTXS                     (L/day)
    dRTX1/dt = -CL(t)*C - rtx_q*(C - RTX2/rtx_v2)            (mg/day)
    dRTX2/dt =  rtx_q*(C - RTX2/rtx_v2)
    dRTXS/dt = -rtx_kdes*RTXS                                (dimensionless)

``RTXS`` is the specific (target-mediated) share of clearance; it is set to 1 by a bolus
at the first antibody dose (:func:`rituximab_doses`), so ``CL(t) = CL_lin + CL_spec,0
exp(-k_des (t - t_first))`` exactly as Rozman's model, with its clock starting at the
first infusion. Rozman's typical values (DLBCL, R-CHOP): CL_lin 0.252 L/d, CL_spec,0
0.278 L/d, k_des 0.143/d, V1 4.62 L. Q and V2 were not extracted (assumptions below).

**ADCC by CD16** (:func:`adcc_component`): effector cells ``E`` (cell/uL) with
antibody bound to the targets kill antigen-positive targets ``X``::

    dX/dt += -{p}_kmax*{p}_affinity*(E/{p}_eref)*C/({p}_ec50 + C)*X

``affinity`` is the relative CD16-IgG1 ADCC of the effector: the host's FcgammaRIIIa
V158F genotype for the patient's own NK cells (:data:`FCGR3A_RELATIVE_ADCC`, drawn per
patient by :func:`draw_fcgr3a`), and 1 for an infused high-affinity non-cleavable CD16
(hnCD16) product, whose CD16 does not come from the host. Without antibody (``C = 0``)
the term is zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nksim.dosing import Dose
from nksim.errors import UserError
from nksim.model import Citation, Component, Parameter, State
from nksim.population import patient_rng

# ---------------------------------------------------------------- sources
ROZMAN2017 = Citation(
    "Rozman 2017",
    "Rozman S, Grabnar I, Novakovic S, Mrhar A, Jezersek Novakovic B. Population "
    "pharmacokinetics of rituximab in patients with diffuse large B-cell lymphoma and "
    "association with clinical outcome. Br J Clin Pharmacol 2017;83:1782-1790.",
    verified="V-src",
    note="science-nk-cancer-ageing.md §2c: CL(t) = CL_lin + CL_spec,0 exp(-k_des t); CL_lin "
    "0.252 L/d (0.227-0.279), CL_spec,0 0.278 L/d (0.181-0.390), k_des 0.143/d "
    "(0.0478-0.418) without progression, 82.2 % lower with progression; V1 4.62 L (Table 3 "
    "of Br J Clin Pharmacol 2019;85:2002). Q and V2 not extracted.",
)
MULLER2012 = Citation(
    "Müller 2012",
    "Müller C, Murawski N, Wiesen MHJ, et al. The role of sex and weight on rituximab "
    "clearance and serum elimination half-life in elderly patients with DLBCL. Blood "
    "2012;119:3276-3284.",
    verified="V-src",
    note="Vdss 9.61 L, total CL 0.226 L/d (science-nk-cancer-ageing.md §2c).",
)
PEDIATRIC_RTX_PD = Citation(
    "Paediatric rituximab B-cell PD",
    "Population PD of rituximab on CD19+ B cells in children with autoimmune disease "
    "(39 children, 258 CD19 counts; PMC6624401).",
    verified="V-src",
    note="CD19+ turnover 0.02/d; rituximab raises the CD19 death rate 35-fold "
    "(science-nk-cancer-ageing.md §2c): extra death rate 0.68/d at full effect.",
)
KOENE1997 = Citation(
    "Koene 1997",
    "Koene HR, Kleijer M, Algra J, Roos D, von dem Borne AE, de Haas M. Fc gammaRIIIa-158V/F "
    "polymorphism influences the binding of IgG by natural killer cell Fc gammaRIIIa, "
    "independently of the Fc gammaRIIIa-48L/R/H phenotype. Blood 1997;90:1109-1114.",
    verified="V-src",
    note="87 white donors: FF 28, VF 44, VV 15 (Table 1); F allele 0.57; 158F NK cells bind "
    "significantly less IgG1 (science-nk-cancer-ageing.md §2b).",
)
CARTRON2002 = Citation(
    "Cartron 2002",
    "Cartron G, Dacheux L, Salles G, et al. Therapeutic activity of humanized anti-CD20 "
    "monoclonal antibody and polymorphism in IgG Fc receptor FcgammaRIIIa gene. Blood "
    "2002;99:754-758.",
    verified="V-src",
    note="Single-agent rituximab, untreated FL, n = 49: ORR at 2 months 100 % (VV) vs 67 % "
    "(F carriers). Used as a check, not calibrated to.",
)
ANTIBODY_ASSUMPTION = Citation(
    "nksim antibody assumption",
    "Chosen by nksim where no published value was extracted; the description gives the "
    "range.",
    verified="assumption",
)

# ---------------------------------------------------------------- FcgammaRIIIa V158F
#: Genotype frequencies (Koene 1997, 87 white donors: FF 28, VF 44, VV 15).
FCGR3A_GENOTYPE_COUNTS = {"VV": 15, "VF": 44, "FF": 28}
FCGR3A_GENOTYPES = ("VV", "VF", "FF")
FCGR3A_FREQUENCIES = {g: c / sum(FCGR3A_GENOTYPE_COUNTS.values())
                      for g, c in FCGR3A_GENOTYPE_COUNTS.items()}
#: ADCC of host NK cells relative to VV. ASSUMPTION: 158F binds IgG1 less (Koene 1997,
#: V-src); the size of the effect was not extracted ("5-10-fold lower affinity" is
#: UNVERIFIED). Ranges: VF 0.4-0.9, FF 0.1-0.6; VF halfway between VV and FF.
FCGR3A_RELATIVE_ADCC = {"VV": 1.0, "VF": 0.65, "FF": 0.3}
_GENOTYPE_EFFECT = KOENE1997.anchoring(
    "158F binds IgG1 less than 158V; the relative ADCC of VF (0.65) and FF (0.3) is nksim's "
    "(the size of the effect was not extracted).")
#: Random stream of :func:`nksim.population.patient_rng` for the genotype draw.
FCGR3A_STREAM = 4101


def draw_fcgr3a(seed: int, patient_ids: Sequence[int],
                frequencies: dict[str, float] | None = None) -> np.ndarray:
    """Each patient's FCGR3A V158F genotype (``"VV"``, ``"VF"`` or ``"FF"``).

    One uniform draw per patient from ``patient_rng(seed, id, FCGR3A_STREAM)``, so a
    patient's genotype does not depend on the cohort or on other random uses. Default
    frequencies: :data:`FCGR3A_FREQUENCIES` (Koene 1997).
    """
    freq = FCGR3A_FREQUENCIES if frequencies is None else frequencies
    if set(freq) != set(FCGR3A_GENOTYPES) or any(not (v >= 0) for v in freq.values()) or \
            not np.isclose(sum(freq.values()), 1.0):
        raise UserError(f"genotype frequencies must give VV, VF and FF, >= 0, summing to 1 "
                        f"(got {freq})", field="fcgr3a_frequencies")
    edges = np.cumsum([freq[g] for g in FCGR3A_GENOTYPES])
    out = []
    for i in patient_ids:
        u = patient_rng(seed, int(i), FCGR3A_STREAM).random()
        out.append(FCGR3A_GENOTYPES[min(int(np.searchsorted(edges, u, side="right")), 2)])
    return np.array(out, dtype=object)


# ---------------------------------------------------------------- rituximab PK
RTX_PARAMETERS = (
    Parameter("rtx_v1", 4.62, "L", "central volume of rituximab (Rozman 2017 DLBCL; other "
              "DLBCL models 0.95-6.4 L)", ROZMAN2017, bounds=(0.1, 50.0)),
    Parameter("rtx_v2", 5.0, "L", "peripheral volume: Müller 2012 Vdss 9.61 L minus "
              "Rozman's V1 (assumption, range 2-10 L)", ANTIBODY_ASSUMPTION,
              bounds=(0.1, 50.0)),
    Parameter("rtx_q", 0.5, "L/day", "inter-compartmental clearance (assumption, range "
              "0.2-1.5 L/d; not extracted from Rozman 2017)", ANTIBODY_ASSUMPTION,
              bounds=(0.0, 20.0)),
    Parameter("rtx_cl", 0.252, "L/day", "linear (catabolic) clearance CL_lin (95 % CI "
              "0.227-0.279)", ROZMAN2017, bounds=(0.0, 10.0)),
    Parameter("rtx_cl_spec", 0.278, "L/day", "initial specific (target-mediated) clearance "
              "CL_spec,0 (95 % CI 0.181-0.390)", ROZMAN2017, bounds=(0.0, 10.0)),
    Parameter("rtx_kdes", 0.143, "1/day", "decay of the specific clearance k_des (95 % CI "
              "0.0478-0.418; 82 % lower in patients who progressed)", ROZMAN2017,
              bounds=(0.0, 10.0)),
)


def rituximab_pk_component() -> Component:
    """Two-compartment rituximab PK with Rozman's time-varying clearance (module doc).

    States ``RTX1``, ``RTX2`` (mg) and ``RTXS`` (specific-clearance share); expression
    ``RTXC`` (mg/L), the serum concentration. Dose with :func:`rituximab_doses`.
    """
    return Component(
        name="rituximab_pk",
        description="Rituximab: two compartments, time-varying clearance (Rozman 2017).",
        states=(
            State("RTX1", "mg", "rituximab in the central compartment", 0.0),
            State("RTX2", "mg", "rituximab in the peripheral compartment", 0.0),
            State("RTXS", "dimensionless", "specific clearance share (1 at the first dose, "
                  "then decays at rtx_kdes)", 0.0),
        ),
        parameters=RTX_PARAMETERS,
        expressions={"RTXC": ("RTX1/rtx_v1", "mg/L", "serum rituximab concentration")},
        terms={
            "RTX1": ["-(rtx_cl + rtx_cl_spec*RTXS)*RTXC",
                     "-rtx_q*(RTXC - RTX2/rtx_v2)"],
            "RTX2": "rtx_q*(RTXC - RTX2/rtx_v2)",
            "RTXS": "-rtx_kdes*RTXS",
        },
        observables={"rtx_conc": ("RTX1/rtx_v1", "mg/L", "serum rituximab concentration")},
        references=(ROZMAN2017, MULLER2012, ANTIBODY_ASSUMPTION),
        notes=("CL(t) = CL_lin + CL_spec,0 exp(-k_des (t - first dose)) (Rozman 2017).",),
    )


def rituximab_doses(mg_per_m2: float, bsa_m2: float, days: Sequence[float], *,
                    infusion_hours: float = 4.0) -> list[Dose]:
    """Dose records of rituximab ``mg_per_m2`` x ``bsa_m2`` on each of ``days``.

    Each dose is an infusion of ``infusion_hours`` into ``RTX1`` (assumption: 4 h, the
    usual first-infusion length is 4-6 h); a bolus of 1 into ``RTXS`` at the first dose
    starts the clock of the time-varying clearance.
    """
    if not (np.isfinite(mg_per_m2) and mg_per_m2 >= 0):
        raise UserError(f"must be a number >= 0 (got {mg_per_m2!r})", field="rituximab.mg_m2")
    if not (np.isfinite(bsa_m2) and bsa_m2 > 0):
        raise UserError(f"must be a number > 0 (got {bsa_m2!r})", field="patient.bsa_m2")
    days = sorted(float(d) for d in days)
    if not days or mg_per_m2 == 0:
        return []
    amount = mg_per_m2 * bsa_m2
    out = [Dose("RTX1", amount, d, duration=infusion_hours / 24.0) for d in days]
    out.append(Dose("RTXS", 1.0, days[0]))
    return out


def rituximab_clearance(t_since_first: np.ndarray | float, cl_lin: float = 0.252,
                        cl_spec0: float = 0.278, k_des: float = 0.143) -> np.ndarray:
    """Rozman 2017's clearance (L/day) at ``t_since_first`` days after the first dose."""
    return cl_lin + cl_spec0 * np.exp(-k_des * np.asarray(t_since_first, float))


# ---------------------------------------------------------------- ADCC
def adcc_component(targets: Sequence[str], effector: str, *, prefix: str,
                   antibody: str = "RTXC", kmax: float = 0.68 * 0.1,
                   affinity: float = 1.0, eref: float = 1.0,
                   kmax_source: Citation = PEDIATRIC_RTX_PD,
                   description: str = "") -> Component:
    """Antibody-dependent killing of ``targets`` by CD16+ cells in state ``effector``.

    ``dX/dt += -{prefix}_kmax*{prefix}_affinity*(effector/{prefix}_eref)*
    C/({prefix}_ec50 + C)*X`` with ``C`` the antibody concentration ``antibody`` (mg/L).
    ``affinity`` is the effector's relative CD16-IgG1 ADCC (host genotype, or 1 for an
    hnCD16 product). ``kmax`` (1/day) is the kill rate at ``effector = eref`` and
    saturating antibody. Expression ``adcc_{prefix}``: targets killed per day.
    """
    if not targets:
        raise UserError("name at least one target state", field="adcc.targets")
    p = prefix
    occ = f"{antibody}/({p}_ec50 + {antibody})"
    rate = f"{p}_kmax*{p}_affinity*({effector}/{p}_eref)*{occ}"
    total = " + ".join(targets)
    return Component(
        name=f"adcc_{p}",
        description=description or f"ADCC of {', '.join(targets)} by {effector} with antibody",
        parameters=(
            Parameter(f"{p}_kmax", kmax, "1/day", "ADCC kill rate at the reference effector "
                      "level and saturating antibody", kmax_source, bounds=(0.0, 100.0)),
            Parameter(f"{p}_affinity", affinity, "dimensionless",
                      "relative CD16-IgG1 ADCC of the effector (FCGR3A genotype; 1 for "
                      "hnCD16)", _GENOTYPE_EFFECT, bounds=(0.0, 1.0)),
            Parameter(f"{p}_eref", eref, "cell/uL", "reference effector level of kmax",
                      ANTIBODY_ASSUMPTION, bounds=(1e-9, 1e9)),
            Parameter(f"{p}_ec50", 5.0, "mg/L", "antibody concentration for half-maximal "
                      "ADCC (assumption, range 0.5-50 mg/L; trough levels of 375 mg/m2 "
                      "courses are tens of mg/L)", ANTIBODY_ASSUMPTION, bounds=(1e-6, 1e4)),
        ),
        expressions={f"adcc_{p}": (f"{rate}*({total})", _unit_of_targets(targets),
                                   f"targets killed by ADCC of {effector} per day")},
        terms={x: f"-{rate}*{x}" for x in targets},
        requires=(*targets, effector),
        references=(_GENOTYPE_EFFECT, kmax_source, ANTIBODY_ASSUMPTION),
        notes=("No antibody, no ADCC: the kill rate is proportional to C/(ec50 + C).",),
    )


def _unit_of_targets(targets: Sequence[str]) -> str:
    return "cell/uL/day"
