"""de Pillis 2005, 2006 and 2009 checked against truths derived without nksim.

The truths are: the published parameter tables and equations, transcribed here by hand
from the project's science reference (shared/reference/science.md §1; the ratio form
``d (L/T)^l / (s + (L/T)^l)`` of the kill term, not nksim's bounded form); closed-form
solutions of special cases (logistic growth, first-order decay, linear source-and-decay);
equilibria found with scipy; and a second,
independent integrator (scipy's Radau at rtol = atol = 1e-12) run on the hand
transcription. No expected number in this file was produced by nksim.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq, root

from nksim.dosing import Dose
from nksim.engine import SolverOptions, simulate
from nksim.library import get_model
from nksim.model import compile_model
from nksim.units import parse_unit

TIGHT = SolverOptions(rtol=1e-10, atol=1e-10, threads=1)
DEFAULT = SolverOptions(threads=1)

# ======================================================================================
# Published parameter tables (science.md §1a-1c), transcribed independently of nksim
# ======================================================================================
_P2005_SHARED = dict(a=5.14e-1, b=1.02e-9, sigma=1.3e4, f=4.12e-2, h=2.02e7, p=1.0e-7,
                     m=2.0e-2, k=2.02e7, q=3.42e-10, r=1.1e-7)
P2005 = {
    "nn": dict(_P2005_SHARED, c=3.23e-7, g=2.5e-2, d=1.43, s=2.73, j=3.75e-2, **{"lambda": 0.58}),
    "nl": dict(_P2005_SHARED, c=3.23e-7, g=2.5e-2, d=3.60, s=1.61, j=3.75e-2, **{"lambda": 0.46}),
    "ln": dict(_P2005_SHARED, c=3.5e-6, g=2.0e-1, d=3.51, s=5.07, j=1.13e-1, **{"lambda": 0.90}),
    "ll": dict(_P2005_SHARED, c=3.5e-6, g=2.0e-1, d=7.17, s=0.40, j=3.0e-1, **{"lambda": 0.75}),
    "patient9": dict(_P2005_SHARED, c=3.23e-7, g=2.5e-2, d=5.80, s=0.25, j=3.75e-2,
                     **{"lambda": 1.36}),
    "patient10": dict(_P2005_SHARED, c=3.23e-7, g=2.5e-2, d=4.23, s=0.36, j=3.75e-2,
                      **{"lambda": 1.43}),
}
P2006 = {
    "patient9": dict(
        a=4.31e-1, b=1.02e-9, c=6.41e-11, d=2.34, l=2.09, s=8.39e-2, e=2.08e-7, f=4.12e-2,
        g=1.25e-2, h=2.02e7, j=2.49e-2, k=3.66e7, m=2.04e-1, q=1.42e-6, p=3.42e-6, r1=1.1e-7,
        r2=6.5e-11, u=3.0e-10, K_T=0.9, K_N=0.6, K_L=0.6, K_C=0.6, alpha=7.5e8, beta=1.2e-2,
        gamma=0.9, mu_I=10.0, p_I=0.125, g_I=2.0e7,
    ),
}
# 2009 in the source's own parametrisation: e_f = e/f and alpha_beta = alpha/beta.
_P2009_SHARED = dict(
    a=0.431, b=1.02e-9, c=2.9077e-13, K_T=0.9, delta_T=1.8328, e_f=0.111, f=1.25e-2,
    p=2.794e-13, p_N=6.68e-2, g_N=2.5036e5, K_N=6.75e-2, delta_N=1.8328, m=9e-3,
    theta=2.5036e-3, q=3.422e-10, r1=2.9077e-11, r2=5.8467e-13, p_I=2.971, g_I=2.5036e3,
    u=4.417e-14, kappa=2.5036e3, j=1.245e-2, k=2.019e7, K_L=4.86e-2, delta_L=1.8328,
    alpha_beta=2.25e9, beta=6.3e-3, K_C=3.4e-2, delta_C=1.8328, gamma=0.5199,
    mu_I=11.7427, omega=7.874e-2, phi=2.38405e-7, zeta=2.5036e3,
)
P2009 = {
    "patient9": dict(_P2009_SHARED, d=2.34, l=2.09, s=3.8e-3),
    "patient10": dict(_P2009_SHARED, d=1.88, l=1.81, s=3.5e-2),
}
PUBLISHED = {"depillis2005": P2005, "depillis2006": P2006, "depillis2009": P2009}
CASES = [(name, ps) for name, table in PUBLISHED.items() for ps in table]


def nksim_values(name: str, P: dict) -> dict:
    """The published table in nksim's parametrisation (2009: e and alpha from the ratios)."""
    if name != "depillis2009":
        return dict(P)
    out = {k: v for k, v in P.items() if k not in ("e_f", "alpha_beta")}
    out["e"] = P["e_f"] * P["f"]
    out["alpha"] = P["alpha_beta"] * P["beta"]
    return out


def nksim_vector(model, name: str, P: dict) -> np.ndarray:
    values = nksim_values(name, P)
    assert set(values) == set(model.parameter_names)
    return np.array([values[n] for n in model.parameter_names], dtype=float)


