"""The events table: one typed row per event, from the run's static columns and the loop's records.

Stage times after the horizon did not happen within the run: they become NaN and the event
is marked open. Column meanings are in COLUMNS (printed in the README).
"""

from __future__ import annotations

import math
from array import array

import numpy as np
import pandas as pd

from gridsim.city import City
from gridsim.domain import HANDLED_LEVELS, PRIORITIES, ROLES, SOURCE_CODE, SOURCES, URGENT, ROUTINE
from gridsim.engine.demand import TRANSFER_NAMES
from gridsim.engine.records import SPARSE_TIME_COLUMNS, TIME_COLUMNS, EventRecords
from gridsim.engine.workclock import WorkClock
from gridsim.scenario import Scenario

NAN = math.nan

# name -> meaning (kept next to the code that writes them, and printed in the README)
COLUMNS = {
    "event_id": "row number, in order of t_call",
    "source": "'110' police incident | '12345' hotline work order | 'grid' patrol report",
    "category": "event category (scenario [categories.*])",
    "priority": "'urgent' | 'routine'",
    "grid_id": "grid the event happened in",
    "workstation_id": "its workstation",
    "subcenter_id": "its sub-center",
    "division": "its county-level division",
    "urban": "the grid is urban (verification deadline 1 h, else 2 h)",
    "handled_level": "work orders: the office that handed it to its handler: 'workstation' | 'subcenter' | 'division' "
                     "(an unbuilt level's step is done by the level above); '' = not routed (fixed on the spot, or "
                     "still in an office's queue); 110: 'police'",
    "transfer": "'' | '110->12345' (a 110 call that was not a police matter) | '12345->110' (a police matter called in to 12345)",
    "handler": "work orders: 'grid' (a grid worker resolves a minor matter) or the responsible department",
    "t_onset": "hazards (source 'grid'): when the latent hazard arose",
    "t_first_call": "the citizen's first call: earlier than t_call when one centre handed the call to the other",
    "t_call": "entered the judging agency: the 110 call (or 12345's hand-over to 110), the call reaching 12345's queue "
              "(or 110's hand-over to 12345), or the patrol finding a hazard (NaN: not found yet)",
    "t_answer": "12345 orders: the call answered by a call-taker",
    "t_ready": "the loop takes it up: after 110 triage; a 12345 order filed at the end of the call; a hazard's onset",
    "t_dispatch": "110: a unit is assigned and sets out (target: respond within 3 min of t_call); work orders: handed "
                  "to the responsible unit: the grid worker who takes a minor matter, or the department's office",
    "t_arrive": "first responder on scene (target: 5 min in urban grids, 10 in rural ones, for 110 incidents)",
    "travel_min": "first responder's travel time, min (road km at the hour's speed)",
    "t_units": "110 sending several units (categories.*.police_units): the last of them on scene",
    "t_done": "handling finished (110: on scene; department matters: the case, including its wait on others)",
    "fixed_on_spot": "patrol-found minor matter fixed by the finder at once (no routing, no verification)",
    "t_support": "last regional-support unit on scene (target 15 min)",
    "t_cordon": "last cordon checkpoint reached (target 30 min)",
    "t_report": "work order: handling reported back to the platform",
    "t_verify": "work order: on-site verification by the grid's own worker finished",
    "t_close": "closed (110: on-scene handling finished)",
    "t_coarrive": "110 with grid linkage: co-responding grid worker on scene",
    "needs_support": "extra units needed for regional support (0 = none)",
    "needs_cordon": "checkpoints needed for a city-wide cordon (0 = none)",
    "responder_role": "role of the first responder: police | fulltime | leader | parttime ('' = none yet)",
    "responder_borrowed": "the first responder came from a neighbouring grid / sub-center",
    "preempted": "routine 110: times its unit was taken away for an urgent incident (the job was re-queued)",
    "coresponder_role": "role of the co-responding grid worker ('' = none available)",
    "scene_reported": "110 with linkage: minutes the grid worker was on scene before the first police unit (NaN: not first)",
    "police_released": "110 a grid worker mediated: police minutes saved (the first unit left this much earlier)",
    "due_register_dispatch": "work order: when the register-and-dispatch limit runs out (minutes from the run's start, "
                             "on deadlines.register_dispatch_clock)",
    "due_verify": "work order: when the verification limit runs out (from t_report, on deadlines.verify_clock)",
    "due_close": "work order: when the closing limit runs out (categories.*.close_deadline_days on close_clock)",
    "wd_to_close": "work order: working days from t_call to t_close, or to the end of the run while open",
    "open": "not closed by the end of the run (kept, never dropped)",
}

