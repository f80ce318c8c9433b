"""The bundled lupus scenarios carry the published regimens of issue 10 (no simulation).

- NCT06010472 / KN5501 (Gao 2025 design, science.md §4 [V-src]): adults, Flu 25 + Cy 300
  mg/m2/day on days -5 to -3, three equal infusions per cycle, escalation from 0.75e9 cells
  per infusion (6e9 and 9e9 levels), 18 patients, 12 months, the endpoint
  ``lldas_or_doris_12m_rate``.
- Paediatric programme: CAR-T 1e5 cells/kg; CD19/BCMA dual CAR-NK in six infusions with
  low-dose steroid kept, then tapered.
"""

from __future__ import annotations

from importlib import resources

import pytest

from nksim.config import TrialScenario
from nksim.scenario import read_toml, validate
from nksim.trials import get_setting


def _load(name: str) -> TrialScenario:
    return validate(TrialScenario, read_toml(resources.files("nksim.data") / "scenarios" / name))


def test_kn5501_design():
    sc = _load("sle_adult_carnk_kn5501.toml")
    assert sc.trial.follow_up_days == 365
    assert sc.trial.patients_per_arm * len(sc.arms) == 18
    doses = []
    for arm in sc.arms:
        assert arm.product == "car_nk" and arm.infusions == 3
        ld = arm.lymphodepletion
        assert (ld.first_day, ld.days) == (-5, 3)
        assert ld.fludarabine_mg_m2 == 25 and ld.cyclophosphamide_mg_m2 == 300
        doses.append(float(str(arm.dose).split()[0]))
    assert sorted(doses) == pytest.approx([0.75e9, 6e9, 9e9])
    names = {e.name for e in get_setting("sle").endpoints}
    assert {"lldas_or_doris_12m_rate", "doris_remission_12m_rate", "lldas_12m_rate",
            "sri4_6m_rate", "flare_12m_rate", "steroid_free_6m_rate"} <= names


def test_pediatric_regimens():
    sc = _load("sle_pediatric_cart_vs_carnk.toml")
    arms = {a.product: a for a in sc.arms}
    assert float(str(arms["car_t"].dose_per_kg).split()[0]) == pytest.approx(1e5)
    nk = arms["car_nk"]
    assert nk.infusions == 6 and float(nk.parameters["carnk_dual"]) == 1.0
    assert nk.steroids.after == "keep_then_taper" and nk.steroids.hold_weeks > 0
