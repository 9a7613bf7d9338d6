"""The police fleet: patrol units, who answers a police task, and the queues when nobody can.

Each unit belongs to a sub-center territory. A task goes to the nearest idle unit (straight-
line distance) of the pools the requester names (its own territory first, then neighbours);
with none idle it waits in its home territory's queue, urgent before routine. A unit that
frees serves its own territory's queue first, then the oldest task of a territory it
neighbours. Idle units wait where they finished (`stay`) or at their post (`return_to_post`).
"""

from __future__ import annotations

import math
from collections import deque

import mesa
import numpy as np

from gridsim.city import City
from gridsim.domain import CORDON, P110, POLICE, ROUTINE, SUPPORT, URGENT
from gridsim.engine.agencies.base import ResponderAgency
from gridsim.engine.inputs import RunInputs
from gridsim.engine.records import EventRecords
from gridsim.engine.scheduler import Scheduler
from gridsim.engine.tasks import Task

INF = math.inf


def neighbour_subcenters(city: City) -> list[tuple[int, ...]]:
    """Per sub-center, the nearby sub-centers asked for an idle unit (nearest first)."""
    return [tuple(int(v) for v in row if v >= 0 and v != s) for s, row in enumerate(city.sc_neighbours)]


def police_posts(city: City, rng: np.random.Generator) -> np.ndarray:
    """Each unit's post: as the city gives them (staff.police_posts_file), else a grid of its
    sub-center territory drawn by population (unit order)."""
    if city.police_post_xy is not None:
        return city.police_post_xy.copy()
    homes = np.repeat(np.arange(city.n_subcenters), city.sc_police_units)
    xy = np.zeros((len(homes), 2))
    for s in range(city.n_subcenters):
        units = np.flatnonzero(homes == s)
        if len(units) == 0:
            continue
        grids = np.flatnonzero(city.grid_sc == s)
        w = city.grid_population[grids]
        pick = grids[np.searchsorted(np.cumsum(w), rng.random(len(units)) * w.sum(), side="right")]
        xy[units, 0], xy[units, 1] = city.grid_x[pick], city.grid_y[pick]
    return xy


