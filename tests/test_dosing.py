"""Dose records: validation, expansion into events, NONMEM-style tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nksim.dosing import Dose, from_nonmem, resolve_doses, to_events, to_nonmem
from nksim.errors import UserError


def test_repeats_and_infusions_expand_into_sorted_events():
    ev = to_events([Dose("M", 5.0, 7.0, every=7.0, count=3), Dose("L", 2.0, 1.0, duration=0.5)],
                   ["T", "L", "M"])
    np.testing.assert_array_equal(ev.time, [1.0, 1.5, 7.0, 14.0, 21.0])
    np.testing.assert_array_equal(ev.state, [1, 1, 2, 2, 2])
    np.testing.assert_array_equal(ev.bolus, [0.0, 0.0, 5.0, 5.0, 5.0])
    np.testing.assert_array_equal(ev.rate, [4.0, -4.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("kwargs, field", [
    ({"amount": -1.0}, "amount"),
    ({"count": 0}, "count"),
    ({"count": 2.5, "every": 1.0}, "count"),
    ({"count": 3}, "every"),
    ({"duration": -1.0}, "duration"),
    ({"time": float("nan")}, "time"),
])
def test_bad_records_name_the_field(kwargs, field):
    args = {"state": "M", "amount": 1.0, "time": 0.0, **kwargs}
    with pytest.raises(UserError) as err:
        Dose(**args)
    assert err.value.field == field


def test_unknown_state_is_reported():
    with pytest.raises(UserError, match="unknown state 'Q'"):
        to_events([Dose("Q", 1.0, 0.0)], ["T"])


def test_nonmem_round_trip():
    doses = [[Dose("M", 5.0, 7.0, every=7.0, count=10)], [Dose("L", 1e9, 7.0, duration=1.0)]]
    table = to_nonmem(doses)
    assert list(table.columns) == ["ID", "TIME", "EVID", "CMT", "AMT", "RATE", "II", "ADDL"]
    assert table.loc[0, "ADDL"] == 9 and table.loc[1, "RATE"] == pytest.approx(1e9)
    assert from_nonmem(table) == {0: doses[0], 1: doses[1]}


# ---------------------------------------------------------------- amounts with units
@pytest.mark.parametrize("column, value, field", [
    ("EVID", 4, "doses_file.EVID"),     # reset and dose
    ("EVID", 3, "doses_file.EVID"),     # reset (dropped silently before)
    ("DUR", -1.0, "doses_file.DUR"),
    ("DUR", 2.0, "doses_file.DUR"),     # with RATE in the same row (set below)
    ("RATE", -1.0, "doses_file.RATE"),  # rate set by the model
    ("RATE", -2.0, "doses_file.RATE"),  # duration set by the model
    ("SS", 1, "doses_file.SS"),         # steady state
])
def test_nonmem_records_nksim_cannot_honour_are_refused(column, value, field):
    """They were misread: EVID 4 rows dropped, RATE -1/-2 given as boluses, SS ignored
    (found by a review)."""
    table = pd.DataFrame({"ID": [1], "TIME": [0.0], "EVID": [1], "CMT": ["M"], "AMT": [5.0],
                          "RATE": [0.0], "II": [0.0], "ADDL": [0], "SS": [0]})
    table[column] = value
    if column == "DUR" and value > 0:
        table["RATE"] = 1.0
    with pytest.raises(UserError) as err:
        from_nonmem(table)
    assert err.value.field == field


def test_nonmem_duration_column_and_observation_rows():
    """DUR (nlmixr2, mrgsolve) gives the infusion's duration (it was read as a bolus);
    without EVID a row with no amount is an observation, not a zero dose."""
    table = pd.DataFrame({"ID": [1, 1, 1], "TIME": [0.0, 1.0, 2.0], "CMT": ["M"] * 3,
                          "AMT": [100.0, float("nan"), 0.0], "DUR": [2.0, 0.0, 0.0]})
    assert from_nonmem(table) == {1: [Dose("M", 100.0, 0.0, duration=2.0)]}


def test_nonmem_bad_cells_are_refused_not_taken_for_observations():
    """Without EVID only an empty or zero amount is an observation: -5 and text amounts are
    errors, as is text where a number is meant (a DUR of '1 h' was read as 0, a bolus)."""
    base = {"ID": [1], "TIME": [0.0], "CMT": ["M"]}
    with pytest.raises(UserError):
        from_nonmem(pd.DataFrame({**base, "AMT": [-5.0]}))
    for column, value in (("AMT", "abc"), ("AMT", "5 mg"), ("DUR", "1 h")):
        table = pd.DataFrame({**base, "AMT": [5.0], "DUR": [0.0]}).astype(object)
        table[column] = value
        with pytest.raises(UserError) as err:
            from_nonmem(table)
        assert err.value.field == f"doses_file.{column}" and "must be a number" in str(err.value)
    # NONMEM's "." is a missing value: an observation row
    dotted = pd.DataFrame({"ID": [1, 1], "TIME": [0.0, 1.0], "CMT": ["M", "M"],
                           "AMT": ["5", "."]})
    assert from_nonmem(dotted) == {1: [Dose("M", 5.0, 0.0)]}


def test_an_infusion_shorter_than_the_time_resolution_is_a_bolus():
    """Its start and end would be one time and cancel: the dose was lost, status ok."""
    from nksim.dosing import to_events

    for duration in (1e-9, 1.000001e-9):  # the rounded end decides, not the duration
        ev = to_events([Dose("M", 1.0, 1000.0, duration=duration)], ["M"])
        assert list(ev.bolus) == [1.0] and list(ev.rate) == [0.0]


def test_nonmem_empty_cells_of_repeats_are_zero():
    table = pd.DataFrame({"ID": [1], "TIME": [2.0], "CMT": ["M"], "AMT": [5.0],
                          "II": [float("nan")], "ADDL": [float("nan")]})
    assert from_nonmem(table) == {1: [Dose("M", 5.0, 2.0)]}


def test_a_dose_before_the_start_is_refused_by_the_engine():
    """The solver gave a bolus before t_start in full at the start and an infusion in part
    or not at all, silently (found by a review)."""
    from nksim.engine import simulate
    from nksim.library import get_model

    model = get_model("depillis2006", "patient9")
    times = np.array([5.0, 10.0])
    for dose in (Dose("M", 10.0, 2.0), Dose("M", 10.0, 1.0, duration=2.0),
                 Dose("M", 10.0, 4.0, duration=2.0)):
        with pytest.raises(UserError, match="before the start 5") as err:
            simulate(model, times, doses=[dose], t_start=5.0)
        assert err.value.field == "doses"
    ok = simulate(model, times, doses=[Dose("M", 10.0, 5.0)], t_start=5.0)
    assert ok.dataset["M"].values[0, 0] == pytest.approx(10.0)


def test_per_kg_amount_as_a_string_resolves_from_body_weight():
    d = Dose("A", amount="0.01 mg/kg", time=0)  # a TypeError before units were accepted
    assert d.basis == "per_kg" and not d.is_resolved
    # 0.01 mg/kg x 70 kg = 0.7 mg = 700 ug
    assert d.absolute("mg", {"weight_kg": 70.0}) == pytest.approx(0.7)
    assert d.absolute("ug", {"weight_kg": 70.0}) == pytest.approx(700.0)
    assert Dose("CAR", "1e6 cell/kg", 0).absolute("cell", {"weight_kg": 25.0}) == \
        pytest.approx(2.5e7)


def test_per_m2_flat_and_pint_amounts():
    from nksim.units import registry

    # 1000 mg/m^2 x 1.8 m^2 = 1800 mg = 1.8 g
    d = Dose("C", "1000 mg/m^2", 0)
    assert d.basis == "per_m2" and d.absolute("g", {"bsa_m2": 1.8}) == pytest.approx(1.8)
    assert Dose("C", "5 mg", 0).absolute("g") == pytest.approx(0.005)
    assert Dose("C", "1e9 cell", 0).absolute("cell") == pytest.approx(1e9)
    q = registry().Quantity(2.0, "mg/kg")
    assert Dose("C", q, 0).basis == "per_kg"
    assert Dose("C", q, 0).absolute("mg", {"weight_kg": 10}) == pytest.approx(20.0)
    assert Dose("C", 3.0, 0).absolute("mg") == 3.0  # a number is already in the state's unit


def test_per_kg_dose_without_weights_names_the_dose():
    with pytest.raises(UserError, match="per kg but the population has no body weight") as err:
        resolve_doses([Dose("A", "0.01 mg/kg", 0)], {"A": "mg"}, None, n_patients=2)
    assert "0.01 mg/kg" in str(err.value) and err.value.field == "doses[0].amount"
    with pytest.raises(UserError, match="body-surface area"):
        resolve_doses([Dose("A", "1 mg/m^2", 0)], {"A": "mg"},
                      pd.DataFrame({"weight_kg": [70.0]}))


@pytest.mark.parametrize("amount, match", [
    ("-1 mg/kg", "^amount: "), ("five mg", "^amount: "), (True, "^amount: "),
    ([1, 2], "^amount: "),
])
def test_bad_amounts(amount, match):
    with pytest.raises(UserError, match=match):
        Dose("A", amount, 0)


def test_amount_in_the_wrong_dimension():
    from nksim.errors import UnitError

    with pytest.raises(UnitError, match="does not convert"):
        Dose("A", "5 mg/kg", 0).absolute("cell", {"weight_kg": 70})


def test_resolve_doses_per_patient_and_shared():
    cov = pd.DataFrame({"weight_kg": [10.0, 20.0, 40.0]})
    out = resolve_doses([Dose("A", "0.5 mg/kg", 1.0, every=7, count=2), Dose("A", 1.0, 0)],
                        {"A": "mg"}, cov)
    assert [d[0].amount for d in out] == pytest.approx([5.0, 10.0, 20.0])
    assert all(d[1].amount == 1.0 and d[0].count == 2 for d in out)
    flat = resolve_doses([Dose("A", "2 g", 0)], {"A": "mg"}, None, n_patients=3)
    assert flat[0] is flat[2] and flat[0][0].amount == pytest.approx(2000.0)
    with pytest.raises(UserError, match="resolved"):
        to_events([Dose("A", "2 g", 0)], ["A"])