# ======================================================================================
# The published equations, transcribed by hand (unbounded ratio form of the kill term).
# Each returns the list of additive terms of every right-hand side, so that a test can
# judge a difference against the size of the terms that were summed.
# ======================================================================================
def ratio_kill(d, lam, s, L, T):
    """d (L/T)^lam / (s + (L/T)^lam): the published per-tumour-cell CD8+ kill rate.

    Only defined for T, L > 0; at T = 0 or L = 0 the kill of tumour cells (this rate
    times T) is 0, its limit, which is what the caller uses there.
    """
    if T <= 0.0 or L <= 0.0:
        return 0.0
    x = (L / T) ** lam
    return d * x / (s + x)


def terms_2005(y, P):
    T, N, L = y
    D = ratio_kill(P["d"], P["lambda"], P["s"], L, T) * T
    return [
        [P["a"] * T, -P["a"] * P["b"] * T * T, -P["c"] * N * T, -D],
        [P["sigma"], -P["f"] * N, P["g"] * T**2 / (P["h"] + T**2) * N, -P["p"] * N * T],
        [-P["m"] * L, P["j"] * D**2 / (P["k"] + D**2) * L, -P["q"] * L * T, P["r"] * N * T],
    ]


def terms_2006(y, P):
    T, N, L, C, M, I = y
    D = ratio_kill(P["d"], P["l"], P["s"], L, T)
    chemo = 1.0 - math.exp(-M)
    return [
        [P["a"] * T, -P["a"] * P["b"] * T * T, -P["c"] * N * T, -D * T, -P["K_T"] * chemo * T],
        [P["e"] * C, -P["f"] * N, P["g"] * T**2 / (P["h"] + T**2) * N, -P["p"] * N * T,
         -P["K_N"] * chemo * N],
        [-P["m"] * L, P["j"] * (D * T) ** 2 / (P["k"] + (D * T) ** 2) * L, -P["q"] * L * T,
         P["r1"] * N * T, P["r2"] * C * T, -P["u"] * N * L**2, -P["K_L"] * chemo * L,
         P["p_I"] * L * I / (P["g_I"] + I)],
        [P["alpha"], -P["beta"] * C, -P["K_C"] * chemo * C],
        [-P["gamma"] * M],
        [-P["mu_I"] * I],
    ]


def terms_2009(y, P):
    T, N, L, C, M, I = y
    D = ratio_kill(P["d"], P["l"], P["s"], L, T)

    def chemo(delta):
        return 1.0 - math.exp(-delta * M)

    return [
        [P["a"] * T, -P["a"] * P["b"] * T * T, -P["c"] * N * T, -D * T,
         -P["K_T"] * chemo(P["delta_T"]) * T],
        [P["f"] * P["e_f"] * C, -P["f"] * N, -P["p"] * N * T, P["p_N"] * N * I / (P["g_N"] + I),
         -P["K_N"] * chemo(P["delta_N"]) * N],
        # the source's '+ theta m L/(theta + I)' (sign doubtful, kept as published)
        [P["theta"] * P["m"] * L / (P["theta"] + I), P["j"] * T * L / (P["k"] + T),
         -P["q"] * L * T, P["r1"] * N * T, P["r2"] * C * T,
         -P["u"] * L**2 * C * I / (P["kappa"] + I), -P["K_L"] * chemo(P["delta_L"]) * L,
         P["p_I"] * L * I / (P["g_I"] + I)],
        [P["beta"] * P["alpha_beta"], -P["beta"] * C, -P["K_C"] * chemo(P["delta_C"]) * C],
        [-P["gamma"] * M],
        [-P["mu_I"] * I, P["phi"] * C, P["omega"] * L * I / (P["zeta"] + I)],
    ]


TERMS = {"depillis2005": terms_2005, "depillis2006": terms_2006, "depillis2009": terms_2009}


def reference_rhs(name, y, P):
    """(dy/dt, scale): the sum of the terms and the sum of their absolute values."""
    terms = TERMS[name](y, P)
    return (np.array([math.fsum(t) for t in terms]),
            np.array([math.fsum(abs(x) for x in t) for t in terms]))


def random_states(name, rng, n):
    """Positive states spread over many orders of magnitude (cells 1..1e10)."""
    cells = 10.0 ** rng.uniform(0, 10, size=(n, 3 if name == "depillis2005" else 4))
    if name == "depillis2005":
        return cells
    M = 10.0 ** rng.uniform(-3, 1, size=(n, 1))
    I = 10.0 ** rng.uniform(-2, 6, size=(n, 1))
    return np.hstack([cells, M, I])


def perturbed(P, rng):
    """The published values times independent factors in [0.5, 2] (log-uniform).

    Exponents stay in (0, 2.5] so that (L/T)^l over ten decades stays finite.
    """
    out = {k: v * 2.0 ** rng.uniform(-1, 1) for k, v in P.items()}
    for key in ("lambda", "l"):
        if key in out:
            out[key] = min(out[key], 2.5)
    return out


# ======================================================================================
# Declarations
# ======================================================================================
@pytest.mark.parametrize(("name", "pset"), CASES)
def test_parameter_values_are_the_published_ones(name, pset):
    model = get_model(name, pset)
    expected = nksim_values(name, PUBLISHED[name][pset])
    got = {p.name: p.value for p in model.parameters}
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-14), key


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_every_parameter_has_unit_meaning_bounds_and_source(name):
    model = get_model(name)
    for p in model.parameters:
        parse_unit(p.unit)
        assert p.description.strip(), p.name
        lo, hi = p.bounds
        assert lo <= p.value <= hi, p.name
        assert p.source.verified in ("V-src", "V-code", "UNVERIFIED", "assumption")
    for s in model.states:
        assert s.description.strip()
    # T is extinct below one cell; nothing else (the others have source terms or doses)
    assert {s.name: s.extinction for s in model.states if s.extinction} == {"T": 1.0}


