"""One run of an experiment as flat columns: the metric names and how a run summary becomes them.

The names are the contract between a run (`flatten_summary`, `ecdf_columns`), the experiment
file (`metrics = [...]` is validated against `METRIC_NAMES`) and the store (`runs.parquet`
has one column per name, and one `ecdf.<stage>` list column per target stage).
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pandas as pd

from gridsim.analysis.metrics import stage_elapsed
from gridsim.domain import ECDF_GRID_MIN, ROLES, SOURCES, STAGES, TARGET_STAGES
from gridsim.results.io import decode_number
from gridsim.results.loaders import STAGE_FIELDS
from gridsim.scenario import Scenario

ECDF_STAGES = TARGET_STAGES
METRIC_STAGES = tuple(STAGES)
# keys of a run summary's "volumes" and "queues" (tests check these against a real run)
KNOWN_VOLUMES = ("110_incidents", "12345_work_orders", "grid_patrol_reports", "hotline_calls",
                 "hotline_first_contact_after_warmup", "open_at_end", "events_after_warmup",
                 "events_total", "days_counted")
KNOWN_QUEUES = ("police_mean", "police_max", "grid_mean", "grid_max", "police_tasks_in_system_mean",
                "incidents_110_in_system_mean")
# the work-order side of a run summary ("hotline", "work_orders"): what a 12345 centre manager or a
# planner sweeping grid staff compares across variants
KNOWN_WORK_ORDER = ("answer_wait_mean_s", "answered_within_30s_share", "first_contact_share", "hazards_found",
                    "discovery_p50_min", "discovery_p90_min", "close_wd_median_12345", "close_wd_mean_12345",
                    "close_wd_median_grid", "close_wd_mean_grid")
# per-source stage metrics, e.g. 110.on_scene.share: the 110 incidents alone, so that police
# staffing is not judged by urgent work orders (which also count in on_scene.share)
SOURCE_FIELDS = ("n", "share", "p50", "p90")
SOURCE_METRICS: tuple[str, ...] = tuple(f"{src}.{s}.{f}" for src in SOURCES for s in METRIC_STAGES
                                        for f in SOURCE_FIELDS)
# per-division stage metrics, e.g. on_scene.share@Kunshan: from each run summary's by.division
# table; the division names come from the scenario, so these names are built per experiment
DIVISION_FIELDS = SOURCE_FIELDS
DIVISION_SEP = "@"
DIVISION_BASES: tuple[str, ...] = tuple(f"{s}.{f}" for s in METRIC_STAGES for f in DIVISION_FIELDS)
METRIC_NAMES: tuple[str, ...] = (
    tuple(f"{s}.{f}" for s in METRIC_STAGES for f in STAGE_FIELDS)
    + SOURCE_METRICS
    + tuple(f"util.{r}" for r in ROLES)
    + tuple(f"volume.{k}" for k in KNOWN_VOLUMES)
    + tuple(f"queue.{k}" for k in KNOWN_QUEUES)
    + tuple(f"wo.{k}" for k in KNOWN_WORK_ORDER))
DEFAULT_METRICS = ("respond.share", "on_scene.share", "support.share", "cordon.share",
                   "register_dispatch.share", "close.share", "on_scene.p90",
                   "util.police", "util.fulltime", "queue.grid_mean", "volume.open_at_end")


def metric_help() -> str:
    """What may be named in an experiment's `metrics` (for error messages)."""
    return ("<stage>.<field> with stage in " + ", ".join(METRIC_STAGES) + " and field in "
            + ", ".join(STAGE_FIELDS) + "; <source>.<stage>.<field> for one source (110, 12345, grid; field "
            + ", ".join(SOURCE_FIELDS) + "); util.<role> (" + ", ".join(ROLES) + "); volume.<key> ("
            + ", ".join(KNOWN_VOLUMES) + "); queue.<key> (" + ", ".join(KNOWN_QUEUES)
            + "); wo.<key> (" + ", ".join(KNOWN_WORK_ORDER)
            + "); <stage>.<field>@<division> for one division (field " + ", ".join(DIVISION_FIELDS)
            + ", e.g. on_scene.share@Kunshan, or on_scene.share@* for every division); or a pattern such as '*.share'")


