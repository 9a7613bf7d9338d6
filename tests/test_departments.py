"""Responsible departments: the day line on the work clock (weekends, China's 2018 holidays and
make-up days), the duty line round the clock, Erlang C in working time, backlog and busy share."""

from __future__ import annotations

import datetime as dt

import mesa
import numpy as np
import pytest

from gridsim.analysis.theory import mmc_mean_wait
from gridsim.engine.agencies.departments import Departments, category_departments
from gridsim.engine.scheduler import Scheduler
from gridsim.engine.workclock import WorkClock
from gridsim.scenario import load_scenario

DAY = 1440.0


def at(day: int, hour: float) -> float:
    return day * DAY + hour * 60.0


def departments(clock, staff=1, duty=1, warm=0.0, horizon=None, n_div=1):
    sch = Scheduler()
    done: dict[int, float] = {}
    dep = Departments(mesa.Model(), sch, clock, ["housing"], [staff], [duty], n_div, warm,
                      horizon if horizon is not None else clock.days * DAY,
                      lambda e, t: done.__setitem__(e, t))
    return sch, dep, done


def test_friday_17h_case_with_an_hour_of_handling_is_done_monday_0930():
    clock = WorkClock(dt.date(2018, 3, 5), 14, (8.5, 17.0), "CN")       # office closes at 17:00
    sch, dep, done = departments(clock)
    assert dep.assign(0, at(4, 17.0), 0, 0, False, 60.0, 0.0) == at(7, 9.5)
    sch.run_until(at(7, 9.0))
    assert done == {} and dep.open_cases == 1
    sch.run_until(at(8, 0.0))
    assert done == {0: at(7, 9.5)} and dep.open_cases == 0


def test_lead_time_counts_working_minutes_and_does_not_hold_a_handler():
    clock = WorkClock(dt.date(2018, 3, 5), 14, (8.5, 17.5), "CN")
    _, dep, _ = departments(clock)
    # Monday 09:00: 30 min handling, then a 540-minute (one working day) lead
    assert dep.assign(0, at(0, 9.0), 0, 0, False, 30.0, 540.0) == at(1, 9.5)
    # the handler is free again at 09:30 on Monday, not after the lead
    assert dep.assign(1, at(0, 9.0), 0, 0, False, 10.0, 0.0) == at(0, 9.0 + 40 / 60)


def test_spring_festival_2018_pauses_the_day_line_and_the_makeup_sunday_works():
    clock = WorkClock(dt.date(2018, 2, 5), 28, (8.5, 17.5), "CN")       # Monday 2018-02-05
    _, dep, _ = departments(clock)
    # Saturday 2018-02-10 noon -> the make-up working Sunday 2018-02-11 (day 6), 08:30 + 60 min
    assert dep.assign(0, at(5, 12.0), 0, 0, False, 60.0, 0.0) == at(6, 9.5)
    # Wednesday 2018-02-14 16:30 with 2 h: 1 h that day, the rest after the holiday week (Thu 22nd)
    assert dep.assign(1, at(9, 16.5), 0, 0, False, 120.0, 0.0) == at(17, 9.5)
    # nothing is done during the holiday week 2018-02-15..21 (days 10..16)
    assert dep.assign(2, at(12, 10.0), 0, 0, False, 1.0, 0.0) >= at(17, 9.5)


def test_urgent_cases_go_to_the_duty_line_round_the_clock():
    clock = WorkClock(dt.date(2018, 3, 5), 14, (8.5, 17.5), "CN")
    _, dep, _ = departments(clock, staff=1, duty=2)
    sunday_2h = at(6, 2.0)
    assert dep.assign(0, sunday_2h, 0, 0, True, 45.0, 30.0) == sunday_2h + 75.0
    assert dep.assign(1, sunday_2h, 0, 0, True, 45.0, 0.0) == sunday_2h + 45.0     # the second duty handler
    assert dep.assign(2, sunday_2h, 0, 0, True, 10.0, 0.0) == sunday_2h + 55.0     # waits for the first free
    _, no_duty, _ = departments(clock, duty=0)
    with pytest.raises(ValueError, match="no duty staff"):
        no_duty.assign(0, sunday_2h, 0, 0, True, 1.0, 0.0)


def test_offices_are_per_division():
    clock = WorkClock(dt.date(2018, 3, 5), 14, (8.5, 17.5), "CN")
    _, dep, _ = departments(clock, n_div=2)
    assert dep.assign(0, at(0, 9.0), 0, 0, False, 60.0, 0.0) == at(0, 10.0)
    assert dep.assign(1, at(0, 9.0), 0, 1, False, 60.0, 0.0) == at(0, 10.0)   # the other division's handler
    assert dep.assign(2, at(0, 9.0), 0, 0, False, 60.0, 0.0) == at(0, 11.0)


def test_backlog_and_busy_share_in_working_time():
    clock = WorkClock(dt.date(2018, 3, 5), 1, (8.5, 17.5), "CN")
    sch, dep, _ = departments(clock, staff=2, duty=1)
    dep.assign(0, at(0, 8.5), 0, 0, False, 270.0, 0.0)          # half of one handler's working day
    dep.assign(1, at(0, 12.0), 0, 0, False, 270.0, 0.0)         # 12:00 -> 16:30
    sch.run_until(DAY)
    s = dep.stats(DAY)["housing"]
    assert s["cases"] == 2 and s["open_end"] == 0
    assert s["day_busy_share"] == pytest.approx(540.0 / (2 * 540.0))
    assert s["mean_backlog"] == pytest.approx((270.0 + 270.0) / DAY)
    assert s["day_mean_wait_work_min"] == 0.0 and s["duty_busy_share"] == 0.0
    assert dep.backlog() == {"housing": 0}


def test_day_line_matches_erlang_c_in_working_time():
    """Poisson arrivals in WORKING time (mapped to the calendar), exponential handling: in working
    minutes the day line is M/M/c; the mean wait of 30,000 cases (over 700 calendar days) is within
    15 % of Erlang C (seed fixed; over eight seeds the ratio spread 0.91-1.08, the waits of a
    loaded queue being strongly correlated)."""
    c, mean_h, rho = 3, 20.0, 0.75
    lam = rho * c / mean_h
    rng = np.random.default_rng(5)
    n = 30_000
    w = np.cumsum(rng.exponential(1.0 / lam, n)) + 540.0          # from Tuesday on
    h = rng.exponential(mean_h, n)
    clock = WorkClock(dt.date(2018, 3, 5), 800, (8.5, 17.5), "CN", extend_days=0)
    t = clock.calendar_at_many(w)
    warm = float(t[500])
    sch, dep, done = departments(clock, staff=c, duty=1, warm=warm, horizon=float(t[-1]))
    for e in range(n):
        sch.run_until(float(t[e]))
        dep.assign(e, float(t[e]), 0, 0, False, float(h[e]), 0.0)
    s = dep.stats(float(t[-1]))["housing"]
    assert s["day_mean_wait_work_min"] == pytest.approx(mmc_mean_wait(c, lam, 1.0 / mean_h), rel=0.15)
    assert s["day_busy_share"] == pytest.approx(rho, abs=0.03)


def test_category_departments_of_the_builtin_scenario():
    spec = load_scenario(None)
    names = list(spec.categories)
    owner = category_departments(spec, names)
    depts = list(spec.departments)
    for name, d in zip(names, owner):
        cat = spec.categories[name]
        if cat.source == "110":
            assert d == -1
        elif d >= 0:
            assert name in spec.departments[depts[d]].categories
