"""The 110 command centre: a triaged call becomes requests to the police fleet and the grid.

The first unit is asked from the incident's own sub-center territory, then its neighbours.
An incident that needs regional support asks for that many more units from the territory and
its neighbours; one that needs a cordon sends a unit to each of the nearest checkpoints of its
division (any of the checkpoint's candidate sub-centers may send it). Categories with grid
linkage also call a grid worker of the incident's grid to co-respond.
"""

from __future__ import annotations

import mesa
import numpy as np

from gridsim.city import City
from gridsim.domain import CORDON, CORESP, P110, SOURCE_CODE, SUPPORT, URGENT
from gridsim.engine.agencies.grid_workforce import GridWorkforce
from gridsim.engine.agencies.police_fleet import PoliceFleet, neighbour_subcenters
from gridsim.engine.inputs import RunInputs
from gridsim.engine.scheduler import Scheduler
from gridsim.engine.tasks import Task, new_task


class CommandCentre110(mesa.Agent):
    """Turns each 110 incident, once triaged, into tasks for the police fleet and grid workforce."""

    name = "command_centre_110"

    def __init__(self, model: mesa.Model, scheduler: Scheduler, city: City, inputs: RunInputs,
                 fleet: PoliceFleet, workforce: GridWorkforce):
        super().__init__(model)
        self.inputs, self.fleet, self.workforce = inputs, fleet, workforce
        S = city.n_subcenters
        self.neighbours = neighbour_subcenters(city)
        self.support_pools = [(s,) + self.neighbours[s] for s in range(S)]
        self.checkpoint_pools = [tuple(int(v) for v in row) for row in city.cp_subcenters]
        self.cp_x, self.cp_y = city.cp_x.tolist(), city.cp_y.tolist()
        self.division_checkpoints = [np.flatnonzero(city.cp_div == k).tolist() for k in range(len(city.division_names))]
        scheduler.register_arrivals(SOURCE_CODE["110"], self.on_call)

    def on_call(self, e: int, t: float) -> None:
        """Incident e is triaged at t: request its first unit, then support, cordon and co-response."""
        inp, fleet = self.inputs, self.fleet
        g = inp.grid[e]
        s = inp.grid_sc[g]
        x, y = inp.x[e], inp.y[e]
        cat = inp.cat[e]
        fleet.request(new_task(Task, (P110, e, x, y, inp.service[e], inp.cat_prio[cat], t, s)), t, (s,),
                      self.neighbours[s])
        n_sup = inp.sup_left[e]
        n_cor = inp.cor_left[e]
        if n_sup or n_cor:
            support_min, hold = inp.extra[e]
            for _ in range(n_sup):
                fleet.request(new_task(Task, (SUPPORT, e, x, y, support_min, URGENT, t, s)), t,
                              self.support_pools[s], ())
            if n_cor:
                self._cordon(e, t, x, y, n_cor, hold, inp.grid_div[g])
        if inp.cat_coresp[cat]:
            self.workforce.coresponse(new_task(Task, (CORESP, e, x, y, inp.service[e], URGENT, t, g)), t)

    def _cordon(self, e: int, t: float, x: float, y: float, n: int, hold: float, division: int) -> None:
        """Send a unit to each of the n checkpoints of the division nearest the incident."""
        cx, cy = self.cp_x, self.cp_y
        cps = sorted(self.division_checkpoints[division], key=lambda c: (cx[c] - x) ** 2 + (cy[c] - y) ** 2)[:n]
        self.inputs.cor_left[e] = len(cps)
        for c in cps:
            pools = self.checkpoint_pools[c]
            self.fleet.request(new_task(Task, (CORDON, e, cx[c], cy[c], hold, URGENT, t, pools[0])), t, pools, ())
