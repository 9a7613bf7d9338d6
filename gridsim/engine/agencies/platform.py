"""The work-order platform: the lifecycle of a 12345 order or a patrol-found matter.

The source's seven steps (facts.md: collect, register, dispatch, handle, report back, verify,
close) as hand-overs between agencies:

- a 12345 order is filed when its call ends (gridsim.engine.demand); a hazard is found by a
  patrol (GridPatrols) and, if minor, fixed by the finder at once, else filed in the app;
- the dispatcher offices route it (RoutingNetwork): down to the grid for a minor matter, to the
  responsible department's division office otherwise. `t_dispatch` is the hand-over to the
  responsible unit: the worker who takes a minor matter, or the department's office;
- a grid worker (GridWorkforce) or the department (Departments) handles it, then reports back;
- the grid's own worker verifies on site (GridWorkforce.verify_ready), and the platform closes it.
Every duration is drawn before the run (RunInputs); every wait emerges from a queue.
"""

from __future__ import annotations

import mesa

from gridsim.domain import URGENT
from gridsim.engine.inputs import RunInputs
from gridsim.engine.records import EventRecords
from gridsim.engine.scheduler import Scheduler


class WorkOrderPlatform(mesa.Agent):
    """Hands work orders between the call centre, the patrols, the offices, the departments and the grid."""

    name = "platform"

    def __init__(self, model: mesa.Model, scheduler: Scheduler, inputs: RunInputs, records: EventRecords,
                 verify_enabled: bool):
        super().__init__(model)
        self.inputs, self.rec = inputs, records
        self.verify_enabled = verify_enabled
        self.push = scheduler.push
        self.kind_filed = scheduler.register(f"{self.name}.patrol_filed", self.patrol_filed)
        self.kind_reported = scheduler.register(f"{self.name}.reported", self.reported)
        self.routing = self.workforce = self.departments = None   # connected by the model

    def connect(self, routing, workforce, departments) -> None:
        """The agencies the platform hands orders to (built after it: they call back into it)."""
        self.routing, self.workforce, self.departments = routing, workforce, departments

    # ------------------------------------------------------------------ intake
    def order_filed(self, e: int, t: float) -> None:
        """A 12345 call ended with a work order (HotlineCentre hands it over): its sub-center
        office (or the level above) routes it."""
        inp = self.inputs
        self.routing.route(e, t, inp.grid[e], inp.minor[e] == 1, False, inp.route_first[e], inp.route_second[e])

    def hazard_found(self, e: int, t: float, g: int) -> None:
        """A patrol found hazard e: a minor matter the finder fixes at once when a worker of the
        grid is free to; otherwise the finder files it in the app."""
        self.rec.t_found[e] = t
        inp = self.inputs
        if inp.minor[e] == 1 and self.workforce.fix_on_spot(e, t, g):
            self.rec.fixed_on_spot[e] = 1     # (the worker's start records t_dispatch = t)
            return
        self.push(t + inp.file_delay[e], self.kind_filed, e)

    def patrol_filed(self, e: int, t: float, _b=None) -> None:
        """The finder's report reached the workstation office (or the level above): route it."""
        inp = self.inputs
        self.routing.route(e, t, inp.grid[e], inp.minor[e] == 1, True, inp.route_first[e], inp.route_second[e])

    # ------------------------------------------------------------------ hand-overs
    def routed(self, e: int, t: float, _level: int) -> None:
        """The last office handed order e on: a minor matter to its grid (dispatched when a
        worker takes it), a department matter to the department's office (dispatched now: the
        case clock starts)."""
        inp = self.inputs
        if inp.minor[e] == 1:
            self.workforce.dispatch_work_order(e, t)
        else:
            self.rec.t_dispatch[e] = t
            self.departments.assign(e, t, inp.cat_dept[inp.cat[e]], inp.grid_div[inp.grid[e]],
                                    inp.cat_prio[inp.cat[e]] == URGENT, inp.dept_work[e], inp.dept_lead[e])

    def department_done(self, e: int, t: float) -> None:
        """The department finished case e (its handling and the wait on others): it reports back."""
        self.rec.t_done[e] = t
        t_rep = t + self.inputs.report_back[e]
        self.rec.t_report[e] = t_rep
        self.push(t_rep, self.kind_reported, e)

    def reported(self, e: int, t: float, _b=None) -> None:
        """The report-back reached the platform: the grid's own worker verifies, or it closes."""
        if self.verify_enabled:
            self.workforce.verify_ready(e, t)
        else:
            self.rec.t_close[e] = t + self.inputs.close_delay[e]
