"""The police fleet: patrol units on a roster, on mobile standby, and who answers a police task.

Each patrol unit belongs to a sub-center territory; each division also keeps a small regional
reserve (special patrol units) for support and cordons. Per hour of day a roster puts a share
of each territory's units on duty, less the share lost to breaks and self-initiated work.

Idle units are on *mobile standby*: each patrols a beat (a tour through grids of its territory
drawn by population), spending a dwell time in each grid; its position at any moment follows
from the beat and the clock, computed only when a dispatcher asks. After a job a unit drives
back to the grid its beat plan has it patrol by then, and can be sent from wherever it is on
the way.
`return_to_post` and `stay` remain as policies.

A task goes to the nearest idle on-duty unit (straight-line distance, the same order as
travel time for one incident) of the pools the requester names: the incident's own territory
first, then its neighbours (or all of them together under the `nearest` rule), within the
dispatch radius. With none idle, an urgent incident may pre-empt the nearest unit busy on a
routine 110 job (which is re-queued with its remaining service), else it waits in its
territory's queue, urgent before routine, first come first served. A freed unit serves its
own territory's queue first, then the oldest task of a territory it neighbours.

Travel: road km (straight line x detour) at the police speed, faster in rural grids and slowed
by the hour's urban congestion.

Grid-police linkage (`Linkage`, [linkage] keys): a grid worker who co-responds and is on scene
before the first unit has reported the scene (the command centre shortens that unit's
assessment). On a category with `grid_mediation`, a worker on scene before the unit would
leave mediates the incident to closure: the unit hands over and is released once it has
assessed the scene, met the worker and stayed `mediation_police_factor` of the service, never
longer than without the worker. The incident's done and close times stay the incident's.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from heapq import heappush

import mesa
import numpy as np

from gridsim.city import City
from gridsim.domain import BACKUP, CORDON, P110, POLICE, ROUTINE, SUPPORT, URGENT
from gridsim.engine.agencies.base import ResponderAgency
from gridsim.engine.inputs import RunInputs
from gridsim.engine.records import EventRecords
from gridsim.engine.scheduler import Scheduler
from gridsim.engine.tasks import Task
from gridsim.scenario import ScenarioError

INF = math.inf
STANDBY, RETURN_TO_POST, STAY = "standby", "return_to_post", "stay"
KIND_BITS = 3          # a release event carries (job token << KIND_BITS) | task kind


@dataclass(frozen=True)
class Linkage:
    """What a co-responding grid worker changes for the police ([linkage], categories.*.grid_mediation)."""

    assessment_factor: float         # the first unit's assessment x this when a worker reported the scene
    mediation_police_factor: float   # the first unit's on-scene time x this when a worker mediates
    mediates: tuple[bool, ...]       # per category index: a co-responding worker mediates to closure
    assessment_min: float            # the unit's assessment when none was drawn (incidents that do not escalate)


def plan_linkage(spec, category_names: list[str]) -> Linkage:
    """The run's linkage rules from the scenario, per category index of the demand."""
    lk = spec.linkage
    return Linkage(assessment_factor=lk.assessment_factor, mediation_police_factor=lk.mediation_police_factor,
                   mediates=tuple(bool(spec.categories[c].grid_mediation) for c in category_names),
                   assessment_min=spec.police.assessment.mean_min)


def neighbour_subcenters(city: City, k: int) -> list[tuple[int, ...]]:
    """Per sub-center, its k nearest other sub-centers (asked for an idle unit, nearest first);
    k = 0 means none (`dispatch.police_neighbour_subcenters`)."""
    return [tuple(int(v) for v in row if v >= 0 and v != s)[:k] for s, row in enumerate(city.sc_neighbours)]


