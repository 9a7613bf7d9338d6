"""Routing and responder choice: who answers a task, and the stage times it produces.

A *task* is one job for one responder: a 110 incident's first unit, a regional-support unit,
a cordon checkpoint, a work order's handler, its on-site verification, or a grid worker
co-responding to a 110 call. Tasks are tuples (kind, event, x, y, service_min, priority,
t_ready, home) for speed; `home` is the sub-center (police) or grid whose queue holds it.

Indexes kept up to date by events, never by scans: idle units per sub-center, idle workers per
(role, grid), FIFO queues per sub-center and per grid (urgent before routine). When a
responder frees it serves its own unit's queue first, then its neighbours'.
"""

from __future__ import annotations

import math
from collections import deque
from heapq import heappush

import numpy as np

from gridsim.city import City
from gridsim.engine.scheduler import EventQueue
from gridsim.engine.records import EventRecords
from gridsim.engine.responders import POLICE, ROLE_CODE

# task kinds
P110, SUPPORT, CORDON, WORK, VERIFY, CORESP = range(6)
URGENT, ROUTINE = 0, 1
# heap event kinds
FREE, VERIFY_READY, SHIFT_ON, SHIFT_OFF, SAMPLE, WARMUP_END = range(6)
INF = math.inf


class Dispatcher:
    """All mutable dispatch state and the rules that change it."""

    def __init__(self, scenario, city: City, roles: np.ndarray, homes: np.ndarray, ev: dict,
                 rec: EventRecords, queue: EventQueue, warmup_min: float, horizon_min: float,
                 post_xy: np.ndarray):
        d = scenario["dispatch"]
        self.q = queue
        self.heap, self.seq = queue.heap, queue.seq
        self.rec = rec
        self.ev = ev                      # per-event static lists/arrays (see model._event_inputs)
        self.warm, self.horizon = warmup_min, horizon_min
        zero = scenario["travel"]["mode"] == "zero"
        detour = scenario["travel"]["detour_factor"]
        speeds = scenario["travel"]["speed_kmh"]
        # minutes per straight-line km, per role (0 in zero-travel mode)
        self.min_per_km = [0.0 if zero else 60.0 * detour / speeds[name] for name in ("police", "fulltime", "leader", "parttime")]
        self.return_to_post = d["police_idle_policy"] == "return_to_post"
        self.verify_enabled = d["verify_work_orders"]
        self.grid_roles = tuple(ROLE_CODE[r] for r in d["grid_role_order"])
        self.verify_roles = tuple(ROLE_CODE[r] for r in d["verify_role_order"])

        n = len(roles)
        self.role = roles.tolist()
        self.home = homes.tolist()
        self.busy = [False] * n
        is_police = roles == POLICE
        self.x = np.where(is_police, post_xy[:, 0], city.grid_x[np.where(is_police, 0, homes)]).tolist()
        self.y = np.where(is_police, post_xy[:, 1], city.grid_y[np.where(is_police, 0, homes)]).tolist()
        self.post_x, self.post_y = post_xy[:, 0].tolist(), post_xy[:, 1].tolist()

        S, G = city.n_subcenters, city.n_grids
        self.police_idle: list[list[int]] = [[] for _ in range(S)]
        self.worker_idle: list[list[list[int]]] = [[[] for _ in range(G)] for _ in range(4)]
        for i in range(n):
            if self.role[i] == POLICE:
                self.police_idle[self.home[i]].append(i)
            else:
                self.worker_idle[self.role[i]][self.home[i]].append(i)
        for lst in self.police_idle:
            lst.reverse()
        for per_role in self.worker_idle:
            for lst in per_role:
                lst.reverse()       # pop() takes the lowest index first

        self.police_q = [(deque(), deque()) for _ in range(S)]
        self.work_q: dict[int, tuple[deque, deque]] = {}
        self.verify_q: dict[int, tuple[deque, deque]] = {}
        self.grids_waiting: set[int] = set()
        self.on = [False, False, False, False]

        nb = city.sc_neighbours
        self.sc_nb = [tuple(int(v) for v in row if v >= 0 and v != s) for s, row in enumerate(nb)]
        rev = [[] for _ in range(S)]
        for s, row in enumerate(self.sc_nb):
            for v in row:
                rev[v].append(s)
        self.sc_rev = [tuple(r) for r in rev]
        self.sc_all = [(s,) + self.sc_nb[s] for s in range(S)]
        self.borrow = self._borrow_lists(city, d["borrow_radius_km"])
        self.near = [(g,) + b for g, b in enumerate(self.borrow)]     # the grid, then its lenders
        self.cp_sc = [tuple(int(v) for v in row) for row in city.cp_subcenters]
        self.cp_x, self.cp_y = city.cp_x.tolist(), city.cp_y.tolist()
        self.div_cps = [np.flatnonzero(city.cp_div == k).tolist() for k in range(len(city.division_names))]

        # statistics (integrals are taken from t = 0; the model subtracts the warm-up snapshot)
        self.q_police = self.q_grid = 0
        self.busy_police = 0
        self.busy_by_role = [0, 0, 0, 0]
        self.busy_min = [0.0, 0.0, 0.0, 0.0]
        self.area_q_police = self.area_q_grid = self.area_p110 = 0.0
        self.in_p110 = 0                  # 110 incidents from ready until their first unit is free
        self.max_q_police = self.max_q_grid = 0
        self.t_q_police = self.t_q_grid = self.t_p110 = 0.0

    @staticmethod
    def _borrow_lists(city: City, radius_km: float) -> list[tuple[int, ...]]:
        """Grids of the same workstation within the borrowing radius, nearest first."""
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

    # ------------------------------------------------------------------ bookkeeping
    def advance(self, t: float) -> None:
        """Bring the time integrals up to t (warm-up snapshot, end of run). Between these, each
        integral is updated only where its count changes."""
        self.area_q_police += self.q_police * (t - self.t_q_police)
        self.area_q_grid += self.q_grid * (t - self.t_q_grid)
        self.area_p110 += self.in_p110 * (t - self.t_p110)
        self.t_q_police = self.t_q_grid = self.t_p110 = t

    def _occupy(self, i: int, r: int, t: float, t_free: float, kind: int) -> None:
        """Responder i (role r) is busy from t to t_free: count it, book its busy minutes inside
        the measured window, and schedule its release."""
        self.busy[i] = True
        self.busy_by_role[r] += 1
        if r == POLICE:
            self.busy_police += 1
        lo = t if t > self.warm else self.warm
        hi = t_free if t_free < self.horizon else self.horizon
        if hi > lo:
            self.busy_min[r] += hi - lo
        heappush(self.heap, (t_free, next(self.seq), FREE, i, kind))   # the queue's push, inlined

    # ------------------------------------------------------------------ police
    def _nearest_idle_unit(self, pools, x: float, y: float) -> int:
        best, bestd = -1, INF
        px, py = self.x, self.y
        for s in pools:
            for u in self.police_idle[s]:
                dx, dy = px[u] - x, py[u] - y
                dd = dx * dx + dy * dy
                if dd < bestd:
                    best, bestd = u, dd
        return best

    def police_request(self, task: tuple, t: float, first, then) -> None:
        """Nearest idle unit of `first` pools, else of `then`, else queue at the task's home."""
        if task[0] == P110:
            self.area_p110 += self.in_p110 * (t - self.t_p110)
            self.t_p110 = t
            self.in_p110 += 1
        if self.on[POLICE]:
            u = self._nearest_idle_unit(first, task[2], task[3])
            if u < 0 and then:
                u = self._nearest_idle_unit(then, task[2], task[3])
            if u >= 0:
                self._start_police(u, task, t)
                return
        self.police_q[task[7]][task[5]].append(task)
        self.area_q_police += self.q_police * (t - self.t_q_police)
        self.t_q_police = t
        self.q_police += 1
        if self.q_police > self.max_q_police and t >= self.warm:
            self.max_q_police = self.q_police

    def _start_police(self, u: int, task: tuple, t: float, idle: bool = True) -> None:
        kind, e, x, y, svc, _prio, _tr, home = task
        if idle:
            self.police_idle[self.home[u]].remove(u)
        ev, rec = self.ev, self.rec
        mpk = self.min_per_km[POLICE]
        t_set = t + ev["turnout"][e]
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
            self._last_arrival(e, t_arr, ev["sup_left"], ev["sup_max"], rec.t_support)
        else:  # CORDON
            self._last_arrival(e, t_arr, ev["cor_left"], ev["cor_max"], rec.t_cordon)

    @staticmethod
    def _last_arrival(e: int, t_arr: float, left, latest: dict, column) -> None:
        """One of several units needed (support, cordon) is on its way: the stage completes
        when the last of them arrives."""
        left[e] -= 1
        if t_arr > latest.get(e, -INF):
            latest[e] = t_arr
        if left[e] == 0:
            column[e] = latest.pop(e)

    def _next_police_task(self, s: int, t: float):
        own = self.police_q[s]
        for prio in (URGENT, ROUTINE):
            if own[prio]:
                self._police_dequeued(t)
                return own[prio].popleft()
            best = None
            for v in self.sc_rev[s]:
                dq = self.police_q[v][prio]
                if dq and (best is None or dq[0][6] < best[0][6]):
                    best = dq
            if best is not None:
                self._police_dequeued(t)
                return best.popleft()
        return None

    def _police_dequeued(self, t: float) -> None:
        self.area_q_police += self.q_police * (t - self.t_q_police)
        self.t_q_police = t
        self.q_police -= 1

    # ------------------------------------------------------------------ grid workers
    def grid_request(self, task: tuple, t: float, roles, borrow: bool, verify: bool) -> None:
        """First idle on-duty worker by role order in the grid, else a neighbour's, else queue."""
        g = task[7]
        idle, on = self.worker_idle, self.on
        for r in roles:
            if on[r] and idle[r][g]:
                self._start_worker(idle[r][g].pop(), task, t)
                return
        if borrow:
            for h in self.borrow[g]:
                for r in roles:
                    if on[r] and idle[r][h]:
                        self._start_worker(idle[r][h].pop(), task, t)
                        return
        qs = self.verify_q if verify else self.work_q
        pair = qs.get(g)
        if pair is None:
            pair = qs[g] = (deque(), deque())
        pair[task[5]].append(task)
        self.grids_waiting.add(g)
        self.area_q_grid += self.q_grid * (t - self.t_q_grid)
        self.t_q_grid = t
        self.q_grid += 1
        if self.q_grid > self.max_q_grid and t >= self.warm:
            self.max_q_grid = self.q_grid

    def coresponse(self, task: tuple, t: float) -> None:
        """Grid-police linkage: a grid worker joins only if one is free right now (no queue)."""
        g = task[7]
        idle, on = self.worker_idle, self.on
        for h in self.near[g]:
            for r in self.grid_roles:
                if on[r] and idle[r][h]:
                    self._start_worker(idle[r][h].pop(), task, t)
                    return

    def _start_worker(self, w: int, task: tuple, t: float) -> None:
        kind, e, x, y, svc, _prio, _tr, g = task
        ev, rec = self.ev, self.rec
        r = self.role[w]
        ox, oy = self.x[w], self.y[w]
        if kind == WORK and self.home[w] == g:
            origin = ev["grid_origin"][g]     # unbuilt workstation: sent out from farther away
            if origin is not None:
                ox, oy = origin
        t_arr = t + math.hypot(x - ox, y - oy) * self.min_per_km[r]
        t_end = t_arr + svc
        self._occupy(w, r, t, t_end, kind)
        if kind == WORK:
            rec.t_dispatch[e] = t
            rec.t_arrive[e] = t_arr
            rec.t_done[e] = t_end
            rec.responder_role[e] = r
            rec.responder_borrowed[e] = self.home[w] != g
            t_rep = t_end + ev["report_back"][e]
            rec.t_report[e] = t_rep
            if self.verify_enabled:
                heappush(self.heap, (t_rep, next(self.seq), VERIFY_READY, e, None))
            else:
                rec.t_close[e] = t_rep + ev["close_delay"][e]
        elif kind == VERIFY:
            rec.t_verify[e] = t_end
            rec.t_close[e] = t_end + ev["close_delay"][e]
        else:  # CORESP
            rec.t_coarrive[e] = t_arr
            rec.coresponder_role[e] = r

    def _next_grid_task(self, g: int, r: int, t: float):
        does_work = r in self.grid_roles
        does_verify = r in self.verify_roles
        wq, vq = self.work_q.get(g), self.verify_q.get(g)
        for prio in (URGENT, ROUTINE):
            a = wq[prio] if (does_work and wq) else None
            b = vq[prio] if (does_verify and vq) else None
            if a and b:
                dq = a if a[0][6] <= b[0][6] else b
            else:
                dq = a or b or None
            if dq:
                return self._pop_grid(g, dq, t)
            if does_work:
                for h in self.borrow[g]:
                    hq = self.work_q.get(h)
                    if hq and hq[prio]:
                        return self._pop_grid(h, hq[prio], t)
        return None

    def _pop_grid(self, g: int, dq: deque, t: float) -> tuple:
        task = dq.popleft()
        self.area_q_grid += self.q_grid * (t - self.t_q_grid)
        self.t_q_grid = t
        self.q_grid -= 1
        wq, vq = self.work_q.get(g), self.verify_q.get(g)
        if not ((wq and (wq[0] or wq[1])) or (vq and (vq[0] or vq[1]))):
            self.grids_waiting.discard(g)
        return task

    # ------------------------------------------------------------------ events
    def free(self, i: int, t: float, kind: int) -> None:
        """Responder i finished a task of `kind`: serve its own queue, then its neighbours', else go idle."""
        if kind == P110:
            self.area_p110 += self.in_p110 * (t - self.t_p110)
            self.t_p110 = t
            self.in_p110 -= 1
        self.busy[i] = False
        r = self.role[i]
        self.busy_by_role[r] -= 1
        if r == POLICE:
            self.busy_police -= 1
            s = self.home[i]
            if self.q_police and self.on[POLICE]:       # anything queued at all? (usually not)
                nxt = self._next_police_task(s, t)
                if nxt is not None:
                    self._start_police(i, nxt, t, idle=False)
                    return
            self.police_idle[s].append(i)
            return
        g = self.home[i]
        if self.q_grid and self.on[r]:
            gw = self.grids_waiting
            for h in self.near[g]:           # only look when something waits here or next door
                if h in gw:
                    nxt = self._next_grid_task(g, r, t)
                    if nxt is not None:
                        self._start_worker(i, nxt, t)
                        return
                    break
        self.worker_idle[r][g].append(i)

    def shift_on(self, r: int, t: float) -> None:
        """A role comes on duty: idle responders of that role take the work waiting for them."""
        self.on[r] = True
        if r == POLICE:
            for s in range(len(self.police_q)):
                while self.police_idle[s] and (self.police_q[s][0] or self.police_q[s][1]):
                    task = self._next_police_task(s, t)
                    self._start_police(self._nearest_idle_unit((s,), task[2], task[3]), task, t)
            return
        for g in sorted(self.grids_waiting):
            idle = self.worker_idle[r][g]
            while idle:
                task = self._next_grid_task(g, r, t)
                if task is None:
                    break
                self._start_worker(idle.pop(), task, t)

    def shift_off(self, r: int) -> None:
        self.on[r] = False

