"""What every agency whose members take tasks shares: who is busy, busy minutes, releases, shifts.

Members are kept in flat lists indexed by the agency's own member number (hot state in arrays,
not one Python object per responder); the agency is the Mesa agent.
"""

from __future__ import annotations

from heapq import heappush

import mesa

from gridsim.domain import ROLES
from gridsim.engine.scheduler import Scheduler


class ResponderAgency(mesa.Agent):
    """Members with a role, a home unit and a position; busy bookkeeping and shift handlers.

    A subclass defines `free(i, t, kind)` (a member finished a task) and `shift_on(r, t, _)`
    (a role comes on duty: take the waiting work); they are registered here.
    """

    name = "agency"

    def __init__(self, model: mesa.Model, scheduler: Scheduler, roles: list[int], homes: list[int],
                 x: list[float], y: list[float], warmup_min: float, horizon_min: float):
        super().__init__(model)
        self.role = roles
        self.home = homes
        self.x, self.y = x, y
        self.busy = [False] * len(roles)
        self.on = [False] * len(ROLES)              # role on duty now
        self.busy_by_role = [0] * len(ROLES)        # members busy now, by role
        self.busy_min = [0.0] * len(ROLES)          # busy minutes inside the measured window, by role
        self.warm, self.horizon = warmup_min, horizon_min
        self.heap, self.seq = scheduler.heap, scheduler.seq
        self.kind_free = scheduler.register(f"{self.name}.free", self.free)
        self.kind_shift_on = scheduler.register(f"{self.name}.shift_on", self.shift_on)
        self.kind_shift_off = scheduler.register(f"{self.name}.shift_off", self.shift_off)

    def __len__(self) -> int:
        return len(self.role)

    def schedule_shifts(self, scheduler: Scheduler, shifts: dict[int, list[tuple[float, float]]]) -> None:
        """The on/off events of each role's on-duty intervals, as one series per agency."""
        events = []
        for r, intervals in shifts.items():
            for a, b in intervals:
                events.append((a, self.kind_shift_on, r))
                if b < self.horizon:
                    events.append((b, self.kind_shift_off, r))
        scheduler.push_series(f"{self.name}.shifts", events)

    def shift_off(self, r: int, t: float, _b=None) -> None:
        """A role goes off duty: nobody of it takes new work (a busy member finishes the job)."""
        self.on[r] = False

    def _occupy(self, i: int, r: int, t: float, t_free: float, kind: int) -> None:
        """Member i (role r) is busy from t to t_free: count it, book its busy minutes inside the
        measured window, and schedule its release."""
        self.busy[i] = True
        self.busy_by_role[r] += 1
        lo = t if t > self.warm else self.warm
        hi = t_free if t_free < self.horizon else self.horizon
        if hi > lo:
            self.busy_min[r] += hi - lo
        heappush(self.heap, (t_free, next(self.seq), self.kind_free, i, kind))   # Scheduler.push, inlined
