"""The stage times the event loop writes: one preallocated slot per event and stage.

Agencies write stage times into `array.array('d')` columns (fast item assignment, 8 bytes per
value); `gridsim.results.table` turns them into the events table. Times are minutes from the
start of the run; NaN means the stage does not apply or was not reached.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

NAN = math.nan

TIME_COLUMNS = ["t_dispatch", "t_arrive", "t_done", "t_report", "t_verify", "t_close", "t_coarrive"]
SPARSE_TIME_COLUMNS = ["t_support", "t_cordon", "t_units", "t_found"]
SPARSE_COLUMNS = SPARSE_TIME_COLUMNS + ["preempted", "fixed_on_spot", "police_released"]
"""Rare per-event facts kept as {event: value} (memory: a year has ~9 M events)."""


class EventRecords:
    """Columns the event loop fills in, one slot per event, preallocated."""

    def __init__(self, n: int):
        self.n = n
        blank = array("d", [NAN]) * n
        for col in TIME_COLUMNS:
            setattr(self, col, array("d", blank))
        self.responder_role = array("b", [-1]) * n
        self.coresponder_role = array("b", [-1]) * n
        self.responder_borrowed = array("b", [0]) * n
        self.travel_min = array("f", [NAN]) * n       # first responder's travel time (float32: memory)
        self.t_units: dict[int, float] = {}           # 110 sending several units: the last one on scene
        self.t_support: dict[int, float] = {}         # 110 needing regional support: the last support unit on scene
        self.t_cordon: dict[int, float] = {}          # 110 needing a cordon: the last checkpoint held
        self.preempted: dict[int, int] = {}           # routine 110 incidents: times their unit was taken
        self.t_found: dict[int, float] = {}           # hazards: when a patrol found it
        self.fixed_on_spot: dict[int, int] = {}       # patrol-found matters the finder fixed at once (1)
        self.police_released: dict[int, float] = {}   # 110 a grid worker mediates: police minutes saved

    def time_array(self, col: str) -> np.ndarray:
        return np.frombuffer(getattr(self, col), dtype=np.float64)

    @property
    def scene_reported(self) -> dict[int, float]:
        """110 with linkage: {event: minutes the co-responding grid worker was on scene before the
        first police unit}, who then reported the scene. Derived from t_coarrive and t_arrive, not
        stored during the run (about 4,000 incidents a day)."""
        co, arr = self.time_array("t_coarrive"), self.time_array("t_arrive")
        first = np.flatnonzero(co < arr)
        return dict(zip(first.tolist(), (arr[first] - co[first]).tolist()))

    def copy(self) -> "EventRecords":
        """An independent copy (a snapshot of a run in progress)."""
        out = EventRecords(0)
        out.n = self.n
        for col in TIME_COLUMNS + ["responder_role", "coresponder_role", "responder_borrowed", "travel_min"]:
            setattr(out, col, array(getattr(self, col).typecode, getattr(self, col)))
        for col in SPARSE_COLUMNS:
            setattr(out, col, dict(getattr(self, col)))
        return out
