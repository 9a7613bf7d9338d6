"""Staffing tuner: the least staff that meets response targets, proven by simulation.

A target is "stage:minutes:share" (e.g. on_scene:5:0.90; see `studies.targets`). Every candidate is simulated with the same replications
(same seeds), so candidates are compared on identical calls: common random numbers.

The search starts from an analytic estimate (Erlang C per unit, from the unit's load measured
in one pilot run at the current staffing), then brackets and bisects by simulation. With
`per` it allocates staff among divisions or sub-centers with a simultaneous bisection in
every unit (units interact only through borrowing, and a final check confirms the result),
or with a fixed total it moves staff from the best-served unit to the worst-served one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import tomli_w

from gridsim.domain import STAFF_KEY
from gridsim.results.run import simulate
from gridsim.scenario import BUILTIN_NAME, Scenario, ScenarioError
from gridsim.studies.executors import Executor, make_executor
from gridsim.studies.staffing_estimate import erlang_estimate, measure_load, sqrt_staffing
from gridsim.studies.targets import Evaluation, Target, parse_target, target_counts, unjudged_reason

__all__ = ["Target", "parse_target", "target_counts", "Evaluation", "TuneError", "TargetNotJudged", "TuneResult", "Tuner",
           "run_tune", "recommended_toml", "result_overrides"]

#: the keys --per can allocate: staff.<head-count key> -> role
STAFF_ROLES = {f"staff.{key}": role for role, key in STAFF_KEY.items()}
Message = Callable[[str], None]


def _silent(text: str) -> None:
    """The default message callback: the library itself never prints."""


class TuneError(Exception):
    """A search that cannot succeed (e.g. a target out of reach within the bounds)."""


class TargetNotJudged(TuneError):
    """A target whose stage judged no event: its share is undefined, so it can be neither met
    nor missed (counting it as met once recommended 0 workers)."""


def _run_counts(job: tuple) -> dict:
    """Worker: one replication of one candidate -> target counts (top-level: picklable)."""
    scenario, replication, targets, per = job
    res = simulate(scenario, replication=replication, keep_hourly=False)
    return target_counts(res.events, scenario, targets, per)


@dataclass
class Tuner:
    """Runs candidates (all replications, in parallel) and keeps the search log."""

    scenario: Scenario
    targets: list[Target]
    reps: int
    budget: int
    workers: int = 1
    per: str | None = None
    message: Message = _silent
    dask: str | None = None
    log: list[dict] = field(default_factory=list)
    runs_used: int = 0
    _executor: Executor | None = None

    def __enter__(self) -> "Tuner":
        # the batch executors: serial, local processes or Dask, kept open for the whole search
        self._executor = make_executor(self.workers, self.dask).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._executor is not None:
            self._executor.__exit__(*exc)

    def evaluate(self, overrides: dict, label: str) -> Evaluation:
        if self.runs_used + self.reps > self.budget:
            raise TuneError(f"run budget exhausted ({self.runs_used} of {self.budget} runs used); "
                            f"raise --budget or narrow the search")
        sc = self.scenario.copy_with(overrides, origin="tuner")
        jobs = [(sc, r, self.targets, self.per) for r in range(self.reps)]
        results = []
        for _job, res in self._executor.run(_run_counts, jobs):
            if isinstance(res, BaseException):
                raise res
            results.append(res)
        self.runs_used += self.reps
        pooled: dict = {}
        for res in results:
            for key, (k, n) in res.items():
                a, b = pooled.get(key, (0, 0))
                pooled[key] = (a + k, b + n)
        ev = Evaluation(pooled, self.targets, self.reps)
        self._refuse_unjudged(ev, sc, label)
        row = {"step": len(self.log) + 1, "candidate": label, "runs_used": self.runs_used, "met": ev.unit_met()}
        parts = []
        for i, tg in enumerate(self.targets):
            k, n, share, lo, hi = ev.stat(i)
            row.update({f"{tg.stage}.share": share, f"{tg.stage}.ci_low": lo, f"{tg.stage}.ci_high": hi,
                        f"{tg.stage}.n": n})
            parts.append(f"{tg.stage} {share:.1%} [{lo:.1%}, {hi:.1%}] (need {tg.share:.0%})")
        if self.per:
            units = sorted({u for (_, u) in pooled if u >= 0})
            failing = [u for u in units if not ev.unit_met(u)]
            row["units_failing"] = len(failing)
            parts.append(f"{len(failing)} of {len(units)} {self.per}s short")
        self.log.append(row)
        self.message(f"  [{row['step']:2d}] {label:>28s}: {'MEETS ' if row['met'] and not row.get('units_failing') else 'short '}"
                  + "; ".join(parts) + f"  ({self.runs_used} runs)")
        return ev

    def _refuse_unjudged(self, ev: Evaluation, scenario: Scenario, label: str) -> None:
        for i, tg in enumerate(self.targets):
            if ev.stat(i)[1] == 0:
                raise TargetNotJudged(
                    f"--target {tg.spec()} judged no event in {self.reps} run(s) at {label}: "
                    f"{unjudged_reason(tg, scenario)}. A target with nothing to judge can be neither met "
                    f"nor missed: choose a stage and source these events pass through")


# ------------------------------------------------------------------ analytic starting point

# ------------------------------------------------------------------ searches

@dataclass
class TuneResult:
    key: str
    value: float | int
    per: str | None
    allocation: list[int] | None
    evaluation: Evaluation
    runs_used: int
    analytic: int | None
    sqrt_rule: int | None
    sqrt_rule_meets: bool | None
    sqrt_allocation: list[int] | None
    log: list[dict]


def tune_single(tuner: Tuner, key: str, lo_bound: float, hi_bound: float, start: float | None,
                resolution: float) -> tuple[float, Evaluation]:
    """Least value of `key` in [lo_bound, hi_bound] meeting every target: bracket, then bisect."""
    is_int = isinstance(tuner.scenario.get(key), int)
    fmt = (lambda v: f"{key}={int(v)}") if is_int else (lambda v: f"{key}={v:.6g}")
    rnd = (lambda v: int(round(v))) if is_int else float
    x = rnd(min(max(start if start is not None else tuner.scenario.get(key), lo_bound), hi_bound))
    evals: dict = {}

    def ev(v):
        if v not in evals:
            evals[v] = tuner.evaluate({key: v}, fmt(v))
        return evals[v]

    lo = hi = None
    if ev(x).unit_met():
        hi = x
        while True:                                   # walk down until a value fails
            if hi <= lo_bound:
                return hi, ev(hi)
            y = rnd(max(lo_bound, min(hi - resolution, hi / 1.5)))
            if y >= hi:
                return hi, ev(hi)
            if ev(y).unit_met():
                hi = y
            else:
                lo = y
                break
    else:
        lo = x
        while True:                                   # walk up until a value passes
            if lo >= hi_bound:
                raise TuneError(_out_of_reach(tuner.targets, fmt(x), ev(x), fmt(lo), ev(lo)))
            y = rnd(min(hi_bound, max(lo + resolution, lo * 1.5)))
            if ev(y).unit_met():
                hi = y
                break
            lo = y
    while hi - lo > resolution:
        mid = rnd((lo + hi) / 2)
        if mid in (lo, hi):
            break
        if ev(mid).unit_met():
            hi = mid
        else:
            lo = mid
    return hi, ev(hi)


def _out_of_reach(targets: list[Target], first: str, first_ev: Evaluation, last: str, last_ev: Evaluation
                  ) -> str:
    """Why the search stopped at the upper bound, and which way to go: raising --max helps only
    when the short targets' shares grew on the way up."""
    short = [i for i, tg in enumerate(targets) if last_ev.stat(i)[3] < tg.share]
    moves = [f"{targets[i].stage} {first_ev.stat(i)[2]:.1%} at {first} -> {last_ev.stat(i)[2]:.1%} at {last} "
             f"(need {targets[i].share:.0%})" for i in short]
    grew = first == last or all(last_ev.stat(i)[2] > first_ev.stat(i)[2] for i in short)
    head = f"the targets are not met even at {last} (the upper bound): " + "; ".join(moves)
    if grew:
        return head + (". The share grows with the value: raise --max, or relax the target" if first != last
                       else ". Only the upper bound was tried: raise --max, or relax the target")
    return (head + ". The share did not grow with the value, so raising --max will not help: this key does "
            "not drive this target (vary another key, e.g. staff.police_units for 110 incidents), or relax it")


