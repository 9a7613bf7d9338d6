"""The words on figures and in the report: titles, captions, stage and metric labels.

Every label is built from the domain vocabulary (gridsim.domain: stage titles and short
names, role and source labels) and every threshold from the run's targets, so a scenario that
changes a target changes every label that shows it. Nothing here draws.
"""

from __future__ import annotations

import math

import numpy as np

from gridsim.analysis.metrics import MET, MIN_JUDGED, MISSED, TOO_FEW, UNCERTAIN, Judgement, required_share
from gridsim.domain import ROLE_LABEL, SOURCES, STAGES, stage_label
from gridsim.results.loaders import ExperimentData, RunData
from gridsim.scenario import builtin_path, load_scenario
from gridsim.viz.notes import scenario_notes

CAPTIONS = {
    "ecdf": "Cumulative share of judged events reached within x minutes of the call, per target stage "
            "(respond: unit dispatched; on scene: first unit arrives; regional support: last support unit "
            "on scene; cordon: last checkpoint reached). The dashed red line is the scenario's target; the "
            "share meeting it is annotated. Events after the warm-up only; events still open past their "
            "target at the end of the run count as misses (the curve stays below 100 %). For experiments: "
            "mean curve per variant with a 95 % t-interval band over replications.",
    "hist": "On-scene time (call to first unit on scene) by event category, for the categories the "
            "on-scene target applies to (all 110 incidents and urgent work orders). Bars: share of the "
            "category's judged events per 1-minute bin; dashed red line: the target. Events beyond the "
            "axis or never reached are counted in each panel's note.",
    "divisions": "Share of events meeting each target by division with 95 % Wilson intervals; the grey "
                 "dashed line is the city-wide share. n = events judged.",
    "hourly": "Top: events per day by hour of day of the call and source (after warm-up, divided by the "
              "number of counted days of that hour). Bottom: share on scene within the target by hour of "
              "day with 95 % Wilson intervals; grey dashed line: the whole-run share.",
    "map": "Every grid at its centroid, marker area about the grid's area, coloured by the chosen per-grid "
           "metric (grey: no events judged there). Triangles: sub-centers; small marks: workstations, by "
           "build status. Planar km around Suzhou's reference point.",
    "staffing": "Each metric per variant: the mean over replications (a point at the variant's name) with its "
                "95 % t-interval (whiskers, clipped to 0-100 % for shares). Variants are named alternatives, "
                "so no line joins them. Share panels: the dash-dot line is the required share; each point's "
                "colour and marker is its verdict (met: the whole interval at or above the requirement; "
                "missed: wholly below; uncertain: straddling; too few to judge: under 30 events). Time "
                "panels: 90th percentile with the target (dashed red).",
    "utilisation": "Runs: (a) busy share by role and hour of day from the events table: minutes each role "
                   "spent as first responder (dispatch to end of on-scene handling) divided by the role's "
                   "on-duty minutes in that hour (scenario shifts); hours when a role is off duty are blank. "
                   "Whole-run busy share over all tasks (incl. verification, co-response, support) as the "
                   "model counted it is marked at the right. (b) The model's hourly samples from "
                   "summary.json: responders busy and tasks waiting. Experiments: whole-run busy share by "
                   "role per variant, mean and 95 % CI over replications (runs.parquet has no hourly data).",
}
"""What each figure kind shows, under the figure in the report."""

FIGURE_TITLES = {
    "ecdf": "Time to each target stage",
    "hist": "On-scene time by category",
    "divisions": "Targets by division",
    "hourly": "By hour of day",
    "map": "Map",
    "staffing": "Metrics per variant",
    "utilisation": "Utilisation by role",
}
"""The report's heading of each figure kind."""


CATEGORY_LABEL = {
    "crime": "crime and violations",
    "dispute": "disputes",
    "traffic": "traffic",
    "police_help": "requests for help",
    "police_other": "other police matters",
    "sanitation": "sanitation",
    "facilities": "facilities (lifts, pipes)",
    "neighbour_dispute": "neighbour disputes",
    "street_order": "street order",
    "safety_hazard": "safety hazards",
    "hotline_help": "requests for help (hotline)",
    "patrol_hazard": "hazards found on patrol",
    "patrol_sanitation": "sanitation found on patrol",
    "patrol_order": "street order found on patrol",
    "patrol_dispute": "disputes found on patrol",
}
"""Readable names of the built-in event categories (the 110 ones follow facts.md's table)."""


