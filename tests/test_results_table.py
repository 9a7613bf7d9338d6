"""The events table from the loop's records: horizon masking, open events, role columns,
hazards entering when found, where orders were routed, and due times on their own clocks."""

from __future__ import annotations

import datetime as dt
import math
from array import array

import numpy as np
import pandas as pd
import pytest

from gridsim.domain import FULLTIME, HANDLED_LEVELS, POLICE, SOURCES
from gridsim.engine.records import EventRecords
from gridsim.engine.workclock import WorkClock
from gridsim.results.table import COLUMNS, to_frame

NAN = math.nan
DAY = 1440.0
FRIDAY_19H = 4 * DAY + 19 * 60.0          # the run starts Monday 2018-03-05; Friday 9 March, 19:00
MONDAY_NOON = 7 * DAY + 12 * 60.0         # Monday 12 March, 12:00 (the weekend in between)
WORKDAY_MIN = 9 * 60.0                    # office hours 08:30-17:30


@pytest.fixture(scope="module")
def clock() -> WorkClock:
    return WorkClock(dt.date(2018, 3, 5), 14, (8.5, 17.5), "CN")


def _columns(n: int, sources: list[str], handler: list[str]) -> dict:
    """The per-event columns event_columns would give, zeros where a test does not care."""
    cols = {name: np.zeros(n) for name in COLUMNS}
    cols["source"] = pd.Categorical(sources, categories=list(SOURCES))
    cols["handler"] = pd.Categorical(handler, categories=["", "grid", "urban_management"])
    for name in ("t_onset", "t_answer"):
        cols[name] = np.full(n, NAN)
    for stage in ("register_dispatch", "verify", "close"):
        cols[f"limit_{stage}"] = np.full(n, NAN)
        cols[f"working_{stage}"] = np.zeros(n, dtype=bool)
    return cols


def _levels(*codes: int) -> array:
    return array("b", codes)


def test_stage_times_after_the_horizon_are_not_reached_and_the_event_stays_open(clock):
    rec = EventRecords(4)
    # 0: a 110 incident finished inside the run; 1: a work order closed after the end; 2: untouched;
    # 3: a hazard that arose inside the run and was found only after it
    rec.t_dispatch[0], rec.t_arrive[0], rec.t_done[0], rec.t_close[0] = 1.0, 4.0, 30.0, 30.0
    rec.responder_role[0] = POLICE
    rec.t_dispatch[1], rec.t_arrive[1], rec.t_done[1], rec.t_close[1] = 50.0, 55.0, 95.0, 130.0
    rec.responder_role[1], rec.responder_borrowed[1] = FULLTIME, 1
    rec.t_found[3] = 150.0
    cols = _columns(4, ["110", "12345", "12345", "grid"], ["", "grid", "urban_management", "grid"])
    cols["t_ready"] = np.array([0.5, 40.0, 120.0, 60.0])
    cols["t_call"] = cols["t_first_call"] = np.array([0.5, 40.0, 90.0, 60.0])
    cols["t_onset"] = np.array([NAN, NAN, NAN, 60.0])
    df = to_frame(cols, rec, 100.0, clock, _levels(-1, HANDLED_LEVELS.index("subcenter"), -1, -1))
    assert list(df.columns) == list(COLUMNS)
    assert df["open"].tolist() == [False, True, True, True]
    assert df.loc[1, "t_done"] == 95.0 and math.isnan(df.loc[1, "t_close"])
    assert math.isnan(df.loc[2, "t_ready"])                     # ready only after the end
    assert df["responder_role"].tolist() == ["police", "fulltime", "", ""]
    assert df["responder_borrowed"].tolist() == [False, True, False, False]
    assert df["coresponder_role"].tolist() == ["", "", "", ""]
    # a hazard enters the system when found: not yet within the run, its onset kept
    assert df.loc[3, "t_onset"] == 60.0 and math.isnan(df.loc[3, "t_call"]) and math.isnan(df.loc[3, "t_first_call"])
    # where each was routed: 110 by the police, the order at its sub-center, the rest not routed
    assert df["handled_level"].tolist() == ["police", "subcenter", "", ""]


def test_a_found_hazard_takes_its_finding_time_as_t_call(clock):
    rec = EventRecords(1)
    rec.t_found[0] = 75.0
    cols = _columns(1, ["grid"], ["grid"])
    cols["t_call"] = cols["t_first_call"] = cols["t_ready"] = cols["t_onset"] = np.array([20.0])
    df = to_frame(cols, rec, 100.0, clock, _levels(-1))
    assert (df.loc[0, "t_onset"], df.loc[0, "t_call"], df.loc[0, "t_first_call"]) == (20.0, 75.0, 75.0)


def test_due_times_on_a_working_clock_from_a_friday_evening(clock):
    """An order called Friday 19:00: the 30-min register limit runs on the calendar (19:30); a
    3-working-day close limit starts counting Monday 08:30 and runs out Wednesday 17:30; the
    verify limit (60 working min) from a report at Friday 17:00 uses Friday's last 30 min and
    Monday's first 30 (09:00). The same close limit on the calendar clock: Monday 19:00.
    Working days to close: Monday 08:30-12:00 = 3.5 h of a 9 h day; open: to the end of the run."""
    rec = EventRecords(2)
    for e in (0, 1):
        rec.t_report[e] = 4 * DAY + 17 * 60.0
    rec.t_close[0] = MONDAY_NOON
    cols = _columns(2, ["12345", "12345"], ["urban_management", "urban_management"])
    cols["t_call"] = cols["t_first_call"] = np.array([FRIDAY_19H, FRIDAY_19H])
    cols["t_ready"] = cols["t_call"] + 5.0
    cols["limit_register_dispatch"] = np.array([30.0, 30.0])
    cols["limit_verify"], cols["working_verify"] = np.array([60.0, 60.0]), np.array([True, True])
    cols["limit_close"] = np.array([3 * WORKDAY_MIN, 3 * DAY])
    cols["working_close"] = np.array([True, False])
    horizon = 14 * DAY
    df = to_frame(cols, rec, horizon, clock, _levels(1, 1))
    assert df["due_register_dispatch"].tolist() == [FRIDAY_19H + 30.0] * 2
    assert df.loc[0, "due_close"] == pytest.approx(9 * DAY + 17.5 * 60)         # Wednesday 14 March, 17:30
    assert df.loc[1, "due_close"] == pytest.approx(FRIDAY_19H + 3 * DAY)         # Monday 12 March, 19:00
    assert df["due_verify"].tolist() == pytest.approx([7 * DAY + 9 * 60.0] * 2)  # Monday 09:00
    assert df.loc[0, "wd_to_close"] == pytest.approx(3.5 / 9.0)
    # still open at the end of a 14-day run (it ends as Monday 19 March begins): Monday 12 to Friday 16 March
    assert df.loc[1, "open"] and df.loc[1, "wd_to_close"] == pytest.approx(5.0)


def test_110_rows_have_no_work_order_due_times(clock):
    rec = EventRecords(1)
    rec.t_dispatch[0], rec.t_close[0] = 2.0, 40.0
    cols = _columns(1, ["110"], [""])
    cols["t_call"] = cols["t_first_call"] = cols["t_ready"] = np.array([1.0])
    df = to_frame(cols, rec, 100.0, clock, _levels(-1))
    assert all(math.isnan(df.loc[0, c]) for c in ("due_register_dispatch", "due_verify", "due_close", "wd_to_close"))
