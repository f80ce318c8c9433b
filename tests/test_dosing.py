"""Dose records: validation, expansion into events, NONMEM-style tables."""

from __future__ import annotations

import numpy as np
import pytest

from nksim.dosing import Dose, from_nonmem, to_events, to_nonmem
from nksim.errors import UserError


def test_repeats_and_infusions_expand_into_sorted_events():
    ev = to_events([Dose("M", 5.0, 7.0, every=7.0, count=3), Dose("L", 2.0, 1.0, duration=0.5)],
                   ["T", "L", "M"])
    np.testing.assert_array_equal(ev.time, [1.0, 1.5, 7.0, 14.0, 21.0])
    np.testing.assert_array_equal(ev.state, [1, 1, 2, 2, 2])
    np.testing.assert_array_equal(ev.bolus, [0.0, 0.0, 5.0, 5.0, 5.0])
    np.testing.assert_array_equal(ev.rate, [4.0, -4.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("kwargs, field", [
    ({"amount": -1.0}, "doses.amount"),
    ({"count": 0}, "doses.count"),
    ({"count": 3}, "doses.every"),
    ({"duration": -1.0}, "doses.duration"),
    ({"time": float("nan")}, "doses.time"),
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
