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
from gridsim.domain import BUILT, HANDLED_LEVELS, PRIORITIES, ROLES, SOURCES, URGENT, ROUTINE
from gridsim.engine.records import SPARSE_TIME_COLUMNS, TIME_COLUMNS, EventRecords
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
    "handled_level": "work orders: 'workstation' | 'subcenter' | 'division' (unbuilt levels push it up); 110: 'police'",
    "t_call": "entered the system: the call, or the patrol report",
    "t_ready": "ready for dispatch: after 110 triage, or after work-order registration and routing hops",
    "t_dispatch": "a responder is assigned and sets out (target: respond within 3 min of t_call)",
    "t_arrive": "first responder on scene (target: 5 min in urban grids, 10 in rural ones, for 110 incidents)",
    "travel_min": "first responder's travel time, min (road km at the hour's speed)",
    "t_units": "110 sending several units (categories.*.police_units): the last of them on scene",
    "t_done": "on-scene handling finished",
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
    "deadline_register_dispatch_min": "work order: limit for t_dispatch - t_call",
    "deadline_verify_min": "work order: limit for t_verify - t_report",
    "deadline_close_min": "work order: limit for t_close - t_call",
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


def to_frame(columns: dict, rec: EventRecords, horizon_min: float) -> pd.DataFrame:
    """The events table: the per-event columns (`event_columns`) plus the loop's stage times.

    Stage times after the horizon did not happen within the run: they become NaN and the event
    is marked open. The columns are assembled without copies (the record buffers are masked in
    place), which matters for year-long runs with millions of rows.
    """
    cols = dict(columns)
    t_ready = np.asarray(cols["t_ready"])
    t_ready[t_ready > horizon_min] = NAN
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
    cols["open"] = np.isnan(cols["t_close"])
    return pd.DataFrame({name: cols[name] for name in COLUMNS}, copy=False)


def event_columns(spec: Scenario, city: City, static, category_names: list[str]) -> dict:
    """The per-event columns that follow from the event's grid and category (and the run's
    `EventStatic` columns), before the loop's stage times are added."""
    cats = spec.categories
    g, c, src = static.grid, static.category, static.source
    prio_of = np.array([URGENT if cats[k].priority == "urgent" else ROUTINE for k in category_names], dtype=np.int8)
    close_h = np.array([cats[k].close_deadline_h for k in category_names])
    ws_built = city.ws_status[city.grid_ws] == BUILT
    sc_built = city.sc_status[city.grid_sc] == BUILT
    level_of_grid = np.where(ws_built, 1, np.where(sc_built, 2, 3)).astype(np.int8)
    is_wo = src != 0
    urgent = prio_of[c] == URGENT
    dl = spec.deadlines
    deadline_v = np.where(is_wo, np.where(city.grid_urban[g], dl.verify_urban_min, dl.verify_rural_min), NAN)
    if not spec.dispatch.verify_work_orders:
        deadline_v[:] = NAN
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
        "handled_level": pd.Categorical.from_codes(np.where(is_wo, level_of_grid[g], 0),
                                                   categories=list(HANDLED_LEVELS)),
        "t_call": static.t_call,
        "t_ready": static.t_ready,
        "needs_support": static.needs_support,
        "needs_cordon": static.needs_cordon,
        "deadline_register_dispatch_min": np.where(is_wo, np.where(urgent, dl.register_dispatch_urgent_min,
                                                                    dl.register_dispatch_routine_min), NAN),
        "deadline_verify_min": deadline_v,
        "deadline_close_min": np.where(is_wo, close_h[c] * 60.0, NAN),
    }


def events_table(model, until: float | None = None) -> pd.DataFrame:
    """The events table of a `gridsim.engine.model.CityModel` run: at the end of a finished run,
    or as it stands at simulated minute `until`: only events called by then, and stage times
    scheduled later not yet reached (the records are copied, so the running model is not
    disturbed)."""
    cols = event_columns(model.spec, model.city, model.static, model.demand.category_names)
    if until is None:
        return to_frame(cols, model.records, model.horizon_min)
    cols["t_ready"] = np.array(cols["t_ready"])
    until = min(until, model.horizon_min)
    df = to_frame(cols, model.records.copy(), until)
    return df.iloc[:int(np.searchsorted(model.static.t_call, until, side="right"))]   # rows are in t_call order
