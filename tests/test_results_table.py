"""The events table from the loop's records: horizon masking, open events, role columns."""

from __future__ import annotations

import math

import numpy as np

from gridsim.domain import FULLTIME, POLICE
from gridsim.engine.records import EventRecords
from gridsim.results.table import COLUMNS, to_frame


def test_stage_times_after_the_horizon_are_not_reached_and_the_event_stays_open():
    rec = EventRecords(3)
    # event 0: a 110 incident finished inside the run; 1: a work order closed after the end; 2: untouched
    rec.t_dispatch[0], rec.t_arrive[0], rec.t_done[0], rec.t_close[0] = 1.0, 4.0, 30.0, 30.0
    rec.responder_role[0] = POLICE
    rec.t_dispatch[1], rec.t_arrive[1], rec.t_done[1], rec.t_close[1] = 50.0, 55.0, 95.0, 130.0
    rec.responder_role[1], rec.responder_borrowed[1] = FULLTIME, 1
    base = {name: np.zeros(3) for name in COLUMNS}
    base["t_ready"] = np.array([0.5, 40.0, 120.0])
    df = to_frame(base, rec, horizon_min=100.0)
    assert list(df.columns) == list(COLUMNS)
    assert df["open"].tolist() == [False, True, True]
    assert df.loc[1, "t_done"] == 95.0 and math.isnan(df.loc[1, "t_close"])
    assert math.isnan(df.loc[2, "t_ready"])                     # ready only after the end
    assert df["responder_role"].tolist() == ["police", "fulltime", ""]
    assert df["responder_borrowed"].tolist() == [False, True, False]
    assert df["coresponder_role"].tolist() == ["", "", ""]
