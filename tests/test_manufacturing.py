"""Manufacturing (vein-to-vein time, apheresis and release failures) and cost."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nksim.disease import sle_candidates
from nksim.errors import UserError
from nksim.therapy._manufacturing import (
    MANUFACTURING_SOURCES,
    CostSpec,
    ManufacturingSpec,
    apheresis_failure_probability,
    patient_costs,
    simulate_manufacturing,
)
from nksim.trials import cost_per_patient_treated, cost_per_remission

P_MIN = 1e-3


def _patients(n, alc=1000.0, start=0):
    return pd.DataFrame({"candidate": np.arange(start, start + n),
                         "alc_per_ul": np.broadcast_to(alc, (n,)).astype(float)})


def test_apheresis_failure_rises_as_lymphocytes_fall():
    spec = ManufacturingSpec()
    assert apheresis_failure_probability(200.0, spec) == pytest.approx(0.5)
    assert apheresis_failure_probability(1000.0, spec) == pytest.approx(1 / 26)  # (1000/200)^2
    assert apheresis_failure_probability(0.0, spec) == 1.0
    alc = np.geomspace(10, 10_000, 50)
    p = apheresis_failure_probability(alc, spec)
    assert np.all(np.diff(p) < 0) and p[0] > 0.95 and p[-1] < 0.001
    steep = ManufacturingSpec(apheresis_failure_slope=4.0)
    assert apheresis_failure_probability(400.0, steep) < apheresis_failure_probability(400.0)


def test_collection_failures_happen_at_the_modelled_rate():
    n, alc = 4000, 300.0
    p = 1 / (1 + (alc / 200.0) ** 2)
    m = simulate_manufacturing(_patients(n, alc), ManufacturingSpec(), seed=3)
    # two attempts: P(second attempt) = p, P(both fail) = p^2
    assert stats.binomtest(int((m["apheresis_attempts"] == 2).sum()), n, p).pvalue > P_MIN
    assert stats.binomtest(int(m["apheresis_failed"].sum()), n, p * p).pvalue > P_MIN
    assert (m.loc[m["apheresis_failed"], "failure_reason"] == "apheresis").all()
    assert not (m["apheresis_failed"] & m["out_of_spec"]).any()  # nothing to test
    assert m.loc[m["apheresis_failed"], "vein_to_vein_days"].isna().all()
    # fewer lymphocytes, more failures (same patients, same streams)
    low = simulate_manufacturing(_patients(n, 120.0), ManufacturingSpec(), seed=3)
    assert low["apheresis_failed"].sum() > m["apheresis_failed"].sum()
    assert (low["apheresis_failed"] | ~m["apheresis_failed"]).all()


def test_extra_attempts_do_not_change_earlier_ones():
    pts = _patients(2000, 250.0)
    one = simulate_manufacturing(pts, ManufacturingSpec(max_apheresis_attempts=1), seed=5)
    two = simulate_manufacturing(pts, ManufacturingSpec(max_apheresis_attempts=2), seed=5)
    three = simulate_manufacturing(pts, ManufacturingSpec(max_apheresis_attempts=3), seed=5)
    assert (one["apheresis_failed"] == (two["apheresis_attempts"] == 2)).all()
    assert (two["apheresis_failed"] == (three["apheresis_attempts"] == 3)).all()
    assert three["apheresis_failed"].sum() < two["apheresis_failed"].sum() \
        < one["apheresis_failed"].sum()


def test_out_of_specification_rate():
    n = 5000
    m = simulate_manufacturing(_patients(n, 5000.0), ManufacturingSpec(), seed=1)
    k = int(m["out_of_spec"].sum())
    assert stats.binomtest(k, n, 0.04).pvalue > P_MIN
    assert (m["manufacturing_failed"] == (m["out_of_spec"] | m["apheresis_failed"])).all()
    nk = simulate_manufacturing(_patients(n), ManufacturingSpec.for_product("car_nk"), seed=1)
    assert not nk["manufacturing_failed"].any()
    nk10 = simulate_manufacturing(
        _patients(n), ManufacturingSpec(process="allogeneic", out_of_spec_probability=0.1),
        seed=1)
    assert stats.binomtest(int(nk10["out_of_spec"].sum()), n, 0.1).pvalue > P_MIN


def test_vein_to_vein_components_follow_their_distributions():
    n = 4000
    m = simulate_manufacturing(_patients(n, 20_000.0), ManufacturingSpec(), seed=2)
    ok = ~m["manufacturing_failed"] & (m["apheresis_attempts"] == 1)
    wait = (m["vein_to_vein_days"] - m["apheresis_to_infusion_days"])[ok]
    z = np.log(wait / 7.0) / 0.5  # apheresis wait: log-normal, median 7 d, log-sd 0.5
    assert stats.kstest(z, "norm").pvalue > P_MIN
    a2i = m.loc[ok, "apheresis_to_infusion_days"]
    # independent log-normal steps: manufacturing 15 d (0.2), release 8 d (0.3), shipping
    # 2 d (0.4); compared with a direct simulation of that sum
    rng = np.random.default_rng(0)
    ref = sum(med * np.exp(sig * rng.standard_normal(100_000))
              for med, sig in ((15.0, 0.2), (8.0, 0.3), (2.0, 0.4)))
    assert stats.ks_2samp(a2i, ref).pvalue > P_MIN
    # sum of log-normal medians 15 + 8 + 2 d; published medians 24-54 d (V2V sources)
    assert 24.0 <= a2i.median() <= 54.0
    assert 25.0 < a2i.median() < 27.5
    assert (a2i > 0).all()


def test_repeat_collection_delays_infusion():
    n = 3000
    m = simulate_manufacturing(_patients(n, 200.0), ManufacturingSpec(
        out_of_spec_probability=0.0, apheresis_wait_sigma=0.0,
        reapheresis_interval_sigma=0.0), seed=4)
    got = m[~m["manufacturing_failed"]]
    delay = got["vein_to_vein_days"] - got["apheresis_to_infusion_days"]
    expected = np.where(got["apheresis_attempts"] == 2, 14.0, 7.0)
    np.testing.assert_allclose(delay, expected)


def test_allogeneic_lead_time():
    m = simulate_manufacturing(_patients(3000), ManufacturingSpec.for_product("car_nk"),
                               seed=6)
    assert (m["apheresis_attempts"] == 0).all() and m["apheresis_to_infusion_days"].isna().all()
    z = np.log(m["vein_to_vein_days"] / 7.0) / 0.3
    assert stats.kstest(z, "norm").pvalue > P_MIN
    auto = simulate_manufacturing(_patients(3000), ManufacturingSpec(), seed=6)
    assert m["vein_to_vein_days"].median() < auto["vein_to_vein_days"].median() / 3


def test_results_do_not_depend_on_the_batch():
    pts = _patients(300, np.geomspace(100, 3000, 300))
    whole = simulate_manufacturing(pts, ManufacturingSpec(), seed=9)
    shuffled = pts.sample(frac=1.0, random_state=1)
    parts = pd.concat([simulate_manufacturing(shuffled.iloc[:100], ManufacturingSpec(), 9),
                       simulate_manufacturing(shuffled.iloc[100:], ManufacturingSpec(), 9)])
    parts = parts.sort_values("candidate").reset_index(drop=True)
    pd.testing.assert_frame_equal(whole, parts)


def test_costs_by_hand():
    m = pd.DataFrame({"candidate": [0, 1, 2, 3], "apheresis_attempts": [1, 2, 2, 1],
                      "apheresis_failed": [False, False, True, False],
                      "out_of_spec": [False, False, False, True],
                      "manufacturing_failed": [False, False, True, True]})
    c = patient_costs(m, CostSpec(), extra_hospital_days=[0, 5, 0, 0])
    assert c["cost_rmb"].tolist() == [
        1.2e6 + 10_000 + 10_000 + 14 * 3_000,
        1.2e6 + 20_000 + 10_000 + 19 * 3_000,
        20_000,
        10_000,
    ]
    charged = patient_costs(m, CostSpec(charge_failed_manufacture=True))
    assert charged["cost_rmb"].iloc[3] == 1.2e6 + 10_000
    nk = patient_costs(m.assign(apheresis_attempts=0, out_of_spec=False,
                                manufacturing_failed=False),
                       CostSpec(product="car_nk"), doses=3)
    assert CostSpec(product="car_nk").cost_per_dose_rmb == 1.5e6 / 20
    assert (nk["cost_rmb"] == 3 * 75_000 + 10_000 + 10 * 3_000).all()
    cheap = CostSpec.from_dict({"batch_cost_rmb": 2e6, "doses_per_batch": 100},
                               product="car_nk")
    assert cheap.cost_per_dose_rmb == 20_000


def test_cohort_cost_summaries_from_simulated_patients():
    cands = sle_candidates(300, seed=2)
    m = patient_costs(simulate_manufacturing(cands, ManufacturingSpec(), seed=2), CostSpec())
    treated = ~m["manufacturing_failed"].to_numpy()
    per_treated = cost_per_patient_treated(m["cost_rmb"], treated)
    assert per_treated.value == 1_262_000 and per_treated.n == treated.sum()
    remission = treated & (np.arange(300) % 3 != 0)
    per_remission = cost_per_remission(m["cost_rmb"], remission, seed=2)
    assert per_remission.value == pytest.approx(m["cost_rmb"].sum() / remission.sum())
    assert per_remission.ci_low < per_remission.value < per_remission.ci_high


def test_specs_from_scenario_tables():
    spec = ManufacturingSpec.from_dict({"manufacturing_median_days": "3 week",
                                        "max_apheresis_attempts": 3}, product="car_t")
    assert spec.process == "autologous" and spec.manufacturing_median_days == 21.0
    assert spec.max_apheresis_attempts == 3
    assert ManufacturingSpec.from_dict(None, product="car_nk").process == "allogeneic"
    assert ManufacturingSpec(**dataclasses.asdict(spec)) == spec
    assert ManufacturingSpec().out_of_spec == 0.04
    cost = CostSpec.from_dict({"product_cost_per_dose_rmb": 9e5, "hospital_days": 21},
                              product="car_t")
    assert cost.cost_per_dose_rmb == 9e5 and cost.days_in_hospital == 21
    assert CostSpec.from_dict(None, product="car_t").cost_per_dose_rmb == 1.2e6


@pytest.mark.parametrize("raw, field", [
    ({"manufacture_days": 10}, "arms.manufacturing.manufacture_days"),
    ({"max_apheresis_attempts": 0}, "arms.manufacturing.max_apheresis_attempts"),
    ({"max_apheresis_attempts": 1.5}, "arms.manufacturing.max_apheresis_attempts"),
    ({"out_of_spec_probability": 1.5}, "arms.manufacturing.out_of_spec_probability"),
    ({"release_median_days": "2 kg"}, "arms.manufacturing.release_median_days"),
    ({"release_median_days": -1}, "arms.manufacturing.release_median_days"),
    ({"process": "magic"}, "arms.manufacturing.process"),
])
def test_bad_manufacturing_tables_name_the_field(raw, field):
    with pytest.raises(UserError) as info:
        ManufacturingSpec.from_dict(raw, product="car_t")
    assert info.value.field == field


@pytest.mark.parametrize("raw, field", [
    ({"price": 1}, "arms.cost.price"),
    ({"product": "car_nk"}, "arms.cost.product"),
    ({"doses_per_batch": 0}, "arms.cost.doses_per_batch"),
    ({"apheresis_cost_rmb": -5}, "arms.cost.apheresis_cost_rmb"),
    ({"product_cost_per_dose_rmb": 1e5, "batch_cost_rmb": 1e6}, "arms.cost.batch_cost_rmb"),
    ({"charge_failed_manufacture": "yes"}, "arms.cost.charge_failed_manufacture"),
])
def test_bad_cost_tables_name_the_field(raw, field):
    with pytest.raises(UserError) as info:
        CostSpec.from_dict(raw, product="car_nk")
    assert info.value.field == field


def test_every_source_is_labelled():
    labels = {c.verified for c in MANUFACTURING_SOURCES}
    assert labels <= {"V-src", "V-code", "UNVERIFIED", "assumption"}
    price = [c for c in MANUFACTURING_SOURCES if "1.2 million" in c.text]
    assert price and price[0].verified == "UNVERIFIED"
    for c in MANUFACTURING_SOURCES:
        if c.verified == "assumption":
            assert c.note and "lausible" in c.note, c.key
    assert math.isclose(CostSpec().cost_per_dose_rmb, 1.2e6)


@pytest.mark.parametrize(("field", "value"), [("hospital_days", 1e308),
                                              ("hospital_day_cost_rmb", 1e308),
                                              ("batch_cost_rmb", -1.0)])
def test_costs_out_of_range_are_one_line_errors(field, value):
    """Huge costs or stays made sums and their intervals infinite (a traceback later)."""
    with pytest.raises(UserError, match=f"{field}: must be from 0 to"):
        CostSpec(**{field: value})
