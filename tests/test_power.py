"""Statistics of evidence: Simon two-stage designs against Simon 1989's table, their
operating characteristics against brute-force enumeration, randomised sample sizes against
textbook values, the log-rank test against a hand computation, Cox against a known hazard
ratio, and `nksim power` (few replicates) with exact binomial CIs; bad input one line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from nksim.cli import cli
from nksim.errors import UserError
from nksim.trials._power import (
    log_rank,
    power_by_simulation,
    schoenfeld_events,
    simon_operating,
    simon_two_stage,
    two_proportion_sample_size,
)
from nksim.trials._statistics import proportion_ci
from nksim.trials._trial import run_trial

SCENARIO = Path(__file__).resolve().parents[1] / "src/nksim/data/scenarios/pancreatic_nk_gs.toml"


# Simon 1989, Table (alpha = 0.05, beta = 0.20): r1/n1, r/n, EN(p0)
@pytest.mark.parametrize("p0, p1, design, r1, n1, r, n, en0", [
    (0.05, 0.25, "optimal", 0, 9, 2, 17, 12.0),
    (0.05, 0.25, "minimax", 0, 12, 2, 16, 13.8),
    (0.10, 0.30, "optimal", 1, 10, 5, 29, 15.0),
    (0.10, 0.30, "minimax", 1, 15, 5, 25, 19.5),
    (0.20, 0.40, "optimal", 3, 13, 12, 43, 20.6),
    (0.20, 0.40, "minimax", 4, 18, 10, 33, 22.3),
    (0.30, 0.50, "optimal", 5, 15, 18, 46, 23.6),
    (0.30, 0.50, "minimax", 6, 19, 16, 39, 25.7),
])
def test_simon_designs_match_the_published_table(p0, p1, design, r1, n1, r, n, en0):
    d = simon_two_stage(p0, p1, 0.05, 0.2, design=design)
    assert (d.r1, d.n1, d.r, d.n) == (r1, n1, r, n)
    assert d.en0 == pytest.approx(en0, abs=0.05)
    assert d.alpha <= 0.05 and d.power >= 0.8


def test_simon_operating_characteristics_by_enumeration():
    r1, n1, r, n, p = 1, 10, 5, 29, 0.3
    reject = sum(stats.binom.pmf(x1, n1, p) * stats.binom.pmf(x2, n - n1, p)
                 for x1 in range(r1 + 1, n1 + 1) for x2 in range(n - n1 + 1) if x1 + x2 > r)
    got, pet, en = simon_operating(r1, n1, r, n, p)
    assert got == pytest.approx(reject, rel=1e-12)
    assert pet == pytest.approx(stats.binom.cdf(r1, n1, p))
    assert en == pytest.approx(n1 + (1 - pet) * (n - n1))


def test_randomised_sample_sizes_match_textbook_values():
    assert two_proportion_sample_size(0.3, 0.5) == 93  # Fleiss, no continuity correction
    assert schoenfeld_events(0.7) == 247  # HR 0.7, two-sided 5 %, 80 %, 1:1
    assert schoenfeld_events(0.5) == 66


def _hand_logrank(da, ea, db, eb):
    """O - E and the hypergeometric variance summed over distinct event times."""
    t = np.unique(np.r_[da[ea], db[eb]])
    o_e, var = 0.0, 0.0
    for s in t:
        na, nb = np.sum(da >= s), np.sum(db >= s)
        da_s, d = np.sum((da == s) & ea), np.sum((da == s) & ea) + np.sum((db == s) & eb)
        nn = na + nb
        o_e += da_s - d * na / nn
        if nn > 1:
            var += d * (na / nn) * (nb / nn) * (nn - d) / (nn - 1)
    chi2 = o_e ** 2 / var
    return chi2, stats.chi2.sf(chi2, 1)


def test_log_rank_matches_a_hand_computation_with_ties():
    rng = np.random.default_rng(3)
    da = np.round(rng.exponential(10, 40))  # rounded: tied times
    db = np.round(rng.exponential(16, 35))
    ea, eb = rng.random(40) < 0.8, rng.random(35) < 0.8
    lr = log_rank(da, ea, db, eb)
    chi2, p = _hand_logrank(da, ea, db, eb)
    assert lr.statistic == pytest.approx(chi2, rel=1e-9)
    assert lr.p_value == pytest.approx(p, rel=1e-9)


def test_cox_recovers_a_known_hazard_ratio():
    rng = np.random.default_rng(7)
    n = 1500
    da, db = rng.exponential(1 / 0.2, n), rng.exponential(1 / 0.1, n)  # HR a vs b = 2
    c = 15.0
    lr = log_rank(np.minimum(da, c), da < c, np.minimum(db, c), db < c)
    assert lr.hr_ci_low < 2.0 < lr.hr_ci_high and lr.p_value < 1e-10


def _small_raw(**cohort):
    from nksim.config import read_toml

    raw = read_toml(SCENARIO)
    raw["trial"]["follow_up_days"] = 182
    raw["cohort"].update(cohort)
    return raw


def _run(raw):
    from nksim.config import TrialScenario, validate

    return run_trial(validate(TrialScenario, raw), progress=False)


def test_power_by_simulation_counts_rejections_with_exact_cis():
    pts = power_by_simulation(_small_raw(), [4, 6], run=_run, replicates=1, seed=11)
    assert [p.n for p in pts] == [4, 6]
    for p in pts:
        ci = proportion_ci(p.rejections, 1)
        assert (p.power, p.ci_low, p.ci_high) == (ci.value, ci.ci_low, ci.ci_high)
    again = power_by_simulation(_small_raw(), [4], run=_run, replicates=1, seed=11)
    assert again[0] == pts[0]  # seeded


def test_single_arm_power_equals_the_exact_binomial_power():
    """A stub trial whose responders are Bernoulli(0.5): the one-sided exact test against
    p0 = 0.2 at n = 15 has power P(X >= c | 0.5), c the critical count."""
    import pandas as pd

    from nksim.trials._setting import Endpoint

    class Arm:
        def __init__(self, k, n):
            self.patients = pd.DataFrame({"status": ["ok"] * n,
                                          "resp": [True] * k + [False] * (n - k)})

    class Result:
        endpoints = (Endpoint("orr_rate", "resp", "binary"),)

        def __init__(self, raw):
            g = np.random.default_rng(raw["trial"]["seed"])
            n = raw["trial"]["patients_per_arm"]
            self.arms = [Arm(int((g.random(n) < 0.5).sum()), n)]

    reps, n, p0, alpha = 400, 15, 0.2, 0.05
    c = int(stats.binom.isf(alpha, n, p0)) + 1  # smallest count with P(X >= c) <= alpha
    while stats.binom.sf(c - 2, n, p0) <= alpha:
        c -= 1
    exact = stats.binom.sf(c - 1, n, 0.5)
    pts = power_by_simulation({"trial": {"patients_per_arm": n}}, [n], replicates=reps,
                              p0=p0, alpha=alpha, run=Result)
    assert pts[0].power == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / reps))


@pytest.mark.slow
def test_cli_power_runs_and_writes(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO.read_text().replace("follow_up_days = 730",
                                                 "follow_up_days = 182"))
    out = tmp_path / "o"
    res = CliRunner().invoke(cli, ["power", str(path), "--n", "4,6", "--replicates", "2",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "power.json").read_text())
    assert [p["n"] for p in doc["points"]] == [4, 6] and (out / "power.png").exists()
    assert doc["arms_compared"] == ["nk_gs", "gs_alone"]  # names the arms compared
    assert "arms compared: nk_gs vs gs_alone" in res.output
    # the endpoint tested is named when --endpoint is not given, and the JSON is strict
    assert doc["endpoint"] == "orr_rate" and "endpoint: orr_rate (the setting's primary" \
        in res.output
    assert doc["test"] == "Fisher's exact test" and "test: Fisher's exact test, two-sided " \
        "alpha 0.05" in res.output
    text = (out / "power.json").read_text()
    assert "NaN" not in text and "Infinity" not in text  # strict JSON
    assert "Research use only" in res.output


def test_cli_simon():
    res = CliRunner().invoke(cli, ["simon", "--p0", "0.1", "--p1", "0.3"])
    assert res.exit_code == 0, res.output
    assert "<= 1/10" in res.output and "<= 5/29" in res.output and "<= 1/15" in res.output


@pytest.mark.parametrize("args, field", [
    (["--n", "20,x"], "n"),
    (["--n", "1"], "n"),
    (["--replicates", "0"], "replicates"),
    (["--endpoint", "magic_rate"], "endpoint"),
    (["--alpha", "2"], "alpha"),
    (["--p0", "0.2"], "--p0: is only used with one arm"),  # it was silently unused
])
def test_cli_power_bad_input_one_line_exit_2(tmp_path, args, field):
    out = tmp_path / "o"
    res = CliRunner().invoke(cli, ["power", str(SCENARIO), *args, "--out", str(out)])
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert "\n" not in line and line.startswith("nksim: error:") and field in line, line
    assert not out.exists()


def test_bad_design_input():
    with pytest.raises(UserError):
        simon_two_stage(0.3, 0.2)
    with pytest.raises(UserError):
        schoenfeld_events(1.0)
    with pytest.raises(UserError):
        log_rank([], [], [1.0], [True])


def test_evidence_statistics_page_examples_run(capsys, monkeypatch):
    """The Python examples of docs/evidence-statistics.md run (from the repository root)."""
    import re as _re

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    text = (root / "docs" / "evidence-statistics.md").read_text()
    blocks = _re.findall(r"```python\n(.*?)```", text, flags=_re.S)
    assert len(blocks) >= 4
    for block in blocks:
        exec(compile(block, "evidence-statistics.md", "exec"), {})
    out = capsys.readouterr().out
    assert "93 247" in out and "1 10 5 29 15.0" in out


def test_time_to_event_primary_uses_the_log_rank_test():
    """replicate_p_value on a time-to-event endpoint is the log-rank p value of the two
    arms' event times, censored at the end of follow-up."""
    import types

    import pandas as pd

    from nksim.trials._power import replicate_p_value
    from nksim.trials._setting import Endpoint

    rng = np.random.default_rng(5)
    ta, tb = rng.exponential(100, 60), rng.exponential(200, 60)
    follow = 365.0

    def arm(t):
        return types.SimpleNamespace(patients=pd.DataFrame({
            "status": ["ok"] * t.size, "os": np.where(t <= follow, t, np.nan)}))

    result = types.SimpleNamespace(
        endpoints=(Endpoint("os_median", "os", "time_to_event"),), arms=[arm(ta), arm(tb)],
        scenario=types.SimpleNamespace(trial=types.SimpleNamespace(follow_up_days=follow)))
    p, hr, _ = replicate_p_value(result, "os_median", None)
    lr = log_rank(np.minimum(ta, follow), ta <= follow, np.minimum(tb, follow), tb <= follow)
    assert p == pytest.approx(lr.p_value, rel=1e-12) and hr == pytest.approx(lr.hazard_ratio)


