"""Metrics per variant of an experiment: each variant a named point with its 95 % CI.

Variants are named alternatives (as built / full build; normal day / typhoon), even when one
of their keys is a number, so they are drawn as points at named positions, never joined by a
line through a numeric axis: a line would invent values between variants and "crossings" no
run produced. Shares carry the stage's required share and each variant's verdict
(`gridsim.analysis.metrics.judge_replications`); time panels carry the target line.
"""

from __future__ import annotations

import math
import textwrap
from typing import Iterable

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from gridsim.analysis.metrics import STATUSES, TOO_FEW, mean_ci
from gridsim.domain import STAGES, TARGET_STAGES
from gridsim.results.loaders import METRIC_GROUPS, PERCENTILE_FIELDS, ExperimentData
from gridsim.viz.labels import (STATUS_MARK, STATUS_TEXT, context, factor_value_text, fmt_count, fmt_pct,
                                metric_title, required_of, split_metric_column, target_min)
from gridsim.viz.style import (NOTE_COLOR, REQUIRED_COLOR, STATUS_COLOR, STYLE, TARGET_COLOR, NotApplicable,
                               new_figure, pct_axis, suptitle)
from gridsim.viz.variants import variant_colors, variant_judgement, variant_order

SHARE_FIELDS = ("share", "ci_low", "ci_high")
ROW_METRIC_GROUPS = tuple(g for g in METRIC_GROUPS if g != "ecdf")
"""Metric groups with one number per run (a variants panel can show them)."""


def staffing_metrics(exp: ExperimentData) -> list[str]:
    """Default panels: each target's share and p90, then the experiment file's own `metrics`."""
    cols = [f"{s}.share" for s in TARGET_STAGES] + [f"{s}.p90" for s in TARGET_STAGES]
    chosen = exp.config.get("metrics") if isinstance(exp.config.get("metrics"), list) else []
    for m in chosen:
        if isinstance(m, str) and m in exp.runs.columns and m not in cols:
            cols.append(m)
    return [c for c in cols if c in exp.runs.columns]


def resolve_metric_column(metric: str, columns: Iterable[str]) -> str:
    """A runs.parquet metric column from `on_scene.p90` or the map-style `on_scene_p90`."""
    columns = list(columns)
    if metric in columns:
        return metric
    for prefix in sorted(STAGES, key=len, reverse=True) + list(ROW_METRIC_GROUPS):
        if metric.startswith(prefix + "_") and f"{prefix}.{metric[len(prefix) + 1:]}" in columns:
            return f"{prefix}.{metric[len(prefix) + 1:]}"
    cols = [c for c in columns if c.split(".")[0] in set(STAGES) | set(ROW_METRIC_GROUPS)]
    raise ValueError(f"unknown metric {metric!r} for an experiment; allowed: runs.parquet columns such as "
                     + ", ".join(cols[:12]) + (" ..." if len(cols) > 12 else ""))


def variant_factors_text(exp: ExperimentData, variant: str) -> str:
    """'surge.enabled = True, staff.police_units = 1190': the factor values that differ between variants."""
    rows = exp.variant_rows(variant)
    parts = []
    for f in exp.factors:
        if f not in rows or not len(rows) or exp.ok[f].map(factor_value_text).nunique() < 2:
            continue
        vals = set(rows[f].map(factor_value_text))
        parts.append(f"{f} = {vals.pop() if len(vals) == 1 else 'varies'}")
    return ", ".join(parts)


def staffing_experiment(exp: ExperimentData, factor: str | None = None, metric: str | None = None) -> Figure:
    """Metrics per variant: mean over replications (a point at the variant's name) and its 95 %
    Student-t interval; shares with the required share and each variant's verdict, times with
    the target line.

    Default panels (`staffing_metrics`): share meeting each target and its p90 time, then the
    metrics the experiment file keeps. With `metric` (a runs.parquet column such as
    `on_scene.p90` or `util.fulltime`), that one metric. `factor` only orders the variants (by
    its value); by default the first numeric factor does, else the file order.
    """
    if not exp.variants or not len(exp.ok):
        raise NotApplicable("variants: the experiment has no successful run")
    ok = exp.ok
    order = variant_order(exp) if factor is None else sorted(
        exp.variants, key=lambda v: pd.to_numeric(exp.variant_rows(v)[factor], errors="coerce").mean())
    panels = [resolve_metric_column(metric, ok.columns)] if metric is not None else staffing_metrics(exp)
    ncol = min(4, len(panels))
    nrow = math.ceil(len(panels) / ncol)
    colors = variant_colors(exp)
    with matplotlib.rc_context(STYLE):
        fig = new_figure(max(6.0, 3.6 * ncol), 3.4 * nrow + 1.9)
        axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
        for ax, col in zip(axes, panels):
            _variant_panel(ax, exp, col, order, colors)
            ax.set_xticks(range(len(order)), order, fontsize=7.5,
                          rotation=20 if sum(len(v) for v in order) > 30 else 0, ha="right" if sum(
                              len(v) for v in order) > 30 else "center")
            ax.set_xlim(-0.6, len(order) - 0.4)
            ax.grid(axis="x", visible=False)
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        handles = [Line2D([], [], ls="", marker=STATUS_MARK[s], color=STATUS_COLOR[s], ms=7, label=STATUS_TEXT[s])
                   for s in STATUSES]
        handles += [Line2D([], [], color=REQUIRED_COLOR, ls="-.", label="required share"),
                    Line2D([], [], color=TARGET_COLOR, ls="--", label="target time")]
        what = [f"{v}: {t}" for v in order if (t := variant_factors_text(exp, v))]
        title = "\n".join(textwrap.wrap("variants: " + "; ".join(what), 150)) if what else None
        fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=8, title=title, title_fontsize=7.5)
        suptitle(fig, "Metrics per variant (point: mean over replications, whiskers: 95 % CI; variants are "
                      "named alternatives, not a scale)", context(exp))
    return fig


