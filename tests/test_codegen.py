"""The generated functions against the model's own symbolic form (sympy, evaluated by
NumPy), an independent evaluation: the one-patient ``rhs`` gives the bits of every lane of
``rhs_lanes``; ``jac`` and the J inside ``fw_lanes`` agree with the symbolic Jacobian (and
so with each other). The start-up measures of issue 13 §3: numba's typing memo compiles the
same machine code; vselect/vfinite (branch-free choices) are the branches they replace."""

from __future__ import annotations

import importlib
import os
import re

import numba
import numpy as np
import sympy as sp
from numba.core.types.functions import BaseFunction

from nksim.library import get_model
from nksim.model import Citation, Model, Parameter, State, compile_model
from nksim.model import _codegen as cg
from nksim.model._codegen import LANES
from nksim.model._generate import generate_source
from nksim.model._symbolic import symbolic
from nksim.model._typing_memo import typing_memo
from nksim.model._vselect import vfinite, vselect

_ORIGINAL = BaseFunction.get_call_type
SRC = Citation("toy", "A toy model for tests.", "assumption")
SIGNATURES = {"rhs": cg.RHS_SIGNATURE, "jac": cg.JAC_SIGNATURE,
              "rhs_lanes": cg.RHS_LANES_SIGNATURE, "fw_lanes": cg.FW_LANES_SIGNATURE,
              "lu_lanes": cg.LU_LANES_SIGNATURE, "solve_lanes": cg.SOLVE_LANES_SIGNATURE}

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


def test_one_patient_jacobian_and_that_in_fw_lanes_are_the_symbolic_jacobian():
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
        # W = fac I - J in the solver's kernel
        W = w[b::LANES].reshape(n, n)
        np.testing.assert_allclose(W, 0.5 * np.eye(n) - ref, rtol=1e-10,
                                   atol=1e-12 * np.abs(ref).max())


def _asm(module, name: str, signature) -> str:
    """Machine code of ``module.name`` with the names that differ between two compiles of
    the same source (module name, numba's unique id) made equal."""
    asm = getattr(module, name).inspect_asm(signature.args).replace(module.__name__, "M")
    asm = re.sub(r"B\d+v\d+B", "BvB", asm)
    return "\n".join(line for line in asm.splitlines() if "missing Environment" not in line)


def test_the_typing_memo_compiles_the_same_machine_code_and_is_used(tmp_path, monkeypatch):
    """Generated source of a model compiled twice in one process, without and with
    :func:`typing_memo`: identical machine code for all six functions."""
    model = Model(
        name="toy_memo", title="Memo", description="two states, powers and an exponential",
        states=(State("x", "cell", "x", 100.0), State("y", "cell", "y", 5.0)),
        parameters=(Parameter("k", 0.7, "1/day", "rate", SRC),
                    Parameter("x0", 50.0, "cell", "scale", SRC),
                    Parameter("h", 1.5, "dimensionless", "exponent", SRC),
                    Parameter("d", 0.2, "1/day", "decay", SRC)),
        equations={"x": "-k*x*(x/x0)**h/(1 + (x/x0)**h)", "y": "k*x*exp(-y/x0) - d*y"},
    )
    source = generate_source(model).replace("cache=True", "cache=False")
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = []
    for name, memo in (("nksim_memo_a", False), ("nksim_memo_b", True)):
        (tmp_path / f"{name}.py").write_text(source)
        if memo:
            with typing_memo() as remembered:
                modules.append(importlib.import_module(name))
            assert len(remembered) > 10  # the memo answered for the repeated operations
        else:
            modules.append(importlib.import_module(name))
    assert BaseFunction.get_call_type is _ORIGINAL  # removed after the block
    for name, signature in SIGNATURES.items():
        assert _asm(modules[0], name, signature) == _asm(modules[1], name, signature), name


@numba.njit
def _choices(c, a, b, x):
    return vselect(c, a, b), vfinite(x), vselect(a < b, 2, False)


def test_vselect_and_vfinite_are_the_branches_they_replace():
    for c, a, b in [(True, 1.5, -2.0), (False, 1.5, -2.0), (True, np.nan, 0.0),
                    (False, 0.0, np.inf), (True, -0.0, 1.0)]:
        for x in (3.0, -0.0, np.inf, -np.inf, np.nan, 1e308, -5e-324):
            got = _choices(c, a, b, x)
            want = (a if c else b, x if abs(x) < np.inf else 0.0, 2.0 if a < b else 0.0)
            assert np.array_equal(np.array(got[:2]).view(np.int64),
                                  np.array(want[:2]).view(np.int64))
            assert got[2] == want[2] and isinstance(got[0], float)


def test_a_piecewise_rate_takes_each_piece_where_it_applies():
    model = Model(
        name="toy_piecewise", title="Piecewise", description="a switch, undefined from x = 2",
        states=(State("x", "cell", "x", 1.0),),
        parameters=(Parameter("k", 2.0, "1/day", "rate", SRC),),
        equations={"x": "Piecewise((-k*x, x < 1), (k*x, x < 2))"},
    )
    fns = compile_model(model)
    f, J = np.empty(1), np.empty((1, 1))
    for x, rate, slope in [(0.5, -1.0, -2.0), (1.0, 2.0, 2.0), (1.5, 3.0, 2.0)]:
        fns.rhs(np.array([x]), np.array([2.0]), f)
        fns.jac(np.array([x]), np.array([2.0]), J)
        assert (f[0], J[0, 0]) == (rate, slope)
    for x in (2.0, 2.5):  # no piece applies: undefined (NaN), not a silent value
        fns.rhs(np.array([x]), np.array([2.0]), f)
        assert np.isnan(f[0])


_CACHE_SCRIPT = """
import numpy as np
from nksim.engine import simulate
from nksim.model import Citation, Model, Parameter, State
src = Citation("toy", "A toy model for tests.", "assumption")
model = Model(name="toy_cache", title="Decay", description="x decays",
              states=(State("x", "cell", "x", 100.0),),
              parameters=(Parameter("k", 0.5, "1/day", "rate", src),),
              equations={"x": "-k*x"})
print(simulate(model, np.array([0.0, 1.0, 2.0])).dataset["x"].values[0].tolist())
"""


def test_a_damaged_or_unwritable_model_cache_is_worked_around(tmp_path):
    """A cached model whose generated source or numba cache files were damaged is compiled
    again, and an unwritable cache folder gives a temporary one (with a note), instead of
    a traceback in every command (found by a review)."""
    import subprocess
    import sys

    def run(cache):
        env = {**os.environ, "NKSIM_CACHE_DIR": str(cache)}
        done = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return eval(done.stdout), done.stderr

    cache = tmp_path / "cache"
    first, _ = run(cache)
    assert np.allclose(first, 100.0 * np.exp(-0.5 * np.arange(3)), rtol=1e-5)
    models = cache / "models"
    (source,) = models.glob("nksim_toy_cache_*.py")
    source.write_text("garbage(\n")  # a damaged generated source
    assert run(cache)[0] == first
    compiled = list((models / "__pycache__").glob("nksim_toy_cache_*.nb*"))
    assert compiled
    for f in compiled:  # damaged numba cache files
        f.write_bytes(b"junk")
    assert run(cache)[0] == first
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    values, err = run(blocker)  # the cache "folder" is a file: compiled in a temporary one
    assert values == first and "cannot be written" in err