def tune_allocation(tuner: Tuner, key: str, start: np.ndarray, lo_bound: int, hi_bound: int,
                    names: list[str]) -> tuple[np.ndarray, Evaluation]:
    """Least staff per unit so that every unit meets every target: bisection in all units at once."""
    role_key = key.split(".", 1)[1]
    n = len(start)
    x = np.clip(start.astype(int), lo_bound, hi_bound)
    lo = np.full(n, lo_bound - 1)
    hi = np.full(n, -1)                                   # -1: no passing value known yet

    seen: dict = {}

    def ev(alloc):
        k = tuple(int(v) for v in alloc)
        if k not in seen:
            seen[k] = tuner.evaluate({"allocation.per": tuner.per, f"allocation.{role_key}": list(k),
                                      key: int(sum(k))}, f"total {int(sum(k))}")
        return seen[k]

    while True:
        e = ev(x)
        ok = np.array([e.unit_met(u) for u in range(n)])
        hi = np.where(ok, x, hi)
        lo = np.where(ok, lo, np.maximum(lo, x))
        stuck = (~ok) & (x >= hi_bound)
        if stuck.any():
            bad = [names[u] for u in np.flatnonzero(stuck)]
            raise TuneError(f"{', '.join(bad[:5])} cannot meet the targets even with {hi_bound} staff "
                            f"(the per-unit upper bound): raise --max or relax the targets")
        settled = (hi >= 0) & (hi - lo <= 1)
        if settled.all():
            if ok.all() and (x == hi).all():
                return x, e
            x = hi.copy()                       # confirm the settled allocation in one run
            continue
        grow = hi < 0
        # a passing value with no failing one below yet: step down a little (the analytic start is
        # usually close), otherwise bisect
        down = np.maximum(lo_bound, hi - np.maximum(1, hi // 5))
        nxt = np.where(grow, np.minimum(hi_bound, np.maximum(x + 1, np.ceil(x * 1.5).astype(int))),
                       np.where(lo < lo_bound, down, (lo + hi) // 2))
        nxt = np.where(settled, hi, nxt)
        nxt = np.where((~grow) & (~settled) & (nxt <= lo), lo + 1, nxt)
        x = nxt.astype(int)


def tune_fixed_total(tuner: Tuner, key: str, start: np.ndarray, total: int, lo_bound: int,
                     names: list[str]) -> tuple[np.ndarray, Evaluation]:
    """Allocation of a fixed total that maximises the worst unit's compliance (greedy moves)."""
    from gridsim.city import apportion
    role_key = key.split(".", 1)[1]
    n = len(start)
    weights = np.where(start > 0, start, 1).astype(float)
    x = apportion(total, weights, lo_bound)

    def ev(alloc):
        return tuner.evaluate({"allocation.per": tuner.per, f"allocation.{role_key}": [int(v) for v in alloc],
                               key: int(total)}, f"worst-unit search {int(alloc.min())}..{int(alloc.max())}")

    best_e = ev(x)
    step = max(1, total // (4 * n))
    while step >= 1:
        margins = np.array([best_e.margin(u) for u in range(n)])
        worst = int(np.argmin(margins))
        can_give = (x - step >= lo_bound) & (np.arange(n) != worst)
        if not can_give.any():
            step //= 2
            continue
        donor = int(np.argmax(np.where(can_give, margins, -np.inf)))
        y = x.copy()
        y[worst] += step
        y[donor] -= step
        try:
            e = ev(y)
        except TuneError:
            break
        if min(e.margin(u) for u in range(n)) > margins.min():
            x, best_e = y, e
        else:
            step //= 2
    return x, best_e


def recommended_toml(scenario_ref: str | None, out_dir: Path, overrides: dict) -> str:
    """A scenario file that extends the input and sets the recommended staffing."""
    if scenario_ref is None:
        parent = BUILTIN_NAME
    else:
        p = Path(scenario_ref)
        parent = os.path.relpath(p.resolve(), out_dir.resolve()) if p.exists() else scenario_ref
    nested: dict = {}
    for dotted, value in overrides.items():
        node = nested
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    head = f'# Recommended by `gridsim tune`: extends the input scenario, sets the staffing found.\nextends = "{parent}"\n\n'
    return head + tomli_w.dumps(nested)


def run_tune(scenario: Scenario, scenario_ref: str | None, targets: list[Target], key: str,
             per: str | None = None, total: int | None = None, reps: int = 3, budget: int = 200,
             workers: int = 1, lo_bound: float | None = None, hi_bound: float | None = None,
             resolution: float | None = None, message: Message | None = None,
             dask: str | None = None) -> TuneResult:
    """The whole search: analytic start, simulation refinement, square-root rule comparison.

    `message` receives one line per step of the search (the command line prints them)."""
    message = message or _silent
    current = _check_vary(scenario, key, per, total)
    start = _analytic_start(scenario, key, current, targets, per, message)
    if resolution is None:
        resolution = _default_resolution(current, start.analytic)
    lo_b = 0 if lo_bound is None else lo_bound
    with Tuner(scenario, targets, reps, budget, workers, per, message, dask) as tuner:
        tuner.runs_used = start.pilot_runs
        allocation = None
        if per is None:
            hi_b = hi_bound if hi_bound is not None else 10 * max(current, start.analytic or 0, 1)
            value, ev = tune_single(tuner, key, lo_b, hi_b, start.analytic or current, resolution)
            sqrt_meets = _sqrt_rule_meets(tuner, key, start)
        else:
            hi_b = int(hi_bound) if hi_bound is not None else int(10 * max(current, 1))
            names = (scenario_division_names(scenario) if per == "division"
                     else [f"sub-center {i}" for i in range(scenario.city.subcenters)])
            if total is None:
                alloc, ev = tune_allocation(tuner, key, start.alloc, int(lo_b), hi_b, names)
            else:
                alloc, ev = tune_fixed_total(tuner, key, start.alloc, int(total), int(lo_b), names)
            allocation = [int(v) for v in alloc]
            value = int(sum(allocation))
            sqrt_meets = _sqrt_allocation_meets(tuner, key, start.sqrt_alloc)
        return TuneResult(key=key, value=value, per=per, allocation=allocation, evaluation=ev,
                          runs_used=tuner.runs_used, analytic=start.analytic, sqrt_rule=start.sqrt_total,
                          sqrt_rule_meets=sqrt_meets,
                          sqrt_allocation=[int(v) for v in start.sqrt_alloc] if per else None,
                          log=tuner.log)


def _check_vary(scenario: Scenario, key: str, per: str | None, total: int | None) -> int | float:
    """The current value of the key to tune; --per needs a staff key, --total needs --per."""
    try:
        current = scenario.get(key)
    except KeyError:
        raise ScenarioError("--vary", key, "no such scenario key", "a numeric key, e.g. staff.fulltime_workers") from None
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise ScenarioError("--vary", key, "is not a number", "a numeric key, e.g. staff.fulltime_workers",
                            current, True)
    if per is not None and key not in STAFF_ROLES:
        raise ScenarioError("--vary", key, f"--per {per} allocates staff", ", ".join(STAFF_ROLES), current, True)
    if total is not None and per is None:
        raise ScenarioError("--total", str(total), "a fixed total is shared among units", "use it with --per")
    return current


@dataclass
class AnalyticStart:
    """Where the search starts: Erlang C and square-root staffing per unit, from one pilot run
    (nothing when the key is not a head count)."""

    analytic: int | None = None
    sqrt_total: int | None = None
    alloc: np.ndarray | None = None
    sqrt_alloc: np.ndarray | None = None
    pilot_runs: int = 0


def _analytic_start(scenario: Scenario, key: str, current: float, targets: list[Target], per: str | None,
                    message: Message) -> AnalyticStart:
    role = STAFF_ROLES.get(key)
    if role is None:
        return AnalyticStart()
    unit = per or ("subcenter" if role == "police" else "workstation")
    message(f"pilot run at {key}={current} to measure each {unit}'s load ...")
    load = measure_load(scenario, role, targets[0], unit)
    est = erlang_estimate(load, targets[0].share)
    sq = sqrt_staffing(load, targets[0].share)
    start = AnalyticStart(int(est.sum()), int(sq.sum()), est, sq, pilot_runs=1)
    message(f"analytic start (Erlang C per {unit}, {load.allowance:.1f} min of the target left for "
            f"queueing): {start.analytic}; square-root staffing rule: {start.sqrt_total}")
    return start


def _default_resolution(current: int | float, analytic: int | None) -> float:
    """Stop bisecting at 1 staff (1 % of large head counts), or 1 % of a non-integer value."""
    base = analytic if analytic else current
    if not isinstance(current, int):
        return max(abs(base) * 0.01, 1e-9)
    return 1 if base < 200 else max(1, round(0.01 * base))


def _sqrt_rule_meets(tuner: Tuner, key: str, start: AnalyticStart) -> bool | None:
    if start.sqrt_total is None:
        return None
    return tuner.evaluate({key: start.sqrt_total}, f"sqrt rule {key}={start.sqrt_total}").unit_met()


def _sqrt_allocation_meets(tuner: Tuner, key: str, sqrt_alloc: np.ndarray) -> bool:
    se = tuner.evaluate({"allocation.per": tuner.per, f"allocation.{key.split('.', 1)[1]}": [int(v) for v in sqrt_alloc],
                         key: int(sqrt_alloc.sum())}, f"sqrt rule total {int(sqrt_alloc.sum())}")
    return all(se.unit_met(u) for u in range(len(sqrt_alloc)))


def scenario_division_names(scenario: Scenario) -> list[str]:
    return [d.name for d in scenario.divisions]


def result_overrides(result: TuneResult, extra: dict) -> dict:
    """The keys the recommended scenario sets: the user's overrides plus the staffing found."""
    out = dict(extra)
    out[result.key] = result.value
    if result.allocation is not None:
        out["allocation.per"] = result.per
        out[f"allocation.{result.key.split('.', 1)[1]}"] = result.allocation
    return out
