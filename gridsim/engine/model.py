"""The Mesa model of one city over simulated minutes: demand in, responders out, event loop.

Wiring only: the city comes from `city`, arrivals from `demand`, responder choice from
`dispatch`, timed events from `events`, records from `records`. The loop merges two sorted
sources: the pre-generated arrivals (sorted by the time they are ready for dispatch) and the
heap of future events (responders freeing, verifications, shift changes, hourly samples).

Randomness: one `SeedSequence(seed, spawn_key=(replication, k))` per concern k, so replication
r of every scenario variant sees the same calls (common random numbers) whatever else changes.
"""

from __future__ import annotations

import heapq
import math
from array import array

import mesa
import numpy as np
import pandas as pd

from gridsim.city import BUILT, City, build_city
from gridsim.engine.demand import Demand, generate_demand
from gridsim.engine.dispatch import (CORDON, CORESP, FREE, P110, ROUTINE, SAMPLE, SHIFT_OFF, SHIFT_ON, SUPPORT,
                              URGENT, VERIFY, VERIFY_READY, WARMUP_END, WORK, Dispatcher)
from gridsim.engine.distributions import sample
from gridsim.engine.scheduler import EventQueue
from gridsim.engine.records import EventRecords, to_frame
from gridsim.engine.responders import ROLE_CODE, ROLE_NAME, Responder, responder_table
from gridsim.scenario import SOURCES, Scenario
from gridsim.engine.shifts import on_duty_minutes, shift_intervals

STREAMS = ("demand_110", "demand_12345", "demand_grid", "service_110", "service_12345", "service_grid",
           "posts")


def run_streams(seed: int, replication: int) -> dict[str, np.random.Generator]:
    """One independent generator per concern, derived from (seed, replication) alone."""
    return {name: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication, k)))
            for k, name in enumerate(STREAMS)}


# model-level reporters for the DataCollector (plain functions, testable on their own)
def police_queue(model: "CityModel") -> int:
    return model.dispatcher.q_police


def grid_queue(model: "CityModel") -> int:
    return model.dispatcher.q_grid


def busy_police(model: "CityModel") -> int:
    return model.dispatcher.busy_by_role[ROLE_CODE["police"]]


def busy_grid_workers(model: "CityModel") -> int:
    b = model.dispatcher.busy_by_role
    return b[1] + b[2] + b[3]


