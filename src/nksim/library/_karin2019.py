"""Karin et al. 2019 saturated-removal (SR) model of senescent cells, with the Raz 2026 fits.

Stochastic model (Itô; V-code in the Alon lab's SRtools ``intervention_SR.py``)::

    dX = (eta * age - beta * X / (X + kappa)) dt + sqrt(2 epsilon) dW,   d(age)/dt = 1

X (senescent-cell abundance, model units) is reflected at 0; death is the first passage
``X >= Xc``; an optional constant extrinsic hazard ``h_ext`` adds deaths from other
causes. This declaration holds the deterministic drift (what ``nksim simulate`` and the
rendered equations show) and every parameter of the stochastic model; the stochastic
cohorts are run by :mod:`nksim.disease.ageing` on :func:`nksim.engine.integrate_sde`.

Time unit: day. Conversions from published units use a 365-day year, as SRtools does:
eta [1/day^2] = eta [1/(day*year)] / 365.

Parameter sets (labels exactly as in science.md §2a and science-nk-cancer-ageing.md §6a):

* ``karin2019_mouse``, ``karin2019_human``: Karin 2019 Fig. 4 caption [V-src];
* ``raz2026_mice_F``, ``raz2026_mice_M``, ``raz2026_human_F``, ``raz2026_human_M``:
  Raz 2026 MCMC fits as shipped in SRtools ``Preset_values/summery_mode_overall.csv``
  (``mode_overall``; kappa = 0.5 fixed) [V-code]; the paper itself was read only through a
  secondary extraction [V-src secondary].
"""

from nksim.model import Citation, Model, Parameter, ParameterSet, State

DAYS_PER_YEAR = 365.0

KARIN2019 = Citation(
    "Karin 2019",
    "Karin O, Agrawal A, Porat Z, Krizhanovsky V, Alon U. Senescent cell turnover slows "
    "with age providing an explanation for the Gompertz law. Nat Commun 2019;10:5495.",
    verified="V-src",
    doi="10.1038/s41467-019-13192-4",
    note="Fig. 4 caption values (science.md §2a). eta published in 1/(day*year), converted "
    "with a 365-day year.",
)
SRTOOLS = Citation(
    "SRtools (Alon lab)",
    "NavehRaz/SRtools, SRtools/intervention_SR.py: Euler step x += dt*(eta*t - beta*x/(x+"
    "kappa)) + sqrt(2*epsilon)*N(0,1)*sqrt(dt); x = max(x, 0); death at x >= Xc with a "
    "Brownian-bridge crossing test (science-nk-cancer-ageing.md §6a).",
    verified="V-code",
    note="Lifts the sqrt(2 epsilon) noise scaling of science.md §2a from UNVERIFIED to V-code.",
)
RAZ2026 = Citation(
    "Raz 2026 (SRtools presets)",
    "Raz N et al. 2026, Nat Aging 6:1330-1340 (preprint Research Square 2025, "
    "doi 10.21203/rs.3.rs-6946440/v1); MCMC fits as shipped in SRtools "
    "Preset_values/summery_mode_overall.csv ('mode_overall', kappa = 0.5 fixed).",
    verified="V-code",
    doi="10.1038/s43587-026-01138-7",
    note="Values read in SRtools code (V-code); the paper itself only through a secondary "
    "extraction flagged by its author as not independently verified [V-src secondary]. "
    "mice: ITP UM-HET3 controls; human: HMD Danish/Swedish cohorts.",
)
NO_EXTRINSIC = Citation(
    "nksim: no extrinsic mortality",
    "Extrinsic hazard 0 (the published model reproduced without deaths from other causes).",
    verified="assumption",
    note="Range 0 to ~5e-3 per year for people (Raz 2026 ExtH 5.3-7.1 in years, derived).",
)
_YEAR = DAYS_PER_YEAR

# name: eta [1/day^2], beta [1/day], kappa, epsilon [1/day], Xc
KARIN2019_MOUSE = {"eta": 0.084 / _YEAR, "beta": 0.15, "kappa": 0.5, "epsilon": 0.16,
                   "Xc": 17.0}
KARIN2019_HUMAN = {"eta": 0.00135 / _YEAR, "beta": 0.15, "kappa": 0.5, "epsilon": 0.142,
                   "Xc": 17.0, "h_ext": 0.4e-3 / _YEAR}
RAZ2026_MICE_F = {"eta": 7.26e-4, "beta": 0.630, "kappa": 0.5, "epsilon": 1.479, "Xc": 29.7}
RAZ2026_MICE_M = {"eta": 3.36e-4, "beta": 0.181, "kappa": 0.5, "epsilon": 1.302, "Xc": 42.6}
RAZ2026_HUMAN_F = {"eta": 1.50e-5, "beta": 0.617, "kappa": 0.5, "epsilon": 0.335,
                   "Xc": 12.88}