@dataclass
class FleetPlan:
    """Everything about the fleet fixed before the run: members, posts, beats, roster, rules."""

    home: np.ndarray                 # pool per unit: a territory (sub-center id) or S + division (reserve)
    post_xy: np.ndarray              # (n, 2) km
    beat_x: list[tuple[float, ...]]  # per unit: the beat's grid centroids in tour order (reserve: the post)
    beat_y: list[tuple[float, ...]]
    beat_start: np.ndarray           # per unit: the beat grid it patrols at t = 0
    rank: np.ndarray                 # per unit: its order within its pool (the roster takes the first n)
    on_duty_count: np.ndarray        # (pools, 24): units of the pool on duty and available by hour of day
    n_territories: int
    idle_policy: str
    beat_dwell_min: float
    mpk_urban: tuple[float, ...]     # minutes per straight-line km by hour of day, urban grids
    mpk_rural: float
    dispatch_radius_km: float        # straight-line km
    preempt_routine: bool
    neighbour_min_idle: int
    neighbour_subcenters: int        # how many nearby territories lend units (dispatch.police_neighbour_subcenters)


def plan_fleet(spec, city: City, rng: np.random.Generator) -> FleetPlan:
    """Members, posts, beats and the hourly roster of the fleet (draws from the `posts` stream)."""
    S, D = city.n_subcenters, len(city.division_names)
    pt = spec.patrol
    homes = np.repeat(np.arange(S), city.sc_police_units)
    posts = np.zeros((len(homes), 2))
    beats_x: list[tuple[float, ...]] = []
    beats_y: list[tuple[float, ...]] = []
    for s in range(S):
        units = np.flatnonzero(homes == s)
        if len(units) == 0:
            continue
        grids = np.flatnonzero(city.grid_sc == s)
        w = city.grid_population[grids].astype(float)
        cum = np.cumsum(w)
        pick = grids[np.searchsorted(cum, rng.random(len(units)) * cum[-1], side="right")]
        posts[units, 0], posts[units, 1] = city.grid_x[pick], city.grid_y[pick]
    if city.police_post_xy is not None:      # posts given by the scenario (staff.police_posts_file)
        posts = city.police_post_xy.copy()
    for u in range(len(homes)):
        grids = np.flatnonzero(city.grid_sc == homes[u])
        w = city.grid_population[grids].astype(float)
        cum = np.cumsum(w)
        stops = grids[np.searchsorted(cum, rng.random(pt.beat_grids) * cum[-1], side="right")]
        bx, by = _tour(city.grid_x[stops], city.grid_y[stops], posts[u])
        beats_x.append(bx)
        beats_y.append(by)
    beat_start = rng.integers(0, pt.beat_grids, size=len(homes))
    # regional reserve: per division, at its centre, always on duty, standing by at the post
    n_res = pt.reserve_units_per_division if spec.staff.police_units > 0 else 0
    res_home = np.repeat(S + np.arange(D), n_res)
    res_post = np.column_stack([city.div_x[res_home - S], city.div_y[res_home - S]]) if n_res else np.zeros((0, 2))
    home = np.concatenate([homes, res_home]).astype(np.int64)
    post_xy = np.vstack([posts, res_post])
    beats_x += [(float(x),) for x in res_post[:, 0]]
    beats_y += [(float(y),) for y in res_post[:, 1]]
    beat_start = np.concatenate([beat_start, np.zeros(len(res_home), dtype=np.int64)])
    rank = np.zeros(len(home), dtype=np.int64)
    sizes = np.bincount(home, minlength=S + D)
    for p in range(S + D):
        rank[home == p] = np.arange(sizes[p])
    share = np.asarray(pt.roster_hourly) * (1.0 - pt.unavailable_share)
    on_duty = np.empty((S + D, 24), dtype=np.int64)
    on_duty[:S] = np.floor(sizes[:S, None] * share[None, :] + 0.5).astype(np.int64)
    on_duty[S:] = sizes[S:, None]
    if spec.dispatch.police_neighbour_subcenters == 0:
        empty = np.argwhere((sizes[:S, None] > 0) & (on_duty[:S] == 0))
        if len(empty):
            s_, h = (int(v) for v in empty[0])
            raise ScenarioError(spec.origin.get("patrol.roster_hourly", spec.path), "patrol.roster_hourly",
                                f"leaves sub-center {s_}'s {sizes[s_]} unit(s) all off duty at {h:02d}:00 "
                                "(after patrol.unavailable_share) and dispatch.police_neighbour_subcenters = 0 "
                                "lets no neighbour answer there",
                                "shares that keep at least one unit on duty, or neighbours to borrow from")
    tr = spec.travel
    if tr.mode == "zero":
        mpk_urban, mpk_rural = (0.0,) * 24, 0.0
    else:
        v = tr.speed_kmh["police"]
        mpk_urban = tuple(60.0 * tr.detour_factor / (v * c) for c in pt.congestion_hourly)
        mpk_rural = 60.0 * tr.detour_factor / (v * pt.rural_speed_factor)
    radius = pt.dispatch_radius_km / (tr.detour_factor if tr.mode != "zero" else 1.0)
    return FleetPlan(home=home, post_xy=post_xy, beat_x=beats_x, beat_y=beats_y, beat_start=beat_start,
                     rank=rank, on_duty_count=on_duty, n_territories=S, idle_policy=spec.dispatch.police_idle_policy,
                     beat_dwell_min=pt.beat_dwell_min, mpk_urban=mpk_urban, mpk_rural=mpk_rural,
                     dispatch_radius_km=radius, preempt_routine=pt.preempt_routine,
                     neighbour_min_idle=pt.neighbour_min_idle,
                     neighbour_subcenters=spec.dispatch.police_neighbour_subcenters)


