"""Utilisation by role: busy share by hour of day (runs) or by variant (experiments).

A run's figure measures first-responder busy time from the events table against on-duty
minutes from the scenario's shifts, and shows the model's own hourly samples (summary.json);
an experiment's shows the whole-run busy share per role and variant (runs.parquet `util.<role>`).
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from gridsim.analysis.metrics import mean_ci
from gridsim.domain import ROLE_LABEL, ROLES
from gridsim.engine.shifts import on_duty_minutes, shift_intervals
from gridsim.results.loaders import ExperimentData, RunData
from gridsim.viz.hourly import shade_uncounted_hours
from gridsim.viz.labels import context
from gridsim.viz.style import ROLE_COLOR, STYLE, NotApplicable, new_figure, no_data, pct_axis, suptitle
from gridsim.viz.variants import variant_colors, variant_order

MODEL_SAMPLES = (("busy_police", "police units busy", ROLE_COLOR["police"], "-"),
                 ("busy_grid_workers", "grid workers busy", ROLE_COLOR["fulltime"], "-"),
                 ("police_queue", "110 tasks waiting for a unit", ROLE_COLOR["police"], "--"),
                 ("grid_queue", "grid tasks waiting for a worker", ROLE_COLOR["fulltime"], "--"))
"""summary.json `hourly_model` series drawn in panel (b): key, label, colour, line style."""


def _busy_integral(starts: np.ndarray, ends: np.ndarray, t: np.ndarray) -> np.ndarray:
    """F(t) = total busy time of the intervals [starts, ends) before t, vectorised over t."""
    s = np.sort(starts)
    e = np.sort(ends)
    cs = np.r_[0.0, np.cumsum(s)]
    ce = np.r_[0.0, np.cumsum(e)]
    ks = np.searchsorted(s, t, side="left")
    ke = np.searchsorted(e, t, side="left")
    return (ks * t - cs[ks]) - (ke * t - ce[ke])


def role_hourly_busy(run: RunData) -> pd.DataFrame:
    """Busy share by role and hour of day from the events table (first-responder jobs).

    Busy minutes: t_dispatch .. t_done of each event's first responder (t_done missing: busy to
    the end of the run), inside each hour after the warm-up, divided by on-duty responder
    minutes of that role in that hour (scenario shifts x responders). Columns: hour, role,
    busy_min, on_duty_min, share (NaN when the role is off duty all that hour).
    """
    ev = run.events
    H, W = run.horizon_min, run.warmup_min
    edges = np.clip(np.arange(0.0, H + 60.0, 60.0), 0, H)
    lo_edges = np.maximum(edges[:-1], W)
    hi_edges = np.maximum(edges[1:], W)
    hod = (np.arange(len(edges) - 1) % 24)
    util = run.summary.get("utilisation", {})
    role = ev["responder_role"].astype(str).to_numpy()
    t0 = ev["t_dispatch"].to_numpy(dtype=float)
    t1 = ev["t_done"].to_numpy(dtype=float)
    rows = []
    for r in ROLES:
        m = (role == r) & np.isfinite(t0)
        s = t0[m]
        e = np.maximum(np.where(np.isfinite(t1[m]), t1[m], H), s)
        busy = _busy_integral(s, e, hi_edges) - _busy_integral(s, e, lo_edges)
        count = (util.get(r) or {}).get("responders") or 0
        ivs = shift_intervals(run.scenario, r, H)
        duty = np.array([on_duty_minutes(ivs, a, b) for a, b in zip(lo_edges, hi_edges)]) * count
        for h in range(24):
            sel = hod == h
            b, d = float(busy[sel].sum()), float(duty[sel].sum())
            rows.append({"hour": h, "role": r, "busy_min": b, "on_duty_min": d,
                         "share": b / d if d > 0 else np.nan})
    return pd.DataFrame(rows)


def _role_hours_panel(ax, run: RunData) -> None:
    """(a) Busy share by role and hour from the events table; whole-run share marked at the right."""
    tab = role_hourly_busy(run)
    util = run.summary.get("utilisation", {})
    hours = np.arange(25)
    top = 0.0
    for r in ROLES:
        sh = tab[tab["role"] == r].sort_values("hour")["share"].to_numpy(dtype=float)
        top = max(top, np.nanmax(sh) if np.isfinite(sh).any() else 0)
        ax.step(hours, np.r_[sh, sh[-1]], where="post", color=ROLE_COLOR[r], lw=1.8,
                label=f"{ROLE_LABEL[r]} ({(util.get(r) or {}).get('responders', 0):,})")
        whole = (util.get(r) or {}).get("utilisation")
        if whole is not None:
            ax.plot([24.15], [whole], marker="<", color=ROLE_COLOR[r], ms=8, clip_on=False)
            top = max(top, whole)
    ax.set_xlim(0, 24)
    ax.set_ylim(0, min(1.0, max(0.1, top * 1.15)))
    shade_uncounted_hours(ax, run)
    pct_axis(ax)
    ax.set_xticks(range(0, 25, 2), [f"{h:02d}:00" for h in range(0, 25, 2)])
    ax.set_xlabel("hour of day")
    ax.set_ylabel("busy share of on-duty responders")
    ax.set_title("(a) Busy share by role and hour of day: first-responder jobs (events table)", loc="left")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], ls="", marker="<", color="#444444", ms=7))
    labels.append("whole run, all tasks (model, summary.json)")
    ax.legend(handles, labels, loc="upper left", ncol=3, fontsize=8)


def _model_samples_panel(ax, run: RunData) -> None:
    """(b) The model's hourly samples: responders busy and tasks waiting, warm-up shaded."""
    hm = run.summary.get("hourly_model") or {}
    if hm:
        n = len(next(iter(hm.values())))
        x = np.arange(n)        # one sample per simulated hour, from t = 0
        for key, label, color, ls in MODEL_SAMPLES:
            if key in hm:
                ax.plot(x, np.asarray(hm[key], dtype=float), color=color, ls=ls, lw=1.5, label=label)
        ax.axvspan(0, run.warmup_min / 60.0, color="#bbbbbb", alpha=0.35, lw=0,
                   label="warm-up (not counted: the model starts empty)")
        ax.set_xlim(0, max(1, n - 1))
        ax.set_xlabel("hours since the start of the run (day 1 starts 00:00)")
        ax.set_ylabel("responders / tasks (count)")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=12))
        ax.legend(loc="upper left", ncol=3, fontsize=8)
    else:
        no_data(ax, "no hourly samples in summary.json")
    ax.set_title("(b) Model samples each hour: responders busy and tasks waiting", loc="left")


