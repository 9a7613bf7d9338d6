"""Grid patrols: idle on-duty grid workers walk their grid's loop and find latent hazards.

The model. A hazard h of grid g (gridsim.engine.patrol_routes: routes, hazards, passes) is seen
by a pass of the loop within detection_radius with probability detection_prob. Workers sit on
the loop at independent phases, so passes are a Poisson process and h is noticed after E_h ~
Exp(1) (drawn per hazard up front: common random numbers) of exposure, where exposure grows at

    sum_r patrolling_r,g(t) x patrol_share_r x passes_h x detection_prob x walk_kmh / (60 L_g)

per minute; patrolling_r,g(t) = idle workers of role r in grid g while role r is on duty. Put
P_g(t) = the grid's cumulative share-weighted patrol worker-minutes: h is found when P_g reaches
P_g(t_onset) + W_h, W_h = E_h x 60 L_g / (walk_kmh x passes_h x detection_prob). A hazard the
loop never comes near (passes 0), or with detection_prob 0, is never found by patrol.

Bookkeeping (exact and lazy). With ON_r(t) = role r's cumulative
on-duty minutes (from its shift intervals), P_g(t) = c_g + sum_r share_r x idle_r,g x ON_r(t);
idle counts change only when the workforce starts or frees a worker (`idle_changed`, which
moves c_g so P_g stays continuous), and shift changes move no per-grid state at all. Each grid
keeps a heap of its latent hazards' thresholds and at most one live scheduler event: the time
P_g reaches the smallest threshold (P_g inverted forward over the shift breakpoints). A worker
freed in a grid with latent hazards makes discovery earlier, so the event is re-planned (a
version counter retires the old one); a worker taken makes it later, so the old event fires
early, finds nothing due and re-plans. No per-worker walking events, no per-grid shift events.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from heapq import heappop, heappush
from typing import Callable

import mesa
import numpy as np

from gridsim.city import City
from gridsim.domain import FULLTIME, GRID_ROLES, LEADER, PARTTIME, ROLE_CODE, ROLES, SOURCE_CODE
from gridsim.engine.patrol_routes import PatrolParams, PatrolRoutes, exposure_needed
from gridsim.engine.scheduler import Scheduler

FoundHandler = Callable[[int, float, int], None]
"""on_found(event_id, t, grid): a patrol noticed hazard `event_id` in `grid` at minute t."""

GRID_CODES = tuple(ROLE_CODE[r] for r in GRID_ROLES)
DUE_MIN = 1e-7
"""A discovery planned within this many minutes of now is due now (float round-off)."""
WALK_STEPS = 16
"""Shift segments walked forward before the inversion switches to a binary search."""


class OnDutyClock:
    """Cumulative on-duty minutes ON_r(t) of every role, piecewise linear over the breakpoints
    of all shift intervals; a cursor makes look-ups at non-decreasing times O(1)."""

    def __init__(self, shifts: dict[int, list[tuple[float, float]]], horizon_min: float):
        points = {0.0, float(horizon_min)}
        for intervals in shifts.values():
            for a, b in intervals:
                points.update((float(a), float(b)))
        bp = sorted(p for p in points if 0.0 <= p <= horizon_min)
        self.bp = bp + [math.inf]                      # segment k is [bp[k], bp[k + 1])
        n = len(self.bp)
        self.flag: list[list[float]] = [[0.0] * n for _ in ROLES]   # on duty in segment k (0 after the horizon)
        self.cum: list[list[float]] = [[0.0] * n for _ in ROLES]    # ON_r at bp[k]
        for r, intervals in shifts.items():
            flag, cum = self.flag[r], self.cum[r]
            for k in range(n - 2):
                mid = 0.5 * (bp[k] + bp[k + 1])
                flag[k] = 1.0 if any(a <= mid < b for a, b in intervals) else 0.0
            for k in range(1, n - 1):
                cum[k] = cum[k - 1] + flag[k - 1] * (bp[k] - bp[k - 1])
            cum[n - 1] = cum[n - 2]                    # the +inf sentinel
        self.k = 0

    def seek(self, t: float) -> int:
        """The segment holding t (moves the cursor)."""
        bp, k = self.bp, self.k
        if t < bp[k]:
            k = bisect_right(bp, t) - 1
        while t >= bp[k + 1]:
            k += 1
        self.k = k
        return k

    def on(self, r: int, t: float) -> float:
        """ON_r(t): minutes role r has been on duty in [0, t)."""
        k = self.seek(t)
        return self.cum[r][k] + self.flag[r][k] * (t - self.bp[k])


class GridPatrols(mesa.Agent):
    """Latent hazards per grid, the grids' patrol exposure, and the discovery events."""

    name = "grid_patrols"

    def __init__(self, model: mesa.Model, scheduler: Scheduler, city: City, routes: PatrolRoutes,
                 params: PatrolParams, hazard_ids: np.ndarray, hazard_grid: np.ndarray, hazard_x: np.ndarray,
                 hazard_y: np.ndarray, shifts: dict[int, list[tuple[float, float]]], rng: np.random.Generator,
                 horizon_min: float, on_found: FoundHandler | None = None):
        """`hazard_ids` are the event ids of the run's hazards (ascending), with their grids and
        locations; `shifts` the on-duty intervals per grid role code; `rng` draws each hazard's
        Exp(1) exposure (a dedicated stream keeps it the same across staffing variants)."""
        super().__init__(model)
        self.routes, self.params = routes, params
        self.horizon = float(horizon_min)
        self.on_found = on_found
        self.heap, self.seq = scheduler.heap, scheduler.seq
        self.kind_found = scheduler.register(f"{self.name}.found", self.found)
        scheduler.register_arrivals(SOURCE_CODE["grid"], self.arrive)
        ids = np.asarray(hazard_ids, dtype=np.int64)
        if len(ids) > 1 and np.any(np.diff(ids) <= 0):
            raise ValueError("hazard_ids must be strictly ascending event ids")
        grid = np.asarray(hazard_grid, dtype=np.int64)
        passes = routes.passes_per_loop(grid, hazard_x, hazard_y, params.detection_radius_km)
        E = rng.standard_exponential(len(ids))
        # compact per-hazard columns (a year has over a million hazards); array items read as Python numbers
        self.ids = array("q", ids.tobytes())
        self.h_grid = array("i", grid.astype(np.int32).tobytes())
        self.h_need = array("d", exposure_needed(E, passes, routes.length[grid], params.walk_kmh,
                                                 params.detection_prob).tobytes())
        self.passes = passes
        self.next_k = 0
        self.clock = OnDutyClock({r: shifts.get(r, []) for r in GRID_CODES}, horizon_min)
        self.share = list(params.patrol_share)
        self.s1, self.s2, self.s3 = (self.share[r] for r in (FULLTIME, LEADER, PARTTIME))
        ck = self.clock       # the hot path reads the three grid roles' tables directly
        self.f1, self.f2, self.f3 = (ck.flag[r] for r in (FULLTIME, LEADER, PARTTIME))
        self.c1, self.c2, self.c3 = (ck.cum[r] for r in (FULLTIME, LEADER, PARTTIME))
        self.last_seg = len(ck.bp) - 2        # the segment [horizon, +inf)
        G = city.n_grids
        self.idle: list[list[int]] = [[0] * G for _ in ROLES]      # idle workers by role code and grid
        self.idle[FULLTIME] = np.asarray(city.grid_fulltime, dtype=np.int64).tolist()
        self.idle[LEADER] = np.asarray(city.grid_leaders, dtype=np.int64).tolist()
        self.idle[PARTTIME] = np.asarray(city.grid_parttime, dtype=np.int64).tolist()
        self.i1, self.i2, self.i3 = self.idle[FULLTIME], self.idle[LEADER], self.idle[PARTTIME]
        self.c = [0.0] * G                  # P_g(t) = c_g + sum_r share_r idle_r,g ON_r(t)
        self.latent: list[list[tuple[float, int, float]]] = [[] for _ in range(G)]   # (threshold, event, onset)
        self.version = [0] * G
        self.stale = [False] * G            # a worker was taken since the grid's discovery was planned
        self.arisen = self.found_count = self.undetectable = 0
        self.discovery_min = 0.0            # sum of onset -> found over found hazards

    # ------------------------------------------------------------------ exposure
    def exposure(self, g: int, t: float) -> float:
        """P_g(t): grid g's share-weighted patrol worker-minutes (up to a constant per grid)."""
        ck = self.clock
        k = ck.k
        if t >= ck.bp[k + 1] or t < ck.bp[k]:
            k = ck.seek(t)
        dt = t - ck.bp[k]
        return (self.c[g] + self.s1 * self.i1[g] * (ck.cum[FULLTIME][k] + ck.flag[FULLTIME][k] * dt)
                + self.s2 * self.i2[g] * (ck.cum[LEADER][k] + ck.flag[LEADER][k] * dt)
                + self.s3 * self.i3[g] * (ck.cum[PARTTIME][k] + ck.flag[PARTTIME][k] * dt))

    def idle_changed(self, g: int, r: int, delta: int, t: float) -> None:
        """The workforce took (delta -1) or freed (delta +1) an idle worker of role r in grid g at t."""
        ck = self.clock
        k = ck.k
        bp = ck.bp
        if t >= bp[k + 1] or t < bp[k]:
            k = ck.seek(t)
        s = self.share[r]
        self.c[g] -= delta * s * (ck.cum[r][k] + ck.flag[r][k] * (t - bp[k]))
        self.idle[r][g] += delta
        if delta < 0:
            self.stale[g] = True          # the planned discovery may now come too early: it re-plans
        elif s > 0.0 and self.latent[g]:
            self._plan(g, t)

    def _reach(self, g: int, t0: float, target: float) -> float:
        """First t >= t0 with P_g(t) >= target at the grid's current idle counts (+inf: not
        within the run): P_g is piecewise linear between shift breakpoints."""
        ck = self.clock
        bp, k = ck.bp, ck.k
        if t0 >= bp[k + 1] or t0 < bp[k]:
            k = ck.seek(t0)
        w1, w2, w3 = self.s1 * self.i1[g], self.s2 * self.i2[g], self.s3 * self.i3[g]
        f1, f2, f3, c1, c2, c3 = self.f1, self.f2, self.f3, self.c1, self.c2, self.c3
        dt = t0 - bp[k]
        need = target - (self.c[g] + w1 * (c1[k] + f1[k] * dt) + w2 * (c2[k] + f2[k] * dt) + w3 * (c3[k] + f3[k] * dt))
        if need <= 0.0:
            return t0
        return self._walk(g, t0, k, need)

    def _walk(self, g: int, t0: float, k: int, need: float) -> float:
        """First t >= t0 (in segment k) by which grid g gains `need` more exposure."""
        ck = self.clock
        bp = ck.bp
        w1, w2, w3 = self.s1 * self.i1[g], self.s2 * self.i2[g], self.s3 * self.i3[g]
        f1, f2, f3, c1, c2, c3 = self.f1, self.f2, self.f3, self.c1, self.c2, self.c3
        if w1 <= 0.0 and w2 <= 0.0 and w3 <= 0.0:
            return math.inf
        t, last, horizon = t0, self.last_seg, self.horizon
        for _ in range(WALK_STEPS):
            rate = w1 * f1[k] + w2 * f2[k] + w3 * f3[k]
            end = bp[k + 1]
            if rate > 0.0:
                t_hit = t + need / rate
                if t_hit <= end:
                    return t_hit if t_hit < horizon else math.inf
                need -= rate * (end - t)
            t, k = end, k + 1
            if k >= last:
                return math.inf
        # far ahead: binary search over the breakpoints (P_g there is non-decreasing)
        at = lambda j: w1 * c1[j] + w2 * c2[j] + w3 * c3[j]    # noqa: E731
        base = at(k) + need                 # the walk stopped at t = bp[k] with `need` still to gain
        j = bisect_left(range(last + 1), base, lo=k, key=at)
        if j > last:
            return math.inf
        k = j - 1
        t_hit = bp[k] + (base - at(k)) / (w1 * f1[k] + w2 * f2[k] + w3 * f3[k])
        return t_hit if t_hit < horizon else math.inf

    def _plan(self, g: int, t: float) -> None:
        """(Re)schedule grid g's one discovery event for its smallest latent threshold."""
        self._push(g, t, self._reach(g, t, self.latent[g][0][0]))

    def _push(self, g: int, t: float, t_hit: float) -> None:
        v = self.version[g] = self.version[g] + 1      # retires any event planned before
        self.stale[g] = False
        if t_hit < math.inf:
            heappush(self.heap, (t_hit if t_hit > t else t, next(self.seq), self.kind_found, g, v))

    # ------------------------------------------------------------------ handlers
    def arrive(self, e: int, t: float) -> None:
        """Hazard e arises at t (its onset): latent until the grid's patrols have walked enough."""
        k = self.next_k
        ids = self.ids
        if not (k < len(ids) and ids[k] == e):
            k = bisect_left(ids, e)
            if k >= len(ids) or ids[k] != e:
                raise RuntimeError(f"event {e} from source 'grid' is not one of the run's hazards")
        self.next_k = k + 1
        self.arisen += 1
        need = self.h_need[k]
        if need == math.inf:
            self.undetectable += 1
            return
        g = self.h_grid[k]
        heap = self.latent[g]
        heappush(heap, (self.exposure(g, t) + need, e, t))
        if heap[0][1] == e:                # the grid's next discovery: `need` more exposure from now
            self._push(g, t, self._walk(g, t, self.clock.k, need))

    def found(self, g: int, t: float, version: int) -> None:
        """Grid g's planned discovery: every hazard whose threshold P_g has reached is found.
        The planned hazard is due unless a worker was taken since (stale): then check first."""
        if version != self.version[g]:
            return                      # re-planned since: a newer event stands
        heap = self.latent[g]
        due = not self.stale[g]
        while heap:
            if not due:
                t_hit = self._reach(g, t, heap[0][0])
                if t_hit > t + DUE_MIN:
                    self._push(g, t, t_hit)
                    return
            due = False
            _thr, e, t_onset = heappop(heap)
            self.found_count += 1
            self.discovery_min += t - t_onset
            if self.on_found is not None:
                self.on_found(e, t, g)   # may take the finder (idle_changed): exposure stays continuous
        self._push(g, t, math.inf)      # nothing latent: no event stands

    # ------------------------------------------------------------------ statistics
    def patrol_worker_minutes(self, t: float) -> float:
        """Share-weighted idle on-duty worker-minutes of the whole city in [0, t)."""
        ck = self.clock        # the sum of every grid's P_g(t)
        return math.fsum(self.c) + sum(self.share[r] * sum(self.idle[r]) * ck.on(r, t) for r in GRID_CODES)

    def latent_count(self) -> int:
        """Hazards arisen and not found yet (undetectable ones included)."""
        return self.arisen - self.found_count

    def stats(self, t: float) -> dict:
        """Hazards arisen / found / still latent / never findable, mean minutes onset -> found,
        patrol worker-hours, all since t = 0 (the events table has each hazard's times)."""
        return {"hazards_arisen": self.arisen, "hazards_found": self.found_count,
                "hazards_latent": self.latent_count(), "hazards_undetectable": self.undetectable,
                "mean_discovery_min": self.discovery_min / self.found_count if self.found_count else math.nan,
                "patrol_worker_hours": self.patrol_worker_minutes(t) / 60.0}
