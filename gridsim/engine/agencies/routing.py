"""Dispatcher offices: the queues a work order passes through on its way to whoever handles it.

Every division linkage centre, BUILT sub-center and BUILT workstation is an office with a few
dispatchers on duty round the clock ([routing]). A 12345 order for grid g is routed by its
sub-center office, then (minor matters only) by its workstation office, then reaches the grid; a
department matter leaves after the sub-center step. A patrol-found order starts at the
workstation office, and a department matter then goes up to the sub-center office. An unbuilt
level's work is done by the level above with that level's staff: an unbuilt sub-center's step by
the division centre, an unbuilt workstation's step by the office doing the sub-center step
(so such an order takes two steps at the same office). Hop times emerge from these queues.

Each office is first come, first served with c dispatchers. The scheduler delivers arrivals to an
office in time order, so an order's departure is known when it arrives (a heap of the c
dispatchers' free times: start = max(arrival, earliest free), end = start + handling) and one
scheduler event is pushed at its end. Handling times are drawn before the run (per order and
step) and passed in: no random call in the loop.
"""

from __future__ import annotations

from array import array
from heapq import heappop, heappush, heapreplace
from typing import Callable, Mapping

import mesa
import numpy as np

from gridsim.city import City
from gridsim.domain import BUILT, HANDLED_LEVELS
from gridsim.engine.scheduler import Scheduler

WORKSTATION, SUBCENTER, DIVISION = (HANDLED_LEVELS.index(n) for n in ("workstation", "subcenter", "division"))
"""Office levels, as codes into gridsim.domain.HANDLED_LEVELS (the events table's handled_level)."""
OFFICE_LEVELS = ("division", "subcenter", "workstation")
"""The levels that have dispatcher offices, top down (keys of the `counts` mapping)."""
NOT_ROUTED = -1

Routed = Callable[[int, float, int], None]
"""on_routed(e, t, level): order e left its last office at t; level codes HANDLED_LEVELS."""


