"""Per-run inputs drawn up front: every event's delays, service times and needs.

Drawing these per source stream before the loop starts keeps common random numbers intact
(changing staffing changes nothing drawn here) and keeps the hot path free of random calls.
`EventStatic` holds compact numpy columns for the events table; `RunInputs` holds what the
agencies read by event id during the loop, as `array.array` (fast item access, 4-8 bytes a
value) and per-category / per-grid lookup lists.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np

from gridsim.city import City
from gridsim.domain import BUILT, ROUTINE, SOURCE_CODE, SOURCES, URGENT
from gridsim.engine.agencies.departments import category_departments
from gridsim.engine.demand import Demand
from gridsim.engine.distributions import sample
from gridsim.scenario import Scenario


@dataclass(slots=True)
class EventStatic:
    """Per-event columns fixed before the loop (numpy, for the events table)."""

    t_call: np.ndarray            # the first call, or a hazard's onset (the table puts the finding time in t_call)
    t_ready: np.ndarray           # the loop takes it up: after 110 triage, when a 12345 order is filed, a hazard's onset
    t_answer: np.ndarray          # 12345 orders: call answered
    transfer: np.ndarray          # gridsim.engine.demand transfer codes
    handover_min: np.ndarray      # minutes from the citizen's first call to t_call (hand-overs between centres)
    minor: np.ndarray             # work orders: a grid worker resolves it on the spot (else its department)
    department: np.ndarray        # work orders: index into spec.departments of the responsible department (-1: none)
    grid: np.ndarray
    category: np.ndarray
    source: np.ndarray
    needs_support: np.ndarray     # extra units a 110 incident needs for regional support
    needs_cordon: np.ndarray      # checkpoints a 110 incident needs for a cordon


@dataclass(slots=True)
class RunInputs:
    """What the agencies read by event id during the loop."""

    grid: array                   # event -> grid
    cat: array                    # event -> category index
    x: array                      # event location, km (float32)
    y: array
    service: array                # on-scene time, min
    turnout: array                # 110: unit acknowledges and sets out, min
    report_back: array            # work order: handling reported back to the platform, min
    verify_dur: array             # work order: on-site verification time, min
    close_delay: array            # work order: platform closes after verification, min
    minor: array                  # work order: 1 = a grid worker resolves it on the spot, 0 = its department
    route_first: array            # work order: dispatcher minutes at its first office
    route_second: array           # ... and at its second (if it takes one)
    dept_work: array              # department matter: a handler's working minutes
    dept_lead: array              # ... then working minutes waiting on others
    file_delay: array             # patrol-found matter: the finder files it in the app, min
    sup_left: array               # 110: support units still to be sent (counts down)
    cor_left: array               # 110: cordon checkpoints still to be reached (counts down)
    extra: dict[int, tuple[float, float, float, float]]
    """110 needing support or a cordon: (support on-scene, checkpoint hold, assessment, cordon command delay,
    time of the call), min"""
    urban: array                  # event -> its grid is urban (1) or rural (0)
    cat_units: list[int]          # category -> police units sent to each incident (110)
    cat_prio: list[int]           # category -> URGENT / ROUTINE
    cat_coresp: list[bool]        # category -> a grid worker co-responds (110 only)
    cat_dept: list[int]           # category -> responsible department index (-1: none)
    grid_sc: list[int]            # grid -> sub-center
    grid_div: list[int]           # grid -> division
    grid_origin: list             # grid -> (x, y) its worker sets out from when its workstation is unbuilt, else None


def as_array(values, code: str) -> array:
    """A numpy vector as a compact `array.array` of the given type code."""
    out = array(code)
    dtype = {"d": np.float64, "f": np.float32, "l": np.int64, "i": np.int32, "h": np.int16, "b": np.int8}[code]
    out.frombytes(np.ascontiguousarray(values, dtype=dtype).tobytes())
    return out


def build_run_inputs(spec: Scenario, city: City, d: Demand, streams: dict[str, np.random.Generator]
                     ) -> tuple[EventStatic, RunInputs]:
    """Draw every event's delays, service time and needs from its source's service stream."""
    n = len(d)
    cats = spec.categories
    names = d.category_names
    sup_p = np.array([cats[c].support_prob for c in names])
    sup_n = np.array([cats[c].support_units for c in names])
    cor_p = np.array([cats[c].cordon_prob for c in names])
    pt = spec.patrol
    n_checkpoints = len(spec.exits) if pt.cordon_mode == "exits" else pt.ring_points
    lc, pol = spec.lifecycle, spec.police

    t_ready, d.t_enter = d.t_enter, None       # taken over (and added to) in place: memory, a year has 10 M events
    minor_p = np.array([cats[c].minor_share for c in names])
    cat_dept = np.array(category_departments(spec, names), dtype=np.int64)
    minor = np.zeros(n, dtype=bool)
    route_first, route_second = np.zeros(n, np.float32), np.zeros(n, np.float32)
    dept_work, dept_lead, file_delay = np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32)
    service, turnout = np.zeros(n, np.float32), np.zeros(n, np.float32)
    report_back, verify_dur, close_delay = np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32)
    needs_sup, needs_cor = np.zeros(n, dtype=np.int8), np.zeros(n, dtype=np.int8)
    extra: dict[int, tuple[float, float]] = {}
    ws_built = city.ws_status[city.grid_ws] == BUILT          # per grid
    sc_built = city.sc_status[city.grid_sc] == BUILT

    for code, source in enumerate(SOURCES):
        idx = np.flatnonzero(d.source == code)
        rng = streams[f"service_{source}"]
        m = len(idx)
        for c in np.unique(d.category[idx]):
            sel = idx[d.category[idx] == c]
            service[sel] = sample(rng, spec.service[names[c]], len(sel))
        cat = d.category[idx]
        if source == "110":
            t_ready[idx] += sample(rng, pol.triage, m)
            turnout[idx] = sample(rng, pol.turnout, m)
            needs_sup[idx] = np.where(rng.random(m) < sup_p[cat], sup_n[cat], 0)
            needs_cor[idx] = np.where(rng.random(m) < cor_p[cat], n_checkpoints, 0)
            sup_s = sample(rng, pol.support_onscene, m)
            hold = sample(rng, pol.cordon_hold, m)
            assess = sample(rng, pol.assessment, m)
            command = sample(rng, pol.cordon_command_delay, m)
            for j in np.flatnonzero((needs_sup[idx] > 0) | (needs_cor[idx] > 0)).tolist():
                e = int(idx[j])
                extra[e] = (float(sup_s[j]), float(hold[j]), float(assess[j]), float(command[j]), float(d.t_call[e]))
            continue
        # work orders: minor (a grid worker on the spot) or the department's; dispatcher and
        # department times are drawn here, the queues they wait in are the loop's
        minor[idx] = rng.random(m) < minor_p[cat]
        route_first[idx] = sample(rng, spec.routing.handling, m)
        route_second[idx] = sample(rng, spec.routing.handling, m)
        for k, dep in enumerate(spec.departments.values()):
            sel = idx[cat_dept[cat] == k]
            dept_work[sel] = sample(rng, dep.handling, len(sel))
            dept_lead[sel] = sample(rng, dep.lead, len(sel))
        if source == "grid":
            file_delay[idx] = sample(rng, lc.register_patrol, m)
        report_back[idx] = sample(rng, lc.report_back, m)
        verify_dur[idx] = sample(rng, lc.verify_onsite, m)
        close_delay[idx] = sample(rng, lc.close, m)

    # travel origin of a work order's own-grid responder when its workstation is not built:
    # the sub-center office, or the division centre when that is not built either
    grid_origin: list = [None] * city.n_grids
    for g in np.flatnonzero(~ws_built).tolist():
        s_, dv = city.grid_sc[g], city.grid_div[g]
        grid_origin[g] = ((float(city.sc_x[s_]), float(city.sc_y[s_])) if sc_built[g]
                          else (float(city.div_x[dv]), float(city.div_y[dv])))
    is_wo = d.source != SOURCE_CODE["110"]
    department = np.where(is_wo & ~minor, cat_dept[d.category], -1).astype(np.int8)
    static = EventStatic(t_call=d.t_call, t_ready=t_ready, t_answer=d.t_answer, transfer=d.transfer,
                         handover_min=d.handover_min, minor=minor & is_wo,
                         department=department, grid=d.grid, category=d.category, source=d.source,
                         needs_support=needs_sup, needs_cordon=needs_cor)
    inputs = RunInputs(
        grid=as_array(d.grid, "i"), cat=as_array(d.category, "h"),
        x=as_array(d.x, "f"), y=as_array(d.y, "f"),      # float32: 1 cm on a 150 km city, half the memory
        service=as_array(service, "f"), turnout=as_array(turnout, "f"),
        report_back=as_array(report_back, "f"), verify_dur=as_array(verify_dur, "f"),
        close_delay=as_array(close_delay, "f"), minor=as_array(minor, "b"),
        route_first=as_array(route_first, "f"), route_second=as_array(route_second, "f"),
        dept_work=as_array(dept_work, "f"), dept_lead=as_array(dept_lead, "f"), file_delay=as_array(file_delay, "f"),
        sup_left=as_array(needs_sup, "b"), cor_left=as_array(needs_cor, "b"), extra=extra,
        urban=as_array(city.grid_urban[d.grid], "b"),
        cat_units=[cats[c].police_units for c in names],
        cat_prio=[URGENT if cats[c].priority == "urgent" else ROUTINE for c in names],
        cat_coresp=[bool(cats[c].grid_coresponse) and cats[c].source == "110" for c in names],
        cat_dept=cat_dept.tolist(),
        grid_sc=city.grid_sc.tolist(), grid_div=city.grid_div.tolist(), grid_origin=grid_origin,
    )
    return static, inputs
