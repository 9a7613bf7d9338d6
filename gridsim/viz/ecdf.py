"""Time from the call to each target stage as cumulative shares (ECDF), with the target lines.

Runs: one curve per stage from the events table. Experiments: per variant the mean of the
runs' stored ECDFs (on gridsim.domain.ECDF_GRID_MIN) with a 95 % t-interval band.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.figure import Figure
from scipy import stats as sps

from gridsim.analysis.metrics import TOO_FEW, Judgement, judge
from gridsim.domain import ECDF_GRID_MIN, STAGES, TARGET_STAGES
from gridsim.results.loaders import ExperimentData, RunData
from gridsim.viz.labels import STATUS_MARK, context, fmt_pct, judgement_text, required_of, target_min
from gridsim.viz.style import (NOTE_COLOR, PALETTE, REQUIRED_COLOR, STATUS_COLOR, STYLE, TARGET_COLOR, new_figure,
                               nice_ceil, no_data, pct_axis, suptitle)
from gridsim.viz.variants import variant_colors, variant_judgement, variant_order


def ecdf_xmax(target: float, q97: float) -> float:
    """Panel width: at least 2x the target, enough to show 97 % of events, at most 60 min."""
    hi = q97 if np.isfinite(q97) else 60.0
    return float(min(60.0, max(2.0 * target, nice_ceil(hi * 1.05))))


def t_band(mat: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise mean and t-interval over rows (replications); NaN band for one row."""
    mat = np.asarray(mat, dtype=float)
    n = mat.shape[0]
    m = np.nanmean(mat, axis=0) if n else np.full(mat.shape[1], np.nan)
    if n < 2:
        return m, np.full_like(m, np.nan), np.full_like(m, np.nan)
    half = sps.t.ppf(0.5 + level / 2.0, n - 1) * np.std(mat, axis=0, ddof=1) / math.sqrt(n)
    return m, m - half, m + half


def finish_ecdf_axis(ax, target: float, xmax: float) -> None:
    """Target line, limits and labels shared by the run and experiment ECDF panels."""
    ax.axvline(target, color=TARGET_COLOR, ls="--", lw=1.4, label=f"target {target:g} min")
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, 1.02)
    pct_axis(ax)
    ax.set_xlabel("minutes from the call")
    ax.set_ylabel("share of events reached")


def draw_required(ax, required: float, axis: str = "y") -> None:
    """The required share as a line across a share axis, labelled at its end."""
    line = ax.axhline if axis == "y" else ax.axvline
    line(required, color=REQUIRED_COLOR, ls="-.", lw=1.1, label=f"required {fmt_pct(required, 0)}")


def _annotate_share(ax, target: float, j: Judgement, xmax: float, within: str | None = None) -> None:
    """The share within the target on the curve, coloured and worded by its verdict; `within`
    words the limit when it varies by event (e.g. '5-10 min': urban and rural)."""
    share = j.share
    color = STATUS_COLOR[j.status]
    ax.plot([0, target], [share, share], color=color, lw=0.8, ls=":")
    ax.plot([target], [share], STATUS_MARK[j.status] if j.status != TOO_FEW else "o", color=color, ms=7, zorder=5)
    right = target < 0.6 * xmax
    ax.annotate(f"{fmt_pct(share)} within {within or f'{target:g} min'} (n = {j.n:,})\n{judgement_text(j)}",
                xy=(target, share),
                xytext=(8 if right else -8, -4 if share > 0.5 else 10), textcoords="offset points",
                ha="left" if right else "right", va="top" if share > 0.5 else "bottom",
                fontsize=8.5, color=color, fontweight="bold",
                path_effects=[patheffects.withStroke(linewidth=3, foreground="white")])


def _run_panel(ax, judged: pd.DataFrame, target: float, required: float) -> float:
    """One stage's ECDF of a run's judged events (stage_elapsed rows); returns the panel's x limit.
    The share met counts each event against its own limit (rural grids may have a longer one)."""
    el = judged["elapsed"].to_numpy(dtype=float)
    n = len(el)
    if n == 0:
        no_data(ax)
        return 2 * target
    fin = np.sort(el[np.isfinite(el)])
    q97 = np.quantile(el, 0.97, method="lower")
    xmax = ecdf_xmax(target, q97 if np.isfinite(q97) else np.inf)
    y = np.arange(1, len(fin) + 1) / n
    xs = np.r_[0.0, fin, max(xmax, fin[-1] if len(fin) else 0.0)]
    ys = np.r_[0.0, y, y[-1] if len(y) else 0.0]
    ax.step(xs, ys, where="post", color=PALETTE[0], lw=1.8, label="events judged")
    limits = judged["limit"].to_numpy(dtype=float)
    within = None if np.all(limits == target) else f"{np.min(limits):g}-{np.max(limits):g} min"
    _annotate_share(ax, target, judge(int(judged["met"].sum()), n, required), xmax, within)
    censored = int(np.sum(~np.isfinite(el)))
    beyond = int(np.sum(np.isfinite(el) & (el > xmax)))
    notes = []
    if beyond:
        notes.append(f"{fmt_pct(beyond / n)} take longer than {xmax:g} min")
    if censored:
        notes.append(f"{fmt_pct(censored / n)} not reached by the end of the run")
    if notes:
        ax.text(0.98, 0.04, "\n".join(notes), transform=ax.transAxes, ha="right", va="bottom",
                fontsize=8, color=NOTE_COLOR)
    return xmax


