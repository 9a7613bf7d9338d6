"""The grid workforce: grid leaders, full-time and part-time workers, and the work they take.

Each worker belongs to a grid. A minor work order routed to the grid goes to the first idle
on-duty worker of its grid in the scenario's role order, else of a nearby grid of the same
workstation (borrowing), else waits in its grid's queue (urgent before routine). After
handling, the worker reports back to the platform (gridsim.engine.agencies.platform), which
sends the grid's own worker to verify on site before the order closes. A worker also
co-responds to a 110 call in its grid when one is free right now (linkage, no queue), and fixes
a minor hazard its grid's patrol found on the spot. Idle on-duty workers walk their grid's
patrol loop: every change in a grid's idle count is reported to GridPatrols, whose exposure
clock decides when latent hazards are found.
"""

from __future__ import annotations

import math
from collections import deque
from heapq import heappush

import mesa
import numpy as np

from gridsim.city import City
from gridsim.domain import FIX, FULLTIME, LEADER, PARTTIME, ROUTINE, URGENT, VERIFY, WORK
from gridsim.engine.agencies.base import ResponderAgency
from gridsim.engine.inputs import RunInputs
from gridsim.engine.records import EventRecords
from gridsim.engine.scheduler import Scheduler
from gridsim.engine.tasks import Task, new_task


def worker_table(city: City) -> tuple[np.ndarray, np.ndarray]:
    """(role, home grid) of every grid worker, grid by grid: full-time, leaders, part-time."""
    per_grid = np.column_stack([city.grid_fulltime, city.grid_leaders, city.grid_parttime])
    codes = np.array([FULLTIME, LEADER, PARTTIME])
    roles = np.repeat(np.tile(codes, city.n_grids), per_grid.ravel())
    homes = np.repeat(np.repeat(np.arange(city.n_grids), 3), per_grid.ravel())
    return roles.astype(np.int8), homes.astype(np.int32)


def borrow_lists(city: City, radius_km: float) -> list[tuple[int, ...]]:
    """Grids of the same workstation within the borrowing radius (road km), nearest first."""
    out: list[tuple[int, ...]] = [()] * city.n_grids
    if radius_km <= 0:
        return out
    order = np.argsort(city.grid_ws, kind="stable")
    bounds = np.flatnonzero(np.diff(city.grid_ws[order])) + 1
    for members in np.split(order, bounds):
        if len(members) < 2:
            continue
        xy = np.column_stack([city.grid_x[members], city.grid_y[members]])
        dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]) * city.detour_factor
        for i, g in enumerate(members):
            cand = np.argsort(dist[i], kind="stable")
            out[g] = tuple(int(members[j]) for j in cand if j != i and dist[i, j] <= radius_km)
    return out


