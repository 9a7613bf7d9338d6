"""Response targets for the tuner: "stage:minutes:share[:source]", and how one run meets them.

A target is met when the lower bound of the 95 % Wilson interval of the share of judged
events within `minutes`, pooled over the replications, is at least `share`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridsim.analysis.metrics import stage_elapsed, wilson_interval
from gridsim.domain import SOURCES, STAGES, TARGET_KEY, WORK_ORDER_STAGES
from gridsim.scenario import Scenario, ScenarioError


@dataclass(frozen=True)
class Target:
    stage: str
    minutes: float
    share: float
    source: str | None = None       # judge only events of this source ("110", "12345", "grid")

    def label(self) -> str:
        src = f" ({self.source} only)" if self.source else ""
        return f"{self.stage} <= {self.minutes:g} min for >= {self.share:.1%}{src}"

    def spec(self) -> str:
        """The target as typed: stage:minutes:share[:source]."""
        return f"{self.stage}:{self.minutes:g}:{self.share:g}" + (f":{self.source}" if self.source else "")


def parse_target(text: str) -> Target:
    """'stage:minutes:share[:source]' -> Target, with a clear message for anything else."""
    parts = text.split(":")
    allowed = ("stage:minutes:share[:source] with stage one of " + ", ".join(STAGES)
               + " and source 110, 12345 or grid, e.g. on_scene:5:0.90 or respond:3:0.95:110")
    if len(parts) not in (3, 4) or parts[0] not in STAGES or (len(parts) == 4 and parts[3] not in SOURCES):
        raise ScenarioError("--target", text, "not a valid target", allowed)
    try:
        minutes, share = float(parts[1]), float(parts[2])
    except ValueError:
        raise ScenarioError("--target", text, "minutes and share must be numbers", allowed) from None
    if minutes <= 0 or not 0 < share < 1:
        raise ScenarioError("--target", text, "minutes must be > 0 and share between 0 and 1 (exclusive)", allowed)
    return Target(parts[0], minutes, share, parts[3] if len(parts) == 4 else None)


# ------------------------------------------------------------------ what a stage judges

#: which events each stage judges (metrics._applies), in words
_JUDGES = {"respond": "110 incidents", "on_scene": "110 incidents",
           "support": "incidents that need regional support", "cordon": "incidents that need a city-wide cordon"}
_WORK_ORDERS = "work orders (12345 and grid reports)"
_SOURCE_NAMES = {"110": "110 incidents", "12345": "12345 work orders", "grid": "grid patrol reports"}


def _source_facts(scenario: Scenario, stage: str, sources: tuple[str, ...]) -> list[str]:
    """Why each source gives the stage nothing to judge in this scenario, where the file says so."""
    facts = []
    for src in sources:
        cats = {k: c for k, c in scenario.categories_of(src).items() if c.share > 0}
        if src == "110" and scenario.demand.police_per_day <= 0:
            facts.append("no 110 incidents (demand.police_per_day = 0)")
        elif src == "12345" and scenario.demand.hotline_per_day <= 0:
            facts.append("no 12345 work orders (demand.hotline_per_day = 0)")
        elif src == "grid" and scenario.demand.hazards_per_100k_day <= 0:
            facts.append("no hazards for grid patrols to find (demand.hazards_per_100k_day = 0)")
        elif src != "110" and stage in ("respond", "on_scene") and not any(c.priority == "urgent" for c in cats.values()):
            facts.append(f"every {_SOURCE_NAMES[src][:-1]} category is routine ({', '.join(cats)})")
        elif stage == "support" and not any(c.support_prob > 0 for c in cats.values()):
            facts.append(f"no {src} category needs support (support_prob 0)")
        elif stage == "cordon" and not any(c.cordon_prob > 0 for c in cats.values()):
            facts.append(f"no {src} category needs a cordon (cordon_prob 0)")
    return facts


def unjudged_reason(target: Target, scenario: Scenario) -> str:
    """Why a target judged no event: what its stage judges, and what this scenario lacks."""
    stage = target.stage
    judges = _JUDGES.get(stage, _WORK_ORDERS)
    if target.source == "110" and stage in STAGES and stage not in _JUDGES:
        return f"'{stage}' is a work-order step and 110 incidents are not work orders"
    sources = (target.source,) if target.source else SOURCES
    if stage in ("respond", "on_scene"):
        sources = ("110",)                   # the patrol targets judge 110 incidents only
    facts = _source_facts(scenario, stage, sources)
    only = f", and only {_SOURCE_NAMES[target.source]} are counted" if target.source else ""
    why = "; ".join(facts) if facts else "none of them was reported after the warm-up (run.warmup_hours)"
    hint = (f" (every work order passes through {', '.join(WORK_ORDER_STAGES)})"
            if stage in _JUDGES and target.source != "110" else "")
    return f"'{stage}' judges {judges} only{only}: this scenario has {why}{hint}"


# ------------------------------------------------------------------ evaluating one candidate

def target_counts(events: pd.DataFrame, scenario: Scenario, targets: list[Target], per: str | None
                  ) -> dict[tuple[int, int], tuple[int, int]]:
    """(target index, unit) -> (met, judged) for one run; unit -1 is the whole city."""
    horizon, warm = scenario.run.days * 1440.0, scenario.run.warmup_hours * 60.0
    unit_col = {"division": "division", "subcenter": "subcenter_id"}.get(per or "")
    out: dict[tuple[int, int], tuple[int, int]] = {}
    for i, tg in enumerate(targets):
        ev = events if tg.source is None else events[events["source"] == tg.source]
        tdict = scenario.targets.as_dict()
        if tg.stage in TARGET_KEY:
            tdict[TARGET_KEY[tg.stage]] = tg.minutes
        else:
            st = STAGES[tg.stage]       # the target's limit on the calendar clock from the stage's start
            ev = ev.assign(**{st.due_column: np.where(ev[st.due_column].notna(), ev[st.reference] + tg.minutes, np.nan)})
        judged = stage_elapsed(ev, tg.stage, tdict, horizon, warm,
                               work_order_warmup_min=scenario.run.work_order_warmup_hours * 60.0)
        out[(i, -1)] = (int(judged["met"].sum()), len(judged))
        if unit_col is not None:
            units = events[unit_col].to_numpy()[judged["event_id"].to_numpy()]
            if unit_col == "division":
                names = list(events["division"].cat.categories)
                units = np.array([names.index(u) for u in units], dtype=int) if len(units) else units
            codes = np.asarray(units, dtype=int)
            met = judged["met"].to_numpy()
            for u in np.unique(codes):
                sel = codes == u
                out[(i, int(u))] = (int(met[sel].sum()), int(sel.sum()))
    return out


@dataclass
class Evaluation:
    """A candidate's pooled compliance: (target, unit) -> (met, n, share, ci_low, ci_high)."""

    counts: dict
    targets: list[Target]
    runs: int

    def stat(self, i: int, unit: int = -1) -> tuple[int, int, float, float, float]:
        k, n = self.counts.get((i, unit), (0, 0))
        if n == 0:
            return 0, 0, math.nan, math.nan, math.nan
        lo, hi = wilson_interval(k, n)
        return k, n, k / n, lo, hi

    def unit_met(self, unit: int = -1) -> bool:
        """Every target met in the unit (a unit with no judged events has nothing to fail)."""
        for i, tg in enumerate(self.targets):
            _, n, _, lo, _ = self.stat(i, unit)
            if n > 0 and lo < tg.share:
                return False
        return True

    def margin(self, unit: int = -1) -> float:
        """Worst (lower CI bound - required share) over targets; +inf with no judged events."""
        worst = math.inf
        for i, tg in enumerate(self.targets):
            _, n, _, lo, _ = self.stat(i, unit)
            if n > 0:
                worst = min(worst, lo - tg.share)
        return worst
