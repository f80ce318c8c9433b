"""Lymphoma setting: Lugano 2014 rules on constructed cases, tumour geometry, and the
mechanisms (no antibody -> no ADCC; hnCD16 products do not depend on the host FCGR3A
genotype; lymphodepletion lengthens persistence; antigen-negative escape)."""

from __future__ import annotations

import numpy as np
import pytest

from nksim.disease._lymphoma import ProductSpec, lymphoma_model
from nksim.disease._lymphoma_response import (
    best_overall_response,
    first_progression,
    lesion_diameters,
    lugano_ct,
    spd,
    sphere_diameter_cm,
)
from nksim.engine import SolverOptions, simulate
from nksim.therapy import car_nk, hncd16_nk, lymphodepletion_doses
from nksim.therapy._antibodies import rituximab_doses

# ---------------------------------------------------------------- Lugano on constructed cases


def test_lugano_partial_response_at_exactly_minus_50_percent_spd():
    base = np.array([4.0, 3.0])  # SPD 16 + 9 = 25 cm2
    half = np.sqrt(12.5 / 25.0) * base  # SPD 12.5: -50 % exactly
    assert lugano_ct(np.vstack([base, half])) == ["PR"]
    assert lugano_ct(np.vstack([base, half * 1.01])) == ["SD"]


def test_lugano_complete_response_needs_every_node_at_most_1_5_cm():
    base = np.array([4.0, 3.0])
    assert lugano_ct(np.vstack([base, [1.5, 1.0]])) == ["CR"]
    assert lugano_ct(np.vstack([base, [1.6, 0.0]])) == ["PR"]  # SPD 2.56 of 25 but LDi 1.6


def test_lugano_progression_needs_ppd_plus_50_and_absolute_growth_from_nadir():
    # nadir 1.8 cm (<= 2 cm: +0.5 cm needed); PPD 3.24 -> >= 4.86 needed
    base, nadir = [3.0], [1.8]
    assert lugano_ct(np.array([base, nadir, [2.3]]))[-1] == "PD"  # 5.29 >= 4.86, +0.5
    assert lugano_ct(np.array([base, nadir, [2.2]]))[-1] != "PD"  # 4.84 < 4.86
    # nadir 3 cm (> 2 cm: +1.0 cm needed): 3.9 cm gives PPD +69 % but only +0.9 cm
    assert lugano_ct(np.array([[4.0], [3.0], [3.9]]))[-1] == "SD"
    assert lugano_ct(np.array([[4.0], [3.0], [4.0]]))[-1] == "PD"
    # growth of a node that stays <= 1.5 cm is never PD
    assert lugano_ct(np.array([[3.0], [0.6], [1.5]]))[-1] == "CR"
    # a new lesion is PD whatever the target lesions do
    assert lugano_ct(np.array([[3.0], [1.0]]), new_lesion=[False, True]) == ["PD"]


def test_lugano_small_and_vanished_lesions_in_the_spd():
    ldi = np.array([[2.0, 0.3, 0.0]])
    assert spd(ldi)[0] == pytest.approx(4.0 + 0.25 + 0.0)  # 5 mm x 5 mm default


def test_best_overall_response_stops_at_first_progression():
    assert best_overall_response(["SD", "PR", "PD", "CR"]) == "PR"
    assert best_overall_response(["PD", "CR"]) == "PD"
    assert first_progression(["SD", "PR", "PD"], np.array([28.0, 56.0, 84.0])) == 84.0
    assert np.isnan(first_progression(["SD"], np.array([28.0])))


def test_burden_to_lesions_is_sphere_geometry():
    # 1e9 cells = 1 mL; a 4/3 pi (1 cm)^3 sphere has diameter 2 cm
    assert sphere_diameter_cm(4.0 / 3.0 * np.pi)[()] == pytest.approx(2.0)
    ldi = lesion_diameters(np.array([2 * 4.0 / 3.0 * np.pi * 1e9]), np.array([1.0, 1.0]))
    assert ldi[0] == pytest.approx([2.0, 2.0], rel=1e-12)  # two spheres of radius 1 cm
    # halving the volume of a lesion divides its PPD by 2^(2/3)
    one = lesion_diameters(np.array([1e11, 5e10]), np.array([1.0]))
    assert (one[1, 0] / one[0, 0]) ** 2 == pytest.approx(2 ** (-2 / 3))


# ---------------------------------------------------------------- mechanisms (simulated)
HNK = ProductSpec("NKP1", hncd16_nk(), "il2", True)
OPTS = SolverOptions(rtol=1e-8, atol=1e-9)
T = np.arange(-7.0, 121.0, 1.0)


@pytest.fixture(scope="module")
def model():
    return lymphoma_model([HNK])