def category_label(name: str) -> str:
    """'requests for help' for 'police_help'; a category a scenario adds reads with spaces."""
    return CATEGORY_LABEL.get(str(name), str(name).replace("_", " "))


STATUS_TEXT = {MET: "met", MISSED: "missed", UNCERTAIN: "uncertain (interval straddles the requirement)",
               TOO_FEW: f"too few to judge (< {MIN_JUDGED} events)"}
"""The verdicts of `gridsim.analysis.metrics.judge` as a legend says them."""
STATUS_MARK = {MET: "o", MISSED: "X", UNCERTAIN: "D", TOO_FEW: "."}


def judgement_text(j: Judgement) -> str:
    """'met: 95% CI 92.0%-94.1% >= 90% required' / 'too few to judge (12 events)'."""
    if j.status == TOO_FEW:
        return f"too few to judge ({j.n:,} event{'s' if j.n != 1 else ''})"
    op = {MET: ">=", MISSED: "<", UNCERTAIN: "~"}[j.status]
    return f"{j.status}: 95% CI {fmt_pct(j.ci_low)}-{fmt_pct(j.ci_high)} {op} {fmt_pct(j.required, 0)} required"


def required_of(targets: dict, stage: str) -> float:
    """A stage's required share from the run's targets (runs from before required shares were
    scenario keys read the built-in value)."""
    value = required_share(targets, stage)
    if value is None:
        value = required_share(load_scenario(None).targets, stage)
    return float(value)


def target_min(targets: dict, stage: str) -> float:
    """A target stage's limit in minutes, from the run's targets."""
    return float(targets[STAGES[stage].target_key])


def fmt_pct(v: float | None, digits: int = 1) -> str:
    """'87.3%', or '-' for no value."""
    return "-" if v is None or not np.isfinite(v) else f"{100 * v:.{digits}f}%"


def fmt_count(v: float) -> str:
    """Axis tick: thousands separated from 100 on, shortest form below."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:g}"


def days_text(d: float) -> str:
    return f"{d:g} day" + ("" if d == 1 else "s")


def context(data: RunData | ExperimentData) -> str:
    """What a figure's title says about its data: scenario or experiment, days, warm-up, seed(s)."""
    if isinstance(data, RunData):
        return (f"{data.name}, {days_text(data.days)} (first {data.warmup_min / 60.0:g} h excluded), "
                f"seed {data.seed}")
    parts = [f"experiment {data.name}", f"{len(data.variants)} variant(s) x {data.replications} replication(s)"]
    if data.days is not None:
        parts.append(days_text(data.days))
    seeds = data.seeds
    if len(seeds) == 1:
        parts.append(f"seed {seeds[0]}")
    elif seeds:
        parts.append(f"seeds {seeds[0]}..{seeds[-1]}")
    return ", ".join(parts)


def stage_limit_text(stage: str, targets: dict) -> str:
    """'(<= 5 min)' for a target stage, '(within its deadline)' for a work-order stage."""
    if STAGES[stage].is_target:
        return f"(<= {target_min(targets, stage):g} min)"
    return "(within its deadline)"


def split_metric_column(col: str) -> tuple[str | None, str, str]:
    """(source or None, stage or metric group, field) of a runs.parquet metric column:
    `110.on_scene.share` -> ('110', 'on_scene', 'share'); `util.fulltime` -> (None, 'util', 'fulltime')."""
    head, _, rest = col.partition(".")
    if head in SOURCES and rest:
        stage, _, stat = rest.partition(".")
        return head, stage, stat
    return None, head, rest


def metric_title(col: str, targets: dict) -> str:
    """A runs.parquet metric column as a panel title: 'on scene <= 5 min', 'on scene: p90',
    'busy share: grid leaders', '110 only: ...'."""
    source, stage, stat = split_metric_column(col)
    if stage in STAGES:
        title = stage_label(stage, targets) if stat == "share" else f"{STAGES[stage].short}: {stat}"
    elif stage == "util":
        title = f"busy share: {ROLE_LABEL.get(stat, stat)}"
    else:
        title = col
    return f"{source} only: {title}" if source else title


def key_note(dotted: str) -> str:
    """The built-in scenario's comment for a key, first clause only (used for axis labels)."""
    return scenario_notes(builtin_path()).get(dotted, "").split(";")[0].strip()


def factor_value_text(value) -> str:
    """A factor value as a group label: lists and missing values (a variant that does not set
    the key) included."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)
