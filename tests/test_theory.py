"""Queueing reference formulas against textbook values and independent direct sums."""

import math

import pytest

import numpy as np

from gridsim.analysis.theory import (erlang_b, erlang_c, halfin_whitt_beta, halfin_whitt_delay_probability,
                                     hypercube, mmc_least_servers, mmc_mean_wait, mmc_wait_cdf,
                                     preferences_by_distance, square_root_staffing)


def direct_erlang_c(c: int, a: float) -> float:
    """Erlang C from its closed form: (a^c/c! * c/(c-a)) / (sum_{k<c} a^k/k! + a^c/c! * c/(c-a))."""
    top = a ** c / math.factorial(c) * c / (c - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)


def direct_erlang_b(c: int, a: float) -> float:
    return (a ** c / math.factorial(c)) / sum(a ** k / math.factorial(k) for k in range(c + 1))


def test_textbook_values():
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)          # (1/2) / (1 + 1 + 1/2)
    assert erlang_c(1, 0.5) == pytest.approx(0.5)          # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_b(3, 0.0) == 0.0 and erlang_c(3, 0.0) == 0.0


@pytest.mark.parametrize("c,a", [(1, 0.3), (2, 1.5), (5, 3.2), (10, 8.0), (20, 19.5), (30, 12.0)])
def test_erlang_b_and_c_match_direct_sums(c, a):
    assert erlang_b(c, a) == pytest.approx(direct_erlang_b(c, a), rel=1e-12)
    assert erlang_c(c, a) == pytest.approx(direct_erlang_c(c, a), rel=1e-12)


def test_unstable_and_large_loads():
    assert erlang_c(3, 3.0) == 1.0 and erlang_c(3, 4.5) == 1.0
    assert mmc_mean_wait(3, 3.0, 1.0) == math.inf
    assert mmc_wait_cdf(10.0, 3, 3.0, 1.0) == 0.0
    # the recursion stays finite where a^c / c! would overflow a float
    b = erlang_b(2000, 1900.0)
    assert 0.0 < b < 0.1 and math.isfinite(b)
    assert 0.0 < erlang_c(2000, 1900.0) < 1.0


def test_mmc_mean_wait_and_cdf():
    # M/M/1, lam=0.5, mu=1: Wq = rho / (mu - lam) = 1
    assert mmc_mean_wait(1, 0.5, 1.0) == pytest.approx(1.0)
    # M/M/2, lam=1, mu=1: C = 1/3, Wq = C / (2 - 1) = 1/3
    assert mmc_mean_wait(2, 1.0, 1.0) == pytest.approx(1 / 3)
    assert mmc_wait_cdf(0.0, 2, 1.0, 1.0) == pytest.approx(2 / 3)
    assert mmc_wait_cdf(1.5, 2, 1.0, 1.0) == pytest.approx(1 - math.exp(-1.5) / 3)
    assert mmc_wait_cdf(-1.0, 2, 1.0, 1.0) == 0.0
    # the mean is the integral of the tail: Wq = C / (c mu - lam)
    c, lam, mu = 4, 3.0, 1.0
    dt = 1e-3
    tail = sum((1 - mmc_wait_cdf((i + 0.5) * dt, c, lam, mu)) * dt for i in range(20000))
    assert tail == pytest.approx(mmc_mean_wait(c, lam, mu), rel=1e-4)


@pytest.mark.parametrize("lam,mu,t,share", [(0.5, 1.0, 0.0, 0.8), (1.0, 0.2, 3.0, 0.9), (12.0, 0.1, 3.0, 0.95),
                                            (120.0, 0.05, 1.0, 0.99), (2.9, 1.0, 0.5, 0.0)])
def test_least_servers_is_least(lam, mu, t, share):
    c = mmc_least_servers(lam, mu, t, share)
    a = lam / mu
    assert c > a
    assert mmc_wait_cdf(t, c, lam, mu) >= share
    if c - 1 > a:                        # one fewer is still stable, so it must fall short
        assert mmc_wait_cdf(t, c - 1, lam, mu) < share
    else:                                # otherwise c is the least stable number of servers
        assert c == math.floor(a) + 1