class GridWorkforce(ResponderAgency):
    """Every grid worker of the city, idle pools per (role, grid) and work/verify queues per grid."""

    name = "grid_workforce"

    def __init__(self, model: mesa.Model, scheduler: Scheduler, city: City, inputs: RunInputs,
                 records: EventRecords, min_per_km: list[float], work_roles: tuple[int, ...],
                 verify_roles: tuple[int, ...], borrow_radius_km: float,
                 warmup_min: float, horizon_min: float):
        roles, homes = worker_table(city)
        super().__init__(model, scheduler, roles.tolist(), homes.tolist(), city.grid_x[homes].tolist(),
                         city.grid_y[homes].tolist(), warmup_min, horizon_min)
        self.inputs, self.rec = inputs, records
        self.min_per_km = min_per_km                      # per role code
        self.work_roles = work_roles              # who in a grid answers a work order, in order (role codes)
        self.verify_roles = verify_roles          # who verifies on site, in order
        self.kind_reported = -1            # the platform's report-back event kind (set by the model)
        self.patrols = None                # GridPatrols: told when a grid's idle count changes (set by the model)
        self.patrol_roles = [False] * len(min_per_km)   # roles that walk the patrol loop when idle
        self.routes = None                 # PatrolRoutes: an idle patrolling worker sets out from its loop
        self.phase: list[float] = []       # per worker: km along its loop at t = 0
        G = city.n_grids
        self.idle: list[list[list[int]]] = [[[] for _ in range(G)] for _ in range(len(min_per_km))]
        for w in range(len(self.role)):
            self.idle[self.role[w]][self.home[w]].append(w)
        for per_role in self.idle:
            for lst in per_role:
                lst.reverse()       # pop() takes the lowest member number first
        self.work_q: dict[int, tuple[deque, deque]] = {}
        self.verify_q: dict[int, tuple[deque, deque]] = {}
        self.grids_waiting: set[int] = set()
        self.borrow = borrow_lists(city, borrow_radius_km)
        self.near = [(g,) + b for g, b in enumerate(self.borrow)]     # the grid, then its lenders
        # statistics; the time integral runs from t = 0 (the model subtracts the warm-up snapshot)
        self.queued = self.max_queued = 0
        self.area_queued = self.t_queued = 0.0

    # ------------------------------------------------------------------ requests
    def dispatch_work_order(self, e: int, t: float) -> None:
        """A registered, routed work order reaches its grid: send a worker to handle it."""
        inp = self.inputs
        task = new_task(Task, (WORK, e, inp.x[e], inp.y[e], inp.service[e], inp.cat_prio[inp.cat[e]], t, inp.grid[e]))
        self.request(task, t, self.work_roles, True, False)

    def request(self, task: Task, t: float, roles, borrow: bool, verify: bool) -> None:
        """First idle on-duty worker by role order in the grid, else a neighbour's, else queue."""
        g = task.home
        idle, on = self.idle, self.on
        for r in roles:
            if on[r] and idle[r][g]:
                self._start(idle[r][g].pop(), task, t)
                return
        if borrow:
            for h in self.borrow[g]:
                for r in roles:
                    if on[r] and idle[r][h]:
                        self._start(idle[r][h].pop(), task, t)
                        return
        qs = self.verify_q if verify else self.work_q
        pair = qs.get(g)
        if pair is None:
            pair = qs[g] = (deque(), deque())
        pair[task.priority].append(task)
        self.grids_waiting.add(g)
        self.area_queued += self.queued * (t - self.t_queued)
        self.t_queued = t
        self.queued += 1
        if self.queued > self.max_queued and t >= self.warm:
            self.max_queued = self.queued

    def fix_on_spot(self, e: int, t: float, g: int) -> bool:
        """A patrol of grid g found minor matter e: a patrolling worker of the grid fixes it at
        once (no travel: the finder is there). False when no patrolling worker is idle now."""
        idle, on, inp = self.idle, self.on, self.inputs
        for r in self.work_roles:
            if on[r] and idle[r][g] and self.patrol_roles[r]:
                task = new_task(Task, (FIX, e, inp.x[e], inp.y[e], inp.service[e], inp.cat_prio[inp.cat[e]], t, g))
                self._start(idle[r][g].pop(), task, t)
                return True
        return False

    def coresponse(self, task: Task, t: float) -> None:
        """Grid-police linkage: a worker of the grid or a lender joins only if free right now (no queue)."""
        g = task.home
        idle, on = self.idle, self.on
        for h in self.near[g]:
            for r in self.work_roles:
                if on[r] and idle[r][h]:
                    self._start(idle[r][h].pop(), task, t)
                    return

    def _start(self, w: int, task: Task, t: float, from_idle: bool = True) -> None:
        """Worker w takes the task at t (from_idle: it was patrolling, not finishing a job)."""
        kind, e, x, y, svc, _prio, _tr, g = task
        inp, rec = self.inputs, self.rec
        r = self.role[w]
        home = self.home[w]
        if from_idle and self.patrols is not None and self.patrol_roles[r]:
            self.patrols.idle_changed(home, r, -1, t)      # it stops walking the patrol loop
        ox, oy = self.x[w], self.y[w]
        if kind == FIX:
            ox, oy = x, y                   # the finder is on the spot
        elif from_idle and self.patrol_roles[r] and self.routes is not None:
            ox, oy = self.routes.position(home, self.phase[w], t)     # where its patrol loop has it now
        elif kind == WORK and home == g:
            origin = inp.grid_origin[g]     # unbuilt workstation: sent out from farther away
            if origin is not None:
                ox, oy = origin
        t_arr = t + math.hypot(x - ox, y - oy) * self.min_per_km[r]
        t_end = t_arr + svc
        self._occupy(w, r, t, t_end, kind)
        if kind == WORK or kind == FIX:
            rec.t_dispatch[e] = t           # a minor matter is dispatched to the worker who takes it
            rec.t_arrive[e] = t_arr
            rec.t_done[e] = t_end
            rec.responder_role[e] = r
            rec.responder_borrowed[e] = home != g
            t_rep = t_end + inp.report_back[e]
            rec.t_report[e] = t_rep
            if kind == FIX:                 # fixed by the grid's own worker: nothing left to verify
                rec.t_close[e] = t_rep + inp.close_delay[e]
            else:
                heappush(self.heap, (t_rep, next(self.seq), self.kind_reported, e, None))
        elif kind == VERIFY:
            rec.t_verify[e] = t_end
            rec.t_close[e] = t_end + inp.close_delay[e]
        else:  # CORESP
            rec.t_coarrive[e] = t_arr
            rec.coresponder_role[e] = r

    # ------------------------------------------------------------------ queues
    def _next_task(self, g: int, r: int, t: float) -> Task | None:
        does_work = r in self.work_roles
        does_verify = r in self.verify_roles
        wq, vq = self.work_q.get(g), self.verify_q.get(g)
        for prio in (URGENT, ROUTINE):
            a = wq[prio] if (does_work and wq) else None
            b = vq[prio] if (does_verify and vq) else None
            if a and b:
                dq = a if a[0].t_ready <= b[0].t_ready else b
            else:
                dq = a or b or None
            if dq:
                return self._pop(g, dq, t)
            if does_work:
                for h in self.borrow[g]:
                    hq = self.work_q.get(h)
                    if hq and hq[prio]:
                        return self._pop(h, hq[prio], t)
        return None

    def _pop(self, g: int, dq: deque, t: float) -> Task:
        task = dq.popleft()
        self.area_queued += self.queued * (t - self.t_queued)
        self.t_queued = t
        self.queued -= 1
        wq, vq = self.work_q.get(g), self.verify_q.get(g)
        if not ((wq and (wq[0] or wq[1])) or (vq and (vq[0] or vq[1]))):
            self.grids_waiting.discard(g)
        return task

    # ------------------------------------------------------------------ handlers
    def verify_ready(self, e: int, t: float) -> None:
        """The report-back reached the platform: the grid's own worker goes to verify on site."""
        inp = self.inputs
        task = new_task(Task, (VERIFY, e, inp.x[e], inp.y[e], inp.verify_dur[e], inp.cat_prio[inp.cat[e]], t,
                               inp.grid[e]))
        self.request(task, t, self.verify_roles, False, True)

    def free(self, w: int, t: float, kind: int) -> None:
        """Worker w finished a task: take waiting work of its grid or a neighbour's, else go idle."""
        self.busy[w] = False                     # ResponderAgency._released, inlined on the hot path
        r = self.role[w]
        self.busy_by_role[r] -= 1
        g = self.home[w]
        if self.queued and self.on[r]:
            gw = self.grids_waiting
            for h in self.near[g]:           # only look when something waits here or next door
                if h in gw:
                    nxt = self._next_task(g, r, t)
                    if nxt is not None:
                        self._start(w, nxt, t, False)
                        return
                    break
        self.idle[r][g].append(w)
        if self.patrols is not None and self.patrol_roles[r]:
            self.patrols.idle_changed(g, r, 1, t)          # back on the patrol loop

    def shift_on(self, r: int, t: float, _b=None) -> None:
        """A role comes on duty: its idle workers take the work waiting in their grids."""
        self.on[r] = True
        for g in sorted(self.grids_waiting):
            idle = self.idle[r][g]
            while idle:
                task = self._next_task(g, r, t)
                if task is None:
                    break
                self._start(idle.pop(), task, t)

    def advance(self, t: float) -> None:
        """Bring the queue integral up to t (warm-up snapshot, end of run)."""
        self.area_queued += self.queued * (t - self.t_queued)
        self.t_queued = t
