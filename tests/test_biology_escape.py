"""Tumour escape (issue 9 §5): each mechanism's direction in the decision, the assay and a
tumour model (de Pillis 2005, ligand-transduced mouse set, composed with the escape factors).

Truths: the directions the biology states (MHC-I loss helps NK and hurts CD8+ T cells;
shed ligand, soluble MICA, PD-L1 on PD-1+ cells and TGF-beta hurt NK cells), checked as
behaviour of the decision model, the well model and the tumour ODE; no expected number
comes from nksim.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nksim.biology import (
    AssayCondition,
    EscapeProfile,
    KillingParameters,
    Microenvironment,
    NKReceptors,
    TargetLigands,
    apply_escape,
    cd8_kill_factor,
    escape_tumour_model,
    expected_killed_fraction,
    nk_kill_factor,
    signals,
    simulate_encounters,
    tumour_after,
)
from nksim.biology._decision import _DEFAULT as DECISION
from nksim.errors import UserError

NK_HURT = {
    "ligand_shedding": EscapeProfile(ligand_shedding=0.7),
    "soluble_mica": EscapeProfile(soluble_mica=2.0),
    "pdl1": EscapeProfile(pdl1=2.0),
    "tgf_beta": EscapeProfile(tgf_beta=5.0),
}


def test_mhc_loss_helps_nk_and_hurts_cd8():
    esc = EscapeProfile(mhc_loss=0.9)
    assert nk_kill_factor(esc) > 1.0 > cd8_kill_factor(esc)
    # PD-1-negative NK cells ignore PD-L1; unlicensed NK cells ignore MHC-I loss
    assert nk_kill_factor(EscapeProfile(pdl1=2.0, nk_pd1=0.0)) == pytest.approx(1.0)
    assert nk_kill_factor(esc, nk=NKReceptors(licensed=False)) == pytest.approx(1.0)


@pytest.mark.parametrize("esc", [EscapeProfile(mhc_loss=0.9), EscapeProfile(ligand_shedding=0.5),
                                 EscapeProfile(pdl1=1.0), EscapeProfile(tgf_beta=2.0)])
def test_nk_kill_factor_is_the_ratio_of_simulated_encounters(esc):
    # independent truth: the share of Monte-Carlo encounters that activate, with escape over
    # without (the closed-form rate law was off by 1.5-4x here, where activation is rare)
    rng = np.random.default_rng(11)
    sigma_a = math.hypot(DECISION["sigma_a"], KillingParameters().sigma_cell)
    target = TargetLigands(nkg2d_ligand=1.0, mhc_i=0.5)

    def share(nk, tgt, env):
        act = simulate_encounters(signals(nk, tgt, env), 1_000_000, rng, sigma_a=sigma_a)[1]
        return act.mean(), act.sum()

    p0, n0 = share(NKReceptors(pd1=1.0), target, Microenvironment())
    p1, n1 = share(*apply_escape(NKReceptors(), target, Microenvironment(), esc))
    rel_se = math.sqrt(1 / n0 + 1 / n1)  # Poisson counts of activating encounters
    assert nk_kill_factor(esc) == pytest.approx(p1 / p0, rel=4 * rel_se + 0.02)


@pytest.mark.parametrize("name", sorted(NK_HURT))
def test_escape_mechanisms_lower_nk_activation_and_assay_lysis(name):
    esc = NK_HURT[name]
    assert nk_kill_factor(esc) < 1.0
    assert cd8_kill_factor(esc) <= 1.0
    target = TargetLigands(nkg2d_ligand=2.0, mhc_i=0.3)
    base = AssayCondition("base", nk=NKReceptors(pd1=1.0), target=target)
    nk, tgt, env = apply_escape(NKReceptors(pd1=1.0), target, Microenvironment(), esc)
    escaped = AssayCondition("escaped", nk=nk, target=tgt, environment=env)
    for et in (2.0, 10.0):
        assert expected_killed_fraction(escaped, et) < expected_killed_fraction(base, et)


def test_mhc_loss_raises_assay_lysis():
    target = TargetLigands(nkg2d_ligand=1.0, mhc_i=1.0)
    nk, tgt, env = apply_escape(NKReceptors(), target, Microenvironment(),
                                EscapeProfile(mhc_loss=0.9))
    assert expected_killed_fraction(AssayCondition("x", nk=nk, target=tgt), 5.0) > \
        expected_killed_fraction(AssayCondition("y", target=target), 5.0)


def test_tumour_model_mhc_loss_with_nk_only_and_cd8_only():
    base, loss = EscapeProfile(), EscapeProfile(mhc_loss=0.9)
    kw = dict(days=10.0, T0=1e5)
    assert tumour_after(loss, nk_only=True, **kw) < tumour_after(base, nk_only=True, **kw)
    assert tumour_after(loss, cd8_only=True, **kw) > tumour_after(base, cd8_only=True, **kw)


@pytest.mark.parametrize("name", ["ligand_shedding", "pdl1", "tgf_beta"])
def test_escape_turns_a_controlled_tumour_into_a_growing_one(name):
    assert tumour_after(EscapeProfile(), days=60.0, T0=1e4) < 1.0  # controlled: extinct
    assert tumour_after(NK_HURT[name], days=60.0, T0=1e4) > 1e8  # escapes


def test_composed_model_scales_only_the_kill_rates():
    from nksim.library import get_model

    base = get_model("depillis2005", "ln")
    esc = EscapeProfile(tgf_beta=5.0)
    m = escape_tumour_model(esc)
    assert m.parameter("c").value == pytest.approx(base.parameter("c").value
                                                   * nk_kill_factor(esc))
    assert m.parameter("d").value == pytest.approx(base.parameter("d").value
                                                   * cd8_kill_factor(esc))
    others = set(base.parameter_names) - {"c", "d"}
    assert all(m.parameter(n).value == base.parameter(n).value for n in others)


@pytest.mark.parametrize("bad", [dict(mhc_loss=1.5), dict(tgf_beta=-1.0),
                                 dict(pdl1=float("nan"))])
def test_bad_escape_values_name_the_field(bad):
    with pytest.raises(UserError, match=r"^escape\."):
        EscapeProfile(**bad)


ESCAPE_SCENARIO = """
[assay]
et_ratios = [10, 5, 2.5]
[[conditions]]
name = "base"
nk = { pd1 = 1.0 }
target = { nkg2d_ligand = 2.0, mhc_i = 0.3 }
[[conditions]]
name = "escaped"
nk = { pd1 = 1.0 }
target = { nkg2d_ligand = 2.0, mhc_i = 0.3 }
escape = { tgf_beta = "5 ng/mL", ligand_shedding = 0.3 }
"""


def test_escape_in_an_assay_scenario(tmp_path):
    import json

    from click.testing import CliRunner

    from nksim.cli import cli

    path = tmp_path / "esc.toml"
    path.write_text(ESCAPE_SCENARIO)
    res = CliRunner().invoke(cli, ["assay", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    details = json.loads((tmp_path / "o" / "details.json").read_text())
    base, esc = details["conditions"]
    assert all(esc["expected_pct"][k] < v for k, v in base["expected_pct"].items())
