"""Rituximab B-cell repopulation in lupus against the marrow precursor stages (issue 10 §1).

The check of docs/calibration_sle10.py ``rituximab`` (docs/calibration.md §14.2): the
paediatric rituximab PD of Pan 2019 (PMC6624401, abstract [V-src]: 35-fold CD19+ death rate,
effect decaying at 0.036/d; data from 2 x 750 mg/m2 on days 1 and 15) acting on the CD20+
transitional and naive/memory stages of the lupus model. The bounds come from the published
SLE numbers recorded there with their sources: naive B cells recovered within 3-9 months
(Iwata 2011 [V-src]); depletion about 6 months, repopulation 9-12 months in most (Lu 2008
[V-src]); complete depletion (0 cells/uL) lasting a median 71 days (LUNAR, Gomez Mendez 2018
[V-src]).
One extra model compiles (20-45 s on a fresh machine): marked slow. Research use only.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cal():
    path = Path(__file__).resolve().parents[1] / "docs" / "calibration_sle10.py"
    spec = importlib.util.spec_from_file_location("calibration_sle10", path)
    mod = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def two_doses(cal):
    return cal.rituximab()  # 2 x 750 mg/m2-equivalent on days 0 and 14, remission patient


def test_first_b_cells_return_between_the_published_depletion_durations(cal, two_doses):
    """First return (10 cells/uL, the lupus endpoint's threshold) no earlier than the median
    duration of complete depletion in LUNAR (71 d, a stricter 0-cells definition) and no later
    than the ~6 months of depletion summarised by Lu 2008."""
    first = two_doses["lupus_model_back_10_per_ul_day"]
    assert first is not None
    assert (cal.LUNAR_COMPLETE_DEPLETION_MEDIAN_DAYS <= first
            <= cal.SLE_RTX_DEPLETION_MONTHS * cal.DAYS_PER_MONTH)


def test_half_repopulation_lies_in_the_published_naive_recovery_window(cal, two_doses):
    half = two_doses["lupus_model_back_50pct_day"]
    assert half is not None
    lo, hi = (m * cal.DAYS_PER_MONTH for m in cal.SLE_RTX_NAIVE_RECOVERY_MONTHS)
    assert lo <= half <= hi


def test_precursor_stages_delay_repopulation_beyond_the_one_compartment_pd_model(two_doses):
    """Same drug effect, same data-fitted numbers: the marrow stages add a lag."""
    assert two_doses["lupus_model_back_50pct_day"] > two_doses["published_model_back_50pct_day"]
    assert two_doses["lupus_model_back_25pct_day"] > two_doses["published_model_back_25pct_day"]
