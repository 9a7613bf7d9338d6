"""Which unbuilt sub-centers to finish: a maximal covering location problem, solved exactly.

Demand is the expected work orders per grid and day (the dispatched 12345 requests, placed by
population, plus the grid patrol reports, placed by on-duty workers): the events whose routing
and travel a sub-center's build status changes. A grid is covered when a built sub-center
office is within `coverage_min` minutes of it at the full-time workers' speed (straight line x
detour, as in the simulation). The built sub-centers cover what they cover; the question is
which K of the unbuilt ones add the most covered demand. That is the maximal covering location
problem (Church & ReVelle 1974), solved as a MILP with scipy's HiGHS interface:

    max sum_i d_i y_i   s.t.  y_i <= sum_{j covers i} x_j,  sum_j x_j = K,  x, y binary

over the grids not yet covered that some candidate can cover. `finish_order` gives the order
in which to finish all of them (greedy by marginal coverage) with the MILP optimum for each
budget, so every step shows how far greedy is from the best set of that size.

`confirm` checks the choice by simulation: the current build, the chosen set and a random set
of the same size, each run for the same replications with common random numbers (same root
seed, same replication numbers), so their differences are paired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial import cKDTree

from gridsim.analysis.metrics import mean_ci, paired_difference_ci
from gridsim.city import City
from gridsim.domain import BUILT, STAGES
from gridsim.results.run import expected_per_day, simulate
from gridsim.scenario import Scenario

RANDOM_SEED_OFFSET = 0x5173     # the random comparison set is drawn from seed + this


@dataclass(frozen=True)
class SitingProblem:
    """A covering instance: demand per grid, which candidate covers which grid, what is covered."""

    demand: np.ndarray            # expected work orders per day, per grid
    covers: sp.csr_matrix         # (grids x candidates) 1 where candidate j covers grid i
    base_covered: np.ndarray      # grids already covered by a built sub-center
    candidates: np.ndarray        # sub-center ids of the candidates (column order)
    coverage_min: float

    def covered_by(self, chosen: np.ndarray) -> np.ndarray:
        """Grids covered when the candidates at column positions `chosen` are built."""
        extra = np.asarray(self.covers[:, list(chosen)].sum(axis=1)).ravel() > 0 if len(chosen) else False
        return self.base_covered | extra

    def covered_demand(self, chosen) -> float:
        return float(self.demand[self.covered_by(np.asarray(chosen, dtype=int))].sum())


def expected_work_orders(scenario: Scenario, city: City) -> np.ndarray:
    """Expected work orders per grid and day: 12345 orders and hazards, both by population."""
    pop = city.grid_population / city.grid_population.sum()
    per_day = expected_per_day(scenario)
    return (per_day["12345"] + per_day["grid"]) * pop


def coverage_radius_km(scenario: Scenario, coverage_min: float) -> float:
    """Straight-line km a full-time worker covers in `coverage_min` minutes (detour included)."""
    return scenario.travel.speed_kmh["fulltime"] * coverage_min / 60.0 / scenario.travel.detour_factor


def siting_problem(scenario: Scenario, city: City, coverage_min: float, demand: np.ndarray | None = None,
                   divisions: list[int] | None = None) -> SitingProblem:
    """The covering instance of a city: candidates are its unbuilt sub-centers (of `divisions`
    only, when given: division ids)."""
    if not coverage_min > 0:
        raise ValueError(f"coverage time must be > 0 minutes, got {coverage_min}")
    r = coverage_radius_km(scenario, coverage_min)
    d = expected_work_orders(scenario, city) if demand is None else np.asarray(demand, dtype=float)
    xy = np.column_stack([city.grid_x, city.grid_y])
    tree = cKDTree(xy)
    built = np.flatnonzero(city.sc_status == BUILT)
    base = np.zeros(city.n_grids, dtype=bool)
    for hits in tree.query_ball_point(np.column_stack([city.sc_x[built], city.sc_y[built]]), r):
        base[hits] = True
    cand = np.flatnonzero((city.sc_status != BUILT)
                          & (np.isin(city.sc_div, divisions) if divisions is not None else True))
    rows, cols = [], []
    for j, hits in enumerate(tree.query_ball_point(np.column_stack([city.sc_x[cand], city.sc_y[cand]]), r)):
        rows.extend(hits)
        cols.extend([j] * len(hits))
    covers = sp.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(city.n_grids, len(cand)))
    return SitingProblem(demand=d, covers=covers, base_covered=base, candidates=cand, coverage_min=coverage_min)


def solve_mclp(problem: SitingProblem, budget: int) -> tuple[np.ndarray, float]:
    """The optimal `budget` candidates (column positions, sorted) and the demand they cover in
    total (with what the built sub-centers already cover). Exact: HiGHS branch and bound."""
    n = problem.covers.shape[1]
    if not 0 <= budget <= n:
        raise ValueError(f"budget {budget} is not between 0 and the {n} candidates")
    open_rows = np.flatnonzero(~problem.base_covered & (problem.covers.getnnz(axis=1) > 0))
    if budget == 0 or len(open_rows) == 0:
        return np.arange(budget), problem.covered_demand(np.arange(budget))
    a = problem.covers[open_rows].astype(float)
    m = len(open_rows)
    # variables: x (n candidates), then y (m open grids)
    c = np.concatenate([np.zeros(n), -problem.demand[open_rows]])
    link = sp.hstack([-a, sp.identity(m)], format="csr")             # y_i - sum_j a_ij x_j <= 0
    count = sp.csr_matrix(np.concatenate([np.ones(n), np.zeros(m)])[None, :])
    res = milp(c, integrality=np.ones(n + m), bounds=Bounds(0, 1),
               constraints=[LinearConstraint(link, -np.inf, 0), LinearConstraint(count, budget, budget)],
               options={"mip_rel_gap": 0.0})
    if res.status != 0:
        raise RuntimeError(f"HiGHS did not solve the covering problem: {res.message}")
    chosen = np.flatnonzero(res.x[:n] > 0.5)
    return chosen, problem.covered_demand(chosen)


@dataclass(frozen=True)
class OrderStep:
    step: int
    subcenter: int                 # sub-center id finished at this step
    covered_greedy: float          # work orders a day covered after this step (greedy sequence)
    covered_optimal: float         # the MILP optimum for a budget of `step`
    gap: float                     # optimal - greedy (>= 0)


def finish_order(problem: SitingProblem, steps: int | None = None) -> list[OrderStep]:
    """Finish the candidates one at a time, each time the one adding most covered demand
    (ties: lowest id); each step with the MILP optimum for that budget."""
    n = problem.covers.shape[1]
    steps = n if steps is None else steps
    chosen: list[int] = []
    out = []
    for k in range(1, steps + 1):
        rest = [j for j in range(n) if j not in chosen]
        gains = [problem.covered_demand(chosen + [j]) for j in rest]
        best = rest[int(np.argmax(gains))]
        chosen.append(best)
        opt = solve_mclp(problem, k)[1]
        greedy = max(gains)
        out.append(OrderStep(k, int(problem.candidates[best]), greedy, max(opt, greedy), max(opt - greedy, 0.0)))
    return out


def random_choice(problem: SitingProblem, budget: int, seed: int) -> np.ndarray:
    """A random set of `budget` candidates (column positions, sorted): the comparison."""
    rng = np.random.default_rng(seed + RANDOM_SEED_OFFSET)
    return np.sort(rng.choice(problem.covers.shape[1], size=budget, replace=False))


def built_overrides(city: City, add: np.ndarray) -> dict:
    """Scenario keys that make the currently built sub-centers plus `add` (ids) the built set."""
    ids = sorted(set(np.flatnonzero(city.sc_status == BUILT).tolist()) | set(int(s) for s in add))
    return {"city.subcenters_built": len(ids), "city.subcenters_built_ids": ids}


@dataclass(frozen=True)
class Confirmation:
    """Simulated stage shares per variant: rows (variant, stage, n, mean, ci_low, ci_high, diff,
    diff_ci_low, diff_ci_high), the difference paired against the current build."""

    rows: list[dict]
    replications: int
    days: int


def confirm(variants: dict[str, Scenario], replications: int, seed: int,
            progress: Callable[[str, int], None] | None = None) -> Confirmation:
    """Run every variant for the same replications (common random numbers); the first variant
    is the reference for the paired differences."""
    shares: dict[str, dict[str, list[float]]] = {}
    for name, sc in variants.items():
        shares[name] = {st: [] for st in STAGES}
        for r in range(replications):
            res = simulate(sc, replication=r, seed=seed, keep_hourly=False)
            for st in STAGES:
                share = res.summary["stages"][st]["share"]       # None: nothing judged in that stage
                shares[name][st].append(math.nan if share is None else float(share))
            if progress:
                progress(name, r)
    ref = next(iter(variants))
    rows = []
    for name in variants:
        for st in STAGES:
            v = np.array(shares[name][st])
            mean, lo, hi = mean_ci(v)
            row = {"variant": name, "stage": st, "n": len(v), "mean": mean, "ci_low": lo, "ci_high": hi,
                   "diff": math.nan, "diff_ci_low": math.nan, "diff_ci_high": math.nan}
            if name != ref:
                d, dlo, dhi = paired_difference_ci(np.array(shares[ref][st]), v)
                row.update(diff=d, diff_ci_low=dlo, diff_ci_high=dhi)
            rows.append(row)
    days = next(iter(variants.values())).run.days
    return Confirmation(rows=rows, replications=replications, days=days)