def test_depillis2005_declaration():
    model = get_model("depillis2005")
    assert model.state_names == ("T", "N", "L")
    assert model.parameter_set == "nn"
    assert [s.initial for s in model.states] == [5e3, 1e3, 1.0]  # S-Ng MainScript.m
    assert set(model.parameter_sets) == {"nn", "nl", "ln", "ll", "patient9", "patient10"}
    for ps in ("patient9", "patient10"):
        human = get_model("depillis2005", ps)
        for key in ("c", "d", "lambda", "s", "g", "j"):
            assert human.parameter(key).source.verified == "UNVERIFIED"
    notes = " ".join(model.notes)
    assert "3.23e-1" in notes and "1e5" in notes


def test_depillis2009_declaration():
    model = get_model("depillis2009")
    assert model.state_names == ("T", "N", "L", "C", "M", "I")
    assert [s.unit for s in model.states] == ["cell"] * 4 + ["drug_unit", "IU"]
    assert model.parameter_set == "patient9"
    assert set(model.parameter_sets) == {"patient9", "patient10"}
    # e and alpha are nksim's derivation from the published ratios, and say so
    assert model.parameter("e").value == pytest.approx(0.111 * 1.25e-2, rel=1e-15)
    assert model.parameter("alpha").value == pytest.approx(2.25e9 * 6.3e-3, rel=1e-15)
    for key in ("e", "alpha"):
        assert "derive" in model.parameter(key).description
    notes = " ".join(model.notes)
    assert "UNVERIFIED" in notes and "theta" in notes


# ======================================================================================
# Right-hand side and Jacobian against the hand transcription
# ======================================================================================
@pytest.mark.parametrize(("name", "pset"), CASES)
def test_rhs_matches_published_equations(name, pset):
    """Published values, random positive states: agreement to ~1e-12 of the term sizes."""
    model = get_model(name, pset)
    fn = compile_model(model)
    P = PUBLISHED[name][pset]
    p = nksim_vector(model, name, P)
    rng = np.random.default_rng(2005)
    out = np.empty(len(model.states))
    for y in random_states(name, rng, 200):
        ref, scale = reference_rhs(name, y, P)
        fn.rhs(np.ascontiguousarray(y), p, out)
        np.testing.assert_array_less(np.abs(out - ref), 1e-12 * scale + 1e-300)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_rhs_matches_published_equations_with_random_parameters(name):
    """Random parameters too: several published values coincide (g_I = kappa = zeta, the
    four deltas), so only distinct values can show that every symbol is in its place."""
    model = get_model(name)
    fn = compile_model(model)
    base = next(iter(PUBLISHED[name].values()))
    rng = np.random.default_rng(7)
    out = np.empty(len(model.states))
    for y in random_states(name, rng, 300):
        P = perturbed(base, rng)
        ref, scale = reference_rhs(name, y, P)
        fn.rhs(np.ascontiguousarray(y), nksim_vector(model, name, P), out)
        np.testing.assert_array_less(np.abs(out - ref), 1e-12 * scale + 1e-300)


def fd_jacobian(name, y, P, rel=1e-5):
    n = y.size
    J = np.empty((n, n))
    for j in range(n):
        h = rel * abs(y[j])
        up, down = y.copy(), y.copy()
        up[j] += h
        down[j] -= h
        J[:, j] = (reference_rhs(name, up, P)[0] - reference_rhs(name, down, P)[0]) / (2 * h)
    return J


@pytest.mark.parametrize(("name", "pset"), CASES)
def test_jacobian_matches_finite_differences(name, pset):
    """Analytic Jacobian vs central differences of the hand transcription.

    Entry (i, j) is judged on the scale of what it contributes to row i over a relative
    change of state j: |J_ij - FD_ij| |y_j| <= 1e-7 x (sum of |terms| of row i).
    """
    model = get_model(name, pset)
    fn = compile_model(model)
    rng = np.random.default_rng(11)
    n = len(model.states)
    J = np.empty((n, n))
    for k, y in enumerate(random_states(name, rng, 40)):
        P = PUBLISHED[name][pset] if k % 2 == 0 else perturbed(PUBLISHED[name][pset], rng)
        fn.jac(np.ascontiguousarray(y), nksim_vector(model, name, P), J)
        fd = fd_jacobian(name, y, P)
        scale = reference_rhs(name, y, P)[1]
        err = np.abs(J - fd) * np.abs(y)[None, :]
        assert (err <= 1e-7 * scale[:, None]).all(), (y, J, fd)