class RoutingNetwork(mesa.Agent):
    """All dispatcher offices of a city, their queues and what they measured."""

    name = "routing"

    def __init__(self, model: mesa.Model, scheduler: Scheduler, city: City, counts: Mapping[str, int],
                 warmup_min: float, horizon_min: float, on_routed: Routed, n_events: int):
        """`counts`: dispatchers per office by level ('division', 'subcenter', 'workstation'),
        e.g. from spec.routing; `n_events`: size of the run's event table (handled_level)."""
        super().__init__(model)
        for level in OFFICE_LEVELS:
            if counts[level] < 1:
                raise ValueError(f"{level} offices need at least one dispatcher, got {counts[level]}")
        D = len(city.division_names)
        sc_built = np.flatnonzero(city.sc_status == BUILT)
        ws_built = np.flatnonzero(city.ws_status == BUILT)
        # offices: divisions, then built sub-centers, then built workstations
        sc_office = np.full(city.n_subcenters, -1, dtype=np.int64)
        sc_office[sc_built] = D + np.arange(len(sc_built))
        unbuilt = sc_office < 0
        sc_office[unbuilt] = city.sc_div[unbuilt]
        ws_office = sc_office[city.ws_sc].copy()
        ws_office[ws_built] = D + len(sc_built) + np.arange(len(ws_built))
        self.office_level = [DIVISION] * D + [SUBCENTER] * len(sc_built) + [WORKSTATION] * len(ws_built)
        self.office_servers = ([counts["division"]] * D + [counts["subcenter"]] * len(sc_built)
                               + [counts["workstation"]] * len(ws_built))
        self.grid_sc_office = sc_office[city.grid_sc].tolist()      # office doing grid g's sub-center step
        self.grid_ws_office = ws_office[city.grid_ws].tolist()      # ... and its workstation step
        n = len(self.office_level)
        self.free = [[0.0] * c for c in self.office_servers]        # per office: dispatchers' free times (heap)
        self.pending: list[list[float]] = [[] for _ in range(n)]    # per office: start times of orders waiting
        self.busy_min = [0.0] * n                                   # inside the measured window
        self.orders = [0] * n                                       # arrivals inside the window
        self.wait_min = [0.0] * n                                   # their summed waits
        self.max_queue = [0] * n                                    # most orders waiting at once in the window
        self.handled_level = array("b", [NOT_ROUTED]) * n_events
        self.warm, self.horizon = warmup_min, horizon_min
        self.on_routed = on_routed
        self.push = scheduler.push
        self.kind_step = scheduler.register(f"{self.name}.step", self._next_step)
        self.kind_done = scheduler.register(f"{self.name}.done", self._routed)

    @property
    def n_offices(self) -> int:
        return len(self.office_level)

    def route(self, e: int, t: float, grid: int, minor: bool, from_workstation: bool,
              first_min: float, second_min: float) -> None:
        """Order e for `grid` enters its first office at t. Minor matters go down to the grid,
        department matters up to the sub-center step; `first_min` / `second_min` are the
        dispatcher minutes drawn for its first and (if any) second step."""
        if from_workstation:
            first, second = self.grid_ws_office[grid], (-1 if minor else self.grid_sc_office[grid])
        else:
            first, second = self.grid_sc_office[grid], (self.grid_ws_office[grid] if minor else -1)
        end = self._serve(first, t, first_min)
        if second < 0:
            self.push(end, self.kind_done, e, first)
        else:
            self.push(end, self.kind_step, e, (second, second_min))

    def _next_step(self, e: int, t: float, step: tuple[int, float]) -> None:
        office, handling = step
        self.push(self._serve(office, t, handling), self.kind_done, e, office)

    def _routed(self, e: int, t: float, office: int) -> None:
        level = self.office_level[office]
        self.handled_level[e] = level
        self.on_routed(e, t, level)

    def _serve(self, o: int, t: float, handling: float) -> float:
        """An order arrives at office o at t: the first free dispatcher takes it (FCFS); its end."""
        free = self.free[o]
        start = t if t >= free[0] else free[0]
        end = start + handling
        heapreplace(free, end)
        waiting = self.pending[o]
        while waiting and waiting[0] <= t:
            heappop(waiting)
        if start > t:
            heappush(waiting, start)
        if self.warm <= t <= self.horizon:
            self.orders[o] += 1
            self.wait_min[o] += start - t
            if len(waiting) > self.max_queue[o]:
                self.max_queue[o] = len(waiting)
        lo = start if start > self.warm else self.warm
        hi = end if end < self.horizon else self.horizon
        if hi > lo:
            self.busy_min[o] += hi - lo
        return end

    def waiting(self, t: float) -> int:
        """Orders waiting for a dispatcher at time t, all offices (the hourly sample)."""
        total = 0
        for waiting in self.pending:
            while waiting and waiting[0] <= t:
                heappop(waiting)
            total += len(waiting)
        return total

    def level_stats(self) -> dict[str, dict]:
        """Per office level, inside the measured window: offices, dispatchers, orders, mean wait
        (min), the longest queue at one office, and the dispatchers' busy share."""
        span = max(self.horizon - self.warm, 0.0)
        out = {}
        for name in OFFICE_LEVELS:
            code = HANDLED_LEVELS.index(name)
            sel = [o for o, lv in enumerate(self.office_level) if lv == code]
            orders = sum(self.orders[o] for o in sel)
            capacity = sum(self.office_servers[o] for o in sel) * span
            out[name] = {
                "offices": len(sel),
                "dispatchers": sum(self.office_servers[o] for o in sel),
                "orders": orders,
                "mean_wait_min": sum(self.wait_min[o] for o in sel) / orders if orders else None,
                "max_queue": max((self.max_queue[o] for o in sel), default=0),
                "busy_share": sum(self.busy_min[o] for o in sel) / capacity if capacity > 0 else None,
            }
        return out