def _role_column(codes: array, present: np.ndarray) -> pd.Categorical:
    """Role codes -> categorical names; '' where the stage did not happen within the run."""
    arr = np.frombuffer(codes, dtype=np.int8).astype(np.int8) + 1
    arr[~present] = 0
    return pd.Categorical.from_codes(arr, categories=[""] + list(ROLES))


def _sparse(values: dict, n: int, dtype, blank) -> np.ndarray:
    out = np.full(n, blank, dtype=dtype)
    if values:
        out[np.fromiter(values.keys(), dtype=np.int64)] = np.fromiter(values.values(), dtype=dtype)
    return out


def to_frame(columns: dict, rec: EventRecords, horizon_min: float, clock: WorkClock, handled_level: array) -> pd.DataFrame:
    """The events table: the per-event columns (`event_columns`) plus the loop's stage times.

    Stage times after the horizon did not happen within the run: they become NaN and the event
    is marked open. The columns are assembled without copies (the record buffers are masked in
    place), which matters for year-long runs with millions of rows.
    """
    cols = dict(columns)
    t_ready = np.asarray(cols["t_ready"])
    t_ready[t_ready > horizon_min] = NAN
    t_answer = np.array(cols["t_answer"])          # a call still waiting for a seat at the horizon
    t_answer[t_answer > horizon_min] = NAN
    cols["t_answer"] = t_answer
    for col in TIME_COLUMNS:
        t = rec.time_array(col)
        t[t > horizon_min] = NAN
        cols[col] = t
    dispatched = ~np.isnan(cols["t_dispatch"])
    cols["responder_role"] = _role_column(rec.responder_role, dispatched)
    cols["responder_borrowed"] = np.frombuffer(rec.responder_borrowed, dtype=np.int8).astype(bool) & dispatched
    cols["coresponder_role"] = _role_column(rec.coresponder_role, ~np.isnan(cols["t_coarrive"]))
    n = len(cols["t_dispatch"])
    travel = np.frombuffer(rec.travel_min, dtype=np.float32)     # float32 is ample for minutes of travel
    travel[np.isnan(cols["t_arrive"])] = NAN                      # (masked in place: no copy of 9 M values)
    cols["travel_min"] = travel
    for col in SPARSE_TIME_COLUMNS:
        cols[col] = _sparse(getattr(rec, col), n, np.float64, NAN)
    if rec.t_units:              # the last of several units: the first one counts too
        cols["t_units"] = np.fmax(cols["t_units"], np.where(np.isnan(cols["t_units"]), NAN, cols["t_arrive"]))
    for col in SPARSE_TIME_COLUMNS:
        cols[col][cols[col] > horizon_min] = NAN
    cols["preempted"] = _sparse(rec.preempted, n, np.int8, 0)
    cols["fixed_on_spot"] = _sparse(rec.fixed_on_spot, n, np.int8, 0).astype(bool)
    cols["police_released"] = _sparse(rec.police_released, n, np.float32, NAN)
    with np.errstate(invalid="ignore"):      # the grid worker on scene before the first police unit
        first = cols["t_coarrive"] < cols["t_arrive"]
    cols["scene_reported"] = np.where(first, cols["t_arrive"] - cols["t_coarrive"], NAN).astype(np.float32)
    hazard = ~np.isnan(cols["t_onset"])
    cols["t_call"] = np.where(hazard, cols["t_found"], cols["t_call"])      # a hazard enters when found
    cols["t_first_call"] = np.where(hazard, cols["t_call"], cols["t_first_call"])
    cols["open"] = np.isnan(cols["t_close"])
    level = np.frombuffer(handled_level, dtype=np.int8).astype(np.int8) + 1     # -1 (not routed) -> ''
    level[np.asarray(cols["source"].codes) == SOURCE_CODE["110"]] = 1          # 110: the police
    cols["handled_level"] = pd.Categorical.from_codes(level, categories=[""] + list(HANDLED_LEVELS))
    _work_order_clocks(cols, clock, horizon_min)
    return pd.DataFrame({name: cols[name] for name in COLUMNS}, copy=False)