_EXPONENT = {"depillis2005": "lambda", "depillis2006": "l", "depillis2009": "l"}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_bounded_kill_equals_the_ratio_and_the_design_forms_over_a_grid(name):
    """nksim's kill term d T/(s (T/L)^l + 1) against the published ratio form
    d (L/T)^l/(s + (L/T)^l) T evaluated with 50 digits (mpmath), and DESIGN.md's bounded
    form d L^l T/(s T^l + L^l) in double precision: the same values and derivatives to
    rounding for T, L over 24 decades (ratios 1e-21 .. 1e24), exponents 0.3 .. 10 and s
    1e-3 .. 10; exactly 0 where T or L is 0; finite, non-negative and at most d T where the
    power overflows or underflows. With a = N = M = 0, dT/dt = -D and J[0, 0] = -dD/dT,
    J[0, 2] = -dD/dL."""
    import itertools

    import mpmath

    mpmath.mp.dps = 50
    model = get_model(name)
    fn = compile_model(model)
    P = dict(next(iter(PUBLISHED[name].values())), a=0.0)
    lam = _EXPONENT[name]
    names = list(model.state_names)
    n = len(names)
    out, J = np.empty(n), np.empty((n, n))

    def kill(T, L, exponent, s):
        values = nksim_vector(model, name, dict(P, **{lam: exponent, "s": s}))
        y = np.zeros(n)
        y[names.index("T")], y[names.index("L")] = T, L
        fn.rhs(y, values, out)
        fn.jac(y, values, J)
        return -out[0], -J[0, 0], -J[0, names.index("L")]

    d = P["d"]
    for T, L, exponent, s in itertools.product(
            (1e-12, 1e-3, 1.0, 1e3, 1e6, 1e9, 1e12), (1e-12, 1.0, 10.0, 1e4, 1e7, 1e9),
            (0.3, 1.0, 2.09, 5.0, 10.0), (1e-3, 0.0839, 1.0, 10.0)):
        D, dD_dT, dD_dL = kill(T, L, exponent, s)
        x = (mpmath.mpf(L) / T) ** exponent  # published ratio form, 50 digits
        ref = d * x / (s + x) * T
        ref_T = d * x / (s + x) - d * exponent * s * x / (s + x) ** 2
        ref_L = d * T * s * exponent * x / (L * (s + x) ** 2)
        tol = 1e-12
        assert abs(D - ref) <= tol * ref, (T, L, exponent, s, D, ref)
        scale_T = d * x / (s + x) + d * exponent * s * x / (s + x) ** 2  # the summed terms
        assert abs(dD_dT - ref_T) <= tol * scale_T, (T, L, exponent, s, dD_dT, ref_T)
        # where (s (T/L)^l + 1)^2 overflows (ratios >= 1e15) a derivative below 1e-150 may
        # come out as 0 (the solver's Jacobian then has a 0 instead of, e.g., 1e-158)
        assert (abs(dD_dL - ref_L) <= tol * ref_L
                or (ref_L < 1e-150 and 0.0 <= dD_dL <= ref_L)), (T, L, exponent, s, dD_dL, ref_L)
        design = d * L**exponent * T / (s * T**exponent + L**exponent)  # DESIGN.md's form
        if math.isfinite(design) and design > 0.0:
            assert abs(D - design) <= 2 * tol * float(ref), (T, L, exponent, s, D, design)
    for T, L in ((0.0, 10.0), (1e6, 0.0), (0.0, 0.0), (-1.0, 10.0), (1e6, -1.0)):
        assert kill(T, L, 2.09, 0.0839)[0] == 0.0
    for T, L in ((1e12, 1e-290), (1e-290, 1e12), (1e-300, 1e-300), (1e300, 1e300)):
        D = kill(T, L, 10.0, 0.0839)[0]
        assert 0.0 <= D <= d * T * (1 + 1e-15), (T, L, D)
        expected = d * T if L > T else 0.0 if T > L else d * T / (0.0839 + 1.0)
        assert D == pytest.approx(expected, rel=1e-14, abs=1e-300), (T, L, D)


# ======================================================================================
# Equilibria
# ======================================================================================
@pytest.mark.parametrize("pset", list(P2005))
def test_depillis2005_tumour_free_equilibrium(pset):
    """N* = sigma/f with T = L = 0: the right-hand side vanishes there."""
    model = get_model("depillis2005", pset)
    P = P2005[pset]
    y = np.array([0.0, P["sigma"] / P["f"], 0.0])
    out = np.empty(3)
    compile_model(model).rhs(y, model.parameter_vector(), out)
    assert np.abs(out).max() <= 1e-12 * P["sigma"]


def test_depillis2005_without_tumour_is_linear_and_solved_exactly():
    """With T = 0: N' = sigma - f N and L' = -m L, so N(t) = N* + (N0 - N*) e^{-ft}
    and L(t) = L0 e^{-mt}; the long run reaches N* = sigma/f."""
    model = get_model("depillis2005", "ll")
    P = P2005["ll"]
    t = np.array([0.0, 1.0, 10.0, 50.0, 200.0, 1000.0])
    res = simulate(model, t, initial=np.array([0.0, 1e3, 10.0]), options=TIGHT)
    n_star = P["sigma"] / P["f"]
    np.testing.assert_allclose(res.dataset.N.values[0],
                               n_star + (1e3 - n_star) * np.exp(-P["f"] * t), rtol=1e-8)
    np.testing.assert_allclose(res.dataset.L.values[0], 10.0 * np.exp(-P["m"] * t),
                               rtol=1e-7, atol=1e-9)
    assert res.dataset.N.values[0, -1] == pytest.approx(n_star, rel=1e-12)
    assert (res.dataset.T.values == 0.0).all()


