"""de Pillis, Fister, Gu et al. 2009: chemo-immunotherapy model (human).

States T (tumour), N (NK), L (CD8+ T), C (circulating lymphocytes), M (chemotherapy),
I (IL-2). Compared with de Pillis 2006: chemotherapy kill ``K_X (1 - exp(-delta_X M))``
with its own sensitivity per cell type, IL-2 stimulates NK cells and is produced by
lymphocytes and by activated CD8+ cells, CD8+ recruitment is ``j T L/(k + T)``, and
CD8+ self-regulation needs IL-2. Doses: chemotherapy to M, IL-2 to I,
tumour-infiltrating lymphocytes to L (``v_M``, ``v_I``, ``v_L`` of the paper).

The source gives two values only as ratios, e/f = 0.111 and alpha/beta = 2.25e9;
nksim derives e = 0.111 f and alpha = 2.25e9 beta from them.
"""

from nksim.library._sources import BOUNDED_KILL, DEPILLIS2009, DEPILLIS2009_FROM_RATIOS
from nksim.model import Model, Parameter, ParameterSet, State

# CD8+ kill d (L/T)^l / (s + (L/T)^l) T in the bounded form d T / (s (T/L)^l + 1)
# (BOUNDED_KILL: the same function for T, L > 0, finite as T -> 0 or L -> 0; one power)
_KILL = "Piecewise((0, (L <= 0) | (T <= 0)), (d*T/(s*(T/L)**l + 1), True))"

# Published ratios (V-code) and the values nksim derives from them.
E_OVER_F = 0.111
ALPHA_OVER_BETA = 2.25e9
_F = 1.25e-2
_BETA = 6.3e-3

# Values of the public Python reproduction (science.md §1c) [V-code].
_SHARED = {
    "a": 0.431,
    "b": 1.02e-9,
    "c": 2.9077e-13,
    "K_T": 0.9,
    "delta_T": 1.8328,
    "e": E_OVER_F * _F,
    "f": _F,
    "p": 2.794e-13,
    "p_N": 6.68e-2,
    "g_N": 2.5036e5,
    "K_N": 6.75e-2,
    "delta_N": 1.8328,
    "m": 9e-3,
    "theta": 2.5036e-3,
    "q": 3.422e-10,
    "r1": 2.9077e-11,
    "r2": 5.8467e-13,
    "p_I": 2.971,
    "g_I": 2.5036e3,
    "u": 4.417e-14,
    "kappa": 2.5036e3,
    "j": 1.245e-2,
    "k": 2.019e7,
    "K_L": 4.86e-2,
    "delta_L": 1.8328,
    "alpha": ALPHA_OVER_BETA * _BETA,
    "beta": _BETA,
    "K_C": 3.4e-2,
    "delta_C": 1.8328,
    "gamma": 0.5199,
    "mu_I": 11.7427,
    "omega": 7.874e-2,
    "phi": 2.38405e-7,
    "zeta": 2.5036e3,
}
PATIENT9 = {"d": 2.34, "l": 2.09, "s": 3.8e-3}
PATIENT10 = {"d": 1.88, "l": 1.81, "s": 3.5e-2}

_DEFAULTS = {**_SHARED, **PATIENT9}

