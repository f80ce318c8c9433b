"""de Pillis, Gu & Radunskaya 2006: tumour, NK, CD8+, lymphocytes, chemotherapy, IL-2 (human).

States T (tumour), N (NK), L (CD8+ T), C (circulating lymphocytes), M (chemotherapy),
I (IL-2). Doses: chemotherapy to M, IL-2 to I, tumour-infiltrating lymphocytes to L
(``v_M``, ``v_I``, ``v_L`` of the paper are dose records in nksim).
"""

from nksim.library._sources import BOUNDED_KILL, DEPILLIS2006
from nksim.model import Model, Parameter, ParameterSet, State

# CD8+ kill, de Pillis 2006: D = d (L/T)^l / (s + (L/T)^l) T, in the bounded form
# d T / (s (T/L)^l + 1) (BOUNDED_KILL; the same function for T, L > 0, finite as T -> 0 or
# L -> 0): one power per evaluation instead of the two of d L^l T / (s T^l + L^l).
_KILL = "Piecewise((0, (L <= 0) | (T <= 0)), (d*T/(s*(T/L)**l + 1), True))"


def _p(name, value, unit, description, upper=float("inf")):
    return Parameter(name, value, unit, description, DEPILLIS2006, bounds=(0.0, upper))


PATIENT9 = {
    "a": 4.31e-1,
    "b": 1.02e-9,
    "c": 6.41e-11,
    "d": 2.34,
    "l": 2.09,
    "s": 8.39e-2,
    "e": 2.08e-7,
    "f": 4.12e-2,
    "g": 1.25e-2,
    "h": 2.02e7,
    "j": 2.49e-2,
    "k": 3.66e7,
    "m": 2.04e-1,
    "q": 1.42e-6,
    "p": 3.42e-6,
    "r1": 1.1e-7,
    "r2": 6.5e-11,
    "u": 3.0e-10,
    "K_T": 0.9,
    "K_N": 0.6,
    "K_L": 0.6,
    "K_C": 0.6,
    "alpha": 7.5e8,
    "beta": 1.2e-2,
    "gamma": 0.9,
    "mu_I": 10.0,
    "p_I": 0.125,
    "g_I": 2.0e7,
}

_UNITS_AND_MEANING = {
    "a": ("1/day", "tumour growth rate"),
    "b": ("1/cell", "inverse tumour carrying capacity"),
    "c": ("1/(cell*day)", "NK kill rate of tumour cells"),
    "d": ("1/day", "maximum CD8+ kill rate"),
    "l": ("dimensionless", "CD8+ kill exponent"),
    "s": ("dimensionless", "CD8+ kill steepness (ratio at half-maximal kill)"),
    "e": ("1/day", "NK production as a fraction of circulating lymphocytes"),
    "f": ("1/day", "NK death rate"),
    "g": ("1/day", "maximum NK recruitment by tumour"),
    "h": ("cell**2", "NK recruitment steepness"),
    "j": ("1/day", "maximum CD8+ recruitment by killed tumour"),
    "k": ("cell**2/day**2", "CD8+ recruitment steepness (D is a kill rate, cell/day)"),
    "m": ("1/day", "CD8+ death rate"),
    "q": ("1/(cell*day)", "CD8+ inactivation by tumour"),
    "p": ("1/(cell*day)", "NK inactivation by tumour"),
    "r1": ("1/(cell*day)", "CD8+ stimulation by NK-tumour encounters"),
    "r2": ("1/(cell*day)", "CD8+ stimulation by lymphocyte-tumour encounters"),
    "u": ("1/(cell**2*day)", "NK regulation of CD8+"),
    "K_T": ("1/day", "chemotherapy kill of tumour cells"),
    "K_N": ("1/day", "chemotherapy kill of NK cells"),
    "K_L": ("1/day", "chemotherapy kill of CD8+ cells"),
    "K_C": ("1/day", "chemotherapy kill of lymphocytes"),
    "alpha": ("cell/day", "constant lymphocyte source"),
    "beta": ("1/day", "lymphocyte turnover"),
    "gamma": ("1/day", "chemotherapy decay rate"),
    "mu_I": ("1/day", "IL-2 decay rate"),
    "p_I": ("1/day", "maximum CD8+ proliferation by IL-2"),
    "g_I": ("IU", "IL-2 for half-maximal CD8+ proliferation"),
}

MODEL = Model(
    name="depillis2006",
    title="de Pillis, Gu & Radunskaya 2006: mixed immunotherapy and chemotherapy (human)",
    description=(
        "Tumour growth under NK and CD8+ T-cell attack with circulating lymphocytes, "
        "chemotherapy (M, log-kill 1 - exp(-M)) and IL-2 (I). Chemotherapy, IL-2 and TIL "
        "infusions are dose records to M, I and L."
    ),
    states=(
        State("T", "cell", "tumour cells", 1e6, extinction=1.0),
        State("N", "cell", "natural killer (NK) cells", 1e3),
        State("L", "cell", "tumour-specific CD8+ T cells", 10.0),
        State("C", "cell", "circulating lymphocytes", 6e8),
        State("M", "drug_unit", "chemotherapy drug in the body", 0.0),
        State("I", "IU", "interleukin-2 (IL-2)", 0.0),
    ),
    parameters=tuple(
        _p(n, PATIENT9[n], unit, meaning, upper=10.0 if n in ("l", "s") else float("inf"))
        for n, (unit, meaning) in _UNITS_AND_MEANING.items()
    ),
    expressions={
        "D": (
            _KILL,
            "cell/day",
            "CD8+ kill of tumour cells, d(L/T)^l/(s+(L/T)^l)T in a bounded form",
        ),
        "chemo": ("1 - exp(-M)", "dimensionless", "fraction of the maximal chemotherapy kill"),
    },
    equations={
        "T": "a*T*(1 - b*T) - c*N*T - D - K_T*chemo*T",
        "N": "e*C - f*N + g*T**2/(h + T**2)*N - p*N*T - K_N*chemo*N",
        "L": "-m*L + j*D**2/(k + D**2)*L - q*L*T + (r1*N + r2*C)*T - u*N*L**2 - K_L*chemo*L"
        " + p_I*L*I/(g_I + I)",
        "C": "alpha - beta*C - K_C*chemo*C",
        "M": "-gamma*M",
        "I": "-mu_I*I",
    },
    references=(DEPILLIS2006, BOUNDED_KILL),
    parameter_sets={
        "patient9": ParameterSet(
            "patient9",
            PATIENT9,
            DEPILLIS2006,
            "Patient 9 (de Pillis 2006, as coded by Patsatzis; r2 without the code's 0.8 factor).",
        ),
    },
    parameter_set="patient9",
    # de Pillis 2006 (eq. 2.1): the chemotherapy kill is K_T (1 - e^{-M}) with M in the
    # paper's arbitrary drug units, i.e. M is dimensionless by the paper's convention.
    unit_exempt={"exp(-M)": "de Pillis 2006 eq. 2.1: drug amount M in arbitrary units, "
                            "used as a dimensionless exponent (1 - e^-M)"},
    notes=(
        "Initial state: the code's commented 'tumour persistence' case (T 1e6, N 1e3, L 10, "
        "C 6e8); its default case starts from T = 3.19392e5 + 1.",
        "The Patsatzis code multiplies r2 by 0.8, a modification not applied here.",
        "Tumour-free equilibrium: C* = alpha/beta, N* = e C*/f.",
    ),
)