def test_depillis2006_tumour_free_equilibrium():
    """C* = alpha/beta, N* = e C*/f, L* = 0 with T = M = I = 0: the rhs vanishes."""
    model = get_model("depillis2006")
    P = P2006["patient9"]
    c_star = P["alpha"] / P["beta"]
    y = np.array([0.0, P["e"] * c_star / P["f"], 0.0, c_star, 0.0, 0.0])
    out = np.empty(6)
    compile_model(model).rhs(y, model.parameter_vector(), out)
    scale = reference_rhs("depillis2006", y, P)[1]
    assert (np.abs(out) <= 1e-12 * scale).all()
    assert c_star == pytest.approx(6.25e10) and y[1] == pytest.approx(3.155e5, rel=1e-3)


def test_depillis2006_converges_to_tumour_free_equilibrium():
    """From T = 0 the lymphocytes and NK cells solve a linear system exactly:
    C = C* + (C0 - C*) e^{-beta t};
    N = N* + e (C0 - C*)/(f - beta) e^{-beta t} + (N0 - N* - e (C0 - C*)/(f - beta)) e^{-f t};
    and 0 <= L <= L0 e^{-m t} (L' = -m L - u N L^2). A long run reaches the equilibrium."""
    model = get_model("depillis2006")
    P = P2006["patient9"]
    c0, n0, l0 = 6e8, 1e3, 10.0
    t = np.array([0.0, 1.0, 10.0, 100.0, 500.0, 2000.0, 4000.0])
    res = simulate(model, t, initial=np.array([0.0, n0, l0, c0, 0.0, 0.0]), options=TIGHT)
    ds = res.dataset
    c_star = P["alpha"] / P["beta"]
    n_star = P["e"] * c_star / P["f"]
    amp = P["e"] * (c0 - c_star) / (P["f"] - P["beta"])
    c_exact = c_star + (c0 - c_star) * np.exp(-P["beta"] * t)
    n_exact = n_star + amp * np.exp(-P["beta"] * t) + (n0 - n_star - amp) * np.exp(-P["f"] * t)
    np.testing.assert_allclose(ds.C.values[0], c_exact, rtol=1e-8)
    np.testing.assert_allclose(ds.N.values[0], n_exact, rtol=1e-8)
    assert (ds.L.values[0] >= 0).all()
    assert (ds.L.values[0] <= l0 * np.exp(-P["m"] * t) * (1 + 1e-8) + 1e-12).all()
    assert ds.C.values[0, -1] == pytest.approx(c_star, rel=1e-9)
    assert ds.N.values[0, -1] == pytest.approx(n_star, rel=1e-9)
    assert ds.L.values[0, -1] < 1e-12


def tumour_free_2009(P):
    """(N*, L*, C*, I*) of de Pillis 2009 at T = M = 0 with L > 0, from the hand transcription.

    C* = alpha/beta. For given I, the L equation divided by L is linear in L, giving L(I);
    the I equation then has one root in I; N* = e C*/(f - p_N I/(g_N + I)).
    """
    c = P["alpha_beta"]

    def l_of(i):
        growth = P["theta"] * P["m"] / (P["theta"] + i) + P["p_I"] * i / (P["g_I"] + i)
        return growth / (P["u"] * c * i / (P["kappa"] + i))

    def i_residual(i):
        return -P["mu_I"] * i + P["phi"] * c + P["omega"] * l_of(i) * i / (P["zeta"] + i)

    i_star = brentq(i_residual, 1e-6, 1e7, xtol=1e-14, rtol=1e-15)
    n_star = P["f"] * P["e_f"] * c / (P["f"] - P["p_N"] * i_star / (P["g_N"] + i_star))
    return n_star, l_of(i_star), c, i_star


@pytest.mark.parametrize("pset", list(P2009))
def test_depillis2009_tumour_free_equilibrium(pset):
    """C* = alpha/beta and N* = e C*/(f - p_N I*/(g_N + I*)); the rhs vanishes there and
    the equilibrium is stable (Jacobian of the hand transcription)."""
    model = get_model("depillis2009", pset)
    P = P2009[pset]
    n_star, l_star, c_star, i_star = tumour_free_2009(P)
    y = np.array([0.0, n_star, l_star, c_star, 0.0, i_star])
    ref, scale = reference_rhs("depillis2009", y, P)
    assert (np.abs(ref) <= 1e-10 * scale).all()  # the root really is one
    out = np.empty(6)
    compile_model(model).rhs(y, model.parameter_vector(), out)
    assert (np.abs(out) <= 1e-10 * scale).all()
    assert c_star == pytest.approx(2.25e9, rel=1e-15)
    # stability: eigenvalues of the Jacobian of the hand transcription (finite differences;
    # T = 0 is perturbed upwards because the kill term is not differentiable there)
    y_fd = y.copy()
    y_fd[0], y_fd[4] = 1.0, 1e-6
    J = fd_jacobian("depillis2009", y_fd, P, rel=1e-4)
    assert np.linalg.eigvals(J[1:, 1:]).real.max() < 0


def test_depillis2009_converges_to_tumour_free_equilibrium():
    """A long run without tumour from the paper's stated state reaches (N*, L*, C*, I*)."""
    model = get_model("depillis2009")
    n_star, l_star, c_star, i_star = tumour_free_2009(P2009["patient9"])
    t = np.array([0.0, 1.0, 100.0, 6000.0])
    y0 = np.array([0.0, 2.5e8, 5.268e5, 6e8, 0.0, 1073.0])  # C0 away from C*
    res = simulate(model, t, initial=y0, options=TIGHT)
    final = res.dataset.isel(patient=0, time=-1)
    for state, value in (("N", n_star), ("L", l_star), ("C", c_star), ("I", i_star)):
        assert float(final[state]) == pytest.approx(value, rel=1e-6), state


