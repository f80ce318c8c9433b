"""Shared test settings: a project-local cache for generated model code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# Generated model code and numba's cache of it live in one folder for the whole run
# (and between runs), outside the user's cache.
os.environ.setdefault("NKSIM_CACHE_DIR", str(ROOT / ".nksim-cache"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project; tests that need it skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not available")
    return SHARED_DATA


# ------------------------------------------------------------------ a small lupus trial

_ARMS = {
    "car_t": """[[arms]]
name = "car_t"
product = "car_t"
dose_per_kg = "1e6 cell/kg"
{lymphodepletion}[arms.steroids]
after = "stop"
""",
    "car_nk": """[[arms]]
name = "car_nk"
product = "car_nk"
dose_per_kg = "3e7 cell/kg"
infusions = 3
interval_days = 3
[arms.lymphodepletion]
fludarabine_mg_m2 = 25
cyclophosphamide_mg_m2 = 300
[arms.steroids]
after = "keep_then_taper"
""",
    "control": """[[arms]]
name = "control"
product = "none"
[arms.steroids]
after = "continue"
""",
}
_CAR_T_LYMPHODEPLETION = """[arms.lymphodepletion]
fludarabine_mg_m2 = 25
cyclophosphamide_mg_m2 = [0, 0, 1000]
"""


def _small_trial(*, name: str, seed: int, patients_per_arm: int, follow_up_days: int,
                 n_candidates: int, run_in_days: int = 30, population: str | None = "pediatric",
                 variability: bool = True, arms: tuple[str, ...] = ("car_t", "car_nk", "control"),
                 car_t_lymphodepletion: bool = False) -> str:
    head = (f'[trial]\nname = "{name}"\nseed = {seed}\npatients_per_arm = {patients_per_arm}\n'
            f"follow_up_days = {follow_up_days}\nrun_in_days = {run_in_days}\n[cohort]\n"
            + (f'population = "{population}"\n' if population else "")
            + f"n_candidates = {n_candidates}\n")
    if variability:
        head += ("[variability]\nlognormal_sigma = { all = 0.1, Emax_INF = 0.0, "
                 "Emax_auto = 0.0, n_ic = 0.0 }\n")
    ld = _CAR_T_LYMPHODEPLETION if car_t_lymphodepletion else ""
    return head + "".join(_ARMS[a].format(lymphodepletion=ld) if a == "car_t" else _ARMS[a]
                          for a in arms)


@pytest.fixture(scope="session")
def small_trial_toml():
    """The small lupus trial (TOML text) that the trial, trial-report and config tests
    share: arms CD19 CAR-T (1e6 cells/kg; steroids stopped), CD19 CAR-NK (3e7 cells/kg, 3
    infusions 3 days apart after Flu/Cy; steroids tapered) and control, pediatric cohort,
    10 % log-normal variability. A builder: ``small_trial_toml(name=..., seed=...,
    patients_per_arm=..., follow_up_days=..., n_candidates=...)``; ``arms`` picks and
    orders the arms, ``car_t_lymphodepletion`` gives CAR-T Flu/Cy (cyclophosphamide on the
    third day), ``population=None`` and ``variability=False`` leave those lines out."""
    return _small_trial
