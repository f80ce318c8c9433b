"""de Pillis, Radunskaya & Wiseman 2005: tumour, NK and CD8+ T cells (mouse; human sets).

States T (tumour), N (NK), L (CD8+ T). The CD8+ kill term is ratio-dependent,
``D = d (L/T)^lambda / (s + (L/T)^lambda) T``, written in the bounded form
``d L^lambda T / (s T^lambda + L^lambda)`` (nksim DESIGN.md); CD8+ recruitment is
driven by that kill, ``j D^2/(k + D^2) L``. The paper's exponent is lambda, so the
parameter is called ``lambda`` (the model language renames it in generated code).

Parameter sets: ``nn``, ``nl``, ``ln``, ``ll`` (the mouse fits by NKG2D-ligand status
of the tumour used for the NK and CD8+ parameters, n = non-transduced, l =
ligand-transduced) and ``patient9``, ``patient10`` (the human sets of the public
reproductions; which table of the paper they come from is UNVERIFIED).
"""

from nksim.library._sources import BOUNDED_KILL, DEPILLIS2005, DEPILLIS2005_HUMAN
from nksim.model import Model, Parameter, ParameterSet, State

# CD8+ kill d (L/T)^lambda / (s + (L/T)^lambda) T in the bounded form
# d T / (s (T/L)^lambda + 1) (BOUNDED_KILL: the same function for T, L > 0, finite as
# T -> 0 or L -> 0; one power)
_KILL = "Piecewise((0, (L <= 0) | (T <= 0)), (d*T/(s*(T/L)**lambda + 1), True))"

# Mouse values as coded in S-Ng/Immune-Response-to-Tumor-Growth getParameters.m [V-code].
# The declared (default) values are the nn set; the parameters below that differ
# between the four mouse sets are c, g (NK side) and d, lambda, s, j (CD8+ side).
_SHARED = {
    "a": 5.14e-1,
    "b": 1.02e-9,
    "sigma": 1.3e4,
    "f": 4.12e-2,
    "h": 2.02e7,
    "p": 1.0e-7,
    "m": 2.0e-2,
    "k": 2.02e7,
    "q": 3.42e-10,
    "r": 1.1e-7,
}
NN = {"c": 3.23e-7, "g": 2.5e-2, "d": 1.43, "lambda": 5.8e-1, "s": 2.73, "j": 3.75e-2}
NL = {"c": 3.23e-7, "g": 2.5e-2, "d": 3.60, "lambda": 4.6e-1, "s": 1.61, "j": 3.75e-2}
LN = {"c": 3.5e-6, "g": 2.0e-1, "d": 3.51, "lambda": 9.0e-1, "s": 5.07, "j": 1.13e-1}
LL = {"c": 3.5e-6, "g": 2.0e-1, "d": 7.17, "lambda": 7.5e-1, "s": 4.0e-1, "j": 3.0e-1}
# Human sets (S-Ng "human patient 9/10", MeFAST baseline = patient 9) [UNVERIFIED].
# c is 3.23e-7 (S-Ng's human block has 3.23e-1, almost certainly a typo); the values
# not listed here are the shared mouse values above, as in both public codes.
PATIENT9 = {"c": 3.23e-7, "g": 2.5e-2, "d": 5.80, "lambda": 1.36, "s": 0.25, "j": 3.75e-2}
PATIENT10 = {**PATIENT9, "d": 4.23, "lambda": 1.43, "s": 0.36}

_DEFAULTS = {**_SHARED, **NN}

# name: (unit, meaning, upper bound)
_DECLARATIONS = {
    "a": ("1/day", "tumour growth rate", 10.0),
    "b": ("1/cell", "inverse tumour carrying capacity", 1.0),
    "c": ("1/(cell*day)", "NK kill rate of tumour cells", 1.0),
    "d": ("1/day", "maximum CD8+ kill rate", 100.0),
    "lambda": ("dimensionless", "CD8+ kill exponent (lambda of the paper)", 10.0),
    "s": ("dimensionless", "CD8+ kill steepness ((L/T)^lambda at half-maximal kill)", 100.0),
    "sigma": ("cell/day", "constant NK source (sigma of the paper)", 1e12),
    "f": ("1/day", "NK death rate", 10.0),
    "g": ("1/day", "maximum NK recruitment by tumour", 10.0),
    "h": ("cell**2", "NK recruitment steepness (T^2 at half-maximal recruitment)", 1e30),
    "p": ("1/(cell*day)", "NK inactivation by tumour", 1.0),
    "m": ("1/day", "CD8+ death rate", 10.0),
    "j": ("1/day", "maximum CD8+ recruitment by killed tumour", 10.0),
    "k": (
        "cell**2/day**2",
        "CD8+ recruitment steepness (D^2 at half-maximal recruitment; D is a kill rate in "
        "cells/day)",
        1e30,
    ),
    "q": ("1/(cell*day)", "CD8+ inactivation by tumour", 1.0),
    "r": ("1/(cell*day)", "CD8+ recruitment by NK lysis of tumour cells (r N T)", 1.0),
}


