"""The police fleet against the exact hypercube model (gridsim.analysis.theory.hypercube).

`scenarios/validation_hypercube.toml` makes the fleet exactly the model: one jurisdiction,
units at fixed posts (return to post, zero travel), Poisson calls at grid centroids,
exponential service with one mean, one FCFS queue. Nearest idle unit is then a fixed
preference order, so each unit's workload, each atom's split of calls over units and
P(all busy) must match the exact solution.

Measured per replication from the model objects (the events table has no unit column): which
unit took each call, and from the records its busy time inside the measured window.
Tolerance: the replication mean must lie in its 99 % Student-t confidence interval around
the exact value, simultaneously for all compared numbers (Bonferroni: each at 1 - 0.01 / k),
and within 0.03 absolute. Seeds are fixed, so the test is deterministic.

Run as a script to compare other inputs: `python tests/test_hypercube_validation.py
--set staff.police_posts_file=my_posts.csv --set staff.police_units=4 ...` prints exact and
simulated numbers (see README, "Hypercube validation").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import t as student_t

from gridsim.analysis.theory import erlang_c, hypercube, preferences_by_distance
from gridsim.city import build_city
from gridsim.domain import P110
from gridsim.engine.model import CityModel
from gridsim.scenario import Scenario, load_scenario

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "validation_hypercube.toml"
REPS = 10
DAYS = 40
CONFIDENCE = 0.99


def exact(spec: Scenario, city) -> tuple[np.ndarray, np.ndarray, object]:
    """The hypercube inputs of a validation scenario (atom rates per minute, preference
    orders) and its exact solution."""
    share = city.grid_population / city.grid_population.sum()
    rates = spec.demand.police_per_day / 1440.0 * share
    means = {spec.service[c].mean_min for c in spec.categories_of("110")}
    assert len(means) == 1, "the hypercube needs one service mean for every 110 category"
    pref = preferences_by_distance(np.column_stack([city.grid_x, city.grid_y]), city.police_post_xy)
    return rates, pref, hypercube(rates, pref, 1.0 / means.pop())


def replicate(spec: Scenario, city, replication: int) -> tuple[np.ndarray, np.ndarray, float]:
    """One replication: per-unit workload, atom x unit counts of counted calls, P(wait).

    The unit of each call is caught where the fleet starts a job (`_start(unit, task, t, ...)`);
    its busy interval is the call's dispatch to its end on scene (zero travel: no way back),
    clipped to the measured window, which in this scenario is the unit's whole job."""
    model = CityModel(spec, city=city, replication=replication)
    fleet = model.police_fleet
    n = len(fleet)
    warm, horizon = model.warmup_min, model.horizon_min
    unit_of_event: dict[int, int] = {}
    start = fleet._start

    def on_start(u, task, t, *args, **kw):
        if task.kind == P110:
            unit_of_event[task.event] = u
        return start(u, task, t, *args, **kw)

    fleet._start = on_start
    model.run_events()
    st, rec = model.static, model.records
    events = np.fromiter(unit_of_event.keys(), dtype=np.int64, count=len(unit_of_event))
    units = np.fromiter(unit_of_event.values(), dtype=np.int64, count=len(unit_of_event))
    t_disp, t_done = np.asarray(rec.t_dispatch)[events], np.asarray(rec.t_done)[events]
    busy = np.bincount(units, weights=np.clip(np.minimum(t_done, horizon) - np.maximum(t_disp, warm), 0, None),
                       minlength=n)
    counted = st.t_call[events] >= warm
    counts = np.zeros((city.n_grids, n))
    np.add.at(counts, (st.grid[events[counted]], units[counted]), 1)
    wait = t_disp[counted] - st.t_ready[events[counted]]
    model.release()
    return busy / (horizon - warm), counts, float(np.mean(wait > 1e-9))