RAZ2026_HUMAN_M = {"eta": 1.14e-5, "beta": 0.478, "kappa": 0.5, "epsilon": 0.098, "Xc": 6.32}

#: Species of each parameter set ("mouse" or "human"): sets the report's age unit.
SPECIES = {"karin2019_mouse": "mouse", "karin2019_human": "human",
           "raz2026_mice_F": "mouse", "raz2026_mice_M": "mouse",
           "raz2026_human_F": "human", "raz2026_human_M": "human"}

# name: unit, meaning, upper bound
_DECLARATIONS = {
    "eta": ("1/day**2", "rise of senescent-cell production with age (production = eta*age)",
            1.0),
    "beta": ("1/day", "maximal removal rate of senescent cells", 100.0),
    "kappa": ("dimensionless", "half-saturation of removal (model units of X)", 1e3),
    "epsilon": ("1/day", "noise amplitude (diffusion coefficient, X^2 per day)", 1e3),
    "Xc": ("dimensionless", "death threshold of X (first passage)", 1e4),
    "h_ext": ("1/day", "extrinsic (non-senescence) mortality hazard", 1.0),
}


def _p(name: str) -> Parameter:
    unit, meaning, upper = _DECLARATIONS[name]
    value = KARIN2019_MOUSE.get(name, 0.0)
    return Parameter(name, value, unit, meaning,
                     NO_EXTRINSIC if name == "h_ext" else KARIN2019, bounds=(0.0, upper))


MODEL = Model(
    name="karin2019",
    title="Karin et al. 2019: saturated removal of senescent cells (SR model)",
    description=(
        "Senescent cells X are produced at a rate rising linearly with age (eta*age) and "
        "removed by a saturating process (beta X/(X+kappa)), with white noise of diffusion "
        "epsilon; death at the first passage X >= Xc. The equations below are the drift; "
        "stochastic cohorts: nksim ageing (docs/ageing.md)."
    ),
    states=(
        State("X", "dimensionless", "senescent-cell abundance (model units)", 0.0),
        State("age", "day", "age (d(age)/dt = 1, as SRtools' y)", 0.0),
    ),
    parameters=tuple(_p(n) for n in _DECLARATIONS),
    equations={
        "X": "eta*age - beta*X/(X + kappa)",
        "age": "1",
    },
    references=(KARIN2019, SRTOOLS, RAZ2026),
    parameter_sets={
        "karin2019_mouse": ParameterSet(
            "karin2019_mouse", KARIN2019_MOUSE, KARIN2019,
            "Karin 2019 Fig. 4 mouse fit (C57BL/6J, MPD): eta 0.084/(day*year), beta 0.15/day, "
            "kappa 0.5, epsilon 0.16/day, Xc 17 [V-src]."),
        "karin2019_human": ParameterSet(
            "karin2019_human", KARIN2019_HUMAN, KARIN2019,
            "Karin 2019 Fig. 4 human fit (~60-fold lower eta): eta 0.00135/(day*year), beta "
            "0.15/day, kappa 0.5, epsilon 0.142/day, Xc 17, extrinsic mortality 0.4e-3/year "
            "[V-src]."),
        "raz2026_mice_F": ParameterSet(
            "raz2026_mice_F", RAZ2026_MICE_F, RAZ2026,
            "Raz 2026 fit, female UM-HET3 mice (ITP controls), SRtools mode_overall [V-code]."),
        "raz2026_mice_M": ParameterSet(
            "raz2026_mice_M", RAZ2026_MICE_M, RAZ2026,
            "Raz 2026 fit, male UM-HET3 mice (ITP controls), SRtools mode_overall [V-code]."),
        "raz2026_human_F": ParameterSet(
            "raz2026_human_F", RAZ2026_HUMAN_F, RAZ2026,
            "Raz 2026 fit 'combined_human_F', women, HMD Danish/Swedish cohorts, SRtools "
            "mode_overall [V-code]; no extrinsic mortality (fitted ExtH not per sex)."),
        "raz2026_human_M": ParameterSet(
            "raz2026_human_M", RAZ2026_HUMAN_M, RAZ2026,
            "Raz 2026 fit 'combined_human_M', men, HMD Danish/Swedish cohorts, SRtools "
            "mode_overall [V-code]; no extrinsic mortality (fitted ExtH not per sex)."),
    },
    parameter_set="karin2019_mouse",
    notes=(
        "Noise: sqrt(2 epsilon) dW (SRtools, V-code). X is reflected at 0; nksim reflects by "
        "mirroring (X -> |X|, exact in law for Brownian motion) where SRtools projects "
        "(max(X, 0)).",
        "Raz 2026 across mammals (secondary): Xc^2/epsilon ~ 600 d, beta Xc/epsilon ~ 10, "
        "Xc >= ~10 kappa.",
        "Half-lives 'about 5 days young vs 25 days old' are UNVERIFIED; only days vs weeks is "
        "confirmed (Karin 2019 abstract).",
    ),
)
