"""Results carry their provenance; models compile once, visibly; implausible patients.

Truths: closed-form solutions (x' = -k x after a per-kg bolus), the generated source's
own hash, and a growth-rate estimate for the plausibility boundary crossing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nksim.dosing import Dose
from nksim.engine import SolverOptions, read_netcdf, simulate
from nksim.engine._results import covariates_frame, initial_frame, parameters_frame, provenance
from nksim.errors import UserError
from nksim.model import Citation, Model, Parameter, State
from nksim.population import sample_covariates

TEST = Citation("test", "toy model written for the tests", "assumption")
DECAY = Model(
    name="prov_decay", title="decay", description="x' = -k x, y' = k x - m y",
    states=(State("x", "mg", "drug", 1.0), State("y", "mg", "metabolite", 0.0)),
    parameters=(Parameter("k", 0.5, "1/day", "elimination", TEST),
                Parameter("m", 0.2, "1/day", "second", TEST)),
    equations={"x": "-k*x", "y": "k*x - m*y"},
)
TIGHT = SolverOptions(rtol=1e-10, atol=1e-12, threads=1)


def test_parameters_by_name_keep_the_models_other_values():
    t = np.linspace(0, 4, 9)
    res = simulate(DECAY, t, parameters={"k": [0.1, 0.3, 0.9]}, options=TIGHT)
    assert list(res.parameters["k"]) == [0.1, 0.3, 0.9]
    assert list(res.parameters["m"]) == [0.2, 0.2, 0.2]
    np.testing.assert_allclose(res.dataset["x"].values, np.exp(-np.outer([0.1, 0.3, 0.9], t)),
                               rtol=1e-8)
    frame = simulate(DECAY, t, parameters=pd.DataFrame({"m": [0.05, 0.5]}), options=TIGHT)
    np.testing.assert_array_equal(frame.parameters.to_numpy(), [[0.5, 0.05], [0.5, 0.5]])
    one = simulate(DECAY, t, parameters={"k": 0.7}, options=TIGHT)
    assert one.parameters.shape == (1, 2) and one.parameters["k"].iloc[0] == 0.7
    with pytest.raises(UserError, match="no parameter 'kk'") as err:
        simulate(DECAY, t, parameters={"kk": 1.0})
    assert err.value.field == "parameters.kk"
    with pytest.raises(UserError, match="different numbers of patients"):
        simulate(DECAY, t, parameters={"k": [1.0, 2.0], "m": [1.0, 2.0, 3.0]})


def test_per_kg_bolus_resolved_from_covariates_matches_the_closed_form():
    cov = sample_covariates(5, seed=2, spec=None)
    t = np.linspace(0, 6, 13)
    res = simulate(DECAY, t, initial=np.zeros(2), covariates=cov, options=TIGHT,
                   doses=[Dose("x", "0.5 mg/kg", 1.0)], parameters={"k": [0.5] * 5})
    w = cov["weight_kg"].to_numpy()
    expected = 0.5 * w[:, None] * np.exp(-0.5 * (t - 1.0)) * (t >= 1.0)
    np.testing.assert_allclose(res.dataset["x"].values, expected, rtol=1e-8, atol=1e-12)
    assert [d[0].amount for d in res.doses] == pytest.approx(0.5 * w)
    with pytest.raises(UserError, match="per kg but the population has no body weight"):
        simulate(DECAY, t, doses=[Dose("x", "0.5 mg/kg", 1.0)])


def test_netcdf_round_trip_keeps_the_provenance(tmp_path):
    cov = sample_covariates(4, seed=1)
    opts = SolverOptions(rtol=1e-7, atol={"x": 1e-9}, max_steps=5000, threads=1)
    res = simulate(DECAY, np.linspace(0, 3, 4), parameters={"k": [0.1, 0.2, 0.3, 0.4]},
                   initial=np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.5], [4.0, 0.0]]),
                   covariates=cov, options=opts)
    path = res.to_netcdf(tmp_path / "run.nc")
    ds, patients = read_netcdf(path)
    # (netCDF-3 files store integer ids as int32: compare values, not index dtypes)
    pd.testing.assert_frame_equal(parameters_frame(ds), res.parameters, check_index_type=False)
    pd.testing.assert_frame_equal(initial_frame(ds), res.initial, check_index_type=False)
    back = covariates_frame(ds)
    pd.testing.assert_frame_equal(back, res.covariates, check_index_type=False)
    assert list(back["sex"]) == list(cov["sex"])
    np.testing.assert_allclose(back["weight_kg"], cov["weight_kg"])
    assert "Mosteller" in back.attrs["bsa_formula"]
    prov = provenance(ds)
    assert prov["solver_options"] == {"rtol": 1e-7, "atol": {"x": 1e-9}, "max_steps": 5000,
                                      "h_max": "inf"}
    assert prov["structure_key"] == DECAY.structure_key()
    from nksim import __version__

    assert prov["nksim_version"] == __version__ and "numba" in prov["toolchain"]
    assert list(patients["status"]) == ["ok"] * 4
    np.testing.assert_allclose(ds["x"].values, res.dataset["x"].values)
    assert ds["parameter_unit"].values.tolist() == ["1/day", "1/day"]


def test_a_run_that_compiles_says_so_and_reports_compile_time(tmp_path, monkeypatch, capfd):
    from nksim.model._codegen import compile_model, source_key
    from nksim.model._generate import generate_source

    monkeypatch.setenv("NKSIM_CACHE_DIR", str(tmp_path))
    model = Model(name="prov_fresh", title="t", description="d",
                  states=(State("x", "cell", "x", 1.0),),
                  parameters=(Parameter("k", 0.3, "1/day", "k", TEST),),
                  equations={"x": "-k*x"})
    res = simulate(model, [0.0, 1.0])
    err = capfd.readouterr().err
    assert "compiling model prov_fresh (first run only" in err and str(tmp_path) in err
    assert res.compile_time > 0 and res.dataset.attrs["compile_time_s"] == res.compile_time
    assert res.dataset["x"].values[0, -1] == pytest.approx(math.exp(-0.3), rel=1e-5)
    again = simulate(model, [0.0, 1.0])
    assert "compiling" not in capfd.readouterr().err
    assert again.compile_time < res.compile_time
    # The file is named by the hash of its generated source (and the toolchain versions).
    path = compile_model(model).path
    assert path.stem == f"nksim_prov_fresh_{source_key(generate_source(model))}"


def test_cache_key_changes_with_the_toolchain(monkeypatch):
    from nksim.model import _codegen

    before = _codegen.source_key("source")
    monkeypatch.setattr(_codegen, "toolchain_key", lambda: "numba 0.0.0")
    assert _codegen.source_key("source") != before
    assert not hasattr(_codegen, "CODEGEN_VERSION")  # no hand-bumped version


@pytest.mark.parametrize("name", ["bad-name", "1model", "has space", ""])
def test_model_names_must_be_identifiers(name):
    with pytest.raises(ValueError, match="must be an identifier: a letter, then letters"):
        Model(name=name, title="t", description="d", states=(State("x", "cell", "x"),),
              parameters=(), equations={"x": "0"})


def test_extreme_parameters_give_an_implausible_status_with_time_and_state():
    from nksim.library import get_model

    model = get_model("depillis2009")
    t = np.arange(0, 5.0001, 0.005)
    extreme = pd.DataFrame({"p_N": [model.parameter("p_N").value, 100.0],
                            "g_N": [model.parameter("g_N").value, 1.0]})
    plain = simulate(model, t, parameters=extreme)
    # Without a plausible range the extreme patient "succeeds" with absurd NK counts.
    assert plain.status_counts == {"ok": 2}
    assert plain.dataset["N"].values[1, -1] > 1e100
    bounded = model.with_plausible({"N": (0.0, 1e13)})
    res = simulate(bounded, t, parameters=extreme)
    assert res.status_counts == {"ok": 1, "implausible": 1}
    row = res.patients.iloc[1]
    assert row["status"] == "implausible" and "N = " in row["message"]
    # N grows like exp(r t), r = p_N I/(g_N + I) - f ~ 99.9/day (I ~ 1e3 IU >> g_N):
    # it crosses 1e13 near t = ln(1e13 / 2.5e8) / 99.9 = 0.106 day.
    t_cross = float(row["message"].split("at t = ")[1].split()[0])
    assert 0.09 <= t_cross <= 0.13
    assert res.patients.iloc[0]["status"] == "ok"


def test_plausible_ranges_are_validated():
    with pytest.raises(ValueError, match="plausible range"):
        DECAY.with_plausible({"x": (1.0, 0.0)})
    with pytest.raises(UserError, match="no state 'q'"):
        DECAY.with_plausible({"q": (0.0, 1.0)})


def test_patient_ids_come_from_the_covariate_table_and_must_be_unique():
    cov = pd.DataFrame({"patient": ["A", "B"], "weight_kg": [60.0, 80.0]})
    res = simulate(DECAY, [0.0, 1.0], covariates=cov, doses=[Dose("x", "1 mg/kg", 0.0)])
    assert list(res.patients.index) == ["A", "B"]
    assert list(res.dataset["patient"].values) == ["A", "B"]
    with pytest.raises(UserError, match="patient id 'A' appears twice"):
        simulate(DECAY, [0.0, 1.0], parameters={"k": [0.1, 0.2]}, patient_ids=["A", "A"])
    with pytest.raises(UserError, match="3 patient ids for 2 patients"):
        simulate(DECAY, [0.0, 1.0], parameters={"k": [0.1, 0.2]}, patient_ids=[1, 2, 3])
