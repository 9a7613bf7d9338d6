"""On-duty windows per role over the simulated horizon (minutes), from `[shifts.<role>]`."""

from __future__ import annotations

from gridsim.scenario import Scenario

WEEKEND = (5, 6)   # Saturday, Sunday (calendar fact, not a modelling choice)


def shift_intervals(scenario: Scenario, role: str, horizon_min: float) -> list[tuple[float, float]]:
    """Merged [start, end) on-duty intervals of a role within [0, horizon_min)."""
    sh = scenario.shifts[role]
    start_wd = scenario.run.start_weekday
    days = int(horizon_min // 1440) + 1
    out: list[tuple[float, float]] = []
    for day in range(days):
        dow = (start_wd + day) % 7
        s, e = sh.weekend_hours if dow in WEEKEND else sh.weekday_hours
        if e <= s:
            continue
        a, b = day * 1440 + s * 60, min(day * 1440 + e * 60, horizon_min)
        if a >= horizon_min or b <= a:
            continue
        if out and abs(out[-1][1] - a) < 1e-9:
            out[-1] = (out[-1][0], b)        # 24-hour shifts join across midnight
        else:
            out.append((a, b))
    return out


def on_duty_minutes(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Length of the part of the intervals inside [lo, hi)."""
    return sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in intervals)