def _tour(x: np.ndarray, y: np.ndarray, start) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The beat's grids in nearest-neighbour order from the unit's post."""
    left = list(range(len(x)))
    cx, cy = float(start[0]), float(start[1])
    ox, oy = [], []
    while left:
        j = min(left, key=lambda k: (x[k] - cx) ** 2 + (y[k] - cy) ** 2)
        left.remove(j)
        cx, cy = float(x[j]), float(y[j])
        ox.append(cx)
        oy.append(cy)
    return tuple(ox), tuple(oy)


class PoliceFleet(ResponderAgency):
    """All patrol units and regional reserves, their idle pools, positions and queues."""

    name = "police_fleet"

    def __init__(self, model: mesa.Model, scheduler: Scheduler, city: City, inputs: RunInputs,
                 records: EventRecords, plan: FleetPlan, warmup_min: float, horizon_min: float,
                 linkage: Linkage | None = None):
        n = len(plan.home)
        super().__init__(model, scheduler, [POLICE] * n, plan.home.tolist(), plan.post_xy[:, 0].tolist(),
                         plan.post_xy[:, 1].tolist(), warmup_min, horizon_min)
        self.inputs, self.rec, self.plan = inputs, records, plan
        self.post_x, self.post_y = plan.post_xy[:, 0].tolist(), plan.post_xy[:, 1].tolist()
        self.policy = plan.idle_policy
        self.mpk_urban, self.mpk_rural = plan.mpk_urban, plan.mpk_rural
        self.radius2 = plan.dispatch_radius_km ** 2
        self.n_territories = plan.n_territories
        P = plan.on_duty_count.shape[0]
        # mobile standby: the beat and where the unit (re)joined it
        self.beat_x, self.beat_y = plan.beat_x, plan.beat_y
        self.beat_len = [len(b) for b in plan.beat_x]
        self.inv_dwell = 1.0 / plan.beat_dwell_min
        self.dwell = plan.beat_dwell_min
        self.cache_x, self.cache_y = [0.0] * n, [0.0] * n       # standby position, valid until cache_until
        self.cache_until = [-INF] * n
        self.found_at = (0.0, 0.0)
        self.w_back = plan.beat_start.tolist()          # beat grid the unit is (back) at
        self.t_back = [0.0] * n                          # when it is back on its beat
        self.t_left = [0.0] * n                          # when it left its last job
        self.from_x, self.from_y = list(self.x), list(self.y)
        # roster
        self.rank = plan.rank.tolist()
        self.on_duty_count = plan.on_duty_count
        self.duty = [False] * n
        self.idle: list[list[int]] = [[] for _ in range(P)]
        for u in range(n):
            if self.rank[u] < plan.on_duty_count[self.home[u], 0]:
                self.duty[u] = True
                self.idle[self.home[u]].append(u)
        for lst in self.idle:
            lst.reverse()
        self.kind_roster = scheduler.register(f"{self.name}.roster", self.roster_change)
        # jobs: a token per unit makes a release event of a pre-empted job stale
        self.token = [0] * n
        # units busy on a routine 110 job (pre-emptable): unit -> (task, set out, from x, from y, arrival, end,
        # leaves the scene)
        self.routine_jobs: dict[int, tuple[Task, float, float, float, float, float]] = {}
        self.preempt = plan.preempt_routine
        self.queues = [(deque(), deque()) for _ in range(P)]     # per pool: (urgent, routine)
        rev: list[list[int]] = [[] for _ in range(P)]
        for s, row in enumerate(neighbour_subcenters(city, plan.neighbour_subcenters)):
            for v in row:
                rev[v].append(s)
        self.lend_to = [tuple(r) for r in rev]       # territories whose queues a unit of s may serve
        self.min_idle = plan.neighbour_min_idle
        self.latest: dict[int, dict[int, float]] = {SUPPORT: {}, CORDON: {}}   # multi-unit stages in progress
        self.on_first_arrival = None     # set by the command centre: called (e, t_arrive) for escalating incidents
        self.linkage = linkage           # None: a co-responding grid worker changes nothing
        # statistics; time integrals run from t = 0 (the model subtracts the warm-up snapshot)
        self.queued = self.max_queued = 0
        self.area_queued = self.t_queued = 0.0
        self.first_units = 0             # 110 incidents from ready for dispatch until their first unit frees
        self.area_first_units = self.t_first_units = 0.0
        self.preemptions = 0

    def schedule_roster(self, scheduler: Scheduler) -> None:
        """A roster event at every hour boundary where the on-duty counts change."""
        counts = self.on_duty_count
        changes = [h for h in range(1, 24) if (counts[:, h] != counts[:, h - 1]).any()]
        if (counts[:, 0] != counts[:, 23]).any():
            changes.append(24)
        hours = int(self.horizon // 60)
        scheduler.push_series(f"{self.name}.roster", [((day + h) * 60.0, self.kind_roster, h % 24)
                                                      for day in range(0, hours + 1, 24) for h in changes
                                                      if 0 < day + h <= hours])

    # ------------------------------------------------------------------ where units are
    def position(self, u: int, t: float) -> tuple[float, float]:
        """Where unit u is at time t if idle (its beat under standby, else its last place)."""
        if self.policy != STANDBY:
            return self.x[u], self.y[u]
        return self._standby_position(u, t, cache=False)

    def nearest_idle_unit(self, pools, x: float, y: float, t: float, radius2: float = INF,
                          keep: int = 0) -> int:
        """The idle unit closest to (x, y) at time t among the pools; -1 if none within the
        radius (squared straight-line km). A pool lends only while it keeps `keep` idle units.
        The chosen unit's position is left in `self.found_at` for the dispatch that follows."""
        best, bestd, bx_, by_ = -1, radius2, 0.0, 0.0
        idle = self.idle
        if self.policy != STANDBY:
            px, py = self.x, self.y
            for s in pools:
                if len(idle[s]) <= keep:
                    continue
                for u in idle[s]:
                    dx, dy = px[u] - x, py[u] - y
                    dd = dx * dx + dy * dy
                    if dd < bestd:
                        best, bestd = u, dd
            if best >= 0:
                self.found_at = (px[best], py[best])
            return best
        # standby: a unit's beat position holds for a dwell slot; it is cached until the slot ends
        cx, cy, cexp = self.cache_x, self.cache_y, self.cache_until
        for s in pools:
            if len(idle[s]) <= keep:
                continue
            for u in idle[s]:
                if t < cexp[u]:
                    ux, uy = cx[u], cy[u]
                else:
                    ux, uy = self._standby_position(u, t)
                dx, dy = ux - x, uy - y
                dd = dx * dx + dy * dy
                if dd < bestd:
                    best, bestd, bx_, by_ = u, dd, ux, uy
        if best >= 0:
            self.found_at = (bx_, by_)
        return best

    def _standby_position(self, u: int, t: float, cache: bool = True) -> tuple[float, float]:
        """Where standby unit u is at t; caches it until its current dwell slot ends (the loop's
        clock only moves forward; a query about another time does not cache)."""
        tb = self.t_back[u]
        if t >= tb:
            slot = int((t - tb) * self.inv_dwell)
            k = (self.w_back[u] + slot) % self.beat_len[u]
            ux, uy = self.beat_x[u][k], self.beat_y[u][k]
            if cache:
                self.cache_x[u], self.cache_y[u] = ux, uy
                self.cache_until[u] = tb + (slot + 1) * self.dwell
            return ux, uy
        f = (t - self.t_left[u]) / (tb - self.t_left[u])          # driving back: not cached
        w = self.w_back[u]
        fx, fy = self.from_x[u], self.from_y[u]
        return fx + f * (self.beat_x[u][w] - fx), fy + f * (self.beat_y[u][w] - fy)

    # ------------------------------------------------------------------ requests
    def request(self, task: Task, t: float, first, then, radius: bool = False, keep_then: int = 0) -> None:
        """Nearest idle unit of the `first` pools, else of `then` (whose pools lend only while
        they keep `keep_then` idle), else pre-empt (urgent 110), else queue at the task's home.
        `radius`: apply the first-unit dispatch radius."""
        if task.kind == P110:
            self.area_first_units += self.first_units * (t - self.t_first_units)
            self.t_first_units = t
            self.first_units += 1
        if self.on[POLICE]:
            r2 = self.radius2 if radius else INF
            u = self.nearest_idle_unit(first, task.x, task.y, t, r2)
            if u < 0 and then:
                u = self.nearest_idle_unit(then, task.x, task.y, t, r2, keep_then)
            if u >= 0:
                self._start(u, task, t, from_xy=self.found_at)
                return
            if self.preempt and task.kind == P110 and task.priority == URGENT and self.routine_jobs:
                if self._preempt_for(task, t, first + tuple(then)):
                    return
        self._enqueue(task, t)

    def _enqueue(self, task: Task, t: float, front: bool = False) -> None:
        q = self.queues[task.home][task.priority]
        if front:
            q.appendleft(task)
        else:
            q.append(task)
        self.area_queued += self.queued * (t - self.t_queued)
        self.t_queued = t
        self.queued += 1
        if self.queued > self.max_queued and t >= self.warm:
            self.max_queued = self.queued

    def _preempt_for(self, task: Task, t: float, pools) -> bool:
        """Take the nearest unit of the pools busy on a routine 110 job; re-queue that job."""
        best, bestd = -1, INF
        for u, (job, *_rest) in self.routine_jobs.items():
            if self.home[u] in pools:
                dd = (job.x - task.x) ** 2 + (job.y - task.y) ** 2
                if dd < bestd:
                    best, bestd = u, dd
        if best < 0:
            return False
        u = best
        job, t_set, fx, fy, t_arr, t_end, t_leave = self.routine_jobs.pop(u)
        arrived = t >= t_arr
        remaining = (t_end - t) if arrived else job.service_min
        # the unused part of the booked busy time is given back
        lo, hi = max(t, self.warm), min(t_leave, self.horizon)
        if self.rec.police_released:
            self.rec.police_released.pop(job.event, None)     # called away: no hand-over; it comes back for the rest
        if hi > lo:
            self.busy_min[POLICE] -= hi - lo
        self.token[u] += 1                                  # its release event is now stale
        self.rec.preempted[job.event] = self.rec.preempted.get(job.event, 0) + 1
        self.preemptions += 1
        if arrived:
            self.x[u], self.y[u] = job.x, job.y
        else:                                               # on its way: where it has got to
            f = 1.0 if t_arr <= t_set else min(1.0, max(0.0, (t - t_set) / (t_arr - t_set)))
            self.x[u], self.y[u] = fx + f * (job.x - fx), fy + f * (job.y - fy)
        self._enqueue(Task(job.kind, job.event, job.x, job.y, max(remaining, 0.0), job.priority, job.t_ready,
                           job.home), t, front=True)
        self.busy_by_role[POLICE] -= 1                    # _start books it busy again
        self._start(u, task, t, idle=False, from_xy=(self.x[u], self.y[u]))
        return True

    def _start(self, u: int, task: Task, t: float, idle: bool = True, from_xy=None) -> None:
        kind, e, x, y, svc, prio, _tr, home = task
        if idle:
            self.idle[self.home[u]].remove(u)
        inp, rec = self.inputs, self.rec
        ox, oy = from_xy if from_xy is not None else self.position(u, t)
        t_set = t + inp.turnout[e]
        mpk = self.mpk_urban[int(t // 60) % 24] if inp.urban[e] else self.mpk_rural
        travel = math.hypot(x - ox, y - oy) * mpk
        t_arr = t_set + travel
        t_end = t_arr + svc
        t_leave = t_end                                       # the unit leaves the scene
        first = kind == P110 and rec.t_dispatch[e] != rec.t_dispatch[e]     # NaN: not a re-served job
        if first and rec.t_coarrive[e] < t_end and self.linkage is not None:   # a grid worker there in time
            t_leave = self._linked(e, t_arr, svc, t_end)
        if self.policy == RETURN_TO_POST:
            t_free = t_leave + math.hypot(x - self.post_x[u], y - self.post_y[u]) * mpk
            self.x[u], self.y[u] = self.post_x[u], self.post_y[u]
        else:
            t_free = t_leave
            self.x[u], self.y[u] = x, y
        # busy bookkeeping and the release event (ResponderAgency._occupy, with the job token)
        self.busy[u] = True
        self.busy_by_role[POLICE] += 1
        lo = t if t > self.warm else self.warm
        hi = t_free if t_free < self.horizon else self.horizon
        if hi > lo:
            self.busy_min[POLICE] += hi - lo
        heappush(self.heap, (t_free, next(self.seq), self.kind_free, u, (self.token[u] << KIND_BITS) | kind))
        if kind == P110:
            if first:
                rec.t_dispatch[e] = t_set
                rec.t_arrive[e] = t_arr
                rec.travel_min[e] = travel
                rec.responder_role[e] = POLICE
                rec.responder_borrowed[e] = self.home[u] != home
                if (inp.sup_left[e] or inp.cor_left[e]) and self.on_first_arrival is not None:
                    self.on_first_arrival(e, t_arr)
            if first or e not in rec.police_released:      # a mediated incident closes with the worker
                rec.t_done[e] = t_end
                rec.t_close[e] = t_end
            if prio == ROUTINE and self.preempt:
                self.routine_jobs[u] = (task, t_set, ox, oy, t_arr, t_end, t_leave)
        elif kind == SUPPORT:
            self._last_arrival(e, t_arr, inp.sup_left, self.latest[SUPPORT], rec.t_support)
        elif kind == CORDON:
            self._last_arrival(e, t_arr, inp.cor_left, self.latest[CORDON], rec.t_cordon)
        elif kind == BACKUP:
            if t_arr > rec.t_units.get(e, -INF):
                rec.t_units[e] = t_arr

    def _linked(self, e: int, t_arr: float, svc: float, t_end: float) -> float:
        """A co-responding grid worker is on scene before the first unit of incident e would
        leave: when the unit leaves if the worker mediates (recorded as police minutes released).
        The worker reported the scene if it was there before the unit (t_coarrive < t_arrive)."""
        lk, inp, rec = self.linkage, self.inputs, self.rec
        if not lk.mediates[inp.cat[e]] or inp.sup_left[e] or inp.cor_left[e]:
            return t_end                               # the police keep an escalating incident
        t_co = rec.t_coarrive[e]
        assess = lk.assessment_min * lk.assessment_factor if t_co < t_arr else lk.assessment_min
        t_leave = max(t_arr + assess, t_co, t_arr + svc * lk.mediation_police_factor)
        if t_leave < t_end:
            rec.police_released[e] = t_end - t_leave
            return t_leave
        return t_end

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
            for v in self.lend_to[s] if s < self.n_territories else ():
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
    def free(self, u: int, t: float, b: int) -> None:
        """Unit u finished a job: serve its own queue, then its neighbours', else stand by."""
        if b >> KIND_BITS != self.token[u]:
            return                                   # a pre-empted job's release: stale
        kind = b & 7
        if kind == P110:
            self.area_first_units += self.first_units * (t - self.t_first_units)
            self.t_first_units = t
            self.first_units -= 1
            if self.routine_jobs:
                self.routine_jobs.pop(u, None)
        self.busy[u] = False                     # ResponderAgency._released, inlined on the hot path
        self.busy_by_role[POLICE] -= 1
        s = self.home[u]
        if not self.duty[u]:
            return                                   # the roster took it off duty: it leaves
        if self.queued and self.on[POLICE]:       # anything queued at all? (usually not)
            nxt = self._next_task(s, t)
            if nxt is not None:
                self._start(u, nxt, t, idle=False, from_xy=(self.x[u], self.y[u]))
                return
        if self.policy == STANDBY:
            self._rejoin_beat(u, t)
        self.idle[s].append(u)

    def _rejoin_beat(self, u: int, t: float) -> None:
        """From where it finished, the unit heads for the grid its beat plan has it patrol now
        (the patrol clock runs on while it is away), at the urban speed of the hour."""
        K = self.beat_len[u]
        k = (self.w_back[u] + int((t - self.t_back[u]) * self.inv_dwell)) % K if K > 1 else 0
        x, y = self.x[u], self.y[u]
        d = math.hypot(self.beat_x[u][k] - x, self.beat_y[u][k] - y)
        self.from_x[u], self.from_y[u] = x, y
        self.t_left[u] = t
        self.t_back[u] = t + d * self.mpk_urban[int(t // 60) % 24]
        self.w_back[u] = k
        self.cache_until[u] = -INF

    def shift_on(self, r: int, t: float, _b=None) -> None:
        """Units come on duty: idle units take the tasks queued in their territory."""
        self.on[r] = True
        for s in range(len(self.queues)):
            self._serve_queue(s, t)

    def _serve_queue(self, s: int, t: float) -> None:
        while self.idle[s] and (self.queues[s][0] or self.queues[s][1]):
            task = self._next_task(s, t)
            self._start(self.nearest_idle_unit((s,), task.x, task.y, t), task, t, from_xy=self.found_at)

    def roster_change(self, h: int, t: float, _b=None) -> None:
        """The hour's roster: units beyond the pool's on-duty count go off (a busy one finishes
        its job first), units within it come on and take waiting work."""
        counts = self.on_duty_count[:, h]
        for u in range(len(self.rank)):
            on = self.rank[u] < counts[self.home[u]]
            if on == self.duty[u]:
                continue
            self.duty[u] = on
            if self.busy[u]:
                continue
            s = self.home[u]
            if on:
                if self.policy == STANDBY:
                    self.t_back[u] = self.t_left[u] = t
                    self.cache_until[u] = -INF
                self.idle[s].append(u)
            else:
                self.idle[s].remove(u)
        if self.queued and self.on[POLICE]:
            for s in range(len(self.queues)):
                self._serve_queue(s, t)

    def advance(self, t: float) -> None:
        """Bring the time integrals up to t (warm-up snapshot, end of run)."""
        self.area_queued += self.queued * (t - self.t_queued)
        self.area_first_units += self.first_units * (t - self.t_first_units)
        self.t_queued = self.t_first_units = t
