"""Report words for what the arms infuse and how (products from their catalogue
definitions, settings in words with units), for the bundled scenarios: fast checks that
run no trial."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from nksim.config import TrialScenario
from nksim.report._regimen import arm_regimen
from nksim.scenario import validate

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _scenario(name: str):
    return validate(TrialScenario, tomllib.loads((SCENARIOS / f"{name}.toml").read_text()))


def _regimens(name: str) -> dict[str, dict]:
    scenario = _scenario(name)
    empty = pd.DataFrame({"infused": pd.Series([], dtype=bool)})
    return {a.name: arm_regimen(i, SimpleNamespace(spec=a, patients=empty, simulation=None,
                                                   name=a.name), scenario)
            for i, a in enumerate(scenario.arms)}


def test_hncd16_product_is_named_by_what_it_is_not_as_a_car():
    r = _regimens("lymphoma_ft516_rituximab")
    for arm in ("ft516_rituximab", "ft516_rituximab_3e7"):
        product = r[arm]["product"]
        assert "CAR-NK" not in product and "CD19" not in product, product
        assert "hnCD16" in product and "no CAR" in product and "allogeneic" in product
    assert r["rituximab"]["product"] == "no cell product"


def test_lymphoma_settings_in_words_with_units():
    r = _regimens("lymphoma_ft516_rituximab")
    other = r["ft516_rituximab"]["other"]
    assert other == "rituximab 375 mg/m² on day −5; IL-2 cytokine support"
    assert r["rituximab"]["other"] == "rituximab 375 mg/m² on day −5"
    for raw in ("hncd16", "nk product", "il2", "(days)"):
        assert raw not in other


def test_dual_car_nk_is_named_cd19_bcma_and_its_setting_is_short():
    r = _regimens("sle_pediatric_cart_vs_carnk")
    assert r["car_nk"]["product"] == "CD19/BCMA dual CAR-NK cells (allogeneic)"
    assert r["car_t"]["product"] == "CD19 CAR-T cells (autologous)"
    other = r["car_nk"]["other"]
    assert "BCMA" in other and len(other) < 100 and "carnk_dual" not in other


@pytest.mark.parametrize("name", ["lymphoma_cd19_carnk", "sle_adult_carnk_kn5501"])
def test_car_nk_products_keep_their_antigen(name):
    for r in _regimens(name).values():
        assert r["product"].startswith("CD19 ") and "CAR-NK cells (allogeneic)" in r["product"]
