"""Queueing-theory reference formulas: Erlang B / C, M/M/c waiting times, square-root staffing.

They are the yardstick for the simulation: the `validation_mmc` scenario (one grid, c full-time
workers, no travel) must reproduce Erlang C, and the staffing helpers say roughly how many
units a target needs before any simulation is run. Loads are offered loads a = lam / mu in
Erlangs; rates are per minute (any unit works if lam, mu and t agree).
"""

from __future__ import annotations

import math

from scipy.optimize import brentq
from scipy.stats import norm


def _check_servers(c: int) -> None:
    if isinstance(c, bool) or int(c) != c or c < 1:
        raise ValueError(f"number of servers must be an integer >= 1, got {c!r}")


def _check_load(a: float) -> None:
    if not a >= 0 or math.isinf(a):
        raise ValueError(f"offered load must be finite and >= 0, got {a!r}")


def _check_rates(lam: float, mu: float) -> None:
    if not lam >= 0 or math.isinf(lam):
        raise ValueError(f"arrival rate must be finite and >= 0, got {lam!r}")
    if not mu > 0 or math.isinf(mu):
        raise ValueError(f"service rate must be finite and > 0, got {mu!r}")


def _erlang_b_step(b_prev: float, k: int, a: float) -> float:
    """B(k) from B(k-1): the recursion never forms a**k / k!, so it cannot overflow."""
    return a * b_prev / (k + a * b_prev)


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c (Erlang loss) with offered load a = lam / mu."""
    _check_servers(c)
    _check_load(a)
    b = 1.0
    for k in range(1, int(c) + 1):
        b = _erlang_b_step(b, k, a)
    return b


def _erlang_c_from_b(c: int, a: float, b: float) -> float:
    if a >= c:
        return 1.0
    return c * b / (c - a * (1.0 - b))


def erlang_c(c: int, a: float) -> float:
    """Probability an arrival has to wait in M/M/c; 1.0 when the queue is unstable (a >= c)."""
    _check_servers(c)
    _check_load(a)
    return _erlang_c_from_b(int(c), a, erlang_b(c, a))


def mmc_mean_wait(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue Wq of M/M/c (inf when lam >= c * mu: the queue grows without bound)."""
    _check_servers(c)
    _check_rates(lam, mu)
    if lam >= c * mu:
        return math.inf
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_wait_cdf(t: float, c: int, lam: float, mu: float) -> float:
    """P(Wq <= t) in M/M/c: 1 - C * exp(-(c mu - lam) t); 0 for t < 0 or an unstable queue."""
    _check_servers(c)
    _check_rates(lam, mu)
    if t < 0 or lam >= c * mu:
        return 0.0
    return 1.0 - erlang_c(c, lam / mu) * math.exp(-(c * mu - lam) * t)


def mmc_least_servers(lam: float, mu: float, t: float, share: float) -> int:
    """Least c with P(Wq <= t) >= share in M/M/c.

    The search starts at the least stable c, floor(a) + 1, and updates Erlang B one server at a
    time, so it costs O(c) in all rather than O(c^2).
    """
    _check_rates(lam, mu)
    if not 0.0 <= share < 1.0:
        raise ValueError(f"share must be in [0, 1): P(Wq <= t) < 1 for every c, got {share!r}")
    if t < 0:
        raise ValueError(f"waiting-time limit must be >= 0, got {t!r}")
    a = lam / mu
    c = math.floor(a) + 1
    b = 1.0
    for k in range(1, c + 1):
        b = _erlang_b_step(b, k, a)
    while True:
        p = 1.0 - _erlang_c_from_b(c, a, b) * math.exp(-(c * mu - lam) * t)
        if p >= share:
            return c
        c += 1
        b = _erlang_b_step(b, c, a)


def square_root_staffing(lam: float, mu: float, beta: float) -> int:
    """Square-root staffing c = ceil(a + beta * sqrt(a)), the Halfin-Whitt rule of thumb.

    A 1e-9 slack keeps float noise (4 + 0.5 * 2 = 5.000...01) from adding a server. With
    beta <= 0 the result can be an unstable c <= a; that is the formula, not an error.
    """
    _check_rates(lam, mu)
    a = lam / mu
    return max(1, math.ceil(a + beta * math.sqrt(a) - 1e-9))


def halfin_whitt_delay_probability(beta: float) -> float:
    """Halfin-Whitt limit of P(wait) at c = a + beta sqrt(a): 1 / (1 + beta Phi(beta) / phi(beta))."""
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta!r}")
    return 1.0 / (1.0 + beta * math.exp(norm.logcdf(beta) - norm.logpdf(beta)))


def halfin_whitt_beta(p_wait: float) -> float:
    """The beta whose Halfin-Whitt delay probability is p_wait (0 < p_wait < 1).

    Use with `square_root_staffing` to staff for "at most p_wait of arrivals wait at all".
    """
    if not 0.0 < p_wait < 1.0:
        raise ValueError(f"p_wait must be in (0, 1), got {p_wait!r}")
    # delay probability falls from 1 (beta -> 0) to 0 (beta -> inf)
    hi = 1.0
    while halfin_whitt_delay_probability(hi) > p_wait:
        hi *= 2.0
    return brentq(lambda b: halfin_whitt_delay_probability(b) - p_wait, 1e-12, hi, xtol=1e-12)
