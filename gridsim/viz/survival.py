"""Kaplan-Meier curves of time to close (and to discovery) with the scenario's deadlines marked.

A work order's deadline runs for days, so in a short run most orders are still open: the
curves (gridsim.analysis.survival) count an open order as "took longer than its age at the end
of the run" instead of leaving it out. Panels: time to close by source in calendar days and in
working days, by category (the largest work-order categories, each with its own deadline), and
time to discovery of latent hazards. A curve is the share still open x after the call; where it
crosses a deadline marker, one minus its height is the share closed within that deadline.
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from gridsim.analysis.metrics import due_column
from gridsim.analysis.survival import (DISCOVERY, WORKING_DAYS_COLUMN, SurvivalCurve, km_curve, km_curves,
                                       share_within_deadline)
from gridsim.domain import SOURCE_LABEL, WORK_ORDER_SOURCES
from gridsim.results.loaders import RunData
from gridsim.viz.labels import category_label, context, fmt_pct
from gridsim.viz.style import (PALETTE, SOURCE_COLOR, STYLE, TARGET_COLOR, new_figure, no_data,
                               pct_axis, suptitle)

MAX_CATEGORIES = 6
MAX_POINTS = 3000
MIN_AT_RISK = 10
"""A curve is drawn while at least this many orders are still at risk (so a group needs this many)."""
TITLE = "Time to close and to discovery (Kaplan-Meier)"
CAPTION = ("Share of work orders still open x days after the call (Kaplan-Meier: an order still open at the "
           "end of the run counts as open at least until then, not left out), with 95 % pointwise bands. "
           "Dashed red lines: the scenario's close deadlines (calendar-day ones on the calendar panel, "
           "working-day ones on the working-day panels); where a curve crosses its deadline, one minus its "
           "height is the share closed in time. The median is where a curve falls to 50 %; 'not reached' "
           "means more than half were still open at the longest follow-up. A curve stops where fewer than "
           f"{MIN_AT_RISK} orders remain at risk. Last panel: latent hazards "
           "from onset until a patrol finds them. Orders called after the work-order warm-up only.")
SCALE = {"min": (1440.0, "days"), "working days": (1.0, "working days")}


def close_deadlines(run: RunData) -> dict[str, dict[str, float]]:
    """Per clock ("calendar", "working"), each work-order category's close deadline in days."""
    out: dict[str, dict[str, float]] = {"calendar": {}, "working": {}}
    for name, cat in run.scenario.categories.items():
        if cat.source in WORK_ORDER_SOURCES:
            out[cat.close_clock][name] = float(cat.close_deadline_days)
    return out


def _median_text(c: SurvivalCurve, scale: float, unit: str) -> str:
    return f"median {c.median / scale:.1f} {unit}" if c.median_reached else "median not reached"


def _drawn_steps(c: SurvivalCurve) -> int:
    """How many of the curve's steps have at least MIN_AT_RISK orders at risk (at_risk only falls)."""
    return int(np.sum(c.at_risk >= MIN_AT_RISK))