_INF = float("inf")
# name: (unit, meaning, upper bound)
_DECLARATIONS = {
    "a": ("1/day", "tumour growth rate", 10.0),
    "b": ("1/cell", "inverse tumour carrying capacity", 1.0),
    "c": ("1/(cell*day)", "NK kill rate of tumour cells", 1.0),
    "K_T": ("1/day", "maximum chemotherapy kill of tumour cells", 100.0),
    "delta_T": ("1/drug_unit", "tumour sensitivity to chemotherapy (in 1 - exp(-delta_T M))",
                100.0),
    "e": ("1/day", "NK production as a fraction of circulating lymphocytes; nksim derives "
          "e = 0.111 f from the published ratio e/f = 0.111", 10.0),
    "f": ("1/day", "NK turnover (death) rate", 10.0),
    "p": ("1/(cell*day)", "NK inactivation by tumour", 1.0),
    "p_N": ("1/day", "maximum NK proliferation by IL-2", 100.0),
    "g_N": ("IU", "IL-2 for half-maximal NK proliferation", _INF),
    "K_N": ("1/day", "maximum chemotherapy kill of NK cells", 100.0),
    "delta_N": ("1/drug_unit", "NK sensitivity to chemotherapy", 100.0),
    "m": ("1/day", "CD8+ death rate (in the term theta m L/(theta + I))", 10.0),
    "theta": ("IU", "IL-2 scale of the CD8+ death term theta m L/(theta + I)", _INF),
    "q": ("1/(cell*day)", "CD8+ inactivation by tumour", 1.0),
    "r1": ("1/(cell*day)", "CD8+ stimulation by NK-tumour encounters", 1.0),
    "r2": ("1/(cell*day)", "CD8+ stimulation by lymphocyte-tumour encounters", 1.0),
    "p_I": ("1/day", "maximum CD8+ proliferation by IL-2", 100.0),
    "g_I": ("IU", "IL-2 for half-maximal CD8+ proliferation", _INF),
    "u": ("1/(cell**2*day)", "CD8+ self-regulation (u L^2 C I/(kappa + I))", 1.0),
    "kappa": ("IU", "IL-2 for half-maximal CD8+ self-regulation", _INF),
    "j": ("1/day", "maximum CD8+ recruitment by tumour", 10.0),
    "k": ("cell", "tumour size for half-maximal CD8+ recruitment", _INF),
    "K_L": ("1/day", "maximum chemotherapy kill of CD8+ cells", 100.0),
    "delta_L": ("1/drug_unit", "CD8+ sensitivity to chemotherapy", 100.0),
    "alpha": ("cell/day", "constant lymphocyte source; nksim derives alpha = 2.25e9 beta from "
              "the published ratio alpha/beta = 2.25e9 cells", _INF),
    "beta": ("1/day", "lymphocyte turnover (death) rate", 10.0),
    "K_C": ("1/day", "maximum chemotherapy kill of lymphocytes", 100.0),
    "delta_C": ("1/drug_unit", "lymphocyte sensitivity to chemotherapy", 100.0),
    "gamma": ("1/day", "chemotherapy decay rate", 100.0),
    "mu_I": ("1/day", "IL-2 decay rate", 1000.0),
    "omega": ("IU/(cell*day)", "maximum IL-2 production by activated CD8+ cells", _INF),
    "phi": ("IU/(cell*day)", "IL-2 production by circulating lymphocytes", _INF),
    "zeta": ("IU", "IL-2 for half-maximal IL-2 production by CD8+ cells", _INF),
    "d": ("1/day", "maximum CD8+ kill rate", 100.0),
    "l": ("dimensionless", "CD8+ kill exponent", 10.0),
    "s": ("dimensionless", "CD8+ kill steepness ((L/T)^l at half-maximal kill)", 100.0),
}


def _p(name: str) -> Parameter:
    unit, meaning, upper = _DECLARATIONS[name]
    source = DEPILLIS2009_FROM_RATIOS if name in ("e", "alpha") else DEPILLIS2009
    return Parameter(name, _DEFAULTS[name], unit, meaning, source, bounds=(0.0, upper))


