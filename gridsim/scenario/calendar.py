"""Which years a country's holiday calendar (the `holidays` package) really knows.

Shared by scenario validation and the work clock (gridsim.engine.workclock), so a run is
refused at load time exactly when its clock could not be built.
"""

from __future__ import annotations


def covered_years(calendar) -> tuple[int, int]:
    """The years the holidays package knows for this country. A country that moves working days
    to weekends (China's make-up days) is covered only for the years whose schedule the package
    lists, since the State Council announces each year's schedule only the December before;
    otherwise the package's own start/end years."""
    schedule = getattr(calendar, "special_public_holidays", {}) or {}
    moved = [year for year, days in schedule.items()
             if any(isinstance(d, tuple) and len(d) >= 4 for d in _as_items(days))]
    if moved:
        return min(moved), max(moved)
    return int(calendar.start_year), int(calendar.end_year)


def _as_items(days) -> tuple:
    """One year's special-day entries as a tuple of entries (the package allows a lone entry)."""
    if isinstance(days, tuple) and days and not isinstance(days[0], tuple):
        return (days,)
    return tuple(days)
