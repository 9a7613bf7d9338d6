"""By hour of day: events per day by source, and the on-scene share with its Wilson interval."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from gridsim.analysis.metrics import MIN_JUDGED, MISSED, TOO_FEW, stage_table, stage_table_by
from gridsim.domain import SOURCE_LABEL, SOURCES, stage_label
from gridsim.results.loaders import RunData
from gridsim.viz.labels import STATUS_MARK, context, fmt_pct, required_of, target_min
from gridsim.viz.style import (NOTE_COLOR, PALETTE, REF_COLOR, REQUIRED_COLOR, SOURCE_COLOR, STATUS_COLOR, STYLE,
                               new_figure, pct_axis, suptitle)

HOURS = np.arange(24)


def hour_exposure(horizon_min: float, warmup_min: float) -> np.ndarray:
    """Counted days of each hour of day (0-23) in [warm-up, horizon): the divisor for per-day volumes."""
    out = np.zeros(24)
    for d in range(int(math.ceil(horizon_min / 1440.0))):
        for h in range(24):
            a = d * 1440.0 + h * 60.0
            out[h] += max(0.0, min(a + 60.0, horizon_min) - max(a, warmup_min)) / 60.0
    return out


def shade_uncounted_hours(ax, run: RunData) -> None:
    """Shade the hours of day no counted minute falls in (the warm-up of a short run) and say
    why they are empty, so a gap reads as the warm-up and not as a quiet hour."""
    expo = hour_exposure(run.horizon_min, run.warmup_min)
    empty = np.flatnonzero(expo == 0)
    if not len(empty):
        return
    for h in empty:
        ax.axvspan(h, h + 1, color="#bbbbbb", alpha=0.35, lw=0)
    first, last = int(empty[0]), int(empty[-1]) + 1
    ax.text((first + last) / 2.0, 0.5, f"warm-up: the first {run.warmup_min / 60.0:g} h\nof the run are not counted\n"
            f"(the model starts empty)", transform=ax.get_xaxis_transform(), ha="center", va="center",
            fontsize=7.5, color=NOTE_COLOR, rotation=90 if last - first < 3 else 0)


def _volume_panel(ax, run: RunData) -> None:
    """Stacked bars: events per counted day by hour of the call and source."""
    t = run.events["t_call"].to_numpy(dtype=float)
    counted = t >= run.warmup_min
    hour = (np.floor(t[counted] / 60.0) % 24).astype(int)
    src = run.events["source"].astype(str).to_numpy()[counted]
    expo = hour_exposure(run.horizon_min, run.warmup_min)
    bottom = np.zeros(24)
    for s in SOURCES:
        cnt = np.bincount(hour[src == s], minlength=24).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_day = np.where(expo > 0, cnt / np.maximum(expo, 1e-12), np.nan)
        ax.bar(HOURS + 0.5, per_day, width=0.85, bottom=bottom, color=SOURCE_COLOR[s], label=SOURCE_LABEL[s])
        bottom = bottom + np.nan_to_num(per_day)
    ax.set_ylabel("events per day (in that hour)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(loc="upper right", ncol=1)
    shade_uncounted_hours(ax, run)
    ax.set_title("Volume by hour of day of the call", loc="left")


def _on_scene_panel(ax, run: RunData) -> None:
    """Share on scene within the target by hour of the call, Wilson band, whole-run share."""
    target = target_min(run.targets, "on_scene")
    tab = stage_table_by(run.events, "hour", run.targets, run.horizon_min, run.warmup_min,
                         work_order_warmup_min=run.work_order_warmup_min)
    tab = tab[tab["stage"] == "on_scene"].set_index("hour").reindex(range(24))
    overall = stage_table(run.events, run.targets, run.horizon_min, run.warmup_min)["on_scene"]["share"]
    n = tab["n"].fillna(0).to_numpy(dtype=float)
    few = n < MIN_JUDGED                   # hours judged on too few events show no share
    share = np.where(few, np.nan, tab["share"].to_numpy(dtype=float))
    lo = np.where(few, np.nan, tab["ci_low"].to_numpy(dtype=float))
    hi = np.where(few, np.nan, tab["ci_high"].to_numpy(dtype=float))
    for h in np.flatnonzero(few & (n > 0)):
        ax.text(h + 0.5, 0.5, "too few to judge", rotation=90, ha="center", va="center", fontsize=7,
                color=STATUS_COLOR[TOO_FEW])
    x = np.r_[HOURS, 24]
    ax.fill_between(x, np.r_[lo, lo[-1]], np.r_[hi, hi[-1]], step="post", color=PALETTE[0], alpha=0.2, lw=0,
                    label="95 % Wilson CI")
    ax.step(x, np.r_[share, share[-1]], where="post", color=PALETTE[0], lw=1.8,
            label=f"share on scene within {target:g} min")
    if overall is not None and np.isfinite(overall):
        ax.axhline(overall, color=REF_COLOR, ls="--", lw=1.1, label=f"whole run {fmt_pct(overall)}")
    required = required_of(run.targets, "on_scene")
    ax.axhline(required, color=REQUIRED_COLOR, ls="-.", lw=1.1, label=f"required {fmt_pct(required, 0)}")
    missed = (hi < required) & ~few
    if missed.any():
        ax.plot(HOURS[missed] + 0.5, share[missed], ls="", marker=STATUS_MARK[MISSED], color=STATUS_COLOR[MISSED],
                ms=6, label="hour missed (whole CI below the requirement)")
    shade_uncounted_hours(ax, run)
    ax.set_ylim(0, 1.0)
    pct_axis(ax)
    ax.set_ylabel(f"share {stage_label('on_scene', run.targets)}")
    ax.set_title(f"On-scene target ({target:g} min) by hour of day", loc="left")
    ax.legend(loc="lower left", ncol=2, fontsize=8)
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 2), [f"{h:02d}:00" for h in range(0, 25, 2)])
    ax.set_xlabel("hour of day of the call (local time)")


def hourly_run(run: RunData) -> Figure:
    """Events per day and on-scene share by hour of day (two panels)."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(11, 7.4)
        ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[1.1, 1])
        _volume_panel(ax1, run)
        _on_scene_panel(ax2, run)
        suptitle(fig, "Volume and on-scene target by hour of day", context(run))
    return fig
