"""Demand: 110 calls, 12345 calls and latent hazards, generated in vectorised batches.

Arrivals are non-homogeneous Poisson with a piecewise-constant rate per simulated hour
(hour-of-day x day-of-week profile), placed in grids in proportion to population. A surge adds
a superposed Poisson stream in the chosen divisions and window. Each source draws from its own
random stream, so changing staffing leaves every call and hazard identical: common random
numbers across scenario variants.

The two call centres are linked (facts.md: "12345 ... connected with 110"): a share of 110
calls are not police matters and are handed to 12345 after triage; a share of 12345 calls are
police matters and are handed to 110 after the talk. Every 12345 call waits for a call-taker
seat (gridsim.engine.answer_queue: an FCFS queue on the hourly seat roster, solved here because
every call's arrival is known before the loop); a call resolved on the line files no work order
and is kept only in the hourly call statistics. Hazards arise latent; grid patrols find them
during the run (gridsim.engine.agencies.grid_patrols).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridsim.city import City
from gridsim.domain import SOURCE_CODE
from gridsim.engine.answer_queue import ANSWER_LIMIT_S, answer_calls
from gridsim.engine.distributions import sample
from gridsim.scenario import Scenario

NO_TRANSFER, FROM_110, FROM_12345 = 0, 1, 2
TRANSFER_NAMES = ("", "110->12345", "12345->110")
"""Codes of the `transfer` column: how an event crossed between the two call centres."""


@dataclass
class HotlineCalls:
    """Every 12345 call of the run, summed per simulated hour of arrival (a year has ~11 M calls:
    only these sums are kept). Waits are seconds."""

    calls: np.ndarray             # calls arriving in the hour (direct and handed over from 110)
    wait_s_sum: np.ndarray        # their total wait for a seat, s
    within_30s: np.ndarray        # answered within 30 s
    first_contact: np.ndarray     # resolved on the line
    to_110: np.ndarray            # handed to 110 (police matters)
    from_110: np.ndarray          # handed over from 110 (not police matters)
    wait_s_max: np.ndarray        # longest wait, s


@dataclass
class Demand:
    """All events of one run, sorted by t_call (a hazard's onset; event_id = position)."""

    t_call: np.ndarray            # minutes from start: the call as the judging agency received it (110: the 110
                                  # call or the hand-over from 12345; 12345: the call reaching its queue), or a hazard's onset
    t_enter: np.ndarray           # its own agency takes it up: the 110 operator, the order filed, the onset
    source: np.ndarray            # int8 code, see SOURCE_CODE
    category: np.ndarray          # int16 index into category_names
    grid: np.ndarray              # int32 grid id
    x: np.ndarray | None          # event location, km (released once the model holds it)
    y: np.ndarray | None
    t_answer: np.ndarray          # 12345 work orders: the call answered by a call-taker (NaN otherwise)
    transfer: np.ndarray          # int8: NO_TRANSFER, FROM_110 (a 110 call handed to 12345), FROM_12345
    handover_min: np.ndarray      # float32: minutes from the citizen's first call (at the other centre) to t_call; 0 if none
    category_names: list[str]
    hotline: HotlineCalls

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
    """Times and grids for a population-weighted source, surge extras appended after the base
    arrivals. The surge draws from a child of `rng`, so the base arrivals and every draw made
    for them afterwards are the same with or without a surge (common random numbers)."""
    counts = rng.poisson(rate_h)
    t = _times_in_hours(rng, counts)
    g = _pick(rng, city.grid_population, len(t))
    sg = scenario.surge
    overlap = _surge_overlap(scenario, len(rate_h))
    if overlap.any() and source in sg.sources:
        rng = _child(rng, SURGE)
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


def _hazard_arrivals(rng, scenario: Scenario, city: City, hours: int):
    """Latent hazards: demand.hazards_per_100k_day x population, uniform in time, by population."""
    per_day = scenario.demand.hazards_per_100k_day * float(city.grid_population.sum()) / 1e5
    return _poisson_arrivals(rng, scenario, city, np.full(hours, per_day / 24.0), "grid")


def _hourly_sums(t: np.ndarray, values: np.ndarray, hours: int) -> np.ndarray:
    h = np.minimum((t // 60).astype(np.int64), hours - 1)
    return np.bincount(h, weights=values, minlength=hours)[:hours]


def _child(rng: np.random.Generator, *key: int) -> np.random.Generator:
    """A generator for one kind of draw of a source's stream, keyed (not counted), so that adding
    or removing one kind of draw, or the number of events drawn for, never shifts another."""
    ss = rng.bit_generator.seed_seq
    return np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + key))


# keys of the per-call draws (each kind from its own child generator: every draw is one vectorised
# call in generation order, base arrivals first, so a surge's extra calls leave the others' draws alone)
SURGE, HANDED, TRIAGE, CATEGORY, PLACE, TALK, TO_110, FIRST_CONTACT, CATEGORY_110 = range(9)
DIRECT, FROM_OTHER = 0, 1     # 12345 calls: direct ones and those handed over from 110 draw apart


def _calls_12345(rng, scenario: Scenario, city: City, names: list[str], g: np.ndarray, group: int) -> dict:
    """Every draw a 12345 call needs, for calls in generation order (see the keys above)."""
    hl, n = scenario.hotline, len(g)
    return {"cat": _categories(_child(rng, group, CATEGORY), scenario, "12345", n, names),
            "talk": sample(_child(rng, group, TALK), hl.talk, n),
            "u_to_110": _child(rng, group, TO_110).random(n),
            "u_first_contact": _child(rng, group, FIRST_CONTACT).random(n),
            "cat_110": _categories(_child(rng, group, CATEGORY_110), scenario, "110", n, names),
            "xy": _place(_child(rng, group, PLACE), scenario, city, g)}


def generate_demand(scenario: Scenario, city: City, streams: dict[str, np.random.Generator],
                    horizon_min: float) -> Demand:
    """All events of a run. `streams` has one generator per source: demand_110/_12345/_grid."""
    hours = int(np.ceil(horizon_min / 60.0))
    dm, hl = scenario.demand, scenario.hotline
    names = list(scenario.categories.keys())
    parts = []           # (t_call, t_enter, grid, source, category, t_answer, transfer, (x, y), handover)

    # 110 calls: valid incidents arrive directly, less those handed over from 12345 (the source's
    # total counts both); a share of all 110 calls are not police matters and go to 12345.
    rng = streams["demand_110"]
    direct = max(dm.police_per_day - dm.hotline_per_day * hl.to_110_share, 0.0)
    per_day = direct / (1.0 - hl.from_110_share)
    t, g = _poisson_arrivals(rng, scenario, city, hourly_rate(scenario, "police", per_day, hours), "110")
    handed = _child(rng, HANDED).random(len(t)) < hl.from_110_share
    triage = sample(_child(rng, TRIAGE), scenario.police.triage, len(t))
    t_handed = (t + triage)[handed]                       # reaches 12345 after the 110 triage
    t_from_110, g_from_110 = t[handed], g[handed]
    t, g = t[~handed], g[~handed]
    cat = _categories(_child(rng, CATEGORY), scenario, "110", len(t), names)
    g = _skew_placement(rng, scenario, city, g, cat, names)
    parts.append((t, t, g, SOURCE_CODE["110"], cat, None, NO_TRANSFER, _place(_child(rng, PLACE), scenario, city, g),
                  None))

    # 12345 calls, direct and handed over from 110: every call's draws in generation order, then
    # the seat queue in arrival order
    rng = streams["demand_12345"]
    t, g = _poisson_arrivals(rng, scenario, city, hourly_rate(scenario, "hotline", dm.hotline_per_day, hours), "12345")
    draws = [_calls_12345(rng, scenario, city, names, g, DIRECT),
             _calls_12345(rng, scenario, city, names, g_from_110, FROM_OTHER)]
    d = {k: np.concatenate([draws[0][k], draws[1][k]]) for k in ("cat", "talk", "u_to_110", "u_first_contact", "cat_110")}
    x = np.concatenate([draws[0]["xy"][0], draws[1]["xy"][0]])
    y = np.concatenate([draws[0]["xy"][1], draws[1]["xy"][1]])
    t_first = np.concatenate([t, t_from_110])              # the citizen's first call
    t_arrive = np.concatenate([t, t_handed])               # reaches the 12345 queue
    g = np.concatenate([g, g_from_110])
    via_110 = np.concatenate([np.zeros(len(t), bool), np.ones(len(t_handed), bool)])
    fcr_share = np.array([scenario.categories[c].first_contact_share for c in names])
    to_110 = ~via_110 & (d["u_to_110"] < hl.to_110_share)     # a call 110 handed over is not sent back
    resolved = ~to_110 & (d["u_first_contact"] < fcr_share[d["cat"]])
    order = np.argsort(t_arrive, kind="stable")
    t_first, t_arrive, g, via_110, x, y = (a[order] for a in (t_first, t_arrive, g, via_110, x, y))
    cat, talk, cat_110 = d["cat"][order], d["talk"][order], d["cat_110"][order]
    to_110, resolved = to_110[order], resolved[order]
    n = len(t_arrive)
    t_answer = answer_calls(t_arrive + hl.greeting_s / 60.0, talk, hl.seats_hourly)   # waits count from the call
    t_filed = t_answer + talk
    wait_s = (t_answer - t_arrive) * 60.0
    one = np.ones(n)
    hotline = HotlineCalls(
        calls=_hourly_sums(t_arrive, one, hours).astype(np.int64),
        wait_s_sum=_hourly_sums(t_arrive, wait_s, hours),
        within_30s=_hourly_sums(t_arrive, (wait_s <= ANSWER_LIMIT_S).astype(float), hours).astype(np.int64),
        first_contact=_hourly_sums(t_arrive, resolved.astype(float), hours).astype(np.int64),
        to_110=_hourly_sums(t_arrive, to_110.astype(float), hours).astype(np.int64),
        from_110=_hourly_sums(t_arrive, via_110.astype(float), hours).astype(np.int64),
        wait_s_max=_hourly_max(t_arrive, wait_s, hours),
    )
    # police matters become 110 incidents once the call-taker hands them over
    # (110's clock starts when 110 receives the call: the hand-over; the citizen called earlier)
    parts.append((t_filed[to_110], t_filed[to_110], g[to_110], SOURCE_CODE["110"], cat_110[to_110], None, FROM_12345,
                  (x[to_110], y[to_110]), t_filed[to_110] - t_first[to_110]))
    # the rest not resolved on the line become work orders, filed when the talk ends
    wo = ~to_110 & ~resolved
    parts.append((t_arrive[wo], t_filed[wo], g[wo], SOURCE_CODE["12345"], cat[wo], t_answer[wo],
                  np.where(via_110[wo], FROM_110, NO_TRANSFER), (x[wo], y[wo]), t_arrive[wo] - t_first[wo]))

    # latent hazards: the event enters at its onset; patrols find it (or not) during the run
    rng = streams["demand_grid"]
    t, g = _hazard_arrivals(rng, scenario, city, hours)
    cat = _categories(_child(rng, CATEGORY), scenario, "grid", len(t), names)
    g = _skew_placement(rng, scenario, city, g, cat, names)
    parts.append((t, t, g, SOURCE_CODE["grid"], cat, None, NO_TRANSFER, _place(_child(rng, PLACE), scenario, city, g),
                  None))

    t_call = np.concatenate([p[0] for p in parts])
    keep = t_call < horizon_min
    order = np.argsort(t_call[keep], kind="stable")

    def col(values, dtype):
        return np.asarray(values, dtype=dtype)[keep][order]

    def per_part(i, dtype, blank):
        return col(np.concatenate([np.broadcast_to(p[i] if p[i] is not None else blank, len(p[0])).astype(dtype)
                                   for p in parts]), dtype)

    x = col(np.concatenate([p[7][0] for p in parts]), float)
    y = col(np.concatenate([p[7][1] for p in parts]), float)
    return Demand(t_call=col(t_call, float), t_enter=per_part(1, float, np.nan), source=per_part(3, np.int8, 0),
                  category=per_part(4, np.int16, 0), grid=per_part(2, np.int32, 0), x=x, y=y, t_answer=per_part(5, float, np.nan),
                  transfer=per_part(6, np.int8, NO_TRANSFER), handover_min=per_part(8, np.float32, 0.0),
                  category_names=names, hotline=hotline)


def _hourly_max(t: np.ndarray, values: np.ndarray, hours: int) -> np.ndarray:
    out = np.zeros(hours)
    np.maximum.at(out, np.minimum((t // 60).astype(np.int64), hours - 1), values)
    return out


def _place(rng: np.random.Generator, scenario: Scenario, city: City, g: np.ndarray):
    """Event locations: uniform over a disc of the grid's area, or the grid centroid."""
    x, y = city.grid_x[g].copy(), city.grid_y[g].copy()
    if scenario.dispatch.event_spread == "grid":
        u = rng.random((len(g), 2))        # one pair per event: the first events' places never shift
        r = np.sqrt(city.grid_area[g] / np.pi) * np.sqrt(u[:, 0])
        th = u[:, 1] * 2 * np.pi
        x += r * np.cos(th)
        y += r * np.sin(th)
    return x, y