def _steps(c: SurvivalCurve) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, survival, low, high) from (0, 100 %) while at least MIN_AT_RISK orders are at risk
    (the last few make a noisy tail: one late order takes the curve to 0); a curve of more than
    MAX_POINTS steps (a year has millions of orders) is read at MAX_POINTS evenly spaced times,
    finer than the pixels."""
    m = _drawn_steps(c)
    times = c.times[:m]
    if m <= MAX_POINTS:
        return np.r_[0.0, times], np.r_[1.0, c.survival[:m]], np.r_[1.0, c.ci_low[:m]], np.r_[1.0, c.ci_high[:m]]
    x = np.linspace(0.0, times[-1], MAX_POINTS)
    i = np.searchsorted(times, x, side="right") - 1
    before = i < 0                        # before the first step: everyone still open

    def pick(v: np.ndarray) -> np.ndarray:
        return np.where(before, 1.0, v[np.maximum(i, 0)])
    return x, pick(c.survival), pick(c.ci_low), pick(c.ci_high)


def _draw(ax, c: SurvivalCurve, scale: float, color: str, label: str, unit: str, note: str | None = None) -> float:
    """One step curve from (0, 100 %) with its band; the legend says n, open and the median.
    Returns where the drawn curve ends (in the axis unit)."""
    x, surv, lo, hi = _steps(c)
    x = x / scale
    text = f"{label} (n = {c.n:,}, {c.n_censored:,} open; {_median_text(c, scale, unit)})"
    ax.step(x, surv, where="post", color=color, lw=1.8, label=text if note is None else f"{text}\n{note}")
    ok = np.isfinite(lo) & np.isfinite(hi)
    ax.fill_between(x, np.where(ok, lo, np.nan), np.where(ok, hi, np.nan), step="post", color=color, alpha=0.15,
                    lw=0)
    if c.median_reached and c.median <= x[-1] * scale:
        ax.plot([c.median / scale], [0.5], "o", color=color, ms=4, zorder=5)
    return float(x[-1])


def _markers(ax, deadlines: dict[str, float], working: bool) -> None:
    """A dashed line at each distinct deadline, labelled with the number of categories it has."""
    for days in sorted(set(deadlines.values())):
        n = sum(1 for d in deadlines.values() if d == days)
        ax.axvline(days, color=TARGET_COLOR, ls="--", lw=1.1)
        text = f"{days:g} {'working ' if working else ''}day{'' if days == 1 else 's'}"
        ax.annotate(f"{text}\n({n} categor{'y' if n == 1 else 'ies'})", xy=(days, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(3, -2), textcoords="offset points",
                    ha="left", va="top", fontsize=7.5, color=TARGET_COLOR)


def _finish(ax, xlabel: str, xmax: float | None) -> None:
    ax.set_ylim(0, 1.02)
    if xmax:
        ax.set_xlim(0, xmax)
    pct_axis(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share still open")


def _curves_panel(ax, curves: dict[str, SurvivalCurve], scale: float, unit: str, colors: dict[str, str],
                  labels: dict[str, str], notes: dict[str, str] | None = None) -> float:
    """Draw the curves with enough orders (a note adds a legend line); returns the longest
    follow-up drawn (0 if none)."""
    longest = 0.0
    for key, c in curves.items():
        if c.n >= MIN_AT_RISK:
            longest = max(longest, _draw(ax, c, scale, colors[key], labels.get(key, key), unit, (notes or {}).get(key)))
    if longest == 0.0:
        no_data(ax, "no work orders after the warm-up")
    return longest


def _xmax(longest: float, deadlines: dict[str, float]) -> float:
    """Show the follow-up and every deadline marker."""
    return max([longest] + [d * 1.08 for d in deadlines.values()]) or 1.0


def _in_time_notes(run: RunData, warm: float) -> dict[str, str]:
    """Per source, the share closed by its own due time estimated from every order (KM by
    category on time measured in deadlines), when the table has due times."""
    ev = run.events
    if due_column("close") not in ev.columns:
        return {}
    out = {}
    for source in WORK_ORDER_SOURCES:
        est = share_within_deadline(ev[ev["source"] == source], "close", run.horizon_min, warm)
        if est.not_reached:
            k = len(est.not_reached)
            out[source] = (f"closed in time: not estimable, {k} categor{'y' if k == 1 else 'ies'} "
                           f"not followed up to the deadline")
        elif est.n:
            out[source] = (f"closed in time {fmt_pct(est.share)} "
                           f"[{fmt_pct(est.ci_low)}, {fmt_pct(est.ci_high)}] (KM by category)")
    return out


def survival_run(run: RunData) -> Figure:
    """4 panels: time to close by source (calendar days; working days), by category, time to discovery."""
    ev, horizon = run.events, run.horizon_min
    warm = run.work_order_warmup_min
    deadlines = close_deadlines(run)
    src_colors = {s: SOURCE_COLOR[s] for s in WORK_ORDER_SOURCES}
    src_labels = {s: SOURCE_LABEL[s] for s in WORK_ORDER_SOURCES}
    working = WORKING_DAYS_COLUMN in ev.columns
    with matplotlib.rc_context(STYLE):
        fig = new_figure(13, 11)
        (a_cal, a_wd), (a_cat, a_disc) = fig.subplots(2, 2)

        a_cal.set_title("Time to close by source (calendar days)", loc="left")
        longest = _curves_panel(a_cal, km_curves(ev, "close", horizon, "source", "calendar", warm), 1440.0, "days",
                                src_colors, src_labels, _in_time_notes(run, warm))
        _markers(a_cal, deadlines["calendar"], False)
        _finish(a_cal, "days from the call", _xmax(longest, deadlines["calendar"]))

        a_wd.set_title("Time to close by source (working days)", loc="left")
        if working:
            longest = _curves_panel(a_wd, km_curves(ev, "close", horizon, "source", "working", warm), 1.0,
                                    "working days", src_colors, src_labels)
            _markers(a_wd, deadlines["working"], True)
            _finish(a_wd, "working days from the call", _xmax(longest, deadlines["working"]))
        else:
            no_data(a_wd, f"no working-day clock in this table ({WORKING_DAYS_COLUMN})")
            _finish(a_wd, "working days from the call", None)

        clock = "working" if working else "calendar"
        scale, unit = SCALE["working days" if working else "min"]
        a_cat.set_title(f"Time to close by category ({unit}; the largest {MAX_CATEGORIES})", loc="left")
        by_cat = km_curves(ev, "close", horizon, "category", clock, warm)
        top = dict(sorted(by_cat.items(), key=lambda kv: -kv[1].n)[:MAX_CATEGORIES])
        colors = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(top)}
        longest = _curves_panel(a_cat, top, scale, unit, colors, {k: category_label(k) for k in top})
        own = {k: v for k, v in deadlines[clock].items() if k in top and top[k].n >= MIN_AT_RISK}
        _markers(a_cat, own, working)
        for k, days in own.items():       # each curve's height at its own deadline: the share still open then
            m = _drawn_steps(top[k])
            if m and days * scale <= top[k].times[m - 1]:
                a_cat.plot([days], [top[k].at(days * scale)], "D", color=colors[k], mec="white", ms=6, zorder=6)
        _finish(a_cat, f"{unit} from the call (diamond: the category at its own deadline)", _xmax(longest, own))

        a_disc.set_title("Time to discovery: hazard onset to a patrol finding it (hours)", loc="left")
        if DISCOVERY[0] in ev.columns:
            c = km_curve(ev, DISCOVERY, horizon, "calendar", warm)
            if c.n >= MIN_AT_RISK:
                end = _draw(a_disc, c, 60.0, PALETTE[2], "latent hazards", "h")
                _finish(a_disc, "hours from the onset", end)
                a_disc.set_ylabel("share not yet found")
            else:
                no_data(a_disc, "too few hazards after the warm-up")
        else:
            no_data(a_disc, f"no latent hazards in this table ({DISCOVERY[0]})")
        for ax in (a_cal, a_wd, a_cat, a_disc):
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.13), fontsize=7.5)
        suptitle(fig, f"Time to close work orders: share still open (Kaplan-Meier, 95 % bands; orders called "
                      f"after the {warm / 60.0:g} h work-order warm-up)", context(run))
    return fig