def _work_order_clocks(cols: dict, clock: WorkClock, horizon_min: float) -> None:
    """Absolute due times of the three work-order limits, each on its own clock (event_columns
    gives every row its limits as durations and the clock each runs on), and working days to close."""
    for stage, ref in (("register_dispatch", "t_call"), ("verify", "t_report"), ("close", "t_call")):
        limit, on_working = cols.pop(f"limit_{stage}"), cols.pop(f"working_{stage}")
        due = np.full(len(limit), NAN)
        for working in (False, True):
            sel = (on_working == working) & ~np.isnan(limit) & ~np.isnan(cols[ref])
            if sel.any():
                due[sel] = clock.due(cols[ref][sel], limit[sel], "working" if working else "calendar")
        cols[f"due_{stage}"] = due
    wo = np.asarray(cols["source"].codes) != SOURCE_CODE["110"]
    end = np.where(np.isnan(cols["t_close"]), horizon_min, cols["t_close"])
    called = wo & ~np.isnan(cols["t_call"])
    wd = np.full(len(end), NAN)
    wd[called] = clock.working_days(cols["t_call"][called], end[called])
    cols["wd_to_close"] = wd


def event_columns(spec: Scenario, city: City, static, category_names: list[str], clock: WorkClock) -> dict:
    """The per-event columns that follow from the event's grid and category (and the run's
    `EventStatic` columns), before the loop's stage times are added; work-order limits as
    durations with their clock (turned into due times once the loop's times are known)."""
    cats = spec.categories
    g, c, src = static.grid, static.category, static.source
    prio_of = np.array([URGENT if cats[k].priority == "urgent" else ROUTINE for k in category_names], dtype=np.int8)
    close_working = np.array([cats[k].close_clock == "working" for k in category_names])
    close_min = np.array([cats[k].close_deadline_days for k in category_names]) * np.where(
        close_working, clock.day_min, 1440.0)
    is_wo = src != SOURCE_CODE["110"]
    urgent = prio_of[c] == URGENT
    dl = spec.deadlines
    limit_v = np.where(is_wo, np.where(city.grid_urban[g], dl.verify_urban_min, dl.verify_rural_min), NAN)
    if not spec.dispatch.verify_work_orders:
        limit_v[:] = NAN
    hazard = src == SOURCE_CODE["grid"]
    dept_names = np.array([""] + ["grid"] + list(spec.departments), dtype=object)
    handler = np.where(is_wo, np.where(static.minor, 1, static.department + 2), 0)
    return {
        "event_id": np.arange(len(g), dtype=np.int64),
        "source": pd.Categorical.from_codes(src, categories=list(SOURCES)),
        "category": pd.Categorical.from_codes(c, categories=category_names),
        "priority": pd.Categorical.from_codes(prio_of[c], categories=list(PRIORITIES)),
        "grid_id": g.astype(np.int32),
        "workstation_id": city.grid_ws[g].astype(np.int32),
        "subcenter_id": city.grid_sc[g].astype(np.int32),
        "division": pd.Categorical.from_codes(city.grid_div[g], categories=city.division_names),
        "urban": city.grid_urban[g],
        "transfer": pd.Categorical.from_codes(static.transfer, categories=list(TRANSFER_NAMES)),
        "handler": pd.Categorical.from_codes(handler, categories=list(dept_names)),
        "t_onset": np.where(hazard, static.t_call, NAN),
        "t_first_call": static.t_call - static.handover_min,
        "t_call": static.t_call,
        "t_answer": static.t_answer,
        "t_ready": static.t_ready,
        "needs_support": static.needs_support,
        "needs_cordon": static.needs_cordon,
        "limit_register_dispatch": np.where(is_wo, np.where(urgent, dl.register_dispatch_urgent_min,
                                                            dl.register_dispatch_routine_min), NAN),
        "working_register_dispatch": np.full(len(g), dl.register_dispatch_clock == "working"),
        "limit_verify": limit_v,
        "working_verify": np.full(len(g), dl.verify_clock == "working"),
        "limit_close": np.where(is_wo, close_min[c], NAN),
        "working_close": close_working[c],
    }


def events_table(model, until: float | None = None) -> pd.DataFrame:
    """The events table of a `gridsim.engine.model.CityModel` run: at the end of a finished run,
    or as it stands at simulated minute `until`: only events called by then, and stage times
    scheduled later not yet reached (the records are copied, so the running model is not
    disturbed)."""
    cols = event_columns(model.spec, model.city, model.static, model.demand.category_names, model.work_clock)
    levels = model.routing.handled_level
    if until is None:
        return to_frame(cols, model.records, model.horizon_min, model.work_clock, levels)
    cols["t_ready"] = np.array(cols["t_ready"])
    until = min(until, model.horizon_min)
    df = to_frame(cols, model.records.copy(), until, model.work_clock, array(levels.typecode, levels))
    return df.iloc[:int(np.searchsorted(model.static.t_call, until, side="right"))]   # rows are in t_call order
