"""The 12345 hotline centre and its work-order platform.

Calls resolved on first contact never become work orders (demand generation keeps only their
count); the rest are registered and routed down through sub-center, workstation and grid,
the routing delays drawn up front per order (an unbuilt level pushes the order up a level and
adds its detour). When an order reaches its grid, the centre dispatches it to the grid
workforce.
"""

from __future__ import annotations

import mesa
import numpy as np

from gridsim.domain import SOURCE_CODE
from gridsim.engine.agencies.grid_workforce import GridWorkforce
from gridsim.engine.scheduler import Scheduler


class HotlineCentre(mesa.Agent):
    """Takes 12345 calls, files work orders, and hands routed orders to the grid workforce."""

    name = "hotline_centre"

    def __init__(self, model: mesa.Model, scheduler: Scheduler, workforce: GridWorkforce, calls: int,
                 first_contact_per_hour: np.ndarray):
        super().__init__(model)
        self.workforce = workforce
        self.calls = calls                                    # all 12345 calls of the run
        self.first_contact_per_hour = first_contact_per_hour  # calls resolved without a work order
        scheduler.register_arrivals(SOURCE_CODE["12345"], self.on_routed_order)

    def on_routed_order(self, e: int, t: float) -> None:
        """Work order e has been registered and routed to its grid: dispatch it."""
        self.workforce.dispatch_work_order(e, t)

    def first_contact_after(self, t_min: float) -> int:
        """Calls resolved on first contact from t_min on (whole hours)."""
        return int(self.first_contact_per_hour[int(t_min // 60):].sum())