def split_division_metric(name: str) -> tuple[str, str] | None:
    """'on_scene.share@Kunshan' -> ('on_scene.share', 'Kunshan'); None for a city-wide metric."""
    base, sep, division = name.partition(DIVISION_SEP)
    return (base, division) if sep else None


def flatten_summary(summary: dict) -> dict[str, float]:
    """The run summary as flat metric columns: <stage>.<field>, <source>.<stage>.<field>,
    <stage>.<field>@<division>, util.<role>, volume.<key>, queue.<key>."""
    out: dict[str, float] = {}
    stages = summary.get("stages", {})
    for stage in METRIC_STAGES:
        row = stages.get(stage) or {}
        for f in STAGE_FIELDS:
            out[f"{stage}.{f}"] = decode_number(row.get(f))
    by_source = {(str(r.get("source")), r.get("stage")): r for r in summary.get("by", {}).get("source", [])}
    for name in SOURCE_METRICS:
        src, stage, f = name.split(".")
        out[name] = decode_number((by_source.get((src, stage)) or {}).get(f))
    for r in summary.get("by", {}).get("division", []):
        for f in DIVISION_FIELDS:
            out[f"{r.get('stage')}.{f}{DIVISION_SEP}{r.get('division')}"] = decode_number(r.get(f))
    util = summary.get("utilisation", {})
    for role in ROLES:
        out[f"util.{role}"] = decode_number((util.get(role) or {}).get("utilisation"))
    for k, v in summary.get("volumes", {}).items():
        out[f"volume.{k}"] = decode_number(v)
    for k, v in summary.get("queues", {}).items():
        out[f"queue.{k}"] = decode_number(v)
    out.update(_work_order_columns(summary))
    return out


def _work_order_columns(summary: dict) -> dict[str, float]:
    """wo.<key>: the 12345 answer queue, hazards found and their latency, and the Kaplan-Meier time
    to close in working days (median, restricted mean) by work-order source."""
    h, wo = summary.get("hotline") or {}, summary.get("work_orders") or {}
    calls = decode_number(h.get("calls"))
    hz = wo.get("hazards") or {}
    out = {"wo.answer_wait_mean_s": decode_number(h.get("answer_wait_mean_s")),
           "wo.answered_within_30s_share": decode_number(h.get("answered_within_30s_share")),
           "wo.first_contact_share": decode_number(h.get("first_contact")) / calls if calls else math.nan,
           "wo.hazards_found": decode_number(hz.get("found")),
           "wo.discovery_p50_min": decode_number(hz.get("discovery_p50_min")),
           "wo.discovery_p90_min": decode_number(hz.get("discovery_p90_min"))}
    close = wo.get("close_working_days") or {}
    for src in ("12345", "grid"):
        c = close.get(src) or {}
        out[f"wo.close_wd_median_{src}"] = decode_number(c.get("median"))
        out[f"wo.close_wd_mean_{src}"] = decode_number(c.get("restricted_mean"))
    return out


def ecdf_columns(events: pd.DataFrame, scenario: Scenario) -> dict[str, list[float]]:
    """Per target stage: the share of judged events with elapsed <= x for x in ECDF_GRID_MIN
    (censored misses count as never reached); all NaN when no event was judged."""
    horizon, warm = scenario.run.days * 1440.0, scenario.run.warmup_hours * 60.0
    grid = np.asarray(ECDF_GRID_MIN)
    out = {}
    for stage in ECDF_STAGES:
        el = np.sort(stage_elapsed(events, stage, scenario.targets, horizon, warm)["elapsed"].to_numpy(np.float64))
        if len(el) == 0:
            out[stage] = [math.nan] * len(grid)
        else:
            out[stage] = (np.searchsorted(el, grid, side="right") / len(el)).tolist()
    return out


def metric_columns(rows: Iterable[dict]) -> list[str]:
    """Metric columns: the known ones in a fixed order, then any others the runs produced, sorted."""
    extra = sorted({k for row in rows for k in row.get("metrics", {}) if k not in METRIC_NAMES})
    return list(METRIC_NAMES) + extra