def _paired_result(column, kind, a, b, follow=365.0):
    """A stub paired trial: arm values ``a`` and ``b`` for the same candidates (arm b in
    reversed order, so the pairing must go by candidate, not by row)."""
    import types

    import pandas as pd

    from nksim.trials._setting import Endpoint

    ids = np.arange(a.size)

    def arm(v, order):
        return types.SimpleNamespace(patients=pd.DataFrame({
            "status": ["ok"] * v.size, "candidate": ids[order], column: v[order]}))

    return types.SimpleNamespace(
        endpoints=(Endpoint("primary", column, kind),),
        arms=[arm(a, ids), arm(b, ids[::-1])],
        scenario=types.SimpleNamespace(trial=types.SimpleNamespace(
            design="paired", follow_up_days=follow)))


def test_paired_binary_primary_uses_the_exact_mcnemar_test():
    """In a paired design the power counts what the trial's own analysis rejects: the exact
    McNemar test on the discordant pairs (here 7 pairs for arm a only, 0 for arm b:
    p = 2 * 0.5^7), not Fisher's test of two independent arms (p = 0.0137 here)."""
    from nksim.trials._power import replicate_p_value

    a = np.array([True] * 9 + [False] * 3)
    b = np.array([True] * 2 + [False] * 10)
    p, ea, eb = replicate_p_value(_paired_result("resp", "binary", a, b), "primary", None)
    assert p == pytest.approx(stats.binomtest(7, 7, 0.5).pvalue, rel=1e-12)
    assert p == pytest.approx(2 * 0.5 ** 7) and (ea, eb) == (9 / 12, 2 / 12)


