"""Responsible departments (职能部门): the offices that handle the work orders grid workers cannot.

One office per (department, division). Its day line is first come, first served with
`staff_per_division` case handlers who work office hours on working days only: it runs on the
WORK CLOCK (the arrival is mapped to working minutes, Lindley's recursion with c handlers runs
in working minutes, the end is mapped back), so work pauses overnight, at weekends and on public
holidays without a single event. The case then waits `lead` working minutes on others (owners,
contractors, parts; no handler busy) before it is reported back. Urgent orders go to the duty
line instead: `duty_staff_per_division` handlers round the clock, in calendar minutes (the lead
too: an urgent case's contractor is called out at once).

Handling and lead times are drawn before the run (per order) and passed in. One scheduler event
per case, when it is done. Which department handles which category is checked by the scenario's
validation (gridsim.scenario.validate: every work-order category has exactly one department,
staffed for what it must handle).
"""

from __future__ import annotations

import math

from heapq import heapreplace
from typing import Callable, Sequence

import mesa

from gridsim.engine.scheduler import Scheduler
from gridsim.engine.workclock import WorkClock
from gridsim.scenario import Scenario

Done = Callable[[int, float], None]
"""on_done(e, t): department case e was done (handled and its lead over) at t."""


def category_departments(spec: Scenario, category_names: Sequence[str]) -> list[int]:
    """Category index -> index of the department that handles it (order of spec.departments),
    -1 for categories no department handles (110 categories, minor_share = 1)."""
    owner = {c: d for d, dep in enumerate(spec.departments.values()) for c in dep.categories}
    return [owner.get(name, -1) for name in category_names]


class Departments(mesa.Agent):
    """Every department's office in every division: queues, backlogs and busy time."""

    name = "departments"

    def __init__(self, model: mesa.Model, scheduler: Scheduler, clock: WorkClock, names: Sequence[str],
                 staff: Sequence[int], duty_staff: Sequence[int], n_divisions: int,
                 warmup_min: float, horizon_min: float, on_done: Done):
        """`names`, `staff` (day line) and `duty_staff` (round the clock) per department, per
        division office; the measured window is [warmup_min, horizon_min] (calendar minutes)."""
        super().__init__(model)
        self.names = list(names)
        self.clock, self.n_div = clock, int(n_divisions)
        self.staff, self.duty_staff = list(staff), list(duty_staff)
        offices = [(d, v) for d in range(len(self.names)) for v in range(self.n_div)]
        self.day_free = [[0.0] * self.staff[d] for d, _ in offices]       # handlers' free times, working min
        self.duty_free = [[0.0] * self.duty_staff[d] for d, _ in offices]  # duty handlers' free times, calendar min
        n = len(self.names)
        self.open = [0] * n                     # cases handed over and not yet done, per department
        self.cases = [0] * n                    # cases handed over inside the measured window
        self.day_wait_work = [0.0] * n          # their summed waits for a day-line handler, working min
        self.day_cases = [0] * n
        self.day_busy_work = [0.0] * n          # day-line handler working minutes inside the window
        self.duty_busy = [0.0] * n              # duty handler calendar minutes inside the window
        self.open_area = [0.0] * n              # integral of open cases over the window (case-minutes)
        self.open_since = [0.0] * n
        self.warm, self.horizon = warmup_min, horizon_min
        self.warm_work, self.horizon_work = clock.work_at(warmup_min), clock.work_at(horizon_min)
        self.on_done = on_done
        self.work_span = float(clock.cum_end[-1])          # working minutes the clock reaches
        self.push = scheduler.push
        self.kind_done = scheduler.register(f"{self.name}.done", self._done)

    def assign(self, e: int, t: float, dept: int, division: int, urgent: bool, handling_min: float,
               lead_min: float) -> float:
        """Hand case e to department `dept`'s office in `division` at calendar minute t; returns
        when it will be done (one event then calls on_done). Handling and lead are in working
        minutes on the day line, calendar minutes on the duty line (urgent)."""
        o = dept * self.n_div + division
        in_window = self.warm <= t <= self.horizon
        if urgent:
            free = self.duty_free[o]
            if not free:
                raise ValueError(f"department {self.names[dept]} has no duty staff for urgent case {e}")
            start = t if t >= free[0] else free[0]
            end = start + handling_min
            heapreplace(free, end)
            t_done = end + lead_min
            lo, hi = max(start, self.warm), min(end, self.horizon)
            if hi > lo:
                self.duty_busy[dept] += hi - lo
        else:
            free = self.day_free[o]
            if not free:
                raise ValueError(f"department {self.names[dept]} has no day staff for case {e}")
            w = self.clock.work_at(t)
            start = w if w >= free[0] else free[0]
            end = start + handling_min
            heapreplace(free, end)
            w_done = end + lead_min
            # a backlog may push the case past the clock's reach (120 days after the run): not done within it
            t_done = max(t, self.clock.calendar_at(w_done)) if w_done <= self.work_span else math.inf
            lo, hi = max(start, self.warm_work), min(end, self.horizon_work)
            if hi > lo:
                self.day_busy_work[dept] += hi - lo
            if in_window:
                self.day_cases[dept] += 1
                self.day_wait_work[dept] += start - w
        if in_window:
            self.cases[dept] += 1
        self._advance_open(dept, t)
        self.open[dept] += 1
        self.push(t_done, self.kind_done, e, dept)
        return t_done

    def _done(self, e: int, t: float, dept: int) -> None:
        self._advance_open(dept, t)
        self.open[dept] -= 1
        self.on_done(e, t)

    def _advance_open(self, dept: int, t: float) -> None:
        """Add the open cases since the last change to the window's case-minutes."""
        lo, hi = max(self.open_since[dept], self.warm), min(t, self.horizon)
        if hi > lo:
            self.open_area[dept] += self.open[dept] * (hi - lo)
        self.open_since[dept] = t

    def advance(self, t: float) -> None:
        """Bring the backlog integrals up to t (the end of the warm-up, the horizon)."""
        for d in range(len(self.names)):
            self._advance_open(d, t)

    def backlog(self) -> dict[str, int]:
        """Open cases per department now (the hourly sample)."""
        return dict(zip(self.names, self.open))

    @property
    def open_cases(self) -> int:
        """Open cases of all departments now."""
        return sum(self.open)

    def stats(self, now: float) -> dict[str, dict]:
        """Per department, inside the measured window up to `now` (the horizon after a run):
        cases handed over, mean backlog (open cases), mean wait for a day-line handler (working
        minutes), the day line's busy share of its working time and the duty line's busy share of
        the clock; open now."""
        self.advance(now)
        end = min(now, self.horizon)
        span = end - self.warm
        work_span = self.clock.work_at(end) - self.warm_work
        out = {}
        for d, name in enumerate(self.names):
            day_cap = self.staff[d] * self.n_div * work_span
            duty_cap = self.duty_staff[d] * self.n_div * span
            out[name] = {
                "cases": self.cases[d],
                "open_end": self.open[d],
                "mean_backlog": self.open_area[d] / span if span > 0 else None,
                "day_mean_wait_work_min": self.day_wait_work[d] / self.day_cases[d] if self.day_cases[d] else None,
                "day_busy_share": self.day_busy_work[d] / day_cap if day_cap > 0 else None,
                "duty_busy_share": self.duty_busy[d] / duty_cap if duty_cap > 0 else None,
            }
        return out