class CityModel(mesa.Model):
    """One replication of one scenario."""

    def __init__(self, spec: Scenario, city: City | None = None, replication: int = 0,
                 seed: int | None = None, progress: bool = False):
        self.seed_value = int(spec["run"]["seed"] if seed is None else seed)
        self.replication = replication
        super().__init__(rng=np.random.SeedSequence(self.seed_value, spawn_key=(replication, 99)))
        self.spec = spec
        self.city = city if city is not None else build_city(spec)
        self.horizon_min = spec["run"]["days"] * 1440.0
        self.warmup_min = spec["run"]["warmup_hours"] * 60.0
        self.progress = progress
        streams = run_streams(self.seed_value, replication)
        self.demand: Demand = generate_demand(spec, self.city, streams, self.horizon_min)
        self.static, ev = _event_inputs(spec, self.city, self.demand, streams)
        self.demand.x = self.demand.y = None      # now held compactly by the event loop's inputs
        self.records = EventRecords(len(self.demand))
        self.queue = EventQueue()

        roles, homes = responder_table(self.city)
        self.responders = [Responder(self, int(r), i, int(h)) for i, (r, h) in enumerate(zip(roles, homes))]
        post_xy = _police_posts(self.city, roles, homes, streams["posts"])
        self.dispatcher = Dispatcher(spec, self.city, roles, homes, ev, self.records, self.queue,
                                     self.warmup_min, self.horizon_min, post_xy)
        self.role_counts = np.bincount(roles, minlength=4)
        self.shifts = {r: shift_intervals(spec, ROLE_NAME[r], self.horizon_min) for r in range(4)}
        self.datacollector = mesa.DataCollector(model_reporters={
            "police_queue": police_queue, "grid_queue": grid_queue,
            "busy_police": busy_police, "busy_grid_workers": busy_grid_workers})
        self.warm_snapshot: dict | None = None
        self.events_processed = 0

    # ------------------------------------------------------------------ loop
    def run_events(self) -> None:
        """Simulate until the horizon."""
        q, disp, H = self.queue, self.dispatcher, self.horizon_min
        for r, ivs in self.shifts.items():
            for a, b in ivs:
                q.push(a, SHIFT_ON, r)
                if b < H:
                    q.push(b, SHIFT_OFF, r)
        for h in range(0, int(H // 60) + 1):
            q.push(h * 60.0, SAMPLE)
        q.push(self.warmup_min, WARMUP_END)

        d = self.demand
        t_ready = self.static["t_ready"]
        order = np.argsort(t_ready, kind="stable")
        order = _as_array(order[t_ready[order] <= H], "i")
        tr = _as_array(t_ready, "d")
        src = _as_array(d.source, "b")
        heap = q.heap
        pop = heapq.heappop
        n_stream = len(order)
        i = 0
        processed = 0
        bar = _progress_bar(self.progress, self.spec["run"]["days"])
        start_ev = self._start_110, self._start_work, self._start_work
        free, start_verify = disp.free, self._start_verify
        ts = tr[order[0]] if n_stream else math.inf      # next arrival ready for dispatch
        while True:
            if heap and heap[0][0] <= ts:
                t, _, kind, a, b = pop(heap)
                if t > H:
                    break
                if kind == FREE:
                    free(a, t, b)
                elif kind == VERIFY_READY:
                    start_verify(a, t)
                elif kind == SAMPLE:
                    self.datacollector.collect(self)
                    if bar is not None and t > 0:
                        bar.update(1 / 24)
                elif kind == SHIFT_ON:
                    disp.shift_on(a, t)
                elif kind == SHIFT_OFF:
                    disp.shift_off(a)
                elif kind == WARMUP_END:
                    disp.advance(t)
                    self.warm_snapshot = self._integrals()
            else:
                if ts > H:
                    break
                e = order[i]
                i += 1
                start_ev[src[e]](e, ts)
                ts = tr[order[i]] if i < n_stream else math.inf
            processed += 1
        disp.advance(H)
        self.events_processed = processed
        disp.ev = None                              # per-event loop inputs are no longer needed
        if bar is not None:
            bar.close()

    def _start_110(self, e: int, t: float) -> None:
        disp = self.dispatcher
        ev = disp.ev
        g = ev["grid"][e]
        s = ev["grid_sc"][g]
        x, y = ev["x"][e], ev["y"][e]
        cat = ev["cat"][e]
        disp.police_request((P110, e, x, y, ev["service"][e], ev["cat_prio"][cat], t, s), t, (s,), disp.sc_nb[s])
        n_sup = ev["sup_left"][e]
        n_cor = ev["cor_left"][e]
        if n_sup or n_cor:
            support_min, hold = ev["extra"][e]
            for _ in range(n_sup):
                disp.police_request((SUPPORT, e, x, y, support_min, URGENT, t, s), t, disp.sc_all[s], ())
            if n_cor:
                cps = disp.div_cps[ev["grid_div"][g]]
                cps = sorted(cps, key=lambda c: (disp.cp_x[c] - x) ** 2 + (disp.cp_y[c] - y) ** 2)[:n_cor]
                ev["cor_left"][e] = len(cps)
                for c in cps:
                    cand = disp.cp_sc[c]
                    disp.police_request((CORDON, e, disp.cp_x[c], disp.cp_y[c], hold, URGENT, t, cand[0]), t, cand, ())
        if ev["cat_coresp"][cat]:
            disp.coresponse((CORESP, e, x, y, ev["service"][e], URGENT, t, g), t)

    def _start_work(self, e: int, t: float) -> None:
        disp = self.dispatcher
        ev = disp.ev
        task = (WORK, e, ev["x"][e], ev["y"][e], ev["service"][e], ev["cat_prio"][ev["cat"][e]], t, ev["grid"][e])
        disp.grid_request(task, t, disp.grid_roles, True, False)

    def _start_verify(self, e: int, t: float) -> None:
        disp = self.dispatcher
        ev = disp.ev
        task = (VERIFY, e, ev["x"][e], ev["y"][e], ev["verify_dur"][e], ev["cat_prio"][ev["cat"][e]], t, ev["grid"][e])
        disp.grid_request(task, t, disp.verify_roles, False, True)

    # ------------------------------------------------------------------ results
    def _integrals(self) -> dict:
        d = self.dispatcher
        return {"q_police": d.area_q_police, "q_grid": d.area_q_grid, "p110": d.area_p110}

    def events_frame(self) -> pd.DataFrame:
        cols = event_columns(self.spec, self.city, self.static, self.demand.category_names)
        return to_frame(cols, self.records, self.horizon_min)

    def run_stats(self) -> dict:
        """Model-side measurements that the records cannot give: queues and utilisation."""
        d = self.dispatcher
        end = self._integrals()
        snap = self.warm_snapshot or {k: 0.0 for k in end}
        span = self.horizon_min - self.warmup_min
        util = {}
        for r in range(4):
            avail = self.role_counts[r] * on_duty_minutes(self.shifts[r], self.warmup_min, self.horizon_min)
            util[ROLE_NAME[r]] = {
                "responders": int(self.role_counts[r]),
                "on_duty_hours": round(avail / 60.0, 1),
                "busy_hours": round(d.busy_min[r] / 60.0, 1),
                "utilisation": (d.busy_min[r] / avail) if avail > 0 else None,
                "mean_busy": d.busy_min[r] / span,
            }
        return {
            "utilisation": util,
            "queues": {
                "police_mean": (end["q_police"] - snap["q_police"]) / span,
                "police_max": d.max_q_police,
                "grid_mean": (end["q_grid"] - snap["q_grid"]) / span,
                "grid_max": d.max_q_grid,
                "police_tasks_in_system_mean": (end["q_police"] - snap["q_police"] + d.busy_min[0]) / span,
                # 110 incidents between ready-for-dispatch and their first unit freeing (Little's law check)
                "incidents_110_in_system_mean": (end["p110"] - snap["p110"]) / span,
            },
            "hotline_calls": int(self.demand.hotline_calls),
            "hotline_first_contact": int(self.demand.first_contact_per_hour[int(self.warmup_min // 60):].sum()),
            "events_processed": int(self.events_processed),
            "hourly": self.datacollector.get_model_vars_dataframe().to_dict(orient="list"),
        }

    def release(self) -> None:
        """Let the model be garbage-collected (Mesa <= 3.4.1 keeps a reference in Agent._ids)."""
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)
        self.responders = []
        self.remove_all_agents()


def _progress_bar(enabled: bool, days: float):
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=days, unit="day", desc="simulating", delay=2.0, leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total} days [{elapsed}<{remaining}]")


def _police_posts(city: City, roles, homes, rng: np.random.Generator) -> np.ndarray:
    """Each patrol unit's post: a grid of its sub-center drawn by population (responder order)."""
    n = len(roles)
    xy = np.zeros((n, 2))
    police = np.flatnonzero(roles == ROLE_CODE["police"])
    for s in range(city.n_subcenters):
        units = police[homes[police] == s]
        if len(units) == 0:
            continue
        grids = np.flatnonzero(city.grid_sc == s)
        w = city.grid_population[grids]
        pick = grids[np.searchsorted(np.cumsum(w), rng.random(len(units)) * w.sum(), side="right")]
        xy[units, 0], xy[units, 1] = city.grid_x[pick], city.grid_y[pick]
    return xy


def _as_array(values, code: str) -> array:
    out = array(code)
    dtype = {"d": np.float64, "f": np.float32, "l": np.int64, "i": np.int32, "h": np.int16, "b": np.int8}[code]
    out.frombytes(np.ascontiguousarray(values, dtype=dtype).tobytes())
    return out


def _event_inputs(spec: Scenario, city: City, d: Demand, streams) -> tuple[dict, dict]:
    """Per-event attributes drawn up front, per source stream: delays, service times, needs.

    Returns (static, ev): `static` holds compact numpy columns (the records table derives the
    rest from the city at the end); `ev` holds what the event loop reads by event id, as
    `array.array` (8 or 4 bytes a value) and per-category / per-grid lookup lists.
    """
    n = len(d)
    cats = spec["categories"]
    names = d.category_names
    sup_p = np.array([cats[c]["support_prob"] for c in names])
    sup_n = np.array([cats[c]["support_units"] for c in names])
    cor_p = np.array([cats[c]["cordon_prob"] for c in names])
    cor_n = np.array([cats[c]["cordon_points"] for c in names])
    lc, pol = spec["lifecycle"], spec["police"]

    t_ready = d.t_call.copy()
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
            service[sel] = sample(rng, spec["service"][names[c]], len(sel))
        cat = d.category[idx]
        if source == "110":
            t_ready[idx] += sample(rng, pol["triage"], m)
            turnout[idx] = sample(rng, pol["turnout"], m)
            needs_sup[idx] = np.where(rng.random(m) < sup_p[cat], sup_n[cat], 0)
            needs_cor[idx] = np.where(rng.random(m) < cor_p[cat], cor_n[cat], 0)
            sup_s = sample(rng, pol["support_onscene"], m)
            hold = sample(rng, pol["cordon_hold"], m)
            for j in np.flatnonzero((needs_sup[idx] > 0) | (needs_cor[idx] > 0)).tolist():
                extra[int(idx[j])] = (float(sup_s[j]), float(hold[j]))
            continue
        # work orders: registration, routing hops (unbuilt levels push the order up), lifecycle steps
        reg = sample(rng, lc["register"] if source == "12345" else lc["register_patrol"], m)
        hop_sc = sample(rng, lc["hop_subcenter"], m) if source == "12345" else np.zeros(m)
        hop_ws = sample(rng, lc["hop_workstation"], m) if source == "12345" else np.zeros(m)
        hop_grid = sample(rng, lc["hop_grid"], m)
        x_sc = sample(rng, lc["unbuilt_subcenter_extra"], m)
        x_ws = sample(rng, lc["unbuilt_workstation_extra"], m)
        wsb, scb = ws_built[d.grid[idx]], sc_built[d.grid[idx]]
        if source == "12345":
            delay = reg + hop_sc + np.where(scb, 0.0, x_sc) + np.where(wsb, hop_ws, x_ws) + hop_grid
        else:   # a patrol report starts at the workstation; without one it goes to the sub-center
            delay = reg + np.where(wsb, 0.0, x_ws + np.where(scb, 0.0, x_sc)) + hop_grid
        t_ready[idx] += delay
        report_back[idx] = sample(rng, lc["report_back"], m)
        verify_dur[idx] = sample(rng, lc["verify_onsite"], m)
        close_delay[idx] = sample(rng, lc["close"], m)

    # travel origin of a work order's own-grid responder when its workstation is not built:
    # the sub-center office, or the division centre when that is not built either
    grid_origin: list = [None] * city.n_grids
    for g in np.flatnonzero(~ws_built).tolist():
        s_, dv = city.grid_sc[g], city.grid_div[g]
        grid_origin[g] = ((float(city.sc_x[s_]), float(city.sc_y[s_])) if sc_built[g]
                          else (float(city.div_x[dv]), float(city.div_y[dv])))
    static = {"t_call": d.t_call, "t_ready": t_ready, "grid": d.grid, "category": d.category,
              "source": d.source, "needs_support": needs_sup, "needs_cordon": needs_cor}
    ev = {
        "grid": _as_array(d.grid, "i"), "cat": _as_array(d.category, "h"),
        "x": _as_array(d.x, "d"), "y": _as_array(d.y, "d"),
        "service": _as_array(service, "f"), "turnout": _as_array(turnout, "f"),
        "report_back": _as_array(report_back, "f"), "verify_dur": _as_array(verify_dur, "f"),
        "close_delay": _as_array(close_delay, "f"),
        "sup_left": _as_array(needs_sup, "b"), "cor_left": _as_array(needs_cor, "b"),
        "extra": extra, "sup_max": {}, "cor_max": {},
        "cat_prio": [0 if cats[c]["priority"] == "urgent" else 1 for c in names],
        "cat_coresp": [bool(cats[c]["grid_coresponse"]) and cats[c]["source"] == "110" for c in names],
        "grid_sc": city.grid_sc.tolist(), "grid_div": city.grid_div.tolist(), "grid_origin": grid_origin,
    }
    return static, ev


def event_columns(spec: Scenario, city: City, static: dict, category_names: list[str]) -> dict:
    """The per-event columns of the records table that follow from the event's grid and category."""
    cats = spec["categories"]
    g, c, src = static["grid"], static["category"], static["source"]
    prio_of = np.array([0 if cats[k]["priority"] == "urgent" else 1 for k in category_names], dtype=np.int8)
    close_h = np.array([cats[k]["close_deadline_h"] for k in category_names])
    ws_built = city.ws_status[city.grid_ws] == BUILT
    sc_built = city.sc_status[city.grid_sc] == BUILT
    level_of_grid = np.where(ws_built, 1, np.where(sc_built, 2, 3)).astype(np.int8)
    is_wo = src != 0
    urgent = prio_of[c] == 0
    dl = spec["deadlines"]
    nan = np.nan
    deadline_v = np.where(is_wo, np.where(city.grid_urban[g], dl["verify_urban_min"], dl["verify_rural_min"]), nan)
    if not spec["dispatch"]["verify_work_orders"]:
        deadline_v[:] = nan
    return {
        "event_id": np.arange(len(g), dtype=np.int64),
        "source": pd.Categorical.from_codes(src, categories=list(SOURCES)),
        "category": pd.Categorical.from_codes(c, categories=category_names),
        "priority": pd.Categorical.from_codes(prio_of[c], categories=["urgent", "routine"]),
        "grid_id": g.astype(np.int32),
        "workstation_id": city.grid_ws[g].astype(np.int32),
        "subcenter_id": city.grid_sc[g].astype(np.int32),
        "division": pd.Categorical.from_codes(city.grid_div[g], categories=city.division_names),
        "urban": city.grid_urban[g],
        "handled_level": pd.Categorical.from_codes(np.where(is_wo, level_of_grid[g], 0),
                                                   categories=["police", "workstation", "subcenter", "division"]),
        "t_call": static["t_call"],
        "t_ready": static["t_ready"],
        "needs_support": static["needs_support"],
        "needs_cordon": static["needs_cordon"],
        "deadline_register_dispatch_min": np.where(is_wo, np.where(urgent, dl["register_dispatch_urgent_min"],
                                                                    dl["register_dispatch_routine_min"]), nan),
        "deadline_verify_min": deadline_v,
        "deadline_close_min": np.where(is_wo, close_h[c] * 60.0, nan),
    }