def test_paired_time_to_event_primary_uses_the_log_rank_test_stratified_by_patient():
    """Pairs without censoring: at each pair's first event one of two patients at risk
    fails (O - E = +-1/2, V = 1/4), so the statistic is (A - B)^2 / n, A and B the pairs
    whose arm-a or arm-b patient failed first. Complete separation (every pair favours one
    arm), where the Cox Wald test diverges, is the strongest evidence, not none."""
    from nksim.trials._power import replicate_p_value

    rng = np.random.default_rng(8)
    n, follow = 40, 1e6
    ta, tb = rng.exponential(150, n), rng.exponential(300, n)
    p, hr, _ = replicate_p_value(_paired_result("pfs", "time_to_event", ta, tb, follow),
                                 "primary", None)
    first_a = int(np.sum(ta < tb))
    assert p == pytest.approx(stats.chi2.sf((2 * first_a - n) ** 2 / n, 1), rel=1e-9)
    assert hr > 1  # arm a fails sooner
    p_all, _, _ = replicate_p_value(
        _paired_result("pfs", "time_to_event", ta, ta + 10.0, follow), "primary", None)
    assert p_all == pytest.approx(stats.chi2.sf(n, 1), rel=1e-9) and p_all < 1e-9


def test_stratified_log_rank_with_one_stratum_is_lifelines_log_rank():
    from lifelines.statistics import logrank_test

    from nksim.trials._comparisons import stratified_log_rank

    rng = np.random.default_rng(3)
    t = np.round(rng.exponential(10, 60))  # ties
    e = rng.random(60) < 0.7
    g = np.r_[np.ones(30), np.zeros(30)]
    stat, p = stratified_log_rank(t, e, g, np.zeros(60))
    ref = logrank_test(t[:30], t[30:], event_observed_A=e[:30], event_observed_B=e[30:])
    assert stat == pytest.approx(ref.test_statistic, rel=1e-10)
    assert p == pytest.approx(ref.p_value, rel=1e-10)
    # strata add their observed-minus-expected and variances; one informative pair alone
    assert stratified_log_rank([1.0, 2.0], [True, True], [1, 0], [0, 0]) == \
        pytest.approx((1.0, stats.chi2.sf(1.0, 1)))


