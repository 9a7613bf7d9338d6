"""The Mesa model of one city over simulated minutes: the agencies, their scheduler, the run.

Wiring only: the city comes from `gridsim.city`, arrivals from `demand`, per-event draws from
`inputs`, behaviour from the agencies (`engine.agencies`), timed events from `scheduler`,
stage times into `records`. The model itself handles two model-level event kinds: the hourly
data-collection sample and the end of the warm-up.

Randomness: one `SeedSequence(seed, spawn_key=(replication, k))` per concern k, so replication
r of every scenario variant sees the same calls (common random numbers) whatever else changes.
"""

from __future__ import annotations

from typing import Callable

import mesa
import numpy as np

from gridsim.city import City, build_city, project_like_city
from gridsim.domain import GRID_ROLES, POLICE, ROLE_CODE, ROLE_NAME, ROLES, SOURCE_CODE
from gridsim.engine.agencies.command_centre import CommandCentre110
from gridsim.engine.agencies.grid_workforce import GridWorkforce
from gridsim.engine.agencies.departments import Departments
from gridsim.engine.agencies.grid_patrols import GridPatrols
from gridsim.engine.agencies.hotline_centre import HotlineCentre
from gridsim.engine.agencies.platform import WorkOrderPlatform
from gridsim.engine.agencies.police_fleet import PoliceFleet, plan_fleet, plan_linkage
from gridsim.engine.agencies.routing import RoutingNetwork
from gridsim.engine.patrol_routes import PatrolParams, build_routes
from gridsim.engine.demand import Demand, generate_demand
from gridsim.engine.inputs import as_array, build_run_inputs
from gridsim.engine.records import EventRecords
from gridsim.engine.scheduler import Scheduler
from gridsim.engine.shifts import on_duty_minutes, shift_intervals
from gridsim.engine.workclock import WorkClock
from gridsim.scenario import Scenario, ScenarioError

STREAMS = ("demand_110", "demand_12345", "demand_grid", "service_110", "service_12345", "service_grid",
           "posts", "patrol_routes", "patrol_exposure")
Progress = Callable[[float], None]
"""Progress callback: called with the simulated days just completed (1/24 per hour)."""


def run_streams(seed: int, replication: int) -> dict[str, np.random.Generator]:
    """One independent generator per concern, derived from (seed, replication) alone."""
    return {name: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication, k)))
            for k, name in enumerate(STREAMS)}


# model-level reporters for the DataCollector (plain functions, testable on their own)
def police_queue(model: "CityModel") -> int:
    return model.police_fleet.queued


def grid_queue(model: "CityModel") -> int:
    return model.grid_workforce.queued


def busy_police(model: "CityModel") -> int:
    return model.police_fleet.busy_by_role[POLICE]


def busy_grid_workers(model: "CityModel") -> int:
    return sum(model.grid_workforce.busy_by_role)


def department_backlog(model: "CityModel") -> int:
    return model.departments.open_cases


def latent_hazards(model: "CityModel") -> int:
    return model.grid_patrols.latent_count()


EXIT_MAX_GAP_KM = 15.0
"""An exit checkpoint this far outside the box around the city's grids is a data error (a wrong
sign, swapped lat/lon): real exits sit on the boundary, a few km beyond the outermost grids."""


