"""The model language: declaration errors, unit-aware overrides, rendering, a toy model
integrated against its closed-form solution, and the structure key."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from nksim.engine import SolverOptions, simulate
from nksim.errors import UnitError, UserError
from nksim.library import get_model
from nksim.model import (
    Citation,
    Model,
    Parameter,
    State,
    compile_model,
    render_markdown,
    to_sbml,
)

SRC = Citation("toy", "A toy model for tests.", "assumption")


def toy(**changes) -> Model:
    """dx/dt = -k x, dy/dt = k x - lambda y (``lambda`` is a Python keyword on purpose)."""
    spec = dict(
        name="toy_chain",
        title="Two-compartment chain",
        description="x decays into y, which decays.",
        states=(State("x", "cell", "first compartment", 100.0, extinction=None),
                State("y", "cell", "second compartment", 5.0)),
        parameters=(Parameter("k", 0.7, "1/day", "transfer rate", SRC, bounds=(0.0, 10.0)),
                    Parameter("lambda", 0.2, "1/day", "decay rate of y", SRC)),
        equations={"x": "-k*x", "y": "k*x - lambda*y"},
    )
    spec.update(changes)
    return Model(**spec)


def timed() -> Model:
    """A model with a time-like parameter (a half-life in days)."""
    return Model(
        name="toy_halflife",
        title="Decay by half-life",
        description="x decays with half-life t_half.",
        states=(State("x", "cell", "cells", 10.0),),
        parameters=(Parameter("t_half", 2.0, "day", "half-life", SRC, bounds=(1e-3, 1e3)),),
        equations={"x": "-log(2)/t_half*x"},
    )


# --------------------------------------------------------------------------- declaration
def test_unknown_name_in_an_equation_is_refused_with_the_name():
    with pytest.raises(ValueError, match=r"dy/dt: unknown names \['kk'\]"):
        toy(equations={"x": "-k*x", "y": "k*x - lambda*y - kk*y"})


def test_missing_equation_is_refused():
    with pytest.raises(ValueError, match=r"must cover exactly the states.*missing \['y'\]"):
        toy(equations={"x": "-k*x"})


def test_equation_for_an_undeclared_state_is_refused():
    with pytest.raises(ValueError, match=r"unknown \['z'\]"):
        toy(equations={"x": "-k*x", "y": "k*x", "z": "x"})


@pytest.mark.parametrize(
    "change",
    [
        {"parameters": (Parameter("k", 0.7, "1/day", "a", SRC),
                        Parameter("k", 0.1, "1/day", "b", SRC))},
        {"parameters": (Parameter("x", 0.7, "1/day", "a", SRC),
                        Parameter("lambda", 0.2, "1/day", "b", SRC))},
        {"expressions": {"k": ("2*x", "cell", "clash")}},
    ],
    ids=["parameter-twice", "parameter-named-like-a-state", "expression-named-like-a-parameter"],
)
def test_duplicate_names_are_refused(change):
    with pytest.raises(ValueError, match="names used twice"):
        toy(**change)


def test_extinction_on_a_state_with_a_source_is_refused():
    """y has the source k x: "held at zero" would contradict its own equation."""
    model = toy().with_extinction({"y": 1.0})
    with pytest.raises(UserError, match=r"state y has an extinction threshold.*source term"):
        to_sbml(model)
    with pytest.raises(UserError, match="source term"):
        render_markdown(model)
    toy().with_extinction({"x": 1.0})  # x has no source: allowed
    render_markdown(toy().with_extinction({"x": 1.0}))


def test_multi_letter_names_render_as_one_upright_name():
    """``chemo`` is one name, not the product c h e m o (which would also clash with e);
    Greek names stay letters, one-letter names stay italic."""
    model = toy(states=(State("age", "day", "age", 0.0), State("y", "cell", "y", 5.0)),
                parameters=(Parameter("chemo", 0.7, "1/day", "rate", SRC),
                            Parameter("lambda", 0.2, "1/day", "decay", SRC),
                            Parameter("k_on_x", 1.0, "dimensionless", "factor", SRC)),
                equations={"age": "1", "y": "chemo*k_on_x*y - lambda*y"})
    text = render_markdown(model)
    assert r"\frac{d\,\mathrm{age}}{dt} = 1" in text
    dy = next(line for line in text.splitlines() if line.startswith(r"$$\frac{d\,y}"))
    for part in (r"\mathrm{chemo}", r"k_{\mathrm{on\_x}}", r"\lambda"):
        assert part in dy, dy


def test_extinction_on_a_source_is_refused_even_when_the_structure_is_cached():
    compile_model(toy())  # the structure is now cached
    with pytest.raises(UserError, match="source term"):
        simulate(toy().with_extinction({"y": 1.0}), [0.0, 1.0])


def test_names_that_collide_in_generated_code_are_refused():
    with pytest.raises(ValueError):
        toy(parameters=(Parameter("k", 0.7, "1/day", "a", SRC),
                        Parameter("lambda", 0.2, "1/day", "b", SRC),
                        Parameter("lambda_", 5.0, "1/day", "c", SRC)))


def test_bad_names_are_refused():
    with pytest.raises(ValueError, match="must be an identifier"):
        toy(states=(State("x", "cell", "x"), State("time", "cell", "clashes with time")),
            equations={"x": "-k*x", "time": "x"})


# --------------------------------------------------------------------------- overrides
def test_with_values_converts_units():
    model = toy().with_values(parameters={"k": "0.5 1/day", "lambda": "0.25 1/hour"},
                              initial={"x": "2e3 cell"})
    assert model.parameter("k").value == 0.5
    assert model.parameter("lambda").value == pytest.approx(6.0, rel=1e-14)  # 0.25/h = 6/day
    assert model.state("x").initial == 2e3
    assert model.parameter("k").source.is_assumption  # an override is not the paper's value
    assert timed().with_values(parameters={"t_half": "12 hour"}).parameter("t_half").value == 0.5
    assert timed().with_values(parameters={"t_half": "1 week"}).parameter("t_half").value == 7.0


def test_with_values_plain_numbers_are_in_model_units():
    assert toy().with_values(parameters={"k": 3}).parameter("k").value == 3.0


def test_non_convertible_unit_names_the_field():
    with pytest.raises(UnitError, match=r"parameters\.k") as info:
        toy().with_values(parameters={"k": "3 cell"})
    assert info.value.field == "parameters.k"
    with pytest.raises(UnitError, match=r"parameters\.t_half"):
        timed().with_values(parameters={"t_half": "5 1/day"})
    with pytest.raises(UnitError, match=r"initial\.x"):
        toy().with_values(initial={"x": "3 day"})


@pytest.mark.parametrize("value", [11.0, -1.0, math.inf, math.nan, "11 1/day"])
def test_out_of_bounds_value_is_a_user_error(value):
    with pytest.raises(UserError, match=r"parameters\.k"):
        toy().with_values(parameters={"k": value})


def test_negative_initial_state_is_a_user_error():
    with pytest.raises(UserError, match=r"initial\.x"):
        toy().with_values(initial={"x": -1.0})


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UserError, match=r"no parameter 'kappa' \(parameters: k, lambda\)"):
        toy().with_values(parameters={"kappa": 1.0})
    with pytest.raises(UserError, match=r"no state 'z' \(states: x, y\)"):
        toy().with_values(initial={"z": 1.0})
    with pytest.raises(UserError, match=r"no state 'z'"):
        toy().with_extinction({"z": 1.0})


def test_unknown_parameter_set_is_a_user_error():
    with pytest.raises(UserError, match=r"no parameter set 'patient11' \(known: nn, nl, ln, ll"):
        get_model("depillis2005", "patient11")
    with pytest.raises(UserError, match=r"\(known: none\)"):
        toy().with_parameter_set("anything")


# --------------------------------------------------------------------------- rendering
@pytest.mark.parametrize("name", ["depillis2005", "depillis2006", "depillis2009"])
def test_render_markdown_lists_everything(name):
    model = get_model(name)
    text = render_markdown(model)
    lines = text.splitlines()
    for s in model.states:
        assert any(line.startswith(f"| {s.name} | {s.unit} |") for line in lines), s.name
        assert f"\\frac{{d\\,{s.name}}}{{dt}}" in text
    for p in model.parameters:
        row = [line for line in lines if line.startswith(f"| {p.name} |")]
        assert len(row) == 1, p.name
        assert f"| {p.unit} |" in row[0] and p.source.label() in row[0], row[0]
    for note in model.notes:
        assert note in text
    assert "$$" in text


def test_render_markdown_spells_keywords_and_greek_as_latex():
    text = render_markdown(get_model("depillis2005"))
    assert "\\lambda" in text and "\\sigma" in text
    assert "lambda_" not in text  # the code-safe spelling stays out of the document


# --------------------------------------------------------------------------- a toy model
def test_toy_model_with_a_keyword_parameter_integrates_to_the_closed_form():
    """x = x0 e^{-kt}; y = y0 e^{-lt} + k x0/(l - k) (e^{-kt} - e^{-lt})."""
    model = toy()
    k, lam, x0, y0 = 0.7, 0.2, 100.0, 5.0
    t = np.linspace(0.0, 30.0, 31)
    res = simulate(model, t, options=SolverOptions(rtol=1e-10, atol=1e-12, threads=1))
    x = x0 * np.exp(-k * t)
    y = y0 * np.exp(-lam * t) + k * x0 / (lam - k) * (np.exp(-k * t) - np.exp(-lam * t))
    # relative 1e-8; x falls to 1e-7 cells, where atol = 1e-12 rules: 10 x atol absolute
    np.testing.assert_allclose(res.dataset.x.values[0], x, rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(res.dataset.y.values[0], y, rtol=1e-8, atol=1e-11)
    assert "lambda_ = _p[1]" in compile_model(model).path.read_text()


def test_toy_model_overrides_reach_the_compiled_code():
    """Changing lambda (a keyword) by name changes the answer as the closed form says."""
    model = toy().with_values(parameters={"lambda": "0.05 1/day"})
    t = np.array([0.0, 10.0])
    res = simulate(model, t, options=SolverOptions(rtol=1e-10, atol=1e-12, threads=1))
    k, lam = 0.7, 0.05
    y = 5.0 * np.exp(-lam * 10) + 0.7 * 100.0 / (lam - k) * (np.exp(-k * 10) - np.exp(-lam * 10))
    assert res.dataset.y.values[0, -1] == pytest.approx(y, rel=1e-8)


# --------------------------------------------------------------------------- identity
def test_structure_key_follows_equations_not_values():
    model = toy()
    key = model.structure_key()
    assert model.with_values(parameters={"k": 2.0}, initial={"x": 1.0}).structure_key() == key
    assert model.with_extinction({"x": 1.0}).structure_key() == key
    changed = dataclasses.replace(model, equations={"x": "-k*x", "y": "k*x - 2*lambda*y"})
    assert changed.structure_key() != key
    renamed = toy(states=(State("x", "cell", "x"), State("w", "cell", "w")),
                  equations={"x": "-k*x", "w": "k*x - lambda*w"})
    assert renamed.structure_key() != key
    lib = get_model("depillis2005")
    assert lib.with_parameter_set("ll").structure_key() == lib.structure_key()


# ---------------------------------------------------------------- issue 15 §2: time, observables,
# dimensional analysis
def forced() -> Model:
    """x' = a sin(w t) - k x: a non-autonomous model with a closed-form solution."""
    return Model(
        name="toy_forced",
        title="Periodically forced decay",
        description="x is produced at a rate a sin(w t) and decays at rate k.",
        states=(State("x", "mg", "amount", 1.0, nonnegative=False),),
        parameters=(Parameter("a", 2.0, "mg/h", "forcing amplitude", SRC),
                    Parameter("w", 0.5, "1/h", "angular frequency", SRC),
                    Parameter("k", 0.3, "1/h", "elimination rate", SRC)),
        equations={"x": "a*sin(w*t) - k*x"},
        time_unit="h",
        observables={"x_plus": ("2*x + a*t", "mg", "2 x + a t (a test output)"),
                     "conc": ("x/2", "mg", "x/2")},
    )