def test_binary_outcomes_that_could_not_be_assessed_are_not_compared_as_yes():
    """NaN (e.g. a 12-month outcome with 200 days of follow-up) is n_missing in the arm
    summaries; the comparisons and the power leave those patients out too."""
    import types

    import pandas as pd

    from nksim.trials._comparisons import compare_arms
    from nksim.trials._power import replicate_p_value
    from nksim.trials._setting import Endpoint

    def arm(name, values):
        return types.SimpleNamespace(name=name, simulation=object(), patients=pd.DataFrame(
            {"candidate": range(10), "status": "ok", "resp": values}))

    a, b = arm("a", [1.0, 1.0] + [np.nan] * 8), arm("b", [0.0, 0.0] + [np.nan] * 8)
    e = Endpoint("resp_rate", "resp", "binary")
    diff = compare_arms([a, b], [e], paired=False, follow_up=365, seed=1)[0]
    assert (diff["n_a"], diff["n_b"], diff["value"]) == (2, 2, 1.0)
    assert diff["p_value"] == pytest.approx(stats.fisher_exact([[2, 0], [0, 2]])[1])
    result = types.SimpleNamespace(endpoints=(e,), arms=[a, b], scenario=types.SimpleNamespace(
        trial=types.SimpleNamespace(design="parallel", follow_up_days=365)))
    p, est_a, est_b = replicate_p_value(result, "resp_rate", None)
    assert (est_a, est_b) == (1.0, 0.0) and p == pytest.approx(1 / 3)


def test_power_refuses_trials_that_enrolled_fewer_than_asked():
    """Too few referred candidates: the trial enrols fewer than n per arm, and the power of
    that smaller trial must not be reported as the power at n."""
    with pytest.raises(UserError, match="enrolled only") as err:
        power_by_simulation(_small_raw(n_candidates=3), [4], run=_run, replicates=1)
    assert err.value.field == "cohort.n_candidates"


@pytest.mark.parametrize("args, field", [
    (["--p0", "0.5", "--p1", "0.3"], "p1"),
    (["--p0", "2", "--p1", "0.3"], "p0"),
    (["--p0", "0.1", "--p1", "0.3", "--beta", "0"], "beta"),
])
def test_cli_simon_bad_input_one_line_exit_2(args, field):
    res = CliRunner().invoke(cli, ["simon", *args])
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert "\n" not in line and line.startswith("nksim: error:") and field in line, line