def compare(spec: Scenario, reps: int = REPS) -> dict:
    """Exact and simulated workloads, dispatch fractions and P(wait), with the interval
    half-widths (simultaneous CONFIDENCE over all compared numbers)."""
    city = build_city(spec)
    rates, pref, sol = exact(spec, city)
    runs = [replicate(spec, city, r) for r in range(reps)]
    work = np.array([w for w, _, _ in runs])
    frac = np.array([c / c.sum(axis=1, keepdims=True) for _, c, _ in runs])
    pwait = np.array([p for _, _, p in runs])
    k = work.shape[1] + frac[0].size + 1
    q = student_t.ppf(1 - (1 - CONFIDENCE) / (2 * k), reps - 1)
    half = lambda a: q * a.std(axis=0, ddof=1) / np.sqrt(reps)      # noqa: E731
    n = len(sol.workload)
    return {
        "rates": rates, "pref": pref, "solution": sol,
        "workload": (sol.workload, work.mean(0), half(work)),
        "fraction": (sol.dispatch_fraction, frac.mean(0), half(frac)),
        "p_wait": (sol.p_wait, pwait.mean(), half(pwait)),
        "erlang_c": erlang_c(n, rates.sum() * spec.service["crime"].mean_min),
    }


def _within(result: dict, key: str, abs_tol: float = 0.03) -> tuple[bool, float]:
    """All simulated numbers inside their intervals and abs_tol of the exact ones; the
    largest miss in interval half-widths."""
    ex, sim, half = (np.atleast_1d(np.asarray(v, dtype=float)) for v in result[key])
    dev = np.abs(sim - ex)
    return bool((dev <= half).all() and (dev <= abs_tol).all()), float((dev / half).max())


@pytest.fixture(scope="module")
def five_units() -> dict:
    return compare(load_scenario(SCENARIO, [f"run.days={DAYS}"]))


@pytest.fixture(scope="module")
def three_units() -> dict:
    posts = SCENARIO.parent / "validation_hypercube_posts_3.csv"      # --set paths are relative to the cwd
    return compare(load_scenario(SCENARIO, [f"run.days={DAYS}", f"staff.police_posts_file={posts}",
                                            "staff.police_units=3", "demand.police_per_day=120.0"]))


@pytest.mark.parametrize("case", ["three_units", "five_units"])
def test_fleet_matches_the_hypercube(case, request):
    result = request.getfixturevalue(case)
    sol = result["solution"]
    rates = result["rates"]
    assert len(set(np.round(rates, 12))) > 3                         # unequal atom rates
    assert sol.p_wait == pytest.approx(result["erlang_c"], rel=1e-9)
    for key in ("workload", "fraction", "p_wait"):
        ok, worst = _within(result, key)
        assert ok, (case, key, worst, result[key])
    # the comparison is informative: units carry visibly different loads
    assert np.ptp(sol.workload) > 0.05


def test_the_comparison_can_fail():
    """Units that wait where they finished (`stay`) break the fixed preference order: the
    same comparison must then reject the hypercube's dispatch fractions."""
    spec = load_scenario(SCENARIO, [f"run.days={DAYS}", "dispatch.police_idle_policy=stay"])
    ok, worst = _within(compare(spec, reps=4), "fraction")
    assert not ok and worst > 3.0


def _table(result: dict) -> str:
    """The comparison as text: workloads, P(wait), dispatch fractions (exact / simulated)."""
    ex, sim, half = result["workload"]
    lines = ["unit  workload exact  simulated (99% half-width)"]
    lines += [f"{u:4d}  {ex[u]:14.4f}  {sim[u]:9.4f} (+-{half[u]:.4f})" for u in range(len(ex))]
    pe, ps, ph = result["p_wait"]
    lines.append(f"P(wait): exact {pe:.4f} (Erlang C {result['erlang_c']:.4f}), simulated {ps:.4f} (+-{ph:.4f})")
    fe, fs, fh = result["fraction"]
    lines.append("atom  rate/min  preference   share served by unit: exact / simulated")
    for j in range(len(fe)):
        cells = "  ".join(f"{fe[j, u]:.3f}/{fs[j, u]:.3f}" for u in range(fe.shape[1]))
        lines.append(f"{j:4d}  {result['rates'][j]:.5f}  {''.join(map(str, result['pref'][j])):>10}   {cells}")
    for key in ("workload", "fraction", "p_wait"):
        ok, worst = _within(result, key)
        lines.append(f"{key}: {'match' if ok else 'MISMATCH'} (largest deviation {worst:.2f} half-widths)")
    return "\n".join(lines)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="Compare validation_hypercube.toml (or SCENARIO) with the hypercube model")
    p.add_argument("scenario", nargs="?", default=str(SCENARIO))
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--reps", type=int, default=REPS)
    args = p.parse_args()
    print(_table(compare(load_scenario(args.scenario, args.overrides), args.reps)))