def test_explicit_time_against_closed_form():
    """x(t) = e^{-kt} + a/(k^2+w^2) (k sin wt - w cos wt + w e^{-kt}); started at t0 = 2 too."""
    a, w, k = 2.0, 0.5, 0.3
    t = np.linspace(0.0, 10.0, 11)
    res = simulate(forced(), t, options=SolverOptions(rtol=1e-10, atol=1e-12, threads=1))
    exact = np.exp(-k * t) + a / (k * k + w * w) * (
        k * np.sin(w * t) - w * np.cos(w * t) + w * np.exp(-k * t))
    np.testing.assert_allclose(res.dataset["x"].values[0], exact, rtol=1e-7, atol=1e-9)
    # a later start: the clock starts at t_start, not at 0 (x(2) = 1 here)
    t2 = np.linspace(2.0, 6.0, 5)
    res2 = simulate(forced(), t2, t_start=2.0,
                    options=SolverOptions(rtol=1e-10, atol=1e-12, threads=1))
    c = 1.0 - a / (k * k + w * w) * (k * np.sin(2 * w) - w * np.cos(2 * w))
    exact2 = c * np.exp(-k * (t2 - 2)) + a / (k * k + w * w) * (
        k * np.sin(w * t2) - w * np.cos(w * t2))
    np.testing.assert_allclose(res2.dataset["x"].values[0], exact2, rtol=1e-7, atol=1e-9)
    assert list(res.dataset.data_vars)[:1] == ["x"] and "nksim_time" not in res.dataset


