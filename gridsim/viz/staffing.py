"""Metrics against a swept numeric factor of an experiment: mean and 95 % CI over replications.

The default panels are each target's share and p90 time (with the target line, and where the
mean curve crosses it), then the metrics the experiment file keeps; `metric` picks one
runs.parquet column instead.
"""

from __future__ import annotations

import math
from typing import Iterable

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from gridsim.analysis.metrics import mean_ci
from gridsim.domain import STAGES, TARGET_STAGES
from gridsim.results.loaders import METRIC_GROUPS, PERCENTILE_FIELDS, ExperimentData
from gridsim.viz.labels import (context, factor_value_text, fmt_count, key_note, metric_title, split_metric_column,
                                target_min)
from gridsim.viz.style import NOTE_COLOR, PALETTE, REF_COLOR, STYLE, TARGET_COLOR, NotApplicable, new_figure, \
    pct_axis, suptitle

SHARE_FIELDS = ("share", "ci_low", "ci_high")
ROW_METRIC_GROUPS = tuple(g for g in METRIC_GROUPS if g != "ecdf")
"""Metric groups with one number per run (a staffing panel can show them)."""


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


def _sweep_table(exp: ExperimentData, factor: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Successful runs with `_x` (the factor) and `_group` (the other factors that vary at a fixed x),
    the groups in order, and those other factors."""
    ok = exp.ok.copy()
    ok["_x"] = pd.to_numeric(ok[factor], errors="coerce")
    labels = {f: ok[f].map(factor_value_text) for f in exp.factors if f != factor}
    others = [f for f, lab in labels.items() if lab.groupby(ok["_x"]).nunique().max() > 1]
    ok["_group"] = pd.DataFrame({f: labels[f] for f in others}).agg(", ".join, axis=1) if others else ""
    return ok, list(dict.fromkeys(ok["_group"])), others


def staffing_experiment(exp: ExperimentData, factor: str | None = None, metric: str | None = None) -> Figure:
    """Metrics against a swept numeric factor: mean and 95 % CI over replications, target lines.

    Default panels (`staffing_metrics`): share meeting each target and its p90 time with the
    target line, then the metrics the experiment file keeps. With `metric` (a runs.parquet
    column such as `on_scene.p90` or `util.fulltime`), that one metric.
    """
    nf = exp.numeric_factors
    if not nf:
        raise NotApplicable("staffing: the experiment sweeps no numeric factor")
    factor = factor or nf[0]
    ok, groups, others = _sweep_table(exp, factor)
    panels = [resolve_metric_column(metric, ok.columns)] if metric is not None else staffing_metrics(exp)
    ncol = min(4, len(panels))
    nrow = math.ceil(len(panels) / ncol)
    note = key_note(factor)
    targets = exp.targets
    with matplotlib.rc_context(STYLE):
        fig = new_figure(max(6.0, 3.6 * ncol), 3.2 * nrow + 1.4)
        axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
        xs = np.unique(ok["_x"].dropna())
        for ax, col in zip(axes, panels):
            _staffing_panel(ax, ok, col, groups, targets)
            if len(xs) <= 6:
                ax.set_xticks(xs)
            else:
                ax.xaxis.set_major_locator(MaxNLocator(5))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_count(v)))
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        fig.supxlabel(f"{factor}  ({note})" if note else factor, fontsize=9.5)
        if len(groups) > 1:
            handles, labels = axes[0].get_legend_handles_labels()
            fig.legend(handles, labels, loc="outside right upper", title=", ".join(others), title_fontsize=8.5)
        suptitle(fig, f"Metrics against {factor} (mean over replications, band: 95 % CI)", context(exp))
    return fig


def _mean_curve(sub: pd.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool, int]:
    """(x, mean, ci low, ci high) over replications at each x, whether any value was infinite, and
    how many replications had no value (no event judged)."""
    xs, ms, los, his = [], [], [], []
    infinite, dropped = False, 0
    for xv, rows in sub.groupby("_x", sort=True):
        v = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float)
        infinite = infinite or bool(np.isinf(v).any())
        dropped += int(np.isnan(v).sum())      # a replication with no event judged has no value
        m, lo, hi = mean_ci(v[~np.isnan(v)])
        xs.append(xv)
        ms.append(m)
        los.append(lo if np.isfinite(lo) else m)
        his.append(hi if np.isfinite(hi) else m)
    xs, ms, los, his = (np.asarray(a, dtype=float) for a in (xs, ms, los, his))
    return xs, ms, los, his, infinite, dropped


def _staffing_panel(ax, ok: pd.DataFrame, col: str, groups: list[str], targets: dict) -> None:
    """One metric: a mean curve and band per group, then the axis for its kind of value."""
    _, stage, stat = split_metric_column(col)
    is_util = stage == "util"
    is_share = stat in SHARE_FIELDS or is_util
    target = target_min(targets, stage) if stage in STAGES and STAGES[stage].is_target else None
    infinite_any, dropped = False, 0
    for k, g in enumerate(groups):
        xs, ms, los, his, infinite, n_dropped = _mean_curve(ok[ok["_group"] == g], col)
        infinite_any, dropped = infinite_any or infinite, dropped + n_dropped
        color = PALETTE[k % len(PALETTE)]
        fin = np.isfinite(ms)
        if is_share:                       # a t-interval can pass 0 % or 100 %; a share cannot
            los, his = np.clip(los, 0, 1), np.clip(his, 0, 1)
        ax.fill_between(xs[fin], los[fin], his[fin], color=color, alpha=0.2, lw=0)
        ax.plot(xs[fin], ms[fin], "o-", color=color, lw=1.6, ms=4, label=g or None)
        if target is not None and stat in PERCENTILE_FIELDS and fin.sum() >= 1:
            _mark_crossing(ax, xs[fin], ms[fin], target, color)
    ax.set_title(metric_title(col, targets), loc="left")
    if is_share:
        _share_axis(ax, is_util, target is not None, stat)
    elif stat in PERCENTILE_FIELDS:
        _time_axis(ax, stage, stat, target)
    else:
        ax.set_ylabel({"queue": "tasks waiting", "volume": "events"}.get(stage, col))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_count(v)))
    notes = []
    if infinite_any:
        notes.append("some replications: beyond the end of the run (not plotted)")
    if dropped:
        notes.append(f"{dropped} replication(s) with no event judged left out")
    if notes:
        ax.text(0.02, 0.02, "\n".join(notes), transform=ax.transAxes, fontsize=7.5, va="bottom", color=NOTE_COLOR)


def _share_axis(ax, is_util: bool, is_target: bool, stat: str) -> None:
    """0-100 % (busy shares: up to a little above the highest), a 90 % reference for target shares."""
    if is_util:
        ax.set_ylim(0, min(1.02, max(0.1, ax.get_ylim()[1] * 1.15)))
    else:
        ax.set_ylim(0, 1.02)
    pct_axis(ax)
    ax.set_ylabel("busy share of on-duty time" if is_util else
                  "share meeting the target" if is_target else "share within its limit")
    if stat == "share" and is_target:
        ax.axhline(0.9, color=REF_COLOR, ls=":", lw=1)
        ax.text(ax.get_xlim()[0], 0.9, " 90 %", va="bottom", ha="left", fontsize=7.5, color=REF_COLOR)


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


def _mark_crossing(ax, xs: np.ndarray, ms: np.ndarray, target: float, color) -> None:
    """Where the mean curve first drops to the target (linear interpolation), a dotted vertical line."""
    order = np.argsort(xs)
    xs, ms = xs[order], ms[order]
    below = ms <= target
    if not below.any() or below.all():
        return
    j = int(np.argmax(below))
    if j == 0:
        return
    x0, x1, y0, y1 = xs[j - 1], xs[j], ms[j - 1], ms[j]
    xc = x0 + (y0 - target) / (y0 - y1) * (x1 - x0) if y0 != y1 else x1
    ax.axvline(xc, color=color, ls=":", lw=1)
    ax.annotate(f"~{xc:,.0f}" if abs(xc) >= 100 else f"~{xc:.3g}", xy=(xc, target), xytext=(3, 6),
                textcoords="offset points", fontsize=8, color=color)

