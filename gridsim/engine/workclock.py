"""The work clock: calendar minutes of a run <-> working minutes of its offices.

Administrative limits ("dispatch within 1 working day", "close within 4.6 working days") and the
departments' day lines run on working time: office hours (`calendar.workday_hours`) on working
days. Which days are working days comes from the maintained `holidays` package (the State
Council's public holidays AND its make-up working Saturdays and Sundays, e.g. Sunday
2018-02-11 before the Spring Festival), never from a hand-typed list.

Calendar minute 0 is midnight at the start of `start_date`. The clock precomputes the working
minutes elapsed at the start of each day (numpy), so converting either way is a lookup plus a
binary search; the `*_many` forms convert whole columns of the events table at once. It runs
`extend_days` past the horizon because deadlines of orders filed on the last day fall after it.
"""

from __future__ import annotations

import datetime as dt
import math

from typing import Mapping

import numpy as np

from gridsim.scenario import Scenario, ScenarioError
from gridsim.scenario.calendar import covered_years
from gridsim.scenario.validate import CLOCKS, WORK_CLOCK_MARGIN_DAYS

DAY_MIN = 1440.0


class WorkClock:
    """Working days and office hours of one run, with conversions both ways."""

    __slots__ = ("start_date", "days", "open_min", "close_min", "day_min", "working", "cum", "cum_end",
                 "workdays", "_cum", "_working", "_workdays", "span_min")

    def __init__(self, start_date: dt.date, days: int, workday_hours: tuple[float, float], country: str,
                 extend_days: int = WORK_CLOCK_MARGIN_DAYS, label: str = "<scenario>",
                 origin: Mapping[str, str] | None = None):
        """`label` names the scenario file in errors; `origin` (dotted key -> file) the file
        that set each calendar key, where it differs."""
        import holidays          # a heavy import (hundreds of countries): only when a clock is built

        where = (lambda key: (origin or {}).get(key, label))     # noqa: E731
        start_h, end_h = (float(h) for h in workday_hours)
        if not 0.0 <= start_h < end_h <= 24.0:
            raise ScenarioError(where("calendar.workday_hours"), "calendar.workday_hours", "office hours must open before they close",
                                "[start, end] hours with 0 <= start < end <= 24", [start_h, end_h], True)
        if days < 1:
            raise ValueError(f"a work clock needs at least one day, got {days}")
        try:
            country_days = holidays.country_holidays(country)
        except NotImplementedError:
            raise ScenarioError(where("calendar.holidays"), "calendar.holidays", "unknown country code",
                                "a country code of the holidays package, e.g. 'CN'", country, True) from None
        first, last = covered_years(country_days)
        n_days = days + max(int(extend_days), 0)
        end_of_run = start_date + dt.timedelta(days=days - 1)
        if not (first <= start_date.year and end_of_run.year <= last):
            raise ScenarioError(where("calendar.start_date"), "calendar.start_date",
                                f"the run ({start_date} to {end_of_run}) falls outside the years whose "
                                f"{country} working-day schedule the holidays package knows",
                                f"dates in {first}..{last}", str(start_date), True)
        dates = [start_date + dt.timedelta(days=i) for i in range(n_days)]
        # days after the run (deadlines only) may reach a year without an announced schedule: the
        # package's regular holidays and weekends are the best estimate there
        country_days = holidays.country_holidays(country, years=range(start_date.year, dates[-1].year + 1))
        self.start_date, self.days = start_date, int(days)
        self.open_min, self.close_min = start_h * 60.0, end_h * 60.0
        self.day_min = self.close_min - self.open_min
        self.working = np.array([country_days.is_working_day(d) for d in dates], dtype=bool)
        per_day = np.where(self.working, self.day_min, 0.0)
        self.cum_end = np.cumsum(per_day)                       # working minutes at each day's end
        self.cum = self.cum_end - per_day                       # ... and at each day's start
        self.workdays = np.flatnonzero(self.working)            # run day of the k-th working day
        self.span_min = n_days * DAY_MIN
        # plain lists for the scalar conversions on the event loop's hot path
        self._cum, self._working, self._workdays = self.cum.tolist(), self.working.tolist(), self.workdays.tolist()

    @classmethod
    def for_run(cls, spec: Scenario, days: int | None = None) -> "WorkClock":
        """The work clock of a scenario's run ([calendar], run.days unless `days` says otherwise)."""
        c = spec.calendar
        return cls(dt.date.fromisoformat(c.start_date), spec.run.days if days is None else days,
                   (c.workday_hours[0], c.workday_hours[1]), c.holidays, label=spec.path, origin=spec.origin)

    # ------------------------------------------------------------------ one value
    def work_at(self, t_min: float) -> float:
        """Working minutes elapsed from the run start to calendar minute t_min."""
        d = int(t_min // DAY_MIN)
        if not 0 <= d < len(self._cum):
            raise ValueError(self._outside(t_min))
        if not self._working[d]:
            return self._cum[d]
        m = t_min - d * DAY_MIN - self.open_min
        return self._cum[d] + (0.0 if m <= 0.0 else m if m < self.day_min else self.day_min)

    def calendar_at(self, w: float) -> float:
        """The earliest calendar minute at which w working minutes have elapsed (work that ends
        exactly at the close of a day ends then, not the next morning)."""
        if w <= 0.0:
            return 0.0
        k = math.ceil(w / self.day_min) - 1          # every working day holds day_min minutes: the k-th one
        if k >= len(self._workdays):
            raise ValueError(self._past_end(w))
        return self._workdays[k] * DAY_MIN + self.open_min + (w - k * self.day_min)

    # ------------------------------------------------------------------ whole columns
    def work_at_many(self, t_min: np.ndarray) -> np.ndarray:
        """`work_at` of every value of an array (NaN stays NaN)."""
        t = np.asarray(t_min, dtype=float)
        ok = ~np.isnan(t)
        d = np.zeros(t.shape, dtype=np.int64)
        d[ok] = np.floor(t[ok] / DAY_MIN).astype(np.int64)
        if ok.any() and (d[ok].min() < 0 or d[ok].max() >= len(self.cum)):
            raise ValueError(self._outside(float(t[ok][(d[ok] < 0) | (d[ok] >= len(self.cum))][0])))
        m = np.clip(t - d * DAY_MIN - self.open_min, 0.0, self.day_min)
        out = self.cum[d] + np.where(self.working[d], m, 0.0)
        out[~ok] = np.nan
        return out

    def calendar_at_many(self, w: np.ndarray) -> np.ndarray:
        """`calendar_at` of every value of an array (NaN stays NaN)."""
        w = np.asarray(w, dtype=float)
        k = np.ceil(w / self.day_min) - 1.0
        if np.nanmax(k, initial=-1.0) >= len(self.workdays):
            raise ValueError(self._past_end(float(np.nanmax(w))))
        ki = np.where(k >= 0.0, k, 0.0).astype(np.int64)         # NaN and w <= 0 index day 0, fixed below
        out = self.workdays[ki] * DAY_MIN + self.open_min + (w - ki * self.day_min)
        out[w <= 0.0] = 0.0
        return out

    # ------------------------------------------------------------------ limits
    def due(self, t_from, limit_min, clock: str):
        """When a limit of `limit_min` minutes started at t_from runs out, on its clock:
        'calendar' (t + limit) or 'working' (limit working minutes later; a limit started out of
        hours starts counting when the office opens). Scalars or arrays (broadcast)."""
        if clock == "calendar":
            return np.add(t_from, limit_min) if np.ndim(t_from) or np.ndim(limit_min) else t_from + limit_min
        if clock != "working":
            raise ValueError(f"unknown clock {clock!r}; clocks are {', '.join(CLOCKS)}")
        if np.ndim(t_from) or np.ndim(limit_min):
            t = np.asarray(t_from, dtype=float)
            return np.maximum(t, self.calendar_at_many(self.work_at_many(t) + limit_min))
        return max(t_from, self.calendar_at(self.work_at(t_from) + limit_min))

    def working_days(self, t0, t1):
        """Working days between two calendar minutes (scalars or arrays)."""
        if np.ndim(t0) or np.ndim(t1):
            return (self.work_at_many(t1) - self.work_at_many(t0)) / self.day_min
        return (self.work_at(t1) - self.work_at(t0)) / self.day_min

    def is_working_day(self, day: int) -> bool:
        """Whether day `day` of the run (0 = start_date) is a working day."""
        return bool(self._working[day])

    def _past_end(self, w: float) -> str:
        return (f"{w:.0f} working minutes lie past the work clock's end "
                f"({len(self._workdays) * self.day_min:.0f}); build it with a larger extend_days")

    def _outside(self, t_min: float) -> str:
        days = "NaN" if math.isnan(t_min) else f"{t_min / DAY_MIN:.1f}"
        return (f"calendar minute {t_min} (day {days}) lies outside the work clock "
                f"(days 0..{len(self._cum)}); build it with a larger extend_days")
