"""The dashboard's controls and the scenario overrides they stand for.

A control change rebuilds the model from the base scenario plus these overrides, with the
same seed unless the seed itself changed, so two settings are compared on the same calls
(common random numbers). Validation is the scenario's own: a bad value raises ScenarioError
with its one-line message, which the page shows while the last good model keeps running.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from gridsim.scenario import Scenario


@dataclass(frozen=True)
class Controls:
    """What the planner can change on the page (staff, build status, a surge, seed, days)."""

    police_units: int
    fulltime_workers: int
    full_build: bool
    surge_division: str           # "" = no surge
    surge_multiplier: float
    surge_hours: float
    seed: int
    days: int

    @classmethod
    def from_scenario(cls, spec: Scenario) -> "Controls":
        """The controls as the scenario sets them (nothing overridden yet)."""
        surge = spec.surge
        return cls(police_units=spec.staff.police_units, fulltime_workers=spec.staff.fulltime_workers,
                   full_build=(spec.city.subcenters_built == spec.city.subcenters
                               and spec.city.workstations_built == spec.city.workstations),
                   surge_division=surge.divisions[0] if surge.enabled and surge.divisions else "",
                   surge_multiplier=surge.multiplier, surge_hours=surge.duration_hours,
                   seed=spec.run.seed, days=spec.run.days)

    def changed(self, **values) -> "Controls":
        """A copy with some controls moved."""
        return replace(self, **values)

    def overrides(self, base: Scenario) -> list[str]:
        """`--set` style overrides that turn the base scenario into this setting."""
        out = [f"staff.police_units={self.police_units}", f"staff.fulltime_workers={self.fulltime_workers}",
               f"run.seed={self.seed}", f"run.days={self.days}"]
        if self.full_build:
            c = base.city
            out += [f"city.subcenters_built={c.subcenters}", "city.subcenters_built_ids=[]",
                    f"city.workstations_built={c.workstations}", f"city.workstations_started={c.workstations}"]
        division = self.surge_division.strip()
        if division:
            out += ["surge.enabled=true", f"surge.divisions={json.dumps([division])}",
                    f"surge.multiplier={float(self.surge_multiplier)!r}",
                    f"surge.duration_hours={float(self.surge_hours)!r}"]
        else:
            out.append("surge.enabled=false")
        return out