def _patient(model, *, nk0=217.0, affinity=1.0, **values):
    m = model.with_values({"nkh0": nk0, "hadcc_affinity": affinity, **values})
    x0 = m.initial_vector()
    s = list(m.state_names)
    burden = 50e9 / 4.9e6  # 50 mL
    x0[s.index("L")], x0[s.index("L20N")], x0[s.index("L19N")] = burden * 0.97, burden * 0.02, \
        burden * 0.01
    x0[s.index("NKH")] = nk0
    x0[s.index("TH")] = m.parameter("th_normal").value
    return m, x0


def _run(m, x0, doses):
    res = simulate(m, T, initial=x0[None, :], doses=doses, t_start=-7.0, options=OPTS)
    assert res.patients["status"].iloc[0] == "ok"
    return res


def _product(weight=70.0, ld=True):
    doses = HNK.product.doses_for("NKP1", weight, 0.0)
    return doses + (lymphodepletion_doses(-6.0, 3) if ld else [])


def test_no_antibody_no_adcc(model):
    m, x0 = _patient(model)
    res = _run(m, x0, _product())
    assert np.all(res.evaluate("adcc_hadcc") == 0.0)
    assert np.all(res.evaluate("adcc_NKP1") == 0.0)
    # and the ADCC strength then changes nothing
    stronger = _run(m.with_values({"hadcc_kmax": 5.0, "NKP1_adcc": 50.0}), x0, _product())
    np.testing.assert_allclose(stronger.dataset["tumour_ml"].values,
                               res.dataset["tumour_ml"].values, rtol=1e-10)
    rtx = _run(m, x0, _product() + rituximab_doses(375.0, 1.9, [-5.0]))
    assert rtx.evaluate("adcc_hadcc").max() > 0 and rtx.evaluate("adcc_NKP1").max() > 0


def test_hncd16_product_does_not_depend_on_host_genotype(model):
    doses = _product() + rituximab_doses(375.0, 1.9, [-5.0])
    # without host NK cells, the product's ADCC alone: identical for VV and FF hosts
    vv = _run(*_patient(model, nk0=0.0, affinity=1.0), doses)
    ff = _run(*_patient(model, nk0=0.0, affinity=0.3), doses)
    assert vv.evaluate("adcc_NKP1").max() > 0
    np.testing.assert_array_equal(vv.dataset["tumour_ml"].values, ff.dataset["tumour_ml"].values)
    # while host-NK ADCC (rituximab alone) does depend on it
    rtx = rituximab_doses(375.0, 1.9, [-5.0])
    hv = _run(*_patient(model, affinity=1.0), rtx).dataset["tumour_ml"].values[0, -1]
    hf = _run(*_patient(model, affinity=0.3), rtx).dataset["tumour_ml"].values[0, -1]
    assert hv < hf


def test_lymphodepletion_lengthens_persistence(model):
    m, x0 = _patient(model)
    with_ld = _run(m, x0, _product(ld=True)).dataset["NKP1"].values[0]
    without = _run(m, x0, _product(ld=False)).dataset["NKP1"].values[0]
    level = 0.01  # cell/uL
    days_with = (with_ld > level).sum()
    days_without = (without > level).sum()
    assert days_with > days_without
    assert with_ld[T == 20.0][0] > without[T == 20.0][0]


def test_cd20_negative_clone_escapes_rituximab(model):
    m, x0 = _patient(model, affinity=1.0, hadcc_kmax=1.0)
    res = _run(m, x0, rituximab_doses(375.0, 1.9, [-5.0]))
    share = res.dataset["cd20_negative_share"].values[0]
    assert share[-1] > 5 * share[0]  # ADCC spares CD20-negative cells: they take over


def test_cd19_car_kills_only_cd19_positive_clones():
    spec = ProductSpec("NKP1", car_nk("CD19", il15_armoured=True), "none", False)
    m = lymphoma_model([spec])
    assert spec.targets == ("L", "L20N")
    for x in ("L", "L20N"):
        assert "NKP1" in m.equations[x]
    assert "NKP1" not in m.equations["L19N"]


# ---------------------------------------------------------------- regimens (no simulation)
def _scenario(**arm0):
    import tomllib
    from pathlib import Path

    from nksim.config import TrialScenario
    from nksim.scenario import validate

    path = Path(__file__).resolve().parents[1] / "src/nksim/data/scenarios" \
        / "lymphoma_ft516_rituximab.toml"
    raw = tomllib.loads(path.read_text())
    raw["arms"][0].update(arm0)
    return validate(TrialScenario, raw)