def test_depillis2009_stated_initial_state_is_the_tumour_present_equilibrium():
    """Finding (reported in the model notes): the paper's 'equilibrium' N0 2.5e8,
    L0 5.268e5, C0 2.25e9, I0 1073 is not the tumour-free equilibrium of these parameters
    (L* ~ p_I/(u C*) ~ 3e4, I* ~ 50) but is close to the tumour-present one near the
    source's other T0 = 9.8039e8 (T, N, L, C within 0.2 %, I within 10 %)."""
    P = P2009["patient9"]
    n_star, l_star, c_star, i_star = tumour_free_2009(P)
    assert n_star == pytest.approx(2.5e8, rel=0.01)  # consistent
    assert c_star == pytest.approx(2.25e9, rel=1e-12)  # consistent
    assert l_star == pytest.approx(P["p_I"] / (P["u"] * c_star), rel=1e-3)
    assert l_star < 0.1 * 5.268e5  # not consistent
    assert i_star < 0.1 * 1073  # not consistent

    def residual(z):  # log-space root of the T, N, L, C, I equations at M = 0
        y = np.exp(z)
        ref, scale = reference_rhs("depillis2009", np.insert(y, 4, 0.0), P)
        return np.delete(ref, 4) / np.delete(scale, 4)

    stated = np.array([9.8039e8, 2.5e8, 5.268e5, 2.25e9, 1073.0])
    sol = root(residual, np.log(stated), method="hybr", options={"xtol": 1e-13})
    assert sol.success
    eq = np.exp(sol.x)
    assert np.abs(residual(sol.x)).max() < 1e-10
    np.testing.assert_allclose(eq[:4], stated[:4], rtol=2e-3)
    assert eq[4] == pytest.approx(1073.0, rel=0.1)


# ======================================================================================
# Closed-form limits
# ======================================================================================
def logistic(t, a, b, t0):
    return t0 * np.exp(a * t) / (1.0 + b * t0 * np.expm1(a * t))


@pytest.mark.parametrize(
    ("name", "switch_off", "y0"),
    [
        ("depillis2005", {"sigma": 0.0}, [1e3, 0.0, 0.0]),
        ("depillis2006", {"alpha": 0.0}, [1e3, 0.0, 0.0, 0.0, 0.0, 0.0]),
        ("depillis2009", {"alpha": 0.0}, [1e3, 0.0, 0.0, 0.0, 0.0, 0.0]),
    ],
)
def test_without_immune_cells_the_tumour_is_logistic(name, switch_off, y0):
    """No immune cells and no immune source: T(t) = T0 e^{at}/(1 + b T0 (e^{at} - 1))."""
    model = get_model(name).with_values(parameters=switch_off)
    P = next(iter(PUBLISHED[name].values()))
    t = np.linspace(0.0, 80.0, 41)
    res = simulate(model, t, initial=np.array(y0), options=TIGHT)
    np.testing.assert_allclose(res.dataset.T.values[0], logistic(t, P["a"], P["b"], 1e3),
                               rtol=1e-8)
    for state in model.state_names[1:]:
        assert (res.dataset[state].values == 0.0).all(), state


@pytest.mark.parametrize("name", ["depillis2006", "depillis2009"])
def test_chemotherapy_bolus_and_infusion_are_first_order(name):
    """M' = -gamma M + input: a bolus of 5 at t = 0 gives 5 e^{-gamma t}; an infusion of
    rate R over [20, 30] adds R/gamma (1 - e^{-gamma (t-20)}), then decays."""
    model = get_model(name)
    gamma = next(iter(PUBLISHED[name].values()))["gamma"]
    t = np.linspace(0.0, 40.0, 81)
    rate = 0.7
    doses = [Dose("M", 5.0, 0.0), Dose("M", rate * 10.0, 20.0, duration=10.0)]
    opts = SolverOptions(rtol=1e-10, atol={"M": 1e-13}, threads=1)
    res = simulate(model, t, doses=doses, options=opts)
    inf = np.where(
        t < 20.0, 0.0,
        np.where(t <= 30.0, rate / gamma * -np.expm1(-gamma * (t - 20.0)),
                 rate / gamma * -np.expm1(-gamma * 10.0) * np.exp(-gamma * (t - 30.0))),
    )
    exact = 5.0 * np.exp(-gamma * t) + inf
    np.testing.assert_allclose(res.dataset.M.values[0], exact, rtol=1e-8, atol=1e-12)