def exit_positions(spec: Scenario, city: City) -> np.ndarray:
    """The scenario's city exit checkpoints (lat, lon) on the city's km plane (the projection
    `gridsim.city.build_city` uses: centred on the mean of the divisions' reference points)."""
    cordons_possible = spec.demand.police_per_day > 0 and spec.staff.police_units > 0 and any(
        c.cordon_prob > 0 and c.share > 0 for c in spec.categories_of("110").values())
    if not spec.exits or spec.patrol.cordon_mode != "exits" or not cordons_possible:
        return np.zeros((0, 2))              # no cordon can be ordered: the exits are never used
    lat = np.array([e.lat for e in spec.exits])
    lon = np.array([e.lon for e in spec.exits])
    x, y = project_like_city(spec, city, lat, lon)
    x0, x1, y0, y1 = city.grid_x.min(), city.grid_x.max(), city.grid_y.min(), city.grid_y.max()
    for i, (ex, px, py) in enumerate(zip(spec.exits, x, y)):
        gap = float(np.hypot(max(x0 - px, 0.0, px - x1), max(y0 - py, 0.0, py - y1)))
        if gap > EXIT_MAX_GAP_KM:
            where = next((f.path for f in spec.data_files if f.key == "patrol.exits_file"), "patrol.exits_file")
            raise ScenarioError(where, f"row {i + 2} ({ex.name})", f"exit at {ex.lat}, {ex.lon} lies {gap:.0f} km "
                                "outside the city's extent",
                                f"exits within {EXIT_MAX_GAP_KM:g} km of the box around the city's grids (WGS84 lat, lon)")
    return np.column_stack([x, y])


