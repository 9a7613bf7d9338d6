"""The model the page steps, and what the page reads from it.

`LiveModel` is a Mesa model (SolaraViz steps and rebuilds Mesa models) wrapping one
`CityModel`: one step is one simulated hour (`CityModel.advance_to`, whose parts add up to
the uninterrupted run). `snapshot()` reads the running city without disturbing it: the
events table as it stands (`events_table(model, until=clock)`), counters, the judged stages
and the hourly samples of queues and busy responders by role.

Live judging: an event counts for a stage only once it is decided, i.e. it was called at
least its limit before the clock (the stage's target; rural grids may have a longer one); its share met and 95 % Wilson interval
are final then. Events are counted from t = 0 (the warm-up the batch statistics drop is
included: the page shows the city filling up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mesa
import numpy as np
import pandas as pd

from gridsim.analysis.metrics import stage_elapsed, wilson_interval
from gridsim.domain import ROLES, TARGET_KEY, TARGET_STAGES
from gridsim.engine.model import CityModel
from gridsim.results.table import events_table
from gridsim.scenario import load_scenario
from gridsim.viz.dashboard.controls import Controls

HOUR_MIN = 60.0


@dataclass(frozen=True)
class StageLive:
    """One target stage as judged so far: decided events, share met and its interval."""

    stage: str
    limit_min: float               # the scenario's target (rural grids may have a longer per-event limit)
    event_ids: np.ndarray          # the decided events (events-table event_id)
    elapsed: np.ndarray            # minutes, inf = not reached by the clock
    met_mask: np.ndarray           # per decided event: within its limit

    @property
    def met(self) -> int:
        return int(self.met_mask.sum())

    @property
    def n(self) -> int:
        return int(self.elapsed.size)

    @property
    def share(self) -> float:
        return self.met / self.n if self.n else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.met, self.n) if self.n else (math.nan, math.nan)


@dataclass
class Snapshot:
    """The running city at one clock reading (what every panel draws)."""

    clock_min: float
    horizon_min: float
    events: pd.DataFrame           # called by the clock, stage times reached by then
    stages: dict[str, StageLive]
    hourly: pd.DataFrame           # one row per hour sampled: queues, busy and utilisation by role
    police_xy: np.ndarray          # (units, 2) km
    police_busy: np.ndarray        # bool per unit
    workers_busy_xy: np.ndarray    # (busy grid workers, 2) km
    counters: dict[str, int] = field(default_factory=dict)


def clock_text(clock_min: float) -> str:
    """'day 1 06:00' (day counted from 1, time of day of the simulated clock)."""
    m = int(round(clock_min))
    return f"day {m // 1440 + 1} {m % 1440 // 60:02d}:{m % 60:02d}"


class LiveModel(mesa.Model):
    """A CityModel stepped an hour at a time, built from a base scenario and the page's controls.

    Building raises ScenarioError for a bad control value (nothing else is changed then)."""

    def __init__(self, scenario: str | None = None, controls: Controls | None = None):
        base = load_scenario(scenario)
        controls = controls if controls is not None else Controls.from_scenario(base)
        spec = load_scenario(scenario, controls.overrides(base))
        super().__init__(rng=np.random.SeedSequence(controls.seed))
        self.scenario_ref, self.controls, self.spec = scenario, controls, spec
        self.city_model = CityModel(spec)
        self.samples: list[dict] = []
        self._cache: Snapshot | None = None
        self._sample()

    @property
    def clock(self) -> float:
        return self.city_model.clock

    @property
    def finished(self) -> bool:
        return self.city_model.finished

    def step(self) -> None:
        """One simulated hour."""
        cm = self.city_model
        if cm.finished:
            self.running = False
            return
        cm.advance_to(cm.clock + HOUR_MIN)
        self._sample()
        self.running = not cm.finished

    def run_to_end(self) -> None:
        """Every remaining hour (samples kept hour by hour, as stepping would)."""
        while not self.city_model.finished:
            self.step()

    def _sample(self) -> None:
        """Queues, busy members and utilisation by role at the clock (one row per step)."""
        cm = self.city_model
        fleet, work = cm.police_fleet, cm.grid_workforce
        row = {"hour": cm.clock / HOUR_MIN, "police_queue": fleet.queued, "grid_queue": work.queued}
        counts = np.bincount(np.array(fleet.role + work.role, dtype=np.int64), minlength=len(ROLES))
        for r, role in enumerate(ROLES):
            busy = fleet.busy_by_role[r] + work.busy_by_role[r]
            on_duty = counts[r] if (fleet.on[r] or work.on[r]) else 0
            row[f"busy.{role}"] = busy
            row[f"util.{role}"] = busy / on_duty if on_duty else math.nan
        if self.samples and self.samples[-1]["hour"] == row["hour"]:
            self.samples[-1] = row
        else:
            self.samples.append(row)

    def snapshot(self) -> Snapshot:
        """The city as it stands (cached until the clock moves)."""
        if self._cache is not None and self._cache.clock_min == self.clock:
            return self._cache
        cm = self.city_model
        clock = self.clock
        events = events_table(cm, until=clock)
        targets = self.spec.targets
        stages = {}
        t_call = events["t_call"].to_numpy()
        for stage in TARGET_STAGES:
            rows = stage_elapsed(events, stage, targets, clock)
            ids = rows["event_id"].to_numpy()
            decided = t_call[ids] <= clock - rows["limit"].to_numpy(dtype=float)
            stages[stage] = StageLive(stage, float(getattr(targets, TARGET_KEY[stage])), ids[decided],
                                      rows["elapsed"].to_numpy(dtype=float)[decided],
                                      rows["met"].to_numpy(dtype=bool)[decided])
        fleet, work = cm.police_fleet, cm.grid_workforce
        busy_w = np.flatnonzero(np.asarray(work.busy, dtype=bool))
        snap = Snapshot(
            clock_min=clock, horizon_min=cm.horizon_min, events=events, stages=stages,
            hourly=pd.DataFrame(self.samples),
            police_xy=np.column_stack([fleet.x, fleet.y]) if fleet.x else np.empty((0, 2)),
            police_busy=np.asarray(fleet.busy, dtype=bool),
            workers_busy_xy=np.column_stack([np.asarray(work.x)[busy_w], np.asarray(work.y)[busy_w]]),
            counters={"events": len(events), "open": int(events["open"].sum()),
                      "police_busy": int(sum(fleet.busy)), "police_units": len(fleet.busy),
                      "workers_busy": int(len(busy_w)), "queued": int(fleet.queued + work.queued)})
        self._cache = snap
        return snap