MODEL = Model(
    name="depillis2009",
    title="de Pillis, Fister, Gu et al. 2009: cancer chemo-immunotherapy (human)",
    description=(
        "Tumour growth under NK and CD8+ T-cell attack with circulating lymphocytes, "
        "chemotherapy (M, kill K_X(1 - exp(-delta_X M)) per cell type) and IL-2 (I), which "
        "stimulates NK and CD8+ cells and is produced by lymphocytes and activated CD8+ "
        "cells. Chemotherapy, IL-2 and TIL infusions are dose records to M, I and L."
    ),
    states=(
        State("T", "cell", "tumour cells", 1e7, extinction=1.0),
        State("N", "cell", "natural killer (NK) cells", 2.5e8),
        State("L", "cell", "tumour-specific CD8+ T cells", 5.268e5),
        State("C", "cell", "circulating lymphocytes", 2.25e9),
        State("M", "drug_unit", "chemotherapy drug in the body", 0.0),
        State("I", "IU", "interleukin-2 (IL-2)", 1073.0),
    ),
    parameters=tuple(_p(n) for n in _DECLARATIONS),
    expressions={
        "D": (
            _KILL,
            "cell/day",
            "CD8+ kill of tumour cells, d(L/T)^l/(s+(L/T)^l)T in a bounded form",
        ),
    },
    equations={
        "T": "a*T*(1 - b*T) - c*N*T - D - K_T*(1 - exp(-delta_T*M))*T",
        "N": "e*C - f*N - p*N*T + p_N*N*I/(g_N + I) - K_N*(1 - exp(-delta_N*M))*N",
        "L": "theta*m*L/(theta + I) + j*T*L/(k + T) - q*L*T + (r1*N + r2*C)*T"
        " - u*L**2*C*I/(kappa + I) - K_L*(1 - exp(-delta_L*M))*L + p_I*L*I/(g_I + I)",
        "C": "alpha - beta*C - K_C*(1 - exp(-delta_C*M))*C",
        "M": "-gamma*M",
        "I": "-mu_I*I + phi*C + omega*L*I/(zeta + I)",
    },
    references=(DEPILLIS2009, DEPILLIS2009_FROM_RATIOS, BOUNDED_KILL),
    parameter_sets={
        "patient9": ParameterSet(
            "patient9", PATIENT9, DEPILLIS2009,
            "Patient 9 CD8+ kill parameters (d 2.34, l 2.09, s 3.8e-3); the defaults.",
        ),
        "patient10": ParameterSet(
            "patient10", PATIENT10, DEPILLIS2009,
            "Patient 10 CD8+ kill parameters (d 1.88, l 1.81, s 3.5e-2).",
        ),
    },
    parameter_set="patient9",
    notes=(
        "UNVERIFIED SIGN: the CD8+ equation of the source code has '+ theta m L/(theta + I)'. "
        "A death term would normally be negative (-theta m L/(theta + I)). nksim implements "
        "what the source says (+). The sign is doubtful; its effect is negligible whenever "
        "I >> theta = 2.5e-3 IU: theta m/(theta + I) is 2.2e-5 per day at I = 1 IU and "
        "4.5e-7 per day at I = 50 IU (about the tumour-free equilibrium), but with I = 0 it "
        "is +m L = +9e-3 L per day, a growth instead of a death of CD8+ cells.",
        "Derived values: the source gives e/f = 0.111 and alpha/beta = 2.25e9 cells; nksim "
        "sets e = 0.111 f (1.3875e-3 per day) and alpha = 2.25e9 beta (1.4175e7 cells per "
        "day). Changing f or beta alone does not change e or alpha.",
        "Initial state: the paper's N 2.5e8, L 5.268e5, C 2.25e9, M 0, I 1073 IU, with "
        "T 1e7 (the source also has T 9.8039e8). The paper calls this state an equilibrium. "
        "With these parameters it is not the tumour-free one (computed by nksim, checked in "
        "tests/test_library_depillis.py): at T = M = 0 the stable tumour-free equilibrium is "
        "C* = alpha/beta = 2.25e9, N* = e C*/(f - p_N I*/(g_N + I*)) = 2.500e8, "
        "L* = 2.99e4 (close to p_I/(u C*), since kappa = g_I) and I* = 49.6 IU; started "
        "from the paper's N, L, C, I with T = 0, L falls to 1.1e5 within a day and settles "
        "at 2.99e4. The paper's values are instead close to the stable tumour-PRESENT "
        "equilibrium of these parameters: T* 9.800e8, N* 2.505e8, L* 5.262e5, C* 2.25e9, "
        "I* 1168 IU (T, N, L, C within 0.2 %, I 8 % lower). Without treatment the default "
        "patient9 tumour grows from 1e7 to that equilibrium within about 35 days.",
        "Chemotherapy sensitivities delta_T, delta_N, delta_L, delta_C are equal (1.8328) in "
        "the source; they are separate parameters as published.",
    ),
)