def test_observables_are_returned_like_states():
    t = np.linspace(0.0, 4.0, 5)
    res = simulate(forced(), t, parameters={"a": [2.0, 3.0]},
                   options=SolverOptions(rtol=1e-9, atol=1e-12, threads=1))
    x = res.dataset["x"].values
    np.testing.assert_allclose(res.dataset["x_plus"].values,
                               2 * x + np.array([[2.0], [3.0]]) * t[None, :])
    assert res.dataset["x_plus"].attrs["units"] == "mg"
    frame = res.to_frame()
    assert list(frame.columns) == ["patient", "time", "x", "x_plus", "conc"]
    np.testing.assert_allclose(res.evaluate("x/2"), res.dataset["conc"].values)


def test_observables_do_not_change_the_compiled_code():
    base = forced()
    assert dataclasses.replace(base, observables={}).structure_key() == base.structure_key()


def _units_model(equations, params, values=None, **extra):
    values = values or {}
    return Model(
        name="toy_units", title="units", description="units",
        states=(State("N", "cell", "NK cells", 1.0), State("X", "ug", "drug", 0.0)),
        parameters=tuple(Parameter(n, values.get(n, 1.0), u, n, SRC)
                         for n, u in params.items()),
        equations=equations, **extra)


def test_dimensional_analysis_names_the_offending_term():
    params = {"kex": "1/day", "dX": "1/day"}
    with pytest.raises(ValueError, match=r"term 'kex \* N' is in .*cell.* but the sum must be "
                                         r"in .*µg.*/ ?d"):
        _units_model({"N": "0", "X": "kex*N - dX*X"}, params)
    # the fix: kex in ug per cell per day
    _units_model({"N": "0", "X": "kex*N - dX*X"}, {"kex": "ug/(cell*day)", "dX": "1/day"})


