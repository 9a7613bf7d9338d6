"""The work clock: China's 2018 working days (holidays and make-up days), office hours, both
conversions, limits on either clock, and one-line errors for bad calendars."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest

from gridsim.engine.workclock import WorkClock
from gridsim.scenario import ScenarioError

HOURS = (8.5, 17.5)                     # 9 working hours = 540 working minutes a day
DAY = 1440.0


def at(day: int, hour: float) -> float:
    return day * DAY + hour * 60.0


@pytest.fixture(scope="module")
def march() -> WorkClock:
    return WorkClock(dt.date(2018, 3, 5), 14, HOURS, "CN")          # starts on a Monday


@pytest.fixture(scope="module")
def spring() -> WorkClock:
    return WorkClock(dt.date(2018, 2, 5), 28, HOURS, "CN")          # Monday 2018-02-05


def test_friday_afternoon_case_finishes_monday_morning(march):
    fri_17 = at(4, 17.0)
    done = march.calendar_at(march.work_at(fri_17) + 60.0)
    assert done == at(7, 9.0)                                       # Monday 09:00 (30 min Fri + 30 min Mon)
    assert march.due(fri_17, 60.0, "working") == at(7, 9.0)
    assert march.due(fri_17, 60.0, "calendar") == fri_17 + 60.0
    closes_at_5 = WorkClock(dt.date(2018, 3, 5), 14, (8.5, 17.0), "CN")
    assert closes_at_5.due(fri_17, 60.0, "working") == at(7, 9.5)   # all 60 min on Monday from 08:30


def test_work_ending_at_close_of_day_ends_then(march):
    assert march.calendar_at(540.0) == at(0, 17.5)                  # not Tuesday 08:30
    assert march.calendar_at(541.0) == at(1, 8.5) + 1.0
    assert march.calendar_at(0.0) == 0.0


def test_work_at_counts_office_hours_of_working_days_only(march):
    assert march.work_at(at(0, 8.0)) == 0.0
    assert march.work_at(at(0, 12.0)) == 210.0
    assert march.work_at(at(0, 20.0)) == 540.0
    assert march.work_at(at(5, 12.0)) == 5 * 540.0                  # Saturday: nothing added
    assert march.work_at(at(7, 8.5)) == 5 * 540.0
    assert march.working_days(at(0, 8.5), at(7, 8.5)) == pytest.approx(5.0)


def test_spring_festival_2018_pauses_work_and_makeup_sunday_works(spring):
    # 2018-02-11 (day 6) is a make-up working Sunday; 2018-02-15..21 (days 10..16) are off;
    # Saturday 2018-02-24 (day 19) is a make-up working day too
    working = [spring.is_working_day(d) for d in range(28)]
    assert working[6] and working[19]
    assert not any(working[10:17])
    assert working[17]                                              # Thursday 2018-02-22: back at work
    # a case started Wednesday 2018-02-14 at 17:00 with 60 working minutes ends Thursday 22nd 09:00
    assert spring.due(at(9, 17.0), 60.0, "working") == at(17, 9.0)
    # Sunday 11th counts, the holiday week does not
    assert spring.working_days(at(5, 0.0), at(7, 0.0)) == pytest.approx(1.0)
    assert spring.working_days(at(10, 0.0), at(17, 0.0)) == 0.0


def test_array_forms_match_scalars_and_keep_nan(spring):
    rng = np.random.default_rng(7)
    t = rng.uniform(0.0, 27 * DAY, 500)
    w = spring.work_at_many(t)
    assert np.array_equal(w, [spring.work_at(x) for x in t])
    back = spring.calendar_at_many(w)
    assert np.array_equal(back, [spring.calendar_at(x) for x in w])
    assert np.allclose(spring.work_at_many(back), w)                # a round trip keeps the work
    assert (back <= t + 1e-9).all()                                 # ... and is never later than t
    limits = rng.uniform(0.0, 5 * 540.0, 500)
    assert np.array_equal(spring.due(t, limits, "working"), [spring.due(a, b, "working") for a, b in zip(t, limits)])
    out = spring.due(np.array([at(9, 17.0), np.nan]), 60.0, "working")
    assert out[0] == at(17, 9.0) and np.isnan(out[1])
    assert np.isnan(spring.working_days(np.array([np.nan]), np.array([at(1, 0)])))[0]


def test_clock_extends_past_the_horizon_and_says_when_outside():
    c = WorkClock(dt.date(2018, 3, 5), 1, HOURS, "CN", extend_days=60)
    assert c.due(at(0, 23.0), 10 * 540.0, "working") == at(14, 17.5)   # two weeks on, past a 1-day run
    with pytest.raises(ValueError, match="extend_days"):
        c.work_at(61 * DAY)
    with pytest.raises(ValueError, match="extend_days"):
        c.calendar_at(1e9)
    with pytest.raises(ValueError, match="unknown clock"):
        c.due(0.0, 1.0, "lunar")


def test_bad_calendars_are_one_line_scenario_errors():
    with pytest.raises(ScenarioError) as bad:
        WorkClock(dt.date(2018, 3, 5), 1, HOURS, "XX", label="s.toml")
    assert bad.value.key == "calendar.holidays" and "unknown country code" in str(bad.value)
    with pytest.raises(ScenarioError) as bad:
        WorkClock(dt.date(1990, 3, 5), 1, HOURS, "CN", label="s.toml")     # before the package's schedules
    assert bad.value.key == "calendar.start_date" and "2001" in str(bad.value)
    with pytest.raises(ScenarioError) as bad:
        WorkClock(dt.date(2099, 3, 5), 1, HOURS, "CN", label="s.toml")     # not announced yet
    assert bad.value.key == "calendar.start_date"
    with pytest.raises(ScenarioError) as bad:
        WorkClock(dt.date(2018, 3, 5), 1, (17.5, 8.5), "CN", label="s.toml")
    assert bad.value.key == "calendar.workday_hours"


def test_a_year_clock_builds_fast():
    WorkClock(dt.date(2018, 3, 5), 1, HOURS, "CN")                    # the package's one-off imports
    t0 = time.perf_counter()
    WorkClock(dt.date(2018, 3, 5), 365, HOURS, "CN")
    assert time.perf_counter() - t0 < 0.05


def test_clock_of_the_builtin_scenario_and_a_year_without_a_schedule():
    from gridsim.scenario import load_scenario

    spec = load_scenario(None)
    clock = WorkClock.for_run(spec)
    assert clock.start_date == dt.date(2018, 3, 5) and clock.day_min == 540.0
    assert clock.due(at(0, 9.0), 60.0, "working") == at(0, 10.0)
    # 2030 passes the package's year range but no make-up-day schedule is known for it yet: the
    # scenario is refused when it is loaded (validation shares the clock's rule), not mid-run
    with pytest.raises(ScenarioError) as bad:
        spec.copy_with({"calendar.start_date": "2030-03-04"})
    assert bad.value.file == "--set" and bad.value.key == "calendar.start_date"
    assert "working-day schedule" in bad.value.problem