def test_least_servers_known_value():
    # a = 1: c=2 gives P(Wq <= 0) = 2/3, c=3 gives 1 - C(3,1) = 1 - 1/11
    assert erlang_c(3, 1.0) == pytest.approx(1 / 11)
    assert mmc_least_servers(1.0, 1.0, 0.0, 0.6) == 2
    assert mmc_least_servers(1.0, 1.0, 0.0, 0.8) == 3
    with pytest.raises(ValueError):
        mmc_least_servers(1.0, 1.0, 1.0, 1.0)


def test_square_root_staffing():
    assert square_root_staffing(4.0, 1.0, 0.5) == 5          # 4 + 0.5 * 2, exactly
    assert square_root_staffing(100.0, 1.0, 1.0) == 110
    assert square_root_staffing(10.0, 1.0, 1.0) == 14        # ceil(10 + 3.162)


def test_halfin_whitt_beta_round_trip_and_accuracy():
    for p in (0.05, 0.2, 0.5, 0.8):
        beta = halfin_whitt_beta(p)
        assert halfin_whitt_delay_probability(beta) == pytest.approx(p, abs=1e-9)
    # in heavy traffic the rule of thumb lands close to exact Erlang C
    beta = halfin_whitt_beta(0.2)
    c = square_root_staffing(400.0, 1.0, beta)
    assert erlang_c(c, 400.0) == pytest.approx(0.2, abs=0.03)
    assert halfin_whitt_beta(0.1) > halfin_whitt_beta(0.5)


def test_bad_inputs_refused():
    with pytest.raises(ValueError):
        erlang_b(0, 1.0)
    with pytest.raises(ValueError):
        erlang_c(2, -1.0)
    with pytest.raises(ValueError):
        mmc_mean_wait(2, 1.0, 0.0)


# ----------------------------------------------------------------------------- hypercube