def _p(name: str) -> Parameter:
    unit, meaning, upper = _DECLARATIONS[name]
    return Parameter(name, _DEFAULTS[name], unit, meaning, DEPILLIS2005, bounds=(0.0, upper))


MODEL = Model(
    name="depillis2005",
    title="de Pillis, Radunskaya & Wiseman 2005: cell-mediated immune response to tumour",
    description=(
        "Logistic tumour growth under attack by NK cells (mass action) and tumour-specific "
        "CD8+ T cells (ratio-dependent kill D). NK cells have a constant source and are "
        "recruited by tumour; CD8+ cells are recruited by the kill they do and by NK lysis."
    ),
    states=(
        State("T", "cell", "tumour cells", 5e3, extinction=1.0),
        State("N", "cell", "natural killer (NK) cells", 1e3),
        State("L", "cell", "tumour-specific CD8+ T cells", 1.0),
    ),
    parameters=tuple(_p(n) for n in _DECLARATIONS),
    expressions={
        "D": (
            _KILL,
            "cell/day",
            "CD8+ kill of tumour cells, d(L/T)^lambda/(s+(L/T)^lambda)T in a bounded form",
        ),
    },
    equations={
        "T": "a*T*(1 - b*T) - c*N*T - D",
        "N": "sigma - f*N + g*T**2/(h + T**2)*N - p*N*T",
        "L": "-m*L + j*D**2/(k + D**2)*L - q*L*T + r*N*T",
    },
    references=(DEPILLIS2005, DEPILLIS2005_HUMAN, BOUNDED_KILL),
    parameter_sets={
        "nn": ParameterSet(
            "nn", NN, DEPILLIS2005,
            "Mouse, non-transduced tumour for both NK and CD8+ parameters (the defaults).",
        ),
        "nl": ParameterSet(
            "nl", NL, DEPILLIS2005,
            "Mouse, non-transduced tumour (NK parameters), ligand-transduced (CD8+ parameters).",
        ),
        "ln": ParameterSet(
            "ln", LN, DEPILLIS2005,
            "Mouse, ligand-transduced tumour (NK parameters), non-transduced (CD8+ parameters).",
        ),
        "ll": ParameterSet(
            "ll", LL, DEPILLIS2005,
            "Mouse, ligand-transduced tumour for both NK and CD8+ parameters.",
        ),
        "patient9": ParameterSet(
            "patient9", PATIENT9, DEPILLIS2005_HUMAN,
            "Human 'patient 9' of the public codes (MeFAST baseline): d 5.80, lambda 1.36, "
            "s 0.25 with c 3.23e-7, g 2.5e-2, j 3.75e-2; every other value is the shared "
            "mouse value. Source table UNVERIFIED.",
        ),
        "patient10": ParameterSet(
            "patient10", PATIENT10, DEPILLIS2005_HUMAN,
            "Human 'patient 10' of S-Ng: d 4.23, lambda 1.43, s 0.36; c, g, j and every "
            "other value as patient9 (S-Ng's human block sets only d, lambda, s per patient). "
            "Source table UNVERIFIED.",
        ),
    },
    parameter_set="nn",
    notes=(
        "Initial state: T 5e3, N 1e3, L 1 cells, the initial conditions of the S-Ng "
        "reproduction (MainScript.m, simulated over 0-35 days); the paper's own initial "
        "conditions were not seen.",
        "Mouse parameter values are as coded in S-Ng getParameters.m, said to be the paper's "
        "Table 1 [V-code]; the paper's table itself was not seen.",
        "The human sets (patient9, patient10) are UNVERIFIED: which table or column of the "
        "paper they come from is not confirmed.",
        "S-Ng's human parameter block has c = 3.23e-1, almost certainly a typo for 3.23e-7 "
        "(the mouse value; MeFAST's baseline has c = 0.0323 per 1e5 cells = 3.23e-7 per "
        "cell); nksim uses 3.23e-7. That block also has k = 2.0e7 where the mouse block has "
        "2.02e7 (MeFAST: 2.019e7); nksim keeps 2.02e7 for every set.",
        "MeFAST (Do et al.) works in units of 1e5 cells: its b, c, h, k, p, q, r, sigma are "
        "the per-cell values scaled accordingly (e.g. sigma 0.13 = 1.3e4 cells/day, "
        "h 2.019e-3 = 2.019e7 cells^2). Its b, g, h, j, k differ from the values here in the "
        "third or fourth digit (e.g. b 1.0235e-9 per cell, g 0.0249 and j 0.0374 per day).",
        "Tumour-free equilibrium: T = L = 0, N* = sigma/f.",
    ),
)