def test_depillis2006_il2_bolus_decays_with_mu_i():
    model = get_model("depillis2006")
    mu = P2006["patient9"]["mu_I"]
    t = np.linspace(0.0, 3.0, 31)
    opts = SolverOptions(rtol=1e-10, atol={"I": 1e-10}, threads=1)
    res = simulate(model, t, doses=[Dose("I", 1e6, 1.0)], options=opts)
    exact = np.where(t < 1.0, 0.0, 1e6 * np.exp(-mu * (t - 1.0)))
    np.testing.assert_allclose(res.dataset.I.values[0], exact, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("with_lymphocytes", [False, True])
def test_depillis2009_il2_bolus(with_lymphocytes):
    """With T = L = 0 and C held at C* (or 0 with alpha = 0), I' = -mu_I I + phi C:
    I(t) = phi C/mu_I + (I0 - phi C/mu_I) e^{-mu_I t}; L stays 0."""
    P = P2009["patient9"]
    model = get_model("depillis2009")
    c = P["alpha_beta"] if with_lymphocytes else 0.0
    if not with_lymphocytes:
        model = model.with_values(parameters={"alpha": 0.0})
    t = np.linspace(0.0, 2.0, 41)
    y0 = np.array([0.0, 1e8, 0.0, c, 0.0, 0.0])
    opts = SolverOptions(rtol=1e-10, atol={"I": 1e-10}, threads=1)
    res = simulate(model, t, initial=y0, doses=[Dose("I", 2e5, 0.0)], options=opts)
    base = P["phi"] * c / P["mu_I"]
    exact = base + (2e5 - base) * np.exp(-P["mu_I"] * t)
    np.testing.assert_allclose(res.dataset.I.values[0], exact, rtol=1e-8, atol=1e-9)
    assert (res.dataset.L.values == 0.0).all()


# ======================================================================================
# A second solver: scipy Radau on the hand transcription
# ======================================================================================
def reference_solution(name, P, y0, times, doses=(), extinct_below=1.0):
    """Integrate the hand transcription with scipy's Radau (rtol = atol = 1e-12) from t = 0.

    Semantics written out independently of the engine: a bolus is added at its time (a
    record at that time is post-dose); an infusion adds its rate while it runs; T is
    extinct when it falls through ``extinct_below`` (a terminal event) and is 0 from then
    on. Every record time and dose time is a step end (no interpolation).
    Returns (states at ``times``, extinction time of T or NaN).
    """
    events = []
    for d in doses:
        k = "TNLCMI".index(d.state)
        for t0 in d.times():
            if d.duration > 0:
                events += [(t0, k, 0.0, d.rate), (t0 + d.duration, k, 0.0, -d.rate)]
            else:
                events.append((t0, k, d.amount, 0.0))
    events.sort(key=lambda e: e[0])
    times = [float(x) for x in times]
    y = np.array(y0, dtype=float)
    rate = np.zeros_like(y)
    state = {"extinct": False}
    t_ext = math.nan
    out = np.full((len(times), y.size), np.nan)

    def fun(_t, z):
        if state["extinct"]:
            z = z.copy()
            z[0] = 0.0
        dz = np.array([sum(terms) for terms in TERMS[name](z, P)]) + rate
        if state["extinct"]:
            dz[0] = 0.0
        return dz

    def hits_threshold(_t, z):
        return z[0] - extinct_below

    hits_threshold.terminal = True
    hits_threshold.direction = -1

    def apply_doses(t, ie):
        while ie < len(events) and events[ie][0] <= t:
            _, k, bolus, dr = events[ie]
            y[k] += bolus
            rate[k] += dr
            ie += 1
        return ie

    def record(t):
        for i, tr in enumerate(times):
            if tr == t:
                out[i] = y

    t = 0.0
    ie = apply_doses(t, 0)
    record(t)
    marks = sorted({x for x in times if x > t} | {e[0] for e in events if t < e[0] <= times[-1]})
    for stop in marks:
        while t < stop:
            sol = solve_ivp(fun, (t, stop), y, method="Radau", rtol=1e-12, atol=1e-12,
                            events=None if state["extinct"] else hits_threshold)
            assert sol.status >= 0, sol.message
            if sol.status == 1:
                t = float(sol.t_events[0][0])
                y[:] = sol.y_events[0][0]
                y[0] = 0.0
                state["extinct"], t_ext = True, t
            else:
                t = stop
                y[:] = sol.y[:, -1]
        ie = apply_doses(t, ie)
        record(t)
    return out, t_ext


# Scenarios: (id, model, parameter set, initial state or None, doses, record times).
# T stays above one cell in some and is cleared in others (then the reference stops at
# the crossing with a terminal event and continues with T = 0).
_2009_THERAPY = (
    Dose("M", 1.0, 1.0, every=3.0, count=8),
    Dose("I", 5e5, 2.0, every=7.0, count=4),
    Dose("L", 1e9, 5.0),
)
SCENARIOS = {
    "2005-nn-escape": ("depillis2005", "nn", None, (), np.linspace(0.0, 35.0, 8)),
    "2005-ll-cleared": ("depillis2005", "ll", None, (), np.linspace(0.0, 35.0, 8)),
    "2005-patient9": ("depillis2005", "patient9", None, (), np.linspace(0.0, 35.0, 8)),
    "2006-chemo-infusion": (
        "depillis2006", "patient9", None, (Dose("M", 200.0, 0.0, duration=40.0),),
        np.linspace(0.0, 60.0, 13),
    ),
    "2006-chemo-il2-boluses": (
        "depillis2006", "patient9", None,
        (Dose("M", 2.0, 1.0, every=7.0, count=6), Dose("I", 1e6, 3.0, every=7.0, count=3)),
        np.linspace(0.0, 60.0, 13),
    ),
    "2009-patient9-chemo": ("depillis2009", "patient9", None, _2009_THERAPY[:1],
                            np.linspace(0.0, 25.0, 6)),
    "2009-patient10-therapy": ("depillis2009", "patient10", None, _2009_THERAPY,
                               np.linspace(0.0, 40.0, 9)),
}
_SLOW = {"2006-chemo-il2-boluses", "2009-patient10-therapy"}  # 4-6 s of Radau each
_REFERENCES: dict[str, tuple] = {}


def scenario_reference(key):
    if key not in _REFERENCES:
        name, pset, y0, doses, times = SCENARIOS[key]
        model = get_model(name, pset)
        y0 = model.initial_vector() if y0 is None else np.asarray(y0, float)
        _REFERENCES[key] = reference_solution(name, PUBLISHED[name][pset], y0, times, doses)
    return _REFERENCES[key]


def scenario_params():
    return [pytest.param(k, marks=pytest.mark.slow) if k in _SLOW else k for k in SCENARIOS]


def relative_error(got, ref):
    """|got - ref| / max(|ref|, 1): relative, with values below 1 (cell, drug unit, IU)
    judged absolutely, as the engine's mixed error test does for atol/rtol = 1."""
    return np.abs(got - ref) / np.maximum(np.abs(ref), 1.0)


@pytest.mark.parametrize("key", scenario_params())
@pytest.mark.parametrize(("options", "tolerance"), [(TIGHT, 1e-7), (DEFAULT, 1e-4)],
                         ids=["rtol1e-10", "default"])
def test_agrees_with_scipy_radau(key, options, tolerance):
    name, pset, y0, doses, times = SCENARIOS[key]
    model = get_model(name, pset)
    ref, t_ext = scenario_reference(key)
    res = simulate(model, times, initial=y0, doses=list(doses), options=options)
    assert res.status_counts == {"ok": 1}
    got = np.stack([res.dataset[s].values[0] for s in model.state_names], axis=1)
    err = relative_error(got, ref)
    assert err.max() <= tolerance, dict(zip(model.state_names, err.max(axis=0), strict=True))
    engine_ext = res.patients["extinction_time_T"].iloc[0]
    if math.isnan(t_ext):
        assert math.isnan(engine_ext)
    else:
        assert engine_ext == pytest.approx(t_ext, rel=tolerance)
        assert (got[times >= engine_ext, 0] == 0.0).all()


# ======================================================================================
# Published qualitative result, extinction, non-negativity
# ======================================================================================
def test_depillis2005_ligand_transduced_tumour_is_controlled_and_non_transduced_escapes():
    """The [UNVERIFIED] published claim, checked as what the coded model does from the
    S-Ng initial state (T 5e3, N 1e3, L 1) over S-Ng's 35 days: with the ll values the
    tumour is cleared, with the nn values it grows to near its carrying capacity 1/b."""
    t = np.linspace(0.0, 35.0, 71)
    ll = simulate(get_model("depillis2005", "ll"), t, options=DEFAULT)
    nn = simulate(get_model("depillis2005", "nn"), t, options=DEFAULT)
    assert ll.patients["extinction_time_T"].iloc[0] < 35.0
    assert ll.dataset.T.values[0, -1] == 0.0
    assert math.isnan(nn.patients["extinction_time_T"].iloc[0])
    assert nn.dataset.T.values[0, -1] > 0.9 / P2005["nn"]["b"]


def test_depillis2006_strong_chemotherapy_clears_the_tumour():
    """A chemotherapy infusion (M -> 5.6) clears 1e6 tumour cells: an extinction time is
    recorded, T is exactly 0 from then on, never negative, at least one cell before."""
    model = get_model("depillis2006")
    t = np.linspace(0.0, 60.0, 241)
    res = simulate(model, t, doses=[Dose("M", 200.0, 0.0, duration=40.0)], options=DEFAULT)
    t_ext = res.patients["extinction_time_T"].iloc[0]
    assert 0.0 < t_ext < 40.0
    T = res.dataset.T.values[0]
    assert (T[t >= t_ext] == 0.0).all()
    assert (T[t < t_ext] >= 1.0 - 1e-9).all()
    for s in ("T", "N", "L", "C"):
        assert (res.dataset[s].values >= 0.0).all(), s


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_cell_populations_stay_non_negative_across_a_varied_population(name):
    """32 virtual patients with every parameter scaled by a factor in [0.5, 2] and a mixed
    regimen: every patient integrates, and no cell count is ever negative or non-finite."""
    model = get_model(name)
    rng = np.random.default_rng(32)
    params = model.parameter_vector() * 2.0 ** rng.uniform(-1, 1, (32, len(model.parameters)))
    lo = np.array([p.bounds[0] for p in model.parameters])
    hi = np.array([p.bounds[1] for p in model.parameters])
    params = np.clip(params, lo, hi)
    doses = [] if name == "depillis2005" else [
        Dose("M", 3.0, 2.0, every=5.0, count=4), Dose("I", 1e5, 1.0, every=7.0, count=3),
        Dose("L", 1e7, 10.0, duration=2.0),
    ]
    t = np.linspace(0.0, 60.0, 121)
    res = simulate(model, t, parameters=params, doses=doses, options=DEFAULT)
    assert res.status_counts == {"ok": 32}
    for s in model.states:
        values = res.dataset[s.name].values
        assert np.isfinite(values).all(), s.name
        assert (values >= 0.0).all(), s.name
