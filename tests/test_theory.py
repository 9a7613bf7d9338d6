"""Queueing reference formulas against textbook values and independent direct sums."""

import math

import pytest

from gridsim.analysis.theory import (erlang_b, erlang_c, halfin_whitt_beta, halfin_whitt_delay_probability,
                            mmc_least_servers, mmc_mean_wait, mmc_wait_cdf, square_root_staffing)


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
