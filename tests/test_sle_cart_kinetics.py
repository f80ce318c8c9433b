"""CD19 CAR-T kinetics in the lupus model at the children's-programme dose (1e5/kg) and the
Mackensen dose (1e6/kg), against the typical curve of Stein 2019 (science.md §3a, V-src):
peak ~day 9-10, early decline alpha 0.16/d (t½ 4.3 d), memory F_B 0.0079 of the peak,
terminal decline beta 0.0032/d (t½ 220 d), ~0.6 % of the peak at day 90, no dose
covariate. Issue 10; numbers in docs/calibration.md §11 and §13
(docs/calibration_sle10.py stein).
"""

from __future__ import annotations

import numpy as np
import pytest

from nksim.disease import sle_initial_state
from nksim.engine import simulate
from nksim.library import get_model
from nksim.therapy import STEIN2019_TYPICAL, CellProduct, lymphodepletion_doses

T = np.round(np.concatenate([np.arange(-6.0, 60.0, 0.1), np.arange(60.0, 600.5, 0.5)]), 10)
DOSES = (1e5, 1e6)


@pytest.fixture(scope="module")
def curves():
    """One SLEDAI-16 adult (70 kg, T cells 1200/uL), Flu 25 x 3 + Cy 1000, each dose."""
    m = get_model("sle_cd19")
    base = sle_initial_state(m, {"th_normal": 1200.0}, 16)
    P = np.repeat(base.parameters, len(DOSES), axis=0)
    Y = np.repeat(base.initial, len(DOSES), axis=0)
    Y[:, m.state_names.index("TH")] = 1200.0
    doses = [lymphodepletion_doses(-5, 3, 25, [0, 0, 1000])
             + CellProduct("t", "car_t", dose_per_kg=d).doses_for(70.0, 0.0) for d in DOSES]
    ds = simulate(m, T, parameters=P, initial=Y, doses=doses, t_start=-6.0).dataset
    out = {}
    for i, d in enumerate(DOSES):
        tot = ds.CART.values[i] + ds.CARTM.values[i]
        k = int(np.argmax(tot))
        out[d] = {"total": tot, "k": k, "tmax": T[k], "peak": tot[k],
                  "memory": ds.CARTM.values[i], "B": ds.B.values[i],
                  "effector": ds.CART.values[i], "exhausted": ds.CARTX.values[i]}
    return out


def _slope(y, a, b):
    sel = (T >= a) & (T <= b)
    return -np.polyfit(T[sel], np.log(y[sel]), 1)[0]


def test_peak_day(curves):
    """Stein Tmax 9.3 d (IIV omega^2 0.38, no dose covariate). Ten-fold fewer cells reach the
    same target-limited peak ln(10)/r later; with Stein's doubling time (0.78 d) that is
    2.6 d, so the two doses straddle day 9.3 and differ by at most ~3.5 d (was 4.1 d, peaks
    on days 10.4 and 14.5, before the exhaustion state)."""
    t5, t6 = curves[1e5]["tmax"], curves[1e6]["tmax"]
    assert 7.5 <= t6 <= 10.5
    assert t6 < t5 <= 12.0
    r_stein = np.log(2) / STEIN2019_TYPICAL["doubling_time_day"]
    assert t5 - t6 <= np.log(10) / r_stein + 1.0


def test_no_cap_peak_level_is_dose_independent(curves):
    ratio = curves[1e6]["peak"] / curves[1e5]["peak"]
    assert 1 / 1.5 <= ratio <= 1.5  # the former capacity limit made 1e5/kg ~7x lower


@pytest.mark.parametrize("dose", DOSES)
def test_biphasic_decline_and_memory(curves, dose):
    c = curves[dose]
    tp = c["tmax"]
    alpha, beta = STEIN2019_TYPICAL["alpha_per_day"], STEIN2019_TYPICAL["beta_per_day"]
    assert _slope(c["total"], tp + 2, tp + 12) == pytest.approx(alpha, rel=0.2)
    late = _slope(c["total"], tp + 300, tp + 500)
    assert 0.5 * beta <= late <= 2.0 * beta  # terminal t½ 110-440 d around Stein's 220 d
    mem = c["memory"][np.searchsorted(T, tp + 30)] / c["peak"]
    f_b = STEIN2019_TYPICAL["memory_fraction"]
    assert 0.5 * f_b <= mem <= 2 * f_b


@pytest.mark.parametrize("dose", DOSES)
def test_b_cells_depleted_then_back_within_months(curves, dose):
    b, tp = curves[dose]["B"], curves[dose]["tmax"]
    assert b[(T > tp) & (T < 40)].min() < 1.0
    back = T[(T > tp) & (b >= 10.0)]
    assert back.size and 60 <= back[0] <= 200


def _stein_share(day: float) -> float:
    """Stein 2019's typical biexponential curve, as a share of the peak, ``day`` after it."""
    s = STEIN2019_TYPICAL
    f_b = s["memory_fraction"]
    return ((1 - f_b) * np.exp(-s["alpha_per_day"] * day)
            + f_b * np.exp(-s["beta_per_day"] * day))


#: Stein 2019 Table 1 (science.md §3a, V-src): between-patient variance of log F_B.
STEIN_OMEGA2_FB = 0.8


@pytest.mark.parametrize("dose", DOSES)
def test_day_90_level_is_about_0_6_percent_of_the_peak(curves, dose):
    """Stein's typical curve keeps ~0.6 % of its peak at day 90 (computed from Table 1's
    typical values, not from nksim); the model's typical patient must lie within one
    between-patient SD of Stein's persistent fraction F_B (x/÷ exp(sqrt(0.8)) = 2.45).
    Before issue 10's exhaustion state the marrow's CD19+ output sustained a smouldering
    effector pool at ~4 % (a strict xfail until then)."""
    c = curves[dose]
    expected = _stein_share(90.0 - STEIN2019_TYPICAL["tmax_day"])
    assert 0.005 < expected < 0.007  # the anchor itself
    share = c["total"][np.searchsorted(T, 90.0)] / c["peak"]
    spread = np.exp(np.sqrt(STEIN_OMEGA2_FB))
    assert expected / spread <= share <= expected * spread


@pytest.mark.parametrize("dose", DOSES)
def test_exhaustion_ends_the_smouldering_effectors(curves, dose):
    """Effectors (not memory) fall below a quarter of the memory pool by day 120 and keep
    falling: the persistence phase is carried by the long-lived pool, as in Stein's two
    phases (before issue 10's exhaustion state effectors stayed ~4x the memory pool)."""
    c = curves[dose]
    i, j = np.searchsorted(T, 120.0), np.searchsorted(T, 200.0)
    assert c["effector"][i] < 0.25 * c["memory"][i]
    assert c["effector"][j] < 0.1 * c["effector"][i]
    assert c["exhausted"][i] > 0.5