def test_dimensional_analysis_scale_and_functions():
    # mg and ug have the same dimension but differ by a factor 1000: an error too
    with pytest.raises(ValueError, match="term 'kex' is in mg / d"):
        _units_model({"N": "0", "X": "kex - dX*X"}, {"kex": "mg/day", "dX": "1/day"})
    # exp of a quantity with a unit is refused, and an exemption with a reason allows it
    with pytest.raises(ValueError, match=r"argument of exp: '-X' must be dimensionless"):
        _units_model({"N": "-k*N*(1 - exp(-X))", "X": "0"}, {"k": "1/day"})
    _units_model({"N": "-k*N*(1 - exp(-X))", "X": "0"}, {"k": "1/day"},
                 unit_exempt={"exp(-X)": "drug amount in arbitrary units, as in the source"})
    with pytest.raises(ValueError, match="needs a reason"):
        _units_model({"N": "-k*N*(1 - exp(-X))", "X": "0"}, {"k": "1/day"},
                     unit_exempt={"exp(-X)": " "})
    # a literal unit conversion is accepted only when it is the right factor (1440 min/day)
    _units_model({"N": "1440*N/tau", "X": "0"}, {"tau": "min"})
    with pytest.raises(ValueError, match=r"dN/dt = '1000\*N/tau': is in cells / min"):
        _units_model({"N": "1000*N/tau", "X": "0"}, {"tau": "min"})
    # powers: a parameter exponent takes its declared value; sums inside Min/Piecewise checked
    _units_model({"N": "k*N**h/N**h*N", "X": "0"}, {"k": "1/day", "h": "dimensionless"})
    with pytest.raises(ValueError, match="compared"):
        _units_model({"N": "Piecewise((k*N, N > X), (0, True))", "X": "0"}, {"k": "1/day"})
    # a symbol named after a Python keyword (depillis2005's lambda) is checked like any other
    with pytest.raises(ValueError, match=r"term 'lambda'"):
        _units_model({"N": "k*N - lambda", "X": "0"}, {"k": "1/day", "lambda": "1/day"})
    # ... and exponents that cancel up to rounding cancel (0.7 + 1 - 0.7 != 1 in floats)
    _units_model({"N": "k*N**lambda*N/N**lambda", "X": "0"},
                 {"k": "1/day", "lambda": "dimensionless"}, {"lambda": 1.4})
    # an observable is checked against its declared unit
    with pytest.raises(ValueError, match="observable"):
        _units_model({"N": "0", "X": "0"}, {}, observables={"bad": ("N + X", "cell", "x")})


