"""The batched SDE integrator against exact laws, known-answer vectors and its contracts.

Truths used: Random123 known-answer vectors for Philox4x32-10; the exact mean and
variance of the Ornstein–Uhlenbeck process; the inverse-Gaussian law of the first
passage of Brownian motion with drift (Schrödinger 1915; ``scipy.stats.invgauss``);
E|sigma W_t| = sigma sqrt(2t/pi) for reflected Brownian motion and the exponential
stationary law (mean sigma^2 / (2|mu|)) of reflected Brownian motion with negative drift;
the exponential law of a constant-hazard death time.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy import stats

from nksim.engine import integrate_sde
from nksim.engine._sde import (
    ALIVE,
    DRIFT_SIGNATURE,
    EXTRINSIC,
    NON_FINITE,
    THRESHOLD,
    philox4x32,
    stream_normals,
)


@numba.njit(DRIFT_SIGNATURE, cache=True)
def _ou(t, x, p, u):
    return -p[0] * x


@numba.njit(DRIFT_SIGNATURE, cache=True)
def _const(t, x, p, u):
    return p[0]


@numba.njit(DRIFT_SIGNATURE, cache=True)
def _sr(t, x, p, u):
    return p[0] * t - p[1] * x / (x + p[2])


# Random123 kat_vectors, "philox4x32 10" lines: counter, key, expected output.
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_philox_known_answers(counter, key, expected):
    assert tuple(int(v) for v in philox4x32(counter, key)) == expected


def test_ou_moments_match_the_exact_solution():
    theta, sigma, x0, n = 1.0, 0.8, 2.0, 20_000
    res = integrate_sde(_ou, n=n, x0=x0, sigma=sigma, params=np.full((n, 1), theta),
                        dt=0.001, t_end=2.0, seed=11, record_times=[0.5, 1.0, 2.0])
    for r, t in enumerate(res.record_times):
        mean = x0 * math.exp(-theta * t)
        var = sigma**2 * (1 - math.exp(-2 * theta * t)) / (2 * theta)
        x = res.records[:, r]
        # sampling SE of the mean and of the variance of a normal sample
        assert abs(x.mean() - mean) < 4.5 * math.sqrt(var / n), t
        assert abs(x.var(ddof=1) - var) < 4.5 * var * math.sqrt(2 / (n - 1)), t
        assert stats.normaltest(x).pvalue > 1e-3


def test_first_passage_of_drifted_brownian_motion_is_inverse_gaussian():
    # T = inf{t: mu t + sigma W_t >= a} ~ IG(mean a/mu, shape a^2/sigma^2)
    mu, sigma, a, n = 1.0, 1.0, 1.0, 5000
    mean, shape = a / mu, a**2 / sigma**2
    law = stats.invgauss(mu=mean / shape, scale=shape)
    kw = dict(n=n, x0=0.0, sigma=sigma, threshold=a, params=np.full((n, 1), mu),
              dt=0.01, t_end=200.0, seed=5)
    res = integrate_sde(_const, **kw)
    assert np.all(res.cause == THRESHOLD)
    # KS at n = 5000: the statistic's 1 % critical value is 1.63/sqrt(n) = 0.023
    assert stats.kstest(res.exit_time, law.cdf).pvalue > 0.01
    # without the bridge test, passages are late (Siegmund: by ~0.58 sigma sqrt(dt) in
    # space): the same check must fail, so the bridge is what makes it pass
    late = integrate_sde(_const, bridge=False, **kw)
    assert stats.kstest(late.exit_time, law.cdf).pvalue < 1e-4
    assert late.exit_time.mean() > res.exit_time.mean()


def test_reflected_brownian_motion():
    n, sigma = 20_000, 1.3
    res = integrate_sde(_const, n=n, x0=0.0, sigma=sigma, params=np.zeros((n, 1)),
                        dt=0.01, t_end=4.0, reflect=True, seed=3, record_times=[1.0, 4.0])
    for r, t in enumerate(res.record_times):
        x = res.records[:, r]
        assert x.min() >= 0.0
        expected = sigma * math.sqrt(2 * t / math.pi)
        sd = sigma * math.sqrt(t * (1 - 2 / math.pi))
        assert abs(x.mean() - expected) < 4.5 * sd / math.sqrt(n)
    # with drift -mu the stationary law is exponential with mean sigma^2 / (2 mu)
    mu, n = 0.5, 10_000
    res = integrate_sde(_const, n=n, x0=0.0, sigma=1.0, params=np.full((n, 1), -mu),
                        dt=0.01, t_end=20.0, reflect=True, seed=4, record_times=[20.0])
    x = res.records[:, 0]
    assert abs(x.mean() - 1.0) < 0.045  # 4.5 SE = 4.5 * 1/sqrt(n)
    assert stats.kstest(x, stats.expon(scale=1.0).cdf).pvalue > 1e-3


def test_extrinsic_hazard_gives_exponential_death_times():
    n, lam = 5000, 0.2
    res = integrate_sde(_const, n=n, sigma=0.0, params=np.zeros((n, 1)),
                        extrinsic_hazard=lam, dt=0.5, t_end=500.0, seed=8)
    assert np.all(res.cause == EXTRINSIC)
    assert stats.kstest(res.exit_time, stats.expon(scale=1 / lam).cdf).pvalue > 0.01


def _sr_batch(ids, dt, seed=1, threads=None, **kw):
    p = np.tile([7.26e-4, 0.630, 0.5], (len(ids), 1))  # Raz 2026 mice_F, days
    return integrate_sde(_sr, ids=np.asarray(ids), x0=0.0, sigma=math.sqrt(2 * 1.479),
                         threshold=29.7, params=p, dt=dt, t_end=3000.0, reflect=True,
                         seed=seed, threads=threads, **kw)


def test_results_do_not_depend_on_batch_size_or_threads():
    ids = np.arange(600)
    rec = np.arange(0.0, 1201.0, 100.0)
    whole = _sr_batch(ids, 1.0, threads=2, record_times=rec)
    parts = [_sr_batch(ids[a:b], 1.0, threads=1, record_times=rec)
             for a, b in [(0, 1), (1, 250), (250, 600)]]
    np.testing.assert_array_equal(whole.exit_time, np.concatenate([p.exit_time for p in parts]))
    np.testing.assert_array_equal(whole.records, np.concatenate([p.records for p in parts]))
    # an individual's path depends on its id, not its position in the batch
    shuffled = _sr_batch(ids[::-1], 1.0)
    np.testing.assert_array_equal(shuffled.exit_time[::-1], whole.exit_time)
    # and a different seed gives different lives
    assert not np.array_equal(_sr_batch(ids, 1.0, seed=2).exit_time, whole.exit_time)


def test_a_run_restarted_from_a_record_continues_the_same_paths():
    ids = np.arange(300)
    full = _sr_batch(ids, 1.0, record_times=[400.0])
    alive = full.records[:, 0] == full.records[:, 0]  # not NaN: alive at 400 d
    rest = integrate_sde(_sr, ids=ids[alive], x0=full.records[alive, 0],
                         sigma=math.sqrt(2 * 1.479), threshold=29.7,
                         params=np.tile([7.26e-4, 0.630, 0.5], (int(alive.sum()), 1)),
                         dt=1.0, t0=400.0, t_end=3000.0, reflect=True, seed=1)
    np.testing.assert_array_equal(rest.exit_time, full.exit_time[alive])


@pytest.mark.slow
def test_lifespans_change_by_less_than_one_percent_when_the_step_is_halved():
    ids = np.arange(20_000)
    coarse, fine = _sr_batch(ids, 1.0), _sr_batch(ids, 0.5)
    for f in (np.median, np.mean):
        a, b = f(coarse.exit_time), f(fine.exit_time)
        assert abs(a / b - 1) < 0.01, (f.__name__, a, b)
    q = [0.1, 0.25, 0.75, 0.9]
    np.testing.assert_allclose(np.quantile(coarse.exit_time, q),
                               np.quantile(fine.exit_time, q), rtol=0.01)


def test_stream_normals_are_standard_normal_and_id_bound():
    z = stream_normals(9, np.arange(4000), 5)
    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-3
    np.testing.assert_array_equal(stream_normals(9, np.array([17, 3]), 5), z[[17, 3]])


def test_alive_individuals_and_bad_arguments():
    res = integrate_sde(_const, n=10, x0=0.0, sigma=0.1, threshold=100.0,
                        params=np.zeros((10, 1)), dt=0.1, t_end=1.0)
    assert np.all(res.cause == ALIVE) and np.all(np.isnan(res.exit_time))
    with pytest.raises(ValueError, match="dt"):
        integrate_sde(_const, n=2, dt=0.0, t_end=1.0)
    with pytest.raises(ValueError, match="multiple of dt"):
        integrate_sde(_const, n=2, dt=0.3, t_end=1.0)
    with pytest.raises(ValueError, match="sigma"):
        integrate_sde(_const, n=2, sigma=-1.0, dt=0.1, t_end=1.0)
    with pytest.raises(ValueError, match="seed"):
        integrate_sde(_const, n=2, dt=0.1, t_end=1.0, seed=-1)


def test_time_below_a_level_follows_the_arcsine_law():
    # Lévy's arcsine law: the fraction of [0, 1] that Brownian motion spends below 0
    n = 4000
    res = integrate_sde(_const, n=n, x0=0.0, sigma=1.0, params=np.zeros((n, 1)),
                        dt=0.001, t_end=1.0, seed=21, level=0.0)
    assert stats.kstest(res.time_below, stats.arcsine.cdf).pvalue > 0.01
    # with no level, the time below is the time lived
    res = integrate_sde(_const, n=200, x0=0.0, sigma=1.0, threshold=1.0,
                        params=np.full((200, 1), 1.0), dt=0.01, t_end=100.0, seed=2)
    np.testing.assert_allclose(res.time_below, res.exit_time, rtol=0, atol=1e-12)


@numba.njit(DRIFT_SIGNATURE, cache=True)
def _blows_up(t, x, p, u):
    return math.nan if t >= p[0] else 0.0


def test_a_failing_individual_is_reported_not_silent():
    p = np.array([[0.5], [1e9]])  # the first individual's drift fails at t = 0.5
    res = integrate_sde(_blows_up, n=2, sigma=0.1, params=p, dt=0.1, t_end=1.0, seed=1)
    assert res.cause.tolist() == [NON_FINITE, ALIVE]
    assert res.exit_time[0] == pytest.approx(0.5)