def _variant_stat(rows: pd.DataFrame, col: str) -> tuple[float, float, float, bool, int]:
    """(mean, ci low, ci high) over a variant's replications, whether any value was infinite,
    and how many replications had no value (no event judged)."""
    v = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float) if col in rows else np.array([])
    m, lo, hi = mean_ci(v[~np.isnan(v)])
    return m, lo, hi, bool(np.isinf(v).any()), int(np.isnan(v).sum())


def _variant_panel(ax, exp: ExperimentData, col: str, order: list[str], colors: dict) -> None:
    """One metric: a point and whiskers per variant, then the axis for its kind of value."""
    _, stage, stat = split_metric_column(col)
    is_util = stage == "util"
    is_share = stat in SHARE_FIELDS or is_util
    judged = stat == "share" and stage in STAGES
    target = target_min(exp.targets, stage) if stage in STAGES and STAGES[stage].is_target else None
    infinite_any, dropped, notes = False, 0, []
    for x, v in enumerate(order):
        m, lo, hi, infinite, n_dropped = _variant_stat(exp.variant_rows(v), col)
        infinite_any, dropped = infinite_any or infinite, dropped + n_dropped
        if not np.isfinite(m):
            continue
        lo, hi = (lo, hi) if np.isfinite(lo) else (m, m)
        if is_share:                       # a t-interval can pass 0 % or 100 %; a share cannot
            lo, hi = max(0.0, lo), min(1.0, hi)
        color, marker = colors[v], "o"
        if judged:
            j = variant_judgement(exp, v, stage, col)
            color, marker = STATUS_COLOR[j.status], STATUS_MARK[j.status]
            if j.status == TOO_FEW:
                ax.annotate("too few\nto judge", (x, m), xytext=(0, 8), textcoords="offset points",
                            ha="center", fontsize=7, color=STATUS_COLOR[TOO_FEW])
        ax.errorbar([x], [m], yerr=[[max(0.0, m - lo)], [max(0.0, hi - m)]], fmt="none", ecolor="#333333",
                    elinewidth=1.1, capsize=4)
        ax.plot([x], [m], ls="", marker=marker, color=color, ms=8, mec="white", zorder=5)
        if is_share:
            ax.annotate(fmt_pct(m), (x, m), xytext=(7, -3), textcoords="offset points", fontsize=7.5)
    ax.set_title(metric_title(col, exp.targets), loc="left")
    if is_share:
        _share_axis(ax, is_util, target is not None, stat)
        if judged:
            req = required_of(exp.targets, stage)
            ax.axhline(req, color=REQUIRED_COLOR, ls="-.", lw=1.1)
            ax.text(1.0, req, f"required {fmt_pct(req, 0)} ", va="bottom", ha="right", fontsize=7.5,
                    color=REQUIRED_COLOR, transform=ax.get_yaxis_transform())
    elif stat in PERCENTILE_FIELDS:
        _time_axis(ax, stage, stat, target)
    else:
        ax.set_ylabel({"queue": "tasks waiting", "volume": "events"}.get(stage, col))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_count(v)))
    if infinite_any:
        notes.append("some replications: beyond the end of the run (not plotted)")
    if dropped:
        notes.append(f"{dropped} replication(s) with no event judged left out")
    if notes:
        ax.text(0.02, 0.02, "\n".join(notes), transform=ax.transAxes, fontsize=7.5, va="bottom", color=NOTE_COLOR)


def _share_axis(ax, is_util: bool, is_target: bool, stat: str) -> None:
    """0-100 % (busy shares: up to a little above the highest)."""
    if is_util:
        ax.set_ylim(0, min(1.02, max(0.1, ax.get_ylim()[1] * 1.15)))
    else:
        ax.set_ylim(0, 1.02)
    pct_axis(ax)
    ax.set_ylabel("busy share of on-duty time" if is_util else
                  "share meeting the target" if is_target else "share within its limit")


def _time_axis(ax, stage: str, stat: str, target: float | None) -> None:
    """Minutes from 0, with the target line when the stage has one."""
    from_call = stage in STAGES and STAGES[stage].reference == "t_call"
    ax.set_ylabel(f"{stat} time from the call (min)" if from_call else f"{stat} time (min)")
    lo, hi = ax.get_ylim()
    if target is not None:
        hi = max(hi, target * 1.15)
        ax.axhline(target, color=TARGET_COLOR, ls="--", lw=1.3)
        ax.text(1.0, target, f"target {target:g} min ", color=TARGET_COLOR, fontsize=8, ha="right",
                va="bottom", transform=ax.get_yaxis_transform())
    ax.set_ylim(0, hi)