class PoliceFleet(ResponderAgency):
    """All patrol units of the city, their idle pools and their queues per sub-center territory."""

    name = "police_fleet"

    def __init__(self, model: mesa.Model, scheduler: Scheduler, city: City, inputs: RunInputs,
                 records: EventRecords, post_xy: np.ndarray, min_per_km: float, return_to_post: bool,
                 warmup_min: float, horizon_min: float):
        homes = np.repeat(np.arange(city.n_subcenters), city.sc_police_units)
        super().__init__(model, scheduler, [POLICE] * len(homes), homes.tolist(),
                         post_xy[:, 0].tolist(), post_xy[:, 1].tolist(), warmup_min, horizon_min)
        self.inputs, self.rec = inputs, records
        self.post_x, self.post_y = post_xy[:, 0].tolist(), post_xy[:, 1].tolist()
        self.min_per_km = min_per_km
        self.return_to_post = return_to_post
        S = city.n_subcenters
        self.idle: list[list[int]] = [[] for _ in range(S)]
        for u in range(len(homes)):
            self.idle[self.home[u]].append(u)
        for lst in self.idle:
            lst.reverse()
        self.queues = [(deque(), deque()) for _ in range(S)]     # per territory: (urgent, routine)
        rev: list[list[int]] = [[] for _ in range(S)]
        for s, row in enumerate(neighbour_subcenters(city)):
            for v in row:
                rev[v].append(s)
        self.lend_to = [tuple(r) for r in rev]       # territories whose queues a unit of s may serve
        self.latest: dict[int, dict[int, float]] = {SUPPORT: {}, CORDON: {}}   # multi-unit stages in progress
        # statistics; time integrals run from t = 0 (the model subtracts the warm-up snapshot)
        self.queued = self.max_queued = 0
        self.area_queued = self.t_queued = 0.0
        self.first_units = 0             # 110 incidents from ready for dispatch until their first unit frees
        self.area_first_units = self.t_first_units = 0.0

    # ------------------------------------------------------------------ requests
    def nearest_idle_unit(self, pools, x: float, y: float) -> int:
        """The idle unit closest to (x, y) among the pools (sub-centers); -1 if none."""
        best, bestd = -1, INF
        px, py = self.x, self.y
        for s in pools:
            for u in self.idle[s]:
                dx, dy = px[u] - x, py[u] - y
                dd = dx * dx + dy * dy
                if dd < bestd:
                    best, bestd = u, dd
        return best

    def request(self, task: Task, t: float, first, then) -> None:
        """Nearest idle unit of the `first` pools, else of `then`, else queue at the task's home."""
        if task.kind == P110:
            self.area_first_units += self.first_units * (t - self.t_first_units)
            self.t_first_units = t
            self.first_units += 1
        if self.on[POLICE]:
            u = self.nearest_idle_unit(first, task.x, task.y)
            if u < 0 and then:
                u = self.nearest_idle_unit(then, task.x, task.y)
            if u >= 0:
                self._start(u, task, t)
                return
        self.queues[task.home][task.priority].append(task)
        self.area_queued += self.queued * (t - self.t_queued)
        self.t_queued = t
        self.queued += 1
        if self.queued > self.max_queued and t >= self.warm:
            self.max_queued = self.queued

    def _start(self, u: int, task: Task, t: float, idle: bool = True) -> None:
        kind, e, x, y, svc, _prio, _tr, home = task
        if idle:
            self.idle[self.home[u]].remove(u)
        inp, rec = self.inputs, self.rec
        mpk = self.min_per_km
        t_set = t + inp.turnout[e]
        t_arr = t_set + math.hypot(x - self.x[u], y - self.y[u]) * mpk
        t_end = t_arr + svc
        if self.return_to_post:
            t_free = t_end + math.hypot(x - self.post_x[u], y - self.post_y[u]) * mpk
            self.x[u], self.y[u] = self.post_x[u], self.post_y[u]
        else:
            t_free = t_end
            self.x[u], self.y[u] = x, y
        self._occupy(u, POLICE, t, t_free, kind)
        if kind == P110:
            rec.t_dispatch[e] = t_set
            rec.t_arrive[e] = t_arr
            rec.t_done[e] = t_end
            rec.t_close[e] = t_end
            rec.responder_role[e] = POLICE
            rec.responder_borrowed[e] = self.home[u] != home
        elif kind == SUPPORT:
            self._last_arrival(e, t_arr, inp.sup_left, self.latest[SUPPORT], rec.t_support)
        else:  # CORDON
            self._last_arrival(e, t_arr, inp.cor_left, self.latest[CORDON], rec.t_cordon)

    @staticmethod
    def _last_arrival(e: int, t_arr: float, left, latest: dict, column) -> None:
        """One of several units needed (support, cordon) is on its way: the stage completes
        when the last of them arrives."""
        left[e] -= 1
        if t_arr > latest.get(e, -INF):
            latest[e] = t_arr
        if left[e] == 0:
            column[e] = latest.pop(e)

    # ------------------------------------------------------------------ queues
    def _next_task(self, s: int, t: float) -> Task | None:
        own = self.queues[s]
        for prio in (URGENT, ROUTINE):
            if own[prio]:
                self._dequeued(t)
                return own[prio].popleft()
            best = None
            for v in self.lend_to[s]:
                dq = self.queues[v][prio]
                if dq and (best is None or dq[0].t_ready < best[0].t_ready):
                    best = dq
            if best is not None:
                self._dequeued(t)
                return best.popleft()
        return None

    def _dequeued(self, t: float) -> None:
        self.area_queued += self.queued * (t - self.t_queued)
        self.t_queued = t
        self.queued -= 1

    # ------------------------------------------------------------------ handlers
    def free(self, u: int, t: float, kind: int) -> None:
        """Unit u finished a task of `kind`: serve its own queue, then its neighbours', else go idle."""
        if kind == P110:
            self.area_first_units += self.first_units * (t - self.t_first_units)
            self.t_first_units = t
            self.first_units -= 1
        self.busy[u] = False                     # ResponderAgency._released, inlined on the hot path
        self.busy_by_role[POLICE] -= 1
        s = self.home[u]
        if self.queued and self.on[POLICE]:       # anything queued at all? (usually not)
            nxt = self._next_task(s, t)
            if nxt is not None:
                self._start(u, nxt, t, idle=False)
                return
        self.idle[s].append(u)

    def shift_on(self, r: int, t: float, _b=None) -> None:
        """Units come on duty: idle units take the tasks queued in their territory."""
        self.on[r] = True
        for s in range(len(self.queues)):
            while self.idle[s] and (self.queues[s][0] or self.queues[s][1]):
                task = self._next_task(s, t)
                self._start(self.nearest_idle_unit((s,), task.x, task.y), task, t)

    def advance(self, t: float) -> None:
        """Bring the time integrals up to t (warm-up snapshot, end of run)."""
        self.area_queued += self.queued * (t - self.t_queued)
        self.area_first_units += self.first_units * (t - self.t_first_units)
        self.t_queued = self.t_first_units = t
