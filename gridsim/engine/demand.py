"""Demand: 110 incidents, 12345 calls and grid patrol reports, generated in vectorised batches.

Arrivals are non-homogeneous Poisson with a piecewise-constant rate per simulated hour
(hour-of-day x day-of-week profile), placed in grids in proportion to population (patrol
reports: in proportion to the on-duty workers who find them). A surge adds a superposed
Poisson stream in the chosen divisions and window. Each source draws from its own random
stream, so changing staffing (which changes patrol reports) leaves 110 and 12345 calls
identical: common random numbers across scenario variants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridsim.city import City
from gridsim.domain import GRID_ROLES, SOURCE_CODE
from gridsim.scenario import Scenario
from gridsim.engine.shifts import shift_intervals



@dataclass
class Demand:
    """All events of one run, sorted by call time (event_id = position)."""

    t_call: np.ndarray            # minutes from start
    source: np.ndarray            # int8 code, see SOURCE_CODE
    category: np.ndarray          # int16 index into category_names
    grid: np.ndarray              # int32 grid id
    x: np.ndarray | None          # event location, km (released once the model holds it)
    y: np.ndarray | None
    category_names: list[str]
    hotline_calls: int            # all 12345 calls, including those resolved on first contact
    first_contact_per_hour: np.ndarray   # 12345 calls resolved on first contact, per simulated hour

    def __len__(self) -> int:
        return len(self.t_call)


def hourly_rate(scenario: Scenario, profile: str, per_day: float, hours: int) -> np.ndarray:
    """Expected arrivals in each simulated hour: per_day x normalised hour and weekday weights."""
    prof = scenario.demand.profile[profile]
    hw = np.asarray(prof.hourly, float)
    dw = np.asarray(prof.daily, float)
    hw, dw = hw / hw.mean(), dw / dw.mean()
    h = np.arange(hours)
    dow = (scenario.run.start_weekday + h // 24) % 7
    return per_day / 24.0 * hw[h % 24] * dw[dow]


def _surge_overlap(scenario: Scenario, hours: int) -> np.ndarray:
    """Fraction of each simulated hour inside the surge window (0 when surge is off)."""
    sg = scenario.surge
    out = np.zeros(hours)
    if not sg.enabled or sg.multiplier == 1.0:
        return out
    a, b = sg.start_hour, sg.start_hour + sg.duration_hours
    h = np.arange(hours, dtype=float)
    return np.clip(np.minimum(h + 1, b) - np.maximum(h, a), 0.0, 1.0)


def _times_in_hours(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    hours = np.repeat(np.arange(len(counts)), counts)
    return (hours + rng.random(len(hours))) * 60.0


def _pick(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(weights, dtype=float)
    return np.searchsorted(cum, rng.random(n) * cum[-1], side="right").astype(np.int32)


def _surge_window_times(rng, counts, scenario) -> np.ndarray:
    """Times for surge extras: uniform over the part of each hour inside the window."""
    sg = scenario.surge
    a, b = sg.start_hour, sg.start_hour + sg.duration_hours
    hours = np.repeat(np.arange(len(counts)), counts).astype(float)
    lo = np.maximum(hours, a)
    hi = np.minimum(hours + 1, b)
    return (lo + rng.random(len(hours)) * (hi - lo)) * 60.0


def _poisson_arrivals(rng, scenario, city, rate_h: np.ndarray, source: str):
    """Times and grids for a population-weighted source, surge extras included."""
    counts = rng.poisson(rate_h)
    t = _times_in_hours(rng, counts)
    g = _pick(rng, city.grid_population, len(t))
    sg = scenario.surge
    overlap = _surge_overlap(scenario, len(rate_h))
    if overlap.any() and source in sg.sources:
        divs = [city.division_names.index(d) for d in sg.divisions]
        in_div = np.isin(city.grid_div, divs)
        share = city.grid_population[in_div].sum() / city.grid_population.sum()
        extra = rng.poisson(rate_h * overlap * share * (sg.multiplier - 1.0)) if sg.multiplier > 1 else \
            np.zeros(len(rate_h), dtype=np.int64)
        te = _surge_window_times(rng, extra, scenario)
        ge = np.flatnonzero(in_div)[_pick(rng, city.grid_population[in_div], len(te))]
        t, g = np.concatenate([t, te]), np.concatenate([g, ge])
        if sg.multiplier < 1:           # a lull: thin the surge-window events in those divisions
            h = (t // 60).astype(int)
            drop_p = overlap[h] * (1.0 - sg.multiplier) * np.isin(city.grid_div[g], divs)
            keep = rng.random(len(t)) >= drop_p
            t, g = t[keep], g[keep]
    return t, g


def _categories(rng, scenario: Scenario, source: str, n: int, names: list[str]) -> np.ndarray:
    cats = scenario.categories_of(source)
    idx = np.array([names.index(k) for k in cats], dtype=np.int16)
    shares = np.array([v.share for v in cats.values()])
    return idx[_pick(rng, shares, n)]


def _skew_placement(rng, scenario: Scenario, city: City, g: np.ndarray, cat: np.ndarray,
                    names: list[str]) -> np.ndarray:
    """Categories with urban_weight != 1 are re-placed with weights population x urban_weight
    (urban grids) so they lean urban (> 1) or rural (< 1); the category mix is unchanged.
    Events keep their division (a surge stays where it struck)."""
    g = g.copy()
    for c in np.unique(cat):
        w_urban = scenario.categories[names[c]].urban_weight
        if w_urban == 1.0:
            continue
        sel = np.flatnonzero(cat == c)
        weights = city.grid_population * np.where(city.grid_urban, w_urban, 1.0)
        divs = city.grid_div[g[sel]]
        for d in np.unique(divs):
            members = np.flatnonzero(city.grid_div == d)
            rows = sel[divs == d]
            if weights[members].sum() > 0:
                g[rows] = members[_pick(rng, weights[members], len(rows))]
    return g


def _patrol_reports(rng, scenario: Scenario, city: City, horizon_min: float):
    """Reports found by on-duty grid workers: rate per worker-hour x workers on duty."""
    rates = scenario.demand.patrol_reports_per_hour
    sg = scenario.surge
    surge_on = sg.enabled and "grid" in sg.sources and sg.multiplier != 1.0
    divs = [city.division_names.index(d) for d in sg.divisions] if surge_on else []
    ts, gs = [], []
    for role in GRID_ROLES:
        rate = rates[role]
        workers = {"fulltime": city.grid_fulltime, "leader": city.grid_leaders,
                   "parttime": city.grid_parttime}[role].astype(float)
        if rate <= 0 or workers.sum() == 0:
            continue
        for a, b in shift_intervals(scenario, role, horizon_min):
            n = rng.poisson(rate * workers.sum() * (b - a) / 60.0)
            ts.append(a + rng.random(n) * (b - a))
            gs.append(_pick(rng, workers, n))
            if surge_on:
                lo, hi = max(a, sg.start_hour * 60), min(b, (sg.start_hour + sg.duration_hours) * 60)
                if hi > lo:
                    in_div = np.isin(city.grid_div, divs)
                    w = workers * in_div
                    if sg.multiplier > 1 and w.sum() > 0:
                        ne = rng.poisson(rate * w.sum() * (hi - lo) / 60.0 * (sg.multiplier - 1.0))
                        ts.append(lo + rng.random(ne) * (hi - lo))
                        gs.append(_pick(rng, w, ne))
                    elif sg.multiplier < 1:
                        t, g = ts[-1], gs[-1]
                        drop = (t >= lo) & (t < hi) & in_div[g] & (rng.random(len(t)) < 1 - sg.multiplier)
                        ts[-1], gs[-1] = t[~drop], g[~drop]
    if not ts:
        return np.empty(0), np.empty(0, dtype=np.int32)
    return np.concatenate(ts), np.concatenate(gs).astype(np.int32)


def generate_demand(scenario: Scenario, city: City, streams: dict[str, np.random.Generator],
                    horizon_min: float) -> Demand:
    """All events of a run. `streams` has one generator per source: demand_110/_12345/_grid."""
    hours = int(np.ceil(horizon_min / 60.0))
    dm = scenario.demand
    names = list(scenario.categories.keys())
    parts = []

    rng = streams["demand_110"]
    t, g = _poisson_arrivals(rng, scenario, city, hourly_rate(scenario, "police", dm.police_per_day, hours), "110")
    cat = _categories(rng, scenario, "110", len(t), names)
    g = _skew_placement(rng, scenario, city, g, cat, names)
    parts.append((t, g, np.full(len(t), SOURCE_CODE["110"]), cat, *_place(rng, scenario, city, g)))

    rng = streams["demand_12345"]
    t, g = _poisson_arrivals(rng, scenario, city, hourly_rate(scenario, "hotline", dm.hotline_per_day, hours), "12345")
    first = rng.random(len(t)) < dm.hotline_first_contact_share
    fc_per_hour = np.bincount((t[first] // 60).astype(int), minlength=hours)[:hours]
    hotline_calls = len(t)
    t, g = t[~first], g[~first]
    cat = _categories(rng, scenario, "12345", len(t), names)
    g = _skew_placement(rng, scenario, city, g, cat, names)
    parts.append((t, g, np.full(len(t), SOURCE_CODE["12345"]), cat, *_place(rng, scenario, city, g)))

    rng = streams["demand_grid"]
    t, g = _patrol_reports(rng, scenario, city, horizon_min)
    parts.append((t, g, np.full(len(t), SOURCE_CODE["grid"]), _categories(rng, scenario, "grid", len(t), names),
                  *_place(rng, scenario, city, g)))

    t = np.concatenate([p[0] for p in parts])
    keep = t < horizon_min
    order = np.argsort(t[keep], kind="stable")
    col = lambda i, dt: np.concatenate([p[i] for p in parts])[keep][order].astype(dt)  # noqa: E731
    return Demand(t_call=t[keep][order], source=col(2, np.int8), category=col(3, np.int16),
                  grid=col(1, np.int32), x=col(4, float), y=col(5, float), category_names=names,
                  hotline_calls=hotline_calls, first_contact_per_hour=fc_per_hour)


def _place(rng: np.random.Generator, scenario: Scenario, city: City, g: np.ndarray):
    """Event locations: uniform over a disc of the grid's area, or the grid centroid."""
    x, y = city.grid_x[g].copy(), city.grid_y[g].copy()
    if scenario.dispatch.event_spread == "grid":
        r = np.sqrt(city.grid_area[g] / np.pi) * np.sqrt(rng.random(len(g)))
        th = rng.random(len(g)) * 2 * np.pi
        x += r * np.cos(th)
        y += r * np.sin(th)
    return x, y