def test_ft516_regimen_doses_by_hand():
    from types import SimpleNamespace

    from nksim.disease._lymphoma_setting import LymphomaSetting

    sc = _scenario()
    setting = LymphomaSetting()
    patient = SimpleNamespace(infused=True, weight_kg=70.0, bsa_m2=1.8)
    treatment = lymphodepletion_doses(-6.0, 3)
    doses = setting.doses(sc.arms[0], patient, treatment, sc)
    prod = [d for d in doses if d.state == "NKP1"]
    # 9e8 cells x purity 0.9 x viability 0.9 x 2 % in blood / (70 kg x 70 mL/kg x 1000 uL/mL)
    assert prod[0].amount == pytest.approx(9e8 * 0.81 * 0.02 / 4.9e6)
    assert (prod[0].time, prod[0].every, prod[0].count) == (0.0, 7.0, 3)
    rtx = [d for d in doses if d.state == "RTX1"]
    assert len(rtx) == 1 and rtx[0].amount == pytest.approx(375 * 1.8) and rtx[0].time == -5
    assert sorted(d.time for d in doses if d.state == "LD") == [-6.0, -5.0, -4.0]
    # the rituximab-alone arm: antibody only
    alone = setting.doses(sc.arms[1], SimpleNamespace(infused=False, weight_kg=70.0,
                                                      bsa_m2=1.8), [], sc)
    assert {d.state for d in alone} == {"RTX1", "RTXS"}


def test_bendamustine_lymphodepletion_in_ld_units():
    from types import SimpleNamespace

    from nksim.disease._lymphoma_setting import LymphomaSetting

    sc = _scenario(lymphodepletion=False,
                   regimen={"nk_product": "hncd16_nk", "support": "il2",
                            "antibody": "rituximab", "bendamustine_mg_m2": 90.0,
                            "bendamustine_days": [-5.0, -4.0]})
    doses = LymphomaSetting().doses(sc.arms[0], SimpleNamespace(
        infused=True, weight_kg=70.0, bsa_m2=1.8), [], sc)
    ld = sorted((d.time, d.amount) for d in doses if d.state == "LD")
    assert ld == [(-5.0, 1.0), (-4.0, 1.0)]  # 90 mg/m2 = 1 LD unit (assumption)


def test_lugano_baseline_is_the_burden_before_the_first_treatment():
    # Flu/Cy and rituximab from day -6 shrink the tumour before day 0: measured from day 0
    # a fall from 100 to 30 mL (SPD -55 %: PR) looked like one from 50 (SPD -29 %: SD)
    import pandas as pd
    import xarray as xr

    from nksim.disease._lymphoma_setting import lymphoma_endpoints

    t = np.array([-7.0, -2.0, 0.0, 28.0, 56.0])
    ml = np.array([[100.0, 70.0, 50.0, 30.0, 30.0]])
    ds = xr.Dataset({"tumour_ml": (("patient", "time"), ml)},
                    coords={"patient": [0], "time": t})
    patients = pd.DataFrame({"lesion_shares": ["1"]})
    rng = [np.random.default_rng(0)]
    before = lymphoma_endpoints(ds, patients, rng, 56.0, baseline_day=[-6.0])
    at_zero = lymphoma_endpoints(ds, patients, [np.random.default_rng(0)], 56.0)
    # one spherical lesion: SPD scales as volume^(2/3)
    assert before["best_spd_change_pct"][0] == pytest.approx(100 * (0.3 ** (2 / 3) - 1))
    assert at_zero["best_spd_change_pct"][0] == pytest.approx(100 * (0.6 ** (2 / 3) - 1))
    assert before["best_response"][0] == "PR" and at_zero["best_response"][0] == "SD"


def test_response_at_the_first_assessment_is_apart_from_the_best_response():
    """Marin 2024's 48.6 % is a day-30 response: a patient who responds only at day 56
    counts for the best response, not for the day-28 response."""
    import pandas as pd
    import xarray as xr

    from nksim.disease._lymphoma_setting import LymphomaSetting, lymphoma_endpoints

    t = np.array([0.0, 28.0, 56.0])
    ml = np.array([[100.0, 90.0, 20.0], [100.0, 20.0, 20.0]])  # late, early responder
    ds = xr.Dataset({"tumour_ml": (("patient", "time"), ml)},
                    coords={"patient": [0, 1], "time": t})
    patients = pd.DataFrame({"lesion_shares": ["1", "1"]})
    rngs = [np.random.default_rng(0), np.random.default_rng(1)]
    got = lymphoma_endpoints(ds, patients, rngs, 56.0)
    assert got["responder"].tolist() == [True, True]
    assert got["responder_first_visit"].tolist() == [False, True]
    endpoint = next(e for e in LymphomaSetting.endpoints if e.name == "orr_day28_rate")
    assert endpoint.column == "responder_first_visit" and "day 28" in endpoint.label