def truncated_chain(rates, pref, mu, k_max=400):
    """The hypercube with an explicit queue of up to k_max calls, states (busy set, waiting),
    solved as one generator: an independent check of the folded 2**N-state solution."""
    n = len(pref[0])
    full = (1 << n) - 1
    states = [(b, 0) for b in range(1 << n)] + [(full, k) for k in range(1, k_max + 1)]
    index = {s: i for i, s in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    for (b, k), i in index.items():
        if b != full:
            for lam, order in zip(rates, pref):
                u = next(u for u in order if not b >> u & 1)
                q[i, index[(b | 1 << u, 0)]] += lam
            for u in range(n):
                if b >> u & 1:
                    q[i, index[(b & ~(1 << u), 0)]] += mu
        else:
            if k < k_max:
                q[i, index[(full, k + 1)]] += sum(rates)
            if k > 0:
                q[i, index[(full, k - 1)]] += n * mu
            else:
                for u in range(n):
                    q[i, index[(full & ~(1 << u), 0)]] += mu
    np.fill_diagonal(q, -q.sum(axis=1))
    a = np.vstack([q.T, np.ones(len(states))])
    p = np.linalg.lstsq(a, np.r_[np.zeros(len(states)), 1.0], rcond=None)[0]
    return p[:1 << n], p[1 << n:].sum()


RATES3 = [0.10, 0.05, 0.03, 0.02]                      # per minute, four atoms, three units
PREF3 = [[0, 1, 2], [1, 0, 2], [2, 1, 0], [1, 2, 0]]


def test_hypercube_matches_an_explicit_queue_chain():
    mu = 1 / 12
    sol = hypercube(RATES3, PREF3, mu)
    p, tail = truncated_chain(RATES3, PREF3, mu)
    assert sol.state_prob == pytest.approx(p, abs=1e-10)
    assert sol.queue_prob == pytest.approx(tail, abs=1e-10)
    busy = (np.arange(8)[:, None] >> np.arange(3)) & 1
    assert sol.workload == pytest.approx(busy.T @ p + tail, abs=1e-10)


def test_hypercube_invariants():
    mu = 1 / 12
    lam = np.array(RATES3)
    sol = hypercube(lam, PREF3, mu)
    # infinite queue: every call is served, so the workloads add up to the offered load
    assert sol.workload.sum() == pytest.approx(lam.sum() / mu, rel=1e-12)
    # each unit's workload is the calls it serves times the mean service time
    assert sol.workload == pytest.approx(lam @ sol.dispatch_fraction / mu, rel=1e-10)
    assert sol.dispatch_fraction.sum(axis=1) == pytest.approx(np.ones(4))
    assert sol.state_prob.sum() + sol.queue_prob == pytest.approx(1.0)
    # the preference matters: atom 0 (first choice unit 0) is served by unit 0 most often
    assert sol.dispatch_fraction[0].argmax() == 0 and sol.dispatch_fraction[2].argmax() == 2
    assert sol.workload[0] > sol.workload[2]


@pytest.mark.parametrize("n,a", [(3, 2.2), (5, 3.1), (8, 6.5)])
def test_hypercube_all_busy_is_erlang_c(n, a):
    """Identical units: P(all busy) is Erlang C and the number busy is the M/M/N birth-death."""
    rng = np.random.default_rng(n)
    j = 7
    rates = rng.uniform(0.5, 2.0, j)
    rates *= a / rates.sum()                            # mu = 1: offered load a
    pref = np.array([rng.permutation(n) for _ in range(j)])
    sol = hypercube(rates, pref, 1.0)
    assert sol.p_wait == pytest.approx(erlang_c(n, a), rel=1e-10)
    by_count = np.bincount([bin(s).count("1") for s in range(1 << n)], weights=sol.state_prob)
    p0 = 1.0 / (sum(a ** k / math.factorial(k) for k in range(n)) + a ** n / math.factorial(n) * n / (n - a))
    assert by_count == pytest.approx([p0 * a ** k / math.factorial(k) for k in range(n + 1)], rel=1e-9)


def test_hypercube_one_unit_is_mm1():
    sol = hypercube([0.2, 0.3], [[0], [0]], 1.0)
    assert sol.state_prob == pytest.approx([0.5, 0.25])     # idle 1 - rho; busy, none waiting rho (1 - rho)
    assert sol.queue_prob == pytest.approx(0.25)            # rho^2
    assert sol.workload == pytest.approx([0.5])
    assert sol.p_wait == pytest.approx(0.5)
    assert sol.dispatch_fraction == pytest.approx(np.ones((2, 1)))


def test_hypercube_queued_calls_split_evenly():
    """Two units, both atoms prefer unit 0: unit 1 gets only overflow and queued calls."""
    mu, lam = 1.0, np.array([0.4, 0.6])
    sol = hypercube(lam, [[0, 1], [0, 1]], mu)
    p = sol.state_prob                                   # states: 00, 10 (unit 0 busy), 01, 11
    share_to_1 = p[1] + sol.p_wait / 2
    assert sol.dispatch_fraction[:, 1] == pytest.approx([share_to_1, share_to_1])
    assert sol.workload[1] == pytest.approx(lam.sum() * share_to_1 / mu)


def test_hypercube_refuses_bad_input():
    with pytest.raises(ValueError, match="unstable"):
        hypercube([0.5, 0.6], [[0, 1], [1, 0]], 0.5)
    with pytest.raises(ValueError, match="exactly once"):
        hypercube([0.1, 0.1], [[0, 0], [1, 0]], 1.0)
    with pytest.raises(ValueError, match="preference rows"):
        hypercube([0.1], [[0, 1], [1, 0]], 1.0)
    with pytest.raises(ValueError, match="service rate"):
        hypercube([0.1], [[0]], 0.0)
    with pytest.raises(ValueError, match="1 to 12 units"):
        hypercube([0.1], [list(range(13))], 1.0)


def test_preferences_by_distance():
    atoms = [(0.0, 0.0), (3.0, 0.1), (1.2, 2.0)]
    posts = [(0.1, 0.0), (2.5, 0.0), (1.0, 2.5)]
    assert preferences_by_distance(atoms, posts).tolist() == [[0, 1, 2], [1, 0, 2], [2, 0, 1]]
    with pytest.raises(ValueError, match="equally far"):
        preferences_by_distance([(0.0, 0.0)], [(1.0, 0.0), (-1.0, 0.0)])
