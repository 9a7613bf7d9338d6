"""On-scene time by event category: one histogram per category, with the target line."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gridsim.analysis.metrics import MIN_JUDGED
from gridsim.domain import SOURCE_LABEL, SOURCES
from gridsim.results.loaders import RunData
from gridsim.viz.labels import category_label, context, fmt_pct, target_min
from gridsim.viz.style import (PALETTE, SOURCE_COLOR, STYLE, TARGET_COLOR, new_figure, nice_ceil, no_data, pct_axis,
                               suptitle)


def _judged_by_category(run: RunData) -> tuple[pd.DataFrame, list[str]]:
    """On-scene elapsed times with each event's category and source, and the categories in
    panel order: by source, then by volume."""
    el = run.elapsed("on_scene")
    cats = run.events.set_index("event_id").loc[el["event_id"], ["category", "source"]]
    el = el.assign(category=cats["category"].astype(str).to_numpy(), source=cats["source"].astype(str).to_numpy())
    order = [c for c in pd.unique(run.events["category"].astype(str)) if (el["category"] == c).any()]

    def key(c: str) -> tuple[int, int]:
        src = el.loc[el["category"] == c, "source"].iloc[0]
        return SOURCES.index(src) if src in SOURCES else 9, -int((el["category"] == c).sum())
    order.sort(key=key)
    return el, order


def _category_panel(ax, sub: pd.DataFrame, cat: str, bins: np.ndarray, target: float, xmax: float) -> None:
    x = sub["elapsed"].to_numpy()
    n = len(x)
    src = sub["source"].iloc[0]
    w = np.full(n, 1.0 / n)
    ax.hist(np.clip(x[np.isfinite(x)], 0, None), bins=bins, weights=w[np.isfinite(x)],
            color=SOURCE_COLOR.get(src, PALETTE[0]), alpha=0.85)
    ax.axvline(target, color=TARGET_COLOR, ls="--", lw=1.3)
    ax.set_title(f"{category_label(cat)} ({src})", loc="left", fontsize=9.5)
    over = int(np.sum(x > xmax))
    note = f"n = {n:,}\n{fmt_pct(float(np.mean(x <= target)))} within {target:g} min" if n >= MIN_JUDGED \
        else f"n = {n:,}: too few to judge"
    if over:
        note += f"\n{fmt_pct(over / n)} beyond {xmax:g} min"
    ax.text(0.97, 0.95, note, transform=ax.transAxes, ha="right", va="top", fontsize=8,
            path_effects=[patheffects.withStroke(linewidth=3, foreground="white")])


def hist_run(run: RunData, bin_min: float = 1.0) -> Figure:
    """Histograms of on-scene time by event category (small multiples), target line."""
    target = target_min(run.targets, "on_scene")
    el, order = _judged_by_category(run)
    fin = el["elapsed"].to_numpy()
    q = np.quantile(fin, 0.95) if len(fin) else np.inf
    xmax = float(min(60.0, max(4 * target, nice_ceil(q if np.isfinite(q) else 60.0, 10))))
    bins = np.arange(0, xmax + bin_min / 2, bin_min)
    ncol = 4 if len(order) > 6 else 3
    nrow = max(1, math.ceil(len(order) / ncol))
    with matplotlib.rc_context(STYLE):
        fig = new_figure(3.4 * ncol, 2.5 * nrow + 1.0)
        axes = np.atleast_1d(fig.subplots(nrow, ncol, sharex=True, sharey=True)).ravel()
        for ax, cat in zip(axes, order):
            _category_panel(ax, el[el["category"] == cat], cat, bins, target, xmax)
        for ax in axes[len(order):]:
            ax.set_visible(False)
        for ax in axes[:len(order)]:
            pct_axis(ax)
            ax.tick_params(labelbottom=True)
        for i in range(nrow):
            axes[i * ncol].set_ylabel(f"share per {bin_min:g}-min bin")
        for ax in axes[:len(order)][-ncol:]:
            ax.set_xlabel("on-scene time (min from the call)")
        axes[0].set_xlim(0, xmax)
        handles = [Line2D([], [], color=TARGET_COLOR, ls="--", label=f"target {target:g} min")] + \
                  [Line2D([], [], color=SOURCE_COLOR[s], lw=6, label=SOURCE_LABEL[s]) for s in SOURCES
                   if (el["source"] == s).any()]
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles))
        suptitle(fig, "On-scene time by event category (110 incidents and urgent work orders)", context(run))
        if not order:
            no_data(axes[0])
    return fig
