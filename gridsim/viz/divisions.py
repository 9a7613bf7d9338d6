"""Share meeting each target by division: bars with 95 % Wilson intervals, coloured by verdict
against the required share, and the city-wide share."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from gridsim.analysis.metrics import MET, MISSED, TOO_FEW, UNCERTAIN, stage_table, stage_table_by, verdict
from gridsim.domain import TARGET_STAGES, stage_label
from gridsim.results.loaders import RunData
from gridsim.viz.labels import STATUS_TEXT, context, fmt_pct, required_of
from gridsim.viz.style import NOTE_COLOR, REF_COLOR, REQUIRED_COLOR, STATUS_COLOR, STYLE, new_figure, pct_axis, suptitle


def _division_panel(ax, t: pd.DataFrame, city_row: dict, title: str, required: float) -> None:
    """Bars of one stage: share per division (rows of `t` in plotting order), CI whiskers, n;
    each bar coloured by its verdict against the required share (dash-dot line)."""
    yy = np.arange(len(t))
    share = t["share"].to_numpy(dtype=float)
    lo = t["ci_low"].to_numpy(dtype=float)
    hi = t["ci_high"].to_numpy(dtype=float)
    n = t["n"].fillna(0).to_numpy(dtype=int)
    status = np.asarray(verdict(lo, hi, n, required), dtype=object).reshape(len(t))
    ok = (n > 0) & (status != TOO_FEW)
    ax.barh(yy[ok], share[ok], color=[STATUS_COLOR[x] for x in status[ok]], alpha=0.85, height=0.65)
    ax.axvline(required, color=REQUIRED_COLOR, ls="-.", lw=1.2)
    err = np.clip([share[ok] - lo[ok], hi[ok] - share[ok]], 0, None)   # rounding at 0 % / 100 %
    ax.errorbar(share[ok], yy[ok], xerr=err, fmt="none", ecolor="#222222", elinewidth=1, capsize=2.5)
    cs = city_row["share"]
    sub = "no events judged"
    if cs is not None and np.isfinite(cs):
        ax.axvline(cs, color=REF_COLOR, ls="--", lw=1.1)
        sub = f"city-wide (dashed): {fmt_pct(cs)} of {city_row['n']:,}"
    for y, k, st in zip(yy, n, status):
        ax.text(1.03, y, f"n={k:,}" if k else "no events", va="center", ha="left", fontsize=7.5,
                color=NOTE_COLOR, transform=ax.get_yaxis_transform())
        if k and st == TOO_FEW:
            ax.text(0.02, y, "too few to judge", va="center", ha="left", fontsize=7.5, color=STATUS_COLOR[TOO_FEW])
    ax.set_xlim(0, 1.0)
    pct_axis(ax, "x")
    ax.set_title(f"{title}\n", loc="left")
    ax.text(0, 1.01, sub, transform=ax.transAxes, fontsize=8, color=NOTE_COLOR, va="bottom")
    ax.set_xlabel("share of events meeting the target")
    ax.grid(axis="y", visible=False)


def divisions_run(run: RunData) -> Figure:
    """Share meeting each target by division, bars with 95 % Wilson CI, city-wide reference line."""
    wo_warm = run.work_order_warmup_min
    tab = stage_table_by(run.events, "division", run.targets, run.horizon_min, run.warmup_min,
                         work_order_warmup_min=wo_warm)
    city = stage_table(run.events, run.targets, run.horizon_min, run.warmup_min, work_order_warmup_min=wo_warm)
    divs = [d.name for d in run.scenario.divisions] or list(pd.unique(tab["division"]))
    divs = [d for d in divs if d in set(tab["division"].astype(str))]
    with matplotlib.rc_context(STYLE):
        fig = new_figure(14, 0.42 * len(divs) + 2.9)
        axes = fig.subplots(1, 4, sharey=True)
        for ax, stage in zip(axes, TARGET_STAGES):
            t = tab[tab["stage"] == stage]
            _division_panel(ax, t.set_index(t["division"].astype(str)).reindex(divs), city[stage],
                            stage_label(stage, run.targets), required_of(run.targets, stage))
        axes[0].set_yticks(np.arange(len(divs)), divs)
        axes[0].invert_yaxis()
        handles = [Patch(color=STATUS_COLOR[x], label=STATUS_TEXT[x]) for x in (MET, UNCERTAIN, MISSED)]
        handles += [Line2D([], [], color=REQUIRED_COLOR, ls="-.", label="required share"),
                    Line2D([], [], color=REF_COLOR, ls="--", label="city-wide share")]
        fig.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=8)
        suptitle(fig, "Share meeting each target by division (bars: share, whiskers: 95 % Wilson CI)", context(run))
    return fig
