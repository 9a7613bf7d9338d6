"""Share meeting each target by division: bars with 95 % Wilson intervals and the city-wide share."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gridsim.analysis.metrics import stage_table, stage_table_by
from gridsim.domain import TARGET_STAGES, stage_label
from gridsim.results.loaders import RunData
from gridsim.viz.labels import context, fmt_pct
from gridsim.viz.style import NOTE_COLOR, PALETTE, REF_COLOR, STYLE, new_figure, pct_axis, suptitle


def _division_panel(ax, t: pd.DataFrame, city_row: dict, title: str) -> None:
    """Bars of one stage: share per division (rows of `t` in plotting order), CI whiskers, n."""
    yy = np.arange(len(t))
    share = t["share"].to_numpy(dtype=float)
    lo = t["ci_low"].to_numpy(dtype=float)
    hi = t["ci_high"].to_numpy(dtype=float)
    n = t["n"].fillna(0).to_numpy(dtype=int)
    ok = n > 0
    ax.barh(yy[ok], share[ok], color=PALETTE[0], alpha=0.8, height=0.65)
    err = np.clip([share[ok] - lo[ok], hi[ok] - share[ok]], 0, None)   # rounding at 0 % / 100 %
    ax.errorbar(share[ok], yy[ok], xerr=err, fmt="none", ecolor="#222222", elinewidth=1, capsize=2.5)
    cs = city_row["share"]
    sub = "no events judged"
    if cs is not None and np.isfinite(cs):
        ax.axvline(cs, color=REF_COLOR, ls="--", lw=1.1)
        sub = f"city-wide (dashed): {fmt_pct(cs)} of {city_row['n']:,}"
    for y, k in zip(yy, n):
        ax.text(1.03, y, f"n={k:,}" if k else "no events", va="center", ha="left", fontsize=7.5,
                color=NOTE_COLOR, transform=ax.get_yaxis_transform())
    ax.set_xlim(0, 1.0)
    pct_axis(ax, "x")
    ax.set_title(f"{title}\n", loc="left")
    ax.text(0, 1.01, sub, transform=ax.transAxes, fontsize=8, color=NOTE_COLOR, va="bottom")
    ax.set_xlabel("share of events meeting the target")
    ax.grid(axis="y", visible=False)


def divisions_run(run: RunData) -> Figure:
    """Share meeting each target by division, bars with 95 % Wilson CI, city-wide reference line."""
    tab = stage_table_by(run.events, "division", run.targets, run.horizon_min, run.warmup_min)
    city = stage_table(run.events, run.targets, run.horizon_min, run.warmup_min)
    divs = [d.name for d in run.scenario.divisions] or list(pd.unique(tab["division"]))
    divs = [d for d in divs if d in set(tab["division"].astype(str))]
    with matplotlib.rc_context(STYLE):
        fig = new_figure(14, 0.42 * len(divs) + 2.4)
        axes = fig.subplots(1, 4, sharey=True)
        for ax, stage in zip(axes, TARGET_STAGES):
            t = tab[tab["stage"] == stage]
            _division_panel(ax, t.set_index(t["division"].astype(str)).reindex(divs), city[stage],
                            stage_label(stage, run.targets))
        axes[0].set_yticks(np.arange(len(divs)), divs)
        axes[0].invert_yaxis()
        suptitle(fig, "Share meeting each target by division (bars: share, whiskers: 95 % Wilson CI)", context(run))
    return fig
