"""The 110 command centre: a triaged call becomes tasks for the police fleet and the grid.

The first unit is asked from the incident's own sub-center territory, then its neighbours
(`patrol.dispatch_rule = "own_first"`), or from all of them together (`"nearest"`), within the
dispatch radius. Categories that send several units (`police_units`) send the others too.

Escalation is decided on scene: the first unit arrives, assesses (`police.assessment`), and
then, where the incident calls for it, asks for regional support, served from the division's
regional reserve first and from neighbouring territories only while they keep
`patrol.neighbour_min_idle` units idle. A city-wide encirclement is ordered after a further
confirmation and command delay (`police.cordon_command_delay`): every city exit checkpoint is
held (`cordon_mode = "exits"`), or points on a ring around the incident whose radius is how far
a suspect can have got since the call at the escape speed (`"ring"`); each checkpoint gets the
nearest idle unit of the territories nearest to it and the reserve. Categories with grid
linkage also call a worker of the incident's grid (or a lender) to co-respond; the worker is
called first, so the fleet knows when it will be on scene. A worker on scene before the first
unit reports the scene: the unit's assessment is `linkage.assessment_factor` of its length,
so support and cordons start sooner (mediation: `police_fleet.Linkage`).
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from gridsim.city import City
from gridsim.domain import BACKUP, CORDON, CORESP, P110, SOURCE_CODE, SUPPORT, URGENT
from gridsim.engine.agencies.grid_workforce import GridWorkforce
from gridsim.engine.agencies.police_fleet import PoliceFleet, neighbour_subcenters
from gridsim.engine.inputs import RunInputs
from gridsim.engine.scheduler import Scheduler
from gridsim.engine.tasks import Task, new_task


class CommandCentre110(mesa.Agent):
    """Turns each 110 incident into tasks, and escalates when the first unit on scene asks."""

    name = "command_centre_110"

    def __init__(self, model: mesa.Model, scheduler: Scheduler, city: City, inputs: RunInputs,
                 fleet: PoliceFleet, workforce: GridWorkforce, patrol, exits_xy: np.ndarray,
                 checkpoint_territories: int):
        super().__init__(model)
        self.inputs, self.fleet, self.workforce, self.scheduler = inputs, fleet, workforce, scheduler
        S = city.n_subcenters
        self.neighbours = neighbour_subcenters(city, fleet.plan.neighbour_subcenters)
        nearest_rule = patrol.dispatch_rule == "nearest"
        self.first_pools = [((s,) + self.neighbours[s]) if nearest_rule else (s,) for s in range(S)]
        self.then_pools = [() if nearest_rule else self.neighbours[s] for s in range(S)]
        self.own_and_neighbours = [(s,) + self.neighbours[s] for s in range(S)]
        self.sc_div = city.sc_div.tolist()
        self.reserve_pool = [S + d for d in range(len(city.division_names))]
        self.min_idle = patrol.neighbour_min_idle
        self.sc_x, self.sc_y = city.sc_x, city.sc_y
        self.k_territories = checkpoint_territories
        self.ring = patrol.cordon_mode == "ring"
        self.ring_points = patrol.ring_points
        self.escape_km_per_min = patrol.escape_speed_kmh / 60.0
        self.exits = [(float(x), float(y), self._checkpoint_pools(x, y)) for x, y in exits_xy]
        self.kind_assessed = scheduler.register(f"{self.name}.assessed", self.assessed)
        self.kind_cordon = scheduler.register(f"{self.name}.cordon_ordered", self.cordon_ordered)
        fleet.on_first_arrival = self._first_on_scene
        scheduler.register_arrivals(SOURCE_CODE["110"], self.on_call)
        self.supports_requested = self.cordons_ordered = 0

    def _checkpoint_pools(self, x: float, y: float) -> tuple[int, ...]:
        """The reserve of the division nearest (x, y), then the territories nearest to it."""
        d2 = (self.sc_x - x) ** 2 + (self.sc_y - y) ** 2
        near = np.argsort(d2, kind="stable")[:self.k_territories]
        return (self.reserve_pool[self.sc_div[int(near[0])]],) + tuple(int(s) for s in near)

    def on_call(self, e: int, t: float) -> None:
        """Incident e is triaged at t: its first unit (and any more its category sends), co-response."""
        inp, fleet = self.inputs, self.fleet
        g = inp.grid[e]
        s = inp.grid_sc[g]
        x, y = inp.x[e], inp.y[e]
        cat = inp.cat[e]
        if inp.cat_coresp[cat]:      # before the police: the first unit's job depends on the worker's arrival
            self.workforce.coresponse(new_task(Task, (CORESP, e, x, y, inp.service[e], URGENT, t, g)), t)
        fleet.request(new_task(Task, (P110, e, x, y, inp.service[e], inp.cat_prio[cat], t, s)), t,
                      self.first_pools[s], self.then_pools[s], True)
        units = inp.cat_units[cat]
        if units > 1:
            for _ in range(units - 1):
                fleet.request(new_task(Task, (BACKUP, e, x, y, inp.service[e], URGENT, t, s)), t,
                              self.own_and_neighbours[s], ())

    def _first_on_scene(self, e: int, t_arrive: float) -> None:
        """The first unit will be on scene at t_arrive; it reports after its assessment, a shorter
        one when a grid worker got there first and reported the scene."""
        assess = self.inputs.extra[e][2]
        if self.fleet.rec.t_coarrive[e] < t_arrive and self.fleet.linkage is not None:
            assess *= self.fleet.linkage.assessment_factor
        self.scheduler.push(t_arrive + assess, self.kind_assessed, e)

    def assessed(self, e: int, t: float, _b=None) -> None:
        """The first unit has assessed incident e: ask for support; set the cordon order going."""
        inp, fleet = self.inputs, self.fleet
        support_min, _hold, _assess, command_delay, _t_call = inp.extra[e]
        g = inp.grid[e]
        s = inp.grid_sc[g]
        n_sup = inp.sup_left[e]
        if n_sup:
            self.supports_requested += 1
            reserve = (self.reserve_pool[self.sc_div[s]],)
            for _ in range(n_sup):
                fleet.request(Task(SUPPORT, e, inp.x[e], inp.y[e], support_min, URGENT, t, s), t, reserve,
                              self.own_and_neighbours[s], keep_then=self.min_idle)
        if inp.cor_left[e]:
            self.scheduler.push(t + command_delay, self.kind_cordon, e)

    def cordon_ordered(self, e: int, t: float, _b=None) -> None:
        """The command centre orders the encirclement: every checkpoint gets a unit."""
        inp = self.inputs
        hold = inp.extra[e][1]
        self.cordons_ordered += 1
        if self.ring:
            x0, y0 = inp.x[e], inp.y[e]
            r = self.escape_km_per_min * (t - inp.extra[e][4])      # how far a suspect can be since the call
            n = self.ring_points
            points = [(x0 + r * math.cos(2 * math.pi * k / n), y0 + r * math.sin(2 * math.pi * k / n)) for k in range(n)]
            checkpoints = [(px, py, self._checkpoint_pools(px, py)) for px, py in points]
        else:
            checkpoints = self.exits
        inp.cor_left[e] = len(checkpoints)
        for px, py, pools in checkpoints:
            self.fleet.request(Task(CORDON, e, px, py, hold, URGENT, t, pools[1]), t, pools, ())