class CityModel(mesa.Model):
    """One replication of one scenario: four agencies on one scheduler."""

    def __init__(self, spec: Scenario, city: City | None = None, replication: int = 0,
                 seed: int | None = None, progress: Progress | None = None):
        self.seed_value = int(spec.run.seed if seed is None else seed)
        self.replication = replication
        super().__init__(rng=np.random.SeedSequence(self.seed_value, spawn_key=(replication, 99)))
        self.spec = spec
        self.city = city if city is not None else build_city(spec)
        self.horizon_min = spec.run.days * 1440.0
        self.warmup_min = spec.run.warmup_hours * 60.0
        self.progress = progress or None
        self.work_clock = WorkClock.for_run(spec)
        streams = run_streams(self.seed_value, replication)
        self.demand: Demand = generate_demand(spec, self.city, streams, self.horizon_min)
        self.static, inputs = build_run_inputs(spec, self.city, self.demand, streams)
        self.demand.x = self.demand.y = None      # now held compactly by the run inputs
        self.records = EventRecords(len(self.demand))
        self.scheduler = Scheduler()
        self.kind_sample = self.scheduler.register("model.sample", self._sample)
        self.kind_warmup_end = self.scheduler.register("model.warmup_end", self._warmup_end)

        travel, rules = spec.travel, spec.dispatch
        zero = travel.mode == "zero"
        # minutes per straight-line km, per role (0 in zero-travel mode)
        min_per_km = [0.0 if zero else 60.0 * travel.detour_factor / travel.speed_kmh[r] for r in ROLES]
        self.police_fleet = PoliceFleet(self, self.scheduler, self.city, inputs, self.records,
                                        plan_fleet(spec, self.city, streams["posts"]), self.warmup_min, self.horizon_min,
                                        linkage=plan_linkage(spec, self.demand.category_names))
        self.grid_workforce = GridWorkforce(self, self.scheduler, self.city, inputs, self.records, min_per_km,
                                            tuple(ROLE_CODE[r] for r in rules.grid_role_order),
                                            tuple(ROLE_CODE[r] for r in rules.verify_role_order),
                                            rules.borrow_radius_km, self.warmup_min, self.horizon_min)
        self.command_centre = CommandCentre110(self, self.scheduler, self.city, inputs, self.police_fleet,
                                               self.grid_workforce, spec.patrol, exit_positions(spec, self.city),
                                               rules.cordon_candidate_subcenters)
        self.shifts = {r: shift_intervals(spec, ROLE_NAME[r], self.horizon_min) for r in range(len(ROLES))}
        self._work_orders(spec, inputs, streams)
        self.datacollector = mesa.DataCollector(model_reporters={
            "police_queue": police_queue, "grid_queue": grid_queue,
            "busy_police": busy_police, "busy_grid_workers": busy_grid_workers,
            "department_backlog": department_backlog, "latent_hazards": latent_hazards})
        self.warm_snapshot: dict | None = None
        self.events_processed = 0
        self.started = self.finished = False

    def _work_orders(self, spec: Scenario, inputs, streams: dict[str, np.random.Generator]) -> None:
        """The work-order side: the call centre, the platform, the dispatcher offices, the
        departments and the grid patrols, wired to each other and to the grid workforce."""
        sch, W = self.scheduler, self.grid_workforce
        self.platform = WorkOrderPlatform(self, sch, inputs, self.records, spec.dispatch.verify_work_orders)
        self.hotline_centre = HotlineCentre(self, sch, self.demand.hotline, self.platform.order_filed)
        r = spec.routing
        self.routing = RoutingNetwork(self, sch, self.city, {"division": r.division_dispatchers,
                                                             "subcenter": r.subcenter_dispatchers,
                                                             "workstation": r.workstation_dispatchers},
                                      self.warmup_min, self.horizon_min, self.platform.routed, len(self.demand))
        deps = spec.departments
        self.departments = Departments(self, sch, self.work_clock, list(deps),
                                       [d.staff_per_division for d in deps.values()],
                                       [d.duty_staff_per_division for d in deps.values()],
                                       len(self.city.division_names), self.warmup_min, self.horizon_min,
                                       self.platform.department_done)
        params = PatrolParams.from_scenario(spec)
        routes = build_routes(self.city, params.route_points, params.walk_kmh, streams["patrol_routes"])
        hazards = np.flatnonzero(self.demand.source == SOURCE_CODE["grid"])
        self.grid_patrols = GridPatrols(self, sch, self.city, routes, params, hazards, self.demand.grid[hazards],
                                        np.frombuffer(inputs.x, dtype=np.float32)[hazards].astype(float),
                                        np.frombuffer(inputs.y, dtype=np.float32)[hazards].astype(float),
                                        {r_: self.shifts[r_] for r_ in range(len(ROLES)) if r_ != POLICE},
                                        streams["patrol_exposure"], self.horizon_min, self.platform.hazard_found)
        self.platform.connect(self.routing, W, self.departments)
        W.kind_reported = self.platform.kind_reported
        W.patrols = self.grid_patrols
        W.patrol_roles = [r_ != POLICE and params.patrol_share[r_] > 0 for r_ in range(len(ROLES))]
        W.routes, W.phase = routes, routes.phases(streams["patrol_routes"], np.asarray(W.home)).tolist()

    # ------------------------------------------------------------------ loop
    def run_events(self) -> None:
        """Simulate until the horizon."""
        self.advance_to(self.horizon_min)

    def advance_to(self, t_min: float) -> None:
        """Simulate up to simulated minute `t_min` (capped at the horizon); call again to go on.
        Stepping in parts gives exactly the events of one uninterrupted run."""
        sch, H = self.scheduler, self.horizon_min
        if self.finished:
            return
        if not self.started:
            self._start()
        sch.run_until(min(t_min, H))
        self.events_processed = sch.events_processed
        if sch.now >= H:
            self._advance(H)
            self.finished = True
            # per-event loop inputs are no longer needed: free them before the table is built
            self.police_fleet.inputs = self.grid_workforce.inputs = self.command_centre.inputs = None
            self.platform.inputs = None

    @property
    def clock(self) -> float:
        """Simulated minutes processed so far."""
        return self.scheduler.now

    def _start(self) -> None:
        """Schedule the shifts, the hourly samples, the end of the warm-up, and the arrivals."""
        sch, H = self.scheduler, self.horizon_min
        self.police_fleet.schedule_shifts(sch, {POLICE: self.shifts[POLICE]})
        self.police_fleet.schedule_roster(sch)
        self.grid_workforce.schedule_shifts(sch, {ROLE_CODE[r]: self.shifts[ROLE_CODE[r]] for r in GRID_ROLES})
        sch.push_series("model.samples", [(h * 60.0, self.kind_sample, None) for h in range(0, int(H // 60) + 1)])
        sch.push(self.warmup_min, self.kind_warmup_end)
        t_ready = self.static.t_ready
        order = np.argsort(t_ready, kind="stable")
        order = as_array(order[t_ready[order] <= H], "i")
        sch.load_arrivals(order, as_array(t_ready, "d"), as_array(self.demand.source, "b"))
        self.started = True

    def _sample(self, _a, t: float, _b) -> None:
        self.datacollector.collect(self)
        if self.progress is not None and t > 0:
            self.progress(1 / 24)

    def _warmup_end(self, _a, t: float, _b) -> None:
        self._advance(t)
        self.warm_snapshot = self._integrals()

    def _advance(self, t: float) -> None:
        self.police_fleet.advance(t)
        self.grid_workforce.advance(t)

    # ------------------------------------------------------------------ results
    def _integrals(self) -> dict:
        f, w = self.police_fleet, self.grid_workforce
        return {"q_police": f.area_queued, "q_grid": w.area_queued, "p110": f.area_first_units}

    def run_stats(self) -> dict:
        """Model-side measurements that the records cannot give: queues and utilisation."""
        f, w = self.police_fleet, self.grid_workforce
        busy_min = [f.busy_min[r] + w.busy_min[r] for r in range(len(ROLES))]
        counts = np.bincount(np.array(f.role + w.role, dtype=np.int64), minlength=len(ROLES))
        end = self._integrals()
        snap = self.warm_snapshot or {k: 0.0 for k in end}
        span = self.horizon_min - self.warmup_min
        util = {}
        for r, name in enumerate(ROLES):
            if r == POLICE:      # rostered, dispatchable unit-minutes (the roster varies by hour)
                avail = self._police_unit_minutes()
            else:
                avail = counts[r] * on_duty_minutes(self.shifts[r], self.warmup_min, self.horizon_min)
            util[name] = {
                "responders": int(counts[r]),
                "on_duty_hours": round(avail / 60.0, 1),
                "busy_hours": round(busy_min[r] / 60.0, 1),
                "utilisation": (busy_min[r] / avail) if avail > 0 else None,
                "mean_busy": busy_min[r] / span,
            }
        return {
            "utilisation": util,
            "queues": {
                "police_mean": (end["q_police"] - snap["q_police"]) / span,
                "police_max": f.max_queued,
                "grid_mean": (end["q_grid"] - snap["q_grid"]) / span,
                "grid_max": w.max_queued,
                "police_tasks_in_system_mean": (end["q_police"] - snap["q_police"] + busy_min[POLICE]) / span,
                # 110 incidents between ready-for-dispatch and their first unit freeing (Little's law check)
                "incidents_110_in_system_mean": (end["p110"] - snap["p110"]) / span,
            },
            "hotline": self.hotline_centre.stats(self.warmup_min),
            "routing": self.routing.level_stats(),
            "departments": self.departments.stats(self.horizon_min),
            "grid_patrols": self.grid_patrols.stats(self.horizon_min),
            "events_processed": int(self.events_processed),
            "hourly": self.datacollector.get_model_vars_dataframe().to_dict(orient="list"),
        }

    def _police_unit_minutes(self) -> float:
        """Unit-minutes the roster puts on duty (less the unavailable share) inside the measured
        window and the police shifts: the denominator of the police busy share."""
        per_hour = self.police_fleet.on_duty_count.sum(axis=0)          # units available by hour of day
        total = 0.0
        for h in range(int(self.warmup_min // 60), int(np.ceil(self.horizon_min / 60))):
            lo, hi = max(h * 60.0, self.warmup_min), min((h + 1) * 60.0, self.horizon_min)
            if hi > lo:
                total += per_hour[h % 24] * on_duty_minutes(self.shifts[POLICE], lo, hi)
        return float(total)

    def release(self) -> None:
        """Let the model be garbage-collected (Mesa <= 3.4.1 keeps a reference in Agent._ids)."""
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)
        self.remove_all_agents()