@pytest.mark.parametrize("name", ["depillis2005", "depillis2006", "depillis2009", "karin2019"])
def test_library_models_pass_the_dimensional_analysis(name):
    from nksim.model._dimensions import check_dimensions

    model = get_model(name)
    check_dimensions(model)  # declared at import already; checked again explicitly here
    for pset in model.parameter_sets:
        check_dimensions(model.with_parameter_set(pset))


def test_a_model_error_comes_before_any_compiling(tmp_path, monkeypatch, capfd):
    """A refused extinction threshold is reported before the model's code is compiled: the
    one-line error without a "compiling model" line in front of it, also when the generated
    code is cached but not yet compiled (a first run that was stopped while compiling)."""
    import sys

    from nksim.model import compile_model

    monkeypatch.setenv("NKSIM_CACHE_DIR", str(tmp_path))
    path = compile_model(toy()).path  # generated and compiled
    path.with_suffix(".compiled").unlink(missing_ok=True)  # ... as if stopped while compiling
    monkeypatch.delitem(sys.modules, path.stem, raising=False)
    capfd.readouterr()
    with pytest.raises(UserError, match="source term"):
        simulate(toy().with_extinction({"y": 1.0}), [0.0, 1.0])
    assert "compiling model" not in capfd.readouterr().err
