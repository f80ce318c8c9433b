"""Virtual populations: per-patient random streams and parameter files."""

from __future__ import annotations

import numpy as np
import pytest

from nksim.errors import UserError
from nksim.library import get_model
from nksim.population import lognormal_parameters, read_parameters_file

MODEL = get_model("depillis2006")


def test_a_patient_gets_the_same_parameters_whatever_the_population_size():
    small = lognormal_parameters(MODEL, 10, seed=4, sigma=0.2)
    large = lognormal_parameters(MODEL, 500, seed=4, sigma=0.2)
    np.testing.assert_array_equal(small, large[:10])
    assert not np.array_equal(small, lognormal_parameters(MODEL, 10, seed=5, sigma=0.2))


def test_lognormal_spread_matches_sigma():
    p = lognormal_parameters(MODEL, 4000, seed=0, sigma=0.2)
    logs = np.log(p / MODEL.parameter_vector())
    assert np.all(np.abs(logs.mean(axis=0)) < 0.02)
    assert np.all(np.abs(logs.std(axis=0) - 0.2) < 0.01)


def test_sigma_for_one_parameter_leaves_the_others_alone():
    p = lognormal_parameters(MODEL, 50, seed=1, sigma={"a": 0.3})
    typical = MODEL.parameter_vector()
    a = MODEL.parameter_names.index("a")
    assert np.all(np.delete(p, a, axis=1) == np.delete(typical, a))
    assert np.std(np.log(p[:, a])) > 0.1


def test_unknown_parameter_in_sigma():
    with pytest.raises(UserError, match="unknown parameter"):
        lognormal_parameters(MODEL, 5, seed=0, sigma={"nope": 0.1})


def test_parameters_file(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("patient,a,b\nP1,0.5,1e-9\nP2,0.4,2e-9\n")
    params, ids = read_parameters_file(MODEL, f)
    assert list(ids) == ["P1", "P2"] and params.shape == (2, len(MODEL.parameters))
    assert params[1, MODEL.parameter_names.index("b")] == 2e-9
    f.write_text("a\nx\n")
    with pytest.raises(UserError, match="not a number"):
        read_parameters_file(MODEL, f)


@pytest.mark.parametrize(("column", "ids"), [
    ("007\n7\n-1", ["007", "7", "-1"]),  # a leading zero: every id stays text as written
    ("7\n-12\n0", [7, -12, 0]),  # plain whole numbers: integers
    ("99999999999999999999\n1\n2", ["99999999999999999999", "1", "2"]),  # beyond 64 bits
])
def test_parameters_file_keeps_patient_ids_as_written(tmp_path, column, ids):
    """Ids such as "007" and "7" are two patients, not one id read twice as 7."""
    f = tmp_path / "p.csv"
    f.write_text("patient,a\n" + "\n".join(f"{i},0.5" for i in column.split("\n")) + "\n")
    _, read = read_parameters_file(MODEL, f)
    assert list(read) == ids
    assert all(type(x) is type(ids[0]) or isinstance(x, np.integer) for x in read)


def test_random_streams_keyed_by_the_same_patient_are_all_different():
    """Two features drawing from one stream of one patient give correlated numbers (the
    first eta was the apheresis wait's normal when both used stream 201)."""
    from nksim.disease import _flares, _lymphoma_setting, _pancreatic_setting
    from nksim.population import _covariates, _variability
    from nksim.therapy import _antibodies, _manufacturing, _nk_products
    from nksim.trials import _comparisons, _n_of_1, _statistics, _trial

    streams = {
        **{f"covariate {k}": v for k, v in _covariates.STREAMS.items()},
        "eta": _variability.STREAM_ETA, "theta": _variability.STREAM_THETA,
        **{f"manufacturing {k}": v for k, v in _manufacturing.STREAMS.items()},
        "trial parameters": _trial.STREAM_PARAMETERS,
        "trial endpoints": _trial.STREAM_ENDPOINTS,
        "allocation": _trial.STREAM_ALLOCATION, "comparisons": _comparisons._STREAM,
        "bootstrap": _statistics.BOOTSTRAP_STREAM, "n-of-1": _n_of_1.STREAM_N_OF_1,
        "fcgr3a": _antibodies.FCGR3A_STREAM, "expansion": _nk_products.EXPANSION_STREAM,
        "flares": _flares.STREAM_FLARE_TRIGGERS,
        "lymphoma cohort": _lymphoma_setting._STREAM_COHORT,
        "lymphoma response": _lymphoma_setting._STREAM_RESPONSE,
        "pancreatic cohort": _pancreatic_setting._STREAM_COHORT,
        "pancreatic response": _pancreatic_setting._STREAM_RESPONSE,
        "pancreatic dose": _pancreatic_setting._STREAM_DOSE,
    }
    streams["flares before day 0"] = _flares.STREAM_FLARE_TRIGGERS_BEFORE
    assert max(streams.values()) < _covariates.extra_stream("")  # extras' streams above all
    assert min(_covariates.extra_stream(n) for n in ("a", "pzce", "ecog")) >= 10_000_000
    by_number: dict[int, list[str]] = {}
    for name, number in streams.items():
        by_number.setdefault(number, []).append(name)
    assert {n: names for n, names in by_number.items() if len(names) > 1} == {}
