"""Queueing-theory reference formulas: Erlang B / C, M/M/c waiting times, square-root staffing,
the hypercube model of units with fixed dispatch preferences.

They are the yardstick for the simulation: the `validation_mmc` scenario (one grid, c full-time
workers, no travel) must reproduce Erlang C, the `validation_hypercube` scenario (police units
at fixed posts, nearest idle unit) the hypercube model, and the staffing helpers say roughly
how many units a target needs before any simulation is run. Loads are offered loads a = lam / mu in
Erlangs; rates are per minute (any unit works if lam, mu and t agree).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
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


# ----------------------------------------------------------------------------- hypercube

@dataclass(frozen=True)
class HypercubeSolution:
    """The exact steady state of the hypercube queueing model (see `hypercube`).

    State index: bit n set = unit n busy; index 2**N - 1 is "all busy, queue empty".
    """

    state_prob: np.ndarray          # (2**N,) steady-state probability of each busy/idle state
    queue_prob: float               # P(all busy and at least one call waiting): the FCFS tail
    workload: np.ndarray            # (N,) fraction of time each unit is busy
    dispatch_fraction: np.ndarray   # (J, N) share of atom j's calls served by unit n (rows sum to 1)
    p_wait: float                   # P(an arrival finds every unit busy) = P(all busy), by PASTA

    @property
    def units(self) -> int:
        return len(self.workload)


def _check_preferences(pref: np.ndarray, n_units: int) -> None:
    if pref.ndim != 2 or pref.shape[1] != n_units:
        raise ValueError(f"preferences must be (atoms, {n_units}) unit orders, got shape {pref.shape}")
    if not (np.sort(pref, axis=1) == np.arange(n_units)).all():
        raise ValueError("each atom's preference row must list every unit 0..N-1 exactly once")


def hypercube(rates, preferences, mu: float) -> HypercubeSolution:
    """The exact hypercube queueing model (Larson 1974; Larson & Odoni, Urban Operations
    Research, 1981, ch. 5) with an infinite FCFS queue.

    Assumptions, all of them needed for the result to be exact:
    - N distinguishable units; J atoms, calls from atom j arrive as a Poisson process of rate
      rates[j] (per minute, or any unit shared with mu).
    - Fixed-preference dispatch: preferences[j] orders all N units; a call goes to the first
      idle unit in its atom's order (idle units are where the order assumes them: at a post).
    - Service (travel, on scene, return: the whole busy time) is exponential with one rate mu
      for every unit and atom, independent of everything else.
    - A call that finds all units busy joins one infinite FCFS queue; whichever unit frees
      first takes its head. The queue is a birth-death tail beyond "all busy" with death rate
      N mu, so the 2**N states carry the probabilities of the loss system scaled by one
      normaliser, and P(k waiting) = P(all busy, none waiting) * (lam / (N mu))**k.
    - A queued call is served by the unit that frees first; with one service rate each busy
      unit is equally likely to be that unit (memoryless residuals), so it is unit n with
      probability 1 / N whatever its atom.
    Needs lam = sum(rates) < N mu (otherwise the queue has no steady state: ValueError).

    The 2**N balance equations are solved with one dense linear solve (N up to 12).
    """
    lam_j = np.asarray(rates, dtype=float)
    pref = np.asarray(preferences, dtype=np.int64)
    if lam_j.ndim != 1 or len(lam_j) == 0 or not np.all(np.isfinite(lam_j)) or (lam_j < 0).any():
        raise ValueError(f"rates must be a non-empty list of finite rates >= 0, got {rates!r}")
    if not mu > 0 or math.isinf(mu):
        raise ValueError(f"service rate must be finite and > 0, got {mu!r}")
    n = pref.shape[1] if pref.ndim == 2 else 0
    if n < 1 or n > 12:     # one dense (2**N)^2 solve: N = 12 is 4,096 states, 134 MB
        raise ValueError(f"the hypercube solves 1 to 12 units (a dense 2**N-state solve), got {n}")
    if len(pref) != len(lam_j):
        raise ValueError(f"{len(lam_j)} atom rates but {len(pref)} preference rows")
    _check_preferences(pref, n)
    lam = float(lam_j.sum())
    rho = lam / (n * mu)
    if rho >= 1.0:
        raise ValueError(f"unstable: lam = {lam:g} >= N mu = {n * mu:g}; the FCFS queue grows without bound")

    size = 1 << n
    full = size - 1
    states = np.arange(size)
    busy = (states[:, None] >> np.arange(n)[None, :]) & 1                    # (S, N)
    # first idle unit of each atom's order in each state (-1 in the all-busy state)
    idle_in_order = busy[:, pref] == 0                                         # (S, J, N)
    first_pos = np.argmax(idle_in_order, axis=2)
    first_unit = np.where(idle_in_order.any(axis=2), pref[np.arange(len(pref))[None, :], first_pos], -1)  # (S, J)

    # generator Q (rows: from, columns: to); the full state has no upward move (the queue tail
    # is folded in: its inflow from the tail, N mu * P(1 waiting) = lam * P(full), cancels its
    # outflow to the tail)
    q = np.zeros((size, size))
    for s in range(full):
        up = np.bincount(first_unit[s], weights=lam_j, minlength=n)
        for u in np.flatnonzero(up):
            q[s, s | (1 << u)] += up[u]
    for u in range(n):
        on = states[busy[:, u] == 1]
        q[on, on & ~(1 << u)] += mu
    q[states, states] = -q.sum(axis=1)
    # pi Q = 0 with sum(pi) + pi_full * rho / (1 - rho) = 1 (the queue tail's mass)
    a = q.T.copy()
    a[-1, :] = 1.0
    a[-1, full] += rho / (1.0 - rho)
    b = np.zeros(size)
    b[-1] = 1.0
    p = np.linalg.solve(a, b)
    p = np.clip(p, 0.0, None)          # float noise only: the exact solution is positive
    tail = p[full] * rho / (1.0 - rho)
    p_wait = p[full] + tail

    workload = busy.T @ p + tail
    frac = np.zeros((len(lam_j), n))
    for j in range(len(lam_j)):
        frac[j] = np.bincount(first_unit[:full, j], weights=p[:full], minlength=n)
    frac += p_wait / n
    return HypercubeSolution(state_prob=p, queue_prob=float(tail), workload=workload,
                             dispatch_fraction=frac, p_wait=float(p_wait))


def preferences_by_distance(atom_xy, unit_xy, min_gap: float = 1e-9) -> np.ndarray:
    """Each atom's units ordered nearest first (straight line): the fixed preference of
    "nearest idle unit" when idle units wait at fixed posts. A near tie (two units within
    `min_gap` of the same distance) is refused, since the order would then hang on float noise."""
    a = np.asarray(atom_xy, dtype=float).reshape(-1, 2)
    u = np.asarray(unit_xy, dtype=float).reshape(-1, 2)
    d = np.hypot(a[:, None, 0] - u[None, :, 0], a[:, None, 1] - u[None, :, 1])
    order = np.argsort(d, axis=1, kind="stable")
    gaps = np.diff(np.take_along_axis(d, order, axis=1), axis=1)
    if gaps.size and gaps.min() < min_gap:
        j = int(np.argmin(gaps.min(axis=1)))
        raise ValueError(f"atom {j} is equally far from two units: the nearest-unit order is not fixed")
    return order
