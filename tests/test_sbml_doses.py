"""Dose records in the SBML export (nksim.model.to_sbml): administrations that coincide,
infusions back to back, infusions overlapping boluses, repeated doses and amounts with
units.

The truth is the closed-form solution of first-order elimination, X' = -k X plus the doses
(a bolus a at t_b adds a e^{-k(t - t_b)}; an infusion at rate r from t_0 to t_1 adds
r/k (1 - e^{-k(min(t, t_1) - t_0)}) e^{-k(t - min(t, t_1))} after t_0). The exported file
is integrated by two readers other than the engine's dose code: libRoadRunner, and nksim's
own SBML import (its event loop), and both must give that solution, as the engine does.
"""

from __future__ import annotations

import libsbml
import numpy as np
import pytest

from nksim.dosing import Dose
from nksim.engine import SolverOptions, simulate
from nksim.errors import UnitError, UserError
from nksim.model import Citation, Model, Parameter, State, from_sbml, to_sbml

roadrunner = pytest.importorskip("roadrunner")

TIGHT = SolverOptions(rtol=1e-10, atol=1e-10, threads=1)
K = 0.5  # 1/day
SRC = Citation("t", "test", "assumption")
DECAY = Model(
    name="sbml_t_dose_decay", title="decay", description="first-order elimination",
    states=(State("X", "ug", "drug amount", 0.0), State("N", "cell", "cells", 0.0)),
    parameters=(Parameter("k", K, "1/day", "elimination rate", SRC),),
    equations={"X": "-k*X", "N": "-k*N"},
)
TIMES = np.linspace(0.0, 8.0, 33) + 0.1  # no output exactly at a dose time

# name: (doses, {state: ([(bolus time, amount)], [(start, end, rate)])} in the state's unit)
SCENARIOS = {
    "coinciding-boluses": (
        [Dose("X", 5.0, 2.0), Dose("X", 3.0, 2.0)],
        {"X": ([(2.0, 8.0)], [])},
    ),
    "back-to-back-infusions": (  # each ends when the next starts: one infusion from 1 to 4
        [Dose("X", 4.0, 1.0, every=1.0, count=3, duration=1.0)],
        {"X": ([], [(1.0, 4.0, 4.0)])},
    ),
    "infusion-overlapping-boluses": (  # boluses at its start, during it and at its end
        [Dose("X", 6.0, 1.0, duration=3.0), Dose("X", 2.0, 1.0), Dose("X", 1.5, 2.5),
         Dose("X", 1.0, 4.0)],
        {"X": ([(1.0, 2.0), (2.5, 1.5), (4.0, 1.0)], [(1.0, 4.0, 2.0)])},
    ),
    "repeated-doses": (  # two repeated bolus records that coincide at 2 and 5; repeated
        # infusions 0.5-2 and 3.5-5 with another one from 2 to 3.5 between them
        [Dose("X", 1.0, 0.5, every=1.5, count=4), Dose("X", 0.5, 2.0, every=3.0, count=2),
         Dose("X", 3.0, 0.5, every=3.0, count=2, duration=1.5),
         Dose("X", 1.5, 2.0, duration=1.5)],
        {"X": ([(0.5, 1.0), (2.0, 1.5), (3.5, 1.0), (5.0, 1.5)],
               [(0.5, 2.0, 2.0), (2.0, 3.5, 1.0), (3.5, 5.0, 2.0)])},
    ),
    "amounts-with-units": (  # ug and cell are the states' units
        [Dose("X", "5 mg", 1.0, duration=2.0), Dose("X", "0.002 g", 1.5),
         Dose("N", "1e9 cell", 1.0), Dose("N", "2e9 cell", 1.0)],
        {"X": ([(1.5, 2000.0)], [(1.0, 3.0, 2500.0)]), "N": ([(1.0, 3e9)], [])},
    ),
}