def utilisation_run(run: RunData) -> Figure:
    """(a) busy share by role and hour of day from events; (b) the model's hourly samples."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(11.5, 8.2)
        ax1, ax2 = fig.subplots(2, 1, height_ratios=[1.15, 1])
        _role_hours_panel(ax1, run)
        _model_samples_panel(ax2, run)
        suptitle(fig, "Utilisation by role", context(run))
    return fig


def utilisation_experiment(exp: ExperimentData) -> Figure:
    """Whole-run busy share by role per variant, mean and 95 % CI over replications."""
    colors = variant_colors(exp)
    roles = [r for r in ROLES if f"util.{r}" in exp.runs.columns]
    if not roles:
        raise NotApplicable("utilisation: runs.parquet has no util.<role> columns")
    variants = variant_order(exp)
    with matplotlib.rc_context(STYLE):
        fig = new_figure(max(8.0, 1.0 + 0.35 * len(variants) * len(roles)), 5.2)
        ax = fig.add_subplot()
        width = 0.8 / len(variants)
        for i, v in enumerate(variants):
            rows = exp.variant_rows(v)
            ms, errs = [], [[], []]
            for r in roles:
                m, lo, hi = mean_ci(pd.to_numeric(rows[f"util.{r}"], errors="coerce").to_numpy(dtype=float))
                ms.append(m)
                errs[0].append(max(0.0, m - max(0.0, lo)) if np.isfinite(lo) else 0)   # a share stays in 0-100 %
                errs[1].append(max(0.0, min(1.0, hi) - m) if np.isfinite(hi) else 0)
            xs = np.arange(len(roles)) - 0.4 + width * (i + 0.5)
            ax.bar(xs, ms, width=width * 0.92, color=colors[v], label=v)
            ax.errorbar(xs, ms, yerr=errs, fmt="none", ecolor="#222222", elinewidth=1, capsize=2)
        ax.set_xticks(np.arange(len(roles)), [ROLE_LABEL[r] for r in roles])
        ax.set_ylabel("busy share of on-duty time (whole run)")
        pct_axis(ax)
        ax.set_ylim(bottom=0)
        ax.grid(axis="x", visible=False)
        ax.legend(title="variant", loc="upper right", ncol=max(1, math.ceil(len(variants) / 8)))
        ax.set_title("All tasks, after warm-up; whiskers: 95 % CI over replications", loc="left",
                     fontweight="normal", fontsize=9)
        suptitle(fig, "Utilisation by role and variant", context(exp))
    return fig
