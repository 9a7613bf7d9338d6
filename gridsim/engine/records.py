"""Per-event records: one flat row per event, preallocated columns, then a typed table.

The event loop writes stage times into `array.array('d')` columns (fast item assignment,
8 bytes per value); `to_frame` turns them into a pandas DataFrame with categorical strings,
and `write_parquet` stores it. Times are minutes from the start of the run; NaN means the
stage does not apply or was not reached before the end. Column meanings are in COLUMNS.
"""

from __future__ import annotations

import math
from array import array

import numpy as np
import pandas as pd

NAN = math.nan

# name -> meaning (kept next to the code that writes them, and printed in the README)
COLUMNS = {
    "event_id": "row number, in order of t_call",
    "source": "'110' police incident | '12345' hotline work order | 'grid' patrol report",
    "category": "event category (scenario [categories.*])",
    "priority": "'urgent' | 'routine'",
    "grid_id": "grid the event happened in",
    "workstation_id": "its workstation",
    "subcenter_id": "its sub-center",
    "division": "its county-level division",
    "urban": "the grid is urban (verification deadline 1 h, else 2 h)",
    "handled_level": "work orders: 'workstation' | 'subcenter' | 'division' (unbuilt levels push it up); 110: 'police'",
    "t_call": "entered the system: the call, or the patrol report",
    "t_ready": "ready for dispatch: after 110 triage, or after work-order registration and routing hops",
    "t_dispatch": "a responder is assigned and sets out (target: respond within 3 min of t_call)",
    "t_arrive": "first responder on scene (target 5 min)",
    "t_done": "on-scene handling finished",
    "t_support": "last regional-support unit on scene (target 15 min)",
    "t_cordon": "last cordon checkpoint reached (target 30 min)",
    "t_report": "work order: handling reported back to the platform",
    "t_verify": "work order: on-site verification by the grid's own worker finished",
    "t_close": "closed (110: on-scene handling finished)",
    "t_coarrive": "110 with grid linkage: co-responding grid worker on scene",
    "needs_support": "extra units needed for regional support (0 = none)",
    "needs_cordon": "checkpoints needed for a city-wide cordon (0 = none)",
    "responder_role": "role of the first responder: police | fulltime | leader | parttime ('' = none yet)",
    "responder_borrowed": "the first responder came from a neighbouring grid / sub-center",
    "coresponder_role": "role of the co-responding grid worker ('' = none available)",
    "deadline_register_dispatch_min": "work order: limit for t_dispatch - t_call",
    "deadline_verify_min": "work order: limit for t_verify - t_report",
    "deadline_close_min": "work order: limit for t_close - t_call",
    "open": "not closed by the end of the run (kept, never dropped)",
}

TIME_COLUMNS = ["t_dispatch", "t_arrive", "t_done", "t_support", "t_cordon", "t_report",
                "t_verify", "t_close", "t_coarrive"]
ROLE_NAMES = ["police", "fulltime", "leader", "parttime"]


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

    def time_array(self, col: str) -> np.ndarray:
        return np.frombuffer(getattr(self, col), dtype=np.float64)


def _role_column(codes: array, present: np.ndarray) -> pd.Categorical:
    """Role codes -> categorical names; '' where the stage did not happen within the run."""
    arr = np.frombuffer(codes, dtype=np.int8).astype(np.int8) + 1
    arr[~present] = 0
    return pd.Categorical.from_codes(arr, categories=[""] + ROLE_NAMES)


def to_frame(static: dict, rec: EventRecords, horizon_min: float) -> pd.DataFrame:
    """The events table: static per-event columns (from demand) plus the loop's stage times.

    Stage times after the horizon did not happen within the run: they become NaN and the event
    is marked open. The columns are assembled without copies (the record buffers are masked in
    place), which matters for year-long runs with millions of rows.
    """
    cols = dict(static)
    t_ready = np.asarray(cols["t_ready"])
    t_ready[t_ready > horizon_min] = NAN
    for col in TIME_COLUMNS:
        t = rec.time_array(col)
        t[t > horizon_min] = NAN
        cols[col] = t
    dispatched = ~np.isnan(cols["t_dispatch"])
    cols["responder_role"] = _role_column(rec.responder_role, dispatched)
    cols["responder_borrowed"] = np.frombuffer(rec.responder_borrowed, dtype=np.int8).astype(bool) & dispatched
    cols["coresponder_role"] = _role_column(rec.coresponder_role, ~np.isnan(cols["t_coarrive"]))
    cols["open"] = np.isnan(cols["t_close"])
    return pd.DataFrame({name: cols[name] for name in COLUMNS}, copy=False)

