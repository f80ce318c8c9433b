"""Serial killing (issue 9 §2): routes, timing, published kill statistics, kill-count fits.

Published truths (V-src abstracts / V-code data, science.md §5 and part 2 §1b-1c): about
half of IL-2-activated NK cells kill nobody and a minority do most of the killing
(Vanherberghen 2013); ~75 % of resting cells are non-cytotoxic over 12 h and some kill >= 3
(Guldevall 2016); first kills granzyme, later kills death receptor, perforin-deficient cells
kill once via death receptors, CD95-negative targets do not stop granzyme serial killing
(Prager 2019); death-receptor killing takes 45-90 min (Li 2014/2015); mouse kill counts
(Sharks data) are Poisson-like. The calibrated quantity of each preset is named in
``KILLING_PRESETS[...].calibration``; the tests check the others.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from scipy import stats

from nksim.biology import (
    DEATH_RECEPTOR,
    GRANZYME,
    KILLING_PRESETS,
    KillingParameters,
    NKReceptors,
    Signals,
    TargetLigands,
    compare_kill_count_models,
    counts_from_table,
    fit_kill_counts,
    signals,
    simulate_serial_killing,
)
from nksim.errors import UserError

N = 20000


def run(name, n=N, **changes):
    pre = KILLING_PRESETS[name]
    params = pre.params.replace(**changes) if changes else pre.params
    return simulate_serial_killing(pre.signals(), n, duration_h=pre.duration_h, params=params,
                                   seed=11)


@pytest.fixture(scope="module")
def il2():
    return run("il2_human_k562")


def test_each_cell_has_its_own_stream_whatever_the_batch_or_threads():
    sig = KILLING_PRESETS["il2_human_k562"].signals()
    whole = simulate_serial_killing(sig, 3000, seed=5)
    parts = [simulate_serial_killing(sig, 1000, seed=5, first_cell=i) for i in (0, 1000, 2000)]
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = simulate_serial_killing(sig, 3000, seed=5)
    finally:
        numba.set_num_threads(threads)
    for other in (single,):
        assert np.array_equal(whole.kills, other.kills)
        assert np.array_equal(whole.kill_times_min, other.kill_times_min, equal_nan=True)
    assert np.array_equal(whole.kills, np.concatenate([p.kills for p in parts]))
    assert np.array_equal(whole.routes, np.concatenate([p.routes for p in parts]))
    assert not np.array_equal(whole.kills, simulate_serial_killing(sig, 3000, seed=6).kills)


def test_about_half_of_il2_nk_cells_kill_nobody_and_a_minority_does_most(il2):
    assert 0.4 <= il2.nonkiller_fraction <= 0.6  # calibrated (Vanherberghen 2013)
    serial = np.mean(il2.kills >= 3)
    assert 0.05 < serial < 0.5  # serial killers are a minority ...
    top = np.sort(il2.kills)[::-1][: N // 5]
    assert top.sum() / il2.kills.sum() > 0.5  # ... and the top fifth makes most kills
    assert il2.kills.max() <= 8  # "up to about 4-6 kills" in 12-16 h [UNVERIFIED order]


def test_resting_cells_are_mostly_non_cytotoxic_but_some_kill_three():
    rest = run("resting_human_k562")
    assert 0.65 <= rest.nonkiller_fraction <= 0.85  # calibrated (Guldevall 2016)
    assert np.mean(rest.kills >= 3) > 0.01  # prediction: some kill >= 3


def test_first_kills_use_granzyme_and_later_kills_death_receptors(il2):
    dr_share = il2.route_share_by_kill_index(DEATH_RECEPTOR)
    assert dr_share[0] < 0.05 and dr_share[3] > 0.5  # Prager 2019
    grz = il2.kill_delays_min[il2.routes == GRANZYME]
    dr = il2.kill_delays_min[il2.routes == DEATH_RECEPTOR]
    assert 5 <= grz.mean() <= 15  # ~10 min (Vanherberghen via Hoffman 2018)
    assert 45 <= dr.mean() <= 90  # 45-90 min (Li 2014, 2015)
    assert np.median(dr) > 3 * np.median(grz)


def test_perforin_deficient_cells_kill_at_most_once_and_slowly(il2):
    prf = run("il2_human_k562", perforin=False)
    assert np.mean(prf.kills >= 2) < 0.02
    assert np.all(prf.routes[prf.routes > 0] == DEATH_RECEPTOR)
    assert prf.kill_delays_min[prf.routes > 0].mean() >= 45
    assert prf.nonkiller_fraction > il2.nonkiller_fraction


def test_cd95_negative_targets_do_not_stop_granzyme_serial_killing(il2):
    neg = run("il2_human_k562", dr_success=0.0)
    assert np.sum(neg.routes == DEATH_RECEPTOR) == 0
    grz_wt = np.sum(il2.routes == GRANZYME, axis=1)
    grz_neg = np.sum(neg.routes == GRANZYME, axis=1)
    assert np.mean(grz_neg >= 2) > 0.3
    assert abs(grz_neg.mean() - grz_wt.mean()) < 0.1 * grz_wt.mean()


def test_cytokine_release_follows_activation():
    nk = NKReceptors()
    out = []
    for ligand in (0.0, 0.5, 1.0, 2.0):
        sig = signals(nk, TargetLigands(nkg2d_ligand=ligand, mhc_i=0.05))
        out.append(simulate_serial_killing(sig, 4000, seed=2).cytokine.mean())
    assert out[0] == 0.0
    assert all(a < b for a, b in zip(out, out[1:], strict=False))


MOUSE = {"mouse_rma_mult1": {0: 21, 1: 22, 2: 12, 3: 4, 4: 1},
         "mouse_rma_rae1": {0: 31, 1: 26, 2: 9, 3: 4, 4: 0}}


@pytest.mark.parametrize("name", sorted(MOUSE))
def test_mouse_kill_counts_are_poisson_like_as_observed(name):
    observed = counts_from_table(MOUSE[name])
    sim = run(name).kills
    assert abs(sim.mean() - observed.mean()) < 0.1  # calibrated mean
    assert 0.85 < sim.var() / sim.mean() < 1.15  # Poisson-like dispersion (prediction)
    # the whole simulated distribution against the observed counts (>= 3 pooled)
    p_sim = np.array([np.mean(sim == 0), np.mean(sim == 1), np.mean(sim == 2), np.mean(sim >= 3)])
    obs = np.array([np.sum(observed == 0), np.sum(observed == 1), np.sum(observed == 2),
                    np.sum(observed >= 3)])
    assert stats.chisquare(obs, p_sim * obs.sum()).pvalue > 0.05
    comparison = compare_kill_count_models(sim)
    assert comparison["models"]["poisson"]["delta_aic"] < 4


def test_human_il2_kill_counts_are_not_poisson(il2):
    comparison = compare_kill_count_models(il2.kills)
    assert comparison["best"] != "poisson"
    assert comparison["models"]["poisson"]["delta_aic"] > 100


# ------------------------------------------------------------------ count fitting
def test_fits_recover_known_parameters_and_the_right_family():
    rng = np.random.default_rng(0)
    n = 4000
    pois = rng.poisson(1.5, n)
    zip_ = np.where(rng.random(n) < 0.4, 0, rng.poisson(2.0, n))
    lam = rng.gamma(0.8, 1.5 / 0.8, n)
    nb = rng.poisson(lam)
    f = fit_kill_counts(pois)["poisson"]
    assert abs(f.params["mu"] - 1.5) < 3 * np.sqrt(1.5 / n)
    z = fit_kill_counts(zip_)["zip"]
    assert abs(z.params["pi"] - 0.4) < 0.03 and abs(z.params["mu"] - 2.0) < 0.1
    g = fit_kill_counts(nb)["gamma_poisson"]
    assert abs(g.params["r"] - 0.8) < 0.12 and abs(g.params["mu"] - 1.5) < 0.1
    assert compare_kill_count_models(zip_)["best"] == "zip"
    assert compare_kill_count_models(nb)["best"] == "gamma_poisson"
    assert compare_kill_count_models(pois)["models"]["poisson"]["delta_aic"] < 4


def test_zip_likelihood_matches_scipy_on_its_optimum():
    rng = np.random.default_rng(1)
    k = np.where(rng.random(500) < 0.3, 0, rng.poisson(1.2, 500))
    z = fit_kill_counts(k)["zip"]
    manual = np.log(z.pmf(k)).sum()
    assert abs(manual - z.loglik) < 1e-8
    assert abs(z.pmf(np.arange(60)).sum() - 1) < 1e-12


@pytest.mark.parametrize("bad", [[1], [0, 0, 0], [1, -1, 2], [0.5, 1]])
def test_bad_counts_are_refused(bad):
    with pytest.raises(UserError, match="counts"):
        fit_kill_counts(bad)


def test_bad_killing_parameters_name_the_field():
    with pytest.raises(UserError, match="killing.grz_success"):
        KillingParameters(grz_success=1.5)
    with pytest.raises(UserError, match="killing.dr_shape"):
        KillingParameters(dr_shape=2.5)
    with pytest.raises(UserError, match="n_cells"):
        simulate_serial_killing(Signals(0.01, 0.0, 1.0), 0)


def test_philox_matches_the_random123_known_answers():
    from nksim.biology._serial_killing import _philox

    u, m = np.uint64, np.uint64(0xFFFFFFFF)
    # Salmon et al. 2011, Random123 kat_vectors for philox4x32_10
    cases = [((0, 0, 0, 0, 0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
             ((m, m, m, m, m, m), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
             ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344, 0xA4093822, 0x299F31D0),
              (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]
    for args, expected in cases:
        assert tuple(int(x) for x in _philox(*(u(a) for a in args))) == expected