def exact(t: np.ndarray, boluses, infusions) -> np.ndarray:
    x = np.zeros_like(t)
    for tb, a in boluses:
        x += np.where(t >= tb, a * np.exp(-K * (t - tb)), 0.0)
    for t0, t1, r in infusions:
        end = np.minimum(t, t1)
        x += np.where(t > t0, r / K * (1 - np.exp(-K * (end - t0))) * np.exp(-K * (t - end)),
                      0.0)
    return x


def check(got: dict[str, np.ndarray], doses_by_state, who: str) -> None:
    for state in ("X", "N"):
        truth = exact(TIMES, *doses_by_state.get(state, ([], [])))
        scale = max(truth.max(), 1.0)
        np.testing.assert_allclose(got[state], truth, rtol=1e-7, atol=1e-8 * scale,
                                   err_msg=f"{who}: {state}")


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_roadrunner_on_the_export_gives_the_exact_solution(key):
    doses, truth = SCENARIOS[key]
    rr = roadrunner.RoadRunner(to_sbml(DECAY, doses))
    rr.integrator.relative_tolerance = 1e-12
    rr.integrator.absolute_tolerance = 1e-12
    rr.timeCourseSelections = ["time", "X", "N"]
    result = np.asarray(rr.simulate(times=[0.0, *TIMES]))[1:]
    check({"X": result[:, 1], "N": result[:, 2]}, truth, "libRoadRunner")
    ours = simulate(DECAY, TIMES, doses=doses, options=TIGHT)  # the engine, for comparison
    check({s: ours.dataset[s].values[0] for s in ("X", "N")}, truth, "nksim engine")


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_reimported_export_gives_the_exact_solution(key):
    doses, truth = SCENARIOS[key]
    back = from_sbml(to_sbml(DECAY, doses, extinction_events=False),
                     name=f"sbml_t_dose_{key.replace('-', '_')}")
    res = simulate(back, TIMES, options=TIGHT)
    check({s: res.dataset[s].values[0] for s in ("X", "N")}, truth, "nksim re-import")


def test_one_dose_event_per_time_of_change():
    """Back-to-back infusions change the rate only at the first start and the last end."""
    text = to_sbml(DECAY, [Dose("X", 4.0, 1.0, every=1.0, count=3, duration=1.0),
                           Dose("X", 5.0, 2.0), Dose("X", 3.0, 2.0)])
    sbml = libsbml.readSBMLFromString(text).getModel()
    events = {e.getId(): e for e in sbml.getListOfEvents()}
    triggers = {libsbml.formulaToL3String(e.getTrigger().getMath()): e for e in
                events.values()}
    assert sorted(triggers) == ["time >= 1", "time >= 2", "time >= 4"]
    at_2 = triggers["time >= 2"]
    assert at_2.getNumEventAssignments() == 1
    assert at_2.getEventAssignment(0).getVariable() == "X"


@pytest.mark.parametrize("dose, message", [
    (Dose("N", "1e6 cell/kg", 1.0), "dose '1e6 cell/kg' into N is per kg of body weight"),
    (Dose("X", "100 mg/m^2", 1.0, duration=1.0),
     "dose '100 mg/m^2' into X is per m² of body surface"),
])
def test_doses_that_need_a_patient_are_refused(dose, message):
    with pytest.raises(UserError) as err:
        to_sbml(DECAY, [Dose("X", 1.0, 0.5), dose])
    assert message in str(err.value) and err.value.field == "doses[1].amount"
    assert "\n" not in str(err.value)


def test_amounts_that_do_not_convert_are_refused():
    with pytest.raises(UnitError, match=r"does not convert to 'ug'") as err:
        to_sbml(DECAY, [Dose("X", "5 cell", 1.0)])
    assert err.value.field == "doses[0].amount"
    with pytest.raises(UserError, match="unknown state 'Y'") as err:
        to_sbml(DECAY, [Dose("Y", 1.0, 1.0)])
    assert err.value.field == "doses[0].state"