def ecdf_run(run: RunData) -> Figure:
    """4 panels: ECDF of time to respond / on scene / support / cordon, target lines and shares."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(12, 7.6)
        axes = fig.subplots(2, 2)
        for ax, stage in zip(axes.ravel(), TARGET_STAGES):
            target = target_min(run.targets, stage)
            ax.set_title(STAGES[stage].title, loc="left")
            required = required_of(run.targets, stage)
            xmax = _run_panel(ax, run.elapsed(stage), target, required)
            finish_ecdf_axis(ax, target, xmax)
            draw_required(ax, required)
            ax.legend(loc="center right", fontsize=8)
        suptitle(fig, "Time from call to each target stage (cumulative share of events)", context(run))
    return fig


def _experiment_panel(ax, exp: ExperimentData, stage: str, target: float, colors: dict) -> tuple[int, float]:
    """Each variant's mean ECDF of one stage with its band; returns (curves drawn, x limit)."""
    grid = ECDF_GRID_MIN
    xmax = 2 * target
    drawn = 0
    for v in exp.variants:
        mat = exp.ecdf_matrix(stage, v)
        if len(mat) == 0:
            continue
        rows = exp.variant_rows(v)
        m, lo, hi = t_band(mat)
        reach = np.nonzero(m >= 0.97)[0]
        xmax = max(xmax, ecdf_xmax(target, grid[reach[0]] if len(reach) else np.inf))
        share_col = f"{stage}.share"
        share = float(pd.to_numeric(rows[share_col], errors="coerce").mean()) if share_col in rows \
            else float(np.interp(target, grid, m))
        j = variant_judgement(exp, v, stage)
        verdict_text = j.status if j.status != TOO_FEW else "too few to judge"
        ax.plot(grid, m, color=colors[v], lw=1.7, label=f"{v}: {fmt_pct(share)} ({verdict_text})")
        if j.status != TOO_FEW and np.isfinite(j.share):
            ax.plot([target], [j.share], STATUS_MARK[j.status], color=STATUS_COLOR[j.status], mec=colors[v],
                    ms=7, zorder=5)
        if np.isfinite(lo).any():
            ax.fill_between(grid, np.clip(lo, 0, 1), np.clip(hi, 0, 1), color=colors[v], alpha=0.18, lw=0)
        drawn += 1
    return drawn, xmax


def _variant_legend(ax, legend_order: list[str], target: float) -> None:
    """The target first, then the variants in sweep order."""
    handles, labels = ax.get_legend_handles_labels()
    first = {lab.split(": ")[0]: i for i, lab in enumerate(labels)}
    order = [i for i, lab in enumerate(labels) if lab.startswith(("target", "required"))] + \
            [first[v] for v in legend_order if v in first]
    ax.legend([handles[i] for i in order], [labels[i] for i in order],
              title=f"variant: share within {target:g} min (verdict)", loc="lower right", fontsize=8,
              title_fontsize=8)


def ecdf_experiment(exp: ExperimentData) -> Figure:
    """4 panels: per variant the mean ECDF over replications with a 95 % CI band, target lines."""
    colors = variant_colors(exp)
    legend_order = variant_order(exp)
    targets = exp.targets
    with matplotlib.rc_context(STYLE):
        fig = new_figure(12, 8.2)
        axes = fig.subplots(2, 2)
        for ax, stage in zip(axes.ravel(), TARGET_STAGES):
            target = target_min(targets, stage)
            ax.set_title(STAGES[stage].title, loc="left")
            drawn, xmax = _experiment_panel(ax, exp, stage, target, colors)
            if not drawn:
                no_data(ax)
            finish_ecdf_axis(ax, target, xmax)
            draw_required(ax, required_of(targets, stage))
            if drawn:
                _variant_legend(ax, legend_order, target)
        suptitle(fig, "Time from call to each target stage, per variant (mean, band: 95 % CI over replications)",
                 context(exp))
    return fig
