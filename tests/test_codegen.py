"""The generated one-patient functions (``rhs``, ``jac``) are lane 0 of the lane functions
(issue 13 §3: the model's formulas compiled twice, not four times, for a shorter first run):
``rhs`` gives the bits of ``rhs_lanes`` and ``jac`` the J inside ``fw_lanes``; both against
the model's own symbolic form (sympy, evaluated by NumPy), an independent evaluation."""

from __future__ import annotations

import numba
import numpy as np
import sympy as sp

from nksim.library import get_model
from nksim.model import Citation, Model, Parameter, State, compile_model
from nksim.model._codegen import LANES
from nksim.model._scratch import scratch
from nksim.model._symbolic import symbolic

W1 = get_model("depillis2006", "patient9")


def _patients(model: Model, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``k`` states around 1e6 tumour cells (every state > 0) and parameters scattered by
    exp(0.3 z) around the published values."""
    rng = np.random.default_rng(seed)
    y = np.array([s.initial for s in model.states]) + 1.0
    y = y[None, :] * np.exp(rng.normal(0.0, 1.0, (k, y.size)))
    p = np.array([q.value for q in model.parameters])
    return y, p[None, :] * np.exp(0.3 * rng.normal(0.0, 1.0, (k, p.size)))


def _lanes(a: np.ndarray) -> np.ndarray:
    """Patients x values as the flat, lane-minor layout (``LANES`` patients)."""
    return np.ascontiguousarray(a.T).ravel()


def _symbolic_reference(model: Model):
    sm = symbolic(model)
    args = [*sm.states, *sm.parameters]
    return (sp.lambdify(args, list(sm.rhs), "numpy"),
            sp.lambdify(args, sm.jacobian().tolist(), "numpy"))


def test_one_patient_rhs_is_every_lane_of_rhs_lanes_bit_for_bit_and_the_formulas():
    fns = compile_model(W1)
    y, p = _patients(W1, LANES)
    n = y.shape[1]
    f_lanes = np.empty(n * LANES)
    fns.rhs_lanes(_lanes(y), _lanes(p), f_lanes, LANES)
    f_ref, _ = _symbolic_reference(W1)
    out = np.empty(n)
    for b in range(LANES):
        fns.rhs(y[b].copy(), p[b].copy(), out)
        assert np.array_equal(out.view(np.int64), f_lanes[b::LANES].view(np.int64))
        ref = np.array(f_ref(*y[b], *p[b]), dtype=float)
        scale = np.abs(ref).max()  # (a rate is a sum of terms of different signs)
        np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12 * scale)


def test_one_patient_jacobian_is_the_symbolic_jacobian_and_that_of_fw_lanes():
    fns = compile_model(W1)
    y, p = _patients(W1, LANES, seed=1)
    n = y.shape[1]
    _, j_ref = _symbolic_reference(W1)
    f, w = np.empty(n * LANES), np.empty(n * n * LANES)
    fac = np.full(LANES, 0.5)
    fns.fw_lanes(_lanes(y), _lanes(p), fac, np.ones(n * LANES), f, w, LANES)
    J = np.empty((n, n))
    for b in range(LANES):
        fns.jac(y[b].copy(), p[b].copy(), J)
        ref = np.array(j_ref(*y[b], *p[b]), dtype=float)
        np.testing.assert_allclose(J, ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
        # W = fac I - J in the solver's kernel (the one rounding of fac + ... aside)
        W = w[b::LANES].reshape(n, n)
        assert np.array_equal(W - np.diag(np.diag(W)), -(J - np.diag(np.diag(J))))
        np.testing.assert_allclose(np.diag(W), 0.5 - np.diag(J), rtol=1e-15)


SRC = Citation("toy", "A toy model for tests.", "assumption")

def test_a_jacobian_entry_that_is_not_finite_is_zero_and_the_others_exact():
    model = Model(
        name="toy_sqrt_outflow", title="Square-root outflow", description="dx/dt = -k sqrt x",
        states=(State("x", "cell", "x", 4.0), State("y", "cell", "y", 1.0)),
        parameters=(Parameter("k", 2.0, "cell**0.5/day", "outflow", SRC),
                    Parameter("d", 0.5, "1/day", "decay", SRC)),
        equations={"x": "-k*sqrt(x)", "y": "k*sqrt(x) - d*y"},
    )
    fns = compile_model(model)
    J = np.full((2, 2), np.nan)
    p = np.array([2.0, 0.5])
    fns.jac(np.array([4.0, 1.0]), p, J)  # d sqrt(x)/dx = 1/(2 sqrt x) = 1/4
    assert np.array_equal(J, [[-0.5, 0.0], [0.5, -0.5]])
    fns.jac(np.array([0.0, 1.0]), p, J)  # at x = 0 the derivative is infinite: 0 here
    assert np.array_equal(J, [[0.0, 0.0], [0.0, -0.5]])
    f = np.empty(2)
    fns.rhs(np.array([0.0, 1.0]), p, f)
    assert np.array_equal(f, [0.0, -0.5])


@numba.njit
def _use_scratch(values):
    a = scratch(5)
    total = 0.0
    for _ in range(3):  # one buffer per call site, reused on every trip
        for i in range(5):
            a[i] = values[i] * 2.0
        for i in range(5):
            total += a[i]
    empty = scratch(0)
    return total, a.size, a.flags.c_contiguous, empty.size


def test_scratch_is_a_contiguous_float_array_of_its_literal_size():
    total, size, contiguous, empty = _use_scratch(np.arange(5.0))
    assert (total, size, contiguous, empty) == (60.0, 5, True, 0)
